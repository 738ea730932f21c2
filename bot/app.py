"""App factory: wires settings, storage and handlers into one ASGI app."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.config import Settings
from handlers import sources, webhooks
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
    # bot.slack.SlackContext when Slack is configured.
    slack: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs) -> Services:
        engine = make_engine(settings.database_url)
        return cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine), **kwargs)


def create_app(services: Services, lifespan=None) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        try:
            with services.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    app = Starlette(lifespan=lifespan or _no_lifespan)
    app.state.services = services
    app.add_route("/healthz", healthz, methods=["GET"])
    app.add_route("/readyz", readyz, methods=["GET"])
    webhooks.register(app)
    sources.register(app)
    return app


@contextlib.asynccontextmanager
async def _no_lifespan(_app):
    yield
