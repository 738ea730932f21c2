"""Slack's total text limit: every message we build keeps the text of all its blocks, counted after escaping,
under the budget, cutting its least important parts first; a message Slack refuses for its length all the
same is sent again at once, shorter, and never retried as it was. The fake Slack enforces Slack's 12,000."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from briefs.blocks import (
    TEXT_BUDGET,
    FollowUp,
    delivered,
    followup_blocks,
    note_message,
    search_blocks,
    shortened,
    to_blocks,
)
from briefs.followthrough import (
    LeadCard,
    QueueItem,
    digest,
    escalation,
    home_view,
    mine_message,
    passed_on,
    reminder,
    thread_update,
)
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.rules import Rules
from briefs.signals import ActivityView, LeadView, NoteView
from storage.leads import Match
from storage.models import Delivery, HandoffNote, Qualification
from tests.e2e.test_followthrough import TUESDAY_10AM_NY, _start, action, button, events_at, one, text_of
from tests.e2e.test_slack import hand_raiser, send_webhook, slash
from tests.support.factories import NOW, researcher_history
from tests.support.fake_slack import blocks_text_length, message_error, validate_view
from tests.support.live import wait_for

d = timedelta
# Escape-heavy: every `&` is sent as `&amp;`, every `<` and `>` as `&lt;` and `&gt;`.
AMPS = "&<> "


def escape_heavy(n: int) -> str:
    return (AMPS * (n // len(AMPS) + 1))[:n]


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
        history = researcher_history(ev, email=f"lead{i}@acme.example")
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


# --- Every message kind, with hostile long input -------------------------------------------------------

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIECES = st.sampled_from(["&", "<", ">", "&amp;", "<!channel>", "*", "_", "`", "👨‍👩‍👧", "é", " ", "\n", "word ",
                          escape_heavy(300), "x" * 500])
# Long text a lead, a form or marketing could send: up to a few thousand characters, mostly what escaping grows.
LONG = st.lists(PIECES, min_size=1, max_size=40).map("".join).filter(str.strip)


def assert_under_budget(message: dict, view: bool = False):
    """Valid Block Kit (the fake's checks) and under our budget; escaping itself is tests/test_hostile.py's."""
    blocks = message["blocks"]
    if view:
        assert validate_view(message) == []
    else:
        assert message_error(blocks, message.get("text")) is None
    assert blocks_text_length(blocks) <= TEXT_BUDGET


def customer_input(evil: str, form: str) -> BriefInput:
    lead = LeadView(email="pat@globex.example", first_name=evil[:200], last_name=evil[:200], title=evil[:300],
                    company=evil[:300], owner_email="jane@ourco.example", lifecycle_stage="customer",
                    lead_source=evil[:200], is_customer=True, customer_since="2021", nps=2,
                    crm_url="https://crm.example/1")
    acts = [ActivityView("content_download", NOW - d(days=n), title=evil[:500], topic=evil[:200],
                         campaign=evil[:300], asset_url=f"https://x.example/{n}") for n in range(1, 12)]
    acts += [ActivityView("form_submit", NOW - d(minutes=1), form="Contact Sales", comments=form[:10_000],
                          properties={"need": evil[:500], "timeline": evil[:500]}),
             ActivityView("email_click", NOW - d(days=2), subject=evil[:500], campaign=evil[:300])]
    notes = [NoteView(evil[:200], evil[:3000], NOW - d(hours=h)) for h in range(3)]
    q = QualificationView("hand_raiser", f"filled in {evil[:300]}", NOW - d(minutes=1), NOW - d(minutes=1), id=7,
                          note=evil[:2000])
    return BriefInput(lead, acts, notes, q, NOW)


def states(evil: str) -> list[FollowUp]:
    return [
        FollowUp(7, queue_reason=evil, crm_url="https://crm.example/1", qualified_at=NOW, sla_due_at=NOW),
        FollowUp(7, status="claimed", claimed_by="U0JANE", claimed_at=NOW, contacted_by=evil, contacted_at=NOW,
                 qualified_at=NOW, reassigned_by=evil, rep_user="U0OMAR", reassigned_at=NOW, queue_reason=evil),
        FollowUp(7, status="not_a_fit", closed_by=evil, closed_at=NOW, closed_reason=evil, qualified_at=NOW),
    ]


@FAST
@given(LONG, LONG)
def test_a_brief_and_each_of_its_follow_up_states_stay_under_the_budget(evil, form):
    payload = to_blocks(build_brief(customer_input(evil, form * 5)))
    assert_under_budget(payload)
    for f in states(evil):
        assert_under_budget(delivered(payload, f))
        short = shortened(payload, f)
        assert_under_budget(short)
        assert short["blocks"][0]["type"] == "header"


def test_the_least_important_parts_go_first():
    brief = build_brief(customer_input(escape_heavy(3000), escape_heavy(10_000)))
    whole = to_blocks(brief, budget=10**6)["blocks"]
    assert blocks_text_length(whole) > 12_000  # too long for Slack as it is
    fitted = to_blocks(brief)["blocks"]
    by_id = {b.get("block_id"): b for b in fitted}
    # The header, why now, the warning and the opener are whole; marketing's notes went first.
    for kept in ("brief_why", "brief_warning"):
        assert by_id[kept] == next(b for b in whole if b.get("block_id") == kept)
    assert fitted[0] == whole[0]
    opener = next(b for b in whole if b.get("block_id") == "brief_talk")["text"]["text"].split("\n")[1]
    assert opener in by_id["brief_talk"]["text"]["text"]
    assert "brief_notes" not in by_id
    assert any(b.get("block_id") == "lead_links" for b in fitted)


@FAST
@given(LONG)
def test_digest_home_search_and_lists_stay_under_the_budget(evil):
    cards = [LeadCard(i, evil[:600], evil[:600], "score_threshold", evil[:600], f"lead{i}@x.example")
             for i in range(60)]
    follow = {c.qualification_id: states(evil)[c.qualification_id % 3] for c in cards}
    assert_under_budget(digest(cards, "U0JANE", follow))
    queue = [QueueItem(c, NOW - d(hours=1), "open", NOW + d(minutes=5), "running", None, follow[c.qualification_id])
             for c in cards[:20]]
    summary = [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 2000, "verbatim": True}}]
    home = home_view("U0JANE", queue, summary, NOW, quiet=False)
    assert_under_budget(home, view=True)
    assert len(home["blocks"]) <= 100
    matches = [Match(email=f"m{i}@x.example", name=evil[:400], title=evil[:300], company=evil[:300], score=1.0)
               for i in range(10)]
    assert_under_budget(search_blocks(evil, matches))
    assert_under_budget(mine_message(queue, NOW))


@FAST
@given(LONG)
def test_thread_updates_reminders_escalations_and_notes_stay_under_the_budget(evil):
    card = LeadCard(7, evil[:600], evil[:600], "hand_raiser", evil[:600], "pat@globex.example")
    acts = [ActivityView("form_submit", NOW - d(minutes=n), form=evil[:300], comments=evil) for n in range(30)]
    assert_under_budget(thread_update(card, acts, Rules(), "U0JANE"))
    assert_under_budget(reminder(card, "U0JANE", 12, 5))
    assert_under_budget(escalation(card, "U0JANE", 12, 5, "C0JANE"))
    assert_under_budget(passed_on(card, "U0JANE", "U0OMAR", "C0JANE"))
    assert_under_budget({"text": "t", "blocks": followup_blocks(states(evil)[1])})
    note = note_message("U0MIA", evil[:3000], NOW)
    assert_under_budget(note)
    assert note["blocks"][0]["type"] == "context"


def test_a_stored_brief_without_room_for_its_follow_up_is_cut_in_its_body_not_its_state():
    brief = build_brief(customer_input(escape_heavy(3000), escape_heavy(10_000)))
    payload = to_blocks(brief, budget=TEXT_BUDGET)  # as if stored with no room left for the follow-up
    state = states(escape_heavy(600))[2]
    message = delivered(payload, state)
    assert_under_budget(message)
    ids = [b.get("block_id") for b in message["blocks"]]
    assert "🚫 Not a fit" in json.dumps(message["blocks"], ensure_ascii=False)
    assert ids[:2] == [None, "brief_status"] and ids[-1] == "brief_footer"
    # What went is the body's least important part; why now is whole.
    assert [b for b in message["blocks"] if b.get("block_id") == "brief_why"] == \
           [b for b in payload["blocks"] if b.get("block_id") == "brief_why"]
