"""briefs/accounts.py: matching keys, the committee's shape, the owner rule, the surge, and the account section
in the brief and its renderers. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from briefs import accounts as acc
from briefs.accounts import AccountIndex, Candidate, MatchedBy, Member, OwnerRule, Qualified, SurgeRule
from briefs.blocks import account_blocks, to_blocks
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.signals import ActivityView, LeadView
from briefs.text import to_text_brief
from tests.support.blockkit import assert_valid_message as validate_message

NOW = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
d = timedelta


@pytest.mark.parametrize("names", [
    ("Contoso", "Contoso Ltd.", "CONTOSO LTD", "contoso, ltd", "The Contoso Ltd"),
    ("Müller Logistik GmbH", "Mueller Logistik", "MÜLLER LOGISTIK G.m.b.H."),
    ("Société Générale S.A.", "Societe Generale", "SOCIÉTÉ GÉNÉRALE SA"),
    ("Acme, Inc.", "ACME Inc", "Acme Incorporated"),
])
def test_name_variants_normalise_to_one_key_or_a_near_miss(names):
    keys = [acc.normalise_name(n) for n in names]
    index = AccountIndex()
    index.add(1, name_key=keys[0])
    domain = "".join(keys[0].split()[:2]) + "-group.example"  # a domain of theirs the account does not know yet
    for name in names:
        found = acc.match(acc.identity(Candidate(f"x@{domain}", name)), index)
        assert found is not None and found.account_id == 1, (name, keys)


def test_different_companies_stay_apart():
    index = AccountIndex()
    index.add(1, name_key=acc.normalise_name("Contoso"))
    for other in ("Contora", "Fabrikam", "Cont", "Northwind Traders", "ABB"):
        found = acc.match(acc.identity(Candidate(f"p@{other.lower().replace(' ', '')}.example", other)), index)
        assert found is not None and found.by == MatchedBy.NEW, other
    assert acc.normalise_name("n/a") is None and acc.normalise_name("  ") is None and acc.normalise_name("Self-employed") is None


def test_registrable_domains_free_mail_and_role_addresses():
    assert acc.registrable_domain("mail.eu.contoso.co.uk") == "contoso.co.uk"
    assert acc.registrable_domain("contoso.com.au") == "contoso.com.au"
    assert acc.registrable_domain("acme.example") == "acme.example"  # a suffix the list does not know
    assert acc.registrable_domain("co.uk") is None and acc.registrable_domain("localhost") is None
    assert acc.registrable_domain("10.0.0.1") is None
    for email in ("contoso.cfo@gmail.com", "priya@googlemail.com", "tom@yahoo.co.uk", "d@outlook.de", "x@web.de",
                  "a@mailinator.com"):
        ident = acc.identity(Candidate(email, "Contoso", None))
        assert ident.excluded, email
        index = AccountIndex()
        index.add(1, domain="contoso.com", name_key="contoso")
        assert acc.match(ident, index) is None, email
    role = acc.identity(Candidate("info@contoso.com", "Contoso"))
    assert not role.may_create and acc.match(role, AccountIndex()) is None
    index = AccountIndex()
    index.add(7, domain="contoso.com")
    assert acc.match(role, index) == acc.Match(7, MatchedBy.DOMAIN)
    assert acc.is_role_address("vertrieb@firma.de") and acc.is_role_address("sales+eu@x.com")
    assert not acc.is_role_address("priya.shah@contoso.com")


def test_the_crm_id_wins_then_the_domain_then_the_name():
    index = AccountIndex()
    index.add(1, crm_id="0015g00000ABC", domain="globex.example", name_key="globex")
    index.add(2, domain="initech.example", name_key="initech")
    assert acc.match(acc.identity(Candidate("a@initech.example", "Initech", "0015g00000ABC")), index).account_id == 1
    assert acc.match(acc.identity(Candidate("a@initech.example", "Globex")), index).account_id == 2
    assert acc.match(acc.identity(Candidate("a@globex-eu.example", "GLOBEX GmbH")), index).by == MatchedBy.NAME


def _visit(url: str, ago: timedelta, title: str | None = None) -> ActivityView:
    return ActivityView("web_visit", NOW - ago, url=url, title=title)


def _dl(title: str, ago: timedelta) -> ActivityView:
    return ActivityView("content_download", NOW - ago, title=title, asset_type="whitepaper")


def contoso_members() -> list[Member]:
    return [
        Member(1, "Priya Shah", "CFO", "amara@ourco.example",
               [_visit("https://ourco.example/pricing", d(days=1)), _visit("https://ourco.example/pricing/", d(hours=2)),
                _visit("https://ourco.example/blog/what-is-a-widget", d(days=40))]),
        Member(2, "Tom Reyes", "Integration Engineer", "ben@ourco.example",
               [_visit("https://ourco.example/docs/api/v2/webhooks", d(days=3)),
                _visit("https://ourco.example/integrations/erp", d(days=2))]),
        Member(3, "Dana Wu", "Head of Security", None,
               [_dl("Security White Paper", d(days=2)), _visit("https://ourco.example/trust/sso", d(days=2)),
                _visit("https://ourco.example/trust/soc-2", d(days=1, hours=3))]),
        Member(4, "Old Contact", "Buyer", None, [_visit("https://ourco.example/pricing", d(days=30))]),
    ]


def test_the_committee_shape():
    c = acc.committee(9, "Contoso", contoso_members(), NOW, 14, lead_id=1)
    assert c is not None
    assert c.headline == "Contoso · 3 people active this week"
    assert [p.name for p in c.people] == ["Priya Shah", "Dana Wu", "Tom Reyes"]
    assert c.economic_buyer == ("Priya Shah",) and c.technical == ("Tom Reyes",) and c.security == ("Dana Wu",)
    assert c.most_senior is not None and c.most_senior.name == "Priya Shah"
    assert c.people[0].line == "Priya Shah, CFO: pricing ×2 (yesterday, 2 hours ago)"
    assert c.people[1].line.endswith("A security review is under way.")
    assert c.people[2].line == "Tom Reyes, Integration Engineer: ERP integration page, API docs"
    assert c.next_steps[0].startswith("Offer a technical session with Tom and Dana, and send the SOC 2 report")
    toms = acc.committee(9, "Contoso", contoso_members(), NOW, 14, lead_id=2)
    assert toms is not None and toms.next_steps[0].startswith("Offer Tom a technical session with Dana, and send")
    talk = acc.talk_context(c)
    assert talk is not None and talk["names"] == ["Dana", "Tom"] and talk["security_review"] is True
    # One person active is no committee; a wider window is said so.
    assert acc.committee(9, "Contoso", contoso_members()[:1], NOW) is None
    wide = acc.committee(9, "Contoso", contoso_members(), NOW, 31)
    assert wide is not None and wide.headline == "Contoso · 4 people active in the last 31 days"


def test_seniority_and_the_owner_rule():
    assert [acc.seniority(t) for t in ("CFO", "VP Sales", "Head of IT", "Director, Finance", "IT Manager",
                                       "Engineer", None, "Geschäftsführer", "Directrice financière")] == \
        [5, 4, 4, 3, 2, 1, 0, 5, 3]
    qs = [Qualified(1, "ben@x", "Engineer", NOW - d(hours=3)), Qualified(2, "amara@x", "CFO", NOW),
          Qualified(3, None, "CEO", NOW - d(hours=5))]
    assert acc.account_owner(None, qs, OwnerRule.MOST_SENIOR) == "amara@x"
    assert acc.account_owner(None, qs, OwnerRule.FIRST_QUALIFIED) == "ben@x"
    assert acc.account_owner("owner@x", qs, OwnerRule.MOST_SENIOR) == "owner@x"
    assert acc.account_owner(None, [qs[2]], OwnerRule.MOST_SENIOR) is None


def test_surge():
    active = {1: NOW - d(days=1), 2: NOW - d(days=6), 3: NOW - d(hours=1), 4: NOW - d(days=8)}
    assert acc.surge(active, SurgeRule(3, 7), NOW) == "3 people at the account active in 7 days (account surge)"
    assert acc.surge(active, SurgeRule(4, 7), NOW) is None
    assert acc.surge(active, SurgeRule(3, 7, enabled=False), NOW) is None


def _brief_input(committee):
    lead = LeadView(email="priya.shah@contoso.com", first_name="Priya", last_name="Shah", title="CFO",
                    company="Contoso", owner_email="amara@ourco.example")
    q = QualificationView("score_threshold", "lead score crossed 100 (now 120)", NOW - d(minutes=20), NOW)
    return BriefInput(lead=lead, activities=contoso_members()[0].activities, qualification=q, now=NOW,
                      account_name="Contoso", committee=committee)


def test_the_brief_has_the_account_section_and_no_who_else_question():
    c = acc.committee(9, "Contoso", contoso_members(), NOW, 14, lead_id=1)
    brief = build_brief(_brief_input(c))
    message = to_blocks(brief)
    validate_message(message)
    text = to_text_brief(brief)
    assert "Contoso · 3 people active this week" in text and "account: Contoso" in brief.status_line
    assert "Who else" not in text
    assert any("Dana and Tom have been looking at" in q for q in brief.talk_track.questions)
    assert brief.talk_track.next_step.startswith("Offer a technical session")
    section = next(b for b in message["blocks"] if b.get("block_id") == "brief_account")
    assert "*Contoso · 3 people active this week*" in section["text"]["text"]
    # Without colleagues, the question comes back.
    alone = build_brief(_brief_input(None))
    assert alone.account is None and "Who else" in to_text_brief(alone)


def test_lead_text_in_the_section_is_escaped_and_cut():
    members = [Member(1, "<!channel> *Boss*", "CEO & <b>Founder</b>", None,
                      [_visit("https://ourco.example/pricing", d(hours=1))]),
               Member(2, "Zoë Ångström-" + "x" * 600, None, None,
                      [_dl("Sicherheits­whitepaper & <script>", d(hours=2))])]
    c = acc.committee(1, "Evil & <Co>", members, NOW)
    brief = build_brief(_brief_input(c))
    message = to_blocks(brief)
    validate_message(message)
    section = next(b for b in message["blocks"] if b.get("block_id") == "brief_account")["text"]["text"]
    assert "<!channel>" not in section and "&lt;!channel&gt;" in section and "<script>" not in section
    assert "Evil &amp; &lt;Co&gt;" in section


def test_the_account_view_blocks():
    c = acc.committee(9, "Contoso", contoso_members(), NOW, 14)
    view = acc.AccountView(9, "Contoso", "amara@ourco.example", ("contoso.co.uk", "contoso.com"), 4,
                           (acc.PersonRow("Priya Shah", "CFO", "priya.shah@contoso.com", "amara@ourco.example"),),
                           c, "0015g00000ABC")
    message = account_blocks(view)
    validate_message(message)
    dumped = str(message)
    assert "Contoso · 3 people active this week" in dumped and "contoso.co.uk, contoso.com" in dumped
    assert "Next steps" in dumped and "Priya Shah, CFO · priya.shah@contoso.com" in dumped


def test_a_name_joins_by_name_only_when_the_domain_looks_like_it():
    index = AccountIndex()
    index.add(1, domain="contoso.com", name_key="contoso")
    index.add(2, domain="mueller-logistik.de", name_key=acc.normalise_name("Müller Logistik GmbH"))
    assert acc.match(acc.identity(Candidate("t@contoso.co.uk", "Contoso Ltd.")), index) == acc.Match(1, MatchedBy.NAME)
    assert acc.match(acc.identity(Candidate("t@mueller-logistics.com", "Mueller Logistik")), index).account_id == 2
    # Someone at Initech who typed a customer's name is at Initech.
    assert acc.match(acc.identity(Candidate("ann@initech.example", "Contoso")), index).by == MatchedBy.NEW
    assert acc.name_fits_domain("contoso", None)


def test_names_that_differ_by_a_number_are_different_companies():
    index = AccountIndex()
    index.add(1, name_key=acc.normalise_name("Widget Works 12"))
    for other in ("Widget Works 13", "Widget Works 2", "Widget Works"):
        found = acc.match(acc.identity(Candidate("x@widgetworks-eu.example", other)), index)
        assert found is not None and found.by == MatchedBy.NEW, other
    near = acc.match(acc.identity(Candidate("x@widgetworks-eu.example", "Widget Werks 12 GmbH")), index)
    assert near == acc.Match(1, MatchedBy.FUZZY)
