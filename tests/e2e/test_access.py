"""Who may see lead data in Slack, over signed requests against the running app and the fake Slack:
by default the leads channel's members; [access] people, channels and user groups; reps limited to their own
leads; every lookup, note and button recorded in the audit log."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.config import Access
from storage import audit
from storage.models import AuditEntry, Qualification
from tests.e2e.test_followthrough import ft  # noqa: F401 - the follow-through server, on a clock the test moves
from tests.e2e.test_slack import click, events_now, hand_raiser, researcher_history, send_webhook, slash
from tests.support.live import LiveServer, post_payload, wait_for
from tests.support.signing import slack_headers
from tests.support.team import QUEUE

REFUSAL = "only for the sales team"


@pytest.fixture
def stranger(fake_slack):
    fake_slack.add_user("eve@ourco.example", "U0EVE", "eve", real_name="Eve Outsider")
    return "U0EVE"


def warm_up(http, server, fake):
    """A member's request, answered: from then on the leads channel's members are cached."""
    slash(http, server, fake, "help", name="warm")
    fake.wait_for_responses("warm")


def entries(server, **filters) -> list[AuditEntry]:
    with server.services.sessions() as s:
        return audit.entries(s, **filters)


def test_someone_outside_the_leads_channel_gets_a_polite_refusal_and_nothing_about_the_lead(
        http, slack_server, fake_slack, stranger):
    ev = events_now()
    send_webhook(http, slack_server, hand_raiser(ev))
    fake_slack.wait_for("chat.postMessage")
    warm_up(http, slack_server, fake_slack)  # membership known: the refusal is the ack itself
    r = slash(http, slack_server, fake_slack, "sam@globex.example", user=stranger, name="eve")
    assert r.status_code == 200
    body = r.json()
    assert body["response_type"] == "ephemeral" and REFUSAL in body["text"] and f"<#{QUEUE}>" in body["text"]
    assert "Sam" not in json.dumps(body) and "Globex" not in json.dumps(body)
    assert [name for name, _ in fake_slack.responses] == ["warm"]  # nothing was sent to eve's response_url either
    # A button on a brief someone forwarded: refused, and the lead is not claimed.
    with slack_server.services.sessions() as s:
        qid = str(s.scalars(select(Qualification)).one().id)
    click(http, slack_server, fake_slack, "lead_claim", qid, user=stranger, name="eve-click")
    assert REFUSAL in fake_slack.wait_for_responses("eve-click")[0]["text"]
    with slack_server.services.sessions() as s:
        assert s.scalars(select(Qualification)).one().status == "open"
    denied = entries(slack_server, actor=stranger)
    assert [e.action for e in denied] == ["denied", "denied"]
    assert {e.detail for e in denied} == {"/lead", "block_actions"}


def test_members_are_let_in_and_memberships_are_cached(http, slack_server, fake_slack):
    send_webhook(http, slack_server, hand_raiser(events_now()))
    fake_slack.wait_for("chat.postMessage")
    for i in range(3):
        slash(http, slack_server, fake_slack, "sam@globex.example", name=f"jane{i}")
        assert "Sam Rivera" in json.dumps(fake_slack.wait_for_responses(f"jane{i}")[0])
    assert len([c for c in fake_slack.calls if c.method == "conversations.members"]) == 1


@pytest.fixture
def grouped(slack_settings, fake_slack, stranger):
    fake_slack.add_usergroup("S0SALES", [stranger])
    settings = replace(slack_settings, access=Access(usergroups=("S0SALES",), users=("U0MIA",)))
    with LiveServer(settings) as server:
        yield server


def test_access_from_user_groups_and_named_people_replaces_the_default(http, grouped, fake_slack, stranger):
    send_webhook(http, grouped, hand_raiser(events_now()))
    fake_slack.wait_for("chat.postMessage")
    slash(http, grouped, fake_slack, "sam@globex.example", user=stranger, name="eve")
    assert "Sam Rivera" in json.dumps(fake_slack.wait_for_responses("eve")[0])
    slash(http, grouped, fake_slack, "sam@globex.example", user="U0MIA", name="mia")
    assert "Sam Rivera" in json.dumps(fake_slack.wait_for_responses("mia")[0])
    # Jane is in the leads channel, but [access] now says who may come in, and she is not named.
    r = slash(http, grouped, fake_slack, "sam@globex.example", user="U0JANE", name="jane")
    assert REFUSAL in r.json()["text"] and "user group" in r.json()["text"]


def test_a_membership_slack_will_not_tell_us_lets_nobody_in(http, slack_server, fake_slack):
    fake_slack.fail("conversations.members", "missing_scope")
    r = slash(http, slack_server, fake_slack, "help", name="help")
    assert r.status_code == 200 and r.text == ""  # acked before Slack was asked who is in the channel
    assert REFUSAL in fake_slack.wait_for_responses("help")[0]["text"]


@pytest.fixture
def own_only(slack_settings):
    settings = replace(slack_settings, access=Access(channels=(QUEUE,), own_leads_only=True))
    with LiveServer(settings) as server:
        yield server


def test_reps_may_be_limited_to_their_own_leads(http, own_only, fake_slack):
    ev = events_now()
    send_webhook(http, own_only, hand_raiser(ev, email="sam@globex.example", owner="jane@ourco.example"))
    send_webhook(http, own_only, [
        ev.upsert("kim@hooli.example", timedelta(days=1), first_name="Kim", last_name="Lee", company="Hooli",
                  owner_email="omar@ourco.example"),
        ev.form("kim@hooli.example", "Contact Sales", "Need a quote this week.")])
    fake_slack.wait_for("chat.postMessage", 2)
    slash(http, own_only, fake_slack, "sam@globex.example", user="U0OMAR", name="omar-sam")
    reply = fake_slack.wait_for_responses("omar-sam")[0]
    assert "only see leads you own" in reply["text"] and "Sam" not in json.dumps(reply)
    slash(http, own_only, fake_slack, "kim@hooli.example", user="U0OMAR", name="omar-kim")
    assert "Kim Lee" in json.dumps(fake_slack.wait_for_responses("omar-kim")[0])
    # Search shows only Omar's own leads, whatever matches.
    slash(http, own_only, fake_slack, "sam", user="U0OMAR", name="omar-search")
    assert "Sam Rivera" not in json.dumps(fake_slack.wait_for_responses("omar-search")[0])
    # Buttons check the clicker, not the message.
    with own_only.services.sessions() as s:
        qids = {q.lead_id: q.id for q in s.scalars(select(Qualification))}
    sam_qid = min(qids.values())
    click(http, own_only, fake_slack, "lead_claim", str(sam_qid), user="U0OMAR", name="omar-claim")
    assert "only see leads you own" in fake_slack.wait_for_responses("omar-claim")[0]["text"]
    # A note on someone else's lead is not saved.
    slash(http, own_only, fake_slack, "note sam@globex.example Call after 3pm", user="U0OMAR", name="omar-note")
    assert "only see leads you own" in fake_slack.wait_for_responses("omar-note")[0]["text"]


def test_lookups_searches_notes_and_buttons_are_audited_without_their_text(http, slack_server, fake_slack):
    ev = events_now()
    send_webhook(http, slack_server, researcher_history(ev))
    send_webhook(http, slack_server, hand_raiser(ev))
    fake_slack.wait_for("chat.postMessage", 2)
    slash(http, slack_server, fake_slack, "sam@globex.example", name="look")
    fake_slack.wait_for_responses("look")
    slash(http, slack_server, fake_slack, "rivera", user="U0OMAR", name="find")
    fake_slack.wait_for_responses("find")
    slash(http, slack_server, fake_slack, "note sam@globex.example Budget approved in March", name="note")
    fake_slack.wait_for_responses("note")
    with slack_server.services.sessions() as s:
        qid = str(s.scalars(select(Qualification).order_by(Qualification.id.desc())).first().id)
    click(http, slack_server, fake_slack, "lead_claim", qid, user="U0OMAR", name="claim")
    fake_slack.wait_for_responses("claim")

    about_sam = entries(slack_server, lead_ref="sam@globex.example")
    assert [(e.actor, e.action) for e in reversed(about_sam)] == [
        ("U0JANE", "lookup"), ("U0JANE", "note"), ("U0OMAR", "lead_claim")]
    searches = entries(slack_server, actor="U0OMAR")
    search = next(e for e in searches if e.action == "search")
    assert search.detail == "1 matches" and search.lead_ref is None
    everything = json.dumps([(e.detail, e.lead_ref) for e in entries(slack_server)])
    assert "Budget" not in everything and "rivera" not in everything


def test_a_cold_cache_does_not_hold_up_the_ack_and_membership_is_read_in_pages_of_200(
        http, slack_server, fake_slack, stranger):
    # 403 members, Slack taking a second a page: the ack cannot wait for them.
    fake_slack.set_members(QUEUE, [f"U{i:05d}" for i in range(400)] + ["U0JANE", "U0OMAR", "U0MIA"])
    fake_slack.set_latency("conversations.members", 1.0)
    send_webhook(http, slack_server, hand_raiser(events_now()))
    fake_slack.wait_for("chat.postMessage")
    eve = slash(http, slack_server, fake_slack, "sam@globex.example", user=stranger, name="eve")
    jane = slash(http, slack_server, fake_slack, "sam@globex.example", name="jane")
    acked = time.time()
    assert (eve.status_code, eve.text, jane.status_code, jane.text) == (200, "", 200, "")
    assert "Sam Rivera" in json.dumps(fake_slack.wait_for_responses("jane")[0])  # on page 3: paging works
    refusal = fake_slack.wait_for_responses("eve")[0]
    assert REFUSAL in refusal["text"] and "Sam" not in json.dumps(refusal)
    pages = [c for c in fake_slack.calls if c.method == "conversations.members"]
    assert len(pages) == 3 and all(int(c.params["limit"]) <= 200 for c in pages)  # one read for both
    assert acked < pages[-1].at  # both acked before Slack was even asked for the last page
    assert [e.action for e in entries(slack_server, actor=stranger)] == ["denied"]


def home_event(user: str | None, event_id: str, **extra) -> dict:
    event = {"type": "app_home_opened", "channel": "D0X", "tab": "home", **extra}
    if user:
        event["user"] = user
    return {"type": "event_callback", "team_id": "T0FAKE", "api_app_id": "A0", "event_id": event_id,
            "event_time": 1, "event": event}


def post_event(http, server, event: dict):
    body = json.dumps(event)
    r = http.post(f"{server.url}/slack/events", content=body,
                  headers=slack_headers(body, content_type="application/json"))
    assert r.status_code == 200
    return r


def test_requests_nobody_can_be_attributed_to_are_refused(http, slack_server, fake_slack):
    send_webhook(http, slack_server, hand_raiser(events_now()))
    fake_slack.wait_for("chat.postMessage")
    warm_up(http, slack_server, fake_slack)
    # A signed app_home_opened from a bot, naming Jane: her Home (with marketing's figures) is not published.
    r = post_event(http, slack_server, home_event("U0JANE", "EvBot", bot_id="B0OTHER"))
    assert r.text == ""
    post_event(http, slack_server, home_event(None, "EvNobody"))
    post_event(http, slack_server, {**home_event(None, "EvJoin"), "event": {"type": "team_join", "user": {"id": "U0X"}}})
    r = post_payload(http, slack_server, {"type": "block_suggestion", "user": {"id": "U0JANE"}, "team": {"id": "T0FAKE"},
                                          "action_id": "lead_reassign", "block_id": "b", "value": "sam"})
    assert r.text == ""
    post_event(http, slack_server, home_event("U0OMAR", "EvOmar"))  # a person's request still works
    wait_for(lambda: fake_slack.calls_to("views.publish"))
    assert [c["user_id"] for c in fake_slack.calls_to("views.publish")] == ["U0OMAR"]
    denied = [(e.actor, e.detail) for e in entries(slack_server) if e.action == "denied"]
    assert sorted(denied) == [("bot:B0OTHER", "app_home_opened"), ("unknown", "app_home_opened"),
                              ("unknown", "block_suggestion"), ("unknown", "team_join")]


def test_a_route_into_a_channel_with_people_outside_the_sales_team_is_refused(http, slack_server, fake_slack,
                                                                              stranger):
    fake_slack.add_channel("C0GENERAL", "general")
    fake_slack.set_members("C0GENERAL", ["U0JANE", "U0OMAR", stranger, "U0BOT"])
    slash(http, slack_server, fake_slack, "route <#C0GENERAL|general>", name="general")
    text = fake_slack.wait_for_responses("general")[0]["text"]
    assert "Not changed" in text and "1 member(s) who are not on the sales team" in text and stranger not in text
    fake_slack.add_channel("C0SECRET", "secret", is_private=True, is_member=False)
    slash(http, slack_server, fake_slack, "route <#C0SECRET|secret>", name="secret")
    text = fake_slack.wait_for_responses("secret")[0]["text"]
    assert "could not see who is in <#C0SECRET> (channel_not_found)" in text and "invite me" in text
    slash(http, slack_server, fake_slack, "route", name="show")
    assert "direct message" in fake_slack.wait_for_responses("show")[0]["text"]
    # Only the sales team (and the app itself) in the channel: fine.
    fake_slack.set_members("C0JANE", ["U0JANE", "U0BOT"])
    slash(http, slack_server, fake_slack, "route <#C0JANE|jane-leads>", name="ok")
    assert "will go to <#C0JANE>" in fake_slack.wait_for_responses("ok")[0]["text"]
    assert [e.action for e in entries(slack_server, actor="U0JANE")][:3] == ["route", "route_refused", "route_refused"]


def test_a_route_that_became_unsafe_falls_back_to_the_reps_dm_with_one_notice(http, slack_server, fake_slack,
                                                                             stranger):
    fake_slack.set_members("C0JANE", ["U0JANE"])
    slash(http, slack_server, fake_slack, "route <#C0JANE|jane-leads>", name="route")
    assert "will go to <#C0JANE>" in fake_slack.wait_for_responses("route")[0]["text"]
    fake_slack.set_members("C0JANE", ["U0JANE", stranger])  # someone from outside joins the channel
    access = slack_server.services.slack.access
    access.clock = lambda: time.monotonic() + 10_000  # the cached memberships are long out of date
    ev = events_now()
    send_webhook(http, slack_server, hand_raiser(ev))
    brief = wait_for(lambda: [p for p in fake_slack.calls_to("chat.postMessage") if p.get("blocks")])[0]
    assert brief["channel"] == "U0JANE" and "Sam Rivera" in json.dumps(brief["blocks"])
    notice = [p for p in fake_slack.calls_to("chat.postMessage") if "instead of <#C0JANE>" in p["text"]]
    assert len(notice) == 1 and notice[0]["channel"] == "U0JANE"
    assert "1 member(s) outside the sales team" in notice[0]["text"] and "Sam" not in notice[0]["text"]
    send_webhook(http, slack_server, hand_raiser(ev, email="kim@hooli.example"))
    wait_for(lambda: [p for p in fake_slack.calls_to("chat.postMessage") if p.get("blocks")][1:])
    posts = fake_slack.calls_to("chat.postMessage")
    assert [p["channel"] for p in posts if p.get("blocks")] == ["U0JANE", "U0JANE"]
    assert len([p for p in posts if "instead of <#C0JANE>" in p["text"]]) == 1  # one notice, not one a brief
    assert not [p for p in posts if p["channel"] == "C0JANE"]


def test_a_daily_digest_skips_a_route_that_became_unsafe(http, ft, fake_slack, stranger):  # noqa: F811
    from datetime import UTC, datetime

    from tests.e2e.test_followthrough import events_at, text_of
    fake_slack.set_members("C0JANE", ["U0JANE"])
    slash(http, ft, fake_slack, "route <#C0JANE|jane-leads>", name="route")
    assert "will go to <#C0JANE>" in fake_slack.wait_for_responses("route")[0]["text"]
    slash(http, ft, fake_slack, "quiet on 08:30", name="quiet")
    fake_slack.wait_for_responses("quiet")
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 0  # held for the digest
    fake_slack.set_members("C0JANE", ["U0JANE", stranger])
    access = ft.services.slack.access
    access.clock = lambda: time.monotonic() + 10_000  # the memberships cached before are out of date...
    assert access.outsiders("C0JANE") == [stranger]  # ...and read again
    ft.clock.now = datetime(2026, 11, 25, 13, 30, 1, tzinfo=UTC)
    assert ft.follow() >= 1
    posts = fake_slack.calls_to("chat.postMessage")
    digest = [p for p in posts if "daily digest" in text_of(p)]
    assert [p["channel"] for p in digest] == ["U0JANE"] and "Jon Doe" in text_of(digest[0])
    assert [p["channel"] for p in posts if "instead of <#C0JANE>" in p["text"]] == ["U0JANE"]
    assert not [p for p in posts if p["channel"] == "C0JANE"]


def test_a_request_slack_cannot_vouch_for_in_time_is_refused_saying_so(http, slack_server, fake_slack):
    slack_server.services.slack.access.WAIT = 0.5
    fake_slack.set_latency("conversations.members", 3.0)
    r = slash(http, slack_server, fake_slack, "help", name="slow")
    assert (r.status_code, r.text) == (200, "")
    refusal = fake_slack.wait_for_responses("slow")[0]["text"]
    assert "could not check that you are on the sales team" in refusal and "/lead route" not in refusal
    assert [e.action for e in entries(slack_server, actor="U0JANE")] == ["denied"]
