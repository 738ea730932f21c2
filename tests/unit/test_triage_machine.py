"""Machine activity: opens that are not a person reading do not count as touches, and a score crossed on them alone
gives no page, only a digest line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from briefs.signals import ActivityView
from briefs.triage import (
    DEFAULT_POLICY,
    Delivery,
    Override,
    Rule,
    TriageInput,
    TriagePolicy,
    split_touches,
    triage,
)
from tests.unit.test_triage import at, buyer_week, form, lead, newsletter, visit

# What an Apple Mail Privacy Protection prefetch looks like as sources report it.
APPLE_PROXY = {"user_agent": "Mozilla/5.0", "ip": "17.58.101.14"}
# A person reading in Outlook on Windows, from an office network.
OUTLOOK = {"user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/124.0 Safari/537.36 Edg/124.0 Microsoft Outlook 16.0",
           "ip": "84.17.33.202"}


def mpp_dozen() -> list[ActivityView]:
    """The issue's case: a dozen newsletters, each opened two seconds after delivery by Apple's proxy."""
    rows: list[ActivityView] = []
    subjects = ["Your November product update", "Webinar: from MQL to meeting in 5 minutes", "Last chance: seats",
                "5 speed-to-lead myths", "Case study: Brightforge", "The 2026 routing report", "New: Slack digests",
                "Office hours this Thursday", "Your trial recap", "Black Friday: 20% off annual", "Roadmap Q1",
                "Holiday support hours"]
    for i, subject in enumerate(subjects):
        sent = at(i % 5, 7, 0) - timedelta(weeks=i // 5)
        rows += newsletter(sent, subject, f"9{i:03d}", timedelta(seconds=2), **APPLE_PROXY)
    return rows


def test_a_dozen_proxy_opens_are_not_touches():
    split = split_touches(mpp_dozen())
    assert (split.human_touches, split.machine_opens) == (0, 12)
    assert split.summary() == "0 human touches (12 machine opens left out)"
    assert {m.rule for m in split.machine} == {Rule.MACHINE_PRIVACY_PROXY}


def test_a_score_crossed_on_machine_opens_alone_is_a_digest_line_not_a_page():
    result = triage(TriageInput(lead(), mpp_dozen(), reason="score_threshold"))
    assert (result.verdict, result.delivery, result.rule, result.pages_rep) == (
        None, Delivery.DIGEST_LINE, Rule.MACHINE_ONLY, False)
    assert result.reason == ("qualified on machine opens alone: 12 email opens (Apple Mail Privacy Protection or "
                             "another privacy proxy) and no human touch")
    # A person's own act still pages, whatever the opens were.
    hand = triage(TriageInput(lead(), [*mpp_dozen(), form(at(4, 9, 0), "Request a demo", "")], reason="hand_raiser"))
    assert hand.delivery is Delivery.PAGE
    assert hand.touches.summary() == "1 human touch (12 machine opens left out)"


def test_a_score_crossed_on_a_batch_of_machine_opens_is_a_digest_line_even_with_older_human_touches():
    history = [*buyer_week(), *mpp_dozen()]
    batch = [a for a in history if a.kind == "email_open" and a.properties.get("ip") == APPLE_PROXY["ip"]][:3]
    result = triage(TriageInput(lead(), history, reason="score_threshold", trigger=batch))
    assert result.delivery is Delivery.DIGEST_LINE
    assert result.reason == ("the score crossed on 3 machine opens (Apple Mail Privacy Protection or another privacy "
                             "proxy); 8 human touches (12 machine opens left out)")
    # The same score crossed on a pricing visit: a page.
    pricing = visit(at(4, 15, 0), "/pricing", "Pricing")
    result = triage(TriageInput(lead(), [*history, pricing], reason="score_threshold", trigger=[*batch, pricing]))
    assert result.delivery is Delivery.PAGE


def test_an_override_pages_a_machine_only_lead():
    result = triage(TriageInput(lead(), mpp_dozen(), reason="score_threshold", override=Override("U0REP", at(4, 9, 0))))
    assert result.delivery is Delivery.PAGE and [f.rule for f in result.overridden] == [Rule.MACHINE_ONLY]


@pytest.mark.parametrize(("props", "gap", "rule"), [
    ({}, timedelta(seconds=2), Rule.MACHINE_FAST_OPEN),
    ({}, timedelta(seconds=5), Rule.MACHINE_FAST_OPEN),
    (OUTLOOK, timedelta(seconds=1), Rule.MACHINE_FAST_OPEN),  # a link scanner in front of Outlook
    ({"user_agent": "mozilla/5.0 "}, timedelta(hours=3), Rule.MACHINE_PRIVACY_PROXY),
    ({"ip": "17.0.0.1"}, timedelta(hours=3), Rule.MACHINE_PRIVACY_PROXY),
    ({"sg_machine_open": True}, timedelta(hours=3), Rule.MACHINE_SOURCE_FLAG),
    ({"bot": "true"}, timedelta(hours=3), Rule.MACHINE_SOURCE_FLAG),
    ({"filteredEvent": True}, timedelta(hours=3), Rule.MACHINE_SOURCE_FLAG),
    ({"open_type": "MPP"}, timedelta(hours=3), Rule.MACHINE_SOURCE_FLAG),
])
def test_each_kind_of_machine_open(props, gap, rule):
    split = split_touches(newsletter(at(1, 7, 0), "5 speed-to-lead myths", "9004", gap, **props))
    assert [m.rule for m in split.machine] == [rule] and split.human_touches == 0


@pytest.mark.parametrize(("props", "gap"), [
    ({}, timedelta(seconds=6)),  # just past the default five seconds
    (OUTLOOK, timedelta(minutes=47)),
    ({"user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Mobile/15E148"}, timedelta(hours=2)),  # Apple Mail with protection off: a person
    ({"user_agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"},
     timedelta(minutes=20)),  # Gmail fetches images when the person opens the email
    ({"ip": "not an address"}, timedelta(hours=3)),
    ({"ip": "2a01:4f8::1"}, timedelta(hours=3)),
    ({"bot": False, "sg_machine_open": "false"}, timedelta(hours=3)),
])
def test_people_reading_are_touches(props, gap):
    split = split_touches(newsletter(at(1, 7, 0), "5 speed-to-lead myths", "9004", gap, **props))
    assert (split.machine_opens, split.human_touches) == (0, 1)


def test_an_open_is_matched_to_its_own_delivery():
    # Two emails: the second delivered a second before the FIRST one's (late) open; the open is a person's.
    history = [*newsletter(at(1, 7, 0), "Roadmap Q1", "9010"),
               *newsletter(at(1, 9, 0), "Office hours this Thursday", "9011"),
               ActivityView("email_open", at(1, 9, 0, 2), subject="Roadmap Q1", properties={"email_campaign_id": "9010"})]
    assert split_touches(history).machine_opens == 0
    # Matched by subject when the source sends no id, and by send time when it reports no delivery.
    history = [ActivityView("email_sent", at(2, 7, 0), subject="Roadmap Q1"),
               ActivityView("email_open", at(2, 7, 0, 3), subject="roadmap q1")]
    assert [m.rule for m in split_touches(history).machine] == [Rule.MACHINE_FAST_OPEN]
    # An open with nothing to tie it to a delivery is a person's.
    assert split_touches([ActivityView("email_open", at(2, 7, 0, 1))]).machine_opens == 0


def test_machine_clicks_flagged_by_the_source_are_left_out_too_but_fast_clicks_are_not_guessed():
    history = [*newsletter(at(1, 7, 0), "Roadmap Q1", "9010"),
               ActivityView("email_click", at(1, 7, 0, 2), subject="Roadmap Q1", url="https://www.ourco.example/r",
                            properties={"email_campaign_id": "9010"}),
               ActivityView("email_click", at(1, 7, 0, 3), subject="Roadmap Q1",
                            properties={"email_campaign_id": "9010", "is_bot": 1})]
    split = split_touches(history)
    assert [m.rule for m in split.machine] == [Rule.MACHINE_SOURCE_FLAG] and split.human_touches == 1


def test_machine_open_settings():
    history = newsletter(at(1, 7, 0), "Roadmap Q1", "9010", timedelta(seconds=20), ip="203.0.113.9")
    assert split_touches(history).machine_opens == 0
    assert split_touches(history, TriagePolicy(machine_open_seconds=30)).machine_opens == 1
    assert split_touches(history, TriagePolicy(proxy_networks=("203.0.113.0/24",))).machine_opens == 1
    fast = newsletter(at(1, 7, 0), "Roadmap Q1", "9010", timedelta(seconds=1))
    assert split_touches(fast, TriagePolicy(machine_open_seconds=0)).machine_opens == 0
    assert split_touches(fast, TriagePolicy(disabled_rules=frozenset({Rule.MACHINE_FAST_OPEN}))).machine_opens == 0
    assert split_touches(fast, TriagePolicy(enabled=False)).machine_opens == 0
    assert split_touches(fast, DEFAULT_POLICY).machine_opens == 1


def test_touches_still_follow_the_touch_rule():
    # Three views of the pricing page on one day are one touch; opens by a person are touches.
    history = [visit(at(2, 14, 3), "/pricing"), visit(at(2, 14, 6), "/pricing/"), visit(at(2, 18, 0), "/Pricing"),
               *newsletter(at(1, 7, 0), "Roadmap Q1", "9010", timedelta(hours=1), **OUTLOOK)]
    split = split_touches(history)
    assert split.human_touches == 2 and split.summary() == "2 touches"
    assert sorted(split.human_touch_times) == [at(1, 8, 0, 1), at(2, 18, 0)]
