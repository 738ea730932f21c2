"""Pull activities and leads from Marketo's REST API (`leadbrief sync marketo --since DATE`).

The webhook (handlers/sources/marketo.py) only sees what a smart campaign forwards; this reads the activity
log itself, for a backfill or to catch up after downtime:

    GET {base}/identity/oauth/token?grant_type=client_credentials&client_id=..&client_secret=..  -> access_token
    GET {base}/rest/v1/activities/pagingtoken.json?sinceDatetime=ISO                            -> nextPageToken
    GET {base}/rest/v1/activities.json?nextPageToken=..&activityTypeIds=1,2,6,7,10,11,22,46     -> one page
    GET {base}/rest/v1/leads.json?filterType=id&filterValues=..&fields=..                        -> the page's leads

Activity types (Marketo's standard ids) -> our events, id = marketoGUID (else the numeric id):

    1  Visit Webpage      -> activity web_visit        url: "Webpage URL" when absolute, else primaryAttributeValue
    2  Fill Out Form      -> activity form_submit      form: primaryAttributeValue; comments: from "Form Fields"
    6  Send Email         -> activity email_sent       subject: primaryAttributeValue (the email's name)
    7  Email Delivered    -> activity email_delivered
    10 Open Email         -> activity email_open
    11 Click Email        -> activity email_click      url: the "Link" attribute
    22 Change Score       -> lead.upsert score = "New Value" (only for the lead score field itself)
    46 Interesting Moment, any other type, a lead without an email -> ignored (counted)

One bad record never costs its page: an activity we cannot read (no leadId, activityTypeId or readable
activityDate, or a value that fails validation) is skipped, counted (SyncResult.skipped) and logged by field,
and the rest of the page is stored.

Plus one lead.upsert per lead of a page (id "lead:<leadId>:<updatedAt or activityDate>") with the profile
fields read from leads.json. This module reads and translates the pages; the sync use case (bot/usecases/sync.py)
stores each on its own, so a failure keeps every earlier page, and SyncResult.next_page_token (also on
SyncError.result) is where to resume (`page_token=`).

Marketo answers HTTP 200 with {"success": false, "errors": [{"code", "message"}]}: 601/602 (access token
invalid/expired) -> authenticate again, once per request; 606/615 (rate/concurrency limit) -> wait and retry,
up to RATE_LIMIT_RETRIES times; anything else -> SyncError naming the code.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.settings import Settings
from bot.usecases.sync import Page, SyncError, SyncResult
from bot.usecases.sync import sync as store_pages
from briefs.events import Event, load_json, validate_event
from briefs.rules import Rules
from handlers.sources.marketo import CONFIG, MarketoSettings, machine_details
from handlers.sources.payload import EMAIL_OPT_OUT, consent

log = logging.getLogger(__name__)

SOURCE_NAME = "marketo"
ACTIVITY_TYPE_IDS = (1, 2, 6, 7, 10, 11, 22, 46)
KINDS = {1: "web_visit", 2: "form_submit", 6: "email_sent", 7: "email_delivered", 10: "email_open",
         11: "email_click"}
CHANGE_SCORE = 22
LEAD_FIELDS = {"email": "email", "firstName": "first_name", "lastName": "last_name", "title": "title",
               "company": "company", "phone": "phone", "leadScore": "score"}
# Lead fields -> our lead's consent fields (unsubscribed: from email; Marketo has no do-not-call field).
CONSENT_FIELDS = {"unsubscribed": EMAIL_OPT_OUT}
LEAD_BATCH = 300
TOKEN_ERRORS = {"601", "602"}  # access token invalid, access token expired
RATE_ERRORS = {"606", "615"}  # rate limit (100 calls / 20 s), concurrent access limit
RATE_LIMIT_WAIT = 20.0
RATE_LIMIT_RETRIES = 5
SCORE_FIELDS = {"leadscore", "score", ""}
COMMENT_FIELDS = ("comments", "comment", "comments__c", "message", "questions", "question", "notes",
                  "how can we help", "how can we help?")
_OFFSET = re.compile(r"([+-])(\d{2})(\d{2})$")


# --- parsing ---------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """Marketo's date-times: 2026-11-23T10:15:00Z or 2026-11-23T10:15:00+0000 (naive -> UTC)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _OFFSET.sub(r"\1\2:\3", text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    value = str(value).strip()
    return value or None


def _attributes(activity: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in activity.get("attributes") or []:
        if isinstance(attr, dict) and isinstance(attr.get("name"), str):
            out[attr["name"].strip().lower()] = attr.get("value")
    return out


def _php_strings(text: str) -> list[str | int]:
    """The scalars of a PHP-serialised array (how Marketo renders "Form Fields"), in order."""
    data, out, i = text.encode(), [], 0
    while i < len(data):
        if data[i:i + 2] == b"s:":
            colon = data.find(b":", i + 2)
            if colon < 0 or not data[i + 2:colon].isdigit():
                break
            n = int(data[i + 2:colon])
            out.append(data[colon + 2:colon + 2 + n].decode(errors="replace"))
            i = colon + 2 + n + 2  # past the closing quote and ';'
        elif data[i:i + 2] == b"i:":
            end = data.find(b";", i)
            if end < 0:
                break
            out.append(int(data[i + 2:end]) if data[i + 2:end].lstrip(b"-").isdigit() else 0)
            i = end + 1
        elif data[i:i + 2] == b"a:":
            i = data.find(b"{", i) + 1 or len(data)
        else:
            i += 1
    return out


def form_fields(value: Any) -> dict[str, Any]:
    """"Form Fields" as a dict: JSON object, or PHP-serialised array (a:2:{s:5:"Email";s:..})."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        parsed = load_json(value)
        if isinstance(parsed, dict):
            return parsed
    except ValueError:
        pass
    items = _php_strings(value)
    return {str(items[k]): items[k + 1] for k in range(0, len(items) - 1, 2)}


def _comments(fields: dict[str, Any]) -> str | None:
    lowered = {str(k).strip().lower(): v for k, v in fields.items()}
    for name in COMMENT_FIELDS:
        value = _text(lowered.get(name))
        if value:
            return value[:10_000]
    return None


# --- mapping ---------------------------------------------------------------------------------------

def _event_id(activity: dict) -> str | None:
    return _text(activity.get("marketoGUID")) or _text(activity.get("id"))


def activity_event(activity: dict, email: str) -> dict | None:
    """The event for one activity of a lead with this email, or None when we do not record its type."""
    type_id = activity.get("activityTypeId")
    event_id, when = _event_id(activity), parse_time(activity.get("activityDate"))
    attrs = _attributes(activity)
    primary = _text(activity.get("primaryAttributeValue"))
    base = {"id": event_id, "source": SOURCE_NAME, "occurred_at": when or activity.get("activityDate")}
    if type_id == CHANGE_SCORE:
        field = re.sub(r"[\s_]", "", (primary or "").lower())
        new = _text(attrs.get("new value"))
        if field not in SCORE_FIELDS or new is None or not re.fullmatch(r"-?\d+(\.0+)?", new):
            return None
        return {**base, "type": "lead.upsert", "lead": {"email": email, "score": int(float(new))}}
    kind = KINDS.get(type_id)
    if kind is None:
        return None
    event: dict[str, Any] = {**base, "type": "activity", "email": email, "kind": kind}
    properties = {"marketo_activity_id": activity.get("id"), "marketo_lead_id": activity.get("leadId"),
                  "marketo_campaign_id": activity.get("campaignId")}
    if kind == "web_visit":
        page = _text(attrs.get("webpage url"))
        event["url"] = page if page and page.lower().startswith(("http://", "https://")) else primary or page
        properties["marketo_query"] = _text(attrs.get("query parameters"))
        properties["marketo_referrer"] = _text(attrs.get("referrer url"))
    elif kind == "form_submit":
        event["form"] = primary or _text(activity.get("primaryAttributeValueId"))
        event["comments"] = _comments(form_fields(attrs.get("form fields")))
        event["url"] = _text(attrs.get("referrer url"))
        properties["marketo_webform_id"] = activity.get("primaryAttributeValueId")
    else:
        event["subject"] = primary
        if kind == "email_click":
            event["url"] = _text(attrs.get("link"))
        properties["marketo_email_id"] = activity.get("primaryAttributeValueId")
        properties.update(machine_details(attrs))
    if isinstance(event.get("url"), str):
        event["url"] = event["url"][:2000]
    event = {k: v for k, v in event.items() if v is not None}
    properties = {k: v for k, v in properties.items() if v is not None}
    if properties:
        event["properties"] = properties
    return event


def lead_event(lead_id: Any, lead: dict, fallback_time: datetime | None) -> dict:
    stamp = _text(lead.get("updatedAt"))
    when = parse_time(stamp) or fallback_time
    key = stamp or (fallback_time.isoformat() if fallback_time else "")
    fields = {ours: _text(lead.get(theirs)) for theirs, ours in LEAD_FIELDS.items()}
    if fields["score"] is not None:
        try:
            fields["score"] = int(float(fields["score"]))
        except ValueError:
            fields["score"] = None
    fields = {k: v for k, v in fields.items() if v is not None}
    fields.update(consent(lead, CONSENT_FIELDS))
    return {"type": "lead.upsert", "id": f"lead:{lead_id}:{key}", "source": SOURCE_NAME, "occurred_at": when,
            "lead": fields}


# --- the REST client -------------------------------------------------------------------------------


class _Marketo:
    def __init__(self, config: MarketoSettings, client: httpx.Client, sleep: Callable[[float], None]):
        missing = [name for name, value in (("MARKETO_BASE_URL", config.base_url),
                                            ("MARKETO_CLIENT_ID", config.client_id),
                                            ("MARKETO_CLIENT_SECRET", config.client_secret)) if not value]
        if missing or config.base_url is None:
            raise SyncError(f"Marketo sync is not configured: set {', '.join(missing)} (Admin -> LaunchPoint "
                            "-> API service, and Admin -> Web Services -> REST API endpoint)")
        base = config.base_url.strip().rstrip("/")
        self.base = base.removesuffix("/rest").removesuffix("/identity")
        self.client_id, self.client_secret = config.client_id, config.client_secret
        self.client, self.sleep = client, sleep
        self.token: str | None = None

    def _http(self, path: str, params: dict, headers: dict | None = None) -> tuple[int, Any]:
        try:
            response = self.client.get(self.base + path, params=params, headers=headers or {})
        except httpx.HTTPError as exc:
            raise SyncError(f"cannot reach Marketo at {self.base}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    def authenticate(self) -> None:
        status, body = self._http("/identity/oauth/token", {"grant_type": "client_credentials",
                                                            "client_id": self.client_id,
                                                            "client_secret": self.client_secret})
        token = body.get("access_token") if isinstance(body, dict) else None
        if status != 200 or not token:
            detail = (body or {}).get("error_description") or (body or {}).get("error") if isinstance(body, dict) else None
            raise SyncError(f"Marketo refused the API credentials (HTTP {status}: {detail or 'no access_token'}); "
                            "check MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET", code=str(status))
        self.token = token

    def get(self, path: str, params: dict) -> dict:
        reauthenticated, waits = False, 0
        while True:
            if self.token is None:
                self.authenticate()
            status, body = self._http(path, params, {"Authorization": f"Bearer {self.token}"})
            if not isinstance(body, dict):
                raise SyncError(f"Marketo answered HTTP {status} without a JSON body for {path}", code=str(status))
            if body.get("success") is True:
                return body
            errors = [e for e in body.get("errors") or [] if isinstance(e, dict)] or [{"code": str(status),
                                                                                       "message": "unknown error"}]
            code, message = str(errors[0].get("code")), str(errors[0].get("message") or "")
            if code in TOKEN_ERRORS and not reauthenticated:
                reauthenticated, self.token = True, None
                continue
            if code in RATE_ERRORS and waits < RATE_LIMIT_RETRIES:
                waits += 1
                self.sleep(RATE_LIMIT_WAIT)
                continue
            raise SyncError(f"Marketo error {code}: {message} ({path})", code=code)


# --- the sync --------------------------------------------------------------------------------------


def sync(
    settings: Settings,
    sessions: Any,
    rules: Rules,
    since: datetime,
    *,
    client: httpx.Client | None = None,
    now: datetime | None = None,
    progress: Callable[[SyncResult], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    page_token: str | None = None,
) -> SyncResult:
    """Read Marketo's activity log from `since` (or from `page_token`, to resume) and ingest it page by page.

    sessions: the database's sessionmaker. `progress(result)` is called after each page with the running
    totals. Raises SyncError (with `.code` and `.result`, the totals and resume token as of the last stored page)."""
    own = client is None
    client = client or httpx.Client(timeout=30)
    try:
        api = _Marketo(CONFIG.of(settings), client, sleep)
        token = page_token
        if token is None:
            start = since if since.tzinfo else since.replace(tzinfo=UTC)
            body = api.get("/rest/v1/activities/pagingtoken.json",
                           {"sinceDatetime": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
            token = _text(body.get("nextPageToken"))
            if token is None:
                raise SyncError("Marketo returned no nextPageToken for the start date")
        return store_pages(sessions, rules, _pages(api, token), resume_token=token, now=now, progress=progress,
                           triage_policy=settings.triage.policy, accounts=settings.accounts)
    except SyncError as exc:
        if exc.result is None:  # failed before the first page
            exc.result = SyncResult()
        raise
    finally:
        if own:
            client.close()


def _pages(api: _Marketo, token: str) -> Iterator[Page]:
    """The activity log from `token` on, a page at a time; the next page is read once this one is stored."""
    type_ids = ",".join(str(t) for t in ACTIVITY_TYPE_IDS)
    profiles_sent: set[str] = set()  # a lead's profile with the same updatedAt is sent once per run
    while True:
        body = api.get("/rest/v1/activities.json", {"nextPageToken": token, "activityTypeIds": type_ids})
        rows = body.get("result") if isinstance(body.get("result"), list) else []
        activities = [a for a in rows if isinstance(a, dict)]
        events, ignored, skipped = _page_events(api, activities, profiles_sent)
        if len(activities) < len(rows):
            log.warning("Marketo activities page: %d result item(s) are not objects; skipped",
                        len(rows) - len(activities))
        new_token = _text(body.get("nextPageToken")) or token
        yield Page(events, ignored, new_token, skipped + len(rows) - len(activities))
        if not body.get("moreResult") or (new_token == token and not activities):
            return
        token = new_token


def _unreadable(activity: dict) -> str | None:
    """What makes an activity unreadable, naming Marketo's field; None when it can be read."""
    if not isinstance(activity.get("leadId"), int | str) or isinstance(activity.get("leadId"), bool):
        return "leadId: is required (the lead's id)"
    if not isinstance(activity.get("activityTypeId"), int) or isinstance(activity.get("activityTypeId"), bool):
        return "activityTypeId: is required (an integer)"
    if parse_time(activity.get("activityDate")) is None:
        return "activityDate: is not a date-time (expected e.g. 2026-11-23T10:15:00Z)"
    if _event_id(activity) is None:
        return "marketoGUID: is required (or id)"
    return None


def _page_events(api: _Marketo, activities: list[dict],
                 profiles_sent: set[str]) -> tuple[list[Event], int, int]:
    """The page's events (its leads' profiles first), how many activities were ignored and how many skipped."""
    lead_ids = sorted({a["leadId"] for a in activities if isinstance(a.get("leadId"), int | str)}, key=str)
    leads: dict[str, dict] = {}
    for start in range(0, len(lead_ids), LEAD_BATCH):
        batch = lead_ids[start:start + LEAD_BATCH]
        body = api.get("/rest/v1/leads.json", {
            "filterType": "id", "filterValues": ",".join(str(i) for i in batch),
            "fields": ",".join([*LEAD_FIELDS, *CONSENT_FIELDS, "updatedAt"]),
        })
        for lead in body.get("result") or []:
            if isinstance(lead, dict) and lead.get("id") is not None:
                leads[str(lead["id"])] = lead

    events, ignored, skipped = [], 0, 0
    latest: dict[str, datetime] = {}
    for activity in activities:
        problem = _unreadable(activity)
        if problem is not None:
            skipped += 1
            log.warning("Marketo activity %s skipped: %s", _event_id(activity) or "(no id)", problem)
            continue
        lead = leads.get(str(activity.get("leadId")))
        email = _text(lead.get("email")) if lead else None
        if email:
            key, when = str(activity.get("leadId")), parse_time(activity.get("activityDate"))
            if when and (key not in latest or when > latest[key]):
                latest[key] = when
        event = activity_event(activity, email) if email else None
        parsed, errors = validate_event(event) if event else (None, [])
        if parsed is None:
            if errors:
                skipped += 1
                log.warning("Marketo activity %s skipped: %s", _event_id(activity),
                            "; ".join(f"{e.field}: {e.message}" for e in errors))
            else:
                ignored += 1
            continue
        events.append(parsed)
    # One profile upsert per lead of the page that has an email.
    profiles = []
    for key, when in latest.items():
        profile = lead_event(leads[key].get("id", key), leads[key], when)
        if profile["id"] in profiles_sent:
            continue
        parsed, errors = validate_event(profile)
        if parsed is None:
            skipped += 1
            log.warning("Marketo lead %s profile skipped: %s", key,
                        "; ".join(f"{e.field}: {e.message}" for e in errors))
        else:
            profiles_sent.add(parsed.id)
            profiles.append(parsed)
    return profiles + events, ignored, skipped
