"""Several delivery workers on one database, as separate `leadbrief worker` processes, against the fake Slack:
no brief lost, none posted twice (except the documented crash window), through kills, SIGTERM, Slack 429 and
503 storms and a database that is briefly unavailable."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.server import delivery_sink
from bot.usecases.ingest import ingest
from bot.worker import DeliveryWorker
from storage import leads as lead_store
from storage import outbox
from storage.models import Delivery
from tests.support.factories import Events, parsed
from tests.support.fake_slack import FakeSlack
from tests.support.live import COMMAND, LiveServer, wait_for
from tests.support.signing import SECRET, SLACK_SIGNING_SECRET
from tests.support.team import QUEUE

d = timedelta
CHANNELS = [f"C0REP{k:02d}" for k in range(10)]
APP_NAME = "leadbrief-worker-under-test"


def seed(services, rules, n: int, channels: list[str] = CHANNELS) -> list[str]:
    """n hand-raisers, their owners' briefs routed round-robin over `channels`; returns their emails."""
    ev = Events(now=datetime.now(UTC), prefix=f"w{time.time_ns()}")
    now = datetime.now(UTC)
    emails = [f"buyer{i:03d}@globex{i}.example" for i in range(n)]
    events = []
    for i, email in enumerate(emails):
        owner = f"rep{i % len(channels):02d}@ourco.example"
        events += [ev.upsert(email, d(hours=1), first_name=f"Buyer{i:03d}", company=f"Globex {i}", owner_email=owner),
                   ev.form(email, "Contact Sales", "We need this next quarter.")]
    with services.sessions.begin() as s:
        for k, channel in enumerate(channels):
            lead_store.set_route(s, f"rep{k:02d}@ourco.example", channel, "test", now)
    for start in range(0, len(events), 500):
        ingest(services.sessions, parsed(events[start:start + 500]), rules, now)
    with services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == n
    return emails


@pytest.fixture
def slack():
    with FakeSlack(enforce_channel_rate=1.0) as fake:
        fake.add_channel(QUEUE, "leads-queue")
        for k, channel in enumerate(CHANNELS):
            fake.add_channel(channel, f"rep-{k:02d}-leads")
        yield fake


def posted_leads(fake: FakeSlack) -> Counter:
    """How many times each lead's brief was accepted by Slack (by the Buyer### name in it)."""
    out: Counter = Counter()
    for msg in list(fake.messages.values()):
        names = {w for w in str(msg["text"]).split() if w.startswith("Buyer")}
        out.update(n.strip(".,:()") for n in names)
    return out


class Workers:
    """`leadbrief worker` processes against the test's database and the fake Slack."""

    def __init__(self, db_url: str, fake: FakeSlack, tmp_path):
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("LEADBRIEF_", "SLACK_", "DATABASE_URL", "PORT"))}
        self.env.update(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-test-token-1234", SLACK_API_URL=fake.url,
                        SLACK_SIGNING_SECRET=SLACK_SIGNING_SECRET, LEADBRIEF_DEFAULT_CHANNEL=QUEUE,
                        LEADBRIEF_WEBHOOK_SECRET=SECRET)
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"worker{len(self.procs)}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([*COMMAND, "worker", "--poll", "0.2", *args], cwd=self.tmp_path, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("worker*.log")))

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)


@pytest.fixture
def workers(db_url, slack, tmp_path):
    w = Workers(db_url, slack, tmp_path)
    yield w
    w.close()


def all_sent(services, n: int) -> bool:
    with services.sessions() as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) == n


def test_two_worker_processes_share_a_burst_and_post_each_brief_once(services, rules, slack, workers):
    emails = seed(services, rules, 40)
    workers.start()
    workers.start()
    wait_for(lambda: all_sent(services, len(emails)), timeout=60)
    posted = posted_leads(slack)
    assert len(posted) == len(emails) and set(posted.values()) == {1}, workers.logs()
    # Two posts to one channel were never closer than Slack allows: nothing was refused for pacing.
    attempts = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert len(attempts) == len(slack.messages)
    with services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.lease_owner.is_not(None))) == 0


def test_a_killed_worker_leaves_its_briefs_to_the_next_one_once_the_lease_runs_out(services, rules, slack, workers):
    emails = seed(services, rules, 30, CHANNELS[:3])  # ten per channel: a burst still going when it is killed
    first = workers.start("--lease", "2")
    wait_for(lambda: len(slack.messages) >= 4, timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    sent_before = len(slack.messages)
    assert sent_before < len(emails)
    # Whatever it had claimed (deliveries waiting for their channel slot are handed back as they wait) is
    # taken over by the next worker once the two-second lease runs out.
    workers.start("--lease", "2")
    wait_for(lambda: all_sent(services, len(emails)), timeout=90)
    posted = posted_leads(slack)
    assert set(posted) == {f"Buyer{i:03d}" for i in range(len(emails))}
    # At most the posts in flight when the process died (one per --concurrency slot) went out twice (docs/deploying.md).
    assert sum(posted.values()) - len(emails) <= 4, posted


def test_sigterm_finishes_the_post_in_flight_and_hands_back_the_rest(services, rules, slack, workers):
    emails = seed(services, rules, 30, CHANNELS[:3])
    proc = workers.start("--lease", "600")  # a lease nobody could wait out: handing back must work
    wait_for(lambda: len(slack.messages) >= 3, timeout=30)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert "worker stopped" in workers.logs()
    with services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.lease_owner.is_not(None))) == 0
        sent = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent"))
    assert sent == len(slack.messages)  # every accepted post was recorded before exiting
    workers.start("--lease", "600")
    wait_for(lambda: all_sent(services, len(emails)), timeout=60)
    assert set(posted_leads(slack).values()) == {1}


def test_429_and_503_storms_are_waited_out_and_nothing_is_posted_twice(db_url, rules, slack, tmp_path):
    from bot.config import Settings

    settings = Settings(database_url=db_url, webhook_secret=SECRET, rules=rules, slack_bot_token="xoxb-test-token-1234",
                        slack_signing_secret=SLACK_SIGNING_SECRET, slack_api_url=slack.url,
                        slack_default_channel=QUEUE)
    with LiveServer(settings, run_worker=False) as server:
        emails = seed(server.services, rules, 12, CHANNELS[:4])
        slack.rate_limit("chat.postMessage", times=6, retry_after=1)
        slack.server_error("chat.postMessage", times=6, status=503)
        worker = DeliveryWorker(server.services.sessions, delivery_sink(server.services), poll_seconds=0.2)
        worker.start()
        try:
            wait_for(lambda: all_sent(server.services, len(emails)), timeout=90)
        finally:
            worker.stop()
        assert set(posted_leads(slack).values()) == {1} and len(posted_leads(slack)) == len(emails)
        with server.services.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "failed")) == 0


def test_a_database_briefly_unavailable_delays_delivery_but_loses_nothing(services, rules, slack, workers, db_url):
    emails = seed(services, rules, 20)
    if db_url.startswith("sqlite"):
        # Another process holds SQLite's write lock for two seconds: writers wait (busy timeout), then go on.
        path = db_url.removeprefix("sqlite:///")
        locker = create_engine(f"sqlite:///{path}", connect_args={"isolation_level": None})
        with locker.connect() as conn:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
            workers.start()
            time.sleep(2)
            assert len(slack.messages) == 0
            conn.exec_driver_sql("COMMIT")
        locker.dispose()
    else:
        # Every connection the worker process has is cut, twice while it works: it reconnects and carries on.
        workers.env["DATABASE_URL"] = make_url(db_url).update_query_dict(
            {"application_name": APP_NAME}).render_as_string(hide_password=False)
        workers.start()
        wait_for(lambda: len(slack.messages) >= 2, timeout=30)
        admin = create_engine(make_url(db_url).set(query={}), isolation_level="AUTOCOMMIT")
        cut = 0
        for _ in range(2):
            with admin.connect() as conn:
                cut += len(conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                             "WHERE application_name = :name"), {"name": APP_NAME}).all())
            time.sleep(0.5)
        admin.dispose()
        assert cut >= 1
    try:
        wait_for(lambda: all_sent(services, len(emails)), timeout=60)
    except AssertionError:
        raise AssertionError(workers.logs()) from None
    assert set(posted_leads(slack).values()) == {1} and len(posted_leads(slack)) == len(emails)


def test_leases_keep_two_claimers_apart_and_expired_ones_are_taken_over(services, rules, slack):
    seed(services, rules, 6)
    now = datetime.now(UTC)
    lease = d(seconds=30)
    with services.sessions.begin() as s:
        a = outbox.claim(s, "worker-a", now, lease, limit=4)
    with services.sessions.begin() as s:
        b = outbox.claim(s, "worker-b", now, lease, limit=4)
    assert len(a) == 4 and len(b) == 2 and not {x.id for x in a} & {x.id for x in b}
    # A's lease runs out: C takes A's deliveries over, and A may no longer post them.
    later = now + lease + d(seconds=1)
    with services.sessions.begin() as s:
        c = outbox.claim(s, "worker-c", later, lease, limit=10)
    assert {x.id for x in c} == {x.id for x in a} | {x.id for x in b}
    with services.sessions.begin() as s:
        assert not outbox.hold(s, a[0].id, "worker-a", later, lease)
        assert outbox.hold(s, a[0].id, "worker-c", later, lease)


def test_channel_slots_space_posts_and_never_hold_up_another_channel(services):
    now = 1_800_000_000.0
    with services.sessions.begin() as s:
        slots = [outbox.book_slot(s, "C1", now, 1.05) for _ in range(3)]
        other = outbox.book_slot(s, "C2", now, 1.05)
        later = outbox.book_slot(s, "C1", now + 10, 1.05)
    assert slots == pytest.approx([now, now + 1.05, now + 2.1])
    assert other == now and later == now + 10


def test_the_next_post_keeps_its_distance_from_when_a_late_post_really_left(services):
    now = 1_800_000_000.0
    with services.sessions.begin() as s:
        outbox.book_slot(s, "C1", now, 1.03)
        assert outbox.reserve_post(s, "C1", now, 1.01) == 0.0
        # A busy machine: the request left 50 ms after the channel was taken.
        outbox.note_post(s, "C1", now + 0.05)
        outbox.note_post(s, "C1", now + 0.01)  # an older note never moves it back
        assert outbox.reserve_post(s, "C1", now + 1.02, 1.01) == pytest.approx(0.04)
        assert outbox.reserve_post(s, "C1", now + 1.06, 1.01) == 0.0


def test_concurrent_bookings_from_threads_never_share_a_slot(services):
    now = 1_800_000_000.0
    got: list[float] = []
    lock = threading.Lock()

    def book() -> None:
        for _ in range(10):
            with services.sessions.begin() as s:
                slot = outbox.book_slot(s, "C9", now, 1.0)
            with lock:
                got.append(slot)

    threads = [threading.Thread(target=book) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [now + i for i in range(40)]


def test_a_post_whose_recording_fails_for_a_moment_is_recorded_later_not_posted_again(services, rules, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from bot.usecases.outcomes import Sent

    seed(services, rules, 1)
    posts = []
    real = outbox.mark_sent
    failures = iter([True, True])

    def flaky(*args, **kwargs):
        if next(failures, False):
            raise OperationalError("UPDATE deliveries", {}, Exception("server closed the connection unexpectedly"))
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", flaky)
    worker = DeliveryWorker(services.sessions, lambda item: posts.append(item.id) or Sent("C0REP00", "1.1"))
    assert worker.run_once() == 1
    assert worker.run_once() == 0  # nothing left: recorded, so never claimed and posted again
    assert len(posts) == 1 and all_sent(services, 1)
