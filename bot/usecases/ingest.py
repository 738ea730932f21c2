"""Ingest a delivery of events: record them once, update leads, qualify, and queue the briefs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from briefs.events import Event
from briefs.rules import Rules
from storage import ingest as store
from storage.ingest import IngestResult

__all__ = ["IngestResult", "ingest"]


def ingest(sessions: sessionmaker[Session], events: list[Event], rules: Rules, now: datetime | None = None) -> IngestResult:
    return store.ingest(sessions, events, rules, now)
