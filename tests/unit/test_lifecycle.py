"""briefs.lifecycle: a renewal at risk, a former customer's win-back episode, on histories as real traffic
reads (machine noise, other languages, old emails from before the churn)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from briefs.lifecycle import Risk, assess, came_back_at, churn_theme, money, risk_signals, what_changed
from briefs.signals import ActivityView, LeadView, NoteView

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


def d(days: float) -> datetime:
    return NOW - timedelta(days=days)


def page(url: str, days: float, title: str | None = None) -> ActivityView:
    return ActivityView("web_visit", d(days), url=url, properties={"page_title": title} if title else {})


HELEN = LeadView(email="helen.brandt@northwind.example", first_name="Helen", last_name="Brandt",
                 company="Northwind Traders", is_customer=True, customer_since="2022", nps=6,
                 renewal_date=date(2027, 1, 18), arr=48_000, currency="EUR", plan="Enterprise",
                 csm_email="carla.csm@ourco.example")
HELEN_PAGES = [
    page("https://ourco.example/docs/getting-started", 40),
    page("https://ourco.example/compare/ourco-vs-acmeforecast", 2, "OurCo vs AcmeForecast: an honest comparison"),
    page("https://ourco.example/pricing", 1),
    page("https://ourco.example/de/hilfe/vertrag-kuendigen", 3, "Vertrag kündigen – Hilfe"),
]


def test_a_detractor_reading_a_comparison_page_before_her_renewal_is_at_risk():
    life = assess(HELEN, HELEN_PAGES, [], [p.occurred_at for p in HELEN_PAGES], NOW, renewal_window_days=90,
                  quiet_days=90, unhappy_label="NPS 6, detractor")
    assert life.at_risk is not None and life.win_back is None
    assert life.at_risk.renewal.on == date(2027, 1, 18) and life.at_risk.renewal.days_left == 42
    assert life.at_risk.renewal.value == "€48,000 ARR, Enterprise plan"
    kinds = [s.risk for s in life.at_risk.signals]
    assert kinds == [Risk.UNHAPPY, Risk.COMPETITOR, Risk.CANCELLATION]
    assert life.at_risk.signals[1].text == "Read “OurCo vs AcmeForecast: an honest comparison” 2 days ago"
    assert "Vertrag kündigen" in life.at_risk.signals[2].text


def test_a_renewal_outside_the_window_or_no_risk_is_not_at_risk():
    far = LeadView(**{**HELEN.__dict__, "renewal_date": date(2027, 9, 1)})
    life = assess(far, HELEN_PAGES, [], [], NOW, renewal_window_days=90, quiet_days=90,
                  unhappy_label="NPS 6, detractor")
    assert life.at_risk is None and life.renewal is None
    happy = LeadView(**{**HELEN.__dict__, "nps": 9})
    calm = [page("https://ourco.example/docs/sso", 3), page("https://ourco.example/pricing", 2)]
    life = assess(happy, calm, [], [], NOW, renewal_window_days=90, quiet_days=90, unhappy_label=None)
    assert life.at_risk is None and life.renewal is not None and life.renewal.days_left == 42


def test_a_listed_competitor_named_in_a_page_title_and_the_csm_note_on_the_champion():
    pages = [page("https://ourco.example/blog/forecasting-tools-2026", 5, "Forecasting tools in 2026: Zentrix, "
                                                                          "AcmeForecast and us")]
    notes = [NoteView("Carla (CSM)", "Heads up: our champion Tom has left Northwind in October, "
                                     "talk to me before anyone calls her", d(6)),
             NoteView("Mia", "Met Helen at the Hamburg roadshow", d(30))]
    found = risk_signals(LeadView(**{**HELEN.__dict__, "nps": None}), pages, notes, NOW, unhappy_label=None,
                         competitor_names=["Zentrix GmbH"])
    assert [s.risk for s in found] == [Risk.COMPETITOR, Risk.CHAMPION_GONE]
    assert found[1].text == "Carla (CSM)'s note: the champion is gone"
    # A note about someone else leaving a meeting is not a lost champion.
    calm = [NoteView("Mia", "Helen left the webinar early, send her the recording", d(2))]
    assert risk_signals(HELEN, [], calm, NOW, unhappy_label=None) == ()


def test_marked_as_left_and_escalations_are_signals():
    gone = LeadView(**{**HELEN.__dict__, "left_company": True, "open_escalations": 2})
    found = risk_signals(gone, [], [], NOW, unhappy_label=None)
    assert [s.text for s in found] == ["The contact is marked in the CRM as gone from the company",
                                       "2 open support escalations"]


MARC = LeadView(email="m.keller@fabrikam.example", first_name="Marc", last_name="Keller", company="Fabrikam GmbH",
                former_customer=True, churned_on=date(2025, 6, 30),
                churn_reason="Preis zu hoch, zu Wettbewerber gewechselt")


def test_a_former_customer_coming_back_counts_only_this_episode():
    old_email = ActivityView("email_click", datetime(2024, 11, 2, tzinfo=UTC), subject="Your Q4 product update")
    after_churn_once = page("https://ourco.example/blog/spring-release", 400)  # one visit, then a year quiet
    now_pages = [page("https://ourco.example/de/preise", 3, "Preise & Pläne"),
                 page("https://ourco.example/de/preise", 1, "Preise & Pläne"),
                 page("https://ourco.example/integrations/sap-s4hana", 2, "Integrations › SAP S/4HANA"),
                 page("https://ourco.example/careers", 2)]
    history = [old_email, after_churn_once, *now_pages]
    touches = [a.occurred_at for a in history]
    life = assess(MARC, history, [], touches, NOW, renewal_window_days=90, quiet_days=90, unhappy_label=None)
    assert life.win_back is not None and life.at_risk is None
    assert life.win_back.came_back_at == d(3)
    assert life.win_back.changed == ("Preise & Pläne (2 visits)",)
    assert churn_theme(MARC.churn_reason) == "price"


def test_a_former_customer_quiet_since_churn_is_no_win_back():
    before = [datetime(2025, 5, 1, tzinfo=UTC)]
    assert came_back_at(before, date(2025, 6, 30), 90) is None
    life = assess(MARC, [], [], before, NOW, renewal_window_days=90, quiet_days=90, unhappy_label=None)
    assert life.win_back is None


def test_what_changed_follows_the_churn_reason():
    pages = [page("https://ourco.example/integrations/netsuite", 2, "NetSuite connector"),
             page("https://ourco.example/pricing", 1)]
    assert what_changed("Missing NetSuite integration", pages, d(10)) == ("NetSuite connector",)
    assert what_changed("Precio demasiado caro", pages, d(10)) == ("Pricing",)
    assert what_changed("Reorganisation", pages, d(10)) == ()


def test_money_in_words():
    assert money(48_000, "EUR") == "€48,000"
    assert money(1_250_000, "CHF") == "1,250,000 CHF"
    assert money(900, None) == "900"


# --- the two briefs of issue 19 -------------------------------------------------------------------------------

def _brief(lead, acts, notes=(), reason="score_threshold", detail="lead score crossed 100 (now 112)"):
    from briefs.model import BriefInput, QualificationView, build_brief
    from briefs.text import to_text_brief as to_text

    q = QualificationView(reason, detail, d(0.01), d(0.01), id=3)
    brief = build_brief(BriefInput(lead, list(acts), list(notes), q, NOW))
    return brief, to_text(brief)


def test_the_four_year_detractor_gets_an_at_risk_brief_for_her_csm_not_early_buyer_talk():
    helen = LeadView(**{**HELEN.__dict__, "customer_since": "2022", "owner_email": "jane@ourco.example",
                        "score": 112})
    acts = [*HELEN_PAGES, ActivityView("email_open", d(5), subject="Your December product digest"),
            ActivityView("content_download", d(9), title="Forecast accuracy benchmark 2026", asset_type="report")]
    notes = [NoteView("Carla Csm", "Talk to me before anyone calls her: the Q3 outage is still open.", d(4))]
    brief, text = _brief(helen, acts, notes)
    assert brief.episode == "at_risk" and brief.icon == "⚠️"
    assert (brief.deliver_to, brief.copy_to) == ("carla.csm@ourco.example", "jane@ourco.example")
    assert brief.warning.startswith("⚠️ Renewal at risk. Renews Jan 18, 2027 (in 6 weeks) · €48,000 ARR")
    assert "NPS 6, detractor" in brief.warning and "OurCo vs AcmeForecast" in brief.warning
    assert "early for a buyer" not in text and "cross-sell" not in text
    assert brief.talk_track.track == "at_risk"
    assert "renewal on Jan 18, 2027, not a sales call" in brief.talk_track.opener
    assert any("other options" in q for q in brief.talk_track.questions)
    assert brief.readiness.label == "Renewal at risk: buyer readiness does not apply"
    assert "CSM: carla.csm@ourco.example (the brief is with them; the owner is copied)" in brief.customer_lines
    # The warning comes right under the header, before why-now and the talk track.
    assert text.index("Renewal at risk") < text.index("Why now") < text.index("Talk track")


def test_the_customer_who_left_over_price_gets_a_win_back_brief_counting_only_this_episode():
    marc = LeadView(**{**MARC.__dict__, "owner_email": "omar@ourco.example", "title": "Leiter Einkauf"})
    history = [
        ActivityView("email_click", datetime(2024, 11, 2, tzinfo=UTC), subject="Your Q4 product update"),
        ActivityView("email_open", datetime(2024, 12, 1, tzinfo=UTC), subject="Renewal reminder"),
        page("https://ourco.example/de/preise", 3, "Preise & Pläne"),
        page("https://ourco.example/de/preise", 1, "Preise & Pläne"),
        page("https://ourco.example/integrations/sap-s4hana", 2, "Integrations › SAP S/4HANA"),
        ActivityView("email_open", d(2), subject="Was ist neu im Herbst-Release"),
    ]
    brief, text = _brief(marc, history)
    assert brief.episode == "win_back" and brief.talk_track.track == "win_back"
    assert brief.status_line.startswith("Former customer")
    assert brief.customer_lines[0] == "Former customer, left Jun 30, 2025: “Preis zu hoch, zu Wettbewerber gewechselt”"
    assert brief.readiness.touches == 4  # the 2024 emails are from before he left: not this episode
    assert "Preise & Pläne (2 visits)" in brief.customer_lines[2]
    assert "What got you looking" not in text
    assert "especially in pricing and plans" in brief.talk_track.opener
    assert "Preis zu hoch" in " ".join(brief.talk_track.questions)
    assert brief.deliver_to is None


def test_a_customer_far_from_renewal_keeps_the_expansion_track():
    happy = LeadView(**{**HELEN.__dict__, "nps": 10, "renewal_date": date(2027, 11, 1)})
    brief, _text = _brief(happy, [page("https://ourco.example/integrations/sap", 1)])
    assert brief.episode is None and brief.talk_track.track == "customer"
    assert any("cross-sell" in line for line in brief.customer_lines)


def test_a_note_asking_to_be_consulted_first_in_any_of_our_languages():
    from briefs.lifecycle import consult_first

    def note(body, ref="carla@ourco.example", days=1):
        return NoteView("Carla", body, d(days), role="csm", author_ref=ref)

    for body in ("Talk to me before anyone calls her: the Q3 outage is still open.",
                 "Bitte sprich zuerst mit mir, bevor jemand anruft.",
                 "Merci de me parler avant d'appeler le client, renouvellement sensible.",
                 "Antes de llamar, habla conmigo primero.",
                 "Please loop me in, renewal talks are delicate"):
        assert consult_first([note(body)], NOW) is not None, body
    calm = [note("Met her at the expo, budget approved"), note("Called her yesterday before lunch")]
    assert consult_first(calm, NOW) is None
    # Without a way to reach the author the brief cannot go to them.
    assert consult_first([note("Talk to me first", ref=None)], NOW) is None
    # A note from long ago is about another time.
    assert consult_first([note("Talk to me before anyone calls", days=120)], NOW) is None
    newest = consult_first([note("Talk to me first", "a@ourco.example", 5), note("Loop me in", "b@ourco.example", 1)],
                           NOW)
    assert newest is not None and newest.author_ref == "b@ourco.example"
    helen = LeadView(**{**HELEN.__dict__, "owner_email": "jane@ourco.example"})
    brief, _ = _brief(helen, HELEN_PAGES, [note("Talk to me before anyone calls her", "U0CARLA")])
    assert (brief.deliver_to, brief.copy_to) == ("U0CARLA", "jane@ourco.example")
    assert brief.flags[0] == "Talk to Carla (CSM) before any call: they asked to be consulted first."
