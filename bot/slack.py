"""Slack assembly: Web API clients, the people directory, the Slack delivery sink and the Bolt app."""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.config import ConfigError, Settings
from bot.worker import DeferredError, DeliveryError, Sent
from briefs.blocks import delivered
from storage import leads as lead_store
from storage import outbox
from storage.ingest import claim_once
from storage.models import Lead, Qualification
from storage.outbox import PendingDelivery
from storage.workflow import followup_state

log = logging.getLogger("leadbrief.slack")

DEFAULT_API_URL = "https://slack.com/api/"
# Errors that no retry can fix: dead-letter at once, with the reason visible in `leadbrief outbox`.
PERMANENT = {
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_attachments",
    "restricted_action", "team_access_not_granted", "ekm_access_denied", "invalid_arguments",
}
# The route is wrong, not Slack: fall back to the team queue.
ROUTE_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived", "cannot_dm_bot",
                "user_not_found", "user_disabled"}
MAX_BODY = 1024 * 1024


def web_client(settings: Settings, *, interactive: bool) -> WebClient:
    """Interactive calls may wait out one 429; the delivery worker reschedules instead, so one busy channel
    never holds up the others."""
    handlers = [ConnectionErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler(max_retry_count=1)]
    if interactive:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url or DEFAULT_API_URL,
        timeout=10,
        retry_handlers=handlers,
    )


class Directory:
    """Slack people by email and email by user id, cached: users.lookupByEmail is rate limited (tier 3)."""

    TTL = 3600.0

    def __init__(self, client: WebClient):
        self.client = client
        self._lock = threading.Lock()
        self._by_email: dict[str, tuple[float, str | None]] = {}
        self._by_user: dict[str, tuple[float, dict | None]] = {}

    def _cached(self, store: dict, key: str, fetch):
        with self._lock:
            hit = store.get(key)
        if hit and time.monotonic() - hit[0] < self.TTL:
            return hit[1]
        value = fetch()
        with self._lock:
            store[key] = (time.monotonic(), value)
        return value

    def user_id(self, email: str) -> str | None:
        email = email.strip().lower()

        def fetch():
            try:
                user = self.client.users_lookupByEmail(email=email)["user"]
            except SlackApiError as exc:
                if exc.response.get("error") not in ("users_not_found", "user_not_found"):
                    raise
                return None
            return None if user.get("deleted") or user.get("is_bot") else user["id"]

        return self._cached(self._by_email, email, fetch)

    def user(self, user_id: str) -> dict | None:
        def fetch():
            try:
                return self.client.users_info(user=user_id)["user"]
            except SlackApiError as exc:
                if exc.response.get("error") != "user_not_found":
                    raise
                return None

        return self._cached(self._by_user, user_id, fetch)

    def email_of(self, user_id: str) -> str | None:
        user = self.user(user_id) or {}
        email = (user.get("profile") or {}).get("email")
        return email.lower() if email else None

    def name_of(self, user_id: str) -> str:
        user = self.user(user_id) or {}
        profile = user.get("profile") or {}
        return profile.get("real_name") or user.get("real_name") or profile.get("display_name") or user.get("name") or user_id


# Slack allows about one chat.postMessage per second per channel; a little more keeps clear of its edge
# when posts leave several workers a few milliseconds apart.
POST_INTERVAL = 1.05


class ChannelPacer:
    """Spaces posts to each channel POST_INTERVAL apart, across every worker: slots are booked in the
    database (storage.outbox.book_slot) and a delivery deferred to its slot keeps it."""

    def __init__(self, sessions, clock, interval: float = POST_INTERVAL):
        self.sessions = sessions
        self.clock = clock
        self.interval = interval

    def wait_for(self, item: PendingDelivery, channel: str) -> tuple[float, tuple[str, float]]:
        """Seconds to wait before posting item to channel, and the slot it holds."""
        now = self.clock().timestamp()
        if item.slot_channel == channel and item.slot_at is not None:
            slot = item.slot_at
        else:
            with self.sessions.begin() as s:
                slot = outbox.book_slot(s, channel, now, self.interval)
        if slot > now:
            return slot - now, (channel, slot)
        # Our slot has come; but if the brief before it went out late, keep the interval after that one.
        with self.sessions() as s:
            last = outbox.last_post(s, channel)
        gap = now - last if last is not None else self.interval
        return max(0.0, self.interval - gap), (channel, slot)

    def posted(self, channel: str) -> None:
        with self.sessions.begin() as s:
            outbox.posted(s, channel, self.clock().timestamp())


def backoff(attempt: int) -> timedelta:
    base = min(300.0, 5.0 * (2 ** attempt))
    return timedelta(seconds=base * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto


@dataclass
class SlackContext:
    client: WebClient  # for listeners: may wait out one 429
    directory: Directory
    bolt: App | None = None
    # Work done after an ack (building briefs, searching) takes the one slot: it is CPU-bound under the GIL,
    # so more at once adds no throughput and only makes the acknowledgements of new requests wait.
    work_slots: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(1))
    # Bolt's listener threads: enough that 20+ concurrent lookups never wait for a free one to be acked.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="leadbrief-bolt")
    )


@dataclass(frozen=True)
class Route:
    channel: str
    queue_reason: str | None = None


class SlackSink:
    """Routes a brief (rep's channel, else DM to the owner, else the team queue) and posts it."""

    def __init__(self, services, client: WebClient, directory: Directory, pacer: ChannelPacer | None = None):
        self.services = services
        self.client = client
        self.directory = directory
        self.pacer = pacer or ChannelPacer(services.sessions, services.clock)
        self.queue = services.settings.slack_default_channel

    def route(self, owner_email: str | None) -> Route:
        if not owner_email:
            return Route(self.queue, "no owner in the CRM")
        with self.services.sessions() as s:
            channel = lead_store.get_route(s, owner_email)
        if channel:
            return Route(channel)
        configured = self.services.settings.slack_routes.get(owner_email.lower())
        if configured:
            return Route(configured)
        uid = self.directory.user_id(owner_email)
        if uid:
            return Route(uid)
        return Route(self.queue, f"owner {owner_email} is not in this Slack workspace")

    def __call__(self, item: PendingDelivery) -> Sent:
        try:
            return self._deliver(item)
        except OSError as exc:  # Slack unreachable (after slack_sdk's own connection retries): try again later
            raise DeliveryError(f"Slack unreachable ({type(exc).__name__})", retry_in=backoff(item.attempts)) from None

    def _deliver(self, item: PendingDelivery) -> Sent:
        with self.services.sessions() as s:
            lead = s.get(Lead, item.lead_id)
            q = s.get(Qualification, item.qualification_id)
            owner, crm = lead.owner_email, lead.crm_url
        try:
            route = self.route(owner)
        except SlackApiError as exc:
            raise self._error(exc, item) from None
        try:
            return self._post(item, q, route, crm)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ROUTE_ERRORS and route.channel != self.queue:
                why = f"could not post to the rep's route ({error})"
                log.warning("delivery %d: %s; using the team queue", item.id, why)
                try:
                    return self._post(item, q, Route(self.queue, why), crm)
                except SlackApiError as again:
                    raise self._error(again, item) from None
            raise self._error(exc, item) from None

    def _post(self, item: PendingDelivery, q: Qualification, route: Route, crm_url: str | None) -> Sent:
        wait, slot = self.pacer.wait_for(item, route.channel)
        if wait > 0.001:
            raise DeferredError(timedelta(seconds=wait), slot)
        payload = delivered(item.payload, followup_state(q, route.queue_reason, crm_url))
        resp = self.client.chat_postMessage(
            channel=route.channel, text=payload["text"], blocks=payload["blocks"], unfurl_links=False, unfurl_media=False
        )
        self.pacer.posted(route.channel)
        return Sent(resp["channel"], resp["ts"], route.queue_reason)

    def _error(self, exc: SlackApiError, item: PendingDelivery) -> Exception:
        status = exc.response.status_code
        error = f"HTTP {status}" if status >= 500 else (exc.response.get("error") or f"HTTP {status}")
        if exc.response.status_code == 429:
            retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
            return DeferredError(timedelta(seconds=max(1.0, retry_after)))
        if error in PERMANENT:
            return DeliveryError(f"Slack refused the post: {error}", retry_in=None)
        return DeliveryError(f"Slack error: {error}", retry_in=backoff(item.attempts))


def verify_app_token(client: WebClient, app_token: str) -> None:
    """Socket Mode needs an app-level token with connections:write; say so before starting, not in a traceback."""
    try:
        client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise ConfigError(
            f"SLACK_APP_TOKEN was refused by Slack ({exc.response.get('error')}); "
            "expected an app-level token with the connections:write scope"
        ) from None


def verify_token(client: WebClient) -> dict:
    try:
        return client.auth_test().data
    except SlackApiError as exc:
        raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({exc.response.get('error')}); check the token") from None


def create_bolt_app(services, client: WebClient) -> App:
    from handlers import actions, commands, events

    settings = services.settings
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        # Socket Mode traffic is authenticated by the connection itself; HTTP requests always are verified.
        request_verification_enabled=not settings.slack_app_token,
        token_verification_enabled=False,  # verified once at startup by verify_token
        listener_executor=services.slack.executor,
        raise_error_for_unhandled_request=False,
    )

    @app.middleware
    def attach_services(context, next):  # noqa: A002 - Bolt's name
        context["services"] = services
        next()

    @app.middleware
    def ignore_redelivered_events(body, next):  # noqa: A002
        # Slack redelivers an event it thinks we missed (X-Slack-Retry-Num); each event_id acts once.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not claim_once(services.sessions, "slack", event_id, "slack.event", services.clock()):
            return BoltResponse(status=200, body="")
        next()

    commands.register(app)
    actions.register(app)
    events.register(app)
    return app


def register_http(web: Starlette, bolt_app: App) -> None:
    """POST /slack/events: commands, interactivity and events, dispatched off the event loop."""

    async def slack_events(request: Request):
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse({"error": "body too large"}, status_code=413)
        bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    web.add_route("/slack/events", slack_events, methods=["POST"])


def start_socket_mode(bolt_app: App, app_token: str):
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(bolt_app, app_token)
    handler.connect()  # returns at once; the client runs on its own threads
    return handler
