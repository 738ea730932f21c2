"""Logging: request ids on every record, secrets masked, human lines or JSON lines.

setup() installs one stderr handler on the root logger with two filters: RequestIdFilter (adds
record.request_id from the current request's context, "-" outside one) and RedactFilter (masks Slack
tokens, bearer credentials, HubSpot private-app tokens and long hex secrets in the message and its
arguments). RequestIdMiddleware gives every HTTP request an id: the caller's X-Request-Id when it is a
sane token, else a fresh one, echoed on the response.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import traceback
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("leadbrief_request_id", default=None)

MASK = "[redacted]"
_SECRETS = re.compile(
    r"""
      \bxox[abpre]-[A-Za-z0-9-]+          # Slack bot/user/app-config/refresh tokens
    | \bxapp-[A-Za-z0-9-]+                # Slack app-level tokens
    | \bpat-[A-Za-z0-9-]{8,}              # HubSpot private-app tokens
    | (?<=Bearer\ )[A-Za-z0-9._~+/=-]+    # any bearer credential (the word Bearer is kept)
    | (?<=bearer\ )[A-Za-z0-9._~+/=-]+
    | \b[0-9a-fA-F]{32,}\b                # long hex: signing secrets, HMACs, API keys
    """,
    re.VERBOSE,
)


def redact(text: str) -> str:
    return _SECRETS.sub(MASK, text)


def _redact_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else (exceptions, dicts, objects): replaced by its masked text only when that text holds a
    # secret, so "%r" and "%d" still format ordinary values as before.
    text = str(value)
    masked = redact(text)
    return value if masked == text else masked


class RedactFilter(logging.Filter):
    """Masks secrets in the message, its arguments and any formatted traceback, so none reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        elif record.msg is not None and not isinstance(record.msg, int | float):
            record.msg = redact(str(record.msg))
        if isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_arg(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, and exc when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(level: int = logging.WARNING, json: bool = False, stream=None) -> logging.Handler:
    """Install the leadbrief handler on the root logger (replacing one installed before)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name("leadbrief")
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(HUMAN_FORMAT))
    install_filters(handler)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "leadbrief"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


FORMAT_ENV = "LEADBRIEF_LOG_FORMAT"


def setup_from_env(level: int = logging.WARNING, env: Mapping[str, str] | None = None) -> logging.Handler:
    """setup() with JSON lines when LEADBRIEF_LOG_FORMAT=json (in the environment, else in ./.env, which
    the settings read later), else human lines."""
    if env is None:
        env = os.environ
        if FORMAT_ENV not in env and (Path.cwd() / ".env").is_file():
            env = {FORMAT_ENV: dotenv_values(Path.cwd() / ".env").get(FORMAT_ENV) or ""}
    fmt = (env.get(FORMAT_ENV) or "").strip().lower()
    handler = setup(level, json=fmt == "json")
    if fmt not in ("", "json", "text"):
        logging.getLogger("leadbrief").warning("%s=%r is not json or text; using text", FORMAT_ENV, fmt)
    return handler


def install_filters(handler: logging.Handler) -> None:
    """Add the request-id and redaction filters to a handler (idempotent)."""
    for cls in (RequestIdFilter, RedactFilter):
        if not any(isinstance(f, cls) for f in handler.filters):
            handler.addFilter(cls())


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def sane_request_id(value: str | None) -> str | None:
    return value if value and _SANE_ID.match(value) else None


class RequestIdMiddleware:
    """Pure ASGI: sets the request id for the request's context and echoes it as X-Request-Id."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                offered = sane_request_id(value.decode("latin-1"))
                break
        rid = offered or new_request_id()
        token = request_id.set(rid)

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


_errors = logging.getLogger("leadbrief.errors")


def raised_at(exc: BaseException) -> str:
    """Where an exception was raised: the innermost frame, and the innermost of ours when that is elsewhere."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    root = str(Path(__file__).resolve().parent.parent)

    def where(frame: traceback.FrameSummary) -> str:
        name = frame.filename.removeprefix(root).lstrip("/")
        return f"{name}:{frame.lineno} in {frame.name}"

    ours = [f for f in frames if f.filename.startswith(root) and "site-packages" not in f.filename]
    places = [where(frames[-1])]
    if ours and ours[-1] is not frames[-1]:
        places.append(f"from {where(ours[-1])}")
    return " ".join(places)


class UnhandledErrorMiddleware:
    """Pure ASGI, inside RequestIdMiddleware: an exception no handler caught is our fault, so a 500, logged as one
    line with its type and where it was raised (the request id ties it to the request). Never a traceback: an
    exception's text (a value, a row) can quote lead data, and a client's request must not fill the log.
    Client errors are answered where they are found, not here."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the last resort, by design
            _errors.error("%s %s failed: %s at %s", scope.get("method"), scope.get("path"), type(exc).__name__,
                          raised_at(exc))
            if not started:
                body = b'{"error":"internal error; nothing about it is in the response, see the server log"}'
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
