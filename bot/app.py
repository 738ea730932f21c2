"""App factory: wires settings, storage and handlers into one ASGI app."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import metrics
from bot.logs import RequestIdMiddleware, UnhandledErrorMiddleware
from bot.usecases.deps import Services
from handlers import openapi, sources, webhooks

log = logging.getLogger("leadbrief.app")


class SlackCheck:
    """Slack's auth.test for /readyz, at most once per TTL seconds (the last answer is cached).

    Returns "ok" or a short reason (Slack's error code or the exception's class name), never a token."""

    TTL = 60.0

    def __init__(self, client, clock: Callable[[], float] = time.monotonic):
        self.client = client
        self.clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, str] | None = None

    def __call__(self) -> str:
        # One caller checks while the others wait for its answer, so a burst of probes makes one call.
        with self._lock:
            if self._last and self.clock() - self._last[0] < self.TTL:
                return self._last[1]
            self._last = (self.clock(), self._check())
            return self._last[1]

    def _check(self) -> str:
        from slack_sdk.errors import SlackApiError

        try:
            self.client.auth_test()
        except SlackApiError as exc:
            reason = exc.response.get("error") if exc.response is not None else None
            log.warning("readiness: Slack auth.test failed: %s", reason or "error")
            return str(reason or "error")
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness: Slack auth.test failed: %s", type(exc).__name__)
            return type(exc).__name__
        return "ok"


def create_app(services: Services, lifespan=None) -> Starlette:
    slack_check = SlackCheck(services.slack.client) if services.slack is not None else None
    # services.clock is read at each scrape, so a test (or a replaced clock) sees the same time as the app.
    app_metrics = metrics.AppMetrics(services.sessions, lambda: services.clock())

    def database_check() -> str:
        try:
            with services.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return type(exc).__name__
        return "ok"

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        body = {"database": await run_in_threadpool(database_check)}
        if slack_check is not None:
            body["slack"] = await run_in_threadpool(slack_check)
        ready = all(v == "ok" for v in body.values())
        return JSONResponse({"status": "ok" if ready else "unavailable", **body}, status_code=200 if ready else 503)

    async def metrics_endpoint(_request: Request) -> Response:
        # Off the event loop: the outbox is read from the database.
        return Response(await run_in_threadpool(app_metrics.exposition), media_type=metrics.CONTENT_TYPE)

    app = Starlette(lifespan=lifespan or _no_lifespan)
    app.state.services = services
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(RequestIdMiddleware)  # added last: the outer one, so the error line has the request id
    app.add_route("/healthz", healthz, methods=["GET"])
    app.add_route("/readyz", readyz, methods=["GET"])
    app.add_route("/metrics", metrics_endpoint, methods=["GET"])
    webhooks.register(app)
    openapi.register(app)
    sources.register(app)
    return app


@contextlib.asynccontextmanager
async def _no_lifespan(_app):
    yield
