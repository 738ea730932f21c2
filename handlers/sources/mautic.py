"""POST /webhooks/mautic: Mautic's webhook payloads turned into our events.

Mautic posts one JSON object keyed by event name, each holding a list of items:

    {"mautic.lead_post_save_update": [{"contact": {...}, "timestamp": "2026-03-05T14:22:31+00:00"}],
     "mautic.form_on_submit": [{"submission": {...}, "timestamp": "..."}]}

and signs the raw body: header Webhook-Signature = base64(HMAC-SHA256(secret, body)). Mautic's "Send test
payload" button also adds a top-level "timestamp" string; it is skipped.

Owners: the contact's owner object carries id, username and names but no email. It is resolved through
[sources.mautic] owners (by id, username or "First Last"), else through Mautic's users API (GET /api/users/{id})
when MAUTIC_BASE_URL and credentials are set; answers are cached in memory, and a failure leaves the lead
without an owner (logged), never the delivery refused.

One bad item never costs the good ones: an item we cannot read is skipped and named (its position in the
delivery, Mautic's field); only a delivery with nothing usable is a 400.

Items carry no delivery id, so every event id is derived from the Mautic record (submission id, page hit id,
email stat id and open count, contact id and a digest of the contact snapshot): a redelivery is a duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.requests import Request

from bot.settings import ConfigError, Settings, SourceConfig, env_secret, env_text
from briefs.events import MAX_BATCH, FieldError, InvalidBatch, body_json, validate_event
from briefs.signals import fold
from handlers.sources.payload import DO_NOT_CONTACT, EMAIL_OPT_OUT
from handlers.webhooks import Source, SourceNotConfigured, Translated, WebhookDoc

NAME = "mautic"
SIGNATURE_HEADER = "Webhook-Signature"
NOT_CONFIGURED = "Mautic webhooks are not enabled: set MAUTIC_WEBHOOK_SECRET"

log = logging.getLogger("leadbrief.mautic")

# Form field aliases that hold the lead's own words, in several languages, best first ([sources.mautic]
# message_fields puts an admin's own aliases ahead of these).
MESSAGE_FIELDS = (
    "message", "comments", "comment", "your_message", "how_can_we_help", "enquiry", "inquiry", "question",
    "questions", "notes", "note", "details", "description", "requirements", "tell_us_more",
    "project_description", "additional_information",
    "nachricht", "ihre_nachricht", "kommentar", "anmerkungen", "anmerkung", "anliegen", "mitteilung",
    "bemerkung", "projektbeschreibung", "beschreibung",
    "mensaje", "comentarios", "comentario", "consulta",
    "commentaire", "commentaires", "votre_message", "demande",
    "messaggio", "commenti", "richiesta", "bericht", "opmerkingen", "vraag", "mensagem", "wiadomosc",
)
MESSAGE_HINTS = ("message", "comment", "enquir", "inquir", "question", "note", "help", "tell_us",
                 "nachricht", "kommentar", "beschreibung", "anmerkung", "mensaje", "comentario", "commentaire",
                 "messaggio", "bericht", "opmerking")
# A free-text answer this long (or spanning lines) under any other alias is the lead's words too.
LONG_TEXT_CHARS = 200
# Result aliases already mapped elsewhere (or personal data that adds nothing to a brief).
PROFILE_RESULTS = {"email", "firstname", "first_name", "lastname", "last_name", "name", "full_name", "phone",
                   "mobile", "company", "position", "title", "job_title"}
MAX_PROPERTY_CHARS = 500
MAX_PROPERTIES_JSON = 10_000
FIELD_GROUPS = ("core", "professional", "personal", "social")
# contact.doNotContact entries (Mautic's DoNotContact reasons) -> our lead's consent fields: 1 unsubscribed is an
# email opt-out; 3 manual (set by a user: "do not contact") is do not contact. 2 bounced is neither.
CONSENT_REASONS = {1: EMAIL_OPT_OUT, 3: DO_NOT_CONTACT}


# --- settings and authentication ------------------------------------------------------------------


@dataclass(frozen=True)
class MauticSettings:
    secret: str | None = field(default=None, repr=False)  # MAUTIC_WEBHOOK_SECRET: enables the endpoint
    # The users API, to find an owner's email: MAUTIC_BASE_URL plus basic auth (MAUTIC_API_USERNAME and
    # MAUTIC_API_PASSWORD) or an OAuth2 access token (MAUTIC_ACCESS_TOKEN).
    base_url: str | None = None
    api_username: str | None = None
    api_password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    # [sources.mautic] owners: owner id, username or "First Last" (lowercased) -> email.
    owners: Mapping[str, str] = field(default_factory=dict)
    # [sources.mautic] message_fields: form field aliases (lowercased) holding the lead's message.
    message_fields: tuple[str, ...] = ()
    long_text_chars: int = LONG_TEXT_CHARS  # [sources.mautic] long_text_chars; 0: only named aliases

    @property
    def api_enabled(self) -> bool:
        return bool(self.base_url and (self.access_token or (self.api_username and self.api_password)))


SECTION_KEYS = {"owners", "message_fields", "long_text_chars"}


def _load(env: Mapping[str, str], section: Any, where: str) -> MauticSettings:
    if not isinstance(section, dict) or set(section) - SECTION_KEYS:
        extra = sorted(set(section) - SECTION_KEYS) if isinstance(section, dict) else []
        raise ConfigError(f"{where}: [sources.mautic] takes only owners = {{\"1\" = \"rep@company.com\"}}, "
                          f"message_fields = [\"tell_us_more\"] and long_text_chars = 200"
                          + (f" (not {', '.join(extra)})" if extra else ""))
    owners = section.get("owners", {})
    if not isinstance(owners, dict) or not all(
            isinstance(v, str) and "@" in v and str(k).strip() for k, v in owners.items()):
        raise ConfigError(f"{where}: sources.mautic.owners must map owner ids, usernames or \"First Last\" "
                          "names to emails")
    fields = section.get("message_fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) and f.strip() for f in fields):
        raise ConfigError(f"{where}: sources.mautic.message_fields must be a list of form field aliases")
    long_text = section.get("long_text_chars", LONG_TEXT_CHARS)
    if not isinstance(long_text, int) or isinstance(long_text, bool) or long_text < 0:
        raise ConfigError(f"{where}: sources.mautic.long_text_chars must be a whole number >= 0")
    base_url = env_text(env, "MAUTIC_BASE_URL")
    return MauticSettings(
        secret=env_secret(env, "MAUTIC_WEBHOOK_SECRET"),
        base_url=base_url.rstrip("/").removesuffix("/api") if base_url else None,
        api_username=env_text(env, "MAUTIC_API_USERNAME"),
        api_password=env_text(env, "MAUTIC_API_PASSWORD"),
        access_token=env_text(env, "MAUTIC_ACCESS_TOKEN"),
        owners={_owner_key(k): v.strip().lower() for k, v in owners.items()},
        message_fields=tuple(f.strip().lower() for f in fields),
        long_text_chars=long_text,
    )


def _owner_key(value: Any) -> str:
    return " ".join(str(value).split()).lower()


CONFIG = SourceConfig(NAME, MauticSettings(), _load, takes_section=True)


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


# --- owners: the users API and the admin's mapping -------------------------------------------------

API_TIMEOUT = 5.0
# (base URL, owner id) -> email, or None when Mautic has no such user or it has no email.
_owner_emails: dict[tuple[str, str], str | None] = {}
_owner_lock = threading.Lock()


def forget_owners() -> None:
    """Empty the users API cache (a changed Mautic user shows after a restart, or after this)."""
    with _owner_lock:
        _owner_emails.clear()


class Owners:
    """Finds an owner's email: in the payload, the admin's mapping, then GET /api/users/{id} (cached).

    The API is asked at most once per owner per delivery; a failure is logged and the lead goes without an
    owner (the team queue), it never costs the delivery."""

    def __init__(self, config: MauticSettings, client: httpx.Client | None = None,
                 people: Mapping[str, str] | None = None):
        self.config = config
        self.client = client
        self.people = people or {}  # [owners]: rep names (folded) -> email, shared with the CSV import
        self.failed: set[str] = set()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def email(self, owner: Any) -> tuple[str | None, str]:
        """(email, how it was found) for a contact's owner object."""
        if not isinstance(owner, dict):
            return None, ""
        if _text(owner.get("email")) is not None:
            return _text(owner["email"]), "owner.email"
        mapped = self.config.owners
        names = [("id", owner.get("id")), ("username", owner.get("username")),
                 ("name", " ".join(str(_text(owner.get(k)) or "") for k in ("firstName", "lastName")))]
        for how, value in names:
            if _text(value) is not None and _owner_key(value) in mapped:
                return mapped[_owner_key(value)], f"owner.{how} (sources.mautic.owners)"
        full_name = fold(names[2][1])
        if full_name and full_name in self.people:
            return self.people[full_name], "owner.firstName/lastName ([owners])"
        owner_id = _text(owner.get("id"))
        if owner_id is None or not self.config.api_enabled or owner_id in self.failed:
            return None, ""
        return self._from_api(owner_id), "owner.id (Mautic users API)"

    def _from_api(self, owner_id: str) -> str | None:
        base = self.config.base_url or ""
        key = (base, owner_id)
        with _owner_lock:
            if key in _owner_emails:
                return _owner_emails[key]
        if self.client is None:
            auth = (None if self.config.access_token else
                    httpx.BasicAuth(self.config.api_username or "", self.config.api_password or ""))
            headers = {"Accept": "application/json"}
            if self.config.access_token:
                headers["Authorization"] = f"Bearer {self.config.access_token}"
            self.client = httpx.Client(timeout=API_TIMEOUT, auth=auth, headers=headers)
        try:
            response = self.client.get(f"{base}/api/users/{owner_id}")
        except httpx.HTTPError as exc:
            return self._failed(owner_id, f"unreachable ({type(exc).__name__})")
        if response.status_code == 404:
            email = None  # no such user: remembered, like an answer
        elif response.status_code != 200:
            hint = " (check MAUTIC_API_USERNAME/MAUTIC_API_PASSWORD or MAUTIC_ACCESS_TOKEN, and that the API " \
                   "is enabled and the user may view users)" if response.status_code in (401, 403) else ""
            return self._failed(owner_id, f"answered HTTP {response.status_code}{hint}")
        else:
            try:
                user = response.json().get("user")
            except (ValueError, AttributeError):
                return self._failed(owner_id, "answered something other than a JSON object")
            email = _text(user.get("email")) if isinstance(user, dict) else None
            email = email if isinstance(email, str) and "@" in email else None
        with _owner_lock:
            _owner_emails[key] = email
        return email

    def _failed(self, owner_id: str, problem: str) -> None:
        self.failed.add(owner_id)
        log.warning("Mautic users API: owner %s not resolved, lead stored without owner: %s", owner_id, problem)
        return None


# --- reading Mautic objects -----------------------------------------------------------------------

class _Bad(Exception):
    """A problem with one item: `path` is relative to the item."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class _Context:
    config: MauticSettings
    owners: Owners


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


def _profile(contact: dict, base: str, built: _Built, ctx: _Context) -> dict:
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
    owner_email, how = ctx.owners.email(contact.get("owner"))
    if owner_email is not None:
        lead["owner_email"] = owner_email
        built.origin["lead.owner_email"] = f"{base}.{how}"
    if contact.get("points") is not None:
        lead["score"] = _int(contact["points"])
        built.origin["lead.score"] = f"{base}.points"
    if isinstance(contact.get("doNotContact"), list):
        consent = _consent(contact["doNotContact"])
        lead.update(consent)
        built.origin.update({f"lead.{ours}": f"{base}.doNotContact" for ours in consent})
    stage = contact.get("stage")
    stage_name = _text(stage.get("name")) if isinstance(stage, dict) else _text(stage)
    if stage_name is not None:
        lead["lifecycle_stage"] = stage_name
        built.origin["lead.lifecycle_stage"] = f"{base}.stage" + (".name" if isinstance(stage, dict) else "")
    return lead


def _consent(entries: list) -> dict[str, bool]:
    """Both consent fields from the contact's doNotContact list (an empty list: contactable, both false)."""
    found = {ours: False for ours in CONSENT_REASONS.values()}
    for entry in entries:
        reason = entry.get("reason") if isinstance(entry, dict) else None
        if isinstance(reason, str) and reason.strip().isdigit():
            reason = int(reason)
        if reason in CONSENT_REASONS:
            found[CONSENT_REASONS[reason]] = True
    return found


# --- one translator per Mautic event --------------------------------------------------------------

def _contact_saved(name: str, item: dict, ctx: _Context) -> _Built | None:
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
    _profile(contact, base, built, ctx)
    return built


def _points_changed(name: str, item: dict, ctx: _Context) -> _Built | None:
    built = _contact_saved(name, item, ctx)
    if built is None:
        return None
    points = item.get("points")
    if isinstance(points, dict) and points.get("new_points") is not None:
        built.event["lead"]["score"] = _int(points["new_points"])
        built.origin["lead.score"] = "points.new_points"
    return built


def _message_fields(results: dict, form: dict | None, config: MauticSettings) -> list[tuple[str, str]]:
    """(alias, text) of each answer holding the lead's own words, best first: the admin's message_fields,
    textarea fields of the form definition (when the payload carries one), the usual aliases, message-like
    aliases, then any long or multi-line free text."""
    def usable(alias: str) -> str | None:
        value = results.get(alias)
        return value.strip() if isinstance(value, str) and value.strip() else None

    by_lower = {a.lower(): a for a in results if isinstance(a, str)}
    fields = form.get("fields") if isinstance(form, dict) else None
    fields = list(fields.values()) if isinstance(fields, dict) else fields if isinstance(fields, list) else []
    textareas = [f["alias"].lower() for f in fields
                 if isinstance(f, dict) and f.get("type") == "textarea" and isinstance(f.get("alias"), str)]
    candidates = [
        *config.message_fields, *textareas, *MESSAGE_FIELDS,
        *(a for a in by_lower if any(h in a for h in MESSAGE_HINTS)),
    ]
    if config.long_text_chars:
        candidates += [a for a in by_lower if a not in PROFILE_RESULTS and isinstance(results[by_lower[a]], str)
                       and (len(results[by_lower[a]].strip()) >= config.long_text_chars
                            or "\n" in results[by_lower[a]].strip())]
    found: list[tuple[str, str]] = []
    for lowered in dict.fromkeys(candidates):
        alias = by_lower.get(lowered)
        if alias is not None and lowered not in PROFILE_RESULTS and (text := usable(alias)) is not None:
            found.append((alias, text))
    return found


def _form_submitted(name: str, item: dict, ctx: _Context) -> _Built:
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
    messages = _message_fields(results, form, ctx.config)
    if messages:
        # Several free-text answers: each keeps its field name, so the rep sees which question it answers.
        event["comments"] = (messages[0][1] if len(messages) == 1 else
                             "\n\n".join(f"{alias}: {text}" for alias, text in messages))
        origin["comments"] = f"submission.results.{messages[0][0]}"
    message_aliases = {alias for alias, _ in messages}
    referer = _text(sub.get("referer"))
    if isinstance(referer, str):
        event["url"] = referer
        origin["url"] = "submission.referer"
    # The other answers (timeline, budget, use case...) are read by the brief; only short scalar ones.
    props: dict[str, Any] = {}
    for alias, value in results.items():
        if alias in message_aliases or str(alias).lower() in PROFILE_RESULTS:
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


def _email_opened(name: str, item: dict, ctx: _Context) -> _Built:
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
    props = _open_details(stat, mail)
    if props:
        event["properties"] = props
        origin["properties"] = "stat"
    return _Built(event, origin)


def _open_details(stat: dict, mail: dict) -> dict[str, Any]:
    """What triage reads to tell a person's open from a machine's (docs/triage.md): when the stat's email was
    sent (dateSent: an open seconds later is a prefetch), the email's id, the opener's IP (stat.ipAddress, an
    IpAddress object) and user agent (the newest of stat.openDetails, where Mautic includes them)."""
    props: dict[str, Any] = {}
    sent = _text(stat.get("dateSent"))
    if sent:
        props["sent_at"] = sent
    if mail.get("id") not in (None, "") and isinstance(mail.get("id"), int | str):
        props["mailing_id"] = str(mail["id"])
    ip = stat.get("ipAddress")
    address = _text(ip.get("ipAddress") or ip.get("ip_address")) if isinstance(ip, dict) else _text(ip)
    if address:
        props["ip"] = address[:64]
    details = stat.get("openDetails")
    if isinstance(details, list):
        agents = [_text(d.get("useragent") or d.get("userAgent")) for d in details if isinstance(d, dict)]
        agent = next((a for a in reversed(agents) if a), None)
        if agent:
            props["user_agent"] = agent[:500]
    return props


def _page_hit(name: str, item: dict, ctx: _Context) -> _Built | None:
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


HANDLERS: dict[str, Callable[[str, dict, _Context], _Built | None]] = {
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


def translate(body: bytes, _request: Request | None = None, settings: Settings | None = None,
              owners: Owners | None = None) -> Translated:
    payload = body_json(body, "a JSON object keyed by Mautic event name")
    if not isinstance(payload, dict):
        raise InvalidBatch(
            f"body must be a JSON object keyed by Mautic event name, got {type(payload).__name__}")
    config = CONFIG.of(settings) if settings is not None else CONFIG.default
    own = owners is None
    ctx = _Context(config, owners or Owners(config, people=settings.owners if settings is not None else None))
    try:
        return _translate(payload, ctx)
    finally:
        if own:
            ctx.owners.close()


def _translate(payload: dict, ctx: _Context) -> Translated:
    events: list = []
    errors: list[FieldError] = []
    ignored = 0
    position = 0  # each item's place in the whole delivery: the index a skipped item is named by
    for name, items in payload.items():
        if name == "timestamp" and not isinstance(items, list | dict):
            continue  # added at the top level by Mautic's "Send test payload"
        if isinstance(items, dict):
            items = [items]  # test payloads of some events are one object, not a list
        if not isinstance(items, list):
            errors.append(FieldError(position, name, f"expected a list of items, got {type(items).__name__}"))
            position += 1
            continue
        handler = HANDLERS.get(name)
        if handler is None:
            ignored += len(items)
            position += len(items)
            continue
        for i, item in enumerate(items):
            index, where = position, f"{name}[{i}]"
            position += 1
            if not isinstance(item, dict):
                errors.append(FieldError(index, where, f"expected a JSON object, got {type(item).__name__}"))
                continue
            try:
                built = handler(name, item, ctx)
            except _Bad as exc:
                errors.append(FieldError(index, f"{where}.{exc.path}", exc.message))
                continue
            if built is None:
                ignored += 1
                continue
            event, errs = validate_event(built.event, index)
            if errs:
                errors.extend(FieldError(index, f"{where}.{_origin_of(e.field, built.origin)}", e.message)
                              for e in errs)
            else:
                events.append(event)
    if errors and not events and not ignored:  # items we do not use are acknowledged, not redelivered
        bad = len({e.index for e in errors})
        raise InvalidBatch(f"{bad} of {position} Mautic items are invalid and none is usable; nothing was stored",
                           errors)
    if len(events) > MAX_BATCH:
        raise InvalidBatch(f"delivery has {len(events)} events; at most {MAX_BATCH} are accepted "
                           "(lower Mautic's webhook queue limit)", status=413)
    return Translated(events, ignored, skipped=errors)


SOURCE = Source(NAME, authenticate, translate, config=CONFIG, doc=WebhookDoc(
    "Mautic webhooks.", "Webhook-Signature: base64 HMAC-SHA256 of the body."))
