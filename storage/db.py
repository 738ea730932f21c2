"""Engines, sessions and schema migrations."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    pass


def make_engine(url: str, **kwargs) -> Engine:
    # Error messages and logs show the SQL, never the values: those are people's personal data.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        # 30 s: writers queue behind each other instead of failing with "database is locked".
        kwargs["connect_args"].setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            if parsed.database not in (None, "", ":memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # 64 MB page cache and memory-mapped reads: lookups read a lead's history scattered over the file.
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA mmap_size=268435456")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        # An unreachable server fails a connection attempt in 10 s rather than after the OS's TCP timeout.
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 10)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_timeout", 10)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _alembic_config(connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _migrating(engine) as conn:
        command.upgrade(_alembic_config(conn), revision)
        _after_migrations(conn)


def downgrade(engine: Engine, revision: str) -> None:
    with _migrating(engine) as conn:
        command.downgrade(_alembic_config(conn), revision)
        _after_migrations(conn)


def _after_migrations(conn) -> None:
    """What a migration that rebuilt a table on SQLite dropped with it: the lead search triggers."""
    from storage.search import ensure_sqlite_triggers

    ensure_sqlite_triggers(conn)


@contextmanager
def _migrating(engine: Engine):
    """One transaction for the migrations. On SQLite, foreign keys are off meanwhile: altering a table there
    means copying it and dropping the old one, and with them on, that DROP would first delete every row
    that references it (ON DELETE CASCADE: a lead table rebuild would empty activities). The pragma only
    takes effect outside a transaction, so it is set before and restored after; the result is checked."""
    with engine.connect() as conn:
        sqlite = is_sqlite(engine)
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left {len(broken)} rows with a dangling foreign key; "
                                           "rolled back")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """SQLite files are ours to upgrade; a shared server database is upgraded on purpose by an operator."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if is_sqlite(engine):
        upgrade(engine)
        return
    raise SchemaOutOfDate(
        f"database schema is at revision {current or 'none'}, this version needs {head}: "
        "run `leadbrief db upgrade`"
    )
