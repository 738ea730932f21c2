"""Triage end to end: webhooks in over HTTP, notices (not briefs) in the fake Slack for leads no rep should call,
"This is a real lead" making a normal brief with its SLA, replays changing nothing, and the counts in /lead stats.

The histories are a week of one company's ordinary traffic: newsletters, Apple Mail's prefetches, a German
removal request after an unsubscribe whose newsletters kept coming, a student's thesis request, noise."""

import json
import re
import time
import urllib.parse
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.settings import TriageSettings
from storage.models import Delivery, Qualification
from tests.support.factories import Events
from tests.support.live import LiveServer, wait_for
from tests.support.signing import signed_headers, slack_headers

d = timedelta
MOPS = "C0MOPS"
PEOPLE = "C0PEOPLE"


def events_now():
    return Events(now=datetime.now(UTC), prefix=f"tri{time.time_ns()}")


def send(http, server, events) -> dict:
    body = json.dumps({"events": events}).encode()
    r = http.post(f"{server.url}/webhooks/events", content=body, headers=signed_headers(body))
    assert r.status_code == 202, r.text
    return r.json()


def click(http, server, fake, value, user="U0JANE", channel=MOPS, ts="1.0", response_url=True):
    payload = {
        "type": "block_actions", "user": {"id": user, "username": "x"}, "api_app_id": "A0", "token": "legacy",
        "team": {"id": "T0FAKE"}, "trigger_id": "2.3.trig", "channel": {"id": channel}, "message": {"ts": ts},
        "container": {"type": "message", "channel_id": channel, "message_ts": ts},
        "actions": [{"action_id": "triage_override", "block_id": "triage_actions", "value": value, "type": "button",
                     "action_ts": "1"}],
    }
    if response_url:
        payload["response_url"] = fake.response_url("override")
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    r = http.post(f"{server.url}/slack/events", content=body, headers=slack_headers(body))
    assert r.status_code == 200, r.text


def slash(http, server, fake, text, user="U0MIA"):
    body = urllib.parse.urlencode({
        "token": "legacy", "team_id": "T0FAKE", "channel_id": "C0QUEUE", "user_id": user, "user_name": "mia",
        "command": "/lead", "text": text, "response_url": fake.response_url("stats"), "trigger_id": "1.2.trig",
    })
    return http.post(f"{server.url}/slack/events", content=body, headers=slack_headers(body))


@pytest.fixture
def triage_server(slack_settings, fake_slack):
    fake_slack.add_channel(MOPS, "marketing-ops")
    fake_slack.add_channel(PEOPLE, "people-team")
    settings = replace(slack_settings, triage=TriageSettings(marketing_ops_channel=MOPS,
                                                              destinations={"careers": PEOPLE}))
    with LiveServer(settings) as server:
        yield server


def removal_after_unsubscribe(ev, email="k.brandt@brandt-logistik.example"):
    """Newsletters, an unsubscribe, two more newsletters anyway, then the Contact Sales form asking to be left
    alone (with markup and a mention that must stay text)."""
    return [
        ev.upsert(email, d(days=9), first_name="Katrin", last_name="Brandt", company="Brandt Logistik GmbH",
                  title="Leiterin Einkauf", owner_email="jane@ourco.example"),
        ev.activity(email, "email_delivered", d(days=8), subject="Widget Weekly #41", campaign="widget-weekly-41"),
        ev.activity(email, "email_open", d(days=8) - d(hours=3), subject="Widget Weekly #41", campaign="widget-weekly-41"),
        ev.visit(email, "https://ourco.example/blog/lagerlogistik", d(days=7)),
        ev.activity(email, "unsubscribe", d(days=6), campaign="newsletter"),
        ev.activity(email, "email_sent", d(days=4), subject="Widget Weekly #42", campaign="widget-weekly-42"),
        ev.activity(email, "email_sent", d(days=2), subject="Widget Weekly #43", campaign="widget-weekly-43"),
        ev.form(email, "Contact Sales",
                "Bitte nehmen Sie mich aus Ihrem Verteiler! Ich möchte nicht mehr kontaktiert werden. "
                "*Letzte Warnung* <@U0JANE> <!channel>", d(minutes=3)),
    ]


def _denied(server, user):
    from storage.models import AuditEntry
    with server.services.sessions() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.actor == user, AuditEntry.action == "denied")).all()


def _posts_to(fake, channel):
    return [c for c in fake.calls_to("chat.postMessage") if c["channel"] == channel]


def _qualifications(server, email_like):
    with server.services.sessions() as s:
        from storage.models import Lead
        return s.execute(select(Qualification).join(Lead, Lead.id == Qualification.lead_id)
                         .where(Lead.email.like(email_like)).order_by(Qualification.id)).scalars().all()


def test_a_removal_request_closes_the_lead_tells_marketing_ops_and_an_override_briefs_it(http, triage_server,
                                                                                          fake_slack):
    history = removal_after_unsubscribe(events_now())
    assert send(http, triage_server, history)["qualified"] == 1
    notice = fake_slack.wait_for("chat.postMessage")[0]
    triage_server.delivery_idle()
    assert notice["channel"] == MOPS
    shown = json.dumps(notice["blocks"], ensure_ascii=False)
    assert "do not contact" in shown.lower()
    assert "Bitte nehmen Sie mich aus Ihrem Verteiler" in shown
    # The lead's words are data: no mention, no broadcast, no bold.
    assert "<@U0JANE>" not in shown and "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "*Letzte Warnung*" not in shown
    assert "2 sends" in shown and "suppression bug" in shown
    assert len(json.dumps(notice["blocks"])) < 12_000 and len(notice["blocks"]) <= 50
    # No rep was paged; no SLA, no reminders.
    assert fake_slack.calls_to("chat.postMessage") == [notice]
    [q] = _qualifications(triage_server, "k.brandt@%")
    assert (q.status, q.triage_delivery, q.triage_rule) == ("do_not_contact", "close", "do_not_contact.request")
    assert q.sla_due_at is None and q.nudge_at is None and q.rep_user is None
    with triage_server.services.sessions() as s:
        delivery = s.scalars(select(Delivery).where(Delivery.qualification_id == q.id)).one()
    assert (delivery.kind, delivery.status) == ("notice", "sent")

    # "This is a real lead", from a click that carries no response_url.
    click(http, triage_server, fake_slack, str(q.id), ts=delivery.ts, response_url=False)
    brief = wait_for(lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c["channel"] == "U0JANE"
                              and "triage_override" not in json.dumps(c.get("blocks"))])
    assert brief
    update = fake_slack.wait_for("chat.update")[0]
    assert update["channel"] == MOPS and update["ts"] == delivery.ts
    assert "<@U0JANE> said this is a real lead" in json.dumps(update["blocks"], ensure_ascii=False)
    assert "triage_override" not in json.dumps(update["blocks"])
    triage_server.delivery_idle()
    old, new = _qualifications(triage_server, "k.brandt@%")
    assert (old.overridden_by, old.status) == ("U0JANE", "do_not_contact") and old.overridden_at is not None
    assert new.status == "open" and new.triage_delivery == "page"
    assert new.sla_due_at is not None and new.rep_user == "U0JANE"

    # A replayed click (and a replayed webhook) changes nothing.
    briefs_before = len(fake_slack.calls_to("chat.postMessage"))
    click(http, triage_server, fake_slack, str(q.id), ts=delivery.ts)
    fake_slack.wait_for_responses("override")
    assert send(http, triage_server, history)["duplicates"] == len(history)
    triage_server.delivery_idle()
    assert len(fake_slack.calls_to("chat.postMessage")) == briefs_before
    assert len(_qualifications(triage_server, "k.brandt@%")) == 2


def test_a_student_is_routed_to_careers_a_crm_flag_closes_machine_opens_post_nothing_and_stats_count_them(
        http, triage_server, fake_slack):
    ev = events_now()
    student = "lena.vogt@tum.de"
    flagged = "d.okafor@northwind-freight.example"
    opener = "it-inbox@harbor-tools.example"
    batch = [
        ev.upsert(student, d(days=3), first_name="Lena", last_name="Vogt", title="Werkstudentin",
                  company="TU München", owner_email="jane@ourco.example"),
        ev.visit(student, "https://ourco.example/karriere", d(days=2)),
        ev.form(student, "Contact Sales", "Hallo! Ich schreibe meine Masterarbeit über Vertriebssoftware und würde "
                "gern ein kurzes Interview führen.", d(minutes=5)),
        ev.upsert(flagged, d(days=1), first_name="David", last_name="Okafor", company="Northwind Freight",
                  owner_email="jane@ourco.example", do_not_contact=True),
        ev.form(flagged, "Demo Request", "We need pricing for 25 seats before our Q3 review.", d(minutes=4)),
        # Apple Mail prefetches every newsletter two seconds after delivery; the score crosses on them alone.
        ev.upsert(opener, d(days=6), company="Harbor Tools", owner_email="jane@ourco.example", score=40),
        *[e for n in range(4) for e in (
            ev.activity(opener, "email_delivered", d(days=5 - n), subject=f"Harbor digest {n}", campaign="digest"),
            ev.activity(opener, "email_open", d(days=5 - n) - d(seconds=2), subject=f"Harbor digest {n}",
                        campaign="digest", properties={"user_agent": "Mozilla/5.0", "ip": "17.58.100.4"}))],
        ev.upsert(opener, d(minutes=2), score=130),
    ]
    assert send(http, triage_server, batch)["qualified"] == 3
    fake_slack.wait_for("chat.postMessage", count=2)
    triage_server.delivery_idle()
    routed = _posts_to(fake_slack, PEOPLE)
    closed = _posts_to(fake_slack, MOPS)
    assert len(routed) == 1 and "Masterarbeit" in json.dumps(routed[0]["blocks"], ensure_ascii=False)
    assert len(closed) == 1 and "do_not_contact" in json.dumps(closed[0]["blocks"])
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # nobody paged; the machine-open lead posts nothing
    by_email = {p: _qualifications(triage_server, p)[0] for p in (student, flagged, opener)}
    assert by_email[student].triage_category == "student_or_jobseeker"
    assert by_email[student].status == "not_a_fit"
    assert by_email[flagged].triage_rule == "do_not_contact.crm_flag"
    assert by_email[opener].triage_delivery == "digest_line" and by_email[opener].status == "closed"
    assert all(q.sla_due_at is None and q.nudge_at is None for q in by_email.values())

    # Someone outside the sales team ([access]: the leads channel) cannot override: nothing changes.
    q = by_email[student]
    fake_slack.add_user("eve@ourco.example", "U0EVE", "eve", real_name="Eve Outsider")
    click(http, triage_server, fake_slack, str(q.id), user="U0EVE", channel=PEOPLE, ts=routed[0].get("ts", "1.0"))
    assert wait_for(lambda: _denied(triage_server, "U0EVE"))
    triage_server.delivery_idle()
    assert _qualifications(triage_server, student)[0].overridden_at is None
    assert len(_qualifications(triage_server, student)) == 1 and not fake_slack.calls_to("chat.update")

    # Overriding the student counts against the rule.
    click(http, triage_server, fake_slack, str(q.id), channel=PEOPLE, ts=routed[0].get("ts", "1.0"))
    assert wait_for(lambda: _qualifications(triage_server, student)[0].overridden_by == "U0JANE")
    r = slash(http, triage_server, fake_slack, "stats")
    assert r.status_code == 200
    answer = json.dumps(fake_slack.wait_for_responses("stats")[0], ensure_ascii=False)
    assert "1 closed as do not contact" in answer
    # Notices are not briefs: of 4 qualifications (the override's new one too), only its brief can be posted.
    assert re.search(r"4 qualified, [01] posted", answer), answer[:300]
    assert "0 automatic not a fit" in answer  # the student was overridden: counted against its rule instead
    assert "1 on machine opens only" in answer
    assert f"{q.triage_rule} 1 of 1 (100%)" in answer and "do_not_contact.crm_flag 0 of 1 (0%)" in answer
