"""Slack assembly: Web API clients, the people directory, the Slack delivery sink and the Bolt app."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as dtime
from urllib.parse import parse_qsl

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.config import ConfigError, Settings
from bot.worker import DeferredError, DeliveryError, HeldForDigest, Sent
from briefs.blocks import delivered
from briefs.events import load_json
from briefs.followthrough import is_high_intent, next_digest_at
from storage import audit, outbox
from storage import followthrough as followthrough_store
from storage import leads as lead_store
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
SIGNATURE_TOLERANCE = 300  # seconds, as Slack's own verifier


def error_code(exc: Exception) -> str:
    """Slack's error code, or the exception's class name, for logs: never the request (it carries the token)."""
    return str(exc.response.get("error")) if isinstance(exc, SlackApiError) else type(exc).__name__


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


class AccessControl:
    """Who may use Leadbrief in Slack: the people, channel members and user-group members named in [access]
    of leadbrief.toml, or by default the members of the leads channel. Memberships are read from Slack
    (conversations.members, usergroups.users.list) and cached for TTL seconds; a membership Slack will not
    tell us counts as empty for a short while (deny, log why), never as everyone."""

    TTL = 300.0
    RETRY_AFTER_FAILURE = 30.0

    def __init__(self, client: WebClient, settings: Settings, clock=time.monotonic):
        access = settings.access
        self.client = client
        self.clock = clock
        self.users = frozenset(access.users)
        if access.configured:
            self.channels, self.usergroups = access.channels, access.usergroups
        else:
            self.channels = (settings.slack_default_channel,) if settings.slack_default_channel else ()
            self.usergroups = ()
        self.own_leads_only = access.own_leads_only
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def allows(self, user_id: str | None) -> bool:
        if not user_id:
            return False
        if user_id in self.users:
            return True
        return any(user_id in self._members("channel", c) for c in self.channels) or any(
            user_id in self._members("usergroup", g) for g in self.usergroups)

    def where(self) -> str:
        """Where to ask for access, for the refusal message."""
        if self.channels:
            return "join " + " or ".join(f"<#{c}>" for c in self.channels)
        return "ask your Slack admin to add you to the sales team's user group"

    def _members(self, kind: str, key: str) -> frozenset[str]:
        now = self.clock()
        with self._lock:
            hit = self._cache.get((kind, key))
            if hit and hit[0] > now:
                return hit[1]
        try:
            members = self._read(kind, key)
            until = now + self.TTL
        except SlackApiError as exc:
            log.warning("access: could not read the members of %s %s (%s); nobody is let in through it",
                        kind, key, exc.response.get("error"))
            members, until = frozenset(), now + self.RETRY_AFTER_FAILURE
        with self._lock:
            self._cache[(kind, key)] = (until, members)
        return members

    def _read(self, kind: str, key: str) -> frozenset[str]:
        if kind == "usergroup":
            return frozenset(self.client.usergroups_users_list(usergroup=key).get("users") or [])
        members: set[str] = set()
        cursor = None
        while True:
            page = self.client.conversations_members(channel=key, limit=1000, cursor=cursor)
            members.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return frozenset(members)


# Slack allows about one chat.postMessage per second per channel (MIN_GAP). Slots are booked a little
# further apart, so that a post that goes out a few milliseconds late does not hold up the next one.
POST_INTERVAL = 1.03
MIN_GAP = 1.01  # a hair over a second: requests arrive at Slack a few ms apart from when they were sent


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
        with self.sessions.begin() as s:
            return outbox.reserve_post(s, channel, now, min(self.interval, MIN_GAP)), (channel, slot)


def backoff(attempt: int) -> timedelta:
    base = min(300.0, 5.0 * (2 ** attempt))
    return timedelta(seconds=base * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto


@dataclass
class SlackContext:
    client: WebClient  # for listeners: may wait out one 429
    directory: Directory
    bolt: App | None = None
    access: AccessControl | None = None  # None lets everyone in (tests of other things)
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
    rep_user: str | None = None  # the rep the lead is with, when they are in this workspace


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
        channel = channel or self.services.settings.slack_routes.get(owner_email.lower())
        uid = self.directory.user_id(owner_email)
        if channel:
            return Route(channel, rep_user=uid)
        if uid:
            return Route(uid, rep_user=uid)
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
        urgent = self._raised_hand(q)
        try:
            route = self.route(owner)
            self._hold_if_quiet(q, route, urgent)
        except SlackApiError as exc:
            raise self._error(exc, item) from None
        try:
            return self._post(item, q, route, crm, urgent)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ROUTE_ERRORS and route.channel != self.queue:
                why = f"could not post to the rep's route ({error})"
                log.warning("delivery %d: %s; using the team queue", item.id, why)
                try:
                    return self._post(item, q, Route(self.queue, why, route.rep_user), crm, urgent)
                except SlackApiError as again:
                    raise self._error(again, item) from None
            raise self._error(exc, item) from None

    def _post(self, item: PendingDelivery, q: Qualification, route: Route, crm_url: str | None,
              urgent: datetime | None = None) -> Sent:
        # Everything that may call Slack or the database comes before the posting slot is taken: from then on
        # the post must go out at once, or it may follow the channel's previous one too closely.
        due = self._due(q, route.rep_user, urgent)
        state = replace(followup_state(q, route.queue_reason, crm_url), rep_user=route.rep_user,
                        sla_due_at=due, sla_state="running" if due else None)
        payload = delivered(item.payload, state)
        wait, slot = self.pacer.wait_for(item, route.channel)
        if wait > 0.001:
            raise DeferredError(timedelta(seconds=wait), slot)
        sending = self.pacer.clock().timestamp()
        resp = self.client.chat_postMessage(
            channel=route.channel, text=payload["text"], blocks=payload["blocks"], unfurl_links=False, unfurl_media=False
        )
        return Sent(resp["channel"], resp["ts"], route.queue_reason, route.rep_user, due, follow_through=True,
                    paced=(route.channel, sending))

    def _due(self, q: Qualification, rep_user: str | None, urgent: datetime | None):
        """When the speed-to-lead clock runs out: business time in the rep's Slack time zone."""
        if q.status != "open" or q.claimed_by:
            return None
        policy = self.services.settings.follow_up
        tz = policy.zone(self.time_zone(rep_user))
        return policy.due("hand_raiser", urgent, tz) if urgent else policy.due(q.reason, q.qualified_at, tz)

    def time_zone(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        try:
            return (self.directory.user(user_id) or {}).get("tz")
        except SlackApiError:
            return None

    def _raised_hand(self, q: Qualification) -> datetime | None:
        """When the lead asked for sales: a lead who did so after qualifying counts as a hand-raiser from then
        on (5-minute clock, never held for a digest). None if they have not."""
        if q.reason == "hand_raiser":
            return q.qualified_at
        with self.services.sessions() as s:
            hot = [a.occurred_at for a in followthrough_store.hot_kinds_since(s, q.lead_id, q.qualified_at)
                   if is_high_intent(a, self.services.settings.rules)]
        return max(q.qualified_at, min(hot)) if hot else None

    def _hold_if_quiet(self, q: Qualification, route: Route, urgent: datetime | None) -> None:
        """Quiet mode: a rep's non-urgent briefs wait for their daily digest; hand-raisers never wait."""
        policy = self.services.settings.follow_up
        if urgent is not None or not route.rep_user or route.queue_reason:
            return
        with self.services.sessions() as s:
            prefs = followthrough_store.prefs(s, route.rep_user)
            quiet, at = (prefs.quiet, prefs.digest_time) if prefs else (False, None)
        if quiet:
            when = next_digest_at(self.services.clock(), policy.zone(self.time_zone(route.rep_user)), policy.hours,
                                  dtime.fromisoformat(at) if at else policy.digest_time)
            raise HeldForDigest(route.rep_user, when)

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

    @app.middleware
    def authorise(body, client, next):  # noqa: A002
        # Every listener is behind this: lead data only for the people [access] names (README "Security").
        access = services.slack.access
        user = _user_of(body)
        if access is None or user is None or access.allows(user):
            next()
            return None
        return _refuse(services, body, client, user, access)

    commands.register(app)
    actions.register(app)
    events.register(app)
    return app


def _user_of(body: dict) -> str | None:
    if body.get("command"):
        return body.get("user_id")
    if body.get("type") in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action"):
        return (body.get("user") or {}).get("id")
    event = body.get("event") or {}
    if body.get("type") == "event_callback" and not event.get("bot_id"):
        return event.get("user")
    return None


def _refuse(services, body: dict, client: WebClient, user: str, access: AccessControl) -> BoltResponse:
    """A polite refusal, visible to that person only, that says nothing about any lead."""
    text = f"Sorry, lead briefs are only for the sales team. To get access, {access.where()}."
    what = body.get("command") or body.get("type") or "request"
    with services.sessions.begin() as s:
        audit.record(s, actor=user, action="denied", at=services.clock(), detail=str(what)[:60])
    if body.get("command"):
        return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                        headers={"content-type": "application/json"})
    if body.get("type") == "view_submission":
        return BoltResponse(status=200, body=json.dumps({"response_action": "errors", "errors": {"reason": text}}),
                            headers={"content-type": "application/json"})
    try:
        if body.get("type") == "block_actions" and body.get("response_url"):
            WebhookClient(body["response_url"]).send(text=text, response_type="ephemeral", replace_original=False)
        elif (body.get("event") or {}).get("type") == "app_home_opened":
            client.views_publish(user_id=user, view={"type": "home", "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}}]})
    except (SlackApiError, OSError) as exc:
        log.warning("could not tell %s they have no access: %s", user, type(exc).__name__)
    return BoltResponse(status=200, body="")


def signed_by_slack(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """Slack's v0 request signature, checked on the raw bytes (slack_sdk's verifier decodes the body first, and
    raises on a body that is not UTF-8 or a timestamp that is not a number)."""
    timestamp = headers.get("x-slack-request-timestamp", "").strip()
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_TOLERANCE:
        return False
    mac = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={mac}".encode(), headers.get("x-slack-signature", "").strip().encode())


def refused(headers: dict[str, str], body: bytes, secret: str, now: float) -> tuple[int, str] | None:
    """(status, error) for a request Bolt must not see, or None. Checked before anything parses the body:
    one Slack did not sign is a 401 whatever it holds; a signed one Bolt could not parse (not UTF-8, not
    JSON where JSON is due, nested too deeply, not an object) is a 400, never an exception."""
    if not signed_by_slack(secret, headers, body, now):
        return 401, "invalid request"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "body is not UTF-8"
    # Where Bolt reads JSON (slack_bolt.request.internals.parse_body): a JSON body, or a form's payload field.
    if headers.get("content-type") == "application/json" or text.startswith("{"):
        what, document = "body", text
    elif "payload" in text:
        what, document = "payload", dict(parse_qsl(text, keep_blank_values=True)).get("payload")
    else:
        return None
    if document is None:
        return None
    try:
        parsed = load_json(document)
    except ValueError as exc:
        return 400, f"{what} is not valid JSON: {exc}"
    # Bolt reads these with .get() and len() before any listener runs: another shape is an exception there.
    if not isinstance(parsed, dict):
        return 400, f"{what} must be a JSON object, got {type(parsed).__name__}"
    if not isinstance(parsed.get("event", {}), dict):
        return 400, f"{what}: event must be a JSON object"
    authorizations = parsed.get("authorizations", [])
    if not (isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)):
        return 400, f"{what}: authorizations must be a list of JSON objects"
    return None


def register_http(web: Starlette, bolt_app: App, signing_secret: str) -> None:
    """POST /slack/events: commands, interactivity and events, dispatched off the event loop."""

    async def slack_events(request: Request):
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse({"error": "body too large"}, status_code=413)
        problem = refused({k.lower(): v for k, v in request.headers.items()}, body, signing_secret, time.time())
        if problem:
            return JSONResponse({"error": problem[1]}, status_code=problem[0])
        bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    web.add_route("/slack/events", slack_events, methods=["POST"])


def start_socket_mode(bolt_app: App, app_token: str):
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(bolt_app, app_token)
    handler.connect()  # returns at once; the client runs on its own threads
    return handler
