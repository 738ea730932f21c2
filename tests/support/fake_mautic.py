"""A real HTTP fake of the Mautic REST API endpoint Leadbrief reads (the users API), for tests.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (OS-chosen port) in a daemon thread::

    with FakeMautic(username="api-user", password="s3cret") as fake:   # or FakeMautic(token="...")
        fake.add_user(1, "jane@ourco.example", username="admin", first="Jane", last="Rep")
        fake.fail(500)          # the next request answers 500 (Mautic's error shape)

    GET /api/users/{id}  -> {"user": {...}} as in Mautic's "Get User" docs, or 404

Authentication as Mautic's API does it: Basic auth (username:password), or ``Authorization: Bearer <token>``
(OAuth2). Anything else is a 401 with Mautic's error body. Every request is recorded in ``fake.calls``.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.support.loopback import LoopbackServer

USERS = "/api/users/"


class FakeMautic(LoopbackServer):
    def __init__(self, username: str | None = None, password: str | None = None, token: str | None = None):
        self.username, self.password, self.token = username, password, token
        self.users: dict[str, dict] = {}
        self.calls: list[dict] = []
        self.script: deque[int] = deque()
        self.lock = threading.Lock()
        super().__init__()

    def add_user(self, user_id: int, email: str | None, *, username: str, first: str, last: str) -> None:
        # The fields of Mautic's documented "Get User" response (developer docs, rest_api/users.rst).
        self.users[str(user_id)] = {
            "isPublished": True, "dateAdded": "2026-02-21T05:19:56+00:00",
            "dateModified": "2026-02-21T05:20:13+00:00", "createdBy": 1, "createdByUser": "Admin Mautic",
            "modifiedBy": 1, "modifiedByUser": "Admin Mautic", "id": user_id, "username": username,
            "firstName": first, "lastName": last, "email": email, "position": "Account Executive",
            "role": {"createdByUser": "Admin Mautic", "modifiedByUser": None, "id": 2, "name": "Sales",
                     "description": None, "isAdmin": False, "rawPermissions": {"lead:leads": ["viewown"]}},
            "timezone": "Europe/Paris", "locale": None, "lastLogin": "2026-02-22T04:28:00+00:00",
            "lastActive": "2026-02-22T04:28:00+00:00", "signature": "Best regards,\r\nJane"}

    def fail(self, status: int, times: int = 1) -> None:
        self.script.extend([status] * times)

    def _authorised(self, header: str | None) -> bool:
        if not header:
            return False
        if self.token is not None and header == f"Bearer {self.token}":
            return True
        if self.username is not None and header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
            return (user, password) == (self.username, self.password)
        return False

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        with self.lock:
            self.calls.append({"path": path, "authorization": h.headers.get("Authorization")})
            scripted = self.script.popleft() if self.script else None
        if scripted is not None:
            return self._error(h, scripted, "An unexpected error occurred.")
        if not self._authorised(h.headers.get("Authorization")):
            # Mautic's OAuth / basic-auth refusal.
            return self._send(h, 401, {"errors": [{"message": "API authorization denied.", "code": 401,
                                                   "type": "access_denied"}]})
        if path.startswith(USERS):
            user = self.users.get(path[len(USERS):])
            if user is None:
                return self._error(h, 404, "Item was not found.")
            return self._send(h, 200, {"user": user})
        return self._error(h, 404, "Requested URL not found: " + path)

    def _error(self, h, status: int, message: str) -> None:
        self._send(h, status, {"errors": [{"message": message, "code": status, "type": None}]})

    @staticmethod
    def _send(h, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
