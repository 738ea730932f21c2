"""Which database the suite runs on, and fresh PostgreSQL schemas for it."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import database_url

PG_URL = os.environ.get("LEADBRIEF_TEST_POSTGRES_URL", "").strip()


def pg_schema_url(schema: str) -> str:
    url = make_url(database_url(PG_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


class PgSchemas:
    """Creates schemas on demand and drops them all at the end of the session. The names carry the process id,
    so parallel test processes (pytest-xdist workers) each get schemas of their own."""

    def __init__(self):
        self.admin = create_engine(database_url(PG_URL), isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def new(self) -> str:
        schema = f"lb_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.created.append(schema)
        return pg_schema_url(schema)

    def close(self):
        with self.admin.connect() as c:
            for schema in self.created:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.admin.dispose()
