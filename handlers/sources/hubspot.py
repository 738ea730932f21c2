"""POST /webhooks/hubspot: HubSpot Webhooks API (v3) contact events into our lead.upsert events.

A delivery is a JSON array of up to 100 events ({eventId, subscriptionId, portalId, appId, occurredAt (ms),
subscriptionType, attemptNumber, objectId, propertyName, propertyValue, changeSource}). Events carry ids only,
so each affected contact is read once per delivery from the CRM v3 API (private-app token) and its owner's
email from the owners API (cached in memory).

    contact.creation, contact.propertyChange, contact.restore, contact.merge -> lead.upsert (event id = eventId)
    (new developer platform: object.* with objectTypeId "0-1" likewise)
    association changes (no objectId), contact.deletion, contact.privacyDeletion, other objects (company.*,
    deal.*, conversation.*...), contacts without an email, contacts HubSpot no longer has (404)
                                                           -> ignored (counted, not errors)
    a contact event without eventId / occurredAt (ms) / objectId, a record that is not an object or has no
    subscriptionType                                       -> skipped, each named (FieldError); the rest applied

Only a body that is no HubSpot delivery at all (not JSON, not an array/object, empty, every record skipped)
is a 400; more than MAX_EVENTS a 413.

Authentication: X-HubSpot-Signature-v3 (base64 HMAC-SHA256 of method + URI + body + X-HubSpot-Request-Timestamp
under the app's client secret; timestamp in ms, at most 5 minutes old), else X-HubSpot-Signature with
X-HubSpot-Signature-Version v1 (hex SHA-256 of secret + body) or v2 (secret + method + URI + body).
The URI is the public one HubSpot called: behind a proxy, X-Forwarded-Proto and X-Forwarded-Host are honoured.

Engagements: for each contact created, or whose lifecyclestage or hubspotscore changed, in the delivery (the
moments a brief is likely), at most one call per kind reads its recent history (last 90 days, at most 50 each):

    form submissions  GET /contacts/v1/contact/vid/{id}/profile (form-submissions) -> activity form_submit
                      (form = title, url = page-url), id hubspot:form:{conversion-id}; what was submitted from
                      GET /form-integrations/v1/submissions/forms/{form-id} (scope forms; paged back to the
                      submission, same conversionId, else same email within 10 min): the free-text field ->
                      comments (the brief quotes it), the other answers -> properties. Else the contact's
                      message property, for the submission at recent_conversion_date; no submission listed:
                      the recent conversion becomes one, id hubspot:conversion:{contact id}:{epoch ms}
    marketing email   GET /email/public/v1/events?recipient=... (SENT, DELIVERED, OPEN, CLICK; an open or
                      click HubSpot's bot filter flagged (filteredEvent) is kept with properties.filteredEvent, a
                      machine open triage leaves out of the touches; userAgent, browser, location and sentBy.id
                      as properties) -> email_sent / email_delivered / email_open / email_click, id hubspot:email:{id}
    page views        GET /events/v3/events/?objectType=contact&objectId={id}&eventType=e_visited_page (Enterprise
                      only; scope analytics.behavioral_events.read; paging.next.after followed to ENGAGEMENT_LIMIT,
                      at most PAGE_CAP pages) -> web_visit (url = hs_url, properties.page_title = hs_title),
                      id hubspot:page:{id}. A 401/403 is remembered per API URL for an hour.

On every tier, the contact's own analytics properties (hs_analytics_last_url / _last_visit_timestamp, _first_url /
_first_visit_timestamp; no extra scope) give two web_visit activities however old, id
hubspot:visit:{contact id}:{epoch ms}; the last carries properties page_views and sessions (hs_analytics_num_*).
One the page history already has (same url, not earlier) is left out. Dates: ISO 8601 or epoch ms; a malformed
or future one is logged and skipped.
An engagement call that fails (404, 401/403 missing scope, 5xx, unreachable, not JSON) is logged and skipped; the
contact is stored without it. A 429 is waited out once per delivery like any other call.

HubSpot unreachable, rate limited twice or refusing our token: UpstreamUnavailable, answered 503 with nothing
stored, so HubSpot retries the delivery later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.requests import Request

from bot.settings import ConfigError, Settings, SourceConfig, env_text
from briefs.events import FieldError, InvalidBatch, body_json, validate_event
from handlers.sources.payload import EMAIL_OPT_OUT, consent, customer_facts, customer_field_map
from handlers.webhooks import Source, SourceNotConfigured, Translated, WebhookDoc

log = logging.getLogger("leadbrief.hubspot")

SOURCE_NAME = "hubspot"
V3_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
LEGACY_HEADER = "X-HubSpot-Signature"
VERSION_HEADER = "X-HubSpot-Signature-Version"
TOLERANCE_MS = 5 * 60 * 1000
MAX_EVENTS = 1000  # HubSpot sends at most 100; more is not HubSpot
TIMEOUT = 10.0
MAX_RETRY_AFTER = 10.0  # longer waits give up (503) rather than hold the request
CONTACT_TYPES = ("contact.creation", "contact.propertyChange", "contact.restore", "contact.merge")
PLATFORM_TYPES = ("object.creation", "object.propertyChange", "object.restore", "object.merge")
CONTACT_OBJECT_TYPE = "0-1"
# The hs_analytics_* ones are HubSpot's default web analytics properties (every tier, no extra scope).
PROPERTIES = ("email", "firstname", "lastname", "jobtitle", "company", "phone", "lifecyclestage",
              "hs_lead_status", "hubspotscore", "hubspot_owner_id",
              "hs_analytics_last_url", "hs_analytics_last_visit_timestamp", "hs_analytics_first_url",
              "hs_analytics_first_visit_timestamp", "hs_analytics_num_page_views", "hs_analytics_num_visits",
              "message", "recent_conversion_event_name", "recent_conversion_date", "hs_analytics_source",
              "hs_email_optout", "associatedcompanyid")
# HubSpot's checkbox -> our lead's consent field (HubSpot has no standard do-not-call property).
CONSENT_FIELDS = {"hs_email_optout": EMAIL_OPT_OUT}
FIELDS = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "jobtitle": "title",
    "company": "company",
    "phone": "phone",
    "lifecyclestage": "lifecycle_stage",
    "hs_lead_status": "lead_status",
    "associatedcompanyid": "crm_account_id",  # the contact's primary company: its account (issue 18)
}
ENGAGEMENT_DAYS = 90
ENGAGEMENT_LIMIT = 50
# Property changes that make a brief likely, and so are worth reading the contact's engagements for.
ENGAGEMENT_PROPERTIES = ("lifecyclestage", "hubspotscore")
# (which, url property, timestamp property): the contact's summary visits, kept however old they are.
VISITS = (("last", "hs_analytics_last_url", "hs_analytics_last_visit_timestamp"),
          ("first", "hs_analytics_first_url", "hs_analytics_first_visit_timestamp"))
VISIT_COUNTS = (("page_views", "hs_analytics_num_page_views"), ("sessions", "hs_analytics_num_visits"))
CLOCK_SKEW_MS = 5 * 60 * 1000  # a visit later than now by more than this is bad data, not a visit
PAGE_EVENT = "e_visited_page"
# The Events API is Enterprise-only: a refusal (401/403) is remembered this long before asking again.
EVENTS_REFUSED_SECONDS = 3600.0
# Pages read per list (Events API page views, one form's submissions), newest first; the item bound is
# ENGAGEMENT_LIMIT for page views, the engagement window for submissions.
PAGE_CAP = 5
FORM_PAGE_SIZE = 50  # the Forms API's maximum
# A form submission and the contact's conversion (profile timestamp, recent_conversion_date) are the same
# moment when within this of each other.
FORM_MATCH_MS = 10 * 60 * 1000
# Submitted fields that usually hold the lead's free text, best first (HubSpot's default is "message").
MESSAGE_FIELDS = ("message", "comments", "comment", "your_message", "how_can_we_help", "how_can_we_help_you",
                  "enquiry", "inquiry", "question", "questions", "notes", "note", "details", "description",
                  "project_details", "requirements")
MESSAGE_HINTS = ("message", "comment", "enquir", "inquir", "question", "note", "help")
# Submitted fields the lead itself already holds (or personal data that adds nothing to a brief).
PROFILE_FIELDS = {"email", "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle", "address",
                  "city", "state", "zip", "country", "website", "hs_persona", "hs_context", "hs_legal_basis"}
MAX_ANSWER_CHARS = 500
MAX_ANSWERS_JSON = 10_000
EMAIL_KINDS = {"SENT": "email_sent", "DELIVERED": "email_delivered", "OPEN": "email_open", "CLICK": "email_click"}
# HubSpot's v3 docs: these characters are decoded in the URI before signing.
_DECODED = ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C", "%3B")


class _Skipped(Exception):
    """An engagement call failed in a way that should not fail the delivery."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class UpstreamUnavailable(InvalidBatch):
    """HubSpot's API could not be read: 503, nothing stored, HubSpot redelivers later.

    A subclass of InvalidBatch only so that handlers.webhooks.add_source answers it with its status."""

    def __init__(self, error: str):
        super().__init__(error, status=503)


# --- authentication ------------------------------------------------------------------------------


def public_uri(request: Request) -> str:
    """The URI HubSpot requested, as it saw it (scheme and host from the proxy headers when present)."""
    headers = request.headers
    scheme = (headers.get("x-forwarded-proto") or request.url.scheme).split(",")[0].strip()
    host = (headers.get("x-forwarded-host") or headers.get("host") or request.url.netloc).split(",")[0].strip()
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def _decode_uri(uri: str) -> str:
    for code in _DECODED:
        uri = uri.replace(code, unquote(code)).replace(code.lower(), unquote(code))
    return uri


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def sign_v1(secret: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + body).hexdigest()


def sign_v2(secret: str, method: str, uri: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + method.encode() + uri.encode() + body).hexdigest()


def _matches(expected: str, offered: str) -> bool:
    return hmac.compare_digest(expected.encode(), offered.strip().encode())


def check(secret: str, method: str, uri: str, headers, body: bytes, now_ms: int) -> str | None:
    """None when authentic; otherwise what is wrong, for the 401 body."""
    uris = (uri, _decode_uri(uri))
    v3 = headers.get(V3_HEADER)
    if v3:
        timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
        if not timestamp.isdigit():
            return f"missing or malformed {TIMESTAMP_HEADER} header (expected milliseconds since the epoch)"
        if abs(now_ms - int(timestamp)) > TOLERANCE_MS:
            return f"{TIMESTAMP_HEADER} is more than 5 minutes from our clock; stale or replayed request"
        if any(_matches(sign_v3(secret, method, u, body, timestamp), v3) for u in uris):
            return None
        return (f"{V3_HEADER} does not match (expected base64 HMAC-SHA256 of method + {uri} + body + timestamp "
                "under the app's client secret)")
    legacy, version = headers.get(LEGACY_HEADER), (headers.get(VERSION_HEADER) or "v1").strip().lower()
    if not legacy:
        return f"missing {V3_HEADER} (or {LEGACY_HEADER}) header"
    if version == "v1":
        if _matches(sign_v1(secret, body), legacy.lower()):
            return None
    elif version == "v2":
        if any(_matches(sign_v2(secret, method, u, body), legacy.lower()) for u in uris):
            return None
    else:
        return f"unknown {VERSION_HEADER} {version!r} (expected v1 or v2)"
    return f"{LEGACY_HEADER} ({version}) does not match the body (check HUBSPOT_CLIENT_SECRET is the app's client secret)"


@dataclass(frozen=True)
class HubSpotSettings:
    """The app's client secret signs webhooks; a private-app token reads contacts and owners."""

    client_secret: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    api_url: str = "https://api.hubapi.com"
    # Our customer fact -> the contact property holding it, from [sources.hubspot] customer_properties. HubSpot
    # has no standard renewal or CSM property on contacts; a property of type "HubSpot user" holds an owner id.
    customer_properties: Mapping[str, str] = field(default_factory=dict)


def _load(env: Mapping[str, str], section: Any, where: str) -> HubSpotSettings:
    if section is not None and (not isinstance(section, dict) or set(section) - {"customer_properties"}):
        raise ConfigError(f"{where}: [sources.hubspot] takes only customer_properties = "
                          "{renewal_date = \"renewal_date\", csm_email = \"customer_success_manager\", ...}")
    try:
        properties = customer_field_map(section or {}, "customer_properties", f"{where}: sources.hubspot")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return HubSpotSettings(client_secret=env_text(env, "HUBSPOT_CLIENT_SECRET"),
                           access_token=env_text(env, "HUBSPOT_ACCESS_TOKEN"),
                           api_url=(env_text(env, "HUBSPOT_API_URL") or HubSpotSettings.api_url).rstrip("/"),
                           customer_properties=properties)


CONFIG = SourceConfig(SOURCE_NAME, HubSpotSettings(), _load, takes_section=True)


def authenticate(request: Request, body: bytes, settings: Settings) -> str | None:
    config = CONFIG.of(settings)
    if not (config.client_secret and config.access_token):
        raise SourceNotConfigured(
            "HubSpot webhooks are not enabled: set HUBSPOT_CLIENT_SECRET and HUBSPOT_ACCESS_TOKEN"
        )
    return check(config.client_secret, request.method, public_uri(request), request.headers, body,
                 int(time.time() * 1000))


# --- the CRM API ---------------------------------------------------------------------------------

_owners: dict[tuple[str, str], str | None] = {}
_owners_lock = threading.Lock()
# API base URL -> time.monotonic() until which the Events API is not asked (it refused: not Enterprise).
_events_refused: dict[str, float] = {}
_events_lock = threading.Lock()
# Likewise the Forms API (the private app lacks the forms scope): the contact's message property is used.
_forms_refused: dict[str, float] = {}


class HubSpotAPI:
    """Reads contacts and owners; a 429 is waited out once (Retry-After), then the delivery gives up."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None):
        config = CONFIG.of(settings)
        self.base = config.api_url.rstrip("/")
        self.client = client or httpx.Client(
            timeout=TIMEOUT, headers={"Authorization": f"Bearer {config.access_token}",
                                      "Accept": "application/json"}
        )
        self.rate_limited = False
        self.customer_properties = dict(config.customer_properties)
        self.properties = ",".join(dict.fromkeys((*PROPERTIES, *self.customer_properties.values())))
        # (form id, since) -> the form's submissions since then, read once per delivery
        # Form id -> (how far back it was read, its submissions): one read per form per delivery.
        self._forms: dict[str, tuple[int, list[dict]]] = {}

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str, params: dict | None = None, optional: bool = False) -> dict | None:
        """The JSON object, or None for 404. optional: anything but 200 or a second 429 raises _Skipped."""
        url = f"{self.base}{path}"
        for attempt in (1, 2):
            try:
                r = self.client.get(url, params=params)
            except httpx.HTTPError as exc:
                if optional:
                    raise _Skipped(f"unreachable ({type(exc).__name__})") from None
                raise UpstreamUnavailable(f"HubSpot API unreachable ({type(exc).__name__}); retry later") from None
            if r.status_code == 429 and attempt == 1 and not self.rate_limited:
                self.rate_limited = True  # one wait per delivery
                wait = _retry_after(r.headers.get("Retry-After"))
                if wait is not None:
                    time.sleep(wait)
                    continue
            if r.status_code == 429:
                raise UpstreamUnavailable("HubSpot API rate limit reached; retry later")
            if optional and r.status_code != 200:
                raise _Skipped(f"answered {r.status_code}", r.status_code)
            if r.status_code == 404:
                return None
            if r.status_code in (401, 403):
                raise UpstreamUnavailable(
                    f"HubSpot API refused HUBSPOT_ACCESS_TOKEN ({r.status_code}); the private app needs the "
                    "crm.objects.contacts.read and crm.objects.owners.read scopes"
                )
            if r.status_code != 200:
                raise UpstreamUnavailable(f"HubSpot API answered {r.status_code} for {path}; retry later")
            try:
                data = r.json()
            except ValueError:
                if optional:
                    raise _Skipped("answered something other than JSON") from None
                raise UpstreamUnavailable(f"HubSpot API answered {path} with something other than JSON") from None
            return data if isinstance(data, dict) else None
        raise AssertionError("unreachable")

    def contact(self, contact_id: str) -> dict | None:
        data = self._get(f"/crm/v3/objects/contacts/{contact_id}", {"properties": self.properties})
        if data is None:
            return None
        props = data.get("properties")
        return props if isinstance(props, dict) else {}

    def owner_email(self, owner_id: str) -> str | None:
        key = (self.base, owner_id)
        with _owners_lock:
            if key in _owners:
                return _owners[key]
        data = self._get(f"/crm/v3/owners/{owner_id}")
        email = data.get("email") if data else None
        email = email if isinstance(email, str) and email.strip() else None
        with _owners_lock:
            _owners[key] = email
        return email

    def form_submissions(self, contact_id: str) -> list[dict]:
        """The contact's form submissions (legacy contact profile; only the email property is asked for)."""
        data = self._get(f"/contacts/v1/contact/vid/{contact_id}/profile",
                         {"property": "email", "propertyMode": "value_only", "formSubmissionMode": "all",
                          "showListMemberships": "false"}, optional=True)
        items = data.get("form-submissions") if data else None
        return [s for s in items if isinstance(s, dict)] if isinstance(items, list) else []

    def form_values(self, form_id: str, since_ms: int) -> list[dict]:
        """A form's submissions back to since_ms (Forms API, newest first, at most PAGE_CAP pages; scope forms),
        read once per delivery. Each is {conversionId, submittedAt, values: [{name, value}], pageUrl}."""
        cached = self._forms.get(form_id)
        if cached is not None and cached[0] <= since_ms:
            return cached[1]
        with _events_lock:
            if _forms_refused.get(self.base, 0.0) > time.monotonic():
                return []
        found: list[dict] = []
        params: dict[str, str] = {"limit": str(FORM_PAGE_SIZE)}
        try:
            for _ in range(PAGE_CAP):
                data = self._get(f"/form-integrations/v1/submissions/forms/{form_id}", params, optional=True)
                items = data.get("results") if data else None
                page = [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []
                found.extend(page)
                times = [_ms(r.get("submittedAt")) for r in page]
                after = _next_after(data)
                if not page or not after or any(t is not None and t < since_ms for t in times):
                    break
                params = {**params, "after": after}
        except _Skipped as exc:
            if not found:
                self._forms[form_id] = (since_ms, [])
                if exc.status in (401, 403):
                    with _events_lock:
                        _forms_refused[self.base] = time.monotonic() + EVENTS_REFUSED_SECONDS
                    log.warning("HubSpot Forms API answered %s (the private app needs the forms scope); "
                                "form answers not read for an hour, the contact's message property is used",
                                exc.status)
                    return []
                raise
            log.warning("HubSpot form %s: a later page of submissions could not be read; kept %d", form_id,
                        len(found))
        self._forms[form_id] = (since_ms, found)
        return found

    def email_events(self, email: str, since_ms: int) -> list[dict]:
        """Marketing email events for one recipient since since_ms (at most ENGAGEMENT_LIMIT)."""
        data = self._get("/email/public/v1/events",
                         {"recipient": email, "startTimestamp": str(since_ms), "limit": str(ENGAGEMENT_LIMIT)},
                         optional=True)
        items = data.get("events") if data else None
        return [e for e in items if isinstance(e, dict)] if isinstance(items, list) else []

    def page_views(self, contact_id: str, since_ms: int) -> list[dict]:
        """The contact's most recent page views since since_ms (Events API, Enterprise only). A 401/403 is
        remembered for this API base for an hour, so other portals' tiers don't cost a call per contact."""
        with _events_lock:
            if _events_refused.get(self.base, 0.0) > time.monotonic():
                return []
        since = datetime.fromtimestamp(since_ms / 1000, UTC).isoformat(timespec="milliseconds")
        params = {"objectType": "contact", "objectId": contact_id, "eventType": PAGE_EVENT,
                  "occurredAfter": since.replace("+00:00", "Z"), "limit": str(ENGAGEMENT_LIMIT), "sort": "-occurredAt"}
        found: list[dict] = []
        try:
            # HubSpot may answer fewer than asked per page: follow paging.next.after, bounded.
            for _ in range(PAGE_CAP):
                data = self._get("/events/v3/events/", params, optional=True)
                items = data.get("results") if data else None
                found.extend(e for e in (items if isinstance(items, list) else []) if isinstance(e, dict))
                after = _next_after(data)
                if len(found) >= ENGAGEMENT_LIMIT or not after or not items:
                    break
                params = {**params, "after": after}
        except _Skipped as exc:
            if found:  # a later page failed: keep what the earlier ones gave
                log.warning("HubSpot contact %s: reading page views %s after %d; kept those", contact_id, exc,
                            len(found))
                return found[:ENGAGEMENT_LIMIT]
            if exc.status not in (401, 403):
                raise
            with _events_lock:
                known = _events_refused.get(self.base, 0.0) > time.monotonic()
                _events_refused[self.base] = time.monotonic() + EVENTS_REFUSED_SECONDS
            if not known:
                log.info("HubSpot Events API answered %s (it needs an Enterprise portal and the "
                         "analytics.behavioral_events.read scope); page view history not read for an hour",
                         exc.status)
            return []
        return found[:ENGAGEMENT_LIMIT]


def _next_after(data: dict | None) -> str | None:
    """The cursor of HubSpot's next page (paging.next.after), if any."""
    paging = data.get("paging") if isinstance(data, dict) else None
    nxt = paging.get("next") if isinstance(paging, dict) else None
    after = nxt.get("after") if isinstance(nxt, dict) else None
    return str(after) if isinstance(after, str | int) and str(after).strip() else None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait, or None when too long to hold the request open."""
    try:
        seconds = float(value) if value else 1.0
    except ValueError:
        seconds = 1.0
    return max(seconds, 0.0) if seconds <= MAX_RETRY_AFTER else None


# --- translation ---------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(i: int, item: dict) -> list[FieldError]:
    """What a contact event we use lacks; each named with its index."""
    problems = []
    event_id = item.get("eventId")
    if not (_is_int(event_id) or (isinstance(event_id, str) and event_id.strip())):
        problems.append(FieldError(i, f"[{i}].eventId", "is required (a number)"))
    if not _is_int(item.get("occurredAt")):
        problems.append(FieldError(i, f"[{i}].occurredAt", "is required (milliseconds since the epoch)"))
    object_id = item.get("objectId")
    if not (_is_int(object_id) or (isinstance(object_id, str) and object_id.strip().isdigit())):
        problems.append(FieldError(i, f"[{i}].objectId", "is required (the HubSpot record id)"))
    return problems


def _sort(items: list) -> tuple[list[tuple[int, dict]], int, list[FieldError]]:
    """(the contact events we use, how many records are of types or objects we don't use, what is wrong with
    the rest). Only a contact event is checked field by field: association changes (no objectId), privacy
    deletions, company/deal/conversation events are HubSpot's and simply not ours."""
    wanted, ignored, skipped = [], 0, []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            skipped.append(FieldError(i, f"[{i}]", f"expected a JSON object, got {type(item).__name__}"))
            continue
        kind = item.get("subscriptionType", item.get("eventType"))
        if not isinstance(kind, str) or not kind.strip():
            skipped.append(FieldError(i, f"[{i}].subscriptionType", "is required (e.g. 'contact.creation')"))
            continue
        if not _used({**item, "subscriptionType": kind}):
            ignored += 1
            continue
        problems = _validate(i, item)
        if problems:
            skipped.extend(problems)
        else:
            wanted.append((i, {**item, "subscriptionType": kind}))
    return wanted, ignored, skipped


def _used(item: dict) -> bool:
    kind = item["subscriptionType"]
    if kind in CONTACT_TYPES:
        return True
    return kind in PLATFORM_TYPES and str(item.get("objectTypeId", "")) == CONTACT_OBJECT_TYPE


def _lead(contact_id: str, props: dict, portal_id: Any, api: HubSpotAPI) -> tuple[dict, dict[str, str]]:
    """Our lead fields, and where each came from (for error messages)."""
    lead: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for theirs, ours in FIELDS.items():
        value = props.get(theirs)
        if isinstance(value, str) and value.strip():
            lead[ours] = value.strip()
            origin[f"lead.{ours}"] = f"properties.{theirs}"
    score = props.get("hubspotscore")
    if score not in (None, ""):
        try:
            lead["score"] = int(float(score))
        except (TypeError, ValueError):
            lead["score"] = score  # let validation name it
        origin["lead.score"] = "properties.hubspotscore"
    owner_id = props.get("hubspot_owner_id")
    if isinstance(owner_id, str | int) and str(owner_id).strip():
        email = api.owner_email(str(owner_id).strip())
        if email:
            lead["owner_email"] = email
    for ours, value in consent(props, CONSENT_FIELDS).items():
        lead[ours] = value
        origin[f"lead.{ours}"] = f"properties.{next(k for k, v in CONSENT_FIELDS.items() if v == ours)}"
    facts, where = customer_facts(props, api.customer_properties if api is not None else {})
    csm = facts.get("csm_email")
    if isinstance(csm, str | int) and str(csm).strip().isdigit():  # a "HubSpot user" property: an owner id
        email = api.owner_email(str(csm).strip())
        if email:
            facts["csm_email"] = email
        else:
            del facts["csm_email"]
    lead.update(facts)
    origin.update({ours: f"properties.{theirs}" for ours, theirs in where.items()})
    if _is_int(portal_id) or (isinstance(portal_id, str) and portal_id.isdigit()):
        lead["crm_url"] = f"https://app.hubspot.com/contacts/{portal_id}/record/0-1/{contact_id}"
    return lead, origin


def _upsert(i: int, item: dict, when: str, lead: dict, origin: dict[str, str], contact_id: str):
    """Our event; a contact field HubSpot holds that we cannot take is left out (logged), since
    refusing the delivery would only make HubSpot redeliver it. An unusable email: None (ignored)."""
    for _ in range(2):
        event, errs = validate_event(
            {"type": "lead.upsert", "id": str(item["eventId"]), "source": SOURCE_NAME, "occurred_at": when,
             "lead": lead}, i)
        if event:
            return event
        for e in errs:
            log.warning("HubSpot contact %s: %s %s; left out", contact_id, origin.get(e.field, e.field), e.message)
            if e.field == "lead.email" or not e.field.startswith("lead."):
                return None
            lead.pop(e.field.removeprefix("lead.").split(".")[0], None)
    return None


def _wants_engagements(item: dict) -> bool:
    kind = item["subscriptionType"]
    if kind.endswith(".creation"):
        return True
    return kind.endswith(".propertyChange") and item.get("propertyName") in ENGAGEMENT_PROPERTIES


def _ms(value: Any) -> int | None:
    if _is_int(value):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _instant(value: Any) -> int | None:
    """Milliseconds since the epoch from an ISO 8601 string (CRM v3 datetimes) or epoch milliseconds; None
    when absent. ValueError when malformed."""
    if value is None or value == "":
        return None
    ms = _ms(value)
    if ms is not None:
        return ms
    if not isinstance(value, str):
        raise ValueError(f"expected a date, got {type(value).__name__}")
    when = datetime.fromisoformat(value.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HubSpot's datetimes are UTC
    return int(when.timestamp() * 1000)


def _count(contact_id: str, prop: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        log.warning("HubSpot contact %s: %s is not a number; left out", contact_id, prop)
        return None


def _visit_activities(contact_id: str, props: dict, now_ms: int) -> list[tuple[int, dict]]:
    """The last and first visits from the contact's analytics properties (every tier)."""
    found = []
    for which, url_prop, when_prop in VISITS:
        url = _text(props.get(url_prop))
        try:
            when = _instant(props.get(when_prop))
        except (ValueError, OverflowError, OSError):
            log.warning("HubSpot contact %s: %s is not a date; %s visit left out", contact_id, when_prop, which)
            continue
        if not url or when is None:
            continue
        if when > now_ms + CLOCK_SKEW_MS:
            log.warning("HubSpot contact %s: %s is in the future; %s visit left out", contact_id, when_prop, which)
            continue
        event: dict[str, Any] = {"type": "activity", "id": f"hubspot:visit:{contact_id}:{when}", "kind": "web_visit",
                                 "url": url}
        if which == "last":
            counts = {ours: _count(contact_id, theirs, props.get(theirs)) for ours, theirs in VISIT_COUNTS}
            counts = {k: v for k, v in counts.items() if v is not None}
            if counts:
                event["properties"] = counts
        found.append((when, event))
    return found


def _page_activity(email: str, ev: dict) -> tuple[int, dict] | None:
    event_id = _text(ev.get("id"))
    if not event_id or ev.get("eventType", PAGE_EVENT) != PAGE_EVENT:
        return None
    try:
        when = _instant(ev.get("occurredAt"))
    except (ValueError, OverflowError, OSError):
        log.warning("HubSpot page view %s: occurredAt is not a date; left out", event_id)
        return None
    props = ev.get("properties") if isinstance(ev.get("properties"), dict) else {}
    url = _text(props.get("hs_url")) or _text(props.get("hs_page_url"))
    if when is None or not url:
        return None
    event: dict[str, Any] = {"type": "activity", "id": f"hubspot:page:{event_id}", "kind": "web_visit", "url": url}
    title = _text(props.get("hs_title")) or _text(props.get("hs_page_title"))
    if title:
        event["properties"] = {"page_title": title}
    return when, event


def _form_activity(email: str, sub: dict) -> tuple[int, dict] | None:
    conversion, when = _text(sub.get("conversion-id")), _ms(sub.get("timestamp"))
    if not conversion or when is None:
        return None
    event: dict[str, Any] = {"type": "activity", "id": f"hubspot:form:{conversion}", "kind": "form_submit"}
    if _text(sub.get("title")):
        event["form"] = _text(sub["title"])
    if _text(sub.get("page-url")):
        event["url"] = _text(sub["page-url"])
    extra = {k: _text(sub.get(theirs)) for k, theirs in (("form_id", "form-id"), ("page_title", "page-title"))}
    extra = {k: v for k, v in extra.items() if v}
    if extra:
        event["properties"] = extra
    return when, event


def _answers(values: Any) -> dict[str, str]:
    """A Forms API submission's values as name -> text; a name sent more than once (checkboxes) is joined
    with ';', as HubSpot stores a multiple checkbox property."""
    answers: dict[str, str] = {}
    for item in values if isinstance(values, list) else []:
        name = _text(item.get("name")) if isinstance(item, dict) else None
        value = item.get("value") if name else None
        if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
            continue
        text = str(value).strip()
        answers[name] = f"{answers[name]};{text}" if name in answers else text  # type: ignore[index]
    return answers


def _message(answers: dict[str, str]) -> tuple[str | None, str | None]:
    """(field name, text) of the submission's free-text message."""
    hinted = (n for n in answers if any(h in n.lower() for h in MESSAGE_HINTS))
    for name in (*MESSAGE_FIELDS, *hinted):
        if answers.get(name):
            return name, answers[name]
    return None, None


def _submission_for(results: list[dict], conversion: str, email: str, when: int) -> dict | None:
    """The Forms API submission that is this conversion: the same conversionId, else the same email submitted
    within FORM_MATCH_MS (the nearest)."""
    best: tuple[int, dict] | None = None
    for result in results:
        if _text(result.get("conversionId")) == conversion:
            return result
        submitted = _ms(result.get("submittedAt"))
        if submitted is None or abs(submitted - when) > FORM_MATCH_MS:
            continue
        if (_answers(result.get("values")).get("email") or "").lower() != email.lower():
            continue
        if best is None or abs(submitted - when) < best[0]:
            best = (abs(submitted - when), result)
    return best[1] if best else None


def _add_answers(event: dict, result: dict) -> None:
    """The submission's message as the activity's comments (the brief quotes it, as for every source), its
    other answers (timeline, how they heard of us, company size...) as properties the brief reads."""
    answers = _answers(result.get("values"))
    name, message = _message(answers)
    if message:
        event["comments"] = message
    props = dict(event.get("properties") or {})
    for field_name, value in answers.items():
        if field_name == name or field_name.lower() in PROFILE_FIELDS:
            continue
        props[field_name] = value[:MAX_ANSWER_CHARS]
        if len(json.dumps(props)) > MAX_ANSWERS_JSON:
            props.pop(field_name)
            break
    if props:
        event["properties"] = props
    if "url" not in event and _text(result.get("pageUrl")):
        event["url"] = _text(result["pageUrl"])


def _form_words(contact_id: str, email: str, props: dict, forms: list[tuple[int, dict]], api: HubSpotAPI,
                since: int) -> list[tuple[int, dict]]:
    """Fill the contact's recent form submissions with what was submitted: the Forms API's values (scope
    forms), else the contact's own message property for the conversion it belongs to. A conversion the
    profile did not list (it could not be read) becomes a form_submit of its own. Returns any such one."""
    for when, event in forms:
        form_id = (event.get("properties") or {}).get("form_id")
        conversion = event["id"].removeprefix("hubspot:form:")
        if not form_id:
            continue
        try:
            results = api.form_values(form_id, when - FORM_MATCH_MS)
        except _Skipped as exc:
            log.warning("HubSpot contact %s: reading the submissions of form %s %s; stored without its fields",
                        contact_id, form_id, exc)
            continue
        result = _submission_for(results, conversion, email, when)
        if result is not None:
            _add_answers(event, result)
    message = _text(props.get("message"))
    if not message or any(e.get("comments") for _, e in forms):
        return []
    try:
        converted = _instant(props.get("recent_conversion_date"))
    except (ValueError, OverflowError, OSError):
        log.warning("HubSpot contact %s: recent_conversion_date is not a date; message left out", contact_id)
        return []
    if converted is None:  # no date to match it with: it is the newest submission's
        target = max(forms, key=lambda f: f[0], default=None)
    else:
        near = [f for f in forms if abs(f[0] - converted) <= FORM_MATCH_MS]
        target = min(near, key=lambda f: abs(f[0] - converted), default=None)
    if target is not None:
        target[1]["comments"] = message
        return []
    name = _text(props.get("recent_conversion_event_name"))
    if converted is None or converted < since or not name:
        return []
    event: dict[str, Any] = {"type": "activity", "id": f"hubspot:conversion:{contact_id}:{converted}",
                             "kind": "form_submit", "form": name, "comments": message}
    return [(converted, event)]


def _email_activity(email: str, ev: dict) -> tuple[int, dict] | None:
    kind = EMAIL_KINDS.get(ev.get("type")) if isinstance(ev.get("type"), str) else None
    event_id, when = _text(ev.get("id")), _ms(ev.get("created"))
    if not kind or not event_id or when is None:
        return None  # other types (bounces, status changes)
    event: dict[str, Any] = {"type": "activity", "id": f"hubspot:email:{event_id}", "kind": kind}
    if _text(ev.get("subject")):
        event["subject"] = _text(ev["subject"])
    if kind == "email_click" and _text(ev.get("url")):
        event["url"] = _text(ev["url"])
    props: dict[str, Any] = {}
    campaign = ev.get("emailCampaignId")
    if _is_int(campaign) or _text(campaign):
        props["email_campaign_id"] = str(campaign)
    props.update(_machine_details(ev))
    if props:
        event["properties"] = props
    return when, event


def _machine_details(ev: dict) -> dict[str, Any]:
    """What triage reads to tell a person's open from a machine's (docs/triage.md): HubSpot's own bot filter
    (an open or click it flags is kept, marked, and left out of the touches), the client's user agent, browser
    and place, and sentBy.id, the SENT event every event of one message names, to time an open from its send."""
    details: dict[str, Any] = {}
    if ev.get("filteredEvent") is True:
        details["filteredEvent"] = True
    sent_by = ev.get("sentBy")
    browser = ev.get("browser") if isinstance(ev.get("browser"), dict) else {}
    location = ev.get("location") if isinstance(ev.get("location"), dict) else {}
    for ours, value, cap in (
        ("message_id", sent_by.get("id") if isinstance(sent_by, dict) else None, 100),
        ("user_agent", ev.get("userAgent"), 500),
        ("browser", browser.get("name"), 200),
        ("browser_type", browser.get("type"), 100),
        ("location", ", ".join(p for p in (_text(location.get(k)) for k in ("city", "state", "country")) if p), 200),
        ("device_type", ev.get("deviceType"), 50),
    ):
        text = _text(value)
        if text:
            details[ours] = text[:cap]
    return details


def _engagements(i: int, contact_id: str, email: str, props: dict, api: HubSpotAPI, now: datetime) -> list:
    """The contact's recent form submissions, marketing email events and page views, and its first and last
    visits, as our activity events."""
    since = int((now - timedelta(days=ENGAGEMENT_DAYS)).timestamp() * 1000)
    found: list[tuple[int, dict]] = []
    for name, read, build in (
        ("form submissions", lambda: api.form_submissions(contact_id), _form_activity),
        ("email events", lambda: api.email_events(email, since), _email_activity),
        ("page views", lambda: api.page_views(contact_id, since), _page_activity),
    ):
        try:
            items = read()
        except _Skipped as exc:
            log.warning("HubSpot contact %s: reading %s %s; stored without them", contact_id, name, exc)
            items = []
        built = [b for b in (build(email, item) for item in items) if b and b[0] >= since]
        built = sorted(built, key=lambda b: b[0], reverse=True)[:ENGAGEMENT_LIMIT]
        if name == "form submissions":
            built.extend(_form_words(contact_id, email, props, built, api, since))
            source = _text(props.get("hs_analytics_source"))
            if source and built:  # how the hand-raiser first found us, on their newest submission
                newest = max(built, key=lambda b: b[0])[1]
                newest["properties"] = {**(newest.get("properties") or {}), "original_source": source}
        found.extend(built)
    # A summary visit the page history already holds (same page, at or after its time) would count twice.
    pages = [(when, e["url"]) for when, e in found if e["id"].startswith("hubspot:page:")]
    found.extend(v for v in _visit_activities(contact_id, props, int(now.timestamp() * 1000))
                 if not any(url == v[1]["url"] and when >= v[0] - CLOCK_SKEW_MS for when, url in pages))
    events, seen = [], set()
    for when, event in found:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        event.update(email=email, source=SOURCE_NAME,
                     occurred_at=datetime.fromtimestamp(when / 1000, UTC).isoformat())
        parsed, errs = validate_event(event, i)
        if parsed:
            events.append(parsed)
        else:
            log.warning("HubSpot contact %s: engagement %s left out (%s)", contact_id, event["id"],
                        "; ".join(f"{e.field} {e.message}" for e in errs))
    return events


def _parse(body: bytes) -> list:
    data = body_json(body, "a JSON array of HubSpot webhook events")
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InvalidBatch("body must be a JSON array of HubSpot webhook events",
                           [FieldError(0, "(body)", f"expected a JSON array, got {type(data).__name__}")])
    if not data:
        raise InvalidBatch("delivery is empty", [FieldError(0, "(body)", "expected at least one event")])
    if len(data) > MAX_EVENTS:
        raise InvalidBatch(f"delivery has {len(data)} events; at most {MAX_EVENTS} are accepted", status=413)
    return data


def translate(body: bytes, _request: Request | None, settings: Settings, api: HubSpotAPI | None = None) -> Translated:
    items = _parse(body)
    wanted, ignored, skipped = _sort(items)
    if not wanted and not ignored:
        raise InvalidBatch(f"none of the {len(items)} records is a HubSpot webhook event; nothing was stored",
                           skipped)
    if not wanted:
        return Translated([], ignored, skipped)
    own = api is None
    api = api or HubSpotAPI(settings)
    try:
        contacts: dict[str, dict | None] = {}
        leads: dict[str, tuple[dict, dict[str, str]] | None] = {}
        events: list = []
        engaged: dict[str, tuple[int, str]] = {}  # contact id -> (index, email): engagements to read
        for i, item in wanted:
            contact_id = str(item["objectId"]).strip()
            if contact_id not in contacts:  # each contact once per delivery
                contacts[contact_id] = api.contact(contact_id)
                props = contacts[contact_id]
                leads[contact_id] = _lead(contact_id, props, item.get("portalId"), api) if props else None
            found = leads[contact_id]
            if found is None or "email" not in found[0]:
                ignored += 1  # deleted since, or a contact without an email
                continue
            lead, origin = found
            when = datetime.fromtimestamp(item["occurredAt"] / 1000, UTC).isoformat()
            event = _upsert(i, item, when, dict(lead), origin, contact_id)
            if event is None:
                ignored += 1
            else:
                events.append(event)
                if _wants_engagements(item):
                    engaged.setdefault(contact_id, (i, event.lead.email))
        now = datetime.now(UTC)
        for contact_id, (i, email) in engaged.items():  # after the upserts: the lead exists first
            events.extend(_engagements(i, contact_id, email, contacts[contact_id] or {}, api, now))
    finally:
        if own:
            api.close()
    return Translated(events, ignored, skipped)


SOURCE = Source(SOURCE_NAME, authenticate, translate, config=CONFIG, doc=WebhookDoc(
    "HubSpot webhook subscriptions.", "HubSpot's v3 request signature (HUBSPOT_CLIENT_SECRET)."))
