"""`leadbrief serve`: the ASGI app under uvicorn, with the delivery worker beside it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from datetime import timedelta

import uvicorn
from rich.console import Console

from bot.app import Services, create_app
from bot.config import Settings
from bot.worker import DeliveryWorker, TerminalSink
from briefs import words
from storage import db

log = logging.getLogger("leadbrief.server")


def delivery_sink(services: Services, console: Console | None = None):
    """Slack when configured, else the terminal."""
    if not services.settings.slack_enabled:
        return TerminalSink(console)
    from bot.gateway import web_client
    from bot.usecases.deliver import SlackSink

    return SlackSink(services, web_client(services.settings, interactive=False), services.slack.directory)


def follow_through(services: Services):
    """Reminders, escalation, thread updates and digests: Slack only (the terminal has no buttons to press)."""
    if not services.settings.slack_enabled:
        return None
    from bot.gateway import web_client
    from bot.usecases.followthrough import FollowThrough

    return FollowThrough(services, web_client(services.settings, interactive=False))


def attach_slack(services: Services) -> None:
    from bot.gateway import AccessControl, Directory, SlackContext, web_client
    from bot.slack import (
        create_bolt_app,
        verify_app_token,
        verify_token,
    )

    client = web_client(services.settings, interactive=True)
    bot = verify_token(client)
    if services.settings.slack_app_token:
        verify_app_token(client, services.settings.slack_app_token)
    services.slack = SlackContext(client=client, directory=Directory(client),
                                  access=AccessControl(client, services.settings, bot_user=bot.get("user_id")))
    services.slack.bolt = create_bolt_app(services, client)


def build(settings: Settings, console: Console | None = None, *, worker: bool = True):
    """The app plus a lifespan that runs the delivery worker (and Socket Mode); used by serve and by tests."""
    services = Services.from_settings(settings)
    db.ensure_schema(services.engine)
    if settings.slack_enabled:
        attach_slack(services)
    delivery = DeliveryWorker(services.sessions, delivery_sink(services, console), clock=services.clock,
                              retry_horizon=timedelta(hours=settings.delivery_retry_hours))
    follow = follow_through(services)
    if worker:
        services.wake_delivery = delivery.wake if follow is None else lambda: (delivery.wake(), follow.wake())
    socket = []

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # The comment reader's libraries load in the background, not on the first hand-raiser's path.
        threading.Thread(target=words.warm_up, name="warm-up", daemon=True).start()
        try:
            if worker:
                delivery.start()
                if follow is not None:
                    follow.start()
            if settings.slack_enabled and settings.slack_app_token:
                from bot.slack import start_socket_mode

                # connect() and close() block: keep them off the event loop.
                socket.append(await asyncio.to_thread(start_socket_mode, services.slack.bolt, settings.slack_app_token))
            yield
        finally:
            for handler in socket:
                await asyncio.to_thread(handler.close)
            delivery.stop()
            if follow is not None:
                follow.stop()
            if services.slack:
                # Requests still waiting to learn who is on the team are dropped; replies already being sent
                # finish before the database goes away.
                services.slack.deferred.shutdown(wait=False, cancel_futures=True)
                await asyncio.to_thread(services.slack.executor.shutdown, True)
                await asyncio.to_thread(services.slack.work.shutdown, True)
            services.engine.dispose()

    app = create_app(services, lifespan=lifespan)
    if settings.slack_enabled and not settings.slack_app_token:
        from bot.slack import register_http

        register_http(app, services.slack.bolt, settings.slack_signing_secret)
    # Everything loaded so far lives as long as the process: keep the collector from rescanning it,
    # which otherwise shows up as the slow tail of lookups.
    gc.freeze()
    return app, services, delivery


def serve(settings: Settings, *, port: int, host: str = "0.0.0.0", worker: bool = True) -> int:  # noqa: S104
    logging.getLogger("leadbrief").setLevel(logging.INFO)
    console = Console(highlight=False)
    app, _services, _worker = build(settings, console, worker=worker)
    if not settings.slack_enabled:
        console.print("Slack is not configured (SLACK_BOT_TOKEN unset): new briefs are printed here.", markup=False)
    elif settings.slack_app_token:
        console.print("Slack: Socket Mode (SLACK_APP_TOKEN set); briefs are posted to Slack.", markup=False)
    else:
        console.print("Slack: requests at POST /slack/events; briefs are posted to Slack.", markup=False)
    console.print(f"Listening on http://{host}:{port} (POST /webhooks/events, GET /healthz)", markup=False)
    # log_config=None: uvicorn's loggers go through ours (request ids, secrets masked) instead of its own.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, proxy_headers=True, log_config=None)
    return 0
