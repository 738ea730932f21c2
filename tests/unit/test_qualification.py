"""Qualification rules, pure: one batch's change to one lead in, a decision (or none) out."""

from datetime import timedelta

import pytest

from briefs.qualification import Explicit, LeadChange, decide
from briefs.rules import Rules, RulesError
from briefs.signals import ActivityView, LeadView, is_hand_raiser_form, normalise_stage
from tests.support.factories import NOW

RULES = Rules()
LEAD = LeadView(email="a@b.co", first_name="Ann")


def change(**kw) -> LeadChange:
    return LeadChange(lead=kw.pop("lead", LEAD), **kw)


def test_score_crossing_the_threshold_qualifies_once():
    lead = LeadView(email="a@b.co", score=110)
    d = decide(change(lead=lead, previous_score=90, score_changed_at=NOW), RULES, NOW)
    assert d.reason == "score_threshold" and d.detail == "lead score crossed 100 (now 110)"
    # Already above the threshold: a further increase is not a crossing.
    assert decide(change(lead=lead, previous_score=105, score_changed_at=NOW), RULES, NOW) is None
    # Below the threshold: nothing.
    low = LeadView(email="a@b.co", score=99)
    assert decide(change(lead=low, previous_score=10, score_changed_at=NOW), RULES, NOW) is None


def test_threshold_comes_from_the_rules():
    lead = LeadView(email="a@b.co", score=60)
    assert decide(change(lead=lead, previous_score=40, score_changed_at=NOW), Rules(score_threshold=50), NOW)
    assert decide(change(lead=lead, previous_score=40, score_changed_at=NOW), RULES, NOW) is None


@pytest.mark.parametrize("raw", ["MQL", "marketingqualifiedlead", "Marketing Qualified Lead", "salesqualifiedlead", "SQL"])
def test_lifecycle_to_mql_or_sql_qualifies_in_any_spelling(raw):
    stage = normalise_stage(raw)
    lead = LeadView(email="a@b.co", lifecycle_stage=stage)
    d = decide(change(lead=lead, previous_stage="lead", stage_changed_at=NOW), RULES, NOW)
    assert d.reason == "lifecycle_change"
    assert d.detail.startswith(f"lifecycle stage became {stage.upper()}")


def test_lifecycle_to_other_stages_does_not_qualify():
    lead = LeadView(email="a@b.co", lifecycle_stage="opportunity")
    assert decide(change(lead=lead, previous_stage="sql", stage_changed_at=NOW), RULES, NOW) is None


@pytest.mark.parametrize("form,expected", [
    ("Contact Sales", True), ("CONTACT SALES - EMEA", True), ("request-a-demo", True), ("Talk to Sales", True),
    ("Newsletter signup", False), ("Webinar registration", False), (None, False),
])
def test_hand_raiser_forms_match_case_insensitively(form, expected):
    assert is_hand_raiser_form(form, RULES.hand_raiser_forms) is expected
    act = ActivityView("form_submit", NOW - timedelta(minutes=1), form=form)
    d = decide(change(new_activities=[act]), RULES, NOW)
    assert (d is not None and d.reason == "hand_raiser") is expected


def test_explicit_qualification_wins_and_keeps_its_note():
    act = ActivityView("form_submit", NOW, form="Contact Sales")
    ex = Explicit("manual", NOW - timedelta(minutes=5), note="Met at the booth", source="hubspot")
    d = decide(change(new_activities=[act], explicit=[ex]), RULES, NOW)
    assert (d.reason, d.note) == ("manual", "Met at the booth")


def test_open_qualification_blocks_a_new_episode_until_it_expires():
    act = ActivityView("form_submit", NOW, form="Contact Sales")
    assert decide(change(new_activities=[act], open_since=NOW - timedelta(days=2)), RULES, NOW) is None
    assert decide(change(new_activities=[act], open_since=NOW - timedelta(days=31)), RULES, NOW).reason == "hand_raiser"


def test_stale_triggers_are_recorded_but_do_not_page_a_rep():
    old = ActivityView("form_submit", NOW - timedelta(days=10), form="Contact Sales")
    assert decide(change(new_activities=[old]), RULES, NOW) is None
    assert decide(change(new_activities=[old]), Rules(trigger_max_age_hours=24 * 30), NOW) is not None


def test_customer_re_engaging_after_a_quiet_spell():
    customer = LeadView(email="c@d.co", is_customer=True)
    recent = [NOW - timedelta(days=d) for d in (5, 3, 1)]
    history = [NOW - timedelta(days=200), *recent]
    acts = [ActivityView("web_visit", t, url="https://x/p") for t in recent]
    d = decide(change(lead=customer, new_activities=acts, touch_history=history), RULES, NOW)
    assert d.reason == "re_engaged"
    assert "6 months quiet" in d.detail and "3 touches in the last 7 days" in d.detail
    # Not quiet long enough before the burst:
    busy = [NOW - timedelta(days=30), *recent]
    assert decide(change(lead=customer, new_activities=acts, touch_history=busy), RULES, NOW) is None
    # Too few touches in the window:
    assert decide(change(lead=customer, new_activities=acts[:2], touch_history=history[:3]), RULES, NOW) is None
    # Prospects are never "re-engaged customers":
    assert decide(change(new_activities=acts, touch_history=history), RULES, NOW) is None


def test_rules_file_errors_name_the_setting():
    with pytest.raises(RulesError, match=r"qualification\.score_threshold: expected a whole number"):
        Rules.from_mapping({"qualification": {"score_threshold": "high"}})
    with pytest.raises(RulesError, match=r"qualification\.scor is not a known setting"):
        Rules.from_mapping({"qualification": {"scor": 1}})
    with pytest.raises(RulesError, match=r"unknown section \[qualifcation\]"):
        Rules.from_mapping({"qualifcation": {}})
    rules = Rules.from_mapping({"qualification": {"hand_raiser_forms": ["Get Pricing"], "score_threshold": 80}})
    assert rules.hand_raiser_forms == ("get pricing",) and rules.score_threshold == 80
