"""Follow-through end to end: signed webhooks, commands and clicks in; the fake Slack out; time moved by the
test (the follow-through worker is run by hand at each moment, never by sleeping)."""

import json
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.gateway import web_client
from bot.server import delivery_sink
from bot.usecases.followthrough import FollowThrough
from bot.worker import DeliveryWorker
from storage.models import Delivery, Lead, Qualification
from tests.e2e.test_slack import hand_raiser, send_webhook, slash
from tests.support.databases import PG_URL
from tests.support.factories import Events, researcher_history
from tests.support.live import LiveServer, wait_for
from tests.support.signing import slack_headers
from tests.support.team import QUEUE

d = timedelta
# Tuesday 10:00 in New York, where the fake Slack's people are: inside business hours.
TUESDAY_10AM_NY = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _start(settings, now: datetime):
    server = LiveServer(settings, run_worker=False).__enter__()
    clock = Clock(now)
    server.services.clock = clock
    server.clock = clock
    server.deliver = DeliveryWorker(server.services.sessions, delivery_sink(server.services), clock=clock).run_once
    server.follow = FollowThrough(server.services, web_client(settings, interactive=False)).run_once
    return server


@pytest.fixture
def ft(slack_settings):
    server = _start(slack_settings, TUESDAY_10AM_NY)
    yield server
    server.__exit__(None, None, None)


def events_at(server, tag: str = "f") -> Events:
    return Events(now=server.clock.now, prefix=f"{tag}{server.clock.now.timestamp():.0f}")


def action(http, server, fake, act: dict, user="U0JANE", channel="D0JANE", ts="1.0", name="act", home=False):
    payload = {
        "type": "block_actions", "user": {"id": user, "username": "x"}, "api_app_id": "A0", "token": "legacy",
        "team": {"id": "T0FAKE"}, "trigger_id": "2.3.trig", "actions": [{"action_ts": "1", **act}],
    }
    if home:
        payload |= {"container": {"type": "view", "view_id": "V1"}, "view": {"id": "V1", "type": "home"}}
    else:
        payload |= {"channel": {"id": channel}, "message": {"ts": ts}, "response_url": fake.response_url(name),
                    "container": {"type": "message", "channel_id": channel, "message_ts": ts}}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    r = http.post(f"{server.url}/slack/events", content=body, headers=slack_headers(body))
    assert r.status_code == 200, r.text
    return r


def button(action_id: str, value: str) -> dict:
    return {"type": "button", "action_id": action_id, "block_id": "b", "value": value}


def one(server, model):
    with server.services.sessions() as s:
        return s.scalars(select(model)).one()


def text_of(call: dict) -> str:
    return json.dumps(call.get("blocks") or [], ensure_ascii=False) + (call.get("text") or "")


def posts(fake, **match) -> list[dict]:
    return [c for c in fake.calls_to("chat.postMessage") if all(c.get(k) == v for k, v in match.items())]


def post_hand_raiser(http, server, fake, owner="jane@ourco.example", email="sam@globex.example"):
    send_webhook(http, server, hand_raiser(events_at(server), owner=owner, email=email))
    assert server.deliver() == 1
    return fake.calls_to("chat.postMessage")[-1]


# --- The speed-to-lead clock ---------------------------------------------------------------------


def test_unclaimed_hand_raiser_is_reminded_in_the_thread_then_escalated_to_the_queue(http, ft, fake_slack):
    brief = post_hand_raiser(http, ft, fake_slack)
    assert brief["channel"] == "U0JANE"
    assert "⏱️ Qualified <!date^" in text_of(brief) and "call by <!date^" in text_of(brief)
    q = one(ft, Qualification)
    assert (q.sla_state, q.rep_user) == ("running", "U0JANE")
    assert q.sla_due_at == q.qualified_at + d(minutes=5)
    ts = one(ft, Delivery).ts

    ft.clock.advance(d(minutes=4))
    assert ft.follow() == 0
    ft.clock.advance(d(minutes=1, seconds=30))
    assert ft.follow() == 1
    reminder = posts(fake_slack, thread_ts=ts)
    assert len(reminder) == 1 and reminder[0]["channel"] == "D0JANE"
    assert "<@U0JANE>" in text_of(reminder[0]) and "with no call" in text_of(reminder[0])
    # The brief itself now says the goal was missed.
    assert "not called in time" in text_of(fake_slack.calls_to("chat.update")[-1])
    assert ft.follow() == 0  # once only

    ft.clock.advance(d(minutes=5))
    assert ft.follow() == 1
    escalation = posts(fake_slack, channel=QUEUE)
    assert len(escalation) == 1
    assert "Nobody has called Sam Rivera yet" in text_of(escalation[0]) and '"lead_claim"' in text_of(escalation[0])
    assert ft.follow() == 0
    ft.clock.advance(d(hours=3))
    assert ft.follow() == 0  # escalated once; nothing more

    # Someone in the queue claims it: the escalation and the brief both change in place.
    action(http, ft, fake_slack, button("lead_claim", str(q.id)), user="U0OMAR", channel=QUEUE,
           ts=escalation[0].get("ts", "1.0"), name="claim")
    assert fake_slack.wait_for_responses("claim")[0]["text"].startswith("It's yours")
    updates = wait_for(lambda: [u for u in fake_slack.calls_to("chat.update") if "claimed by <@U0OMAR>" in text_of(u)])
    assert updates[0]["channel"] == QUEUE and '"lead_claim"' not in text_of(updates[0])
    assert any(u["channel"] == "D0JANE" and "Claimed by <@U0OMAR>" in text_of(u)
               for u in fake_slack.calls_to("chat.update"))


def test_a_claim_in_time_stops_the_clock(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    q = one(ft, Qualification)
    ft.clock.advance(d(minutes=2))
    action(http, ft, fake_slack, button("lead_claim", str(q.id)), name="claim")
    fake_slack.wait_for_responses("claim")
    assert one(ft, Qualification).sla_state == "met"
    # The brief says how fast it was picked up.
    update = wait_for(lambda: [u for u in fake_slack.calls_to("chat.update") if "Claimed by" in text_of(u)])
    assert "2 min after it qualified" in text_of(update[-1])
    ft.clock.advance(d(hours=2))
    assert ft.follow() == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_the_clock_runs_in_business_hours_in_the_reps_time_zone(http, slack_settings, fake_slack):
    # Friday 17:30 in New York (22:30 UTC): closed until Monday 09:00 there. The researcher's SLA is an hour.
    friday = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)
    server = _start(slack_settings, friday)
    try:
        send_webhook(http, server, researcher_history(events_at(server)))
        assert server.deliver() == 1
        q = one(server, Qualification)
        monday_10am_ny = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
        assert q.sla_due_at == monday_10am_ny
        server.clock.advance(d(days=2))  # Sunday evening
        assert server.follow() == 0
        server.clock.now = monday_10am_ny + d(seconds=1)
        assert server.follow() == 1
        assert "has waited 1 h with no call" in text_of(fake_slack.calls_to("chat.postMessage")[-1])
    finally:
        server.__exit__(None, None, None)


def test_reminders_survive_a_restart(http, slack_settings, fake_slack):
    first = _start(slack_settings, TUESDAY_10AM_NY)
    try:
        post_hand_raiser(http, first, fake_slack)
    finally:
        first.__exit__(None, None, None)
    # A new process on the same database: what was scheduled is still there.
    second = _start(slack_settings, TUESDAY_10AM_NY + d(minutes=6))
    try:
        assert second.follow() == 1
        assert "with no call" in text_of(fake_slack.calls_to("chat.postMessage")[-1])
    finally:
        second.__exit__(None, None, None)


def test_two_workers_remind_once(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    other = FollowThrough(ft.services, web_client(ft.services.settings, interactive=False))
    ft.clock.advance(d(minutes=6))
    assert ft.follow() + other.run_once() == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_slack_down_at_reminder_time_retries_the_reminder(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    ft.clock.advance(d(minutes=6))
    fake_slack.fail("chat.postMessage", "internal_error")
    assert ft.follow() == 0
    assert one(ft, Qualification).sla_state == "running"
    ft.clock.advance(d(minutes=1, seconds=1))
    assert ft.follow() == 1
    assert one(ft, Qualification).sla_state == "reminded"


# --- Snooze and reassign -------------------------------------------------------------------------


def snooze(qid: int, code: str) -> dict:
    return {"type": "static_select", "action_id": "lead_snooze", "block_id": f"followup_{qid}",
            "selected_option": {"text": {"type": "plain_text", "text": code}, "value": f"{code}:{qid}"}}


def test_snooze_holds_the_reminder_and_pings_when_it_ends(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    q = one(ft, Qualification)
    action(http, ft, fake_slack, snooze(q.id, "1h"), name="snooze")
    assert "Snoozed for an hour" in fake_slack.wait_for_responses("snooze")[0]["text"]
    assert "snoozed until" in text_of(fake_slack.wait_for("chat.update")[0])
    ft.clock.advance(d(minutes=30))
    assert ft.follow() == 0  # past the SLA, but snoozed
    ft.clock.advance(d(minutes=31))
    assert ft.follow() == 1
    assert "the snooze on *Sam Rivera* (Globex) is over" in text_of(fake_slack.calls_to("chat.postMessage")[-1])
    q = one(ft, Qualification)
    assert q.snoozed_until is None and q.sla_state == "reminded"


def test_snooze_until_tomorrow_morning_is_the_reps_next_business_morning(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    q = one(ft, Qualification)
    action(http, ft, fake_slack, snooze(q.id, "morning"), name="snooze")
    fake_slack.wait_for_responses("snooze")
    # Tuesday in New York -> Wednesday 09:00 there (14:00 UTC).
    assert one(ft, Qualification).snoozed_until == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def test_reassign_hands_the_lead_over_and_tells_the_new_rep(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    q = one(ft, Qualification)
    pick = {"type": "users_select", "action_id": "lead_reassign", "block_id": f"followup_{q.id}",
            "selected_user": "U0OMAR"}
    ft.clock.advance(d(minutes=3))
    action(http, ft, fake_slack, pick, name="reassign")
    assert "Reassigned to <@U0OMAR>" in fake_slack.wait_for_responses("reassign")[0]["text"]
    assert "Reassigned to <@U0OMAR> by <@U0JANE>" in text_of(fake_slack.wait_for("chat.update")[0])
    dm = wait_for(lambda: posts(fake_slack, channel="U0OMAR"))
    assert "passed *Sam Rivera* (Globex) to <@U0OMAR>" in text_of(dm[0])
    q = one(ft, Qualification)
    lead = one(ft, Lead)
    assert (q.rep_user, lead.owner_email, q.sla_state) == ("U0OMAR", "omar@ourco.example", "running")
    assert q.sla_due_at == ft.clock.now + d(minutes=5)  # a fresh clock for the new rep
    ft.clock.advance(d(minutes=6))
    assert ft.follow() == 1
    assert "<@U0OMAR>" in text_of(fake_slack.calls_to("chat.postMessage")[-1])


def test_reassign_to_a_bot_is_refused(http, ft, fake_slack):
    fake_slack.add_user("bot@ourco.example", "U0BOT", "bot")
    fake_slack.users["U0BOT"]["is_bot"] = True
    post_hand_raiser(http, ft, fake_slack)
    q = one(ft, Qualification)
    pick = {"type": "users_select", "action_id": "lead_reassign", "block_id": f"followup_{q.id}",
            "selected_user": "U0BOT"}
    action(http, ft, fake_slack, pick, name="bot")
    assert "not a bot" in fake_slack.wait_for_responses("bot")[0]["text"]
    assert one(ft, Qualification).rep_user == "U0JANE"


# --- Thread updates ------------------------------------------------------------------------------


def test_thread_updates_combine_activity_and_keep_a_cooldown_that_hand_raisers_break(http, ft, fake_slack):
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 1
    ts = one(ft, Delivery).ts
    email = "jon.doe@acme.example"
    assert ft.follow() == 0  # nothing new since the brief

    ft.clock.advance(d(minutes=1))
    ev = events_at(ft, "u1")
    send_webhook(http, ft, [ev.visit(email, "https://ourco.example/pricing", d(seconds=30)),
                            ev.visit(email, "https://ourco.example/pricing", d(seconds=20)),
                            ev.download(email, "Widget Buyer's Guide", d(seconds=10))])
    assert ft.follow() == 1
    update = posts(fake_slack, thread_ts=ts)
    assert len(update) == 1
    assert "Pricing (2×)" in text_of(update[0]) and "Widget Buyer's Guide" in text_of(update[0])

    # Within the cooldown: kept for later.
    ft.clock.advance(d(minutes=5))
    send_webhook(http, ft, [events_at(ft, "u2").download(email, "Widget Case Study", d(seconds=5))])
    assert ft.follow() == 0
    # Opens alone never make an update of their own.
    # A hand-raiser form breaks the cooldown, and brings what was waiting with it.
    ft.clock.advance(d(minutes=5))
    send_webhook(http, ft, [events_at(ft, "u3").form(email, "Contact Sales", "Can we talk this week?", d(seconds=5))])
    assert ft.follow() == 1
    hot = posts(fake_slack, thread_ts=ts)[-1]
    assert "just raised a hand" in text_of(hot) and "<@U0JANE>" in text_of(hot)
    assert "Widget Case Study" in text_of(hot) and "Can we talk this week?" in text_of(hot)

    ft.clock.advance(d(minutes=1))
    send_webhook(http, ft, [events_at(ft, "u4").activity(email, "email_open", d(seconds=5), subject="Hi")])
    ft.clock.advance(d(minutes=40))
    assert ft.follow() == 0  # an open alone is not worth a message
    assert len(posts(fake_slack, thread_ts=ts)) == 2


def test_closed_leads_get_no_thread_updates(http, ft, fake_slack):
    send_webhook(http, ft, researcher_history(events_at(ft)))
    ft.deliver()
    q = one(ft, Qualification)
    with ft.services.sessions.begin() as s:
        s.get(Qualification, q.id).status = "not_a_fit"
    ft.clock.advance(d(minutes=1))
    send_webhook(http, ft, [events_at(ft, "c").visit("jon.doe@acme.example", "https://ourco.example/pricing", d(0))])
    assert ft.follow() == 0


# --- App Home ------------------------------------------------------------------------------------


def home_opened(http, server, user="U0JANE"):
    event = {"type": "event_callback", "team_id": "T0FAKE", "api_app_id": "A0",
             "event_id": f"Ev{server.clock.now.timestamp():.0f}{user}", "event_time": 1,
             "event": {"type": "app_home_opened", "user": user, "channel": "D0X", "tab": "home"}}
    body = json.dumps(event)
    r = http.post(f"{server.url}/slack/events", content=body,
                  headers=slack_headers(body, content_type="application/json"))
    assert r.status_code == 200


def test_app_home_shows_the_queue_with_sla_timers_buttons_and_the_30_day_summary(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    send_webhook(http, ft, researcher_history(events_at(ft, "r")))
    ft.clock.advance(d(seconds=2))  # one post a second per channel
    assert ft.deliver() == 1
    ft.clock.advance(d(minutes=2))
    home_opened(http, ft)
    view = fake_slack.wait_for("views.publish")[0]["view"]
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "call within 3 min" in text and "call within 58 min" in text
    assert '"lead_claim"' in text and '"lead_snooze"' in text and '"lead_reassign"' in text
    assert "Switch to a daily digest" in text
    assert "last 30 days" in text.lower()
    assert len(view["blocks"]) <= 100

    # A click on the Home has no response_url: the Home is shown again, changed.
    q = min(one_many(ft, Qualification), key=lambda q: q.id)
    action(http, ft, fake_slack, button("lead_claim", str(q.id)), home=True)
    again = wait_for(lambda: fake_slack.calls_to("views.publish")[1:])[0]["view"]
    assert "Claimed by <@U0JANE>" in json.dumps(again["blocks"], ensure_ascii=False)


def one_many(server, model):
    with server.services.sessions() as s:
        return list(s.scalars(select(model)))


def test_lead_mine_shows_each_leads_sla_timer_and_leads_passed_to_me(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    ft.clock.advance(d(minutes=2))
    slash(http, ft, fake_slack, "mine", name="mine")
    assert "call within 3 min" in text_of(fake_slack.wait_for_responses("mine")[0])
    ft.clock.advance(d(minutes=10))
    slash(http, ft, fake_slack, "mine", name="late")
    assert "overdue by 7 min" in text_of(fake_slack.wait_for_responses("late")[0])
    # A lead posted to Omar as its rep is his, even though Jane owns it in the CRM.
    with ft.services.sessions.begin() as s:
        s.scalars(select(Qualification)).one().rep_user = "U0OMAR"
    slash(http, ft, fake_slack, "mine", user="U0OMAR", name="omar")
    assert "Sam Rivera" in text_of(fake_slack.wait_for_responses("omar")[0])


def test_home_is_newest_first(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack, email="first@globex.example")
    ft.clock.advance(d(minutes=1))  # and past the channel's posting slot
    post_hand_raiser(http, ft, fake_slack, email="second@globex.example")
    home_opened(http, ft)
    text = json.dumps(fake_slack.wait_for("views.publish")[0]["view"]["blocks"])
    assert text.index("second@globex.example") < text.index("first@globex.example")


# --- Quiet mode ----------------------------------------------------------------------------------


def test_quiet_mode_holds_non_urgent_briefs_for_a_daily_digest_but_never_hand_raisers(http, ft, fake_slack):
    slash(http, ft, fake_slack, "quiet on 08:30", name="quiet")
    assert "digest at 08:30" in fake_slack.wait_for_responses("quiet")[0]["text"]
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 0
    held = one(ft, Delivery)
    assert (held.status, held.digest_user) == ("digest", "U0JANE")
    # Wednesday 08:30 in New York.
    assert held.next_attempt_at == datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
    # A hand-raiser still comes at once.
    post_hand_raiser(http, ft, fake_slack)
    assert [c["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["U0JANE"]

    ft.clock.now = datetime(2026, 11, 25, 13, 30, 1, tzinfo=UTC)
    assert ft.follow() >= 1
    digest = [c for c in fake_slack.calls_to("chat.postMessage") if "daily digest" in text_of(c)]
    assert len(digest) == 1 and "Jon Doe" in text_of(digest[0]) and "Sam Rivera" not in text_of(digest[0])
    assert '"lead_claim"' in text_of(digest[0])
    with ft.services.sessions() as s:
        sent = s.scalars(select(Delivery).where(Delivery.digest_user == "U0JANE")).one()
        q = s.get(Qualification, sent.qualification_id)
        assert sent.status == "sent" and sent.ts
        # The clock starts with the digest (08:30), in business hours: 10:00 New York.
        assert q.sla_due_at == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert ft.follow() == 0  # one digest

    # A click on the digest updates the digest, not a lone brief.
    action(http, ft, fake_slack, button("lead_claim", str(q.id)), channel=sent.channel, ts=sent.ts, name="c")
    fake_slack.wait_for_responses("c")
    update = [u for u in fake_slack.calls_to("chat.update") if u["ts"] == sent.ts][-1]
    assert "daily digest" in text_of(update) and "Claimed by <@U0JANE>" in text_of(update)

    slash(http, ft, fake_slack, "quiet off", name="off")
    assert "Real-time" in fake_slack.wait_for_responses("off")[0]["text"]


def test_quiet_toggle_on_the_home_tab(http, ft, fake_slack):
    action(http, ft, fake_slack, button("lead_quiet", "on"), home=True)
    view = fake_slack.wait_for("views.publish")[0]["view"]
    assert "Quiet mode" in json.dumps(view["blocks"])
    slash(http, ft, fake_slack, "quiet", name="show")
    assert "Quiet mode is on" in fake_slack.wait_for_responses("show")[0]["text"]


@pytest.mark.parametrize("text", ["quiet maybe", "quiet on 25:00", "quiet off 08:00"])
def test_quiet_usage_errors(http, ft, fake_slack, text):
    slash(http, ft, fake_slack, text, name="bad")
    assert "Usage: `/lead quiet on`" in fake_slack.wait_for_responses("bad")[0]["text"]


# --- Erasure -------------------------------------------------------------------------------------


def test_forget_redacts_the_reminders_escalation_and_thread_updates_too(http, ft, fake_slack):
    from bot.usecases.privacy import redact_posted
    from storage import privacy

    post_hand_raiser(http, ft, fake_slack)
    ft.clock.advance(d(minutes=1))
    send_webhook(http, ft, [events_at(ft, "x").visit("sam@globex.example", "https://ourco.example/pricing", d(0))])
    assert ft.follow() == 1  # thread update
    ft.clock.advance(d(minutes=5))
    assert ft.follow() == 1  # reminder
    ft.clock.advance(d(minutes=6))
    assert ft.follow() == 1  # escalation
    about_sam = [key for key, m in fake_slack.messages.items() if "Sam Rivera" in json.dumps(m["blocks"])]
    assert len(about_sam) == 4
    with ft.services.sessions.begin() as s:
        gone = privacy.forget(s, "sam@globex.example", "cli:test", ft.clock.now)
    assert redact_posted(web_client(ft.services.settings, interactive=False), gone.posted, ft.clock.now) == []
    left = [key for key, m in fake_slack.messages.items() if "Sam" in json.dumps(m["blocks"]) + (m["text"] or "")]
    assert left == []


def test_a_held_lead_who_raises_a_hand_is_posted_at_once_on_the_hand_raiser_clock(http, ft, fake_slack):
    slash(http, ft, fake_slack, "quiet on", name="quiet")
    fake_slack.wait_for_responses("quiet")
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 0
    assert one(ft, Delivery).status == "digest"
    ft.clock.advance(d(minutes=10))
    send_webhook(http, ft, [events_at(ft, "h").form("jon.doe@acme.example", "Request a demo", "Call me today", d(0))])
    ft.follow()
    assert ft.deliver() == 1
    post = fake_slack.calls_to("chat.postMessage")[-1]
    assert post["channel"] == "U0JANE" and "Jon Doe" in text_of(post)
    q = one(ft, Qualification)
    assert q.sla_due_at == ft.clock.now + d(minutes=5)
    # The hand-raise came after the brief was built: it is news for the thread.
    ft.clock.advance(d(seconds=5))
    assert ft.follow() == 1
    assert "Call me today" in text_of(fake_slack.calls_to("chat.postMessage")[-1])


def test_metrics_count_follow_through_and_overdue_leads(http, ft, fake_slack):
    from bot import metrics

    def sample(name, labels=None):
        return metrics.REGISTRY.get_sample_value(name, labels or {}) or 0.0

    before = sample("leadbrief_follow_through_total", {"kind": "remind"})
    post_hand_raiser(http, ft, fake_slack)
    ft.clock.advance(d(minutes=6))
    assert ft.follow() == 1
    assert sample("leadbrief_follow_through_total", {"kind": "remind"}) == before + 1
    scrape = http.get(f"{ft.url}/metrics").text
    assert "leadbrief_leads_overdue 1.0" in scrape


def test_forgetting_a_lead_in_a_digest_keeps_the_other_leads_in_it(http, ft, fake_slack):
    from bot.usecases.followup import digest_without
    from bot.usecases.privacy import redact_posted
    from storage import privacy

    slash(http, ft, fake_slack, "quiet on", name="quiet")
    fake_slack.wait_for_responses("quiet")
    send_webhook(http, ft, researcher_history(events_at(ft, "a")))
    send_webhook(http, ft, researcher_history(events_at(ft, "b"), email="ann.lee@initech.example"))
    ft.deliver()
    ft.clock.advance(d(days=1))
    assert ft.follow() >= 1
    digest = [k for k, m in fake_slack.messages.items() if "daily digest: 2 new leads" in (m["text"] or "")]
    assert len(digest) == 1
    with ft.services.sessions.begin() as s:
        gone = privacy.forget(s, "ann.lee@initech.example", "cli:test", ft.clock.now)
    assert redact_posted(web_client(ft.services.settings, interactive=False), gone.posted, ft.clock.now,
                         replacement=lambda c, t: digest_without(ft.services, c, t)) == []
    after = fake_slack.messages[digest[0]]
    assert "daily digest: 1 new lead" in after["text"] and "jon.doe@acme.example" in json.dumps(after["blocks"])
    assert "ann.lee" not in json.dumps(after["blocks"]).lower()


# --- When things go wrong --------------------------------------------------------------------------


def test_a_malformed_page_url_neither_breaks_the_brief_nor_stops_the_worker(http, ft, fake_slack):
    email = "jon.doe@acme.example"
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 1
    ts = one(ft, Delivery).ts
    ft.clock.advance(d(minutes=1))
    send_webhook(http, ft, [events_at(ft, "m").visit(email, "http://[broken/pricing", d(seconds=10))])
    assert ft.follow() == 1
    assert "Pricing" in text_of(posts(fake_slack, thread_ts=ts)[-1])
    slash(http, ft, fake_slack, email, name="lookup")
    assert "Jon Doe" in text_of(fake_slack.wait_for_responses("lookup")[0])


def test_a_step_that_raises_is_skipped_and_the_others_still_run(http, ft, fake_slack, monkeypatch, caplog):
    from briefs import followthrough as domain

    post_hand_raiser(http, ft, fake_slack)
    ft.clock.advance(d(seconds=2))
    post_hand_raiser(http, ft, fake_slack, email="ann@initech.example")
    real = domain.reminder

    def broken(card, *args):
        if card.email == "sam@globex.example":
            raise RuntimeError("a bug in one lead's reminder")
        return real(card, *args)

    monkeypatch.setattr(domain, "reminder", broken)
    ft.clock.advance(d(minutes=6))
    assert ft.follow() == 1  # Ann is reminded though Sam's reminder raised
    assert "a bug in one lead's reminder" in caplog.text
    sam = [q for q in one_many(ft, Qualification) if q.sla_state == "running"]
    assert len(sam) == 1 and sam[0].nudge_at == ft.clock.now + d(minutes=5)  # postponed, not lost
    monkeypatch.setattr(domain, "reminder", real)
    assert ft.follow() == 0
    ft.clock.advance(d(minutes=5))
    assert ft.follow() >= 1
    assert any(c["text"].startswith("Reminder: Sam Rivera") for c in fake_slack.calls_to("chat.postMessage"))


def test_a_brief_in_an_unreachable_channel_goes_to_the_team_queue_at_once(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    ft.clock.advance(d(minutes=6))
    fake_slack.fail("chat.postMessage", "channel_not_found")
    assert ft.follow() == 0
    assert one(ft, Qualification).sla_state == "reminded"
    assert ft.follow() == 1  # no waiting out the escalation delay: the rep cannot see the reminder
    assert "Nobody has called Sam Rivera yet" in text_of(posts(fake_slack, channel=QUEUE)[-1])
    assert one(ft, Qualification).sla_state == "escalated"


def test_a_claim_while_slack_is_down_is_not_undone_by_the_retry(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    q = one(ft, Qualification)
    ft.clock.advance(d(minutes=6))
    fake_slack.fail("chat.postMessage", "internal_error")
    follower = FollowThrough(ft.services, web_client(ft.services.settings, interactive=False))
    # The claim lands between the reminder being taken and its failure being recorded.
    real_post = follower._post_nudge

    def claim_then_fail(*args):
        action(http, ft, fake_slack, button("lead_claim", str(q.id)), name="claim")
        fake_slack.wait_for_responses("claim")
        return real_post(*args)

    follower._post_nudge = claim_then_fail
    assert follower.run_once() == 0
    q = one(ft, Qualification)
    assert (q.status, q.claimed_by, q.nudge_at) == ("claimed", "U0JANE", None)
    ft.clock.advance(d(hours=1))
    assert ft.follow() == 0


def test_a_thread_update_that_fails_is_retried_after_a_pause_not_every_pass(http, ft, fake_slack):
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 1
    ft.clock.advance(d(minutes=1))
    send_webhook(http, ft, [events_at(ft, "p").visit("jon.doe@acme.example", "https://ourco.example/pricing",
                                                      d(seconds=5))])
    fake_slack.fail("chat.postMessage", "internal_error")
    assert ft.follow() == 0
    tries = len(fake_slack.calls_to("chat.postMessage"))
    ft.clock.advance(d(seconds=30))
    assert ft.follow() == 0 and len(fake_slack.calls_to("chat.postMessage")) == tries
    ft.clock.advance(d(seconds=31))
    assert ft.follow() == 1
    assert "Pricing" in text_of(fake_slack.calls_to("chat.postMessage")[-1])


def test_a_digest_whose_channel_is_gone_goes_to_the_reps_dm(http, ft, fake_slack):
    slash(http, ft, fake_slack, "route <#C0JANE|jane-leads>", name="route")
    assert "will go to <#C0JANE>" in fake_slack.wait_for_responses("route")[0]["text"]
    slash(http, ft, fake_slack, "quiet on", name="quiet")
    fake_slack.wait_for_responses("quiet")
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 0
    ft.clock.advance(d(days=1))
    fake_slack.fail("chat.postMessage", "is_archived")
    assert ft.follow() >= 1
    digest = [c for c in fake_slack.calls_to("chat.postMessage") if "daily digest" in text_of(c)]
    assert [c["channel"] for c in digest] == ["C0JANE", "U0JANE"]
    assert one(ft, Delivery).channel == "D0JANE"


def test_reassign_checks_the_person_after_acking_and_refuses_outsiders(http, ft, fake_slack):
    post_hand_raiser(http, ft, fake_slack)
    q = one(ft, Qualification)
    fake_slack.add_user("sue@elsewhere.example", "U0SUE", "sue")  # in the workspace, not on the sales team
    pick = {"type": "users_select", "action_id": "lead_reassign", "block_id": f"followup_{q.id}",
            "selected_user": "U0SUE"}
    action(http, ft, fake_slack, pick, name="outsider")
    assert "not on the sales team" in fake_slack.wait_for_responses("outsider")[0]["text"]
    assert one(ft, Qualification).rep_user == "U0JANE"
    assert not posts(fake_slack, channel="U0SUE")

    fake_slack.fail("users.info", "ratelimited")
    pick["selected_user"] = "U0MIA"  # not cached yet: users.info is asked, and fails
    r = action(http, ft, fake_slack, pick, name="slack-busy")
    assert r.status_code == 200
    assert "try again in a minute" in fake_slack.wait_for_responses("slack-busy")[0]["text"]
    assert one(ft, Qualification).rep_user == "U0JANE"


def test_reassigning_a_lead_held_for_a_digest_posts_it_to_the_new_rep(http, ft, fake_slack):
    slash(http, ft, fake_slack, "quiet on", name="quiet")
    fake_slack.wait_for_responses("quiet")
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 0
    q = one(ft, Qualification)
    pick = {"type": "users_select", "action_id": "lead_reassign", "block_id": f"followup_{q.id}",
            "selected_user": "U0OMAR"}
    action(http, ft, fake_slack, pick, home=True)
    wait_for(lambda: posts(fake_slack, channel="U0OMAR"))  # told by DM
    ft.clock.advance(d(seconds=2))
    assert ft.deliver() == 1
    brief = fake_slack.calls_to("chat.postMessage")[-1]
    assert brief["channel"] == "U0OMAR" and "Jon Doe" in text_of(brief)
    d_ = one(ft, Delivery)
    assert (d_.status, d_.digest_user) == ("sent", None)
    assert one(ft, Qualification).rep_user == "U0OMAR"
    ft.clock.advance(d(days=1))
    ft.follow()
    assert not [c for c in fake_slack.calls_to("chat.postMessage") if "daily digest" in text_of(c)]


def test_a_refresh_overtaken_by_a_click_leaves_the_newest_state_showing(http, ft, fake_slack, monkeypatch):
    import bot.usecases.followup as follow_module
    from bot.usecases import followup as workflow

    post_hand_raiser(http, ft, fake_slack)
    q = one(ft, Qualification)
    real = follow_module._update
    clicked = []

    def update_then_click(client, channel, ts, payload):
        real(client, channel, ts, payload)
        if not clicked:  # Omar claims while our older render is on its way to Slack
            clicked.append(True)
            with ft.services.sessions.begin() as s:
                workflow.claim(s, q.id, "U0OMAR", None, ft.clock.now)

    monkeypatch.setattr(follow_module, "_update", update_then_click)
    follow_module.refresh(ft.services, web_client(ft.services.settings, interactive=False), q.id)
    updates = fake_slack.calls_to("chat.update")
    assert len(updates) == 2 and "Claimed by <@U0OMAR>" in text_of(updates[-1])
    assert "Claimed by" not in text_of(updates[0])


def test_leads_kept_for_later_do_not_crowd_out_the_others(http, ft, fake_slack):
    send_webhook(http, ft, researcher_history(events_at(ft, "a")))
    send_webhook(http, ft, researcher_history(events_at(ft, "b"), email="ann.lee@initech.example"))
    assert ft.deliver() == 1
    ft.clock.advance(d(seconds=2))  # one post a second per channel
    assert ft.deliver() == 1
    ft.clock.advance(d(minutes=1))
    jon = "jon.doe@acme.example"
    send_webhook(http, ft, [events_at(ft, "c").visit(jon, "https://ourco.example/pricing", d(seconds=5))])
    assert ft.follow() == 1  # Jon's update starts his cooldown
    ft.clock.advance(d(minutes=1))
    # Jon fills in a form that is no hand-raise (kept for after his cooldown); Ann visits pricing.
    send_webhook(http, ft, [events_at(ft, "d").form(jon, "Newsletter signup", None, d(seconds=5)),
                            events_at(ft, "e").visit("ann.lee@initech.example", "https://ourco.example/pricing",
                                                     d(seconds=5))])
    worker = FollowThrough(ft.services, web_client(ft.services.settings, interactive=False))
    assert worker.updates(ft.clock.now, page=1) == 1  # Jon, first by id, fills the page; Ann still gets hers
    with ft.services.sessions() as s:
        ann = s.scalars(select(Delivery).join(Lead, Lead.id == Delivery.lead_id)
                        .where(Lead.email == "ann.lee@initech.example")).one()
    assert fake_slack.calls_to("chat.postMessage")[-1]["thread_ts"] == ann.ts


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: SQLite lets one writer in at a time")
def test_an_activity_committed_after_a_newer_one_still_reaches_the_thread(http, ft, fake_slack):
    import threading

    from sqlalchemy import text

    from storage.models import Activity

    jon = "jon.doe@acme.example"
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 1
    ft.clock.advance(d(minutes=1))
    lead_id = one(ft, Lead).id
    # A batch still being stored holds a pricing visit with the lower id...
    slow = ft.services.sessions()
    slow.add(Activity(lead_id=lead_id, kind="web_visit", occurred_at=ft.clock.now - d(seconds=20),
                      url="https://ourco.example/pricing", source="test", source_event_id="slow-1",
                      received_at=ft.clock.now))
    slow.flush()
    # ...while a later batch, with a higher id, is committed first.
    send_webhook(http, ft, [events_at(ft, "fast").download(jon, "Widget Buyer's Guide", d(seconds=10))])
    posted = []
    worker = threading.Thread(target=lambda: posted.append(ft.follow()))
    worker.start()
    try:
        with ft.services.engine.connect() as c:  # the follow-through waits for the slow batch
            wait_for(lambda: c.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar())
        slow.commit()
    finally:
        slow.close()  # rolls back if the wait failed, so the schema can be dropped
        worker.join(10)
    assert posted == [1]
    update = text_of(fake_slack.calls_to("chat.postMessage")[-1])
    assert "Pricing" in update and "Widget Buyer's Guide" in update


def test_thread_updates_go_only_to_the_leads_latest_brief_and_stop_after_30_days(http, ft, fake_slack):
    jon = "jon.doe@acme.example"
    send_webhook(http, ft, researcher_history(events_at(ft)))
    assert ft.deliver() == 1
    first = one(ft, Qualification)
    # Re-qualified: a newer brief (still on its way) replaces this one for the lead.
    with ft.services.sessions.begin() as s:
        s.add(Qualification(lead_id=first.lead_id, reason="score_threshold", detail="score 150",
                            triggered_at=ft.clock.now, qualified_at=ft.clock.now, status="open"))
    ft.clock.advance(d(minutes=1))
    send_webhook(http, ft, [events_at(ft, "n").visit(jon, "https://ourco.example/pricing", d(seconds=5))])
    assert ft.follow() == 0
    with ft.services.sessions.begin() as s:
        s.delete(s.scalars(select(Qualification).where(Qualification.id != first.id)).one())
    ft.clock.advance(d(minutes=2))  # past the next full scan
    assert ft.follow() == 1  # the only brief again: told

    # A month on, the brief is history: a lead who comes back qualifies anew.
    action(http, ft, fake_slack, button("lead_contacted", str(first.id)), name="called")
    fake_slack.wait_for_responses("called")
    ft.clock.advance(d(days=31))
    send_webhook(http, ft, [events_at(ft, "o").visit(jon, "https://ourco.example/pricing", d(seconds=5))])
    before = len(fake_slack.calls_to("chat.postMessage"))
    ft.follow()
    assert not [c for c in fake_slack.calls_to("chat.postMessage")[before:] if c.get("thread_ts")]


def test_a_callback_window_the_lead_asked_for_moves_the_clock_and_the_reminder(http, ft, fake_slack, monkeypatch):
    """Issue 17: "free tomorrow 9-11 CET": no reminder before the window opens; due within it."""
    from dataclasses import replace as with_
    from zoneinfo import ZoneInfo

    from briefs import followthrough as domain
    from briefs.callback import CallbackWindow
    from briefs.signals import own_words

    paris = ZoneInfo("Europe/Paris")
    window = CallbackWindow(datetime(2026, 11, 25, 9, tzinfo=paris), datetime(2026, 11, 25, 11, tzinfo=paris),
                            "Europe/Paris", "tomorrow 9-11 CET")
    real = own_words  # the words reader finds the window; here, its result for a form that says so
    monkeypatch.setattr(domain, "own_words",
                        lambda a: with_(real(a), callback=window if "9-11" in (a.comments or "") else None))
    ev = events_at(ft)
    send_webhook(http, ft, [
        ev.upsert("ines@globex.example", d(days=1), first_name="Inès", last_name="Moreau", company="Globex",
                  owner_email="jane@ourco.example"),
        ev.form("ines@globex.example", "Contact Sales", "We need widgets for 12 plants. Call me tomorrow 9-11 CET, "
                                                        "not before: I am travelling today."),
    ])
    assert ft.deliver() == 1
    q = one(ft, Qualification)
    assert q.sla_due_at == datetime(2026, 11, 25, 9, 5, tzinfo=paris)
    ts = one(ft, Delivery).ts
    ft.clock.advance(d(minutes=30))  # the usual 5 minutes are long gone: still no reminder
    assert ft.follow() == 0 and posts(fake_slack, thread_ts=ts) == []
    ft.clock.now = datetime(2026, 11, 25, 9, 6, tzinfo=paris)
    assert ft.follow() == 1
    reminder = posts(fake_slack, thread_ts=ts)
    assert len(reminder) == 1 and "with no call" in text_of(reminder[0])
