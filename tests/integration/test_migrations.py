"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.config import Settings
from bot.usecases.deps import Services
from bot.usecases.ingest import ingest
from storage import db
from storage.models import Base
from storage.search import in_models
from tests.support.factories import NOW, Events, parsed


def test_upgrade_from_empty_matches_the_models_and_downgrades_cleanly(empty_db_url):
    engine = db.make_engine(empty_db_url)
    try:
        assert db.current_revision(engine) is None
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True,
                                                                     "include_name": in_models}), Base.metadata)
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


def test_downgrading_0005_rebuilds_the_lead_seen_times_from_activities(empty_db_url):
    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine)
        ev = Events()
        batch = [ev.visit("a@b.example", "https://ourco.example/x", timedelta(days=3)),
                 ev.activity("a@b.example", "email_open", timedelta(days=1)),
                 ev.activity("a@b.example", "email_delivered", timedelta(hours=1))]
        services = Services.from_settings(Settings(database_url=empty_db_url, webhook_secret="x" * 32))
        ingest(services.sessions, parsed(batch), services.settings.rules, NOW)
        db.downgrade(engine, "0004")
        with engine.connect() as conn:
            row = conn.execute(text("SELECT first_seen_at, last_seen_at, last_touch_at FROM leads")).one()
        assert None not in row, row
        as_utc = [v if isinstance(v, datetime) else datetime.fromisoformat(v) for v in row]
        as_utc = [v.replace(tzinfo=UTC) if v.tzinfo is None else v for v in as_utc]
        assert as_utc == [NOW - timedelta(days=3), NOW - timedelta(hours=1), NOW - timedelta(days=1)]
        services.engine.dispose()
    finally:
        engine.dispose()


def test_upgrading_a_populated_database_keeps_every_row(empty_db_url):
    # 0005 rebuilds the leads table on SQLite; nothing that references a lead may go with the old table.
    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO leads (id, email, is_customer, search_text, created_at, updated_at) "
                              "VALUES (1, 'a@b.example', false, 'a@b.example', :t, :t)"), {"t": NOW})
            conn.execute(text("INSERT INTO activities (lead_id, kind, occurred_at, source, source_event_id, "
                              "received_at) VALUES (1, 'web_visit', :t, 'api', 'e1', :t)"), {"t": NOW})
            conn.execute(text("INSERT INTO handoff_notes (lead_id, author, body, created_at, source) "
                              "VALUES (1, 'Mia', 'Met at the expo', :t, 'api')"), {"t": NOW})
        db.upgrade(engine)
        with engine.connect() as conn:
            counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608 - constant names
                      for t in ("leads", "activities", "handoff_notes")]
        assert counts == [1, 1, 1]
    finally:
        engine.dispose()


def test_0013_ties_the_recorded_activity_events_to_their_leads(empty_db_url):
    """Before 0013 no claim had a lead_id; the activity claims can be linked through their stored activity."""
    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0012")
        with engine.begin() as conn:
            for lead_id, email in ((1, "a@b.example"), (2, "c@d.example")):
                conn.execute(text("INSERT INTO leads (id, email, is_customer, search_text, created_at, updated_at) "
                                  "VALUES (:id, :email, false, :email, :t, :t)"), {"id": lead_id, "email": email,
                                                                                   "t": NOW})
            for lead_id, source, event_id in ((1, "api", "e1"), (2, "segment", "e1"), (2, "api", "e2")):
                conn.execute(text("INSERT INTO activities (lead_id, kind, occurred_at, source, source_event_id, "
                                  "received_at) VALUES (:lead, 'web_visit', :t, :source, :id, :t)"),
                             {"lead": lead_id, "source": source, "id": event_id, "t": NOW})
            for source, event_id, type_ in (("api", "e1", "activity"), ("segment", "e1", "activity"),
                                            ("api", "e2", "activity"), ("api", "u1", "lead.upsert"),
                                            ("slack", "Ev1", "slack.event"), ("api", "gone", "activity")):
                conn.execute(text("INSERT INTO processed_events (source, event_id, type, occurred_at, received_at) "
                                  "VALUES (:source, :id, :type, :t, :t)"),
                             {"source": source, "id": event_id, "type": type_, "t": NOW})
        db.upgrade(engine)
        with engine.connect() as conn:
            tied = dict(((s, i), lead) for s, i, lead in conn.execute(text(
                "SELECT source, event_id, lead_id FROM processed_events")))
        assert tied == {("api", "e1"): 1, ("segment", "e1"): 2, ("api", "e2"): 2, ("api", "u1"): None,
                        ("slack", "Ev1"): None, ("api", "gone"): None}
        db.downgrade(engine, "0012")
        db.upgrade(engine)
    finally:
        engine.dispose()


def test_0014_adds_the_visitor_tables_to_a_populated_database_and_drops_them_again(empty_db_url):
    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0013")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO leads (id, email, is_customer, search_text, created_at, updated_at) "
                              "VALUES (1, 'a@b.example', false, 'a@b.example', :t, :t)"), {"t": NOW})
            conn.execute(text("INSERT INTO activities (lead_id, kind, occurred_at, source, source_event_id, "
                              "received_at) VALUES (1, 'web_visit', :t, 'segment', 'm1', :t)"), {"t": NOW})
            conn.execute(text("INSERT INTO processed_events (source, event_id, type, occurred_at, received_at, "
                              "lead_id) VALUES ('segment', 'm1', 'activity', :t, :t, 1)"), {"t": NOW})
        db.upgrade(engine)
        assert {"visitor_links", "pending_activities"} <= set(inspect(engine).get_table_names())
        # The new code runs on the upgraded data: a visitor linked to the existing lead, its page attached.
        services = Services.from_settings(Settings(database_url=empty_db_url, webhook_secret="x" * 32))
        ev = Events()
        page = {**ev.activity("a@b.example", "web_visit", timedelta(hours=1)), "source": "segment"}
        del page["email"]
        page["visitor"] = {"anonymous_id": "anon-1"}
        identify = {**ev.upsert("a@b.example", timedelta(minutes=5)), "source": "segment",
                    "visitor": {"anonymous_id": "anon-1"}}
        ingest(services.sessions, parsed([page]), services.settings.rules, NOW)
        ingest(services.sessions, parsed([identify]), services.settings.rules, NOW)
        services.engine.dispose()
        with engine.connect() as conn:
            counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608 - constant names
                      for t in ("leads", "activities", "processed_events", "visitor_links", "pending_activities")]
        assert counts == [1, 2, 3, 1, 0]
        db.downgrade(engine, "0013")
        assert not {"visitor_links", "pending_activities"} & set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM activities")).scalar() == 2
    finally:
        engine.dispose()
