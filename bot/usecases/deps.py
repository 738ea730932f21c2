"""The typed dependencies every use case takes: settings, sessions, the clock and, when configured, Slack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.gateway import SlackContext
from bot.settings import Settings
from storage.db import make_engine, make_sessionmaker


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = utcnow
    # Set by whoever runs the delivery worker, so a new brief goes out now rather than at the next poll.
    wake_delivery: Callable[[], None] = field(default=lambda: None)
    # The Slack gateway when Slack is configured.
    slack: SlackContext | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Services:
        engine = make_engine(settings.database_url)
        return cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine), clock=clock)


