"""Which events need their lead's row and which leads may qualify: the domain's answer storage asks for."""

from datetime import timedelta

from briefs.qualification import (
    Decision,
    Explicit,
    LeadChange,
    Reason,
    delivery_order,
    may_fire_on,
    may_qualify,
)
from briefs.signals import ActivityView, LeadView
from tests.support.factories import NOW, Events, parsed

LEAD = LeadView(email="a@b.co")
CUSTOMER = LeadView(email="a@b.co", is_customer=True)


def one(event: dict):
    return parsed([event])[0]


def test_forms_and_explicit_qualifications_may_fire_for_anyone():
    ev = Events()
    assert may_fire_on(one(ev.form("a@b.co", "Contact Sales")), is_customer=False)
    assert may_fire_on(one(ev.qualified("a@b.co", "manual")), is_customer=False)


def test_engagement_may_fire_only_for_customers():
    ev = Events()
    visit = one(ev.visit("a@b.co", "https://acme.example/pricing", timedelta(hours=1)))
    assert not may_fire_on(visit, is_customer=False)
    assert may_fire_on(visit, is_customer=True)
    # Our own sends are not engagement: no rule fires on them.
    assert not may_fire_on(one(ev.activity("a@b.co", "email_sent")), is_customer=True)


def test_notes_and_profile_changes_are_not_events_a_rule_fires_on():
    ev = Events()
    assert not may_fire_on(one(ev.note("a@b.co", "jane", "hello")), is_customer=True)
    # A profile change qualifies through the row it changes (score, stage), not as an event.
    assert not may_fire_on(one(ev.upsert("a@b.co", score=10)), is_customer=True)


def test_may_qualify_reads_what_the_batch_changed():
    visit = ActivityView(kind="web_visit", occurred_at=NOW)
    form = ActivityView(kind="form_submit", occurred_at=NOW, form="Contact Sales")
    assert not may_qualify(LeadChange(lead=LEAD))
    assert not may_qualify(LeadChange(lead=LEAD, new_activities=[visit]))
    assert may_qualify(LeadChange(lead=CUSTOMER, new_activities=[visit]))
    assert may_qualify(LeadChange(lead=LEAD, new_activities=[form]))
    assert may_qualify(LeadChange(lead=LEAD, score_changed_at=NOW))
    assert may_qualify(LeadChange(lead=LEAD, stage_changed_at=NOW))
    assert may_qualify(LeadChange(lead=LEAD, explicit=[Explicit(Reason.MANUAL, NOW)]))


def test_briefs_are_queued_hand_raisers_first_then_freshest():
    def decision(reason: str, ago: timedelta) -> Decision:
        return Decision(reason, "", NOW - ago, "")

    older_score = decision(Reason.SCORE_THRESHOLD, timedelta(hours=2))
    newer_score = decision(Reason.SCORE_THRESHOLD, timedelta(hours=1))
    old_hand = decision(Reason.HAND_RAISER, timedelta(hours=5))
    ordered = sorted([older_score, newer_score, old_hand], key=delivery_order)
    assert ordered == [old_hand, newer_score, older_score]


def test_reasons_keep_their_stored_strings():
    assert [r.value for r in Reason] == ["score_threshold", "hand_raiser", "lifecycle_change", "re_engaged", "manual"]
    assert Reason.HAND_RAISER == "hand_raiser"
