"""How ready a buyer is (briefs.readiness) and what kind of customer they are (briefs.customer)."""

from datetime import UTC, datetime, timedelta

import pytest

from briefs import customer, readiness
from briefs.rules import Rules
from briefs.signals import LeadView

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
RULES = Rules()  # ready at 5-7 touches; re-engaged: 3 touches in 7 days after 90 quiet ones
d = timedelta
DAY = d(days=1)


def times(n: int, start: datetime = NOW, step: timedelta = DAY) -> list[datetime]:
    return [start - i * step for i in range(n)]


@pytest.mark.parametrize("n,stage,label", [
    (0, "early", "Early: 0 touches; most buyers need 5–7 before they talk"),
    (1, "early", "Early: 1 touch; most buyers need 5–7 before they talk"),
    (2, "early", "Early: 2 touches; most buyers need 5–7 before they talk"),
    (3, "warming", "Warming up: 3 touches, close to the usual 5–7"),
    (4, "warming", "Warming up: 4 touches, close to the usual 5–7"),
    (5, "ready", "Ready: 5 touches, within the usual 5–7"),
    (7, "ready", "Ready: 7 touches, within the usual 5–7"),
    (8, "past_ready", "Ready: 8 touches, past the usual 5–7 before a buyer talks"),
])
def test_readiness_stages(n, stage, label):
    got = readiness.assess(times(n), RULES)
    assert (got.touches, got.stage, got.label) == (n, stage, label)


def test_asking_for_sales_beats_the_count():
    got = readiness.assess(times(1), RULES, asked_for_sales=True)
    assert (got.stage, got.label) == ("asked_for_sales", "Ready now: asked to talk to sales (1 touch so far)")


def test_a_single_number_rule_reads_as_one_number():
    rules = Rules(ready_min_touches=4, ready_max_touches=4)
    assert readiness.assess(times(1), rules).label == "Early: 1 touch; most buyers need 4 before they talk"


def test_span_counts_calendar_days_of_touches_in_any_order():
    touches = [NOW - d(days=9, hours=3), NOW, NOW - d(days=2)]
    got = readiness.assess(touches, RULES)
    assert (got.first_touch, got.last_touch, got.span_days) == (NOW - d(days=9, hours=3), NOW, 10)
    assert readiness.assess([], RULES).span_days == 0
    assert readiness.assess([NOW], RULES).span_days == 1


def test_a_prospect_is_no_customer_whatever_their_scores():
    state = customer.assess(LeadView("p@x.example", nps=2, csat=1), times(5), NOW, RULES)
    assert state == customer.CustomerState(False)


@pytest.mark.parametrize("nps,csat,sentiment,label,unhappy", [
    (None, None, None, None, False),
    (3, None, "detractor", "NPS 3, detractor", True),
    (6, None, "detractor", "NPS 6, detractor", True),
    (7, None, "passive", "NPS 7, passive", False),
    (9, None, "promoter", "NPS 9, promoter", False),
    (10, 2, "unhappy", "NPS 10, promoter · CSAT 2/5, unhappy", True),  # a bad CSAT outweighs a good NPS
    (2, 1, "detractor", "NPS 2, detractor · CSAT 1/5, unhappy", True),
    (None, 3, None, "CSAT 3/5", False),
    (None, 1, "unhappy", "CSAT 1/5, unhappy", True),
    (0, 5, "detractor", "NPS 0, detractor · CSAT 5/5", True),
])
def test_customer_sentiment(nps, csat, sentiment, label, unhappy):
    state = customer.assess(LeadView("c@x.example", is_customer=True, nps=nps, csat=csat), [], NOW, RULES)
    assert (state.is_customer, state.sentiment, state.score_label, state.unhappy) == (True, sentiment, label, unhappy)
    assert state.promoter is (sentiment == "promoter")


def test_back_in_buying_mode_after_a_long_quiet_spell():
    history = [NOW - d(days=200), NOW - d(days=150)] + [NOW - d(days=1), NOW - d(hours=5), NOW - d(days=6)]
    got = customer.reengagement(history, NOW, RULES)
    assert got == customer.Reengagement(quiet_days=144, recent_touches=3, window_days=7)
    state = customer.assess(LeadView("c@x.example", is_customer=True), history, NOW, RULES)
    assert state.reengaged == got


@pytest.mark.parametrize("history", [
    [NOW - d(days=1), NOW - d(days=2), NOW - d(days=3)],                     # nothing before: a new lead
    [NOW - d(days=60), NOW - d(days=1), NOW - d(days=2), NOW - d(days=3)],   # quiet for too short
    [NOW - d(days=200), NOW - d(days=1), NOW - d(days=2)],                   # too few recent touches
    [NOW - d(days=200), NOW + d(days=1), NOW + d(days=2), NOW - d(days=1)],  # future touches do not count
])
def test_not_re_engaged(history):
    assert customer.reengagement(history, NOW, RULES) is None
