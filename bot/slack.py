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

from slack_bolt import App, BoltRequest, BoltResponse
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
from bot.worker import DeferredError, DeliveryError, HeldForDigest, LeaseLost, Sent
from briefs.blocks import delivered, shortened
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
    "restricted_action", "team_access_not_granted", "ekm_access_denied", "invalid_arguments", "msg_blocks_too_long",
}
# The route is wrong, not Slack: fall back to the team queue.
ROUTE_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived", "cannot_dm_bot",
                "user_not_found", "user_disabled"}
MAX_BODY = 1024 * 1024
# Message metadata on every brief: a retry after an unclear answer finds the post by it (conversations.history).
DELIVERY_EVENT = "leadbrief_brief"
# A rep's route Slack called gone is not tried again for this long (seconds): briefs go to the team queue.
GONE_FOR = 600.0
# The window of a channel's history searched for an earlier post: around when it left, allowing for clock skew
# between this machine and Slack and for a slow answer.
HISTORY_WINDOW = 300.0
HISTORY_PAGES = 5
SIGNATURE_TOLERANCE = 300  # seconds, as Slack's own verifier


def error_code(exc: Exception) -> str:
    """Slack's error code, or the exception's class name, for logs: never the request (it carries the token)."""
    return str(exc.response.get("error")) if isinstance(exc, SlackApiError) else type(exc).__name__


def too_long(exc: Exception) -> bool:
    """Slack refused a message for its length: all its text together (msg_blocks_too_long), or one text
    (invalid_blocks saying so). Posting the same one again cannot help; a shorter one may."""
    if not isinstance(exc, SlackApiError):
        return False
    error = exc.response.get("error")
    if error == "msg_blocks_too_long":
        return True
    messages = (exc.response.get("response_metadata") or {}).get("messages") or exc.response.get("errors") or []
    return error == "invalid_blocks" and any("must be less than" in str(m) for m in messages)


class _NoBlindRepost:
    """A retry handler that leaves chat.postMessage alone: after a 5xx or a cut connection the message may have
    been posted, and sending it again blindly makes a duplicate (the delivery worker checks first)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if request.url.rstrip("/").endswith("/chat.postMessage"):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


class _ConnectionRetryNoPost(_NoBlindRepost, ConnectionErrorRetryHandler):
    pass


class _ServerErrorRetryNoPost(_NoBlindRepost, ServerErrorRetryHandler):
    pass


def web_client(settings: Settings, *, interactive: bool) -> WebClient:
    """Interactive calls may wait out one 429; the delivery worker reschedules instead, so one busy channel
    never holds up the others. The delivery worker's client never retries chat.postMessage by itself."""
    if interactive:
        handlers = [ConnectionErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler(max_retry_count=1),
                    RateLimitErrorRetryHandler(max_retry_count=1)]
    else:
        handlers = [_ConnectionRetryNoPost(max_retry_count=2), _ServerErrorRetryNoPost(max_retry_count=1)]
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
    (conversations.members, usergroups.users.list) in the background and cached for TTL seconds; a membership
    Slack will not tell us counts as empty for a short while (deny, log why), never as everyone.

    Reads never happen on a request's path: `decide` answers from the cache at once (None while a membership
    is still being read), and an expired membership keeps answering, for at most STALE seconds more, while
    it is read again. Only `allows` and `outsiders`, used after an ack or off the request path, wait."""

    TTL = 300.0
    STALE = 300.0
    RETRY_AFTER_FAILURE = 30.0
    WAIT = 60.0  # how long a deferred request waits for Slack to say who is on the team before it is refused
    PAGE = 200  # conversations.members page size: Slack recommends 200 or fewer

    def __init__(self, client: WebClient, settings: Settings, clock=time.monotonic, bot_user: str | None = None):
        access = settings.access
        self.client = client
        self.clock = clock
        self.bot_user = bot_user  # the app's own bot user: in every channel it posts to, and not a reader
        self.users = frozenset(access.users)
        if access.configured:
            self.channels, self.usergroups = access.channels, access.usergroups
        else:
            self.channels = (settings.slack_default_channel,) if settings.slack_default_channel else ()
            self.usergroups = ()
        self.own_leads_only = access.own_leads_only
        # (until, members, Slack's error if the read failed)
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str], str | None]] = {}
        self._reading: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    def _sources(self) -> list[tuple[str, str]]:
        return [("channel", c) for c in self.channels] + [("usergroup", g) for g in self.usergroups]

    def decide(self, user_id: str | None) -> bool | None:
        """At once, from the cache: True (let in), False (refused), None (not known yet; being read)."""
        if not user_id:
            return False
        if user_id in self.users:
            return True
        unknown = False
        for kind, key in self._sources():
            members = self._cached(kind, key)
            if members is None:
                unknown = True
            elif user_id in members:
                return True
        return None if unknown else False

    def allows(self, user_id: str | None, timeout: float | None = None) -> bool:
        """Waits (up to timeout, WAIT by default) for the memberships; still unknown then counts as refused."""
        if not user_id:
            return False
        if user_id in self.users:
            return True
        deadline = self.clock() + (self.WAIT if timeout is None else timeout)
        return any(user_id in (self._wait(kind, key, deadline) or ()) for kind, key in self._sources())

    def outsiders(self, channel: str, timeout: float | None = None) -> list[str] | None:
        """The members of channel who are not on the sales team (the app's bot user aside), or None if Slack
        has not said (yet, or at all) who is in the channel or on the team. timeout=0 answers from the cache."""
        deadline = self.clock() + (self.WAIT if timeout is None else timeout)
        members = self._wait("channel", channel, deadline, failed_as_none=True)
        if members is None:
            return None
        team: set[str] = set(self.users)
        for kind, key in self._sources():
            known = self._wait(kind, key, deadline)
            if known is None:
                return None
            team |= known
        return sorted(m for m in members if m not in team and m != self.bot_user)

    def read_error(self, channel: str) -> str | None:
        """Slack's error from the last read of channel's members, if it failed."""
        with self._lock:
            hit = self._cache.get(("channel", channel))
        return hit[2] if hit else None

    def where(self) -> str:
        """Where to ask for access, for the refusal message."""
        if self.channels:
            return "join " + " or ".join(f"<#{c}>" for c in self.channels)
        return "ask your Slack admin to add you to the sales team's user group"

    def _cached(self, kind: str, key: str, failed_as_none: bool = False) -> frozenset[str] | None:
        """The cached members, starting a read if they are missing or expired; None if there are none to use."""
        now = self.clock()
        with self._lock:
            hit = self._cache.get((kind, key))
        if hit and hit[0] > now:
            return None if failed_as_none and hit[2] else hit[1]
        self._start_read(kind, key)
        if hit and hit[0] + self.STALE > now and not hit[2]:
            return hit[1]
        return None

    def _wait(self, kind: str, key: str, deadline: float, failed_as_none: bool = False) -> frozenset[str] | None:
        members = self._cached(kind, key, failed_as_none)
        if members is not None:
            return members
        with self._lock:
            reading = self._reading.get((kind, key))
        if reading is not None:
            reading.wait(max(0.0, deadline - self.clock()))
        with self._lock:
            hit = self._cache.get((kind, key))
        if hit is None or hit[0] + self.STALE <= self.clock() or (failed_as_none and hit[2]):
            return None
        return hit[1]

    def _start_read(self, kind: str, key: str) -> None:
        with self._lock:
            if (kind, key) in self._reading:
                return  # one read at a time per membership, however many requests want it
            done = self._reading[(kind, key)] = threading.Event()
        threading.Thread(target=self._refresh, args=(kind, key, done), name=f"leadbrief-access-{key}",
                         daemon=True).start()

    def _refresh(self, kind: str, key: str, done: threading.Event) -> None:
        failed = None
        try:
            members = self._read(kind, key)
            until = self.clock() + self.TTL
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, nobody gets in through it
            failed = error_code(exc)
            log.warning("access: could not read the members of %s %s (%s); nobody is let in through it",
                        kind, key, failed)
            members, until = frozenset(), self.clock() + self.RETRY_AFTER_FAILURE
        with self._lock:
            self._cache[(kind, key)] = (until, members, failed)
            del self._reading[(kind, key)]
        done.set()

    def _read(self, kind: str, key: str) -> frozenset[str]:
        if kind == "usergroup":
            return frozenset(self.client.usergroups_users_list(usergroup=key).get("users") or [])
        members: set[str] = set()
        cursor = None
        while True:
            page = self.client.conversations_members(channel=key, limit=self.PAGE, cursor=cursor)
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
        """Seconds to wait before posting item to channel, and the slot it holds. When it is 0, the post is
        written down (storage.outbox.intend) in the transaction that takes the channel; LeaseLost when the
        delivery is no longer this worker's."""
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
            wait = outbox.reserve_post(s, channel, now, min(self.interval, MIN_GAP))
            if wait == 0.0 and item.owner is not None and not outbox.intend(s, item.id, item.owner, channel, now):
                raise LeaseLost(item.id)  # rolls the channel back too
            return wait, (channel, slot)


class MembershipPending(Exception):
    """Slack has not said yet who is in a channel or on the team: the read is under way."""


def route_problem(access: AccessControl | None, channel: str) -> str | None:
    """Why lead briefs may not go to a rep's channel (people outside [access] would read them), or None if
    they may. Decided on the cached memberships without waiting: MembershipPending while they are read."""
    if access is None:
        return None
    outside = access.outsiders(channel, timeout=0)
    if outside is None:
        error = access.read_error(channel)
        if error is None:
            raise MembershipPending(channel)
        return f"<#{channel}> could not be checked ({error})"
    if outside:
        return f"<#{channel}> has {len(outside)} member(s) outside the sales team"
    return None


def tell_unsafe_route(services, client: WebClient, rep_user: str, channel: str, why: str) -> None:
    """The rep hears why their briefs come by DM: once a day per route, not with every brief."""
    now = services.clock()
    with services.sessions.begin() as s:
        if audit.last(s, action="route_unsafe", detail_prefix=f"{rep_user} {channel}", since=now - timedelta(days=1)):
            return
        audit.record(s, actor="leadbrief", action="route_unsafe", at=now, detail=f"{rep_user} {channel}: {why}")
    text = (f"Your new briefs come here instead of <#{channel}>: {why.removeprefix(f'<#{channel}> ')}, and lead "
            "briefs are only for the sales team. Pick a channel only the sales team is in with "
            "`/lead route #channel`.")
    try:
        client.chat_postMessage(channel=rep_user, text=text)
    except (SlackApiError, OSError) as exc:
        log.warning("could not tell %s their brief channel is unsafe: %s", rep_user, error_code(exc))


def backoff(attempt: int) -> timedelta:
    """5 s, 10 s, 20 s... with jitter, never more than 5 minutes (attempts go on for the retry horizon)."""
    base = 5.0 * (2 ** min(attempt, 10))
    return timedelta(seconds=min(300.0, base * random.uniform(0.5, 1.5)))  # noqa: S311 - jitter, not crypto


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
    # Requests acked before their sender could be checked, waiting for Slack to say who is on the team
    # (bot.slack.authorise), and refusals sent after the ack.
    deferred: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="leadbrief-deferred")
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
        unsafe = self._unsafe(channel) if channel else None
        if channel and not unsafe:
            return Route(channel, rep_user=uid)
        if uid:
            if unsafe:
                tell_unsafe_route(self.services, self.client, uid, channel, unsafe)
            return Route(uid, rep_user=uid)
        if unsafe:
            return Route(self.queue, f"the rep's brief channel {unsafe}")
        return Route(self.queue, f"owner {owner_email} is not in this Slack workspace")

    def _unsafe(self, channel: str) -> str | None:
        try:
            return route_problem(self.services.slack.access if self.services.slack else None, channel)
        except MembershipPending:
            raise DeferredError(timedelta(seconds=2)) from None  # no attempt used; the read is under way

    def __call__(self, item: PendingDelivery) -> Sent:
        try:
            return self._deliver(item)
        except OSError as exc:  # Slack unreachable, or the connection cut mid-post: try again later, checking first
            raise DeliveryError(f"Slack unreachable ({type(exc).__name__})", retry_in=backoff(item.attempts)) from None

    def _deliver(self, item: PendingDelivery) -> Sent:
        with self.services.sessions() as s:
            lead = s.get(Lead, item.lead_id)
            q = s.get(Qualification, item.qualification_id)
            owner, crm = lead.owner_email, lead.crm_url
        urgent = self._raised_hand(q)
        try:
            route = self._live_route(owner)
            if item.unclear_channel:
                found = self._posted_before(item)
                if found:
                    return self._already_posted(item, q, route, urgent, *found)
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
                with self.services.sessions.begin() as s:
                    outbox.remember_gone(s, route.channel, error, self.services.clock().timestamp() + GONE_FOR)
                try:
                    return self._post(item, q, Route(self.queue, why, route.rep_user), crm, urgent)
                except SlackApiError as again:
                    raise self._error(again, item, posting=True) from None
            raise self._error(exc, item, posting=True) from None

    def _live_route(self, owner: str | None) -> Route:
        """route(), except that a rep route Slack recently called gone goes straight to the team queue."""
        route = self.route(owner)
        if route.channel == self.queue or not self.queue:
            return route
        with self.services.sessions() as s:
            error = outbox.gone(s, route.channel, self.services.clock().timestamp())
        return Route(self.queue, f"could not post to the rep's route ({error})", route.rep_user) if error else route

    def _posted_before(self, item: PendingDelivery) -> tuple[str, str] | None:
        """(channel, ts) of this delivery's earlier post when Slack has it, found by its metadata in the
        channel's history around when it left. SlackApiError when Slack cannot say right now (5xx, 429)."""
        channel, at = item.unclear_channel, item.unclear_at or self.services.clock().timestamp()
        try:
            if channel.startswith(("U", "W")):  # posted to a user id: its history is the DM's
                dm = self._dm_of(channel)
                if dm is None:
                    return None  # no DM with them: nothing was posted there
                channel = dm
            cursor = None
            for _ in range(HISTORY_PAGES):
                page = self.client.conversations_history(
                    channel=channel, oldest=f"{at - HISTORY_WINDOW:.6f}", latest=f"{at + HISTORY_WINDOW:.6f}",
                    inclusive=True, include_all_metadata=True, limit=200, cursor=cursor)
                for message in page.get("messages") or []:
                    meta = message.get("metadata") or {}
                    if (meta.get("event_type") == DELIVERY_EVENT
                            and (meta.get("event_payload") or {}).get("delivery_id") == item.id):
                        return channel, message["ts"]
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise
            log.warning("delivery %d: could not check %s for its earlier post (%s); posting it again, which may "
                        "duplicate it (see docs/slack.md)", item.id, channel, error_code(exc))
        return None

    def _dm_of(self, user_id: str) -> str | None:
        """The app's DM with a person, found among the bot's conversations (im:read): conversations.open would
        find it at once but needs im:write, which lets an app start conversations, more than we need."""
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = self.client.users_conversations(types="im", exclude_archived=True, limit=200, cursor=cursor)
            for im in page.get("channels") or []:
                if im.get("user") == user_id:
                    return im["id"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    def _already_posted(self, item: PendingDelivery, q: Qualification, route: Route, urgent: datetime | None,
                        channel: str, ts: str) -> Sent:
        log.info("delivery %d: its earlier post went through after all (%s %s); recorded, not posted again",
                 item.id, channel, ts)
        reason = route.queue_reason
        if item.unclear_channel == self.queue and route.channel != self.queue:
            reason = "could not post to the rep's route"
        return Sent(channel, ts, reason, route.rep_user, self._due(q, route.rep_user, urgent), follow_through=True)

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
            raise DeferredError(timedelta(seconds=wait), slot, maybe_posted=False)
        sending = self.pacer.clock().timestamp()
        metadata = {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": item.id}}
        try:
            resp = self.client.chat_postMessage(
                channel=route.channel, text=payload["text"], blocks=payload["blocks"], unfurl_links=False,
                unfurl_media=False, metadata=metadata,
            )
        except SlackApiError as exc:
            if not too_long(exc):
                raise
            # Slack counts differently from us after all: the same payload would fail again, so a shorter one now.
            log.warning("delivery %d: Slack said %s; posting a shorter brief", item.id, error_code(exc))
            payload = shortened(item.payload, state)
            resp = self.client.chat_postMessage(
                channel=route.channel, text=payload["text"], blocks=payload["blocks"], unfurl_links=False,
                unfurl_media=False, metadata=metadata,
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

    def _error(self, exc: SlackApiError, item: PendingDelivery, posting: bool = False) -> Exception:
        """posting: exc answered the post itself. Slack refused it (a 4xx or ok=false) and it is not out
        there; after a 5xx it may be, and the next attempt looks for it first."""
        status = exc.response.status_code
        error = f"HTTP {status}" if status >= 500 else (exc.response.get("error") or f"HTTP {status}")
        maybe_posted = not posting or status >= 500
        if exc.response.status_code == 429:
            retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
            return DeferredError(timedelta(seconds=max(1.0, retry_after)), maybe_posted=maybe_posted)
        if error in PERMANENT:
            return DeliveryError(f"Slack refused the post: {error}", retry_in=None, maybe_posted=maybe_posted)
        return DeliveryError(f"Slack error: {error}", retry_in=backoff(item.attempts), maybe_posted=maybe_posted)


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
        # verify_token has already checked the token with a clear error; this lets Bolt keep the auth.test
        # answer from startup instead of asking Slack before the first request's ack.
        token_verification_enabled=True,
        listener_executor=services.slack.executor,
        raise_error_for_unhandled_request=False,
    )

    @app.middleware
    def attach_services(context, next):  # noqa: A002 - Bolt's name
        context["services"] = services
        next()

    @app.middleware
    def ignore_redelivered_events(body, context, next):  # noqa: A002
        # Slack redelivers an event it thinks we missed (X-Slack-Retry-Num); each event_id acts once.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not context.get(AUTHORISED) and not claim_once(
                services.sessions, "slack", event_id, "slack.event", services.clock()):
            return BoltResponse(status=200, body="")
        next()

    @app.middleware
    def authorise(req, body, context, next):  # noqa: A002
        # Every listener is behind this: lead data only for the people [access] names (docs/security.md).
        # It answers from the cache at once and never calls Slack, so that Slack gets its ack in time.
        access = services.slack.access
        user = _user_of(body)
        if user is None:
            return _unattributable(services, body)
        if access is None or context.get(AUTHORISED) == user:
            next()
            return None
        allowed = access.decide(user)
        if allowed is None and body.get("type") == "view_submission":
            # Its ack carries the form's errors, so it is worth up to 2 of Slack's 3 seconds: wait for the
            # read already under way (no call to Slack here).
            access.allows(user, timeout=2.0)
            allowed = access.decide(user)
        if allowed:
            next()
            return None
        if allowed is False:
            return _refuse(services, body, user, access)
        # Slack has not said yet who is on the team (a cold cache may be many pages away): ack now, and
        # carry the request out, or refuse it, once it has.
        services.slack.deferred.submit(_decide_later, services, app, req, user)
        return BoltResponse(status=200, body="")

    commands.register(app)
    actions.register(app)
    events.register(app)
    return app


AUTHORISED = "leadbrief_authorised"  # context key: the person a deferred request was let in for
# Interaction payloads that carry the person who acted as user.id; anything else must be a command or event.
_INTERACTIONS = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")


def _user_of(body: dict) -> str | None:
    """Who sent a request; None when it cannot be told (then it is refused: deny by default)."""
    user = None
    if body.get("command"):
        user = body.get("user_id")
    elif body.get("type") in _INTERACTIONS:
        user = body.get("user")
        user = user.get("id") if isinstance(user, dict) else None
    elif body.get("type") == "event_callback":
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        bot = event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message"
        user = None if bot else event.get("user")
    return user if isinstance(user, str) and user else None


def _what(body: dict) -> str:
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    return str(body.get("command") or event.get("type") or body.get("type") or "request")[:60]


def _unattributable(services, body: dict) -> BoltResponse:
    """A request from a bot, or of a kind we do not expect: nobody to let in, so nothing happens."""
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    actor = f"bot:{event['bot_id']}" if isinstance(event.get("bot_id"), str) else "unknown"
    log.info("refused a Slack request with no person to attribute it to (%s)", _what(body))
    with services.sessions.begin() as s:
        audit.record(s, actor=actor, action="denied", at=services.clock(), detail=_what(body))
    return BoltResponse(status=200, body="")


def _refusal(access: AccessControl) -> str:
    return f"Sorry, lead briefs are only for the sales team. To get access, {access.where()}."


def _refuse(services, body: dict, user: str, access: AccessControl) -> BoltResponse:
    """A polite refusal, visible to that person only, that says nothing about any lead. Anything that needs a
    call to Slack is sent after the ack."""
    text = _refusal(access)
    with services.sessions.begin() as s:
        audit.record(s, actor=user, action="denied", at=services.clock(), detail=_what(body))
    if body.get("command"):
        return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                            headers={"content-type": "application/json"})
    if body.get("type") == "view_submission":
        return BoltResponse(status=200, body=json.dumps({"response_action": "errors", "errors": {"reason": text}}),
                            headers={"content-type": "application/json"})
    services.slack.deferred.submit(_tell_refused, services, body, user, text)
    return BoltResponse(status=200, body="")


def _tell_refused(services, body: dict, user: str, text: str) -> None:
    """Where the person will see it: the conversation (response_url), their App Home, else a DM."""
    client = services.slack.client
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    try:
        if body.get("response_url"):
            WebhookClient(body["response_url"]).send(text=text, response_type="ephemeral", replace_original=False)
        elif event.get("type") == "app_home_opened" or view.get("type") == "home":
            client.views_publish(user_id=user, view={"type": "home", "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}}]})
        elif body.get("type") != "view_closed":
            client.chat_postMessage(channel=user, text=text)
    except (SlackApiError, OSError) as exc:
        log.warning("could not tell %s they have no access: %s", user, error_code(exc))


def _decide_later(services, app: App, req: BoltRequest, user: str) -> None:
    """A request acked before Slack had said who is on the team: run it through the app again once it has,
    or refuse it (still unknown after AccessControl.WAIT counts as refused)."""
    access = services.slack.access
    body = req.body
    try:
        if not access.allows(user):
            # Still unknown after the wait (Slack slow or down) is refused too, but says so.
            text = _refusal(access) if access.decide(user) is False else (
                "Sorry, I could not check that you are on the sales team just now (Slack did not say in time). "
                "Please try again in a minute.")
            with services.sessions.begin() as s:
                audit.record(s, actor=user, action="denied", at=services.clock(), detail=_what(body))
            _tell_refused(services, body, user, text)
            return
        app.dispatch(BoltRequest(body=req.raw_body if req.mode == "http" else body, query=req.query,
                                 headers=req.headers, context={AUTHORISED: user}, mode=req.mode))
    except Exception as exc:  # noqa: BLE001 - a worker thread: log it, and the next request tries again
        log.warning("a deferred Slack request (%s) failed: %s", _what(body), error_code(exc))


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
