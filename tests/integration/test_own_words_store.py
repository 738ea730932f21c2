"""A form comment is read once, at ingestion, and stored with its activity (migration 0016): lookups build the
brief from the stored reading, never reading the comment again; "Show full message" finds the form by its
time. SQLite, and PostgreSQL with LEADBRIEF_TEST_POSTGRES_URL."""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import select

from bot.usecases.ingest import ingest
from briefs import words as reading
from briefs.model import build_brief
from storage import db, queries
from storage.models import Activity
from tests.support import comments as C
from tests.support.factories import NOW, Events, parsed

d = timedelta


def test_the_reading_is_stored_at_ingestion_and_used_by_the_lookup(services, rules, monkeypatch):
    ev = Events()
    email = "anna.schmidt@mueller.example"
    ingest(services.sessions, parsed([
        ev.upsert(email, d(days=2), first_name="Anna", last_name="Schmidt", company="Müller Maschinenbau GmbH"),
        ev.form(email, "Demo anfordern", C.REPLY_DE, ago=d(minutes=6)),
        ev.form(email, "Newsletter", None, ago=d(days=1)),
    ]), rules, NOW)
    with services.sessions() as s:
        rows = s.execute(select(Activity.form, Activity.words).order_by(Activity.occurred_at)).all()
    assert rows[0].words is None  # no comment, nothing to read
    stored = reading.from_json(rows[1].words)
    assert stored is not None and stored.language == "de" and "Von:" not in stored.text
    assert {f.key for f in stored.facts} >= {"incumbent", "budget", "decides", "callback"}

    # The lookup builds from the stored reading: reading the comment again would fail here.
    def no_reading(*_a, **_k):
        raise AssertionError("the comment was read again on lookup")
    monkeypatch.setattr(reading, "read", no_reading)
    reading._read_cached.cache_clear()
    with services.sessions() as s:
        lead = queries.find_lead(s, email)
        brief = build_brief(queries.brief_input(s, lead, NOW), rules)
        form = queries.form_at(s, lead.id, brief.own_words.at)
    assert brief.own_words.language == "de" and brief.own_words.callback is not None
    assert [f.label for f in brief.word_facts][:2] == ["Need", "Budget"]
    assert form is not None and form.form == "Demo anfordern" and reading.from_json(form.words) == stored


def test_a_replayed_delivery_does_not_read_its_comments_again(services, rules, monkeypatch):
    ev = Events()
    email = "pierre.dupont@transports-dupont.example"
    batch = [ev.upsert(email, d(days=1), first_name="Pierre", company="Transports Dupont"),
             ev.form(email, "Contacter le service commercial", C.FRENCH, ago=d(minutes=3))]
    real, calls = reading.read, []
    monkeypatch.setattr(reading, "read", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    assert ingest(services.sessions, parsed(batch), rules, NOW).accepted == 2
    assert len(calls) == 1
    # The vendor retries the same delivery: duplicates, and the comment's reading is not paid for again.
    again = ingest(services.sessions, parsed(batch), rules, NOW)
    assert (again.accepted, again.duplicates, len(calls)) == (0, 2, 1)


def test_a_row_stored_before_0016_is_read_at_its_first_brief(services, rules):
    ev = Events()
    email = "lucia@distsur.example"
    ingest(services.sessions, parsed([
        ev.upsert(email, d(days=1), first_name="Lucía", company="Distribuciones Sur"),
        ev.form(email, "Solicitar una demo", C.SPANISH, ago=d(minutes=3)),
    ]), rules, NOW)
    with services.sessions.begin() as s:
        s.execute(sa.update(Activity).values(words=None))  # as a row written before the column existed
    with services.sessions() as s:
        lead = queries.find_lead(s, email)
        brief = build_brief(queries.brief_input(s, lead, NOW), rules)
    assert brief.own_words.language == "es"
    assert brief.own_words.quote.startswith("Nos recomendó") and "Saludos" not in brief.own_words.message
    assert any(f.label == "Asks for" for f in brief.word_facts)


def test_0016_adds_the_words_column_and_takes_it_away_again(empty_db_url):
    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0016")
        assert "words" in {c["name"] for c in sa.inspect(engine).get_columns("activities")}
        db.downgrade(engine, "0015")
        assert "words" not in {c["name"] for c in sa.inspect(engine).get_columns("activities")}
    finally:
        engine.dispose()
