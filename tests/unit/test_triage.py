"""Triage verdicts over a real company's week of traffic: who must never be called, who is not a buyer, which
addresses are flagged, and how an override lets a lead through. Machine opens: test_triage_machine.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from briefs.rules import Rules
from briefs.signals import ActivityView, LeadView
from briefs.triage import (
    DEFAULT_POLICY,
    Category,
    Delivery,
    Destination,
    Finding,
    Override,
    Rule,
    TriageInput,
    TriagePolicy,
    Verdict,
    _fold_mapped,
    address_flags,
    company_key,
    comparison_slugs,
    domain_label,
    fold_text,
    is_academic_domain,
    suppression_lapse,
    triage,
)

NOW = datetime(2026, 11, 27, 16, 40, tzinfo=UTC)  # a Friday afternoon
MONDAY = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
SITE = "https://www.ourco.example"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """Day 0 is Monday of the week."""
    return MONDAY.replace(hour=hour, minute=minute, second=second) + timedelta(days=day)


def visit(when: datetime, path: str, title: str | None = None, **props) -> ActivityView:
    return ActivityView("web_visit", when, url=SITE + path, properties={**({"page_title": title} if title else {}),
                                                                       **props})


def form(when: datetime, name: str, comments: str | None, **props) -> ActivityView:
    return ActivityView("form_submit", when, form=name, comments=comments, url=SITE + "/contact-sales",
                        properties=props)


def newsletter(sent: datetime, subject: str, campaign_id: str, opened: timedelta | None = None,
               **open_props) -> list[ActivityView]:
    """One marketing email as an ESP reports it: sent, delivered a second later, maybe opened."""
    rows = [ActivityView("email_sent", sent, subject=subject, properties={"email_campaign_id": campaign_id}),
            ActivityView("email_delivered", sent + timedelta(seconds=1), subject=subject,
                         properties={"email_campaign_id": campaign_id})]
    if opened is not None:
        rows.append(ActivityView("email_open", sent + timedelta(seconds=1) + opened, subject=subject,
                                 properties={"email_campaign_id": campaign_id, **open_props}))
    return rows


def buyer_week() -> list[ActivityView]:
    """An ordinary evaluating buyer: blog, pricing, a webinar, two newsletters read over coffee."""
    return [
        visit(at(0, 9, 12), "/blog/speed-to-lead-benchmarks", "Speed-to-lead benchmarks 2026"),
        visit(at(0, 9, 14), "/product/briefs", "Briefs in Slack"),
        *newsletter(at(1, 7, 0), "Webinar: from MQL to meeting in 5 minutes", "88121", timedelta(hours=2, minutes=13)),
        ActivityView("webinar_registered", at(1, 9, 40), title="From MQL to meeting in 5 minutes"),
        visit(at(2, 14, 3), "/pricing", "Pricing"),
        visit(at(2, 14, 6), "/pricing?plan=team", "Pricing"),
        visit(at(2, 14, 9), "/compare/hubspot", "OurCo vs HubSpot"),
        ActivityView("webinar_attended", at(3, 16, 0), title="From MQL to meeting in 5 minutes"),
        *newsletter(at(4, 7, 0), "Your November product update", "88190", timedelta(hours=1, minutes=2)),
    ]


def lead(email: str = "dana.whitfield@brightforge.example", **fields) -> LeadView:
    base = {"first_name": "Dana", "last_name": "Whitfield", "title": "VP Sales", "company": "Brightforge Robotics"}
    return LeadView(email=email, **{**base, **fields})


def decide(person: LeadView, activities: list[ActivityView], policy: TriagePolicy = DEFAULT_POLICY, **kw):
    return triage(TriageInput(lead=person, activities=activities, reason=kw.pop("reason", "hand_raiser"), **kw), policy)


def test_an_ordinary_buyer_is_paged_as_before():
    result = decide(lead(), [*buyer_week(), form(at(4, 10, 31), "Contact Sales",
                                                 "We're 40 reps on HubSpot, need pricing for a team rollout in Q1.")])
    assert (result.verdict, result.delivery, result.finding, result.flags, result.pages_rep) == (
        None, Delivery.PAGE, None, (), True)
    assert result.touches.machine_opens == 0 and result.touches.summary() == "9 touches"


# --- do not contact ------------------------------------------------------------------------------------------

REMOVAL_REQUESTS = [
    # The issue's own example, as typed into "Contact Sales".
    ("stop emailing me, I never signed up, do not call", "stop emailing me, I never signed up, do not call"),
    ("Please remove me from your mailing list.", "Please remove me from your mailing list"),
    ("UNSUBSCRIBE", "UNSUBSCRIBE"),
    ("take me off this list!!! third time asking", "take me off this list"),
    ("I do not wish to be contacted by your company.", "I do not wish to be contacted by your company"),
    ("Don’t contact me again", "Don’t contact me again"),
    ("This is the 4th email this week. Stop spamming me.", "Stop spamming me"),
    ("no more emails pls", "no more emails pls"),
    ("Hallo,\nbitte nehmen Sie mich aus Ihrem Verteiler.\nMfG", "bitte nehmen Sie mich aus Ihrem Verteiler"),
    ("Ich möchte keine E-Mails mehr von Ihnen erhalten", "Ich möchte keine E-Mails mehr von Ihnen erhalten"),
    ("Ich moechte nicht mehr kontaktiert werden!", "Ich moechte nicht mehr kontaktiert werden"),
    ("Löschen Sie bitte meine Daten gemäß Art. 17 DSGVO", "Löschen Sie bitte meine Daten gemäß Art"),
    ("Bonjour, merci de me retirer de votre liste de diffusion.", "Bonjour, merci de me retirer de votre liste de "
                                                                 "diffusion"),
    ("Arrêtez de m'envoyer des e-mails, je ne me suis jamais inscrit", "Arrêtez de m'envoyer des e-mails, je ne me "
                                                                       "suis jamais inscrit"),
    ("ARRETEZ DE M'ENVOYER VOS NEWSLETTERS", "ARRETEZ DE M'ENVOYER VOS NEWSLETTERS"),
    ("Por favor, dejen de enviarme correos.", "Por favor, dejen de enviarme correos"),
    ("Quiero darme de baja de todas sus comunicaciones", "Quiero darme de baja de todas sus comunicaciones"),
    ("no me contacten mas", "no me contacten mas"),
    ("Stop emailing me. Don't call me either.", "Stop emailing me"),
    ("Do not contact me by email or phone.", "Do not contact me by email or phone"),
    ("Bórrenme de su base de datos, nunca me suscribí", "Bórrenme de su base de datos, nunca me suscribí"),
]


@pytest.mark.parametrize(("words", "quoted"), REMOVAL_REQUESTS)
def test_a_removal_request_on_a_form_closes_the_lead_as_do_not_contact(words, quoted):
    result = decide(lead(), [*buyer_week(), form(at(4, 11, 2), "Contact Sales", words)])
    assert (result.verdict, result.delivery, result.rule, result.destination) == (
        Verdict.DO_NOT_CONTACT, Delivery.CLOSE, Rule.DNC_REQUEST, None)
    assert not result.pages_rep
    assert result.finding is not None and result.finding.evidence == quoted
    assert result.reason == f"asked not to be contacted on the Contact Sales form, Nov 27, 2026: “{quoted}”"


COMPLAINTS = [
    "If I get one more email I will file a complaint with the ICO.",
    "This is spam. I'm reporting you to the FTC.",
    "This is a violation of the GDPR and I will contact my lawyer",
    "Das ist ein klarer Verstoß gegen die DSGVO, Beschwerde bei der Datenschutzbehörde folgt.",
    "Je vais porter plainte auprès de la CNIL.",
    "Presentaré una reclamación ante la AEPD si vuelven a escribirme",
]


@pytest.mark.parametrize("words", COMPLAINTS)
def test_a_complaint_threat_closes_the_lead_under_its_own_rule(words):
    result = decide(lead(), [form(at(2, 18, 45), "Contact us", words)])
    assert (result.verdict, result.rule) == (Verdict.DO_NOT_CONTACT, Rule.DNC_COMPLAINT)
    assert result.reason is not None and result.reason.startswith("threatened a complaint on the Contact us form")


NOT_REMOVAL_REQUESTS = [
    "please don't call before 3pm, email is better",
    "Please do not call me, email is better: I'm in workshops all week",
    "we want to stop using spreadsheets for lead routing",
    "Don't contact me before Monday, I'm at a trade fair until then.",
    "I'm a student success manager at a bootcamp, we need routing for 30 advisors.",
    "Stop emailing me PDFs and just call me, I want a demo this week: +1 415 555 0142",
    "How do I unsubscribe my team from the trial emails and upgrade to the paid plan?",
    "We need to remove duplicates from our CRM before the rollout",
    "Our customers keep asking how to unsubscribe from SMS campaigns; do you handle opt-outs?",
    "Our legal team needs a DPA before we sign. Does it support CAN-SPAM and GDPR compliance?",
    "Keine Anrufe vor 15 Uhr bitte, lieber per E-Mail.",
    "Wir wollen keine Excel-Listen mehr pflegen.",
    "Wie kann ich Nutzer im Tool abmelden? Wir brauchen 12 Lizenzen.",
    "Ne m'appelez pas avant 15h, je préfère un e-mail.",
    "Nous voulons arrêter d'utiliser Excel pour nos relances.",
    "No me llamen antes de las 15h, mejor por correo.",
    "Queremos dejar de usar hojas de cálculo.",
    "Hi, can we talk pricing for 25 seats?\n\n---------- Forwarded message ---------\nFrom: OurCo <news@ourco.example>"
    "\nDate: Tue, Nov 24, 2026\nSubject: Your November product update\n\nYou received this email because you signed up."
    " If you no longer wish to receive these emails, unsubscribe here. Remove me from this list.",
    "Können wir nächste Woche sprechen?\n\nAm 24.11.2026 um 07:00 schrieb OurCo <news@ourco.example>:\n> Sie erhalten "
    "diese E-Mail, weil Sie sich angemeldet haben. Abmelden: bitte hier austragen.",
]


@pytest.mark.parametrize("words", NOT_REMOVAL_REQUESTS)
def test_near_misses_are_briefed_as_usual(words):
    result = decide(lead(), [*buyer_week(), form(at(4, 10, 0), "Contact Sales", words)])
    assert (result.verdict, result.delivery) == (None, Delivery.PAGE), result.finding


def test_a_removal_request_in_a_form_answer_other_than_comments_counts():
    result = decide(lead(), [form(at(3, 9, 0), "Contact us", None, message="Bitte austragen. Danke.")])
    assert result.rule == Rule.DNC_REQUEST and result.finding.evidence == "Bitte austragen"


def test_a_later_request_to_talk_to_sales_lifts_an_earlier_removal_request():
    history = [form(at(0, 9, 0), "Newsletter preferences", "remove me from the newsletter"),
               form(at(3, 15, 12), "Request a demo", "We are now evaluating tools for our 12 SDRs, please call.")]
    assert decide(lead(), history).verdict is None
    # ... but not the other way round: the newest words win.
    history = [form(at(0, 9, 0), "Request a demo", "Evaluating tools for our 12 SDRs."),
               form(at(3, 15, 12), "Contact us", "Stop contacting me.")]
    assert decide(lead(), history).rule == Rule.DNC_REQUEST


def unsubscribed_week(repeat: str) -> list[ActivityView]:
    return [
        *newsletter(at(0, 7, 0), "Your November product update", "88190", timedelta(minutes=40)),
        ActivityView("unsubscribe", at(0, 7, 45), subject="Your November product update"),
        *newsletter(at(2, 7, 0), "Webinar: from MQL to meeting in 5 minutes", "88121"),
        *newsletter(at(4, 7, 0), "Last chance: webinar seats", "88122"),
        form(at(4, 8, 3), "Contact Sales", repeat),
    ]


@pytest.mark.parametrize("repeat", ["STOP", "I already unsubscribed!!", "unsubscribe. AGAIN.", "abmelden!!!",
                                    "Désinscription svp", "baja"])
def test_an_unsubscribe_then_a_hand_raise_that_only_repeats_it_is_do_not_contact(repeat):
    result = decide(lead(), unsubscribed_week(repeat))
    assert result.verdict is Verdict.DO_NOT_CONTACT
    assert result.rule in (Rule.DNC_REPEATED_UNSUBSCRIBE, Rule.DNC_REQUEST)
    # Our two sends after the unsubscribe are named for marketing ops, with their dates.
    assert result.suppression is not None and result.suppression.count == 2
    assert result.suppression.sentence() == (
        "Our emails kept going out after they unsubscribed on Nov 23, 2026: 2 sends (Nov 25, 2026 to Nov 27, 2026). "
        "That is a suppression bug in the email tool.")


def test_the_repeat_rule_reads_short_words_only_after_an_unsubscribe():
    # "STOP" alone, without an unsubscribe before it, is not enough to close a lead.
    assert decide(lead(), [form(at(4, 8, 3), "Contact Sales", "STOP")]).verdict is None
    result = decide(lead(), unsubscribed_week("STOP"))
    assert result.rule == Rule.DNC_REPEATED_UNSUBSCRIBE
    assert result.reason == ("unsubscribed on Nov 23, 2026, then sent the Contact Sales form (Nov 27, 2026) that only "
                             "repeats it: “STOP”")


def test_an_unsubscribe_then_a_real_hand_raise_is_paged():
    result = decide(lead(), unsubscribed_week("Unsubscribed from the newsletter, but I do want a demo for 8 users."))
    assert (result.verdict, result.delivery) == (None, Delivery.PAGE)
    assert result.suppression is not None and result.suppression.count == 2  # still worth telling marketing ops


def test_suppression_counts_one_send_per_email_and_honours_the_grace_period():
    history = unsubscribed_week("STOP")
    lapse = suppression_lapse(history)
    assert lapse is not None and lapse.sends == (at(2, 7, 0), at(4, 7, 0))
    assert suppression_lapse(history, TriagePolicy(suppression_grace_hours=72)).sends == (at(4, 7, 0),)
    assert suppression_lapse(buyer_week()) is None
    one = suppression_lapse(history[:5])
    assert one is not None and one.sentence().endswith("1 send (Nov 25, 2026). That is a suppression bug in the "
                                                       "email tool.")


@pytest.mark.parametrize(("fields", "closes"), [
    ({"DoNotCall": True}, True),
    ({"do_not_contact": "true"}, True),
    ({"DONOTCALL": "1"}, True),
    ({"DoNotCall": False, "HasOptedOutOfEmail": False}, False),
    ({"DoNotCall": "false"}, False),
])
def test_a_crm_do_not_contact_flag_closes_the_lead(fields, closes):
    result = decide(lead(), buyer_week(), crm_fields=fields)
    assert (result.verdict is Verdict.DO_NOT_CONTACT) is closes
    if closes:
        assert result.rule == Rule.DNC_CRM_FLAG and re.fullmatch(r"the CRM marks them do-not-contact \(\w+ is set\)",
                                                                 result.reason or "")


def test_an_email_opt_out_in_the_crm_is_a_flag_and_makes_a_repeat_a_removal_request():
    result = decide(lead(), buyer_week(), crm_fields={"hs_email_optout": "true"})
    assert result.verdict is None and [f.rule for f in result.flags] == [Rule.FLAG_EMAIL_OPT_OUT]
    assert result.flags[0].reason == ("Opted out of email in the CRM (hs_email_optout): call, do not email or add "
                                      "them to a sequence.")
    result = decide(lead(), [form(at(4, 8, 3), "Contact Sales", "stop.")], crm_fields={"HasOptedOutOfEmail": True})
    assert result.rule == Rule.DNC_REPEATED_UNSUBSCRIBE
    assert result.reason.startswith("opted out of email in the CRM (HasOptedOutOfEmail), then sent")


def test_the_crm_fields_are_configurable():
    policy = TriagePolicy(crm_do_not_contact_fields=("Do_Not_Contact__c",))
    assert decide(lead(), [], policy, crm_fields={"Do_Not_Contact__c": True}).rule == Rule.DNC_CRM_FLAG
    assert decide(lead(), [], policy, crm_fields={"DoNotCall": True}).verdict is None


def test_extra_do_not_contact_phrases_from_the_config():
    policy = TriagePolicy(do_not_contact_phrases=("Kein Interesse",))
    history = [form(at(1, 10, 0), "Contact us", "KEIN INTERESSE.")]
    assert decide(lead(), history).verdict is None
    assert decide(lead(), history, policy).rule == Rule.DNC_REQUEST


# --- not a buyer ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("person", "history", "rule"), [
    (lead("lena.hofmann@campus.lmu.de", title="Studentin", company="LMU München"),
     [form(at(1, 20, 11), "Contact Sales", "Hallo, ich schreibe meine Masterarbeit über Lead-Routing. Hätten Sie "
                                           "Zeit für ein kurzes Interview?")], Rule.STUDENT_JOB_WORDING),
    (lead("tom.becker@gmail.com", title=None, company=None),
     [visit(at(0, 21, 0), "/careers", "Careers"), visit(at(0, 21, 2), "/careers/sdr-berlin", "SDR, Berlin"),
      form(at(0, 21, 9), "Contact us", "Hi! Are you hiring SDRs in Berlin? Attached is my resume.")],
     Rule.STUDENT_JOB_WORDING),
    (lead("camille.martin@etu.univ-lyon1.fr", title="Étudiante en master marketing", company="Université Lyon 1"),
     [form(at(2, 14, 0), "Demander une démo", "Bonjour, je cherche un stage de fin d'études en marketing B2B.")],
     Rule.STUDENT_JOB_WORDING),
    (lead("pablo.ruiz@alumnos.upm.es", title=None, company="UPM"),
     [form(at(3, 11, 0), "Contact Sales", "Hola, estoy haciendo mi TFG sobre CRM, ¿me podrían ayudar?")],
     Rule.STUDENT_JOB_WORDING),
    (lead("s.okafor@outlook.com", title="Marketing Intern", company="Brightforge"),
     [form(at(1, 12, 0), "Request a demo", "")], Rule.STUDENT_TITLE),
    (lead("j.nguyen@stanford.edu", title=None, company="Stanford"), [form(at(1, 12, 0), "Request a demo", "demo pls")],
     Rule.STUDENT_ACADEMIC_DOMAIN),
    (lead("m.clarke@ucl.ac.uk", title="MSc candidate", company=None), [], Rule.STUDENT_ACADEMIC_DOMAIN),
    (lead("ana@uni-heidelberg.de", title=None, company=None), [], Rule.STUDENT_ACADEMIC_DOMAIN),
    (lead("k.tan@student.unimelb.edu.au", title=None, company=None), [], Rule.STUDENT_ACADEMIC_DOMAIN),
    (lead("r.baker@gmail.com", title=None, company=None),
     [visit(at(0, 19, 0), "/careers", "Careers"), visit(at(1, 19, 5), "/careers/account-executive-emea"),
      visit(at(1, 19, 9), "/about", "About us"), ActivityView("web_visit", at(2, 20, 0),
                                                               url="https://boards.greenhouse.io/ourco/jobs/4412")],
     Rule.STUDENT_CAREERS_PAGES),
])
def test_students_and_job_seekers_go_to_careers(person, history, rule):
    result = decide(person, history)
    assert (result.verdict, result.category, result.rule, result.destination, result.delivery) == (
        Verdict.NOT_A_BUYER, Category.STUDENT_OR_JOBSEEKER, rule, Destination.CAREERS, Delivery.ROUTE)
    assert not result.pages_rep and result.reason


@pytest.mark.parametrize(("person", "history"), [
    # An edtech buyer with "student" in the title, at a university: staff, not a student.
    (lead("p.owens@asu.edu", title="Director of Student Success", company="Arizona State University"),
     [form(at(1, 10, 0), "Request a demo", "We need routing for 30 advisors.")]),
    (lead("h.weber@brightforge.example", title="Head of Talent Acquisition"),
     [form(at(1, 10, 0), "Contact Sales", "We're hiring 40 SDRs next quarter and need onboarding playbooks.")]),
    (lead(title="International Sales Director"), [form(at(1, 10, 0), "Contact Sales", "Best practices (buenas "
                                                                                       "prácticas) for routing?")]),
    # A buyer who glanced at the careers page once, among pricing and product pages.
    (lead(), [*buyer_week(), visit(at(2, 14, 20), "/careers", "Careers")]),
    (lead("ops@unilever.example", title="Sales Ops Manager", company="Unilever"), []),
    (lead("d.sato@unity3d.example", title="RevOps", company="Unity"), []),
])
def test_buyers_who_look_like_students_are_not(person, history):
    assert decide(person, history).verdict is None


@pytest.mark.parametrize("words", [
    "Hi, I noticed your website isn't ranking on the first page of Google for 'lead routing'. We can fix that in 30 "
    "days.",
    "We are a lead generation agency. We can book you 20 qualified meetings per month, guaranteed.",
    "Hello, we provide high-quality backlinks and guest posts on DA 70+ sites.",
    "Dear team, I'd like to explore a partnership opportunity: our offshore development team can scale your roadmap.",
    "Wir sind eine SEO-Agentur aus Köln. Wir helfen Ihnen, auf Seite 1 bei Google zu ranken. Kostenlose Analyse?",
    "Bonjour, nous sommes une agence de prospection. Nos clients obtiennent 3x plus de rendez-vous. Proposition de "
    "partenariat ?",
    "Hola, somos una agencia de marketing. Ayudamos a empresas SaaS como la suya: posicionamiento SEO y más.",
])
def test_vendor_pitches_go_to_partnerships(words):
    result = decide(lead("outreach@growthly-agency.example", title="Business Development", company="Growthly"),
                    [form(at(2, 3, 14), "Contact Sales", words)])
    assert (result.category, result.rule, result.destination) == (
        Category.VENDOR_PITCH, Rule.VENDOR_PITCH, Destination.PARTNERSHIPS)
    assert result.reason.startswith("pitching us on the Contact Sales form, Nov 25, 2026: “")


@pytest.mark.parametrize("words", [
    "We're a digital marketing agency with 40 clients and need pricing for 40 seats.",
    "We work with an SEO agency today and need better attribution for the leads they send us.",
    "We could generate more pipeline if our reps saw context faster. Demo?",
])
def test_agencies_that_want_to_buy_are_briefed(words):
    assert decide(lead(), [form(at(2, 10, 0), "Request a demo", words)]).verdict is None


def test_configured_competitors_by_domain_and_name():
    policy = TriagePolicy(competitor_names=("Pipeflow",), competitor_domains=("leadzap.example",))
    by_domain = decide(lead("m.ortiz@eu.leadzap.example", title="Product Manager", company="LeadZap"), buyer_week(),
                       policy)
    assert (by_domain.category, by_domain.rule, by_domain.destination) == (
        Category.COMPETITOR, Rule.COMPETITOR_LISTED, Destination.MARKETING)
    assert by_domain.reason == ("works at a competitor: their address is at eu.leadzap.example, listed in "
                                "triage.competitors")
    by_name = decide(lead("gwen@gmail.com", company="Pipeflow Germany GmbH"), buyer_week(), policy)
    assert by_name.rule == Rule.COMPETITOR_LISTED
    assert decide(lead("gwen@pipeflow.example", company=None), [], policy).rule == Rule.COMPETITOR_LISTED


def test_competitors_from_our_own_comparison_pages():
    slugs = comparison_slugs([SITE + "/compare/hubspot", SITE + "/vs/outreach-io", SITE + "/salesloft-alternative",
                              SITE + "/compare/ourco-vs-apollo", SITE + "/compare/plans", SITE + "/pricing"],
                             own_names=("OurCo",))
    assert slugs == {"hubspot", "outreachio", "salesloft", "apollo"}
    pm = decide(lead("priya@salesloft.example", title="Senior Product Manager", company="Salesloft"), [],
                comparison_slugs=slugs)
    assert (pm.rule, pm.category, pm.finding.evidence) == (Rule.COMPETITOR_COMPARISON_PAGE, Category.COMPETITOR,
                                                          "salesloft")
    assert pm.reason == "works at a competitor: Salesloft (salesloft.example) matches one of our comparison pages " \
                        "(“salesloft”)"
    # The lead's own visits count too; a HubSpot *customer* on the HubSpot comparison page is a buyer.
    assert decide(lead("kai@hubspot.example", company="HubSpot, Inc."), buyer_week()).rule == \
        Rule.COMPETITOR_COMPARISON_PAGE
    assert decide(lead(), buyer_week()).verdict is None
    # Off by configuration.
    assert decide(lead("kai@hubspot.example", company="HubSpot"), buyer_week(),
                  TriagePolicy(competitors_from_comparison_pages=False)).verdict is None


def test_company_and_domain_keys():
    assert company_key("HubSpot Germany GmbH") == "hubspot"
    assert company_key("monday.com Ltd") == "monday"
    assert company_key("Monday Coffee Roasters") == "mondaycoffeeroasters"
    assert domain_label("mail.hubspot.com") == "hubspot" and domain_label("acme.co.uk") == "acme"
    assert is_academic_domain("ucl.ac.uk") and is_academic_domain("mit.edu") and is_academic_domain("unsw.edu.au")
    assert not is_academic_domain("unilever.com") and not is_academic_domain("education-cloud.example")


def test_a_customer_is_never_not_a_buyer_but_can_still_ask_not_to_be_contacted():
    customer = lead("it-procurement@asu.edu", title=None, company="Arizona State University", is_customer=True)
    assert decide(customer, buyer_week(), reason="re_engaged").verdict is None
    assert decide(customer, [form(at(1, 9, 0), "Contact us", "Please remove me from your mailing list")]).verdict is \
        Verdict.DO_NOT_CONTACT


def test_do_not_contact_comes_before_not_a_buyer_and_the_others_are_kept():
    result = decide(lead("ali@growthly-agency.example", title="Marketing Intern"),
                    [form(at(1, 9, 0), "Contact us", "We noticed your website could rank higher. Reply STOP to opt "
                                                     "out. If you are not interested, remove me from your list.")])
    assert result.rule == Rule.DNC_REQUEST
    assert [f.rule for f in result.also] == [Rule.VENDOR_PITCH, Rule.STUDENT_TITLE]


def test_destinations_follow_the_policy():
    policy = TriagePolicy(competitor_destination=Destination.MANAGER, student_destination=Destination.MARKETING)
    assert decide(lead("x@leadzap.example"), [], TriagePolicy(competitor_domains=("leadzap.example",),
                                                             competitor_destination=Destination.MANAGER)
                  ).destination is Destination.MANAGER
    assert decide(lead("a@mit.edu", title=None), [], policy).destination is Destination.MARKETING


def test_disabled_rules_do_not_fire():
    person = lead("a@mit.edu", title=None)
    assert decide(person, []).rule == Rule.STUDENT_ACADEMIC_DOMAIN
    assert decide(person, [], TriagePolicy(disabled_rules=frozenset({Rule.STUDENT_ACADEMIC_DOMAIN}))).verdict is None
    assert decide(person, [], TriagePolicy(enabled=False)).verdict is None


# --- flags ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("email", "company", "rules", "first"), [
    ("dana.whitfield@gmail.com", "Brightforge Robotics", [Rule.FLAG_FREE_MAIL],
     "Personal address (gmail.com): the company, Brightforge Robotics, comes from the form and is unverified."),
    ("jurgen.maier@web.de", None, [Rule.FLAG_FREE_MAIL],
     "Personal address (web.de): no company was given."),
    ("throwaway99@mailinator.com", "Acme", [Rule.FLAG_DISPOSABLE_MAIL],
     "Throwaway address (mailinator.com): the company, Acme, comes from the form and is unverified."),
    ("info@brightforge.example", "Brightforge Robotics", [Rule.FLAG_ROLE_INBOX],
     "Shared inbox (info@): whoever reads it may not be the person who asked; the company, Brightforge Robotics, "
     "comes from the form and is unverified."),
    ("ventas+web@orange.fr", "Tienda SL", [Rule.FLAG_FREE_MAIL, Rule.FLAG_ROLE_INBOX], None),
    ("dana.whitfield@brightforge.example", "Brightforge", [], None),
    ("information.security.lead@brightforge.example", "Brightforge", [], None),
])
def test_personal_and_shared_addresses_are_flagged_not_dropped(email, company, rules, first):
    result = decide(lead(email, company=company), buyer_week())
    assert result.delivery is Delivery.PAGE and [f.rule for f in result.flags] == rules
    if first:
        assert result.flags[0].reason == first


def test_the_free_mail_list_can_be_corrected():
    person = lead("ceo@att.net", company="AT&T")
    assert [f.rule for f in address_flags(person)] == [Rule.FLAG_FREE_MAIL]
    assert address_flags(person, TriagePolicy(not_free_mail_domains=("att.net",))) == []
    assert [f.rule for f in address_flags(lead("x@family-mail.example"),
                                          TriagePolicy(free_mail_domains=("family-mail.example",)))] == [
        Rule.FLAG_FREE_MAIL]


# --- overrides -----------------------------------------------------------------------------------------------

def test_an_override_briefs_the_lead_as_usual_and_reports_what_it_set_aside():
    person = lead("j.nguyen@stanford.edu", title="Director of IT Procurement", company="Stanford")
    student = lead("j.nguyen@stanford.edu", title=None, company="Stanford")
    history = [form(at(1, 12, 0), "Request a demo", "demo pls")]
    assert decide(person, history).verdict is None  # staff title: not a student in the first place
    closed = decide(student, history)
    assert closed.rule == Rule.STUDENT_ACADEMIC_DOMAIN
    click = Override(by="U0MANAGER", at=at(1, 12, 30))
    result = decide(student, history, override=click)
    assert (result.verdict, result.delivery, result.pages_rep) == (None, Delivery.PAGE, True)
    assert [f.rule for f in result.overridden] == [Rule.STUDENT_ACADEMIC_DOMAIN]


def test_an_override_does_not_cover_a_removal_request_sent_after_it():
    history = [form(at(1, 9, 0), "Contact us", "Please stop contacting me.")]
    click = Override(by="U0REP", at=at(1, 10, 0))
    assert decide(lead(), history, override=click).verdict is None
    later = [*history, form(at(3, 9, 0), "Contact us", "I said: do not contact me again.")]
    result = decide(lead(), later, override=click)
    assert result.rule == Rule.DNC_REQUEST and result.finding.at == at(3, 9, 0)
    assert [f.at for f in result.overridden] == [at(1, 9, 0)]


def test_an_override_of_one_rule_leaves_the_others():
    person = lead("a@mit.edu", title=None)
    history = [form(at(1, 9, 0), "Contact us", "Remove me from your list")]
    only_student = Override(by="U0REP", at=NOW, rules=frozenset({Rule.STUDENT_ACADEMIC_DOMAIN}))
    result = decide(person, history, override=only_student)
    assert result.rule == Rule.DNC_REQUEST and [f.rule for f in result.overridden] == [Rule.STUDENT_ACADEMIC_DOMAIN]


# --- text and findings ---------------------------------------------------------------------------------------

def test_fold_text():
    assert fold_text("  Arrêtez   de m’envoyer\n\n des e-mails  ") == "arretez de m'envoyer\ndes e-mails"
    assert fold_text("Löschen Sie GROẞE Daten") == "loschen sie grosse daten"


def test_findings_know_their_verdict_and_category():
    assert Finding(Rule.DNC_CRM_FLAG, "x").verdict is Verdict.DO_NOT_CONTACT
    assert Finding(Rule.COMPETITOR_LISTED, "x").category is Category.COMPETITOR
    assert Finding(Rule.FLAG_FREE_MAIL, "x").verdict is None and Finding("custom", "x").category is None


def test_lead_words_are_data():
    result = decide(lead(), [form(at(1, 9, 0), "Contact us", "<@U0ALL> *unsubscribe me* <!channel>")])
    assert result.finding.evidence == "<@U0ALL> *unsubscribe me* <!channel>"  # quoted as typed; the renderer escapes


def test_hand_raiser_forms_come_from_the_rules():
    history = [form(at(0, 9, 0), "Newsletter preferences", "remove me"),
               form(at(3, 15, 0), "Talk to a human", "We are evaluating, call me.")]
    assert decide(lead(), history).verdict is Verdict.DO_NOT_CONTACT  # not a hand-raiser form by default
    custom = Rules(hand_raiser_forms=("talk to a human",))
    assert triage(TriageInput(lead(), history, reason="hand_raiser"), DEFAULT_POLICY, custom).verdict is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_the_folded_form_text_and_its_map_agree_with_fold_text(text):
    folded, where = _fold_mapped(text)
    assert folded == fold_text(text) and len(where) == len(folded)
    assert all(0 <= i < len(text) for i in where) and where == sorted(where)


@settings(max_examples=150, deadline=None)
@given(comments=st.text(max_size=300), email=st.emails(), title=st.none() | st.text(max_size=40),
       url=st.text(max_size=80))
def test_triage_takes_any_text(comments, email, title, url):
    history = [form(at(1, 9, 0), "Contact Sales", comments), ActivityView("web_visit", at(1, 8, 0), url=url),
               ActivityView("email_open", at(1, 7, 0), properties={"ip": url, "user_agent": comments[:40]})]
    result = decide(LeadView(email=email, title=title, company=comments[:30] or None), history,
                    comparison_slugs=comparison_slugs([url]))
    assert result.delivery in tuple(Delivery)
    if result.finding and result.finding.evidence and result.verdict and result.finding.at:
        assert result.finding.evidence.rstrip("…") in " ".join(comments.split())


def test_a_week_of_qualified_leads_at_a_real_company():
    """Monday to Friday, as the issue tried it: who is paged, who is closed, routed or left to the digest."""
    slugs = comparison_slugs([SITE + "/compare/leadzap", SITE + "/pipeflow-alternative"])
    week = {
        "buyer": (lead(), [*buyer_week(), form(at(4, 10, 31), "Contact Sales", "Need pricing for 40 reps, Q1.")],
                  "hand_raiser", {}),
        "complaint": (lead("r.haas@haas-logistik.example", first_name="Ralf", title="Geschäftsführer"),
                      [*newsletter(at(0, 7, 0), "Ihr November-Update", "88190", timedelta(hours=3)),
                       form(at(0, 11, 5), "Kontakt Vertrieb", "Ich habe mich nie angemeldet. Beim nächsten Mal gibt "
                                                              "es eine Beschwerde beim Datenschutzbeauftragten!")],
                      "hand_raiser", {}),
        "proxy opens": (lead("m.lambert@cabinet-lambert.example", title="Associée"),
                        [row for i in range(6) for row in newsletter(at(i % 5, 7, 0) - timedelta(weeks=i // 5),
                                                                     f"Lettre n°{40 + i}", f"77{i}",
                                                                     timedelta(seconds=2), user_agent="Mozilla/5.0")],
                        "score_threshold", {}),
        "student": (lead("lucia.fernandez@estudiantes.uv.es", title="Estudiante", company="Universitat de València"),
                    [visit(at(2, 22, 14), "/blog/que-es-un-mql"),
                     form(at(2, 22, 20), "Solicitar demo", "Hola! Estoy haciendo mi TFM sobre automatización de "
                                                           "marketing, ¿podría entrevistarles?")],
                    "hand_raiser", {}),
        "seo agency": (lead("growth@rankrocket.example", title="Founder", company="RankRocket"),
                       [form(at(3, 4, 2), "Request a demo", "Hi team, I noticed your website is not on the first page "
                                                            "of Google for 'speed to lead'. Free audit?")],
                       "hand_raiser", {}),
        "competitor": (lead("o.grant@leadzap.example", title="Product Marketing Manager", company="LeadZap Inc."),
                       [visit(at(1, 15, 0), "/pricing"), visit(at(1, 15, 4), "/product/briefs")],
                       "score_threshold", {}),
        "gmail founder": (lead("sam.okoro.founder@gmail.com", title="Founder", company="Okoro Freight"),
                          [visit(at(3, 9, 0), "/pricing"), form(at(3, 9, 4), "Book a demo", "3 reps, want a demo.")],
                          "hand_raiser", {}),
        "do not call": (lead("buyer@brightforge.example"), buyer_week(), "score_threshold", {"DoNotCall": "true"}),
    }
    outcome = {name: triage(TriageInput(person, history, reason=reason, crm_fields=crm, comparison_slugs=slugs))
               for name, (person, history, reason, crm) in week.items()}
    assert {name: (r.delivery, r.rule) for name, r in outcome.items()} == {
        "buyer": (Delivery.PAGE, None),
        "complaint": (Delivery.CLOSE, Rule.DNC_COMPLAINT),
        "proxy opens": (Delivery.DIGEST_LINE, Rule.MACHINE_ONLY),
        "student": (Delivery.ROUTE, Rule.STUDENT_JOB_WORDING),
        "seo agency": (Delivery.ROUTE, Rule.VENDOR_PITCH),
        "competitor": (Delivery.ROUTE, Rule.COMPETITOR_COMPARISON_PAGE),
        "gmail founder": (Delivery.PAGE, None),
        "do not call": (Delivery.CLOSE, Rule.DNC_CRM_FLAG),
    }
    assert [f.rule for f in outcome["gmail founder"].flags] == [Rule.FLAG_FREE_MAIL]
    assert outcome["proxy opens"].touches.summary() == "0 human touches (6 machine opens left out)"
    assert [name for name, r in outcome.items() if r.pages_rep] == ["buyer", "gmail founder"]


def test_an_intern_in_lead_generation_is_still_an_intern():
    assert decide(lead(title="Lead Generation Intern"), []).rule == Rule.STUDENT_TITLE
