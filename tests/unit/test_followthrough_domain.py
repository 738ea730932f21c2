"""Follow-through's pure parts: the policy, the messages and their limits, and the [follow_up] settings."""

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_settings
from briefs.blocks import FollowUp, followup_blocks
from briefs.followthrough import (
    FollowUpPolicy,
    LeadCard,
    QueueItem,
    digest,
    escalation,
    escalation_answered,
    home_view,
    is_high_intent,
    passed_on,
    reminder,
    sla_label,
    snooze_over,
    thread_update,
)
from briefs.rules import Rules
from briefs.signals import ActivityView
from briefs.sla import BusinessHours, next_working_day_at
from tests.support.blockkit import validate_message_blocks, validate_view

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
NY = ZoneInfo("America/New_York")
HOSTILE = "<!channel> *bold* _it_ ~s~ `code` <https://evil.example|click> &amp; " + "x" * 4000


def card(name="Sam Rivera", company="Globex", qid=7) -> LeadCard:
    return LeadCard(qid, name, company, "hand_raiser", "filled in the Contact Sales form", "sam@globex.example")


def test_policy_defaults_and_overrides():
    p = FollowUpPolicy()
    assert (p.sla_for("hand_raiser"), p.sla_for("score_threshold"), p.escalate_for("hand_raiser")) == (5, 60, 5)
    p = FollowUpPolicy(sla_minutes={"hand_raiser": 10, "default": 120}, escalate_minutes={"default": 30})
    assert (p.sla_for("hand_raiser"), p.sla_for("re_engaged"), p.escalate_for("hand_raiser")) == (10, 120, 30)
    # Tuesday 16:58 New York + 5 business minutes -> Wednesday 09:03.
    start = datetime(2026, 11, 24, 21, 58, tzinfo=UTC)
    assert FollowUpPolicy().due("hand_raiser", start, NY) == datetime(2026, 11, 25, 14, 3, tzinfo=UTC)


def test_next_digest_skips_weekends_and_times_already_past():
    hours = BusinessHours()
    friday_noon = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # 12:00 New York
    assert next_working_day_at(friday_noon, NY, hours, time(9, 0)) == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    tuesday_8 = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 08:00 New York
    assert next_working_day_at(tuesday_8, NY, hours, time(8, 30)) == datetime(2026, 11, 24, 13, 30, tzinfo=UTC)


def view(kind, **kw) -> ActivityView:
    return ActivityView(kind=kind, occurred_at=NOW, **kw)


def test_thread_update_names_what_matters_and_skips_noise():
    rules = Rules()
    acts = [view("web_visit", url="https://ourco.example/pricing"), view("web_visit", url="https://ourco.example/pricing"),
            view("web_visit", url="https://ourco.example/blog/x"), view("email_open", subject="Hi"),
            view("content_download", title="Widget Buyer's Guide")]
    msg = thread_update(card(), acts, rules, "U0JANE")
    text = json.dumps(msg["blocks"], ensure_ascii=False)
    assert "Pricing (2×)" in text and "Widget Buyer's Guide" in text and "1 other page view" in text
    assert "1 email open" in text and "<@U0JANE>" not in text  # not urgent: no mention
    assert thread_update(card(), [view("email_open"), view("email_delivered")], rules, "U0JANE") is None
    hot = [view("form_submit", form="Request a demo", comments="This week please")]
    assert is_high_intent(hot[0], rules) and not is_high_intent(acts[0], rules)
    assert "<@U0JANE>" in json.dumps(thread_update(card(), hot, rules, "U0JANE")["blocks"])


def test_messages_escape_lead_text_and_stay_within_block_kit_limits():
    rules = Rules()
    c = card(name=HOSTILE, company=HOSTILE)
    hot = [view("form_submit", form=HOSTILE, comments=HOSTILE)] * 40 + [view("content_download", title=HOSTILE)] * 40
    state = FollowUp(qualification_id=7, qualified_at=NOW, sla_due_at=NOW + timedelta(minutes=5), sla_state="running",
                     rep_user="U0JANE", crm_url="https://crm.example/1")
    messages = [
        reminder(c, "U0JANE", 12, 5), escalation(c, "U0JANE", 12, 5, "C0JANE"), thread_update(c, hot, rules, "U0JANE"),
        digest([c] * 60, "U0JANE", {7: state}), snooze_over(c, "U0JANE"), escalation_answered(c, "U0OMAR", "claimed"),
        passed_on(c, "U0JANE", "U0OMAR", "C0JANE"),
    ]
    for msg in messages:
        assert validate_message_blocks(msg["blocks"], msg["text"]) == []
        # The notification text too: Slack reads it as mrkdwn, so a name must not ping the channel.
        raw = json.dumps(msg["blocks"]) + msg["text"]
        assert "<!channel>" not in raw and "<https://evil" not in raw
    queue = [QueueItem(card(name=HOSTILE, qid=i), NOW, "open", NOW + timedelta(minutes=5), "running", None, state)
             for i in range(40)]
    home = home_view("U0JANE", queue, [{"type": "section", "text": {"type": "mrkdwn", "text": "summary"}}], NOW, False)
    assert validate_view(home) == []
    assert "…and" in json.dumps(home["blocks"], ensure_ascii=False)  # what does not fit is counted, not dropped silently


def test_sla_labels():
    due = NOW + timedelta(minutes=4)
    assert sla_label(due, "running", None, NOW).startswith("⏱️ call within 4 min")
    assert sla_label(due, "reminded", None, NOW + timedelta(minutes=16)) == "🔴 overdue by 12 min"
    assert "snoozed" in sla_label(due, "running", NOW + timedelta(hours=1), NOW)
    assert sla_label(due, "met", None, NOW) == "✅ SLA met"
    # Claimed or called after the reminder: late, but no longer overdue, and the figure stops growing.
    assert sla_label(due, "reminded", None, NOW + timedelta(hours=3), handled=True) == "🟠 picked up after the SLA"
    assert sla_label(due, "escalated", None, NOW + timedelta(hours=3), handled=True) == "🟠 picked up after the SLA"


def test_followup_shows_the_clock_snooze_and_reassignment():
    base = FollowUp(qualification_id=3, qualified_at=NOW, sla_due_at=NOW + timedelta(minutes=5), sla_state="running")
    text = json.dumps(followup_blocks(base))
    assert "Qualified <!date^" in text and "call by <!date^" in text
    assert '"lead_snooze"' in text and '"lead_reassign"' in text and '"3"' in text
    snoozed = FollowUp(qualification_id=3, qualified_at=NOW, snoozed_until=NOW + timedelta(hours=1), snoozed_by="U0A")
    assert "snoozed until" in json.dumps(followup_blocks(snoozed))
    moved = FollowUp(qualification_id=3, qualified_at=NOW, rep_user="U0OMAR", reassigned_by="U0JANE", reassigned_at=NOW)
    assert "Reassigned to <@U0OMAR> by <@U0JANE>" in json.dumps(followup_blocks(moved))
    closed = FollowUp(qualification_id=3, status="not_a_fit", qualified_at=NOW, closed_by="U0A", closed_at=NOW)
    assert '"lead_snooze"' not in json.dumps(followup_blocks(closed))
    assert validate_message_blocks(followup_blocks(base)) == []


def settings_with(tmp_path, text: str):
    path = tmp_path / "leadbrief.toml"
    path.write_text(text)
    return load_settings({"LEADBRIEF_CONFIG": str(path)}, dotenv=False)


def test_follow_up_settings(tmp_path):
    s = settings_with(tmp_path, """
[follow_up]
sla_minutes = { hand_raiser = 3, score_threshold = 30 }
escalate_minutes = { default = 15 }
business_hours = "08:00-18:00"
business_days = ["mon", "tue", "wed", "thu"]
timezone = "Europe/Berlin"
update_cooldown_minutes = 10
digest_time = "07:45"
""")
    p = s.follow_up
    assert (p.sla_for("hand_raiser"), p.sla_for("score_threshold"), p.sla_for("manual")) == (3, 30, 60)
    assert p.escalate_for("hand_raiser") == 15
    assert p.hours.start == time(8, 0) and 4 not in p.hours.days
    assert (p.timezone, p.update_cooldown_minutes, p.digest_time) == ("Europe/Berlin", 10, time(7, 45))


@pytest.mark.parametrize("body,expected", [
    ('sla_minutes = { hand_raisers = 5 }', "follow_up.sla_minutes must map reasons"),
    ('sla_minutes = { hand_raiser = 0 }', "1 to 10080"),
    ('business_hours = "9-5"', "business_hours"),
    ('timezone = "Mars/Olympus"', "follow_up.timezone 'Mars/Olympus' is not a time zone"),
    ('update_cooldown_minutes = -1', "update_cooldown_minutes must be 0 to 1440"),
    ('digest_time = "7am"', "digest_time must be HH:MM"),
    ('nudge = true', "[follow_up] takes only"),
])
def test_follow_up_setting_errors_name_the_setting(tmp_path, body, expected):
    with pytest.raises(ConfigError) as err:
        settings_with(tmp_path, f"[follow_up]\n{body}\n")
    assert expected in str(err.value)
