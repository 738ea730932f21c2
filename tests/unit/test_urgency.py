"""Urgency follows the clock: "Call now" only while the hand-raiser's SLA clock runs in business hours; else when
to call and why, and a callback window the lead asked for moves the SLA's due time (and so its reminders)."""

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from briefs import model
from briefs.callback import CallbackWindow
from briefs.followthrough import FollowUpPolicy, asked_window
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.rules import Rules
from briefs.signals import ActivityView, LeadView, own_words
from briefs.sla import BriefClock, BusinessHours, call_urgency, honour_window, in_business_hours

BERLIN = ZoneInfo("Europe/Berlin")
PARIS = ZoneInfo("Europe/Paris")
CLOCK = BriefClock(BusinessHours(time(9), time(17)), "Europe/Berlin", 5)
RULES = Rules(clock=CLOCK)
FRI_NIGHT = datetime(2026, 11, 20, 23, 4, tzinfo=BERLIN)  # a Friday
MON_MORNING_WINDOW = CallbackWindow(datetime(2026, 11, 23, 9, tzinfo=PARIS), datetime(2026, 11, 23, 11, tzinfo=PARIS),
                                    "Europe/Paris", "lundi 9h-11h")
SOPHIE = LeadView(email="sophie.martin@logistique.example", first_name="sophie", last_name="Martin",
                  company="Martin Logistique SAS", owner_email="rep@ourco.example")
COMMENT = ("Bonjour, nous avons 14 entrepôts et notre WMS arrive en fin de contrat en mars. "
           "Je suis disponible lundi entre 9h et 11h. Cordialement, Sophie Martin")


def brief_at(now, submitted, monkeypatch, window=None, lead=SOPHIE):
    real = own_words
    monkeypatch.setattr(model, "own_words", lambda a: replace(real(a), language="fr", callback=window))
    acts = [ActivityView("form_submit", submitted, form="Contact Sales", comments=COMMENT)]
    q = QualificationView("hand_raiser", "filled in the Contact Sales form", submitted, submitted, id=3)
    return build_brief(BriefInput(lead, acts, [], q, now), RULES)


def test_friday_night_form_says_when_to_call_not_call_now(monkeypatch):
    brief = brief_at(FRI_NIGHT + timedelta(minutes=2), FRI_NIGHT, monkeypatch)
    assert "Call now" not in brief.why_now
    assert "Outside business hours: came in Fri 23:04; due Mon 09:05 CET." in brief.why_now


def test_friday_night_form_with_a_monday_window(monkeypatch):
    brief = brief_at(FRI_NIGHT + timedelta(minutes=2), FRI_NIGHT, monkeypatch, MON_MORNING_WINDOW)
    assert "Call now" not in brief.why_now
    assert ("Wait for their window: came in Fri 23:04; due Mon 09:05 CET; Sophie asked for Mon 09:00–11:00 CET."
            in brief.why_now)
    assert brief.language_line == "🇫🇷 Wrote in French: call in French, mornings (CET)"


def test_business_hours_form_says_call_now(monkeypatch):
    submitted = datetime(2026, 11, 24, 10, 12, tzinfo=BERLIN)  # a Tuesday
    brief = brief_at(submitted + timedelta(minutes=1), submitted, monkeypatch)
    assert "Call now: a call within 5 minutes" in brief.why_now
    # the status line and why-now agree on when it happened
    assert "qualified 1 min ago" in brief.status_line and "1 min ago." in brief.why_now


def test_business_hours_but_the_lead_asked_for_tomorrow(monkeypatch):
    submitted = datetime(2026, 11, 23, 14, 0, tzinfo=BERLIN)  # Monday afternoon
    tomorrow = CallbackWindow(datetime(2026, 11, 24, 9, tzinfo=PARIS), datetime(2026, 11, 24, 11, tzinfo=PARIS),
                              "Europe/Paris", "demain matin")
    brief = brief_at(submitted + timedelta(minutes=1), submitted, monkeypatch, tomorrow)
    assert "Call now" not in brief.why_now
    assert "Wait for their window: came in Mon 14:00; due Tue 09:05 CET; Sophie asked for Tue 09:00–11:00 CET." \
        in brief.why_now


def test_window_open_now_in_business_hours_says_call_now(monkeypatch):
    now = datetime(2026, 11, 23, 9, 20, tzinfo=PARIS)
    brief = brief_at(now, FRI_NIGHT, monkeypatch, MON_MORNING_WINDOW)
    assert "Call now: Sophie asked for Mon 09:00–11:00 CET, and that is now." in brief.why_now


def test_a_customer_or_an_unknown_clock_is_never_rushed(monkeypatch):
    customer = replace(SOPHIE, is_customer=True)
    brief = brief_at(FRI_NIGHT + timedelta(minutes=2), FRI_NIGHT, monkeypatch, lead=customer)
    assert "Call now" not in brief.why_now and "due Mon" not in brief.why_now


def test_a_late_read_trigger_says_both_times():
    submitted = datetime(2026, 11, 20, 23, 4, tzinfo=BERLIN)
    q = QualificationView("hand_raiser", "filled in the Contact Sales form", submitted, submitted + timedelta(hours=3),
                          id=4)
    acts = [ActivityView("form_submit", submitted, form="Contact Sales", comments="Please call me.")]
    brief = build_brief(BriefInput(SOPHIE, acts, [], q, submitted + timedelta(hours=3, minutes=1)), RULES)
    assert "qualified 1 min ago: filled in the Contact Sales form, 3 hours ago" in brief.status_line
    assert "Filled in the Contact Sales form, 3 hours ago." in brief.why_now


@pytest.mark.parametrize(("due", "expected"), [
    (datetime(2026, 11, 23, 9, 5, tzinfo=BERLIN), datetime(2026, 11, 23, 9, 5, tzinfo=BERLIN)),  # inside: as is
    (datetime(2026, 11, 20, 16, 0, tzinfo=BERLIN), datetime(2026, 11, 23, 9, 5, tzinfo=PARIS)),  # before: into it
    (datetime(2026, 11, 23, 12, 0, tzinfo=BERLIN), datetime(2026, 11, 23, 12, 0, tzinfo=BERLIN)),  # after it: as is
])
def test_honour_window(due, expected):
    assert honour_window(due, MON_MORNING_WINDOW, 5) == expected
    assert honour_window(due, None, 5) == due


def test_follow_up_due_and_reminders_wait_for_the_window():
    policy = FollowUpPolicy(hours=BusinessHours(time(9), time(17)), timezone="Europe/Berlin")
    evening = CallbackWindow(datetime(2026, 11, 24, 18, tzinfo=PARIS), datetime(2026, 11, 24, 19, tzinfo=PARIS),
                             "Europe/Paris", "après 18h")
    submitted = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)
    assert policy.due("hand_raiser", submitted, BERLIN) == datetime(2026, 11, 24, 10, 5, tzinfo=BERLIN)
    # Asked for 18:00-19:00, outside business hours: due at 18:05, not at 10:05 (no reminder before it opens).
    assert policy.due("hand_raiser", submitted, BERLIN, evening) == datetime(2026, 11, 24, 18, 5, tzinfo=PARIS)
    assert policy.brief_clock() == BriefClock(policy.hours, "Europe/Berlin", 5)


def test_asked_window_reads_the_newest_hand_raiser_form(monkeypatch):
    real = own_words
    monkeypatch.setattr("briefs.followthrough.own_words",
                        lambda a: replace(real(a), callback=MON_MORNING_WINDOW if "lundi" in (a.comments or "") else None))
    forms = [ActivityView("form_submit", FRI_NIGHT, form="Contact Sales", comments=COMMENT.replace("lundi", "Lundi")),
             ActivityView("form_submit", FRI_NIGHT - timedelta(days=1), form="Contact Sales", comments=COMMENT),
             ActivityView("form_submit", FRI_NIGHT + timedelta(hours=1), form="Newsletter", comments="lundi")]
    # the newest hand-raiser form says nothing the stub reads as a window (it is case-sensitive): none
    assert asked_window(forms, Rules(), FRI_NIGHT) is None
    assert asked_window(forms[1:], Rules(), FRI_NIGHT) == MON_MORNING_WINDOW
    assert asked_window(forms[1:], Rules(), datetime(2026, 11, 23, 12, tzinfo=PARIS)) is None  # it has ended


def test_in_business_hours_and_urgency_text_directly():
    assert in_business_hours(datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN), BERLIN, CLOCK.hours)
    assert not in_business_hours(datetime(2026, 11, 23, 17, 0, tzinfo=BERLIN), BERLIN, CLOCK.hours)
    assert not in_business_hours(datetime(2026, 11, 21, 11, 0, tzinfo=BERLIN), BERLIN, CLOCK.hours)  # Saturday
    always = BriefClock(BusinessHours(always=True), "UTC", 5)
    assert call_urgency(FRI_NIGHT, FRI_NIGHT + timedelta(minutes=1), always).startswith("Call now")
    late = call_urgency(datetime(2026, 11, 20, 16, 58, tzinfo=BERLIN), datetime(2026, 11, 20, 17, 30, tzinfo=BERLIN), CLOCK)
    assert late == "Outside business hours: came in Fri 16:58; due Mon 09:03 CET."


def test_times_out_of_range_say_nothing_rather_than_fail():
    far = datetime(9999, 12, 31, 23, 59, tzinfo=ZoneInfo("UTC"))
    assert call_urgency(far, far, CLOCK) is None
    q = QualificationView("hand_raiser", "filled in the Contact Sales form", far, far)
    acts = [ActivityView("form_submit", far, form="Contact Sales", comments="Call me.")]
    brief = build_brief(BriefInput(SOPHIE, acts, [], q, FRI_NIGHT), RULES)
    assert "Call now" not in brief.why_now and "due" not in brief.why_now


def test_a_hand_raiser_looked_up_after_the_deadline_is_not_call_now(monkeypatch):
    # In business hours, but the 5-minute clock ran out an hour ago (a /lead lookup, a brief posted late):
    # "Call now … within 5 minutes" would be false; the brief says it is late and since when.
    submitted = datetime(2026, 11, 24, 10, 12, tzinfo=BERLIN)  # a Tuesday
    brief = brief_at(submitted + timedelta(hours=1), submitted, monkeypatch)
    assert "Call now" not in brief.why_now
    assert "Late: came in Tue 10:12; due Tue 10:17 CET (overdue)." in brief.why_now
