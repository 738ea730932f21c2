"""The Slack gateway: Web API clients, Slack's error codes, the people directory, the access check on
who is on the sales team, and channel pacing. Use cases talk to Slack through this module."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings

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
# The message's place is gone (channel archived, bot removed, brief deleted): no retry can fix it.
UNREACHABLE = ROUTE_ERRORS | {"message_not_found", "thread_not_found", "cant_update_message"}

def error_code(exc: Exception) -> str:
    """Slack's error code, or the exception's class name, for logs: never the request (it carries the token)."""
    return str(exc.response.get("error")) if isinstance(exc, SlackApiError) else type(exc).__name__


def retry_after(exc: SlackApiError) -> float:
    """The seconds a 429 asks us to wait (its Retry-After header, in any case); 1.0 when it says nothing usable.
    Callers bound it to what they can wait."""
    headers = getattr(exc.response, "headers", None) or {}
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        seconds = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1.0
    return seconds if math.isfinite(seconds) else 1.0


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


def backoff(attempt: int) -> timedelta:
    """5 s, 10 s, 20 s... with jitter, never more than 5 minutes (attempts go on for the retry horizon)."""
    base = 5.0 * (2 ** min(attempt, 10))
    return timedelta(seconds=min(300.0, base * random.uniform(0.5, 1.5)))  # noqa: S311 - jitter, not crypto


# Requests acked and waiting for the work slot, at most: beyond that a request is told to try again.
MAX_WAITING = 500


@dataclass
class SlackContext:
    client: WebClient  # for listeners: may wait out one 429
    directory: Directory
    bolt: App | None = None
    access: AccessControl | None = None  # None lets everyone in (tests of other things)
    # Work done after an ack (building briefs, searching) runs here, two at a time: it is mostly CPU under the
    # GIL, and a second overlaps the first one's database waits (about half a search on PostgreSQL); more only
    # slow the acknowledgements of new requests. The listener thread that acked is let go at once, so a burst
    # of requests never waits for a free listener thread to be acknowledged (see after_ack).
    work: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="leadbrief-work")
    )
    # Bolt's listener threads: enough that 20+ concurrent lookups never wait for a free one to be acked.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="leadbrief-bolt")
    )
    # Requests acked before their sender could be checked, waiting for Slack to say who is on the team
    # (bot.slack.authorise), and refusals sent after the ack.
    deferred: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="leadbrief-deferred")
    )
    _waiting: int = 0
    _waiting_lock: threading.Lock = field(default_factory=threading.Lock)

    def after_ack(self, work: Callable[[], None], busy: Callable[[], None]) -> None:
        """Queue work that follows an ack (in order, two at a time); `busy` instead, at once, when MAX_WAITING
        are already waiting: a rep told to try again beats an answer minutes late. Failures are logged."""
        with self._waiting_lock:
            full = self._waiting >= MAX_WAITING
            if not full:
                self._waiting += 1
        if full:
            log.warning("after-ack work refused: %d already waiting", MAX_WAITING)
            busy()
            return

        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("work after an ack failed")
            finally:
                with self._waiting_lock:
                    self._waiting -= 1

        try:
            self.work.submit(run)
        except RuntimeError:  # shutting down: no new work is taken
            with self._waiting_lock:
                self._waiting -= 1
            busy()

