"""Delivery worker: drains the outbox into a sink (the terminal now; Slack when configured)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.rule import Rule
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage import outbox
from storage.outbox import PendingDelivery

log = logging.getLogger("leadbrief.worker")


class DeliveryError(Exception):
    """The post failed: retry after retry_in, or never (dead letter) when retry_in is None."""

    def __init__(self, message: str, retry_in: timedelta | None = timedelta(seconds=30)):
        super().__init__(message)
        self.retry_in = retry_in


class DeferredError(Exception):
    """Not now (channel pacing, Retry-After); does not count as an attempt."""

    def __init__(self, wait: timedelta):
        super().__init__(f"deferred {wait.total_seconds():.1f}s")
        self.wait = wait


@dataclass(frozen=True)
class Sent:
    channel: str
    ts: str | None = None
    queue_reason: str | None = None


Sink = Callable[[PendingDelivery], Sent]


class TerminalSink:
    """Prints each brief; for running without Slack."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(highlight=False, soft_wrap=False)

    def __call__(self, item: PendingDelivery) -> tuple[str, str | None]:
        self.console.print(Rule(f"New brief #{item.qualification_id}"))
        self.console.print(item.text, markup=False, emoji=False)
        self.console.print()
        return Sent("terminal")


class DeliveryWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        sink: Sink,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_seconds: float = 2.0,
    ):
        self.sessions = sessions
        self.sink = sink
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Deliver what is due; returns how many were delivered."""
        with self.sessions.begin() as s:
            items = outbox.due(s, self.clock())
        delivered = 0
        for item in items:
            try:
                sent = self.sink(item)
            except DeferredError as exc:
                with self.sessions.begin() as s:
                    outbox.defer(s, item.id, self.clock() + exc.wait)
                continue
            except DeliveryError as exc:
                log.warning("delivery %d failed: %s", item.id, exc)
                with self.sessions.begin() as s:
                    outbox.mark_failed(s, item.id, self.clock(), str(exc), exc.retry_in)
                continue
            with self.sessions.begin() as s:
                outbox.mark_sent(s, item.id, self.clock(), sent.channel, sent.ts, sent.queue_reason)
            delivered += 1
        return delivered

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except OperationalError:
                log.exception("database unavailable; delivery retries at the next poll")
            except Exception:
                log.exception("delivery loop error; continuing")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="leadbrief-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
