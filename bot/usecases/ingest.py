"""Ingest a delivery of events: record them once, update leads, qualify, and queue the briefs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from briefs.events import Event
from briefs.rules import Rules
from storage import ingest as store
from storage.ingest import IngestResult

__all__ = ["IngestResult", "ingest"]


def ingest(sessions: sessionmaker[Session], events: list[Event], rules: Rules, now: datetime | None = None) -> IngestResult:
    return store.ingest(sessions, events, rules, now)


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
