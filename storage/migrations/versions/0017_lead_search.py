"""lead search at CRM scale: folded name and company columns, a trigram index on the search text

PostgreSQL: the pg_trgm extension (where the database allows it) and a GIN index on leads.search_text.
SQLite: an FTS5 table with the trigram tokenizer (lead_search), kept in step with leads by triggers.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:00:00
"""

import logging

import sqlalchemy as sa
from alembic import op

from briefs.search import search_fields
from storage.search import SQLITE_TRIGGERS

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TRGM_INDEX = "ix_leads_search_text_trgm"
# lead_search indexes " " + search_text + " " (the first and last words have a space on each side too). It is
# contentless (it stores no copy of the text, only the index), so the triggers hand it the old text to delete.
# A later migration that rebuilds leads on SQLite (batch "recreate") drops the triggers with the table:
# storage.db.upgrade creates them again (storage.search.ensure_sqlite_triggers).
SQLITE_OBJECTS = (
    "CREATE VIRTUAL TABLE lead_search USING fts5(search_text, content='', tokenize='trigram')",
    *SQLITE_TRIGGERS.values(),
)


def _folded(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _backfill(conn) -> None:
    leads = sa.table("leads", sa.column("id"), sa.column("first_name"), sa.column("last_name"),
                     sa.column("company"), sa.column("email"), sa.column("search_text"), sa.column("name_fold"),
                     sa.column("company_fold"))
    last = 0
    while True:
        rows = conn.execute(sa.select(leads.c.id, leads.c.first_name, leads.c.last_name, leads.c.company,
                                      leads.c.email).where(leads.c.id > last).order_by(leads.c.id).limit(5000)).all()
        if not rows:
            return
        values = []
        for id_, first, last_name, company, email in rows:
            f = search_fields(first, last_name, company, email)
            values.append({"k": id_, "t": f.search_text, "n": f.name_fold, "c": f.company_fold})
        conn.execute(leads.update().where(leads.c.id == sa.bindparam("k"))
                     .values(search_text=sa.bindparam("t"), name_fold=sa.bindparam("n"),
                             company_fold=sa.bindparam("c")), values)
        last = rows[-1][0]


def _trgm_schema(conn) -> str | None:
    return conn.execute(sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                                "WHERE e.extname = 'pg_trgm'")).scalar()


def _create_pg_trgm(conn) -> str | None:
    """pg_trgm's schema, creating the extension where allowed: in public (so that it outlives any one
    schema), else in the current schema; None when the database refuses (search then works unindexed)."""
    schema = _trgm_schema(conn)
    for sql in ("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public", "CREATE EXTENSION IF NOT EXISTS pg_trgm"):
        if schema:
            return schema
        try:
            with conn.begin_nested():
                conn.execute(sa.text(sql))
        except sa.exc.DBAPIError as exc:
            log.warning("pg_trgm not created (%s): lead search works without its index, slower",
                        str(exc.orig).splitlines()[0])
        schema = _trgm_schema(conn)
    return schema


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_fold", _folded(420), server_default="", nullable=False))
        batch_op.add_column(sa.Column("company_fold", _folded(320), server_default="", nullable=False))
    _backfill(conn)
    op.create_index("ix_leads_name_fold", "leads", ["name_fold"])
    op.create_index("ix_leads_company_fold", "leads", ["company_fold"])
    if conn.dialect.name == "sqlite":
        for sql in SQLITE_OBJECTS:
            conn.exec_driver_sql(sql)
        conn.exec_driver_sql("INSERT INTO lead_search (rowid, search_text) SELECT id, ' ' || search_text || ' ' FROM leads")
    elif conn.dialect.name == "postgresql":
        schema = _create_pg_trgm(conn)
        if schema:
            ops = '"' + schema.replace('"', '""') + '".gin_trgm_ops'
            conn.exec_driver_sql(f"CREATE INDEX {TRGM_INDEX} ON leads USING gin (search_text {ops})")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name in ("lead_search_update", "lead_search_delete", "lead_search_insert"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS lead_search")
    else:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
    op.drop_index("ix_leads_company_fold", table_name="leads")
    op.drop_index("ix_leads_name_fold", table_name="leads")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("company_fold")
        batch_op.drop_column("name_fold")
