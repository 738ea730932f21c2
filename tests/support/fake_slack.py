"""A real HTTP fake of the Slack Web API, for tests.

In the spirit of bolt-python's own test mock server: a stdlib ``ThreadingHTTPServer`` on 127.0.0.1
(OS-chosen port) run in a daemon thread. Point ``slack_sdk.WebClient(base_url=fake.url)`` at it::

    with FakeSlack() as fake:
        fake.add_channel("C0SALES", "sales")
        client = WebClient(token="xoxb-test", base_url=fake.url)
        client.chat_postMessage(channel="C0SALES", text="hi")
        assert fake.calls_to("chat.postMessage")[0]["text"] == "hi"

Requests arrive as ``POST /api/<method>`` (slack_sdk always POSTs; "GET" methods such as
``users.lookupByEmail`` carry their arguments in the query string). Bodies may be form-urlencoded or
JSON; query-string, form and JSON arguments are merged into one ``params`` dict, and the JSON-string
fields ``blocks``, ``attachments``, ``view`` and ``metadata`` are decoded into objects.

Every request to ``/api/`` is recorded in ``fake.calls`` *before* anything is checked, so calls that
were answered with a scripted failure, a 429 or ``invalid_auth`` are recorded too. Then, in order:

1. scripted outcomes (``server_error``, ``rate_limit``, ``fail``) queued for that method, first in
   first out, one per call; ``post_then_fail`` ones (and ``post_then_fail_fraction``) run the method first
   and, when it succeeded, answer a failure anyway (HTTP 503, or the connection dropped unanswered);
2. authentication: ``Authorization: Bearer <token>`` (or a ``token`` argument); no token gives
   ``not_authed``, a token not starting with ``xoxb-`` (or not in ``fake.valid_tokens`` when that is
   set) gives ``invalid_auth``;
3. the method itself (``unknown_method`` for methods the fake does not implement).

Slack answers errors with HTTP 200 and ``{"ok": false, "error": ...}``; so does the fake, except for
rate limits (HTTP 429 with ``Retry-After``) and ``server_error`` (the given status, plain body).

Clicks in views: :meth:`FakeSlack.view_click` builds the ``block_actions`` payload of a click on a Home or
modal the fake holds, as Slack sends it: ``container`` is the view and there is **no** ``response_url``, so a
listener that calls ``respond()`` for it fails where a test sees it. Its ``trigger_id`` works once, within
3 seconds (``fake.expire_trigger`` ages it). :meth:`FakeSlack.set_latency` makes a method slow (each page of
``conversations.members``, say) without holding up the other methods.

Socket Mode: ``apps.connections.open`` takes an app-level token (``xapp-``; a bot token is ``invalid_auth``,
and so is an app token for every other method) and answers a one-use ``ws://127.0.0.1:PORT/socket?ticket=...``
on a port of its own, served by the ``websockets`` library (handshake, framing, pings, close). On connect the
fake sends ``{"type": "hello", ...}`` as Slack does, pings the client and answers its pings; :meth:`FakeSlack.socket_send` pushes an envelope, ``fake.socket_acks`` collects what the
client sends back (``{"envelope_id": ..., "payload": ...?}``)::

    fake.wait_for_socket_client()
    envelope_id = fake.socket_send({"type": "slash_commands", "payload": {...}})
    assert fake.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import socket
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from tests.support.blockkit import message_error, validate_view

TEAM_ID = "T0FAKE"
TEAM_NAME = "Leadbrief Fake"
TEAM_URL = "https://leadbrief-fake.slack.com/"
BOT_USER_ID = "U0BOT"
BOT_USER_NAME = "leadbrief"
BOT_ID = "B0BOT"
APP_ID = "A0FAKE"

#: Web API methods that take an app-level (``xapp-``) token instead of a bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
#: Path of the fake's Socket Mode WebSocket endpoint (on the Web API's port).
SOCKET_PATH = "/socket"
#: Seconds by which posts to one channel may arrive closer than enforce_channel_rate (see FakeSlack).
ARRIVAL_JITTER = 0.05

#: Fields that slack_sdk (or a caller) may send as JSON strings inside a form body.
JSON_STRING_FIELDS = ("blocks", "attachments", "view", "metadata")

@dataclass(frozen=True)
class Call:
    """One request to ``/api/<method>``: decoded params, request headers (names lower-cased), ``time.time()``."""

    method: str
    params: dict
    headers: dict
    at: float


@dataclass
class _Reply:
    status: int = 200
    body: Any = field(default_factory=dict)  # dict -> JSON, str -> text/plain
    headers: dict = field(default_factory=dict)
    after_success: bool = False  # run the method first; answer this only if it succeeded
    drop: bool = False  # close the connection without answering


#: Status of a reply that drops the connection (post_then_fail(..., status=DROP)).
DROP = 0


def _ok(**fields: Any) -> _Reply:
    return _Reply(body={"ok": True, **fields})


def _error(error: str, **fields: Any) -> _Reply:
    return _Reply(body={"ok": False, "error": error, **fields})


def _missing(*names: str) -> _Reply:
    messages = [f"[ERROR] missing required field: {name}" for name in names]
    return _error("invalid_arguments", response_metadata={"messages": messages})


def _ratelimited(retry_after: int) -> _Reply:
    return _Reply(
        status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": str(retry_after)}
    )


def _tz_offset(tz: str) -> int:
    try:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
    except Exception:  # unknown zone or no tz database: Slack would still answer
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


# --------------------------------------------------------------------------------------------------
# Socket Mode: the WebSocket side, on the `websockets` library
# --------------------------------------------------------------------------------------------------


class _CountingConnection(ServerConnection):
    """A server connection that counts the client's pings (the library answers them itself)."""

    pings = 0

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.pings += 1
        super().process_event(event)


class SocketConnection:
    """One Socket Mode WebSocket client of the fake.

    ``id`` (1, 2, ... in connection order), ``ticket`` (from apps.connections.open), ``open``,
    ``received`` (every text message from the client, decoded JSON where it parses, else the raw string),
    ``pings`` (from the client, each answered) and ``pongs`` (answers to the fake's pings), ``close_code``
    (from the client's close frame, if any)."""

    def __init__(self, conn_id: int, ticket: str, ws: _CountingConnection):
        self.id = conn_id
        self.ticket = ticket
        self.connected_at = time.time()
        self.open = True
        self.received: list[Any] = []
        self.pongs = 0
        self.close_code: int | None = None
        self._ws = ws
        self._done = threading.Event()  # set when the reader loop has exited

    def __repr__(self) -> str:
        return f"<SocketConnection {self.id} {'open' if self.open else 'closed'}>"

    @property
    def pings(self) -> int:
        return self._ws.pings

    def send_text(self, text: str) -> bool:
        """Send one text message; ``False`` if the connection is gone."""
        if not self.open:
            return False
        try:
            self._ws.send(text)
        except (ConnectionClosed, OSError):
            self.open = False
            return False
        return True

    def ping(self) -> threading.Event | None:
        """Send a ping; the event is set when its pong comes. None if the connection is gone."""
        try:
            return self._ws.ping()
        except (ConnectionClosed, OSError):
            return None

    def close(self, code: int | None = 1001, reason: str = "") -> None:
        """Close with a close frame (unless ``code`` is None: just drop the TCP connection)."""
        self.open = False
        if code is None:
            self._ws.close_socket()
        else:
            self._ws.close(code, reason)


# --------------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------------


# The bot-token scopes each method needs, from each method's page on api.slack.com ("Required scopes"); a
# method listing several takes any one of them (the conversation's kind decides which in Slack). A method not
# listed needs none (auth.test, views.*).
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "users.lookupByEmail": frozenset({"users:read.email"}),
    "users.info": frozenset({"users:read"}),
    "conversations.info": frozenset({"channels:read", "groups:read", "im:read", "mpim:read"}),
    "conversations.open": frozenset({"channels:manage", "groups:write", "im:write", "mpim:write"}),
    "conversations.join": frozenset({"channels:join"}),
    "conversations.members": frozenset({"channels:read", "groups:read", "im:read", "mpim:read"}),
    "conversations.history": frozenset({"channels:history", "groups:history", "im:history", "mpim:history"}),
    "users.conversations": frozenset({"channels:read", "groups:read", "im:read", "mpim:read"}),
    "usergroups.users.list": frozenset({"usergroups:read"}),
}


class FakeSlack:
    """Fake Slack Web API server. See the module docstring for the request pipeline.

    State you may read (guard with ``fake.lock`` if the server is busy):

    - ``calls``: list of :class:`Call`, every request to ``/api/``, in arrival order.
    - ``responses``: list of ``(name, body_dict)`` posted to :meth:`response_url` URLs.
    - ``rejected_responses``: ``(name, body_dict, error)`` for response_url posts refused as Slack refuses
      them (invalid blocks, ``msg_blocks_too_long``): answered HTTP 400 with the error, not in ``responses``.
    - ``users``: ``{user_id: user_object}``; ``channels``: ``{channel_id: channel_object}``.
    - ``messages``: ``{(channel_id, ts): {"channel", "ts", "text", "blocks", "thread_ts", ...}}``
      for messages posted with chat.postMessage (and updated by chat.update).
    - ``views``: ``{view_id: view_object}`` opened, pushed, updated or published.
    - ``valid_tokens``: ``None`` (any ``xoxb-`` token) or a set of accepted tokens.
    - ``internal_errors``: tracebacks of exceptions inside the fake itself (answered HTTP 500).
    - ``valid_app_tokens``: ``None`` (any ``xapp-`` token) or a set of accepted app-level tokens.
    - ``socket_connections``: every :class:`SocketConnection` accepted, open or closed, in order.
    - ``socket_sent``: envelopes pushed with :meth:`socket_send` (and ``disconnect`` messages).
    - ``socket_acks``: the messages Socket Mode clients sent that carry an ``envelope_id``, as sent:
      ``{"envelope_id": ...}`` or ``{"envelope_id": ..., "payload": {...}}``.
    """

    def __init__(self, *, enforce_channel_rate: float | None = None, socket_ping_interval: float | None = 0.25):
        """``enforce_channel_rate``: if set, a chat.postMessage to a channel less than this many seconds
        after the previous accepted post to the same channel is answered 429, ``Retry-After: 1``, less
        ARRIVAL_JITTER: Slack allows short bursts, and on a loaded machine two requests sent a second apart
        can arrive some tens of milliseconds closer. Only accepted posts count, and the check comes after
        channel and block validation.

        ``socket_ping_interval``: seconds between the ping frames the fake sends each Socket Mode client
        (Slack pings too, only less often); ``None`` for none. Besides checking that the client answers,
        frequent pings keep shutdown quick: slack_sdk's builtin client holds its receive lock in a
        ``recv`` with a 3 s timeout, and its ``close()`` waits for that lock."""
        self.enforce_channel_rate = enforce_channel_rate
        self.socket_ping_interval = socket_ping_interval
        self.valid_tokens: set[str] | None = None
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.responses: list[tuple[str, dict]] = []
        self.rejected_responses: list[tuple[str, dict, str]] = []
        self.response_at: dict[str, float] = {}  # name -> time.time() of its first response
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.members: dict[str, list[str]] = {}  # channel id -> member user ids (conversations.members)
        self.usergroups: dict[str, list[str]] = {}  # user group id -> user ids (usergroups.users.list)
        self.messages: dict[tuple[str, str], dict] = {}
        self.views: dict[str, dict] = {}
        self.internal_errors: list[str] = []
        self.latency: dict[str, float] = {}  # method -> seconds each call takes (see set_latency)
        self.homes: dict[str, str] = {}  # user id -> view id of the Home last published for them
        self.triggers: dict[str, float] = {}  # trigger_id -> time.time() it was issued by view_click
        self._used_triggers: set[str] = set()
        self._scripted: dict[str, deque[_Reply]] = {}
        self._last_post: dict[str, float] = {}
        self._last_ts = 0.0
        # method -> (fraction, status, random source): posted_then_fail_fraction
        self._fail_after: dict[str, tuple[float, int, random.Random]] = {}
        #: calls that did their work and then were answered a failure (post_then_fail), in order
        self.failed_after_success: list[Call] = []
        self._view_counter = itertools.count(1)
        self._trigger_counter = itertools.count(1)
        self._hash_counter = itertools.count(1)
        self.valid_app_tokens: set[str] | None = None
        # The bot token's scopes: a call needing another answers missing_scope, as Slack does. None grants all.
        self.granted_scopes: set[str] | None = None
        self.socket_connections: list[SocketConnection] = []
        self.socket_sent: list[dict] = []
        self.socket_acks: list[dict] = []
        self._socket_tickets: set[str] = set()
        self._socket_counter = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread. Returns ``self``."""
        if self._server is not None:
            return self
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )
        self._thread.start()
        # Socket Mode on a port of its own: websockets answers the handshake, pings and close frames.
        self._socket_server = serve(
            self._socket_serve, "127.0.0.1", 0, process_request=self._socket_handshake,
            create_connection=_CountingConnection, compression=None, ping_interval=None, close_timeout=2,
            max_size=None,
        )
        self._socket_thread = threading.Thread(
            target=self._socket_server.serve_forever, name="fake-slack-socket", daemon=True
        )
        self._socket_thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down and release the port. Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()  # no new connections, so a client that reconnects on close finds nobody
        with self.lock:
            connections = [c for c in self.socket_connections if c.open]
        for conn in connections:
            conn.close(1001, "fake slack stopped")
        for conn in connections:
            conn._done.wait(timeout=2)
        server.server_close()
        self._socket_server.shutdown()
        self._socket_thread.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return self._server.server_address[1]

    @property
    def base(self) -> str:
        """``"http://127.0.0.1:PORT"``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``"http://127.0.0.1:PORT/api/"``: pass as ``WebClient(base_url=...)``."""
        return f"{self.base}/api/"

    @property
    def socket_url(self) -> str:
        """``"ws://127.0.0.1:PORT/socket"``: the Socket Mode endpoint (needs a ticket from apps.connections.open)."""
        return f"ws://127.0.0.1:{self._socket_server.socket.getsockname()[1]}{SOCKET_PATH}"

    def response_url(self, name: str) -> str:
        """A ``response_url`` to hand to code under test; JSON POSTs there land in ``self.responses``."""
        return f"{self.base}/response/{name}"

    # ---- fixtures --------------------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        user_id: str,
        name: str,
        *,
        tz: str = "America/New_York",
        real_name: str | None = None,
    ) -> dict:
        """Add (or replace) a user; findable by ``users.lookupByEmail``/``users.info``, DM-able by id.
        ``real_name`` defaults to ``name``. Returns the user object."""
        real = real_name if real_name is not None else name
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real,
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": _tz_offset(tz),
            "profile": {
                "email": email,
                "real_name": real,
                "real_name_normalized": real,
                "display_name": name,
                "display_name_normalized": name,
            },
        }
        with self.lock:
            self.users[user_id] = user
        return user

    def add_channel(
        self, channel_id: str, name: str, *, is_member: bool = True, is_private: bool = False
    ) -> dict:
        """Add (or replace) a channel. Returns the channel object."""
        channel = {
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": False,
            "is_member": is_member,
            "context_team_id": TEAM_ID,
        }
        with self.lock:
            self.channels[channel_id] = channel
        return channel

    def set_members(self, channel_id: str, user_ids: list[str]) -> None:
        with self.lock:
            self.members[channel_id] = list(user_ids)

    def add_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        with self.lock:
            self.usergroups[group_id] = list(user_ids)

    @staticmethod
    def dm_channel_id(user_id: str) -> str:
        """The DM channel id the fake uses for a user: ``"D" + user_id[1:]``."""
        return "D" + user_id[1:]

    # ---- scripting -------------------------------------------------------------------------------

    def _script(self, method: str, reply: _Reply, times: int) -> None:
        with self.lock:
            queue = self._scripted.setdefault(method, deque())
            queue.extend(reply for _ in range(times))

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer ``{"ok": false, "error": error}`` (HTTP 200)."""
        self._script(method, _error(error), times)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls answer HTTP 429, ``Retry-After: retry_after``, error ``ratelimited``."""
        self._script(method, _ratelimited(retry_after), times)

    def server_error(self, method: str, times: int = 1, status: int = 503) -> None:
        """The next ``times`` calls answer HTTP ``status`` with a plain-text (non-JSON) body."""
        self._script(method, _Reply(status=status, body=f"fake slack: HTTP {status}"), times)

    def set_latency(self, method: str, seconds: float) -> None:
        """Every call to ``method`` (each page of ``conversations.members``, say) is answered ``seconds`` late.
        The wait happens outside ``fake.lock``: other calls are answered meanwhile."""
        with self.lock:
            self.latency[method] = seconds

    # ---- clicks in views -------------------------------------------------------------------------

    def issue_trigger(self) -> str:
        """A fresh ``trigger_id``: ``views.open``/``views.push`` take it once, within 3 seconds, as Slack does
        (``exchanged_trigger_id``, ``expired_trigger_id``). Trigger ids the fake did not issue are accepted."""
        trigger = f"{next(self._trigger_counter)}.{uuid.uuid4().hex[:12]}"
        with self.lock:
            self.triggers[trigger] = time.time()
        return trigger

    def expire_trigger(self, trigger: str) -> None:
        with self.lock:
            self.triggers[trigger] = time.time() - 60

    def view_click(self, user: str, action_id: str, *, view_id: str | None = None, selected: str | None = None,
                   trigger_id: str | None = None) -> dict:
        """The ``block_actions`` payload Slack sends for a click on a view the app opened or published (the
        user's Home by default): ``container`` is the view and, as in Slack, there is **no** ``response_url``,
        ``channel`` or ``message``. The element must be in the view (``AssertionError`` names what is there).
        ``selected``: the user picked in a users_select, or the option value of a select or overflow."""
        with self.lock:
            view_id = view_id or self.homes.get(user)
            view = json.loads(json.dumps(self.views.get(view_id or "")))
        if not view:
            raise AssertionError(f"no view {view_id!r} to click on (no Home published for {user}?)")
        found = []
        for block in view.get("blocks") or []:
            elements = block.get("elements") if block.get("type") == "actions" else [block.get("accessory")]
            for el in elements or []:
                if isinstance(el, dict) and el.get("action_id"):
                    found.append(el["action_id"])
                    if el["action_id"] == action_id:
                        act = {"type": el["type"], "action_id": action_id, "block_id": block.get("block_id", ""),
                               "action_ts": f"{time.time():.6f}"}
                        if "value" in el:
                            act["value"] = el["value"]
                        if el["type"] == "users_select":
                            act["selected_user"] = selected
                        elif selected is not None:
                            act["selected_option"] = {"value": selected}
                        return {
                            "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
                            "api_app_id": APP_ID, "token": "legacy", "team": {"id": TEAM_ID},
                            "trigger_id": trigger_id or self.issue_trigger(),
                            "container": {"type": "view", "view_id": view["id"]}, "view": view, "actions": [act],
                        }
        raise AssertionError(f"no {action_id!r} in view {view_id}; it has {found}")

    def _trigger_error(self, trigger: str) -> _Reply | None:
        issued = self.triggers.get(trigger)
        if issued is None:
            return None
        if trigger in self._used_triggers:
            return _error("exchanged_trigger_id")
        self._used_triggers.add(trigger)
        return _error("expired_trigger_id") if time.time() - issued > 3 else None

    def post_then_fail(self, method: str, times: int = 1, status: int = 503) -> None:
        """The next ``times`` calls to ``method`` do their work (a chat.postMessage is stored) and are then
        answered HTTP ``status`` with a plain body, or, with ``status=DROP``, by closing the connection."""
        self._script(method, _Reply(status=status, body=f"fake slack: HTTP {status}", after_success=True,
                                    drop=status == DROP), times)

    def post_then_fail_fraction(self, method: str, fraction: float, status: int = 503, seed: int = 0) -> None:
        """From now on, about ``fraction`` of the successful calls to ``method`` (chosen by a seeded random
        draw) are answered as in :meth:`post_then_fail`; 0 turns it off."""
        with self.lock:
            self._fail_after[method] = (fraction, status, random.Random(seed))

    def reset(self) -> None:
        """Forget calls, responses, scripted outcomes, messages, views and rate-limit history.
        Users, channels and ``valid_tokens`` are kept; ``ts`` values keep increasing."""
        with self.lock:
            self.calls.clear()
            self.responses.clear()
            self.rejected_responses.clear()
            self.response_at.clear()
            self._scripted.clear()
            self.messages.clear()
            self.views.clear()
            self._last_post.clear()
            self.internal_errors.clear()
            self.socket_sent.clear()
            self.socket_acks.clear()

    # ---- assertions ------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict]:
        """Params of each call to ``method``, in order."""
        with self.lock:
            return [c.params for c in self.calls if c.method == method]

    def _summary(self) -> str:
        with self.lock:
            counts = Counter(c.method for c in self.calls)
        return ", ".join(f"{m} x{n}" for m, n in counts.items()) or "nothing"

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Poll until at least ``count`` calls to ``method`` arrived; return all their params.
        Raises ``AssertionError`` naming what was called instead."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s, got {len(found)}; "
                    f"called: {self._summary()}"
                )
            time.sleep(0.01)

    def wait_for_responses(self, name: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Poll until at least ``count`` bodies were posted to ``response_url(name)``; return them."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [body for n, body in self.responses if n == name]
                names = Counter(n for n, _ in self.responses)
                refused = [error for n, _, error in self.rejected_responses if n == name]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} POST(s) to response_url({name!r}) within {timeout}s, "
                    f"got {len(found)}; posted to: {dict(names) or 'nothing'}"
                    + (f"; refused there: {', '.join(refused)}" if refused else "")
                )
            time.sleep(0.01)

    # ---- Socket Mode -----------------------------------------------------------------------------

    def socket_clients(self) -> list[SocketConnection]:
        """The Socket Mode connections open now, oldest first."""
        with self.lock:
            return [c for c in self.socket_connections if c.open]

    def wait_for_socket_client(self, timeout: float = 10.0, count: int = 1) -> SocketConnection:
        """Poll until ``count`` Socket Mode connections were accepted in all (since start) and one is open;
        return the newest open one. It has been sent ``hello`` already."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                total = len(self.socket_connections)
                open_now = [c for c in self.socket_connections if c.open]
            if total >= count and open_now:
                return open_now[-1]
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} Socket Mode connection(s) within {timeout}s, got {total} "
                    f"({len(open_now)} open); apps.connections.open calls: "
                    f"{len(self.calls_to('apps.connections.open'))}; called: {self._summary()}"
                )
            time.sleep(0.01)

    def socket_send(self, envelope: dict, connection: SocketConnection | None = None) -> str:
        """Push one envelope (``{"type": "slash_commands"|"interactive"|"events_api", "payload": ...}``) to
        ``connection``, by default the newest open one (Slack, too, picks one connection per envelope).
        An ``envelope_id`` is generated when missing; returns it. ``AssertionError`` if nobody is connected."""
        envelope = dict(envelope)
        envelope.setdefault("envelope_id", str(uuid.uuid4()))
        if connection is None:
            clients = self.socket_clients()
            if not clients:
                raise AssertionError("no Socket Mode client is connected to the fake")
            connection = clients[-1]
        with self.lock:
            self.socket_sent.append(envelope)
        if not connection.send_text(json.dumps(envelope)):
            raise AssertionError(f"Socket Mode connection {connection.id} is closed")
        return envelope["envelope_id"]

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell every open client to reconnect, as Slack does before it recycles a connection
        (``{"type": "disconnect", "reason": ...}``). The connection itself stays open until the client
        closes it."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}
        with self.lock:
            self.socket_sent.append(message)
        for conn in self.socket_clients():
            conn.send_text(json.dumps(message))

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict:
        """Poll until a client acknowledged ``envelope_id``; return the ack as sent."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)
                acked = [a.get("envelope_id") for a in self.socket_acks]
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"envelope {envelope_id} was not acknowledged within {timeout}s; acked: {acked or 'nothing'}"
                )
            time.sleep(0.01)

    def _socket_claim_ticket(self, ticket: str) -> bool:
        with self.lock:
            if ticket not in self._socket_tickets:
                return False
            self._socket_tickets.discard(ticket)
            return True

    def _socket_handshake(self, ws: ServerConnection, request: Request) -> Response | None:
        """Only ``/socket`` with a ticket not used before upgrades; the ticket is spent here."""
        parts = urlsplit(request.path)
        if parts.path != SOCKET_PATH:
            return ws.respond(HTTPStatus.NOT_FOUND, "not found")
        ticket = (parse_qs(parts.query).get("ticket") or [""])[0]
        if not self._socket_claim_ticket(ticket):
            return ws.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket; call apps.connections.open")
        ws.ticket = ticket  # type: ignore[attr-defined]
        return None

    def _socket_serve(self, ws: _CountingConnection) -> None:
        """One connection: hello (sent before anyone else may send), then the client's messages until it
        closes (or the fake stops)."""
        with self.lock:
            conn = SocketConnection(next(self._socket_counter), ws.ticket, ws)  # type: ignore[attr-defined]
            num = 1 + sum(1 for c in self.socket_connections if c.open)
        hello = {
            "type": "hello",
            "num_connections": num,
            "debug_info": {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        try:
            ws.send(json.dumps(hello))
            with self.lock:
                self.socket_connections.append(conn)
            if self.socket_ping_interval:
                threading.Thread(
                    target=self._socket_pinger, args=(conn, self.socket_ping_interval),
                    name=f"fake-slack-ping-{conn.id}", daemon=True,
                ).start()
            for message in ws:
                if isinstance(message, str):
                    self._socket_received(conn, message)
        except (ConnectionClosed, OSError):
            pass
        finally:
            conn.open = False
            if ws.protocol.close_rcvd is not None:
                conn.close_code = ws.protocol.close_rcvd.code
            conn._done.set()

    def _socket_pinger(self, conn: SocketConnection, interval: float) -> None:
        while not conn._done.wait(interval):
            pong = conn.ping()
            if pong is None:
                return
            if pong.wait(max(interval, 1.0)):
                with self.lock:
                    conn.pongs += 1

    def _socket_received(self, conn: SocketConnection, text: str) -> None:
        try:
            message: Any = json.loads(text)
        except ValueError:
            message = text
        with self.lock:
            conn.received.append(message)
            if isinstance(message, dict) and "envelope_id" in message:
                self.socket_acks.append(message)

    # ---- request handling ------------------------------------------------------------------------

    def _handle_api(self, method: str, params: dict, headers: dict) -> _Reply:
        with self.lock:
            self.calls.append(Call(method=method, params=params, headers=headers, at=time.time()))
            queue = self._scripted.get(method)
            scripted = queue.popleft() if queue else None
            if scripted is not None and not scripted.after_success:
                return scripted
            if scripted is None and method in self._fail_after:
                fraction, status, draw = self._fail_after[method]
                if draw.random() < fraction:
                    scripted = _Reply(status=status, body=f"fake slack: HTTP {status}", after_success=True,
                                      drop=status == DROP)
            reply = self._authorised_call(method, params, headers)
            if scripted is not None and reply.status == 200 and isinstance(reply.body, dict) and reply.body.get("ok"):
                self.failed_after_success.append(self.calls[-1])
                return scripted
            return reply

    def _authorised_call(self, method: str, params: dict, headers: dict) -> _Reply:
        with self.lock:
            auth = headers.get("authorization", "")
            token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else params.get("token")
            if not token:
                return _error("not_authed")
            # Bot token everywhere except apps.connections.open, which wants the app-level token.
            prefix, accepted = (
                ("xapp-", self.valid_app_tokens) if method in APP_TOKEN_METHODS else ("xoxb-", self.valid_tokens)
            )
            if not isinstance(token, str) or not token.startswith(prefix):
                return _error("invalid_auth")
            if accepted is not None and token not in accepted:
                return _error("invalid_auth")
            handler = self._methods().get(method)
            if handler is None:
                return _error("unknown_method")
            needed = METHOD_SCOPES.get(method)
            if self.granted_scopes is not None and needed and not needed & self.granted_scopes:
                return _error("missing_scope", needed=",".join(sorted(needed)),
                              provided=",".join(sorted(self.granted_scopes)))
            return handler(params)

    def _handle_response_url(self, name: str, body: dict) -> _Reply:
        """A message posted to a response_url: checked as chat.postMessage checks one; Slack answers a refused
        one HTTP 400 with the error as plain text."""
        problem = message_error(body.get("blocks"), body.get("text")) if isinstance(body.get("blocks"), list) else None
        with self.lock:
            if problem is not None:
                self.rejected_responses.append((name, body, problem[0]))
                return _Reply(status=400, body=problem[0])
            self.responses.append((name, body))
            self.response_at.setdefault(name, time.time())
        return _Reply(body="ok")

    def _methods(self) -> dict:
        return {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.members": self._conversations_members,
            "conversations.history": self._conversations_history,
            "users.conversations": self._users_conversations,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

    # ---- helpers ---------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        """Slack's ts is the message's Unix time, to the microsecond: unique and increasing per channel."""
        self._last_ts = max(round(time.time(), 6), round(self._last_ts + 0.000001, 6))
        return f"{self._last_ts:.6f}"

    def _resolve_channel(self, channel: Any) -> tuple[str | None, str | None]:
        """``(channel_id, None)`` or ``(None, error)`` for a channel id, ``#name``, user id or DM id."""
        if not isinstance(channel, str) or not channel:
            return None, "channel_not_found"
        if channel in self.channels:
            info = self.channels[channel]
            if info["is_private"] and not info["is_member"]:
                return None, "not_in_channel"
            return channel, None
        if channel in self.users:
            return self.dm_channel_id(channel), None
        if channel.startswith("D") and any(self.dm_channel_id(u) == channel for u in self.users):
            return channel, None
        by_name = channel.removeprefix("#")
        for cid, info in self.channels.items():
            if info["name"] == by_name:
                return self._resolve_channel(cid)
        return None, "channel_not_found"

    @staticmethod
    def _invalid_blocks(errors: list[str]) -> _Reply:
        return _error(
            "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
        )

    @staticmethod
    def _message_content_error(params: dict) -> _Reply | None:
        blocks, text, attachments = params.get("blocks"), params.get("text"), params.get("attachments")
        if isinstance(blocks, str):  # a JSON string that did not decode
            return _error("invalid_blocks_format")
        if isinstance(attachments, str):
            return _error("invalid_attachments")
        if not text and not blocks and not attachments:
            return _error("no_text")
        problem = message_error(blocks, text)
        if problem is None:
            return None
        error, errors = problem
        return FakeSlack._invalid_blocks(errors) if errors else _error(error)

    @staticmethod
    def _message_object(msg: dict) -> dict:
        out = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": msg.get("text") or "",
            "ts": msg["ts"],
        }
        if msg.get("blocks") is not None:
            out["blocks"] = msg["blocks"]
        if msg.get("thread_ts"):
            out["thread_ts"] = msg["thread_ts"]
        return out

    # ---- methods ---------------------------------------------------------------------------------

    def _apps_connections_open(self, params: dict) -> _Reply:
        ticket = uuid.uuid4().hex
        self._socket_tickets.add(ticket)
        return _ok(url=f"{self.socket_url}?ticket={ticket}&app_id={APP_ID}")

    def _auth_test(self, params: dict) -> _Reply:
        return _ok(
            url=TEAM_URL,
            team=TEAM_NAME,
            user=BOT_USER_NAME,
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def _chat_post_message(self, params: dict) -> _Reply:
        channel, problem = self._resolve_channel(params.get("channel"))
        if problem:
            return _error(problem)
        assert channel is not None
        bad = self._message_content_error(params)
        if bad:
            return bad
        if self.enforce_channel_rate is not None:
            now = time.monotonic()
            last = self._last_post.get(channel)
            if last is not None and now - last < self.enforce_channel_rate - ARRIVAL_JITTER:
                return _ratelimited(1)
            self._last_post[channel] = now
        ts = self._next_ts()
        msg = {
            "channel": channel,
            "ts": ts,
            "text": params.get("text"),
            "blocks": params.get("blocks"),
            "thread_ts": params.get("thread_ts"),
            "attachments": params.get("attachments"),
            "metadata": params.get("metadata"),
        }
        self.messages[(channel, ts)] = msg
        return _ok(channel=channel, ts=ts, message=self._message_object(msg))

    def _chat_update(self, params: dict) -> _Reply:
        if not params.get("channel") or not params.get("ts"):
            return _missing(*[k for k in ("channel", "ts") if not params.get(k)])
        channel, problem = self._resolve_channel(params["channel"])
        if problem:
            return _error(problem)
        msg = self.messages.get((channel, params["ts"]))  # type: ignore[arg-type]
        if msg is None:
            return _error("message_not_found")
        bad = self._message_content_error(params)
        if bad:
            return bad
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                msg[key] = params[key]
        msg["edited_at"] = time.time()
        return _ok(
            channel=channel, ts=msg["ts"], text=msg.get("text") or "", message=self._message_object(msg)
        )

    def _chat_post_ephemeral(self, params: dict) -> _Reply:
        if not params.get("channel") or not params.get("user"):
            return _missing(*[k for k in ("channel", "user") if not params.get(k)])
        _, problem = self._resolve_channel(params["channel"])
        if problem:
            return _error(problem)
        if params["user"] not in self.users:
            return _error("user_not_found")
        bad = self._message_content_error(params)
        if bad:
            return bad
        return _ok(message_ts=self._next_ts())

    def _users_lookup_by_email(self, params: dict) -> _Reply:
        email = params.get("email")
        if not email:
            return _missing("email")
        for user in self.users.values():
            if user["profile"]["email"].lower() == str(email).lower():
                return _ok(user=user)
        return _error("users_not_found")

    def _users_info(self, params: dict) -> _Reply:
        user_id = params.get("user")
        if not user_id:
            return _missing("user")
        user = self.users.get(user_id)
        return _ok(user=user) if user else _error("user_not_found")

    def _conversations_info(self, params: dict) -> _Reply:
        channel = params.get("channel")
        if not channel:
            return _missing("channel")
        if channel in self.channels:
            return _ok(channel=self.channels[channel])
        for user_id in self.users:
            if self.dm_channel_id(user_id) == channel:
                return _ok(channel={"id": channel, "is_im": True, "user": user_id, "is_open": True})
        return _error("channel_not_found")

    def _conversations_open(self, params: dict) -> _Reply:
        if params.get("channel"):
            return self._conversations_info({"channel": params["channel"]})
        users = params.get("users")
        if isinstance(users, str):
            users = [u.strip() for u in users.split(",") if u.strip()]
        if not users:
            return _missing("users")
        for user_id in users:
            if user_id not in self.users:
                return _error("user_not_found")
        if len(users) == 1:
            return _ok(channel={"id": self.dm_channel_id(users[0])}, no_op=False, already_open=False)
        return _ok(channel={"id": "G" + "".join(u[1:] for u in sorted(users))[:20]})

    def _users_conversations(self, params: dict) -> _Reply:
        """The conversations the bot is in, of the ``types`` asked for (default ``public_channel``), ``limit``
        (default 100) a page, ``cursor`` an offset. A DM exists once something was posted to it; each IM
        object names its ``user``, as Slack's do."""
        types = {t.strip() for t in str(params.get("types") or "public_channel").split(",")}
        found: list[dict] = []
        for channel in self.channels.values():
            kind = "private_channel" if channel["is_private"] else "public_channel"
            if kind in types and channel["is_member"]:
                found.append(dict(channel))
        if "im" in types:
            opened = {c for c, _ in self.messages}
            for user_id, user in self.users.items():
                dm = self.dm_channel_id(user_id)
                if dm in opened and not user.get("is_bot"):
                    found.append({"id": dm, "is_im": True, "user": user_id, "created": 0, "is_user_deleted": False})
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        more = start + limit < len(found)
        return _ok(channels=found[start:start + limit],
                   response_metadata={"next_cursor": str(start + limit) if more else ""})

    def _conversations_history(self, params: dict) -> _Reply:
        """Top-level messages of a channel or DM, newest first, between ``oldest`` and ``latest`` (exclusive
        unless ``inclusive``), ``limit`` (default 100) a page, ``cursor`` an offset; ``metadata``
        (``{"event_type", "event_payload"}``) only with ``include_all_metadata``, as Slack does. A channel the
        bot is not in answers ``not_in_channel``."""
        channel = params.get("channel")
        if not channel:
            return _missing("channel")
        info = self.channels.get(channel)
        if info is None and not (channel.startswith("D") and any(self.dm_channel_id(u) == channel for u in self.users)):
            return _error("channel_not_found")
        if info is not None and not info["is_member"]:
            return _error("not_in_channel")
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or time.time() + 1)
        metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")

        def within(ts: float) -> bool:
            return oldest <= ts <= latest if inclusive else oldest < ts < latest

        found = sorted((m for (c, _), m in self.messages.items()
                        if c == channel and (not m.get("thread_ts") or m["thread_ts"] == m["ts"])
                        and within(float(m["ts"]))), key=lambda m: float(m["ts"]), reverse=True)
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = []
        for msg in found[start:start + limit]:
            out = self._message_object(msg)
            if metadata and msg.get("metadata"):
                out["metadata"] = {"event_type": msg["metadata"].get("event_type"),
                                   "event_payload": msg["metadata"].get("event_payload") or {}}
            page.append(out)
        more = start + limit < len(found)
        return _ok(messages=page, has_more=more, response_metadata={"next_cursor": str(start + limit) if more else ""})

    def _conversations_members(self, params: dict) -> _Reply:
        """Paged like Slack's: ``limit`` (default 100) and ``cursor`` (an offset here)."""
        channel = params.get("channel")
        if not channel:
            return _missing("channel")
        info = self.channels.get(channel)
        if info is None or (info["is_private"] and not info["is_member"]):
            return _error("channel_not_found")  # Slack does not show a private channel to a bot outside it
        members = self.members.get(channel, [])
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = members[start:start + limit]
        cursor = str(start + limit) if start + limit < len(members) else ""
        return _ok(members=page, response_metadata={"next_cursor": cursor})

    def _usergroups_users_list(self, params: dict) -> _Reply:
        group = params.get("usergroup")
        if not group:
            return _missing("usergroup")
        if group not in self.usergroups:
            return _error("no_such_subteam")
        return _ok(users=list(self.usergroups[group]))

    def _conversations_join(self, params: dict) -> _Reply:
        channel = params.get("channel")
        if not channel:
            return _missing("channel")
        info = self.channels.get(channel)
        if info is None:
            return _error("channel_not_found")
        if info["is_private"]:
            return _error("method_not_supported_for_channel_type")
        info["is_member"] = True
        return _ok(channel=info)

    def _view_error(self, params: dict) -> _Reply | None:
        view = params.get("view")
        if view is None:
            return _missing("view")
        errors = validate_view(view)
        if errors:
            return _error(
                "invalid_arguments",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return None

    def _store_view(self, view: dict, *, view_id: str | None = None, previous: dict | None = None) -> dict:
        if view_id is None:
            view_id = f"V{next(self._view_counter):08d}"
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._hash_counter):08d}",
            "root_view_id": (previous or {}).get("root_view_id", view_id),
            "previous_view_id": None,
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
        }
        for key in ("title", "submit", "close"):
            stored[key] = view.get(key)
        self.views[view_id] = stored
        return stored

    def _views_open(self, params: dict) -> _Reply:
        if not params.get("trigger_id"):
            return _missing("trigger_id")
        bad = self._view_error(params) or self._trigger_error(params["trigger_id"])
        return bad or _ok(view=self._store_view(params["view"]))

    def _views_push(self, params: dict) -> _Reply:
        return self._views_open(params)

    def _views_update(self, params: dict) -> _Reply:
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        if not view_id and not external_id:
            return _missing("view_id")
        bad = self._view_error(params)
        if bad:
            return bad
        if not view_id:
            view_id = next((i for i, v in self.views.items() if v["external_id"] == external_id), None)
        previous = self.views.get(view_id) if view_id else None
        if previous is None:
            return _error("not_found")
        if params.get("hash") and params["hash"] != previous["hash"]:
            return _error("hash_conflict")
        return _ok(view=self._store_view(params["view"], view_id=view_id, previous=previous))

    def _views_publish(self, params: dict) -> _Reply:
        user_id = params.get("user_id")
        if not user_id:
            return _missing("user_id")
        if user_id not in self.users:
            return _error("user_not_found")
        bad = self._view_error(params)
        if bad:
            return bad
        stored = self._store_view(params["view"])
        self.homes[user_id] = stored["id"]
        return _ok(view=stored)


# --------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------


def _decode_json_fields(params: dict) -> dict:
    for key in JSON_STRING_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # If it does not decode it stays a string: the method answers invalid_blocks_format etc.
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _parse_params(query: str, content_type: str, raw: bytes) -> dict:
    """Query string, then the body (JSON object or form-urlencoded) on top; JSON-string fields decoded."""
    params: dict[str, Any] = _parse_form(query)
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type or (not content_type and text.lstrip().startswith("{")):
        if text.strip():
            body = json.loads(text)
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
    else:
        params.update(_parse_form(text))
    return _decode_json_fields(params)


def _parse_form(text: str) -> dict[str, Any]:
    """Form/query pairs; a key given once maps to a string, a repeated key to a list."""
    return {
        key: values[0] if len(values) == 1 else values
        for key, values in parse_qs(text, keep_blank_values=True).items()
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs under concurrent clients, which then retry after ~1 s.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    def _send(self, reply: _Reply) -> None:
        if isinstance(reply.body, str):
            payload = reply.body.encode("utf-8")
            content_type = "text/plain; charset=utf-8"
        else:
            payload = json.dumps(reply.body).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        try:
            parts = urlsplit(self.path)
            raw = self._read_body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            if parts.path.startswith("/api/"):
                method = parts.path[len("/api/") :]
                try:
                    params = _parse_params(parts.query, headers.get("content-type", ""), raw)
                except ValueError:
                    self._send(_error("invalid_json"))
                    return
                reply = self.fake._handle_api(method, params, headers)
                delay = self.fake.latency.get(method)
                if delay:
                    time.sleep(delay)  # outside the lock: a slow method does not hold up the others
                if reply.drop:  # as if the connection broke after Slack did the work
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._send(reply)
            elif parts.path.startswith("/response/") and self.command == "POST":
                name = parts.path[len("/response/") :]
                text = raw.decode("utf-8", errors="replace")
                try:
                    body = json.loads(text) if text.strip() else {}
                except ValueError:
                    body = {"_raw": text}
                if not isinstance(body, dict):
                    body = {"_raw": body}
                self._send(self.fake._handle_response_url(name, body))
            else:
                self._send(_Reply(status=404, body="not found"))
        except Exception:
            with self.fake.lock:
                self.fake.internal_errors.append(traceback.format_exc())
            self._send(_Reply(status=500, body="fake slack internal error"))

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self._dispatch()

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self._dispatch()
