"""Delivery worker: drains the outbox into a sink (the terminal now; Slack when configured).

Generic: it claims, calls the sink, and records what the sink says (sent, deferred, failed, parked), with
whatever write the sink's outcome carries. What a post means beyond that is the sink's business."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.rule import Rule
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.usecases.outcomes import NOT_POSTED, DeferredError, DeliveryError, LeaseLost, Parked, Sent
from storage import outbox
from storage.outbox import PendingDelivery

log = logging.getLogger("leadbrief.worker")


Sink = Callable[[PendingDelivery], Sent]


class TerminalSink:
    """Prints each brief; for running without Slack."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(highlight=False, soft_wrap=False)

    def __call__(self, item: PendingDelivery) -> Sent:
        title = {"notice": "Notice", "copy": "Copy", "rep_notice": "Notice"}.get(item.kind, "New brief")
        self.console.print(Rule(f"{title} #{item.qualification_id}"))
        self.console.print(item.text, markup=False, emoji=False)
        self.console.print()
        return Sent("terminal")


class DeliveryWorker:
    """Drains the outbox. Any number of workers may run, in any number of processes: each claims a few
    deliveries at a time with a short lease, renewed by a heartbeat while they are in hand and checked once
    more in the transaction that takes the channel right before posting (see storage.outbox). A killed
    worker's deliveries are taken over once its leases run out, `lease` after its last heartbeat."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sink: Sink,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_seconds: float = 2.0,
        lease: timedelta = timedelta(seconds=6),
        batch: int = 10,
        worker_id: str | None = None,
        concurrency: int = 4,
        retry_horizon: timedelta = timedelta(hours=24),
    ):
        self.sessions = sessions
        self.sink = sink
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.batch = batch
        self.worker_id = worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Posts to different channels go out side by side: at one post per second per channel, twenty busy
        # channels need twenty posts a second, more than one at a time can keep up with. (Posts to one
        # channel stay one at a time: see the channel pacing in bot/usecases/deliver.py.)
        self.concurrency = max(1, concurrency)
        self.retry_horizon = retry_horizon
        self._pool: ThreadPoolExecutor | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Deliveries claimed and not finished with: the heartbeat renews their leases.
        self._in_hand: set[int] = set()
        self._in_hand_lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()

    def run_once(self) -> int:
        """Deliver what is due; returns how many were delivered."""
        self._start_heartbeat()
        with self.sessions.begin() as s:
            items = outbox.claim(s, self.worker_id, self.clock(), self.lease, self.batch)
        with self._in_hand_lock:
            self._in_hand.update(item.id for item in items)
        if self.concurrency == 1 or len(items) <= 1:
            return sum(self._one(item) for item in items)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="leadbrief-post")
        return sum(self._pool.map(self._one, items))

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = threading.Thread(target=self._beat, name="leadbrief-lease", daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        """Renew the leases in hand every third of a lease, so they outlive a slow post but not the process."""
        every = max(0.05, self.lease.total_seconds() / 3)
        while not self._heartbeat_stop.wait(every):
            with self._in_hand_lock:
                ids = sorted(self._in_hand)
            if not ids:
                continue
            try:
                with self.sessions.begin() as s:
                    kept = outbox.renew(s, self.worker_id, ids, self.clock(), self.lease)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again; the post itself checks its lease
                log.warning("could not renew delivery leases: %s", type(exc).__name__)
                continue
            lost = set(ids) - kept
            if lost:
                # Finished meanwhile, or taken over after a stall: no longer ours either way.
                with self._in_hand_lock:
                    self._in_hand -= lost

    def _one(self, item: PendingDelivery) -> int:
        try:
            return self._one_in_hand(item)
        finally:
            with self._in_hand_lock:
                self._in_hand.discard(item.id)

    def _one_in_hand(self, item: PendingDelivery) -> int:
        if self._stop.is_set():
            # Shutting down: give it back now rather than when its lease runs out.
            with self.sessions.begin() as s:
                outbox.release(s, self.worker_id, [item.id])
            return 0
        with self.sessions.begin() as s:
            if not outbox.hold(s, item.id, self.worker_id, self.clock(), self.lease):
                return 0  # our lease ran out and another worker has it
        return self._deliver(item)

    def _deliver(self, item: PendingDelivery) -> int:
        try:
            sent = self.sink(item)
        except Parked as exc:
            with self.sessions.begin() as s:
                exc.write(s)
            return 0
        except LeaseLost:
            log.info("delivery %d: taken over by another worker before posting; leaving it to them", item.id)
            return 0
        except DeferredError as exc:
            with self.sessions.begin() as s:
                outbox.defer(s, item.id, self.clock() + exc.wait, exc.slot, exc.maybe_posted)
            if exc.slot is None:  # Slack said wait (429), rather than our own pacing
                metrics.delivery_retry("rate_limited")
            return 0
        except DeliveryError as exc:
            log.warning("delivery %d failed: %s", item.id, exc)
            with self.sessions.begin() as s:
                dead = outbox.mark_failed(s, item.id, self.clock(), str(exc), exc.retry_in, self.retry_horizon,
                                          exc.maybe_posted)
            if dead:
                metrics.dead_letter()
                log.error("delivery %d dead-lettered: %s (see `leadbrief outbox list --status failed`)", item.id, exc)
            else:
                metrics.delivery_retry("error")
            return 0
        # Recorded at once, in its own small transaction. If this process dies between Slack accepting the post
        # and this commit, the lease runs out and the worker that takes it over finds the post in the channel's
        # history (storage.outbox.intend) and records it. If the database is away for a moment, keep trying.
        now = self.clock()
        self._record_sent(item, now, sent)
        if sent.channel != NOT_POSTED:  # an owner's copy left unposted: nothing reached anyone
            metrics.brief_posted("terminal" if sent.channel == "terminal" else "slack",
                                 (now - item.created_at).total_seconds() if item.created_at else None)
        return 1

    def _record_sent(self, item: PendingDelivery, now: datetime, sent: Sent) -> None:
        deadline = time.monotonic() + self.lease.total_seconds() / 2
        pause = 0.2
        while True:
            try:
                with self.sessions.begin() as s:
                    outbox.mark_sent(s, item.id, now, sent.channel, sent.ts, sent.queue_reason)
                    if sent.paced:
                        outbox.note_post(s, *sent.paced)
                    if sent.write is not None:
                        sent.write(s)
                return
            except OperationalError:
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("delivery %d was posted but the database is unavailable; recording it again in %.1fs",
                            item.id, pause)
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def seconds_to_next(self) -> float:
        """How long to sleep: until the next delivery is due or a lease runs out, at most poll_seconds."""
        with self.sessions() as s:
            at = outbox.next_due(s)
        if at is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.01, (at - self.clock()).total_seconds()))

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self.poll_seconds
            try:
                if self.run_once() and not self._stop.is_set():
                    continue  # there may be more due right away
                wait = self.seconds_to_next()
            except OperationalError:
                log.exception("database unavailable; delivery retries at the next poll")
            except Exception:
                log.exception("delivery loop error; continuing")
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="leadbrief-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the post in flight, give back the rest of the claimed batch, and return."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._heartbeat_stop.set()
