"""Real databases for every test: SQLite files, or PostgreSQL when LEADBRIEF_TEST_POSTGRES_URL is set.

On PostgreSQL each test session gets a fresh schema of its own (dropped at the end), migrated once;
tables are emptied between tests. On SQLite each test gets a copy of a freshly migrated file.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import uvicorn
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings, database_url
from bot.usecases.deps import Services
from briefs.rules import Rules
from storage import db
from storage.models import Base

PG_URL = os.environ.get("LEADBRIEF_TEST_POSTGRES_URL", "").strip()
SECRET = "test-webhook-secret-0123456789"


def pytest_report_header(config):
    return f"leadbrief database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


def _pg_schema_url(schema: str) -> str:
    url = make_url(database_url(PG_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


class _PgSchemas:
    """Creates schemas on demand and drops them all at the end of the session."""

    def __init__(self):
        self.admin = create_engine(database_url(PG_URL), isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def new(self) -> str:
        schema = f"lb_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.created.append(schema)
        return _pg_schema_url(schema)

    def close(self):
        with self.admin.connect() as c:
            for schema in self.created:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_schemas():
    if not PG_URL:
        yield None
        return
    schemas = _PgSchemas()
    yield schemas
    schemas.close()


@pytest.fixture(scope="session")
def _migrated(pg_schemas, tmp_path_factory):
    if pg_schemas:
        url = pg_schemas.new()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'template.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def db_url(_migrated, tmp_path) -> str:
    """A migrated, empty database for this test."""
    if PG_URL:
        engine = create_engine(_migrated)
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as c:
            c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return _migrated
    path = tmp_path / "leadbrief.db"
    shutil.copy(make_url(_migrated).database, path)
    return f"sqlite:///{path}"


@pytest.fixture
def empty_db_url(pg_schemas, tmp_path) -> str:
    """A database with no schema at all, for migration tests."""
    return pg_schemas.new() if pg_schemas else f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def rules() -> Rules:
    return Rules()


@pytest.fixture
def settings(db_url, rules) -> Settings:
    return Settings(database_url=db_url, webhook_secret=SECRET, rules=rules)


@pytest.fixture
def services(settings):
    s = Services.from_settings(settings)
    yield s
    s.engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real app under uvicorn on loopback. run_worker=False leaves delivery to the test (time control)."""

    def __init__(self, settings: Settings, *, run_worker: bool = True):
        from bot.server import build

        self.output = io.StringIO()
        console = Console(file=self.output, width=120, force_terminal=False, highlight=False)
        self.app, self.services, self.worker = build(settings, console, worker=run_worker)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)

    def printed(self) -> str:
        return self.output.getvalue()


@pytest.fixture
def live_server(settings):
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client


def signed_headers(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict:
    from handlers.webhooks import sign

    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Leadbrief-Timestamp": ts,
        "X-Leadbrief-Signature": sign(secret, ts, body),
    }


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


ROOT = Path(__file__).resolve().parent.parent


# --- Slack: a real HTTP fake of the Web API, and signed requests to our app ---------------------

SLACK_SIGNING_SECRET = "slack-signing-secret-for-tests"
QUEUE = "C0QUEUE"


def _manifest_scopes() -> list[str]:
    import yaml

    manifest = yaml.safe_load((Path(__file__).resolve().parent.parent / "app_manifest.yml").read_text())
    return manifest["oauth_config"]["scopes"]["bot"]


@pytest.fixture
def fake_slack():
    from tests.fake_slack import FakeSlack

    with FakeSlack() as fake:
        # The app has exactly the scopes its manifest asks for: a call that needs another fails, as in Slack.
        fake.granted_scopes = set(_manifest_scopes())
        fake.add_user("jane@ourco.example", "U0JANE", "jane", real_name="Jane Rep")
        fake.add_user("omar@ourco.example", "U0OMAR", "omar", real_name="Omar Rep")
        fake.add_user("mia@ourco.example", "U0MIA", "mia", real_name="Mia Marketing")
        fake.add_channel(QUEUE, "leads-queue")
        fake.add_channel("C0JANE", "jane-leads")
        # The leads channel's members are who may use Leadbrief by default ([access] in leadbrief.toml).
        fake.set_members(QUEUE, ["U0JANE", "U0OMAR", "U0MIA"])
        yield fake


@pytest.fixture
def slack_settings(settings, fake_slack) -> Settings:
    from dataclasses import replace

    return replace(
        settings,
        slack_bot_token="xoxb-test-token-1234",
        slack_signing_secret=SLACK_SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        slack_default_channel=QUEUE,
    )


@pytest.fixture
def slack_server(slack_settings):
    with LiveServer(slack_settings) as server:
        yield server


def slack_headers(body: str, timestamp: int | None = None, secret: str = SLACK_SIGNING_SECRET,
                  content_type: str = "application/x-www-form-urlencoded") -> dict:
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }


# --- The `leadbrief` command as a user runs it -------------------------------------------------

BIN = Path(sys.executable).parent / "leadbrief"
COMMAND = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "bot.cli"]


@pytest.fixture
def run(db_url, tmp_path):
    """Run `leadbrief ARGS` in a clean environment against this test's database."""
    def _run(*args, env=None, check_rc=None, timeout=60):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBRIEF_", "SLACK_", "DATABASE_URL", "PORT"))}
        full_env.update({"DATABASE_URL": db_url, "COLUMNS": "120", **(env or {})})
        full_env = {k: v for k, v in full_env.items() if v is not None}
        proc = subprocess.run([*COMMAND, *args], cwd=tmp_path, env=full_env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check_rc is not None:
            assert proc.returncode == check_rc, proc.stdout + proc.stderr
        return proc
    return _run


def post_payload(http, server, payload: dict):
    """A signed interaction payload (a click from FakeSlack.view_click, say) to the app's /slack/events."""
    import json
    import urllib.parse

    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    r = http.post(f"{server.url}/slack/events", content=body, headers=slack_headers(body))
    assert r.status_code == 200, r.text
    return r
