"""A real HTTP fake of the Marketo REST endpoints `leadbrief sync marketo` reads, for tests.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (OS-chosen port) in a daemon thread::

    with FakeMarketo(client_id="id", client_secret="secret", page_size=2) as fake:
        fake.add_lead(7, email="jon@acme.example", firstName="Jon")
        fake.add_activity(7, 2, "2026-11-23T10:15:00Z", primary="Contact Sales")
        fake.expire_token()        # the next API call answers 601 and the current token stops working
        fake.rate_limit()          # the next API call answers 606
        fake.fail("610", "Requested resource not found")
        # Or serve Marketo's documented responses (tests/fixtures/marketo/rest) as they are:
        fake.serve_documented(paging_token, [page1, page2], leads_by_id, activity_types)

    GET /identity/oauth/token?grant_type=client_credentials&client_id&client_secret -> {"access_token", ...}
    GET /rest/v1/activities/pagingtoken.json?sinceDatetime=ISO                     -> {"nextPageToken"}
    GET /rest/v1/activities.json?nextPageToken&activityTypeIds=1,2                   -> page_size activities a page
    GET /rest/v1/leads.json?filterType=id&filterValues=1,2&fields=email,..           -> the leads asked for
    GET /rest/v1/activities/types.json                                               -> the activity types

Documented pages: the paging-token call answers the documented token, and each page is served to the
token that the one before it returned (the first to the paging token); an unknown token is Marketo's 1001.
Otherwise paging tokens are "T<index>" into the activities sorted by date; the last page's token points past the end,
so a later sync from it sees only what was added since. Errors are Marketo's shape: HTTP 200 with
{"success": false, "errors": [{"code", "message"}]}. Every request is recorded in ``fake.calls``.
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


def _parse(value: str) -> datetime:
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class FakeMarketo(LoopbackServer):
    def __init__(self, client_id: str, client_secret: str, page_size: int = 2):
        self.client_id, self.client_secret, self.page_size = client_id, client_secret, page_size
        self.leads: dict[int, dict] = {}
        self.activities: list[dict] = []
        self.tokens: set[str] = set()
        self.calls: list[dict] = []
        self.script: deque[tuple[str, str]] = deque()
        self.lock = threading.Lock()
        self.documented_token: str | None = None
        self.documented_pages: dict[str, dict] = {}
        self.activity_types: dict | None = None
        super().__init__()

    def serve_documented(self, paging_token: dict, pages: list[dict], leads: dict | None = None,
                         activity_types: dict | None = None) -> None:
        """Serve these response bodies as they are (Marketo's documented samples)."""
        self.documented_token = paging_token["nextPageToken"]
        token = self.documented_token
        for page in pages:
            self.documented_pages[token] = page
            token = page["nextPageToken"]
        for lead in (leads or {}).get("result", []):
            self.leads[int(lead["id"])] = dict(lead)
        self.activity_types = activity_types

    # --- scripting ---

    def add_lead(self, lead_id: int, **fields) -> None:
        self.leads[lead_id] = {"id": lead_id, **fields}

    def add_activity(self, lead_id: int, type_id: int, date: str, primary: str | None = None,
                     attributes: dict | None = None, guid: str | None = None) -> dict:
        number = 1000 + len(self.activities)
        activity = {"id": number, "marketoGUID": guid or str(number), "leadId": lead_id, "activityDate": date,
                    "activityTypeId": type_id, "campaignId": 55, "primaryAttributeValueId": 900 + type_id,
                    "attributes": [{"name": k, "value": v} for k, v in (attributes or {}).items()]}
        if primary is not None:
            activity["primaryAttributeValue"] = primary
        self.activities.append(activity)
        self.activities.sort(key=lambda a: _parse(a["activityDate"]))
        return activity

    def expire_token(self) -> None:
        self.script.append(("602", "Access token expired"))

    def rate_limit(self) -> None:
        self.script.append(("606", "Max rate limit '100' exceeded with in '20' secs"))

    def fail(self, code: str, message: str) -> None:
        self.script.append((code, message))

    def calls_to(self, path: str) -> list[dict]:
        return [c for c in self.calls if c["path"] == path]

    # --- serving ---

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        auth = h.headers.get("Authorization") or ""
        with self.lock:
            self.calls.append({"path": parts.path, "query": query, "authorization": auth})
            if parts.path == "/identity/oauth/token":
                return self._identity(h, query)
            if self.script:
                code, message = self.script.popleft()
                if code in ("601", "602"):
                    self.tokens.clear()
                return self._error(h, code, message)
            token = auth.removeprefix("Bearer ").strip()
            if not auth.startswith("Bearer ") or not token:
                return self._error(h, "600", "Access token not specified")
            if token not in self.tokens:
                return self._error(h, "601", "Access token invalid")
            if parts.path == "/rest/v1/activities/pagingtoken.json":
                if self.documented_token is not None:
                    return self._ok(h, {"nextPageToken": self.documented_token})
                return self._paging_token(h, query)
            if parts.path == "/rest/v1/activities.json":
                if self.documented_pages:
                    page = self.documented_pages.get(query.get("nextPageToken", ""))
                    if page is None:
                        return self._error(h, "1001", "Invalid value for nextPageToken")
                    return self._send(h, 200, page)
                return self._activities(h, query)
            if parts.path == "/rest/v1/activities/types.json" and self.activity_types is not None:
                return self._send(h, 200, self.activity_types)
            if parts.path == "/rest/v1/leads.json":
                return self._leads(h, query)
        self._send(h, 404, {"error": "not found"})

    def _identity(self, h, query: dict) -> None:
        if (query.get("grant_type") != "client_credentials" or query.get("client_id") != self.client_id
                or query.get("client_secret") != self.client_secret):
            return self._send(h, 401, {"error": "unauthorized", "error_description": "Bad client credentials"})
        token = f"{uuid.uuid4()}:ab"
        self.tokens.add(token)
        self._send(h, 200, {"access_token": token, "token_type": "bearer", "expires_in": 3599,
                            "scope": "api@example.com"})

    def _paging_token(self, h, query: dict) -> None:
        try:
            since = _parse(query["sinceDatetime"])
        except (KeyError, ValueError):
            return self._error(h, "1001", "Invalid value for sinceDatetime")
        index = next((i for i, a in enumerate(self.activities) if _parse(a["activityDate"]) >= since),
                     len(self.activities))
        self._ok(h, {"nextPageToken": f"T{index}"})

    def _activities(self, h, query: dict) -> None:
        token = query.get("nextPageToken", "")
        if not token.startswith("T") or not token[1:].isdigit():
            return self._error(h, "1001", "Invalid value for nextPageToken")
        types = {int(t) for t in query.get("activityTypeIds", "").split(",") if t.strip().isdigit()}
        if not types or len(types) > 10:
            return self._error(h, "1003", "activityTypeIds: 1 to 10 ids are required")
        start = int(token[1:])
        end = min(start + self.page_size, len(self.activities))
        page = [a for a in self.activities[start:end] if a["activityTypeId"] in types]
        body = {"nextPageToken": f"T{end}", "moreResult": end < len(self.activities)}
        if page:
            body["result"] = page
        self._ok(h, body)

    def _leads(self, h, query: dict) -> None:
        if query.get("filterType") != "id":
            return self._error(h, "1003", "filterType must be id")
        ids = [int(i) for i in query.get("filterValues", "").split(",") if i.strip().isdigit()]
        if len(ids) > 300:
            return self._error(h, "1003", "Too many values in filterValues")
        fields = [f for f in query.get("fields", "").split(",") if f]
        result = []
        for i in ids:
            lead = self.leads.get(i)
            if lead is not None:
                result.append({"id": i, **{f: lead.get(f) for f in fields if f != "id"}})
        self._ok(h, {"result": result})

    def _ok(self, h, body: dict) -> None:
        self._send(h, 200, {"requestId": uuid.uuid4().hex[:12], "success": True, **body})

    def _error(self, h, code: str, message: str) -> None:
        self._send(h, 200, {"requestId": uuid.uuid4().hex[:12], "success": False,
                            "errors": [{"code": code, "message": message}]})

    @staticmethod
    def _send(h, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json;charset=UTF-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
