"""A real HTTP fake of the HubSpot API endpoints Leadbrief reads, for tests.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (OS-chosen port) in a daemon thread::

    with FakeHubSpot(token="pat-na1-test") as fake:
        fake.add_contact("501", email="jon@acme.example", hubspot_owner_id="77")
        fake.add_owner("77", "jane@ourco.example")
        fake.add_form_submission("501", "Contact Sales", timestamp_ms, page_url="https://ourco.example/contact",
                                 values={"message": "Pat referred us", "timeline": "Q3"})  # also in the Forms API
        fake.add_form_results(form_guid, fixture_response["results"])  # a Forms API page as HubSpot documents it
        fake.add_email_event("jon@acme.example", "OPEN", timestamp_ms, subject="Q3 webinar")
        fake.add_page_view("501", "https://ourco.example/pricing", timestamp_ms, title="Pricing | OurCo")
        fake.events_refused = True          # the Events API answers 403, like a non-Enterprise portal
        fake.rate_limit(retry_after=1)      # the next request answers 429 once
        fake.fail(403, path=fake.EMAIL_EVENTS)  # the next request to that path answers 403

    GET /crm/v3/objects/contacts/{id}?properties=a,b   -> {"id", "properties": {...requested...}, ...} or 404
    GET /crm/v3/owners/{id}                            -> {"id", "email", "firstName", ...} or 404
    GET /contacts/v1/contact/vid/{id}/profile          -> {"vid", "properties", "form-submissions": [...]} or 404
    GET /form-integrations/v1/submissions/forms/{guid}?limit=&after=
                                                       -> {"results": [{conversionId, submittedAt, values, pageUrl}],
                                                          "paging"?: {"next": {"after", "link"}}} newest first
    GET /email/public/v1/events?recipient=&startTimestamp=&limit=  -> {"events": [...], "hasMore", "offset"}
    GET /events/v3/events/?objectType=contact&objectId=&eventType=&occurredAfter=&limit=&sort=
                                                       -> {"results": [...], "paging"?} (ascending unless
                                                          sort=-occurredAt), or 403 when events_refused
    Paged lists answer at most ``page_size`` (when set) or ``limit`` items, and ``paging.next.after`` is the
    offset of the next page, as an opaque string.

Every request is recorded in ``fake.calls`` (method, path, query) before anything is checked. Then: scripted
outcomes for that path (``fail(..., path=prefix)``), then scripted outcomes for any path (FIFO, one per request), then ``Authorization: Bearer <token>`` (401 like HubSpot otherwise).
Error bodies are HubSpot's shape: {"status": "error", "message", "correlationId", "category"}.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback import LoopbackServer

CONTACTS = "/crm/v3/objects/contacts/"
OWNERS = "/crm/v3/owners/"
PROFILE = "/contacts/v1/contact/vid/"
EMAIL_EVENTS = "/email/public/v1/events"
EVENTS = "/events/v3/events/"
FORMS = "/form-integrations/v1/submissions/forms/"


class FakeHubSpot(LoopbackServer):
    EMAIL_EVENTS = EMAIL_EVENTS
    PROFILE = PROFILE
    EVENTS = EVENTS
    FORMS = FORMS

    def __init__(self, token: str):
        self.token = token
        self.contacts: dict[str, dict] = {}
        self.owners: dict[str, dict] = {}
        self.forms: dict[str, list[dict]] = {}
        self.email_events: list[dict] = []
        self.page_events: list[dict] = []
        self.form_results: dict[str, list[dict]] = {}  # form guid -> Forms API submissions
        self.page_size: int | None = None  # answer fewer than asked per page, as HubSpot may
        self.events_refused = False
        self.calls: list[dict] = []
        self.script: deque[tuple[int, dict, dict]] = deque()
        self.path_script: dict[str, deque[tuple[int, dict, dict]]] = {}
        self.lock = threading.Lock()
        super().__init__()

    # --- scripting ---

    def add_contact(self, contact_id: str, **properties) -> None:
        self.contacts[str(contact_id)] = properties

    def add_owner(self, owner_id: str, email: str, first: str = "Jane", last: str = "Rep") -> None:
        self.owners[str(owner_id)] = {"id": str(owner_id), "email": email, "firstName": first, "lastName": last,
                                      "userId": 9000 + len(self.owners), "createdAt": "2025-01-01T00:00:00Z",
                                      "updatedAt": "2025-01-01T00:00:00Z", "archived": False}

    def add_form_submission(self, contact_id: str, title: str, timestamp: int, *, page_url: str | None = None,
                            conversion_id: str | None = None, form_id: str | None = None,
                            values: dict | None = None) -> str:
        """A submission in the contact's profile; with values, also in the Forms API (email added)."""
        conversion_id = conversion_id or str(uuid.uuid4())
        form_id = form_id or str(uuid.uuid4())
        self.forms.setdefault(str(contact_id), []).append({
            "conversion-id": conversion_id, "timestamp": timestamp, "form-id": form_id,
            "portal-id": 62515, "page-url": page_url, "canonical-url": page_url, "title": title,
            "page-title": f"{title} | OurCo", "form-type": "HUBSPOT", "meta-data": []})
        if values is not None:
            email = self.contacts.get(str(contact_id), {}).get("email")
            pairs = [{"name": "email", "value": email}] if email else []
            pairs += [{"name": k, "value": v} for k, v in values.items()]
            self.add_form_results(form_id, [{"conversionId": conversion_id, "submittedAt": timestamp,
                                             "values": pairs, "pageUrl": page_url}])
        return conversion_id

    def add_form_results(self, form_id: str, results: list[dict]) -> None:
        self.form_results.setdefault(form_id, []).extend(results)

    def add_email_event(self, recipient: str, kind: str, created: int, *, subject: str | None = None,
                        url: str | None = None, campaign_id: int = 33161293, event_id: str | None = None,
                        filtered: bool = False, sent_by: str | None = None, user_agent: str | None = None,
                        browser: dict | None = None, location: dict | None = None) -> str:
        """One event of the Email Events API. `sent_by`: the SENT event's id, which every event of that message
        carries as sentBy.id (HubSpot's docs); by default a fresh one, as for a message of its own."""
        event_id = event_id or str(uuid.uuid4())
        event = {"id": event_id, "created": created, "type": kind, "recipient": recipient, "portalId": 62515,
                 "appId": 113, "appName": "BatchEmail", "emailCampaignId": campaign_id,
                 "sentBy": {"id": sent_by or (event_id if kind == "SENT" else str(uuid.uuid4())), "created": created}}
        for key, value in (("userAgent", user_agent), ("browser", browser), ("location", location)):
            if value is not None:
                event[key] = value
        if subject is not None:
            event["subject"] = subject
        if url is not None:
            event["url"] = url
        if kind in ("OPEN", "CLICK"):
            event["filteredEvent"] = filtered
        self.email_events.append(event)
        return event_id

    def add_page_view(self, contact_id: str, url: str, occurred_ms: int, *, title: str | None = None,
                      event_id: str | None = None, legacy_keys: bool = False) -> str:
        """A page view; legacy_keys uses hs_page_url / hs_page_title (older events) instead of hs_url / hs_title."""
        event_id = event_id or str(uuid.uuid4())
        occurred = datetime.fromtimestamp(occurred_ms / 1000, UTC).isoformat(timespec="milliseconds")
        url_key, title_key = ("hs_page_url", "hs_page_title") if legacy_keys else ("hs_url", "hs_title")
        props = {url_key: url, "hs_referrer": "https://www.google.com/", "hs_browser": "chrome",
                 "hs_session_id": str(uuid.uuid4())}
        if title is not None:
            props[title_key] = title
        self.page_events.append({"objectType": "CONTACT", "objectId": str(contact_id), "eventType": "e_visited_page",
                                 "occurredAt": occurred.replace("+00:00", "Z"), "id": event_id,
                                 "properties": props, "_ms": occurred_ms})
        return event_id

    def add_page_events(self, results: list[dict]) -> None:
        """Events API results as HubSpot documents them (occurredAt ISO 8601)."""
        for e in results:
            when = datetime.fromisoformat(e["occurredAt"].replace("Z", "+00:00"))
            self.page_events.append({**e, "_ms": int(when.timestamp() * 1000)})

    def rate_limit(self, retry_after: int | None = 1, times: int = 1) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()), "policyName": "SECONDLY"}
        for _ in range(times):
            self.script.append((429, headers, body))

    def fail(self, status: int, times: int = 1, path: str | None = None) -> None:
        """The next `times` requests (to paths starting with `path`, if given) answer `status`."""
        message = "This app hasn't been granted all required scopes" if status == 403 else "internal error"
        queue = self.script if path is None else self.path_script.setdefault(path, deque())
        for _ in range(times):
            queue.append((status, {}, {"status": "error", "message": message,
                                       "correlationId": str(uuid.uuid4())}))

    def calls_to(self, prefix: str) -> list[dict]:
        return [c for c in self.calls if c["path"].startswith(prefix)]

    # --- serving ---

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.calls.append({"method": "GET", "path": parts.path, "query": query,
                               "authorization": h.headers.get("Authorization")})
            scripted = next((q.popleft() for prefix, q in self.path_script.items()
                             if q and parts.path.startswith(prefix)), None)
            if scripted is None and self.script:
                scripted = self.script.popleft()
        if scripted:
            status, headers, body = scripted
            return self._send(h, status, body, headers)
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(h, 401, {"status": "error", "category": "INVALID_AUTHENTICATION",
                                       "message": "Authentication credentials not found.",
                                       "correlationId": str(uuid.uuid4())})
        if parts.path.startswith(CONTACTS):
            contact_id = parts.path[len(CONTACTS):]
            props = self.contacts.get(contact_id)
            if props is None:
                return self._not_found(h)
            wanted = [p for p in query.get("properties", "").split(",") if p] or ["email", "firstname", "lastname"]
            properties = {p: (None if props.get(p) is None else str(props[p])) for p in wanted}
            properties.update(hs_object_id=contact_id, createdate="2026-03-01T09:00:00.000Z",
                              lastmodifieddate="2026-03-02T09:00:00.000Z")
            return self._send(h, 200, {"id": contact_id, "properties": properties,
                                       "createdAt": "2026-03-01T09:00:00.000Z",
                                       "updatedAt": "2026-03-02T09:00:00.000Z", "archived": False})
        if parts.path.startswith(OWNERS):
            owner = self.owners.get(parts.path[len(OWNERS):])
            return self._send(h, 200, owner) if owner else self._not_found(h)
        if parts.path.startswith(PROFILE) and parts.path.endswith("/profile"):
            contact_id = parts.path[len(PROFILE):-len("/profile")]
            props = self.contacts.get(contact_id)
            if props is None:
                return self._not_found(h)
            forms = sorted(self.forms.get(contact_id, []), key=lambda f: f["timestamp"], reverse=True)
            wanted = [p for p in parse_qs(parts.query).get("property", []) if p] or list(props)
            properties = {p: {"value": str(props[p])} for p in wanted if props.get(p) is not None}
            return self._send(h, 200, {"vid": int(contact_id), "canonical-vid": int(contact_id), "merged-vids": [],
                                       "portal-id": 62515, "is-contact": True, "properties": properties,
                                       "form-submissions": forms, "identity-profiles": []})
        if parts.path.startswith(FORMS):
            results = sorted(self.form_results.get(parts.path[len(FORMS):], []),
                             key=lambda r: r["submittedAt"], reverse=True)
            limit = int(query.get("limit", "20") or 20)
            if not 1 <= limit <= 50:
                return self._send(h, 400, {"status": "error", "category": "VALIDATION_ERROR",
                                           "message": "limit must be between 1 and 50",
                                           "correlationId": str(uuid.uuid4())})
            return self._send(h, 200, self._page(results, query, limit))
        if parts.path == EMAIL_EVENTS:
            since = int(query.get("startTimestamp", "0") or 0)
            limit = min(int(query.get("limit", "100") or 100), 1000)
            matching = sorted((e for e in self.email_events
                               if e["recipient"] == query.get("recipient", e["recipient"]) and e["created"] >= since),
                              key=lambda e: e["created"], reverse=True)
            return self._send(h, 200, {"events": matching[:limit], "hasMore": len(matching) > limit,
                                       "offset": str(uuid.uuid4())})
        if parts.path == EVENTS:
            if self.events_refused:
                return self._send(h, 403, {"status": "error", "category": "MISSING_SCOPES",
                                           "message": "This app hasn't been granted all required scopes to make "
                                                      "this call.", "correlationId": str(uuid.uuid4())})
            if query.get("objectType") != "contact" or "objectId" not in query:
                return self._send(h, 400, {"status": "error", "category": "VALIDATION_ERROR",
                                           "message": "objectType and objectId are required",
                                           "correlationId": str(uuid.uuid4())})
            after = query.get("occurredAfter")
            since = int(datetime.fromisoformat(after).timestamp() * 1000) if after else 0
            limit = min(int(query.get("limit", "20") or 20), 100)
            matching = sorted((e for e in self.page_events
                               if e["objectId"] == query["objectId"] and e["_ms"] >= since
                               and e["eventType"] == query.get("eventType", e["eventType"])),
                              key=lambda e: e["_ms"], reverse=query.get("sort") == "-occurredAt")
            page = [{k: v for k, v in e.items() if k != "_ms"} for e in matching]
            return self._send(h, 200, self._page(page, query, limit))
        return self._not_found(h)

    def _page(self, items: list[dict], query: dict, limit: int) -> dict:
        size = min(limit, self.page_size or limit)
        start = int(query.get("after", "0") or 0)
        body: dict = {"results": items[start:start + size]}
        if len(items) > start + size:
            body["paging"] = {"next": {"after": str(start + size), "link": f"?after={start + size}"}}
        return body

    def _not_found(self, h) -> None:
        self._send(h, 404, {"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND",
                            "correlationId": str(uuid.uuid4())})

    @staticmethod
    def _send(h, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json;charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
