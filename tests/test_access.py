"""Who may see lead data in Slack, over signed requests against the running app and the fake Slack:
by default the leads channel's members; [access] people, channels and user groups; reps limited to their own
leads; every lookup, note and button recorded in the audit log."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.config import Access
from storage import audit
from storage.models import AuditEntry, Qualification
from tests.conftest import QUEUE, LiveServer
from tests.test_slack import click, events_now, hand_raiser, researcher_history, send_webhook, slash

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
