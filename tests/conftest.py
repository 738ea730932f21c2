"""Real databases for every test: SQLite files, or PostgreSQL when LEADBRIEF_TEST_POSTGRES_URL is set.

On PostgreSQL each test session (each pytest-xdist worker has its own) gets a fresh schema of its own (dropped
at the end), migrated once; tables are emptied between tests. On SQLite each test gets a copy of a freshly
migrated file. Tests under tests/e2e/ are marked `e2e` here, by directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.usecases.deps import Services
from briefs.rules import Rules
from storage import db
from storage.models import Base
from tests.support.databases import PG_URL, PgSchemas
from tests.support.live import COMMAND, LiveServer
from tests.support.signing import SECRET, SLACK_SIGNING_SECRET
from tests.support.team import QUEUE, populate

E2E_DIR = Path(__file__).resolve().parent / "e2e"


def pytest_report_header(config):
    return f"leadbrief database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def pg_schemas():
    if not PG_URL:
        yield None
        return
    schemas = PgSchemas()
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


@pytest.fixture
def live_server(settings):
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client


# --- Slack: a real HTTP fake of the Web API, and signed requests to our app ---------------------


@pytest.fixture
def fake_slack():
    from tests.support.fake_slack import FakeSlack

    with FakeSlack() as fake:
        populate(fake)
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


# --- The `leadbrief` command as a user runs it -------------------------------------------------


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
