"""`/lead NAME` search against a real database (SQLite, or PostgreSQL with LEADBRIEF_TEST_POSTGRES_URL): a store
of look-alike companies and near-homonyms written through the real ingest path, so that the search columns
and the trigram index are kept in step the way production keeps them."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.usecases import lookup, privacy
from bot.usecases.ingest import ingest
from storage import leads as lead_store
from storage import search as search_store
from tests.integration.test_lookup_usecases import JANE, FakeAccess, FakeSlack
from tests.support.factories import NOW, Events, parsed

FIRST = ("Jon", "John", "Jonathan", "Joan", "José", "Zoë", "Søren", "François", "Łukasz", "Anna", "Chloé", "Björn",
         "Siobhán", "Jürgen", "Ngozi", "João", "Inès")
LAST = ("Dow", "Doerr", "Doe-Smith", "Müller", "Mueller", "García", "Ó Briain", "Nowak", "Kowalski", "Dubois",
        "Nguyễn", "Okafor", "Sørensen", "Martín", "Rossi")


def _store(services, rules, lookalikes: int = 260, seed: int = 3) -> list[str]:
    """Jon Doe alone at "Acme Widgets", among `lookalikes` leads at "Acme Widget 1255", "Widgetry Acme 88",
    "ACME widgets GmbH 7"… and people named like him; then a few who are not look-alikes at all."""
    rnd = random.Random(seed)
    ev = Events(NOW, prefix=f"s{seed}")
    events = [ev.upsert("jon.doe@acmewidgets.example", first_name="Jon", last_name="Doe", company="Acme Widgets",
                        title="VP Operations", owner_email="Jane@OurCo.example")]
    emails = []
    for i in range(lookalikes):
        company = rnd.choice((f"Acme Widget {rnd.randrange(3000)}", f"Widgetry Acme {rnd.randrange(100)}",
                              f"ACME widgets GmbH {i % 9}", f"Acmé Widgèt Systems {i % 13}", "Acme Widget"))
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        email = f"{first[0].lower()}{i}.{rnd.randrange(10**6)}@lookalike{i % 40}.example"
        emails.append(email)
        events.append(ev.upsert(email, first_name=first, last_name=last, company=company,
                                owner_email=rnd.choice(("omar@ourco.example", "li@ourco.example"))))
    events += [
        ev.upsert("zoe.kraemer@globex.example", first_name="Zoë", last_name="Krämer", company="Globex Corporation"),
        ev.upsert("s.obrien@initech.example", first_name="Siobhán", last_name="O'Brien", company="Initech Ltd."),
        ev.upsert("jp@northwind.example", first_name="Jean-Pierre", last_name="Lefèvre", company="Northwind Traders"),
        ev.upsert("noname@umbrella.example", company="Umbrella Corp"),
    ]
    ingest(services.sessions, parsed(events), rules, NOW)
    return emails


def _search(services, q: str, limit: int = 10, owner: str | None = None) -> list[lead_store.Match]:
    with services.sessions() as s:
        return lead_store.search(s, q, limit, owner)


@pytest.fixture
def store(services, rules):
    _store(services, rules)
    return services


@pytest.mark.parametrize("query", [
    "Acme Widgets", "acme widgets", "ACME WIDGETS", "Jon Doe", "jon doe", "jon.doe@acmewidgets.example",
    "JON.DOE@AcmeWidgets.example", "jon doe acme widgets", "acme widgets jon doe", "doe jon acme widgets",
])
def test_the_intended_lead_comes_first_for_exact_queries_among_look_alikes(store, query):
    found = _search(store, query)
    assert found and found[0].email == "jon.doe@acmewidgets.example", [(m.name, m.company) for m in found[:3]]


@pytest.mark.parametrize("query", ["Acme Widgts", "acme widegts", "Jon Deo", "Jnn Doe acme", "jon doe acmr widgets",
                                   "Acme Wdigets", "jon doe acme"])
def test_one_typo_or_part_of_the_company_keeps_the_lead_in_the_top_three(store, query):
    found = _search(store, query)
    assert "jon.doe@acmewidgets.example" in [m.email for m in found[:3]], [(m.name, m.company) for m in found[:3]]


def test_exact_then_prefix_then_near_misses(store):
    found = _search(store, "acme widget", limit=100)
    companies = [m.company for m in found]
    assert companies[0] == "Acme Widget"  # the company itself, whatever the accents or case of the others
    first_other = next(i for i, c in enumerate(companies) if c != "Acme Widget")
    assert all(c == "Acme Widget" for c in companies[:first_other])
    # Then companies starting with it ("Acme Widget 12" before the longer "Acme Widget 1255"), then the others.
    prefixed = [c for c in companies[first_other:] if c.lower().startswith("acme widget ")]
    assert prefixed and companies[first_other] in prefixed
    assert [len(c) for c in prefixed] == sorted(len(c) for c in prefixed)


def test_accents_and_case_never_matter(store):
    assert _search(store, "zoe kramer")[0].email == "zoe.kraemer@globex.example"
    assert _search(store, "ZOË KRÄMER")[0].email == "zoe.kraemer@globex.example"
    assert _search(store, "siobhan o brien")[0].email == "s.obrien@initech.example"
    assert _search(store, "lefevre")[0].email == "jp@northwind.example"
    assert _search(store, "Jean Pierre")[0].email == "jp@northwind.example"


def test_nothing_like_the_query_finds_nothing(store):
    assert _search(store, "Zyxwvut Qqq") == []
    assert _search(store, "   ") == []
    assert _search(store, "%") == [] and _search(store, "_") == []  # LIKE's wildcards are only characters


def test_own_leads_only_is_applied_before_the_limit(store):
    # 260 look-alikes owned by others match "acme widget" better; Jane's one lead is still found.
    mine = _search(store, "acme widget", owner="jane@ourco.example")
    assert [m.email for m in mine] == ["jon.doe@acmewidgets.example"]
    assert _search(store, "acme widget", owner="nobody@ourco.example") == []


def test_an_address_typed_from_the_at_sign_does_not_fail(store):
    # "@acmewidgets.example" has no local part to look for (it was an empty ORDER BY on both databases).
    for query in ("@acmewidgets.example", "@", "@@", "@a", "jon@"):
        for owner in (None, "jane@ourco.example"):
            assert isinstance(_search(store, query, owner=owner), list)
    assert [m.email for m in _search(store, "jon.doe@acmewidgets")][:1] == ["jon.doe@acmewidgets.example"]


def test_search_follows_the_leads_changes_and_their_erasure(store, rules):
    ev = Events(NOW + timedelta(minutes=5), prefix="move")
    ingest(store.sessions, parsed([ev.upsert("jon.doe@acmewidgets.example", company="Hooli Kraków")]), rules,
           NOW + timedelta(minutes=5))
    assert _search(store, "hooli krakow")[0].email == "jon.doe@acmewidgets.example"
    assert "jon.doe@acmewidgets.example" not in [m.email for m in _search(store, "Acme Widgets", limit=50)
                                                 if m.company == "Acme Widgets"]
    store.clock = lambda: NOW + timedelta(minutes=10)
    privacy.forget(store, "jon.doe@acmewidgets.example", "cli:dpo")
    assert _search(store, "hooli krakow") == []
    assert "jon.doe@acmewidgets.example" not in [m.email for m in _search(store, "jon doe hooli")]
    with store.sessions() as s:
        if s.get_bind().dialect.name == "sqlite":  # nothing of him is left in the trigram index either
            left = s.execute(text("SELECT count(*) FROM lead_search WHERE lead_search MATCH '\"hooli\"'")).scalar()
            assert left == 0
            s.execute(text("INSERT INTO lead_search (lead_search) VALUES ('integrity-check')"))  # raises if corrupt
            indexed = s.execute(text("SELECT count(*) FROM lead_search WHERE lead_search MATCH '\"example\"'")).scalar()
            assert indexed == s.execute(text("SELECT count(*) FROM leads")).scalar()


def test_the_index_is_kept_in_step_at_head(services):
    """The SQLite triggers that keep lead_search in step exist (a later migration that rebuilds leads drops
    them with the table); on PostgreSQL, the GIN index exists where pg_trgm does."""
    with services.sessions() as s:
        if s.get_bind().dialect.name == "sqlite":
            names = set(s.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'leads'"))
                        .scalars())
            assert {"lead_search_insert", "lead_search_update", "lead_search_delete"} <= names
        elif search_store.trgm_schema(s.connection()):
            assert s.execute(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_leads_search_text_trgm' "
                                  "AND schemaname = current_schema()")).scalar() == 1


def test_company_totals_count_the_owners_leads_at_each_company(store):
    with store.sessions() as s:
        everyone = search_store.company_totals(s, ["acme widget", "acme widgets", "no such co"])
        janes = search_store.company_totals(s, ["acme widgets"], "jane@ourco.example")
    assert everyone["acme widgets"] == 1 and everyone["acme widget"] > 10 and "no such co" not in everyone
    assert janes == {"acme widgets": 1}


def test_slack_search_groups_by_company_and_counts_the_rest(store):
    store.slack = FakeSlack(access=None)
    reply = lookup.search(store, JANE, "acme widget")
    blocks = reply["blocks"]
    headers = [b["elements"][0]["text"] for b in blocks if b["type"] == "context" and "🏢" in b["elements"][0]["text"]]
    assert headers[0] == "🏢 *Acme Widget*" and len(headers) == len(set(headers))  # each company once
    with store.sessions() as s:
        total = search_store.company_totals(s, ["acme widget"])["acme widget"]
    shown = sum(1 for b in blocks if b["type"] == "section" and "accessory" in b)
    assert shown == 10
    more = [b["elements"][0]["text"] for b in blocks if b["type"] == "context" and "more at" in b["elements"][0]["text"]]
    assert more == [f"…and {total - 10} more at Acme Widget: add a name to narrow it down, or see the account with "
                    "/lead account Acme Widget"]


def test_slack_search_under_own_leads_only_filters_in_the_query(store):
    store.slack = FakeSlack(FakeAccess(own_leads_only=True))
    reply = lookup.search(store, JANE, "acme")
    assert "jon.doe@acmewidgets.example" in str(reply["blocks"]) and "lookalike" not in str(reply["blocks"])


def test_upgrading_to_0017_folds_existing_leads_and_indexes_them(empty_db_url):
    from storage import db

    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0015")
        rows = [(1, "zoe.k@globex.example", "Zoë", "Krämer", "Globex Société"),
                (2, "jon@acmewidgets.example", "Jon", "Doe", "Acme Widgets"),
                (3, "nobody@x.example", None, None, None)]
        with engine.begin() as conn:
            for id_, email, first, last, company in rows:
                conn.execute(text("INSERT INTO leads (id, email, first_name, last_name, company, is_customer, "
                                  "search_text, created_at, updated_at) VALUES (:i, :e, :f, :l, :c, false, :e, :t, :t)"),
                             {"i": id_, "e": email, "f": first, "l": last, "c": company, "t": NOW})
        db.upgrade(engine)
        sessions = db.make_sessionmaker(engine)
        with sessions() as s:
            folded = s.execute(text("SELECT id, name_fold, company_fold, search_text FROM leads ORDER BY id")).all()
            assert [tuple(r) for r in folded] == [
                (1, "zoe kramer", "globex societe", "zoe kramer globex societe zoe.k@globex.example"),
                (2, "jon doe", "acme widgets", "jon doe acme widgets jon@acmewidgets.example"),
                (3, "", "", "nobody@x.example")]
            assert lead_store.search(s, "Acme Widgts")[0].email == "jon@acmewidgets.example"
            assert lead_store.search(s, "kramer globex")[0].email == "zoe.k@globex.example"
        db.downgrade(engine, "0015")
        db.upgrade(engine)
    finally:
        engine.dispose()


def test_a_later_migration_that_rebuilds_leads_on_sqlite_gets_its_search_triggers_back(empty_db_url):
    """An Alembic batch operation that recreates leads (SQLite) drops the triggers with the table; the
    upgrade puts them back and indexes the leads anew, rows changed meanwhile included."""
    from storage import db

    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine)
        if engine.dialect.name != "sqlite":
            return
        with engine.begin() as conn:  # what a table rebuild leaves: no triggers, and a lead changed meanwhile
            conn.execute(text("INSERT INTO leads (email, is_customer, search_text, name_fold, company_fold, created_at, "
                              "updated_at) VALUES ('jon@acmewidgets.example', false, 'jon doe acme widgets', 'jon doe', "
                              "'acme widgets', :t, :t)"), {"t": NOW})
            for name in search_store.SQLITE_TRIGGERS:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
            conn.execute(text("UPDATE leads SET search_text = 'jon doe hooli', company_fold = 'hooli'"))
        db.upgrade(engine)
        with db.make_sessionmaker(engine)() as s:
            assert [m.email for m in lead_store.search(s, "jon doe hooli")] == ["jon@acmewidgets.example"]
            assert s.execute(text("SELECT count(*) FROM lead_search WHERE lead_search MATCH '\"acme\"'")).scalar() == 0
            names = set(s.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        assert set(search_store.SQLITE_TRIGGERS) <= names
    finally:
        engine.dispose()


def test_a_slip_that_spells_the_start_of_other_names_keeps_the_lead_in_the_top_three(services, rules):
    """One letter off in a short name, where what was typed is the start of dozens of other people's names
    ("Noémie Kal" for Noémie Kaal among Noémie Kalo, Kaladoe…; "Inès Roö" for Inès Romö among Inès Roówa…), or
    leaves no run of three letters of the name ("Noa Öis" for Nora Öis among the Noahs)."""
    rnd = random.Random(11)
    ev = Events(NOW, prefix="slip")
    targets = {"noemie.kaal@quantum.example": ("Noémie", "Kaal", "Quantum Vandelay"),
               "ines.romo@cascade.example": ("Inès", "Romö", "Cascade Initech"),
               "nora.ois@stark.example": ("Nora", "Öis", "Stark Cascade")}
    events = [ev.upsert(e, first_name=f, last_name=la, company=c, owner_email="Jane@OurCo.example")
              for e, (f, la, c) in targets.items()]
    events.append(ev.upsert("noemie.kala@granite.example", first_name="Noémie", last_name="Kala", company="Granite"))
    tails = ("a", "o", "adoe", "oain", "inski", "ço", "ander", "éz", "ström", "u", "ibe", "ota")
    for i in range(150):
        first, stem = rnd.choice((("Noémie", "Kal"), ("Inès", "Roo"), ("Inès", "Roó"), ("Noah", "Ois"),
                                  ("Noah", "Warois"), ("Noa", "Oisín"), ("Nora", "Oiss")))
        last = stem + rnd.choice(tails) + ("" if i < 40 else rnd.choice(("ski", "son", "ez", "berg", str(i))))
        events.append(ev.upsert(f"look{i}@lookalike{i % 9}.example", first_name=first, last_name=last,
                                company=rnd.choice(("Harbor Atlantics Group", "Granite GmbH", "São Müller")) + f" {i}",
                                owner_email=rnd.choice(("omar@ourco.example", "Jane@OurCo.example"))))
    ingest(services.sessions, parsed(events), rules, NOW)
    for query, email in [("Noémie Kal", "noemie.kaal@quantum.example"), ("noemie kaal", "noemie.kaal@quantum.example"),
                         ("Inès Roö", "ines.romo@cascade.example"), ("INES RMO", "ines.romo@cascade.example"),
                         ("Noa Öis", "nora.ois@stark.example"), ("Quantum Vandelya", "noemie.kaal@quantum.example")]:
        for owner in (None, "jane@ourco.example"):
            found = _search(services, query, owner=owner)
            assert email in [m.email for m in found[:3]], (query, owner, [(m.name, m.company) for m in found[:3]])
    # What was typed exactly still comes first: a lead named "Noémie Kala" before the slips around it.
    assert _search(services, "Noémie Kala")[0].name == "Noémie Kala"  # exact first, whoever of that name
    assert _search(services, "noemie kaal")[0].email == "noemie.kaal@quantum.example"


def _beres(services, rules, with_beres: int = 0) -> None:
    """Lea Beris (Omar's), and four more leads one letter off "Lea Beres" just as she is (Beren, Berer, Berez,
    Bere), among other Leas whose names are two letters off or more, at look-alike companies; Lea Berer was on the pricing page an hour ago, Léa Beren
    last came 200 days ago, the others never (a CRM import)."""
    rnd = random.Random(7)
    ev = Events(NOW, prefix=f"beres{int(with_beres)}")
    people = [("lea.beris@summitvertex.example", "Lea", "Beris", "Summit Vertex Systems", "Omar@OurCo.example"),
              ("l.beren@nimbus.example", "Léa", "Beren", "Nimbus Atlas 4", "li@ourco.example"),
              ("lea@orion-labs.example", "Lea", "Berer", "Orion Labs", "li@ourco.example"),
              ("berez@helios.example", "LEA", "BEREZ", "Helios 12", "jane@ourco.example"),
              ("bere@cascade.example", "Lea", "Bere", "Cascade GmbH", "li@ourco.example")]
    people += [(f"lea.beres{k or ''}@pacific.example", "Lea", "Beres", f"Pacific Partners {k}", "li@ourco.example")
               for k in range(with_beres)]
    events = [ev.upsert(e, timedelta(days=300), first_name=f, last_name=la, company=c, owner_email=o)
              for e, f, la, c, o in people]
    for i in range(120):  # other Leas, Léas and Leahs, and other Beri… at look-alike companies
        first = rnd.choice(("Lea", "Léa", "Leah", "Lena"))
        last = rnd.choice(("Berisha", "Bertrand", "Beretta", "Breslin", "Berisford", "Berenson", "Perez", "Reyes"))
        events.append(ev.upsert(f"lea{i}@look{i % 11}.example", timedelta(days=rnd.randrange(1, 900)),
                                first_name=first, last_name=last, company=f"Summit Vertex {i}",
                                owner_email=rnd.choice(("omar@ourco.example", "li@ourco.example"))))
    events += [ev.visit("lea@orion-labs.example", "https://ourco.example/pricing", timedelta(hours=1)),
               ev.visit("l.beren@nimbus.example", "https://ourco.example/blog/widgets", timedelta(days=200))]
    ingest(services.sessions, parsed(events), rules, NOW)


def _names(found: list[lead_store.Match]) -> list[str]:
    return [m.email for m in found]


def test_slips_spelt_alike_put_the_searching_reps_own_lead_first_then_the_latest_active(services, rules):
    """"Lea Beres" is one letter off five leads, each as likely a slip: the spelling cannot choose. The rep's
    own lead comes first; for anyone else, the lead that was active most recently."""
    _beres(services, rules)
    with services.sessions() as s:
        omar = lead_store.search(s, "Lea Beres", 10, viewer="omar@ourco.example")
        jane = lead_store.search(s, "lea beres", 10, viewer="jane@ourco.example")
        nobody = lead_store.search(s, "Léa Bérès", 10)
    assert _names(omar)[0] == "lea.beris@summitvertex.example", _names(omar)
    assert _names(jane)[0] == "berez@helios.example", _names(jane)
    # No lead of theirs: the one on the pricing page an hour ago, then the one seen 200 days ago.
    assert _names(nobody)[:2] == ["lea@orion-labs.example", "l.beren@nimbus.example"], _names(nobody)
    assert set(_names(nobody)[:5]) == {"lea.beris@summitvertex.example", "l.beren@nimbus.example",
                                       "lea@orion-labs.example", "berez@helios.example", "bere@cascade.example"}
    # The same through /lead: the Slack user's email decides whose leads are theirs.
    services.slack = FakeSlack(access=None)
    blocks = lookup.search(services, JANE, "Lea Beres")["blocks"]
    opened = [b["accessory"]["value"] for b in blocks if "accessory" in b]
    assert opened[0] == "berez@helios.example", opened


def test_a_slip_that_spells_another_lead_exactly_still_shows_the_lead_meant(services, rules):
    """"Lea Beres" for Lea Beris where a Lea Beres exists: she comes first, as typed, and the leads one letter
    off follow (the rep's own first), where before only the exact match was shown."""
    _beres(services, rules, with_beres=1)
    with services.sessions() as s:
        found = lead_store.search(s, "lea beres", 10, viewer="omar@ourco.example")
        own_only = lead_store.search(s, "lea beres", 10, owner="omar@ourco.example", viewer="omar@ourco.example")
    assert _names(found)[:2] == ["lea.beres@pacific.example", "lea.beris@summitvertex.example"], _names(found)
    assert _names(own_only)[0] == "lea.beris@summitvertex.example"
    assert all(m.owner_email.lower() == "omar@ourco.example" for m in own_only)


def test_a_slip_into_a_common_name_still_shows_the_lead_meant_below_its_namesakes(services, rules):
    """Four real Lea Beres: they fill the first places, as typed; Lea Beris (Omar's) follows them."""
    _beres(services, rules, with_beres=4)
    with services.sessions() as s:
        found = _names(lead_store.search(s, "lea beres", 10, viewer="omar@ourco.example"))
    assert sorted(found[:4]) == sorted(f"lea.beres{k or ''}@pacific.example" for k in range(4)), found
    assert found[4] == "lea.beris@summitvertex.example", found


def test_the_reps_own_namesake_is_found_among_more_than_the_database_hands_over(services, rules, monkeypatch):
    """More people named John Smith than each stage fetches (its LIMIT, here 5); the one Omar owns is written
    last, and still comes first for him, for the name as typed and for a slip of it."""
    monkeypatch.setattr(search_store, "STAGE_LIMIT", 5)
    monkeypatch.setattr(search_store, "WORDS_LIMIT", 5)
    ev = Events(NOW, prefix="smith")
    events = [ev.upsert(f"john.smith{i}@company{i}.example", first_name="John", last_name="Smith",
                        company=f"Company {i}", owner_email="li@ourco.example") for i in range(40)]
    events.append(ev.upsert("j.smith@harbor.example", first_name="John", last_name="Smith", company="Harbor Labs",
                            owner_email="omar@ourco.example"))
    ingest(services.sessions, parsed(events), rules, NOW)
    with services.sessions() as s:
        for query in ("John Smith", "Jon Smith"):
            found = _names(lead_store.search(s, query, 10, viewer="omar@ourco.example"))
            assert found[0] == "j.smith@harbor.example", (query, found)
