"""Slack's total text limit: every message we build keeps the text of all its blocks, counted after escaping,
under the budget, cutting its least important parts first; a message Slack refuses for its length all the
same is sent again at once, shorter, and never retried as it was. The fake Slack enforces Slack's 12,000."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from briefs.blocks import (
    TEXT_BUDGET,
)
from storage.models import Delivery, HandoffNote, Qualification
from tests.e2e.test_followthrough import TUESDAY_10AM_NY, _start, action, button, events_at, one, text_of
from tests.e2e.test_slack import hand_raiser, send_webhook, slash
from tests.support.blockkit import blocks_text_length, message_error
from tests.support.factories import researcher_history
from tests.support.live import wait_for
from tests.unit.test_limits import escape_heavy

d = timedelta
def unhappy_customer(ev, email="pat@globex.example", owner="jane@ourco.example") -> list[dict]:
    """The issue's example: a detractor customer with long escape-heavy fields, ten long downloads, three long
    notes from marketing and a 10,000-character comment on the sales form."""
    return [
        ev.upsert(email, d(days=400), first_name=escape_heavy(200), last_name=escape_heavy(200),
                  title=escape_heavy(300), company=escape_heavy(300), owner_email=owner, is_customer=True,
                  customer_since="2021-03-01", nps=2, lead_source=escape_heavy(200), lifecycle_stage="customer",
                  crm_url="https://crm.example/pat"),
        *[ev.download(email, escape_heavy(500), d(days=n), topic=escape_heavy(200), campaign=escape_heavy(300))
          for n in range(2, 12)],
        *[ev.note(email, escape_heavy(200), escape_heavy(3000), d(hours=n)) for n in (3, 2, 1)],
        ev.form(email, "Contact Sales", escape_heavy(10_000)),
    ]


@pytest.fixture
def ft(slack_settings):
    """The app on a clock the test moves; delivery and follow-through run by hand."""
    server = _start(slack_settings, TUESDAY_10AM_NY)
    yield server
    server.__exit__(None, None, None)


def stored(fake, channel: str, ts: str) -> dict:
    with fake.lock:
        return dict(fake.messages[(channel, ts)])


# --- End to end, through the fake Slack ---------------------------------------------------------------


def test_an_unhappy_customers_escape_heavy_brief_is_posted_once_within_slacks_limits(http, ft, fake_slack):
    send_webhook(http, ft, unhappy_customer(events_at(ft)))
    assert ft.deliver() == 1
    [post] = fake_slack.calls_to("chat.postMessage")
    delivery = one(ft, Delivery)
    assert delivery.status == "sent"
    shown = stored(fake_slack, delivery.channel, delivery.ts)["blocks"]
    assert message_error(shown, post["text"]) is None
    assert blocks_text_length(shown) <= TEXT_BUDGET
    text = text_of(post)
    assert shown[0]["type"] == "header" and "*Why now.*" in text and "*Talk track*" in text
    assert '"lead_claim"' in text and "&amp;&lt;&gt; &amp;&lt;&gt;" in text

    # Claimed: the brief with its follow-up state attached is still within the limits, and shown.
    q = one(ft, Qualification)
    action(http, ft, fake_slack, button("lead_claim", str(q.id)), channel=delivery.channel, ts=delivery.ts,
           name="claim")
    assert fake_slack.wait_for_responses("claim")[0]["text"].startswith("It's yours")
    wait_for(lambda: "Claimed by <@U0JANE>" in json.dumps(stored(fake_slack, delivery.channel, delivery.ts)["blocks"]))
    assert blocks_text_length(stored(fake_slack, delivery.channel, delivery.ts)["blocks"]) <= TEXT_BUDGET
    # The rep's lookup of the same lead is an answer Slack takes too.
    slash(http, ft, fake_slack, "pat@globex.example", name="lookup")
    assert fake_slack.wait_for_responses("lookup")[0]["blocks"][0]["type"] == "header"


def test_a_brief_slack_refuses_as_too_long_is_posted_shorter_at_once(http, ft, fake_slack):
    send_webhook(http, ft, researcher_history(events_at(ft)))
    fake_slack.fail("chat.postMessage", "msg_blocks_too_long")
    assert ft.deliver() == 1  # in the same pass: no backoff
    refused, posted = fake_slack.calls_to("chat.postMessage")
    assert blocks_text_length(posted["blocks"]) < blocks_text_length(refused["blocks"])
    delivery = one(ft, Delivery)
    assert delivery.status == "sent"
    assert stored(fake_slack, delivery.channel, delivery.ts)["blocks"] == posted["blocks"]
    text = text_of(posted)
    # The essentials stay: who, why now, the buttons; and it says it was shortened.
    assert posted["blocks"][0]["type"] == "header" and "*Why now.*" in text
    assert '"lead_claim"' in text and "Shortened to fit" in text


def test_a_brief_refused_as_too_long_twice_is_dead_lettered_not_retried(http, ft, fake_slack):
    send_webhook(http, ft, researcher_history(events_at(ft)))
    fake_slack.fail("chat.postMessage", "msg_blocks_too_long", times=2)
    ft.deliver()
    first, second = fake_slack.calls_to("chat.postMessage")
    assert second["blocks"] != first["blocks"]
    failed = one(ft, Delivery)
    assert failed.status == "failed" and "msg_blocks_too_long" in failed.last_error
    ft.clock.advance(d(hours=1))
    assert ft.deliver() == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_an_update_slack_refuses_as_too_long_is_sent_shorter_at_once(http, ft, fake_slack):
    send_webhook(http, ft, hand_raiser(events_at(ft)))
    assert ft.deliver() == 1
    delivery = one(ft, Delivery)
    fake_slack.fail("chat.update", "msg_blocks_too_long")
    action(http, ft, fake_slack, button("lead_claim", str(one(ft, Qualification).id)), channel=delivery.channel,
           ts=delivery.ts, name="claim")
    fake_slack.wait_for_responses("claim")
    wait_for(lambda: "Claimed by <@U0JANE>" in json.dumps(stored(fake_slack, delivery.channel, delivery.ts)["blocks"]))
    refused, sent = fake_slack.calls_to("chat.update")[:2]
    assert blocks_text_length(sent["blocks"]) < blocks_text_length(refused["blocks"])


def test_a_reminder_slack_refuses_as_too_long_is_posted_shorter_at_once(http, ft, fake_slack):
    send_webhook(http, ft, hand_raiser(events_at(ft)))
    assert ft.deliver() == 1
    ts = one(ft, Delivery).ts
    ft.clock.advance(d(minutes=6))
    fake_slack.fail("chat.postMessage", "msg_blocks_too_long")
    assert ft.follow() == 1
    refused, posted = [c for c in fake_slack.calls_to("chat.postMessage") if c.get("thread_ts") == ts]
    assert blocks_text_length(posted["blocks"]) < blocks_text_length(refused["blocks"])
    assert "Sam Rivera" in text_of(posted)
    assert one(ft, Qualification).sla_state == "reminded"


def test_a_digest_of_many_long_leads_is_posted_within_the_limits(http, ft, fake_slack):
    slash(http, ft, fake_slack, "quiet on 08:30", name="quiet")
    fake_slack.wait_for_responses("quiet")
    ev = events_at(ft)
    events = []
    for i in range(20):
        history = researcher_history(ev, email=f"lead{i}@acme{i}.example")  # 20 companies (one would be an account)
        history[0]["lead"] |= {"first_name": escape_heavy(200), "last_name": escape_heavy(200),
                               "company": escape_heavy(300)}
        events += history
    send_webhook(http, ft, events)

    def held() -> bool:
        ft.deliver()  # a pass takes a batch at a time; each is held for the digest, none posted
        with ft.services.sessions() as s:
            return [x.status for x in s.scalars(select(Delivery))] == ["digest"] * 20

    wait_for(held)
    assert fake_slack.calls_to("chat.postMessage") == []
    ft.clock.now = datetime(2026, 11, 25, 13, 30, 1, tzinfo=UTC)  # Wednesday 08:30 in New York
    assert ft.follow() >= 1
    [post] = [c for c in fake_slack.calls_to("chat.postMessage") if "daily digest" in (c.get("text") or "")]
    assert (post["channel"], len(fake_slack.messages)) == ("U0JANE", 1)
    assert blocks_text_length(post["blocks"]) <= TEXT_BUDGET
    assert "more: see your App Home." in text_of(post)


def test_a_long_escape_heavy_note_is_posted_in_the_thread_as_blocks_within_the_limits(http, ft, fake_slack):
    send_webhook(http, ft, hand_raiser(events_at(ft)))
    assert ft.deliver() == 1
    ts = one(ft, Delivery).ts
    slash(http, ft, fake_slack, "note sam@globex.example Met at the expo & <b>liked</b> it", user="U0MIA", name="n1")
    assert "posted in the brief's thread" in fake_slack.wait_for_responses("n1")[0]["text"]
    note = fake_slack.wait_for("chat.postMessage", 2)[1]
    assert note["thread_ts"] == ts
    assert note["blocks"][0]["type"] == "context" and "📝 Note from <@U0MIA>" in text_of(note)
    assert "<!date^" in note["blocks"][0]["elements"][0]["text"]  # when, in the reader's time zone
    assert note["blocks"][1]["text"]["text"] == "Met at the expo &amp; &lt;b&gt;liked&lt;/b&gt; it"

    # As long as the command allows (3,000 characters), nearly all of them escaped to five.
    long = ("&<>" * 1000)[:3000]
    slash(http, ft, fake_slack, f"note sam@globex.example {long}", user="U0MIA", name="n2")
    assert "posted in the brief's thread" in fake_slack.wait_for_responses("n2")[0]["text"]
    posted = fake_slack.wait_for("chat.postMessage", 3)[2]
    assert (posted["channel"], posted["thread_ts"]) == ("D0JANE", ts)
    assert message_error(posted["blocks"], posted["text"]) is None
    assert blocks_text_length(posted["blocks"]) <= TEXT_BUDGET
    sections = [b["text"]["text"] for b in posted["blocks"] if b["type"] == "section"]
    assert len(sections) > 1 and "".join(sections).startswith("&amp;&lt;&gt;" * 100)
    assert "whole note is saved" in text_of(posted)
    with ft.services.sessions() as s:
        assert len(max(s.scalars(select(HandoffNote)), key=lambda n: n.id).body) == 3000
