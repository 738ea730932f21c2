"""Delivery under faults (issue 13): Slack down for hours, a post answered 5xx (or cut off) after it went
through, a worker killed mid-post, a rep channel that is gone."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.config import ConfigError, load_settings
from bot.gateway import web_client
from bot.server import delivery_sink
from bot.usecases.deliver import DELIVERY_EVENT
from bot.usecases.outcomes import LeaseLost, Sent
from bot.worker import DeliveryWorker
from storage import leads as lead_store
from storage import outbox
from storage.models import Delivery
from tests.e2e import test_delivery_workers, test_slack
from tests.e2e.test_delivery_workers import CHANNELS, all_sent, posted_leads, seed
from tests.e2e.test_slack import _delivery, events_now, hand_raiser, send_webhook
from tests.support.fake_slack import DROP
from tests.support.live import wait_for
from tests.support.team import QUEUE

# Their fixtures, used here too.
manual, slack, workers = test_slack.manual, test_delivery_workers.slack, test_delivery_workers.workers

d = timedelta


# --- Posted, then a 5xx ---------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [503, DROP], ids=["503", "connection-dropped"])
def test_a_post_answered_with_an_error_after_it_went_through_is_found_not_posted_again(http, manual, fake_slack,
                                                                                       status):
    send_webhook(http, manual, hand_raiser(events_now()))  # Jane's brief: a DM
    manual.clock[0] = datetime.now(UTC)
    fake_slack.post_then_fail("chat.postMessage", status=status)
    assert manual.deliver() == 0
    pending = _delivery(manual)
    assert (pending.status, pending.unclear_channel) == ("pending", "U0JANE")
    assert len(fake_slack.messages) == 1 and len(fake_slack.failed_after_success) == 1
    (channel, ts), message = next(iter(fake_slack.messages.items()))
    assert message["metadata"] == {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": pending.id}}

    manual.clock[0] = pending.next_attempt_at + d(seconds=1)
    assert manual.deliver() == 1
    sent = _delivery(manual)
    assert (sent.status, sent.channel, sent.ts, sent.unclear_channel) == ("sent", channel, ts, None)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1 and len(fake_slack.messages) == 1
    (history,) = fake_slack.calls_to("conversations.history")
    assert history["channel"] == "D0JANE" and history["include_all_metadata"] in ("1", "true", True)
    assert manual.deliver() == 0


def test_a_5xx_whose_post_did_not_go_through_is_posted_on_the_next_attempt(http, manual, fake_slack):
    send_webhook(http, manual, hand_raiser(events_now()))
    manual.clock[0] = datetime.now(UTC)
    fake_slack.server_error("chat.postMessage", times=1, status=502)
    assert manual.deliver() == 0
    manual.clock[0] = _delivery(manual).next_attempt_at + d(seconds=1)
    assert manual.deliver() == 1
    # Jane's brief is a DM and no DM with her exists yet: looking among the bot's DMs settles it.
    assert len(fake_slack.calls_to("users.conversations")) == 1 and len(fake_slack.messages) == 1


def test_a_post_slack_refused_outright_is_not_looked_for(http, manual, fake_slack):
    send_webhook(http, manual, hand_raiser(events_now()))
    manual.clock[0] = datetime.now(UTC)
    fake_slack.fail("chat.postMessage", "fatal_error")  # ok=false: Slack says it did not post it
    assert manual.deliver() == 0
    pending = _delivery(manual)
    assert pending.status == "pending" and pending.unclear_channel is None
    manual.clock[0] = pending.next_attempt_at + d(seconds=1)
    assert manual.deliver() == 1
    assert fake_slack.calls_to("conversations.history") == []


def test_the_delivery_client_never_reposts_by_itself_but_still_retries_reads(slack_settings, fake_slack):
    client = web_client(slack_settings, interactive=False)
    fake_slack.server_error("chat.postMessage", times=1)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=QUEUE, text="hi")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1 and fake_slack.messages == {}
    fake_slack.server_error("users.info", times=1)
    assert client.users_info(user="U0JANE")["user"]["id"] == "U0JANE"
    assert len(fake_slack.calls_to("users.info")) == 2


def test_a_post_whose_lease_was_taken_over_is_not_sent(manual, http, fake_slack):
    send_webhook(http, manual, hand_raiser(events_now()))
    now = datetime.now(UTC)
    manual.clock[0] = now
    with manual.services.sessions.begin() as s:
        (mine,) = outbox.claim(s, "worker-a", now, d(seconds=6))
    # Worker A stalls past its lease; B takes the delivery over. A's post must not go out.
    with manual.services.sessions.begin() as s:
        assert len(outbox.claim(s, "worker-b", now + d(seconds=7), d(seconds=6))) == 1
    with pytest.raises(LeaseLost):
        delivery_sink(manual.services)(mine)
    assert fake_slack.calls_to("chat.postMessage") == []


# --- Slack down for hours -------------------------------------------------------------------------------

def test_slack_down_for_hours_is_retried_until_the_horizon_then_dead_lettered_with_the_reason(http, manual,
                                                                                              fake_slack):
    send_webhook(http, manual, hand_raiser(events_now()))
    start = manual.clock[0] = datetime.now(UTC)
    worker = DeliveryWorker(manual.services.sessions, delivery_sink(manual.services), clock=lambda: manual.clock[0],
                            retry_horizon=d(hours=2))
    fake_slack.server_error("chat.postMessage", times=10_000)
    gaps = []
    while True:
        assert worker.run_once() == 0
        row = _delivery(manual)
        if row.status != "pending":
            break
        gaps.append(row.next_attempt_at - manual.clock[0])
        manual.clock[0] = row.next_attempt_at + d(seconds=1)
    assert row.status == "failed"
    assert row.last_error == "Slack unavailable for 2 h: last error Slack error: HTTP 503"
    assert manual.clock[0] >= row.created_at + d(hours=2) and manual.clock[0] - start < d(hours=2, minutes=6)
    assert row.attempts > 20 and max(gaps) <= d(minutes=5)
    # Queued again by hand: a fresh horizon, and the post goes out once Slack is back.
    fake_slack.reset()
    with manual.services.sessions.begin() as s:
        assert outbox.retry(s, row.id, manual.clock[0]) == 1
    manual.clock[0] += d(seconds=2)  # the last failed post used the channel's posting slot
    assert worker.run_once() == 1 and _delivery(manual).status == "sent"


def test_the_backlog_waiting_on_slack_shows_in_the_outbox_gauges(http, manual, fake_slack):
    from tests.e2e.test_operations import scrape, value

    send_webhook(http, manual, hand_raiser(events_now()))
    manual.clock[0] = datetime.now(UTC)
    assert value(scrape(http, manual), "leadbrief_outbox_retrying") == 0
    fake_slack.server_error("chat.postMessage", times=1)
    assert manual.deliver() == 0
    samples = scrape(http, manual)
    assert value(samples, "leadbrief_outbox_retrying") == 1
    assert value(samples, "leadbrief_outbox_deliveries", status="pending") == 1
    manual.clock[0] = _delivery(manual).next_attempt_at + d(seconds=1)
    assert manual.deliver() == 1
    assert value(scrape(http, manual), "leadbrief_outbox_retrying") == 0


def test_the_retry_horizon_is_configured_in_leadbrief_toml(tmp_path):
    assert load_settings({}, dotenv=False).delivery_retry_hours == 24
    cfg = tmp_path / "leadbrief.toml"
    cfg.write_text("[delivery]\nretry_hours = 6\n")
    assert load_settings({"LEADBRIEF_CONFIG": str(cfg)}, dotenv=False).delivery_retry_hours == 6
    for toml, message in (("[delivery]\nretry_hours = 0\n", "delivery.retry_hours must be a number of hours"),
                          ('[delivery]\nretry_hours = "24"\n', "delivery.retry_hours must be a number of hours"),
                          ("[delivery]\nattempts = 8\n", "[delivery] takes only retry_hours")):
        cfg.write_text(toml)
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_settings({"LEADBRIEF_CONFIG": str(cfg)}, dotenv=False)


# --- A rep channel that is gone -------------------------------------------------------------------------

def test_a_gone_rep_channel_is_remembered_and_later_briefs_go_straight_to_the_queue(http, slack_server, fake_slack):
    # A channel only the sales team is in (so the route passes the access check), archived since: Slack says
    # so only when we post to it.
    fake_slack.add_channel("C0GONE", "jane-old-leads")
    fake_slack.set_members("C0GONE", ["U0JANE"])
    with slack_server.services.sessions.begin() as s:
        lead_store.set_route(s, "jane@ourco.example", "C0GONE", "test", datetime.now(UTC))
    fake_slack.fail("chat.postMessage", "channel_not_found")
    ev = events_now()
    emails = [f"buyer{i}@globex{i}.example" for i in range(3)]
    for email in emails:
        send_webhook(http, slack_server, hand_raiser(ev, email=email))
    wait_for(lambda: all_sent(slack_server.services, len(emails)), timeout=30)
    tried = [c for c in fake_slack.calls_to("chat.postMessage") if c["channel"] == "C0GONE"]
    assert len(tried) == 1
    assert [m["channel"] for m in fake_slack.messages.values()] == [QUEUE] * 3
    with slack_server.services.sessions() as s:
        reasons = {r.queue_reason for r in s.scalars(select(Delivery))}
    assert reasons == {"could not post to the rep's route (channel_not_found)"}


# --- Leases ---------------------------------------------------------------------------------------------

def test_a_heartbeat_keeps_the_lease_of_a_slow_post_and_nobody_else_takes_it(services, rules):
    seed(services, rules, 1)
    posting, release = threading.Event(), threading.Event()

    def slow_sink(item):
        posting.set()
        release.wait(30)
        return Sent("C0REP00", "1.1")

    worker = DeliveryWorker(services.sessions, slow_sink, lease=d(seconds=0.6))
    done = threading.Thread(target=worker.run_once)
    done.start()
    try:
        assert posting.wait(10)
        with services.sessions() as s:
            first = s.scalar(select(Delivery.lease_until))
        def lease_until():
            with services.sessions() as s:
                return s.scalar(select(Delivery.lease_until))

        # Renewed beyond the lease first taken, more than one lease's length on.
        wait_for(lambda: lease_until() > first + d(seconds=1), timeout=10)
        with services.sessions.begin() as s:
            assert outbox.claim(s, "another-worker", datetime.now(UTC), d(seconds=6)) == []
    finally:
        release.set()
        done.join(10)
        worker.stop()
    assert all_sent(services, 1)


def test_a_killed_workers_briefs_are_taken_over_within_15_seconds_and_none_posted_twice(services, rules, slack,
                                                                                        workers):
    emails = seed(services, rules, 30, CHANNELS[:3])
    first = workers.start()  # default lease
    wait_for(lambda: len(slack.messages) >= 4, timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    with services.sessions() as s:
        held = dict(s.execute(select(Delivery.id, Delivery.lease_owner).where(
            Delivery.status == "pending", Delivery.lease_owner.is_not(None), Delivery.lease_until > datetime.now(UTC))).all())
    workers.start()

    def taken_over() -> bool:
        # Posted, or claimed by the new worker since (then perhaps handed back to wait for its channel's turn).
        with services.sessions() as s:
            rows = s.execute(select(Delivery.status, Delivery.lease_owner).where(Delivery.id.in_(held))).all()
        return all(r.status == "sent" or r.lease_owner not in held.values() for r in rows)

    if held:
        wait_for(taken_over, timeout=15)
    wait_for(lambda: all_sent(services, len(emails)), timeout=60)
    posted = posted_leads(slack)
    assert len(posted) == len(emails) and set(posted.values()) == {1}, workers.logs()
