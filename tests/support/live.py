"""The real app under uvicorn on loopback, the `leadbrief` command, and waiting for what they do."""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import uvicorn
from rich.console import Console

from bot.config import Settings
from tests.support.signing import slack_headers

BIN = Path(sys.executable).parent / "leadbrief"
COMMAND = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


class LiveServer:
    """The real app under uvicorn on loopback. run_worker=False leaves delivery to the test (time control)."""

    def __init__(self, settings: Settings, *, run_worker: bool = True):
        from bot.server import build

        self.output = io.StringIO()
        console = Console(file=self.output, width=120, force_terminal=False, highlight=False)
        self.app, self.services, self.worker = build(settings, console, worker=run_worker)
        self._count_delivery_passes()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def _count_delivery_passes(self) -> None:
        """Numbers the delivery worker's passes, so a test can wait for an idle one (delivery_idle)."""
        self._passes = threading.Condition()
        self._passes_started = 0
        self._last_idle_pass = 0
        run_once = self.worker.run_once

        def counted() -> int:
            with self._passes:
                self._passes_started += 1
                number = self._passes_started
            delivered = run_once()
            if delivered == 0:
                with self._passes:
                    self._last_idle_pass = number
                    self._passes.notify_all()
            return delivered

        self.worker.run_once = counted

    def delivery_idle(self, timeout: float = 10.0) -> None:
        """Wakes the running delivery worker and returns once a pass begun after this call delivered nothing:
        whatever was due by now has been delivered, and nothing more was."""
        with self._passes:
            begun = self._passes_started
        self.worker.wake()
        with self._passes:
            if not self._passes.wait_for(lambda: self._last_idle_pass > begun, timeout):
                raise AssertionError("the delivery worker made no idle pass in time")

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)

    def printed(self) -> str:
        return self.output.getvalue()


def post_payload(http, server, payload: dict):
    """A signed interaction payload (a click from FakeSlack.view_click, say) to the app's /slack/events."""
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    r = http.post(f"{server.url}/slack/events", content=body, headers=slack_headers(body))
    assert r.status_code == 200, r.text
    return r
