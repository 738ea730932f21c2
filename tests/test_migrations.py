"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import db
from storage.models import Base


def test_upgrade_from_empty_matches_the_models_and_downgrades_cleanly(empty_db_url):
    engine = db.make_engine(empty_db_url)
    try:
        assert db.current_revision(engine) is None
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        tables = set(inspect(engine).get_table_names())
        assert {"leads", "activities", "content_assets", "qualifications", "handoff_notes", "processed_events",
                "deliveries"} <= tables
        indexes = {i["name"] for i in inspect(engine).get_indexes("activities")}
        assert "ix_activities_lead_id_occurred_at_kind" in indexes
        db.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_ensure_schema_upgrades_sqlite_but_not_a_server(empty_db_url):
    engine = db.make_engine(empty_db_url)
    try:
        if db.is_sqlite(engine):
            db.ensure_schema(engine)
            assert db.current_revision(engine) == db.head_revision()
        else:
            try:
                db.ensure_schema(engine)
            except db.SchemaOutOfDate as exc:
                assert "leadbrief db upgrade" in str(exc)
            else:
                raise AssertionError("a server database must not be upgraded implicitly")
    finally:
        engine.dispose()
