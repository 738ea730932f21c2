"""POST /webhooks/mautic: Mautic's webhook payloads turned into our events.

Mautic posts one JSON object keyed by event name, each holding a list of items:

    {"mautic.lead_post_save_update": [{"contact": {...}, "timestamp": "2026-03-05T14:22:31+00:00"}],
     "mautic.form_on_submit": [{"submission": {...}, "timestamp": "..."}]}

and signs the raw body: header Webhook-Signature = base64(HMAC-SHA256(secret, body)). Mautic's "Send test
payload" button also adds a top-level "timestamp" string; it is skipped.

Items carry no delivery id, so every event id is derived from the Mautic record (submission id, page hit id,
email stat id and open count, contact id and a digest of the contact snapshot): a redelivery is a duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from bot.settings import Settings, SourceConfig, env_secret
from briefs.events import MAX_BATCH, FieldError, InvalidBatch, body_json, validate_event
from handlers.webhooks import Source, SourceNotConfigured, Translated, WebhookDoc

NAME = "mautic"
SIGNATURE_HEADER = "Webhook-Signature"
NOT_CONFIGURED = "Mautic webhooks are not enabled: set MAUTIC_WEBHOOK_SECRET"

# Result aliases that usually hold a free-text message, best first.
MESSAGE_FIELDS = (
    "message", "comments", "comment", "your_message", "how_can_we_help", "enquiry", "inquiry", "question",
    "questions", "notes", "note", "details", "description", "requirements",
)
MESSAGE_HINTS = ("message", "comment", "enquir", "inquir", "question", "note", "help")
# Result aliases already mapped elsewhere (or personal data that adds nothing to a brief).
PROFILE_RESULTS = {"email", "firstname", "first_name", "lastname", "last_name", "name", "full_name", "phone",
                   "mobile", "company", "position", "title", "job_title"}
MAX_PROPERTY_CHARS = 500
MAX_PROPERTIES_JSON = 10_000
FIELD_GROUPS = ("core", "professional", "personal", "social")


# --- settings and authentication ------------------------------------------------------------------


@dataclass(frozen=True)
class MauticSettings:
    secret: str | None = field(default=None, repr=False)  # MAUTIC_WEBHOOK_SECRET: enables the endpoint


def _load(env: Mapping[str, str], _section: Any, _where: str) -> MauticSettings:
    return MauticSettings(secret=env_secret(env, "MAUTIC_WEBHOOK_SECRET"))


CONFIG = SourceConfig(NAME, MauticSettings(), _load)


def sign(secret: str, body: bytes) -> str:
    """What Mautic sends in Webhook-Signature: base64 of the raw HMAC-SHA256 of the body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def authenticate(request: Request, body: bytes, settings: Settings) -> str | None:
    secret = CONFIG.of(settings).secret
    if not secret:
        raise SourceNotConfigured(NOT_CONFIGURED)
    offered = (request.headers.get(SIGNATURE_HEADER) or "").strip()
    if not offered:
        return f"missing {SIGNATURE_HEADER} header"
    if not hmac.compare_digest(sign(secret, body).encode(), offered.encode()):
        return (f"{SIGNATURE_HEADER} does not match the body (expected base64 HMAC-SHA256 of the raw body "
                "under the webhook's secret, as set in Mautic)")
    return None


# --- reading Mautic objects -----------------------------------------------------------------------

class _Bad(Exception):
    """A problem with one item: `path` is relative to the item."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class _Built:
    event: dict
    # Our field -> where in the Mautic item it came from, to name Mautic's field in errors.
    origin: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> Any:
    """Mautic field values: blank and null mean absent; numbers become text; anything else is kept as is
    (and fails validation under its Mautic name)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return value


def _object(item: dict, key: str, path: str, required: bool = True) -> dict | None:
    value = item.get(key)
    if isinstance(value, dict):
        return value
    if value is None and not required:
        return None
    got = "missing" if value is None else f"a {type(value).__name__}"
    raise _Bad(path, f"expected a JSON object, got {got}")


def _contact_field(contact: dict, alias: str, base: str) -> tuple[Any, str]:
    """A contact field's value from fields.<group>.<alias>.value, fields.all.<alias> or <alias>."""
    fields = contact.get("fields")
    if isinstance(fields, dict):
        for group in FIELD_GROUPS:
            entries = fields.get(group)
            entry = entries.get(alias) if isinstance(entries, dict) else None
            if isinstance(entry, dict) and _text(entry.get("value")) is not None:
                return _text(entry["value"]), f"{base}.fields.{group}.{alias}.value"
        flat = fields.get("all")
        if isinstance(flat, dict) and _text(flat.get(alias)) is not None:
            return _text(flat[alias]), f"{base}.fields.all.{alias}"
    value = contact.get(alias)
    if not isinstance(value, dict | list) and _text(value) is not None:
        return _text(value), f"{base}.{alias}"
    return None, f"{base}.{alias}"


def _when(value: Any, path: str) -> datetime:
    """Mautic writes ISO 8601 ("c": 2026-03-05T14:22:31+00:00); a value without an offset is UTC."""
    if not isinstance(value, str) or not value.strip():
        raise _Bad(path, "is required (an ISO 8601 date-time)")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Bad(path, f"is not an ISO 8601 date-time: {value[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _first_time(candidates: list[tuple[Any, str]]) -> tuple[datetime, str]:
    """The first present date-time of (value, path) pairs; the last path names what is missing."""
    for value, path in candidates:
        if value not in (None, ""):
            return _when(value, path), path
    raise _Bad(candidates[-1][1], "is required (an ISO 8601 date-time)")


def _digest(item: dict) -> str:
    """Stable across redeliveries of the same item (the delivery timestamp is left out)."""
    content = {k: v for k, v in item.items() if k != "timestamp"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _contact_of(item: dict) -> tuple[dict | None, str]:
    # Mautic 2+ sends "contact"; older releases sent "lead" (points change sends both).
    for key in ("contact", "lead"):
        if isinstance(item.get(key), dict):
            return item[key], key
    if "contact" in item or "lead" in item:
        key = "contact" if "contact" in item else "lead"
        raise _Bad(key, "expected a JSON object")
    raise _Bad("contact", "is required (the Mautic contact object)")


def _profile(contact: dict, base: str, built: _Built) -> dict:
    """lead fields from a Mautic contact; email already set by the caller."""
    lead = built.event["lead"]
    # Mautic's own "title" field is a salutation (Mr., Ms.); the job title is "position".
    for ours, aliases in (("first_name", ("firstname",)), ("last_name", ("lastname",)),
                          ("title", ("position", "job_title", "jobtitle")), ("company", ("company",)),
                          ("phone", ("phone", "mobile"))):
        for alias in aliases:
            value, path = _contact_field(contact, alias, base)
            if value is not None:
                lead[ours] = value
                built.origin[f"lead.{ours}"] = path
                break
    owner = contact.get("owner")
    if isinstance(owner, dict) and _text(owner.get("email")) is not None:
        lead["owner_email"] = _text(owner["email"])
        built.origin["lead.owner_email"] = f"{base}.owner.email"
    if contact.get("points") is not None:
        lead["score"] = _int(contact["points"])
        built.origin["lead.score"] = f"{base}.points"
    stage = contact.get("stage")
    stage_name = _text(stage.get("name")) if isinstance(stage, dict) else _text(stage)
    if stage_name is not None:
        lead["lifecycle_stage"] = stage_name
        built.origin["lead.lifecycle_stage"] = f"{base}.stage" + (".name" if isinstance(stage, dict) else "")
    return lead


# --- one translator per Mautic event --------------------------------------------------------------

def _contact_saved(name: str, item: dict) -> _Built | None:
    contact, base = _contact_of(item)
    email, email_path = _contact_field(contact, "email", base)
    if email is None:
        return None  # a contact known by name only (or a visitor): nothing we can key a lead on
    occurred, time_path = _first_time([(item.get("timestamp"), "timestamp"),
                                       (contact.get("dateModified"), f"{base}.dateModified")])
    built = _Built({
        "type": "lead.upsert",
        "source": NAME,
        "id": f"{name}:{contact.get('id', '')}:{_digest(item)}",
        "occurred_at": occurred,
        "lead": {"email": email},
    }, {"lead.email": email_path, "occurred_at": time_path, "id": base})
    _profile(contact, base, built)
    return built


def _points_changed(name: str, item: dict) -> _Built | None:
    built = _contact_saved(name, item)
    if built is None:
        return None
    points = item.get("points")
    if isinstance(points, dict) and points.get("new_points") is not None:
        built.event["lead"]["score"] = _int(points["new_points"])
        built.origin["lead.score"] = "points.new_points"
    return built


def _message_field(results: dict, form: dict | None) -> tuple[str | None, str | None]:
    """(alias, text) of the submission's free-text message: a textarea field, else a message-like alias."""
    def usable(alias: str) -> str | None:
        value = results.get(alias)
        return value.strip() if isinstance(value, str) and value.strip() else None

    fields = form.get("fields") if isinstance(form, dict) else None
    fields = list(fields.values()) if isinstance(fields, dict) else fields if isinstance(fields, list) else []
    candidates = [
        *(f["alias"] for f in fields
          if isinstance(f, dict) and f.get("type") == "textarea" and isinstance(f.get("alias"), str)),
        *MESSAGE_FIELDS,
        *(a for a in results if isinstance(a, str) and any(h in a.lower() for h in MESSAGE_HINTS)),
    ]
    for alias in candidates:
        if (text := usable(alias)) is not None:
            return alias, text
    return None, None


def _form_submitted(name: str, item: dict) -> _Built:
    sub = _object(item, "submission", "submission")
    lead = sub.get("lead") if isinstance(sub.get("lead"), dict) else {}
    results = sub.get("results") if isinstance(sub.get("results"), dict) else {}
    email, email_path = _contact_field(lead, "email", "submission.lead")
    if email is None and _text(results.get("email")) is not None:
        email, email_path = _text(results["email"]), "submission.results.email"
    if email is None:
        raise _Bad("submission.lead.email", "is required: the submission has no contact email "
                   "(add an email field to the form, mapped to the contact's Email)")
    occurred, time_path = _first_time([(sub.get("dateSubmitted"), "submission.dateSubmitted"),
                                       (item.get("timestamp"), "timestamp")])
    form = sub.get("form") if isinstance(sub.get("form"), dict) else None
    sub_id = sub.get("id")
    event: dict = {
        "type": "activity",
        "source": NAME,
        "id": f"form_submit:{sub_id}" if sub_id not in (None, "") else f"form_submit:{_digest(item)}",
        "occurred_at": occurred,
        "email": email,
        "kind": "form_submit",
    }
    origin = {"email": email_path, "occurred_at": time_path, "id": "submission.id"}
    if form is not None:
        form_name = _text(form.get("name")) or _text(form.get("alias"))
        if form_name is not None:
            event["form"] = form_name
            origin["form"] = "submission.form.name"
    message_alias, message = _message_field(results, form)
    if message is not None:
        event["comments"] = message
        origin["comments"] = f"submission.results.{message_alias}"
    referer = _text(sub.get("referer"))
    if isinstance(referer, str):
        event["url"] = referer
        origin["url"] = "submission.referer"
    # The other answers (timeline, budget, use case...) are read by the brief; only short scalar ones.
    props: dict[str, Any] = {}
    for alias, value in results.items():
        if alias == message_alias or str(alias).lower() in PROFILE_RESULTS:
            continue
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
            props[str(alias)] = value if not isinstance(value, str) else value.strip()[:MAX_PROPERTY_CHARS]
        if len(json.dumps(props, default=str)) > MAX_PROPERTIES_JSON:
            props.pop(str(alias), None)
            break
    props["mautic_submission_id"] = sub_id
    if form is not None and form.get("id") is not None:
        props["mautic_form_id"] = form["id"]
    event["properties"] = props
    origin["properties"] = "submission.results"
    return _Built(event, origin)


def _email_opened(name: str, item: dict) -> _Built:
    stat = _object(item, "stat", "stat")
    email, email_path = _text(stat.get("emailAddress")), "stat.emailAddress"
    if email is None and isinstance(stat.get("lead"), dict):
        email, email_path = _contact_field(stat["lead"], "email", "stat.lead")
    if email is None:
        raise _Bad("stat.emailAddress", "is required (the address the email was sent to)")
    occurred, time_path = _first_time([(stat.get("lastOpened"), "stat.lastOpened"),
                                       (stat.get("dateRead"), "stat.dateRead"),
                                       (item.get("timestamp"), "timestamp")])
    stat_id, opens = stat.get("id"), stat.get("openCount")
    # A stat is one send; each open of it is another event.
    suffix = f"{stat_id}:{opens}" if stat_id not in (None, "") and opens is not None else _digest(item)
    event: dict = {
        "type": "activity",
        "source": NAME,
        "id": f"email_open:{suffix}",
        "occurred_at": occurred,
        "email": email,
        "kind": "email_open",
    }
    origin = {"email": email_path, "occurred_at": time_path, "id": "stat.id"}
    mail = stat.get("email") if isinstance(stat.get("email"), dict) else {}
    subject = _text(mail.get("subject")) or _text(mail.get("name"))
    if subject is not None:
        event["subject"] = subject
        origin["subject"] = "stat.email.subject"
    if _text(mail.get("name")) is not None and mail.get("name") != mail.get("subject"):
        event["campaign"] = _text(mail["name"])
        origin["campaign"] = "stat.email.name"
    return _Built(event, origin)


def _page_hit(name: str, item: dict) -> _Built | None:
    hit = _object(item, "hit", "hit")
    lead = hit.get("lead") if isinstance(hit.get("lead"), dict) else {}
    email, email_path = _contact_field(lead, "email", "hit.lead")
    if email is None:
        return None  # an anonymous visitor: most page hits are
    occurred, time_path = _first_time([(hit.get("dateHit"), "hit.dateHit"),
                                       (item.get("timestamp"), "timestamp")])
    hit_id = hit.get("id")
    event: dict = {
        "type": "activity",
        "source": NAME,
        "id": f"page_hit:{hit_id}" if hit_id not in (None, "") else f"page_hit:{_digest(item)}",
        "occurred_at": occurred,
        "email": email,
        "kind": "web_visit",
    }
    origin = {"email": email_path, "occurred_at": time_path, "id": "hit.id"}
    if _text(hit.get("url")) is not None:
        event["url"] = _text(hit["url"])
        origin["url"] = "hit.url"
    page = hit.get("page") if isinstance(hit.get("page"), dict) else {}
    title = _text(hit.get("urlTitle")) or _text(page.get("title"))
    if isinstance(title, str):
        event["properties"] = {"page_title": title[:MAX_PROPERTY_CHARS]}
        origin["properties"] = "hit.urlTitle"
    return _Built(event, origin)


HANDLERS: dict[str, Callable[[str, dict], _Built | None]] = {
    "mautic.lead_post_save_new": _contact_saved,
    "mautic.lead_post_save_update": _contact_saved,
    "mautic.lead_points_change": _points_changed,
    "mautic.form_on_submit": _form_submitted,
    "mautic.email_on_open": _email_opened,
    "mautic.page_on_hit": _page_hit,
}


# --- the delivery -----------------------------------------------------------------------------------

def _origin_of(our_field: str, origin: dict[str, str]) -> str:
    """Our event field (lead.email, properties.x) -> the Mautic path it came from."""
    parts = our_field.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in origin:
            return ".".join([origin[prefix], *parts[n:]])
    return our_field


def translate(body: bytes, _request: Request | None = None, _settings: Settings | None = None) -> Translated:
    payload = body_json(body, "a JSON object keyed by Mautic event name")
    if not isinstance(payload, dict):
        raise InvalidBatch(
            f"body must be a JSON object keyed by Mautic event name, got {type(payload).__name__}")

    events: list = []
    errors: list[FieldError] = []
    ignored = 0
    total = 0
    bad_items: set[str] = set()
    for name, items in payload.items():
        if name == "timestamp" and not isinstance(items, list | dict):
            continue  # added at the top level by Mautic's "Send test payload"
        if isinstance(items, dict):
            items = [items]  # test payloads of some events are one object, not a list
        if not isinstance(items, list):
            errors.append(FieldError(0, name, f"expected a list of items, got {type(items).__name__}"))
            bad_items.add(name)
            continue
        handler = HANDLERS.get(name)
        total += len(items)
        if handler is None:
            ignored += len(items)
            continue
        for i, item in enumerate(items):
            where = f"{name}[{i}]"
            if not isinstance(item, dict):
                errors.append(FieldError(i, where, f"expected a JSON object, got {type(item).__name__}"))
                bad_items.add(where)
                continue
            try:
                built = handler(name, item)
            except _Bad as exc:
                errors.append(FieldError(i, f"{where}.{exc.path}", exc.message))
                bad_items.add(where)
                continue
            if built is None:
                ignored += 1
                continue
            event, errs = validate_event(built.event, i)
            if errs:
                errors.extend(FieldError(i, f"{where}.{_origin_of(e.field, built.origin)}", e.message)
                              for e in errs)
                bad_items.add(where)
            else:
                events.append(event)
    if errors:
        raise InvalidBatch(
            f"{len(bad_items)} of {total} Mautic items are invalid; nothing was stored", errors)
    if len(events) > MAX_BATCH:
        raise InvalidBatch(f"delivery has {len(events)} events; at most {MAX_BATCH} are accepted "
                           "(lower Mautic's webhook queue limit)", status=413)
    return Translated(events, ignored)


SOURCE = Source(NAME, authenticate, translate, config=CONFIG, doc=WebhookDoc(
    "Mautic webhooks.", "Webhook-Signature: base64 HMAC-SHA256 of the body."))
