"""Prometheus metrics: counters the app and the delivery worker bump, and the outbox read at scrape time.

Process-wide counters live in REGISTRY (not prometheus_client's global default registry, so importing
this module never clashes with other users of the library). The outbox is per app: each app gets an
AppMetrics whose registry serves REGISTRY plus an OutboxCollector reading that app's database.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from storage import stats

log = logging.getLogger("leadbrief.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
REGISTRY = CollectorRegistry()

# When a batch holds both new events and replays of more than one type, IngestResult does not say which
# events were new: those accepted events are counted under this type rather than guessed at.
MIXED = "mixed"
# leadbrief_events_rejected's reason for a refusal's HTTP status.
REJECT_REASONS = {401: "signature", 403: "forbidden", 400: "invalid", 413: "too_large", 503: "unavailable"}

EVENTS_INGESTED = Counter(
    "leadbrief_events_ingested",
    "Events accepted (stored for the first time; replays are not counted here), by webhook endpoint and "
    f"event type. A batch mixing new events and replays of several types counts its new ones as type={MIXED!r}.",
    ["source", "type"],
    registry=REGISTRY,
)
EVENTS_DUPLICATE = Counter(
    "leadbrief_events_duplicate",
    "Events received again (same source and id) and ignored, by webhook endpoint.",
    ["source"],
    registry=REGISTRY,
)
EVENTS_REJECTED = Counter(
    "leadbrief_events_rejected",
    "Webhook requests refused, by endpoint and reason: signature (401), forbidden (403, e.g. another "
    "Salesforce organisation), invalid (400), too_large (413), unavailable (503, database down).",
    ["source", "reason"],
    registry=REGISTRY,
)
EVENTS_SKIPPED = Counter(
    "leadbrief_events_skipped",
    "Records in an accepted delivery that were not applied, by endpoint and reason: invalid (a record we could "
    "not read, named in the answer's details) or unused (a type or object we do not use). The rest of the "
    "delivery was applied.",
    ["source", "reason"],
    registry=REGISTRY,
)
BRIEFS_POSTED = Counter(
    "leadbrief_briefs_posted",
    "Briefs delivered, by destination (slack, terminal).",
    ["destination"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "leadbrief_delivery_latency_seconds",
    "Seconds from the qualification being written (brief enqueued) to the brief being posted.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
DELIVERY_RETRIES = Counter(
    "leadbrief_delivery_retries",
    "Failed delivery attempts that will be retried, by reason.",
    ["reason"],
    registry=REGISTRY,
)
FOLLOW_THROUGH = Counter(
    "leadbrief_follow_through",
    "Follow-through messages posted, by kind: remind, escalate, snooze_over, update (thread), digest; "
    "and kind=failed for those Slack refused (tried again a minute later).",
    ["kind"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "leadbrief_dead_letters",
    "Deliveries given up on (status failed; see `leadbrief outbox`).",
    registry=REGISTRY,
)


# --- What the app and the worker call: one call per outcome ------------------------------------------

def events_ingested(source: str, accepted_by_type: dict[str, int], duplicates: int) -> None:
    for event_type, n in accepted_by_type.items():
        if n:
            EVENTS_INGESTED.labels(source, event_type).inc(n)
    if duplicates:
        EVENTS_DUPLICATE.labels(source).inc(duplicates)


def events_skipped(source: str, invalid: int, unused: int) -> None:
    if invalid:
        EVENTS_SKIPPED.labels(source, "invalid").inc(invalid)
    if unused:
        EVENTS_SKIPPED.labels(source, "unused").inc(unused)


def event_rejected(source: str, reason: str) -> None:
    EVENTS_REJECTED.labels(source, reason).inc()


def brief_posted(destination: str, latency_seconds: float | None) -> None:
    BRIEFS_POSTED.labels(destination).inc()
    if latency_seconds is not None and latency_seconds >= 0:
        DELIVERY_LATENCY.observe(latency_seconds)


def delivery_retry(reason: str) -> None:
    DELIVERY_RETRIES.labels(reason).inc()


def follow_through(kind: str) -> None:
    FOLLOW_THROUGH.labels(kind).inc()


def dead_letter() -> None:
    DEAD_LETTERS.inc()


def accepted_by_type(event_types: Iterable[str], accepted: int, duplicates: int) -> dict[str, int]:
    """Accepted events by type, from the batch's types and the ingest counts.

    Exact when there were no replays (every event was new) or the batch has one type only; otherwise the
    accepted count goes under MIXED, since the ingest result does not say which events were new."""
    if not accepted:
        return {}
    types = Tally(event_types)
    if duplicates == 0:
        return dict(types)
    if len(types) == 1:
        return {next(iter(types)): accepted}
    return {MIXED: accepted}


# --- The outbox, read from the database at scrape time ----------------------------------------------

class OutboxCollector(Collector):
    """leadbrief_outbox_deliveries{status}, leadbrief_outbox_oldest_pending_seconds and
    leadbrief_outbox_retrying for one database.

    A database error during a scrape yields no outbox samples (and a log line), never a failed scrape."""

    STATUSES = ("pending", "sent", "failed")

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]):
        self.sessions = sessions
        self.clock = clock

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time only; nothing to check at registration

    def collect(self) -> Iterable[Metric]:
        try:
            with self.sessions() as s:
                figures = stats.outbox_figures(s)
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail because the database is down
            log.warning("outbox metrics unavailable: %s", type(exc).__name__)
            return
        deliveries = GaugeMetricFamily(
            "leadbrief_outbox_deliveries", "Deliveries in the outbox, by status (read at scrape time).",
            labels=["status"],
        )
        for status in sorted(set(self.STATUSES) | set(figures.deliveries)):
            deliveries.add_metric([status], figures.deliveries.get(status, 0))
        yield deliveries
        oldest = figures.oldest_pending
        age = max(0.0, (self.clock() - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "leadbrief_outbox_oldest_pending_seconds",
            "Age of the oldest pending delivery in seconds (0 when none is pending).",
            value=age,
        )
        yield GaugeMetricFamily(
            "leadbrief_outbox_retrying",
            "Pending deliveries whose last attempt failed (Slack down, 5xx, unreachable): the backlog waiting on "
            "Slack, retried until the retry horizon ([delivery] retry_hours).",
            value=figures.retrying,
        )
        yield GaugeMetricFamily(
            "leadbrief_leads_overdue",
            "Open leads past their speed-to-lead goal and still unclaimed (reminded or escalated).",
            value=figures.overdue,
        )


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


class AppMetrics:
    """One app's /metrics: the process-wide counters plus that app's outbox."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]):
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Forward(REGISTRY))
        self.registry.register(OutboxCollector(sessions, clock))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
