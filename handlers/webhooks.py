"""POST /webhooks/events (the generic event contract) and the endpoint every source shares.

Parse, authenticate, hand the events to the ingest use case, answer; nothing else."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from bot import metrics
from bot.settings import Settings, SourceConfig
from bot.usecases.ingest import StoreFailure, ingest, store_failure
from briefs.events import FieldError, InvalidBatch, split_batch

log = logging.getLogger("leadbrief.webhooks")

TOLERANCE_SECONDS = 300
TIMESTAMP_HEADER = "X-Leadbrief-Timestamp"
SIGNATURE_HEADER = "X-Leadbrief-Signature"


class BodyTooLarge(Exception):
    pass


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), b"v1:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def check_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """None when authentic; otherwise what is wrong, for the 401 body."""
    if not timestamp or not signature:
        return f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header"
    try:
        ts = int(timestamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} must be unix seconds"
    if abs(now - ts) > TOLERANCE_SECONDS:
        return f"{TIMESTAMP_HEADER} is more than {TOLERANCE_SECONDS} s from our clock; sign each request when you send it"
    expected = sign(secret, timestamp, body)
    # Several space/comma separated signatures are allowed, so senders can rotate secrets.
    offered = [s.strip() for s in signature.replace(",", " ").split() if s.strip()]
    if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in offered):
        return f"{SIGNATURE_HEADER} does not match the body (expected v1=hex HMAC-SHA256 of \"v1:<timestamp>:<body>\")"
    return None


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


MAX_DETAILS = 50  # skipped records named in an answer; the count says how many there were


@dataclass(frozen=True)
class Translated:
    """What a delivery holds for us. One bad record never costs the good ones: the events are applied, and
    the sender is told what was not (ignored, skipped) with a 2xx, so it does not redeliver the good ones."""

    events: list
    ignored: int = 0  # records of types or objects we do not use: acknowledged and counted, not errors
    # Records we could not read (an invalid field), each named: acknowledged, counted and logged, not applied.
    skipped: list[FieldError] = field(default_factory=list)

    @property
    def skipped_records(self) -> int:
        return len({e.index for e in self.skipped})


@dataclass(frozen=True)
class WebhookDoc:
    """What the OpenAPI document says of a source's endpoint (handlers/openapi.py adds the shared answers)."""

    summary: str
    authentication: str  # how a delivery proves it comes from the source
    content_type: str = "application/json"
    # The answer to a stored delivery, when it is not our JSON counts (202): status -> OpenAPI response.
    stored: Mapping[str, Any] | None = None
    # The media type of refusals, when they are not our JSON errors (Salesforce: SOAP faults, text/xml).
    refusal_content_type: str | None = None
    # Refusals this source has besides the shared ones: status -> description.
    more_refusals: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Source:
    """One inbound webhook, POST /webhooks/<name>: how it authenticates, how its payload becomes our events,
    its settings and its OpenAPI description. handlers/sources/<name>.py defines one as SOURCE.

    authenticate(request, body, settings) returns None when authentic, else the 401 message; it raises
    SourceNotConfigured when its secret is not set. translate(body, request, settings) returns Translated
    or raises InvalidBatch (400, naming the field). Both read the source's own settings with config.of(settings)."""

    name: str
    authenticate: Callable[[Request, bytes, Settings], str | None]
    translate: Callable[[bytes, Request, Settings], Translated]
    doc: WebhookDoc | None = None  # None: the generic contract, which handlers/openapi.py describes in full
    config: SourceConfig[Any] | None = None
    # Some senders need a particular answer (Salesforce wants a SOAP Ack); default: our JSON.
    respond: Callable[[dict], Response] | None = None
    # And a particular refusal (Salesforce: a SOAP fault): (status, our JSON error body, headers) -> Response.
    refuse: Callable[[int, dict, dict[str, str]], Response] | None = None


class SourceNotConfigured(Exception):
    pass


def _generic_auth(request: Request, body: bytes, settings: Settings) -> str | None:
    return check_signature(
        settings.require_webhook_secret(),
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        body,
        time.time(),
    )


def _generic_translate(body: bytes, _request: Request, _settings: Settings) -> Translated:
    events, errors = split_batch(body)
    if errors and not events:
        bad = len({e.index for e in errors})
        raise InvalidBatch(f"{bad} of {bad} events are invalid; nothing was stored", errors)
    return Translated(events, skipped=errors)


GENERIC = Source("events", _generic_auth, _generic_translate)


def add_source(app: Starlette, source: Source) -> None:
    services = app.state.services
    if not hasattr(app.state, "ingest_gate"):
        # One batch is applied at a time: writers queue on the database anyway (SQLite has one writer), and
        # fewer threads holding the GIL keep /lead acknowledgements quick during a webhook burst.
        app.state.ingest_gate = asyncio.Semaphore(1)
    gate = app.state.ingest_gate

    def refused(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
        if source.refuse:
            return source.refuse(status, body, headers or {})
        return JSONResponse(body, status_code=status, headers=headers)

    async def endpoint(request: Request) -> Response:
        settings = services.settings
        try:
            body = await read_body(request, settings.max_body_bytes)
        except BodyTooLarge:
            metrics.event_rejected(source.name, "too_large")
            return refused(413, {"error": f"body is larger than {settings.max_body_bytes} bytes"})
        except ClientDisconnect:
            metrics.event_rejected(source.name, "invalid")
            return refused(400, {"error": "client disconnected before the body was read"})
        try:
            problem = source.authenticate(request, body, settings)
        except SourceNotConfigured as exc:
            return refused(404, {"error": str(exc)})
        if problem:
            log.warning("rejected %s webhook from %s: %s", source.name,
                        request.client.host if request.client else "?", problem)
            metrics.event_rejected(source.name, "signature")
            return refused(401, {"error": problem})
        try:
            # Off the event loop: some sources call their vendor's API (HubSpot) to complete a delivery.
            translated = await run_in_threadpool(source.translate, body, request, settings)
        except InvalidBatch as exc:
            metrics.event_rejected(source.name, metrics.REJECT_REASONS.get(exc.status, "invalid"))
            return refused(exc.status, exc.as_dict())
        result = None
        if translated.events:
            try:
                async with gate:
                    result = await run_in_threadpool(
                        partial(ingest, triage_policy=settings.triage.policy, accounts=settings.accounts), services.sessions, translated.events,
                        settings.rules, services.clock()
                    )
            except Exception as exc:
                failure = store_failure(exc)
                if failure is None:
                    raise
                status, answer, headers = _store_failed(source.name, failure, len(translated.events))
                return refused(status, answer, headers)
            metrics.events_ingested(
                source.name,
                metrics.accepted_by_type((e.type for e in translated.events), result.accepted, result.duplicates),
                result.duplicates,
            )
            if result.qualifications:
                services.wake_delivery()
        summary = {
            "accepted": result.accepted if result else 0,
            "duplicates": result.duplicates if result else 0,
            "qualified": len(result.qualifications) if result else 0,
        }
        if translated.ignored:
            summary["ignored"] = translated.ignored
        if translated.skipped:
            summary["skipped"] = translated.skipped_records
            summary["details"] = [e.as_dict() for e in translated.skipped[:MAX_DETAILS]]
            # Fields and reasons only: a message names the field, never the lead's value.
            log.warning("%s webhook: %d record(s) skipped: %s", source.name, translated.skipped_records,
                        "; ".join(f"[{e.index}] {e.field}" for e in translated.skipped[:MAX_DETAILS]))
        metrics.events_skipped(source.name, translated.skipped_records, translated.ignored)
        log.info("%s webhook: %s", source.name,
                 {k: v for k, v in summary.items() if k != "details"})
        if source.respond:
            return source.respond(summary)
        return JSONResponse(summary, status_code=202)

    app.add_route(f"/webhooks/{source.name}", endpoint, methods=["POST"])


def _store_failed(source_name: str, failure: StoreFailure, count: int) -> tuple[int, dict, dict[str, str]]:
    if failure.unavailable:
        log.exception("database unavailable while ingesting %d %s events", count, source_name)
        metrics.event_rejected(source_name, "unavailable")
        return 503, {"error": "database unavailable; nothing was stored, retry later"}, {"Retry-After": "5"}
    # A value the database cannot store that validation let through: the sender's data, so a 400. Logged
    # without the database's message, which can quote the value.
    log.warning("%s webhook: a value could not be stored (%s)", source_name, failure.detail)
    metrics.event_rejected(source_name, "invalid")
    return 400, {"error": "a value in the batch could not be stored; nothing was stored", "details": []}, {}


def register(app: Starlette) -> None:
    add_source(app, GENERIC)
