"""`leadbrief serve`: the ASGI app under uvicorn, with the delivery worker beside it."""

from __future__ import annotations

import contextlib
import logging

import uvicorn
from rich.console import Console

from bot.app import Services, create_app
from bot.config import Settings
from bot.worker import DeliveryWorker, TerminalSink
from storage import db

log = logging.getLogger("leadbrief.server")


def build(settings: Settings, console: Console | None = None):
    """The app plus a lifespan that runs the delivery worker; used by serve and by tests."""
    services = Services.from_settings(settings)
    db.ensure_schema(services.engine)
    worker = DeliveryWorker(services.sessions, TerminalSink(console), clock=services.clock)
    services.wake_delivery = worker.wake

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        worker.start()
        try:
            yield
        finally:
            worker.stop()
            services.engine.dispose()

    return create_app(services, lifespan=lifespan), services, worker


def serve(settings: Settings, *, port: int, host: str = "0.0.0.0") -> int:  # noqa: S104
    logging.getLogger("leadbrief").setLevel(logging.INFO)
    console = Console(highlight=False)
    app, _services, _worker = build(settings, console)
    if not settings.slack_enabled:
        console.print(
            "Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET unset): "
            "new briefs are printed here.",
            markup=False,
        )
    console.print(f"Listening on http://{host}:{port} (POST /webhooks/events, GET /healthz)", markup=False)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, proxy_headers=True)
    return 0
