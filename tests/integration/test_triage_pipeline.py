"""Triage in the ingest use case: the verdict stored with the qualification in the same transaction, notices in
the outbox instead of briefs, CRM flags read from the lead, replays changing nothing; and migration 0015."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.usecases.ingest import ingest
from briefs.triage import TriagePolicy
from storage import db
from storage import triage as triage_store
from storage.models import Delivery, Lead, Qualification
from tests.support.factories import NOW, Events, parsed

d = timedelta


@pytest.fixture(autouse=True)
def _fresh_comparison_pages():
    triage_store.forget_comparison_cache()
    yield
    triage_store.forget_comparison_cache()


def _week(ev: Events) -> list[dict]:
    """Four leads of one ordinary week: a buyer, a Spanish removal request, an agency's pitch, and a competitor's
    product manager who read our comparison page (another visitor's visit names the rival)."""
    return [
        ev.upsert("priya@kestrel-labs.example", d(days=4), first_name="Priya", company="Kestrel Labs",
                  owner_email="jane@ourco.example"),
        ev.visit("priya@kestrel-labs.example", "https://ourco.example/pricing", d(days=2)),
        ev.form("priya@kestrel-labs.example", "Contact Sales", "We need pricing for 60 seats, ideally a demo Tuesday."),
        ev.upsert("marta@ferreteria-sol.example", d(days=2), first_name="Marta", company="Ferretería Sol"),
        ev.form("marta@ferreteria-sol.example", "Contact Sales", "Por favor, dejen de enviarme correos. Gracias"),
        ev.form("growth@rankrocket.example", "Contact Sales",
                "Hi, I noticed your website is not on the first page of Google. We can fix that with a free audit."),
        ev.visit("someone@else.example", "https://ourco.example/compare/leadzap", d(days=6)),
        ev.upsert("tom@leadzap.example", d(days=1), first_name="Tom", title="Product Manager", company="LeadZap Inc."),
        ev.form("tom@leadzap.example", "Demo Request", "Could I get a demo of your routing rules?"),
    ]


def _triaged(services) -> dict[str, tuple[str | None, str | None, str, str | None]]:
    with services.sessions() as s:
        rows = s.execute(select(Lead.email, Qualification.triage_delivery, Qualification.triage_rule,
                                Qualification.status, Delivery.kind)
                         .join(Lead, Lead.id == Qualification.lead_id)
                         .outerjoin(Delivery, Delivery.qualification_id == Qualification.id)).all()
    return {email: (delivery, rule, status, kind) for email, delivery, rule, status, kind in rows}


def test_every_verdict_is_stored_with_its_qualification_and_replays_change_nothing(services, rules):
    ev = Events()
    events = parsed(_week(ev))
    first = ingest(services.sessions, events, rules, NOW, triage_policy=TriagePolicy())
    assert len(first.qualifications) == 4
    assert _triaged(services) == {
        "priya@kestrel-labs.example": ("page", None, "open", "brief"),
        "marta@ferreteria-sol.example": ("close", "do_not_contact.request", "do_not_contact", "notice"),
        "growth@rankrocket.example": ("route", "vendor_pitch.pitch", "not_a_fit", "notice"),
        "tom@leadzap.example": ("route", "competitor.comparison_page", "not_a_fit", "notice"),
    }
    again = ingest(services.sessions, events, rules, NOW + d(minutes=1), triage_policy=TriagePolicy())
    assert (again.accepted, again.qualifications) == (0, [])
    with services.sessions() as s:
        assert s.scalar(select(text("count(*)")).select_from(Delivery)) == 4
        notice = s.scalars(select(Delivery).where(Delivery.kind == "notice", Delivery.notice_to == "do_not_contact")).one()
    assert "dejen de enviarme correos" in notice.text


def test_triage_off_pages_everyone(services, rules):
    ingest(services.sessions, parsed(_week(Events())), rules, NOW, triage_policy=TriagePolicy(enabled=False))
    assert {v[0] for v in _triaged(services).values()} == {"page"}
    assert {v[3] for v in _triaged(services).values()} == {"brief"}


def test_the_crm_do_not_contact_flag_is_stored_and_closes_the_lead(services, rules):
    ev = Events()
    batch = [ev.upsert("r.ito@minato-trading.example", d(hours=3), company="Minato Trading", do_not_contact=True,
                       email_opt_out=True),
             ev.form("r.ito@minato-trading.example", "Demo Request", "Demo for our Osaka office, please.")]
    ingest(services.sessions, parsed(batch), rules, NOW)
    with services.sessions() as s:
        lead = s.scalars(select(Lead)).one()
        assert (lead.do_not_contact, lead.email_opt_out) == (True, True)
    assert _triaged(services)["r.ito@minato-trading.example"][:2] == ("close", "do_not_contact.crm_flag")


def test_an_override_is_read_back_when_the_lead_qualifies_again(services, rules):
    ev = Events()
    ingest(services.sessions, parsed(_week(ev)), rules, NOW)
    with services.sessions.begin() as s:
        q = s.scalars(select(Qualification).join(Lead).where(Lead.email == "tom@leadzap.example")).one()
        triage_store.mark_overridden(s, q.id, "U0JANE", NOW + d(minutes=5), None)
        found = triage_store.overrides(s, [q.lead_id])[q.lead_id]
    assert (found.by, found.rules) == ("U0JANE", frozenset({"competitor.comparison_page"}))
    ingest(services.sessions, parsed([ev.form("tom@leadzap.example", "Demo Request", "Pricing for 12 seats?",
                                              d(minutes=-10))]), rules, NOW + d(minutes=20))
    with services.sessions() as s:
        newest = s.scalars(select(Qualification).join(Lead).where(Lead.email == "tom@leadzap.example")
                           .order_by(Qualification.id.desc())).first()
    assert newest.triage_delivery == "page"


def test_0015_adds_the_triage_columns_to_a_populated_database(empty_db_url):
    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0014")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO leads (id, email, is_customer, search_text, created_at, updated_at) "
                              "VALUES (1, 'a@b.example', false, 'a@b.example', :t, :t)"), {"t": NOW})
            conn.execute(text("INSERT INTO qualifications (id, lead_id, reason, triggered_at, qualified_at, status) "
                              "VALUES (1, 1, 'hand_raiser', :t, :t, 'open')"), {"t": NOW})
            conn.execute(text("INSERT INTO deliveries (qualification_id, lead_id, payload, text, status, attempts, "
                              "next_attempt_at, created_at) VALUES (1, 1, '{}', 'x', 'sent', 1, :t, :t)"), {"t": NOW})
        db.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT kind, notice_to FROM deliveries")).one() == ("brief", None)
            assert conn.execute(text("SELECT triage_delivery, overridden_at FROM qualifications")).one() == (None, None)
            assert conn.execute(text("SELECT do_not_contact, email_opt_out FROM leads")).one() == (None, None)
        db.downgrade(engine, "0014")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM deliveries")).scalar() == 1
    finally:
        engine.dispose()


def test_the_queued_brief_carries_triages_flags_and_leaves_machine_opens_out(services, rules):
    """A hand-raiser who opted out of email in the CRM, writing from gmail: paged as usual, and the brief the
    rep gets says both (call, do not email; the company is unverified)."""
    ev = Events()
    email = "kenji.watanabe.works@gmail.com"
    events = parsed([
        ev.upsert(email, d(days=1), first_name="Kenji", company="Watanabe Seimitsu", email_opt_out=True),
        ev.form(email, "Contact Sales", "工場の見積もりをお願いします / a quote for our plant, 3 sites, this quarter"),
    ])
    result = ingest(services.sessions, events, rules, NOW, triage_policy=TriagePolicy())
    assert len(result.qualifications) == 1
    with services.sessions() as s:
        brief = s.scalars(select(Delivery.text).where(Delivery.kind == "brief")).one()
    assert "Opted out of email in the CRM" in brief and "call, do not email" in brief
    assert "gmail.com" in brief and "unverified" in brief
