"""Accounts (issue 18) through the ingest use case and storage, on SQLite and PostgreSQL: matching, the
committee in the account brief, one brief to one rep and a notice to the other, a later qualification into the
brief's thread, the account surge, and the admins' merge, split and declared domains."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.usecases import accounts as account_uc
from bot.usecases.ingest import ingest
from briefs.accounts import AccountPolicy, SurgeRule
from storage import accounts as store
from storage.models import Account, AccountDomain, Delivery, Lead, Qualification
from tests.support.factories import NOW, Events, parsed

d = timedelta
REP_A, REP_B = "amara.okafor@ourco.example", "ben.keller@ourco.example"


def contoso_week(ev: Events) -> list[dict]:
    """Issue 18's example: three people at Contoso, three spellings of its name, two reps, one nobody's."""
    priya, tom, dana = "priya.shah@contoso.com", "tom.reyes@contoso.co.uk", "d.wu@mail.contoso.com"
    return [
        ev.upsert(priya, d(days=9), first_name="Priya", last_name="Shah", title="CFO", company="Contoso",
                  owner_email=REP_A, score=40),
        ev.upsert(tom, d(days=8), first_name="Tom", last_name="Reyes", title="Integration Engineer",
                  company="Contoso Ltd.", owner_email=REP_B, score=30),
        ev.upsert(dana, d(days=6), first_name="Dana", last_name="Wu", title="Head of Security",
                  company="CONTOSO LTD"),
        ev.visit(priya, "https://ourco.example/pricing", d(days=1, hours=2)),
        ev.visit(priya, "https://ourco.example/pricing?utm_source=newsletter", d(hours=3)),
        ev.visit(tom, "https://ourco.example/docs/api/v2/authentication", d(days=3)),
        ev.visit(tom, "https://ourco.example/integrations/erp-sap-netsuite", d(days=2)),
        ev.download(dana, "Security & Compliance White Paper", d(days=2), topic="security"),
        ev.visit(dana, "https://ourco.example/trust/sso-saml", d(days=2)),
        ev.visit(dana, "https://ourco.example/trust/soc-2", d(days=1)),
        # Unrelated noise: a gmail user who typed Contoso, a German lead elsewhere.
        ev.upsert("contoso.fan1987@gmail.com", d(days=2), first_name="Kai", company="Contoso", owner_email=REP_B),
        ev.visit("contoso.fan1987@gmail.com", "https://ourco.example/pricing", d(days=1)),
        ev.upsert("j.mueller@mueller-logistik.de", d(days=3), first_name="Jürgen", last_name="Müller",
                  title="Geschäftsführer", company="Müller Logistik GmbH", owner_email=REP_B),
        # Both Contoso reps' leads cross the score threshold today.
        ev.upsert(priya, d(minutes=20), score=120),
        ev.upsert(tom, d(minutes=10), score=105),
    ]


def _accounts(services):
    with services.sessions() as s:
        return {lead.email: lead.account_id for lead in s.scalars(select(Lead))}


def test_name_variants_and_subdomains_make_one_account_and_a_gmail_user_none(services, rules):
    ingest(services.sessions, parsed(contoso_week(Events(NOW, "acc1"))), rules, NOW)
    at = _accounts(services)
    contoso = {at["priya.shah@contoso.com"], at["tom.reyes@contoso.co.uk"], at["d.wu@mail.contoso.com"]}
    assert len(contoso) == 1 and None not in contoso
    assert at["contoso.fan1987@gmail.com"] is None
    assert at["j.mueller@mueller-logistik.de"] not in contoso | {None}
    with services.sessions() as s:
        account = s.get(Account, contoso.pop())
        assert account.name == "Contoso"
        domains = set(s.scalars(select(AccountDomain.domain).where(AccountDomain.account_id == account.id)))
    assert domains == {"contoso.com", "contoso.co.uk"}


def test_the_contoso_week_gives_one_brief_to_one_rep_naming_the_committee(services, rules):
    result = ingest(services.sessions, parsed(contoso_week(Events(NOW, "acc2"))), rules, NOW)
    assert len(result.qualifications) == 2
    with services.sessions() as s:
        deliveries = list(s.scalars(select(Delivery).order_by(Delivery.id)))
        briefs = [x for x in deliveries if x.kind == "brief"]
        notices = [x for x in deliveries if x.kind == "notice"]
        assert len(briefs) == 1 and len(notices) == 1
        brief_lead = s.get(Lead, briefs[0].lead_id)
        assert brief_lead.email == "priya.shah@contoso.com"  # the CFO: the most senior qualified lead
        account = s.get(Account, brief_lead.account_id)
        assert account.owner_email == REP_A and account.owner_by == "rule"
        notice_lead = s.get(Lead, notices[0].lead_id)
        assert notice_lead.owner_email == REP_B and notices[0].notice_to == account_uc.NOTICE_TO_REP
        tom_q = s.get(Qualification, notices[0].qualification_id)
        assert tom_q.account_brief_id == briefs[0].qualification_id
    text = " ".join(briefs[0].text.split())  # the terminal text, unwrapped
    assert "Contoso · 3 people active this week" in text
    for who in ("Priya Shah, CFO: pricing ×2", "Tom Reyes, Integration Engineer", "Dana Wu, Head of Security"):
        assert who in text
    assert "A security review is under way." in text
    assert "Who else" not in text
    ask = next(line for line in briefs[0].text.split("\n•") if "have been looking at" in line)
    assert "Tom" in ask and "Dana" in ask and "how we connect to your systems and our security documentation" in ask
    assert "Dana Wu, Head of Security: SOC 2 page, SSO SAML page, Security & Compliance White Paper" in text
    assert "Tom Reyes, Integration Engineer: ERP SAP netsuite integration page, API docs" in text
    assert "SOC 2 report" in text  # the next step
    assert "account: Contoso" in text
    assert "Kai" not in text and "Müller" not in text
    assert "Contoso" in notices[0].text and REP_A in notices[0].text


def test_a_later_qualification_goes_into_the_open_account_briefs_thread(services, rules):
    ev = Events(NOW - d(days=1), "acc3")
    ingest(services.sessions, parsed(contoso_week(ev)[:-1]), rules, NOW - d(days=1))  # only Priya qualifies
    later = Events(NOW, "acc3b")
    result = ingest(services.sessions, parsed([later.upsert("tom.reyes@contoso.co.uk", d(0), score=140)]), rules, NOW)
    assert len(result.qualifications) == 1
    with services.sessions() as s:
        deliveries = {x.kind: x for x in
                      s.scalars(select(Delivery).where(Delivery.qualification_id == result.qualifications[0]))}
        delivery = deliveries["notice"]
        assert delivery.notice_to == account_uc.NOTICE_TO_THREAD
        # Tom is another rep's lead: that rep is told in a line of its own (not paged with a brief).
        told = deliveries["rep_notice"]
        assert set(deliveries) == {"notice", "rep_notice"} and told.notice_to == account_uc.NOTICE_TO_REP
        assert "Tom Reyes (your lead) is part of the Contoso buying committee" in told.text
        q = s.get(Qualification, result.qualifications[0])
        first = s.scalars(select(Qualification).where(Qualification.id != q.id)).one()
        assert q.account_brief_id == first.id
    assert "Also at Contoso: Tom Reyes, Integration Engineer qualified" in " ".join(delivery.text.split())


def test_an_account_surge_qualifies_when_no_single_lead_does(services, rules):
    ev = Events(NOW, "acc4")
    people = [("anna.berg@fabrikam.se", "Anna", "VP Finance"), ("lars.ek@fabrikam.se", "Lars", "IT Architect"),
              ("sofia.lind@fabrikam.se", "Sofia", "Procurement")]
    events = []
    for i, (email, first, title) in enumerate(people):
        events += [ev.upsert(email, d(days=5 - i), first_name=first, title=title, company="Fabrikam AB",
                             owner_email=REP_B, score=10),
                   ev.visit(email, "https://ourco.example/pricing", d(days=4 - i))]
    # Two active: not yet a surge.
    assert ingest(services.sessions, parsed(events[:4]), rules, NOW).qualifications == []
    # Sofia arrives with the CRM's score sync (Anna's score moves a little, far from the threshold).
    result = ingest(services.sessions, parsed([*events[4:], ev.upsert("anna.berg@fabrikam.se", d(hours=1), score=12)]),
                    rules, NOW)
    assert len(result.qualifications) == 1
    with services.sessions() as s:
        q = s.get(Qualification, result.qualifications[0])
        assert q.reason == "account_surge" and "3 people at the account active in 7 days" in q.detail
        assert s.get(Lead, q.lead_id).email == "anna.berg@fabrikam.se"  # the most senior in the batch
        brief = s.scalars(select(Delivery).where(Delivery.qualification_id == q.id)).one()
    assert "Fabrikam · 3 people active" in brief.text
    # Switched off: nothing.
    off = AccountPolicy(surge=SurgeRule(enabled=False))
    ev2 = Events(NOW, "acc4b")
    more = [ev2.upsert(f"p{i}@northwind.example", d(days=1), company="Northwind", score=5) for i in range(4)]
    more += [ev2.visit(f"p{i}@northwind.example", "https://ourco.example/docs/api", d(hours=i)) for i in range(4)]
    assert ingest(services.sessions, parsed(more), rules, NOW, accounts=off).qualifications == []


def test_admins_merge_split_and_declare_domains(services, rules):
    ev = Events(NOW, "acc5")
    ingest(services.sessions, parsed([
        ev.upsert("a@tailspin.example", d(days=1), company="Tailspin Toys"),
        ev.upsert("b@tailspintoys.co.uk", d(days=1), company="Tailspin UK Trading"),
        ev.upsert("c@wingtip.example", d(days=1), company="Wingtip"),
    ]), rules, NOW)
    at = _accounts(services)
    assert len({at["a@tailspin.example"], at["b@tailspintoys.co.uk"], at["c@wingtip.example"]}) == 3
    with services.sessions.begin() as s:
        moved = store.merge(s, at["a@tailspin.example"], [at["b@tailspintoys.co.uk"]], NOW)
    assert moved == 1
    at = _accounts(services)
    assert at["a@tailspin.example"] == at["b@tailspintoys.co.uk"]
    # A new lead at the merged account's domain joins the surviving account.
    ingest(services.sessions, parsed([Events(NOW, "acc5b").upsert("d@tailspintoys.co.uk", company="TT")]), rules, NOW)
    assert _accounts(services)["d@tailspintoys.co.uk"] == at["a@tailspin.example"]
    with services.sessions.begin() as s:
        new_id = store.split(s, at["a@tailspin.example"], ["b@tailspintoys.co.uk", "d@tailspintoys.co.uk"],
                             "Tailspin UK", NOW)
        moved = store.declare_domains(s, at["c@wingtip.example"], ["wingtiptoys.example"], NOW)
    assert moved == 0
    after = _accounts(services)
    assert after["b@tailspintoys.co.uk"] == after["d@tailspintoys.co.uk"] == new_id
    # Matching leaves an admin's choice alone, and the split's domain now leads to the new account.
    ingest(services.sessions, parsed([Events(NOW, "acc5c").upsert("b@tailspintoys.co.uk", company="Tailspin Toys"),
                                      Events(NOW, "acc5d").upsert("e@tailspintoys.co.uk"),
                                      Events(NOW, "acc5e").upsert("f@wingtiptoys.example", company="x")]), rules, NOW)
    final = _accounts(services)
    assert final["b@tailspintoys.co.uk"] == new_id and final["e@tailspintoys.co.uk"] == new_id
    assert final["f@wingtiptoys.example"] == at["c@wingtip.example"]


def test_the_crm_account_id_wins_over_a_shared_domain(services, rules):
    ev = Events(NOW, "acc6")
    ingest(services.sessions, parsed([
        ev.upsert("x@globex.example", d(days=2), company="Globex", crm_account_id="0015g00000ABCdE"),
        ev.upsert("y@globex.example", d(days=1), company="Globex Europe", crm_account_id="0015g00000XYZaa"),
        ev.upsert("z@initech.example", d(days=1), company="Initech", crm_account_id="0015g00000ABCdE"),
    ]), rules, NOW)
    at = _accounts(services)
    assert at["x@globex.example"] == at["z@initech.example"] != at["y@globex.example"]


def test_0018_adds_accounts_to_a_populated_database_and_match_backfills(empty_db_url):
    from sqlalchemy import text

    from bot.config import Settings
    from bot.usecases.deps import Services
    from storage import db

    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0015")
        with engine.begin() as conn:
            for i, (email, company) in enumerate([("priya.shah@contoso.com", "Contoso"),
                                                  ("tom@contoso.co.uk", "CONTOSO LTD"),
                                                  ("kai.fan@gmail.com", "Contoso")], start=1):
                conn.execute(text("INSERT INTO leads (id, email, company, is_customer, search_text, created_at, "
                                  "updated_at) VALUES (:i, :e, :c, false, :e, :t, :t)"),
                             {"i": i, "e": email, "c": company, "t": NOW})
            conn.execute(text("INSERT INTO qualifications (id, lead_id, reason, triggered_at, qualified_at, status) "
                              "VALUES (1, 1, 'score_threshold', :t, :t, 'open')"), {"t": NOW})
        db.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT account_id, account_by, crm_account_id FROM leads WHERE id = 1")).one() \
                == (None, None, None)
            assert conn.execute(text("SELECT account_id, account_brief_id FROM qualifications")).one() == (None, None)
        services = Services.from_settings(Settings(database_url=empty_db_url))
        assert account_uc.rematch(services.sessions, AccountPolicy(), NOW) == 2
        services.engine.dispose()
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT account_id FROM leads ORDER BY id"))]
        assert ids[0] == ids[1] is not None and ids[2] is None
        db.downgrade(engine, "0015")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM leads")).scalar() == 3
    finally:
        engine.dispose()


def test_a_hand_raiser_at_an_account_with_an_open_brief_still_gets_a_brief_for_the_accounts_owner(services, rules):
    ev = Events(NOW - d(days=1), "acc7")
    ingest(services.sessions, parsed(contoso_week(ev)[:-1]), rules, NOW - d(days=1))  # Priya's account brief (Amara)
    later = Events(NOW, "acc7b")
    result = ingest(services.sessions, parsed([
        later.form("tom.reyes@contoso.co.uk", "Request a Demo", "We need the SAP connector live by March.", d(0)),
    ]), rules, NOW)
    assert len(result.qualifications) == 1
    with services.sessions() as s:
        delivery = s.scalars(select(Delivery).where(Delivery.qualification_id == result.qualifications[0])).one()
        q = s.get(Qualification, result.qualifications[0])
        assert delivery.kind == "brief" and q.reason == "hand_raiser" and q.account_brief_id is None
        from storage import outbox
        from storage.outbox import PendingDelivery
        subject = outbox.subject(s, PendingDelivery(delivery.id, delivery.lead_id, q.id, {}, "", 0))
    assert subject.owner_email == REP_A  # the account's owner, not Tom's own rep
    text = " ".join(delivery.text.split())
    assert "We need the SAP connector live by March." in text and "Contoso · 3 people active" in text


def test_app_home_lists_the_reps_active_accounts_and_stats_count_accounts(services, rules):
    from dataclasses import replace as dc_replace

    from bot.usecases import account_view
    from tests.support.blockkit import assert_valid_message

    ingest(services.sessions, parsed(contoso_week(Events(NOW, "acc8"))), rules, NOW)
    services.clock = lambda: NOW
    home = account_view.home_blocks(services, REP_A)
    assert len(home) == 1 and "*Your accounts*" in home[0]["text"]["text"]
    assert "Contoso: 3 people active (`/lead account Contoso`)" in home[0]["text"]["text"]
    assert account_view.home_blocks(services, REP_B) == []  # Ben owns no account: the rule gave it to Amara
    assert account_view.home_blocks(services, None) == []
    [line] = account_view.stats_block(services, 30, None)
    assert line["elements"][0]["text"] == "🏢 Accounts: 1 with a qualified lead, 1 account brief"
    assert account_view.stats_block(services, 30, REP_B) == []  # counts are not per rep
    # The account view, under own_leads_only: Ben sees his own lead only.
    from briefs.blocks import account_blocks

    with services.sessions() as s:
        account_id = account_view.store.find(s, "contoso.com")[0].id
        everyone = account_view.view(s, account_id, None, services)
        mine = account_view.view(s, account_id, REP_B, services)
    message = account_blocks(everyone)
    assert_valid_message(message)
    assert "Contoso · 3 people active this week" in str(message) and everyone.people == 3
    assert [p.email for p in mine.listed] == ["tom.reyes@contoso.co.uk"] and mine.committee is None
    off = dc_replace(services, settings=dc_replace(services.settings, accounts=AccountPolicy(enabled=False)))
    assert account_view.home_blocks(off, REP_A) == []


def test_configured_domains_belong_to_one_account(services, rules):
    policy = AccountPolicy(domains={"Contoso": ("contoso.com", "contoso-group.example", "contoso.de")})
    ev = Events(NOW, "acc9")
    ingest(services.sessions, parsed([
        ev.upsert("lena.vogel@contoso.de", d(days=2), company="Contoso Deutschland GmbH"),
        ev.upsert("raj@contoso-group.example", d(days=1), company="CG Holdings"),
        ev.upsert("amy@fabrikam.example", d(days=1), company="Fabrikam"),
    ]), rules, NOW, accounts=policy)
    ingest(services.sessions, parsed([Events(NOW, "acc9b").upsert("ops.lead@contoso.com", company="Contoso Inc.")]),
           rules, NOW, accounts=policy)
    at = _accounts(services)
    assert at["lena.vogel@contoso.de"] == at["raj@contoso-group.example"] == at["ops.lead@contoso.com"] is not None
    assert at["amy@fabrikam.example"] != at["raj@contoso-group.example"]
    with services.sessions() as s:
        account = s.get(Account, at["raj@contoso-group.example"])
        declared = set(s.scalars(select(AccountDomain.domain).where(AccountDomain.account_id == account.id,
                                                                    AccountDomain.declared.is_(True))))
    assert account.name == "Contoso" and declared == {"contoso.com", "contoso-group.example", "contoso.de"}
