"""POST /webhooks/segment: Segment's Webhooks destination (Actions or Classic) into our events.

A body is one Segment message (https://segment.com/docs/connections/spec/), a batch {"batch": [...]}
(the HTTP Tracking API's import format) or a JSON array (Webhooks (Actions) with batching on).

    identify with an email (traits.email, context.traits.email)
             -> lead.upsert (traits), linking the message's userId and anonymousId to the lead
    identify without one, with userId and anonymousId -> identity.link: the anonymousId is that userId
    alias    -> identity.link: previousId (an anonymousId or an older userId: linked as either) is userId
    track    -> activity, kind from the event name (DEFAULT_EVENTS, overridden by [sources.segment] events)
    page     -> activity web_visit (properties.url; page_title from properties.title, else name)
    A page or track call names the lead by email (context.traits.email...) when it carries one, else by its
    userId / anonymousId: applied at once when those are linked to a lead, else kept until they are.
    screen, group, unmapped track events, identify of nobody known -> ignored (counted, not errors)
    A message we cannot read (no messageId, an unknown type, a bad field) -> skipped, named; the rest are applied.

Authentication: Segment signs with X-Signature, the hex HMAC-SHA1 of the body under the shared secret.
With batching on, Webhooks (Actions) signs only the first event of the array (Twilio support article
"How Segment Computes x-signature for Batched Webhooks"), which leaves the rest unauthenticated: such
deliveries are refused with a message saying to turn batching off.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from bot.settings import ConfigError, Settings, SourceConfig, env_secret
from briefs.events import (
    ACTIVITY_KINDS,
    EMAIL_RE,
    MAX_BATCH,
    MAX_JSON_DEPTH,
    FieldError,
    InvalidBatch,
    body_json,
    validate_event,
)
from handlers.sources.payload import dig
from handlers.webhooks import Source, SourceNotConfigured, Translated, WebhookDoc

SOURCE_NAME = "segment"
SIGNATURE_HEADER = "X-Signature"
MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")

# Segment's spec'd Email events (https://segment.com/docs/connections/spec/email/) and the common B2B ones.
DEFAULT_EVENTS: dict[str, str] = {
    "Email Sent": "email_sent",
    "Email Delivered": "email_delivered",
    "Email Opened": "email_open",
    "Email Link Clicked": "email_click",
    "Unsubscribed": "unsubscribe",
    "Form Submitted": "form_submit",
    "Demo Requested": "form_submit",
    "Webinar Registered": "webinar_registered",
    "Webinar Attended": "webinar_attended",
    "Content Downloaded": "content_download",
    "Asset Downloaded": "content_download",
    "Meeting Booked": "meeting_booked",
}
DEMO_FORM = "Request a Demo"
# Segment caps one message at 32 KB: a batch's first event (what it signs) is never longer.
MAX_FIRST_BYTES = 64 * 1024
# A JSON string (escapes included) or a bracket.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


@dataclass(frozen=True)
class SegmentSettings:
    secret: str | None = field(default=None, repr=False)  # SEGMENT_SHARED_SECRET: enables the endpoint
    # Track event name -> activity kind, from [sources.segment] events (merged over DEFAULT_EVENTS).
    events: Mapping[str, str] = field(default_factory=dict)


def _load(env: Mapping[str, str], section: Any, where: str) -> SegmentSettings:
    if not isinstance(section, dict) or set(section) - {"events"}:
        raise ConfigError(f"{where}: [sources.segment] takes only events = {{\"Event Name\" = \"kind\"}}")
    events = section.get("events", {})
    if not isinstance(events, dict):
        raise ConfigError(f"{where}: [sources.segment] takes only events = {{\"Event Name\" = \"kind\"}}")
    bad = [f"{k!r} = {v!r}" for k, v in events.items() if not isinstance(v, str) or v not in (*ACTIVITY_KINDS, "ignore")]
    if bad:
        raise ConfigError(
            f"{where}: sources.segment.events {', '.join(bad)}: expected one of {', '.join(ACTIVITY_KINDS)} or ignore"
        )
    return SegmentSettings(secret=env_secret(env, "SEGMENT_SHARED_SECRET"), events=dict(events))


CONFIG = SourceConfig(SOURCE_NAME, SegmentSettings(), _load, takes_section=True)


def _sign(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha1).hexdigest()


def _first_of_array(body: bytes) -> tuple[bytes, bool] | None:
    """For a JSON array of messages: the raw bytes of its first message, and whether more elements follow.

    This runs before the body is authenticated, so nothing is parsed: the message's end is found by counting
    brackets (outside strings), over no more than one Segment message can be (32 KB; MAX_FIRST_BYTES is twice
    that) and no deeper than we parse. Anything else is no batch Segment signed, and stays unauthenticated."""
    head = body[:MAX_FIRST_BYTES]
    start = len(head) - len(head.lstrip())
    if head[start:start + 1] != b"[":
        return None
    first = len(head) - len(head[start + 1:].lstrip())
    if head[first:first + 1] != b"{":
        return None
    depth = 0
    for token in _TOKENS.finditer(head, first):
        bracket = token.group()
        if bracket[:1] == b'"':
            continue
        depth += 1 if bracket in (b"{", b"[") else -1
        if depth > MAX_JSON_DEPTH:
            return None
        if depth == 0:
            return head[first:token.end()], body[token.end():].lstrip().startswith(b",")
    return None


def authenticate(request: Request, body: bytes, settings: Settings) -> str | None:
    secret = CONFIG.of(settings).secret
    if not secret:
        raise SourceNotConfigured("Segment webhooks are not enabled: set SEGMENT_SHARED_SECRET")
    offered = (request.headers.get(SIGNATURE_HEADER) or "").strip().lower()
    if not offered:
        return f"missing {SIGNATURE_HEADER} header (set the Shared Secret in Segment's Webhooks destination)"
    if hmac.compare_digest(_sign(secret, body).encode(), offered.encode()):
        return None
    first = _first_of_array(body)
    if first and hmac.compare_digest(_sign(secret, first[0]).encode(), offered.encode()):
        if not first[1]:
            return None  # an array of one: the signature covers all of it
        return ("batched delivery: Segment signs only the first event of a batch, so the others cannot be "
                "authenticated; turn batching off in the Webhooks (Actions) mapping")
    return f"{SIGNATURE_HEADER} does not match the body (expected the hex HMAC-SHA1 of the body with the shared secret)"


# --- translation ---------------------------------------------------------------------------------


_get = dig


def _pick(msg: dict, *paths: str) -> tuple[Any, str | None]:
    """The first present, non-empty value among paths, and its path."""
    for path in paths:
        value = _get(msg, path)
        if value is not None and value != "":
            return value, path
    return None, None


class _Builder:
    """Builds one of our events from one Segment message, remembering where each field came from."""

    def __init__(self, msg: dict):
        self.msg = msg
        self.origin: dict[str, str] = {}

    def take(self, target: dict, key: str, field: str, *paths: str) -> None:
        value, path = _pick(self.msg, *paths)
        if path is not None:
            target[key] = value
            self.origin[field] = path


def _email(msg: dict, *paths: str) -> tuple[str | None, str | None]:
    for path in paths:
        value = _get(msg, path)
        if isinstance(value, str) and EMAIL_RE.match(value.strip()):
            return value, path
    return None, None


def _timestamp(b: _Builder, event: dict) -> None:
    b.take(event, "occurred_at", "occurred_at", "timestamp", "originalTimestamp", "receivedAt")
    b.origin.setdefault("occurred_at", "timestamp")


def _id(value: Any) -> str | None:
    """A Segment id as text: a non-empty string or a number (some server libraries send numeric user ids)."""
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        return None
    return str(value)


def _visitor(msg: dict) -> dict[str, str] | None:
    """The message's userId / anonymousId, as our visitor (None when it has neither)."""
    visitor = {ours: value for ours, theirs in (("user_id", "userId"), ("anonymous_id", "anonymousId"))
               if (value := _id(msg.get(theirs))) is not None}
    return visitor or None


def _identify(b: _Builder, msg: dict) -> dict | None:
    email, path = _email(msg, "traits.email", "context.traits.email")
    if not email:
        # Nobody we know yet; an anonymousId becoming a userId is still worth keeping.
        visitor = _visitor(msg)
        if visitor and "user_id" in visitor and "anonymous_id" in visitor:
            b.origin.update({"visitor.anonymous_id": "anonymousId", "user_id": "userId"})
            event = {"type": "identity.link", "visitor": {"anonymous_id": visitor["anonymous_id"]},
                     "user_id": visitor["user_id"]}
            _timestamp(b, event)
            return event
        return None
    lead: dict[str, Any] = {"email": email}
    b.origin["lead.email"] = path
    for ours, names in (
        ("first_name", ("firstName", "first_name")),
        ("last_name", ("lastName", "last_name")),
        ("title", ("title", "jobTitle", "job_title")),
        ("phone", ("phone",)),
        ("lifecycle_stage", ("lifecycleStage", "lifecycle_stage", "lifecyclestage")),
        ("score", ("leadScore", "lead_score", "score")),
    ):
        b.take(lead, ours, f"lead.{ours}", *(f"{root}.{n}" for n in names for root in ("traits", "context.traits")))
    if "first_name" not in lead and "last_name" not in lead:
        name, name_path = _pick(msg, "traits.name", "context.traits.name")
        if isinstance(name, str) and name.strip():
            first, _, last = name.strip().partition(" ")
            lead["first_name"] = first
            b.origin["lead.first_name"] = name_path
            if last.strip():
                lead["last_name"] = last
                b.origin["lead.last_name"] = name_path
    company, company_path = _pick(msg, "traits.company", "context.traits.company")
    if isinstance(company, dict):
        company, company_path = company.get("name"), f"{company_path}.name"
    if company is not None and company != "":
        lead["company"] = company
        b.origin["lead.company"] = company_path
    event: dict[str, Any] = {"type": "lead.upsert", "lead": lead}
    visitor = _visitor(msg)
    if visitor:
        event["visitor"] = visitor
        b.origin.update({"visitor.user_id": "userId", "visitor.anonymous_id": "anonymousId"})
    _timestamp(b, event)
    return event


def _alias(b: _Builder, msg: dict) -> dict | None:
    previous, user = _id(msg.get("previousId")), _id(msg.get("userId"))
    if previous is None or user is None or previous.strip() == user.strip():
        return None  # nothing to link (an alias of an id to itself)
    # previousId is "an Anonymous ID assigned to that user or a User ID you previously identified them with"
    # (Segment's Alias spec): which one is not said, so it is linked as either.
    event = {"type": "identity.link", "visitor": {"anonymous_id": previous, "user_id": previous}, "user_id": user}
    b.origin.update({"visitor": "previousId", "visitor.anonymous_id": "previousId",
                     "visitor.user_id": "previousId", "user_id": "userId"})
    _timestamp(b, event)
    return event


# Email events whose user agent, IP and message ids are carried for machine opens (sends: the delivery time).
MACHINE_OPEN_KINDS = frozenset({"email_sent", "email_delivered", "email_open", "email_click"})


def _props(*names: str) -> tuple[str, ...]:
    return tuple(f"properties.{n}" for n in names)


def _activity(b: _Builder, msg: dict, kind: str, event_name: str | None) -> dict | None:
    email, path = _email(msg, "context.traits.email", "traits.email", "properties.email", "properties.recipient")
    event: dict[str, Any] = {"type": "activity", "kind": kind}
    if email:
        event["email"] = email
        b.origin["email"] = path
    else:
        # No email: the userId / anonymousId name the person (validation says so when there is neither).
        visitor = _visitor(msg)
        if visitor is None:
            return None  # translate() names what is missing
        event["visitor"] = visitor
        b.origin.update({"visitor.user_id": "userId", "visitor.anonymous_id": "anonymousId"})
    _timestamp(b, event)
    extra: dict[str, Any] = {}
    if event_name:
        extra["segment_event"] = event_name
    if kind.startswith("email_") or kind == "unsubscribe":
        b.take(event, "subject", "subject", *_props("email_subject", "subject"))
        b.take(event, "campaign", "campaign", *_props("campaign_name", "campaign"))
        b.take(event, "url", "url", *_props("link_url"))
        if kind in MACHINE_OPEN_KINDS:
            # What triage reads to tell a person's open from a machine's (docs/triage.md, "Machine activity"):
            # the client's user agent and IP (analytics.js spells them userAgent/ip; the Email spec user_agent),
            # and the ids that tie an open to its delivery.
            b.take(extra, "user_agent", "properties.user_agent", *_props("user_agent"), "context.userAgent",
                   "context.user_agent")
            b.take(extra, "ip", "properties.ip", *_props("ip"), "context.ip")
            b.take(extra, "email_id", "properties.email_id", *_props("email_id"))
            b.take(extra, "campaign_id", "properties.campaign_id", *_props("campaign_id"))
    elif kind == "form_submit":
        b.take(event, "form", "form", *_props("form_name", "formName", "form_title", "form", "form_id"))
        b.take(event, "comments", "comments", *_props("message", "comments", "comment"))
        if "form" not in event and event_name and event_name.casefold() == "demo requested":
            event["form"] = DEMO_FORM
        b.take(event, "url", "url", *_props("url", "page_url"), "context.page.url")
    elif kind == "content_download":
        asset: dict[str, Any] = {}
        b.take(asset, "title", "asset.title", *_props("asset_title", "content_title", "title", "asset_name", "name"))
        b.take(asset, "type", "asset.type", *_props("asset_type", "content_type", "type"))
        b.take(asset, "url", "asset.url", *_props("asset_url", "content_url", "url"))
        if asset:
            event["asset"] = asset
    elif kind in ("webinar_registered", "webinar_attended", "event_attended"):
        b.take(event, "campaign", "campaign", *_props("webinar_name", "webinar_title", "event_name", "name", "title"))
        b.take(event, "url", "url", *_props("url"))
    elif kind == "web_visit":
        b.take(event, "url", "url", *_props("url"), "context.page.url")
        title, _ = _pick(msg, *_props("title"), "name", "context.page.title")
        if isinstance(title, str) and title.strip():
            extra["page_title"] = title
    else:
        b.take(event, "url", "url", *_props("url"), "context.page.url")
    if extra:
        event["properties"] = extra
    return event


def _events(settings: Settings) -> dict[str, str]:
    mapping = {k.casefold(): v for k, v in DEFAULT_EVENTS.items()}
    mapping.update({k.casefold(): v for k, v in CONFIG.of(settings).events.items()})
    return mapping


def _messages(body: bytes) -> tuple[list, str]:
    """The messages and the prefix that names them in errors."""
    data = body_json(body, 'a Segment message, {"batch": [...]} or an array of messages')
    if isinstance(data, list):
        return data, ""
    if isinstance(data, dict) and "batch" in data and "type" not in data:
        if not isinstance(data["batch"], list):
            raise InvalidBatch("batch must be a list", [FieldError(0, "batch", "expected a JSON array")])
        return data["batch"], "batch"
    if isinstance(data, dict):
        return [data], ""
    raise InvalidBatch('body must be a Segment message, {"batch": [...]} or an array of messages')


def translate(body: bytes, _request: Request | None, settings: Settings) -> Translated:
    messages, prefix = _messages(body)
    if len(messages) > MAX_BATCH:
        raise InvalidBatch(f"batch has {len(messages)} messages; at most {MAX_BATCH} are accepted", status=413)
    if not messages:
        raise InvalidBatch("batch is empty", [FieldError(0, prefix or "(body)", "expected at least one message")])
    several = prefix or len(messages) > 1 or body.lstrip().startswith(b"[")

    def where(i: int, field: str) -> str:
        return f"{prefix}[{i}].{field}" if several else field

    mapping = _events(settings)
    events, errors, ignored = [], [], 0
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            errors.append(FieldError(i, f"{prefix}[{i}]" if several else "(message)",
                                     f"expected a JSON object, got {type(msg).__name__}"))
            continue
        problems = []
        message_id = msg.get("messageId")
        if not isinstance(message_id, str) or not message_id.strip():
            problems.append(FieldError(i, where(i, "messageId"), "is required (a non-empty string)"))
        kind_of = msg.get("type")
        if kind_of not in MESSAGE_TYPES:
            message = "is required" if kind_of is None else f"got {kind_of!r}, expected one of {', '.join(MESSAGE_TYPES)}"
            problems.append(FieldError(i, where(i, "type"), message))
        if kind_of == "track" and not (isinstance(msg.get("event"), str) and msg["event"].strip()):
            problems.append(FieldError(i, where(i, "event"), "is required for a track call"))
        if kind_of == "alias":
            problems += [FieldError(i, where(i, name), f"is required for an alias call ({what})")
                         for name, what in (("previousId", "the id the person had"), ("userId", "their new id"))
                         if _id(msg.get(name)) is None]
        if problems:
            errors.extend(problems)
            continue
        b = _Builder(msg)
        event: dict | None = None
        kind = "web_visit" if kind_of == "page" else "ignore"
        if kind_of == "identify":
            event = _identify(b, msg)
        elif kind_of == "track":
            kind = mapping.get(msg["event"].strip().casefold(), "ignore")
            if kind != "ignore":
                event = _activity(b, msg, kind, msg["event"].strip())
        elif kind_of == "page":
            event = _activity(b, msg, "web_visit", None)
        elif kind_of == "alias":
            event = _alias(b, msg)
        if event is None and kind_of in ("page", "track") and kind != "ignore" and _visitor(msg) is None:
            errors.append(FieldError(i, where(i, "userId"), "is required (or anonymousId) when the message "
                                     "carries no email (context.traits.email)"))
            continue
        if event is None:
            ignored += 1
            continue
        event["id"] = message_id
        event["source"] = SOURCE_NAME
        b.origin["id"] = "messageId"
        parsed, errs = validate_event(event, i)
        if errs:
            errors.extend(FieldError(i, where(i, b.origin.get(e.field, e.field)), e.message) for e in errs)
        else:
            events.append(parsed)
    if errors and not events and not ignored:
        bad = len({e.index for e in errors})
        raise InvalidBatch(f"{bad} of {len(messages)} Segment messages are invalid; nothing was stored", errors)
    # One bad message never costs the good ones: they are applied, the bad ones named in the answer.
    return Translated(events, ignored, skipped=errors)


SOURCE = Source(SOURCE_NAME, authenticate, translate, config=CONFIG, doc=WebhookDoc(
    "Segment Webhooks (Actions) or classic Webhooks.", "X-Signature: hex HMAC-SHA1 of the body."))
