"""Ingest a delivery of events: record them once, update leads, qualify, and queue the briefs.

One transaction per batch: the events, the qualifications they trigger and the briefs queued for them
(the outbox) are written together, so none is ever lost and a failed batch leaves nothing behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from briefs import qualification, signals
from briefs.blocks import to_blocks
from briefs.events import Event
from briefs.model import build_brief
from briefs.qualification import Decision
from briefs.rules import Rules
from briefs.text import to_text_brief
from storage import ingest as store
from storage import outbox
from storage.ingest import ChangedLead
from storage.outbox import BriefSnapshot

__all__ = ["IngestResult", "ingest"]

RETRIES = 3
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure (PostgreSQL)


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    qualifications: list[int] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.qualifications += other.qualifications


def ingest(sessions: sessionmaker[Session], events: list[Event], rules: Rules,
           now: datetime | None = None) -> IngestResult:
    """Apply one batch atomically. Returns counts and the ids of new qualifications."""
    now = now or datetime.now(UTC)
    for attempt in range(RETRIES + 1):
        try:
            with sessions.begin() as session:
                return _apply(session, events, rules, now)
        except OperationalError as exc:
            # The batch was rolled back whole; a deadlock or serialisation failure is worth another go.
            if attempt == RETRIES or getattr(exc.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _apply(session: Session, events: list[Event], rules: Rules, now: datetime) -> IngestResult:
    written = store.write(session, events, now)
    result = IngestResult(accepted=written.accepted, duplicates=written.duplicates)
    for new in store.add_qualifications(session, _decide(session, written.leads, rules, now), now):
        brief = build_brief(new.brief_input, rules)
        outbox.enqueue(session, new, BriefSnapshot(payload=to_blocks(brief), text=to_text_brief(brief)), now)
        result.qualifications.append(new.id)
    return result


def _decide(session: Session, leads: list[ChangedLead], rules: Rules,
            now: datetime) -> list[tuple[ChangedLead, Decision]]:
    """The qualifications the batch triggers, in the order their briefs are queued."""
    # Only leads where a rule could fire read their open episode and touch history.
    candidates = [lead for lead in leads if qualification.may_qualify(lead.change)]
    if not candidates:
        return []
    open_since = store.open_since(session, [lead.id for lead in candidates])
    since = signals.window_rows_start(now - timedelta(days=rules.reengage_window_days))
    history = {lead_id: signals.window_touches(rows, last_before) for lead_id, (rows, last_before)
               in store.touch_rows(session, [lead.id for lead in candidates if lead.is_customer], since).items()}
    decided = []
    for lead in candidates:
        lead.change.open_since = open_since.get(lead.id)
        lead.change.touch_history = history.get(lead.id)
        decision = qualification.decide(lead.change, rules, now)
        if decision is not None:
            decided.append((lead, decision))
    decided.sort(key=lambda decided_lead: qualification.delivery_order(decided_lead[1]))
    return decided


@dataclass(frozen=True)
class StoreFailure:
    """Why a delivery could not be stored (nothing was), for callers that must not know the database library."""

    unavailable: bool  # the database is down: retry later; otherwise a value it cannot hold (the sender's data)
    detail: str  # the driver's error class and SQLSTATE, never its message (it can quote the value)


def store_failure(exc: BaseException) -> StoreFailure | None:
    """What an exception raised by ingest() means for the sender; None when it is not a storage failure."""
    if isinstance(exc, OperationalError):
        return StoreFailure(unavailable=True, detail=type(exc.orig).__name__)
    if isinstance(exc, DataError):
        return StoreFailure(unavailable=False,
                            detail=f"{type(exc.orig).__name__}, SQLSTATE {getattr(exc.orig, 'sqlstate', None) or '-'}")
    return None
