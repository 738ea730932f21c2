"""When does a lead become qualified? Pure rules over what one batch of events changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from briefs.customer import reengagement
from briefs.markup import duration
from briefs.rules import Rules
from briefs.signals import ActivityView, LeadView, is_hand_raiser_form, stage_label

EXPLICIT_DETAIL = {
    "score_threshold": "marketing automation says the lead score threshold was reached",
    "hand_raiser": "asked to talk to sales",
    "lifecycle_change": "lifecycle stage moved to a qualified stage",
    "re_engaged": "came back into buying mode",
    "manual": "qualified by hand in marketing automation",
}


@dataclass(frozen=True)
class Explicit:
    reason: str
    occurred_at: datetime
    score: int | None = None
    note: str | None = None
    source: str = "api"


@dataclass
class LeadChange:
    """What one batch did to one lead."""

    lead: LeadView
    previous_score: int | None = None
    score_changed_at: datetime | None = None
    previous_stage: str | None = None
    stage_changed_at: datetime | None = None
    new_activities: list[ActivityView] = field(default_factory=list)
    explicit: list[Explicit] = field(default_factory=list)
    # All touch times; loaded only for customers, for the re-engagement rule.
    touch_history: list[datetime] | None = None
    # qualified_at of the lead's open qualification, if any.
    open_since: datetime | None = None


@dataclass(frozen=True)
class Decision:
    reason: str
    detail: str
    triggered_at: datetime
    trigger: str
    score: int | None = None
    note: str | None = None


def decide(change: LeadChange, rules: Rules, now: datetime) -> Decision | None:
    """The strongest fresh trigger, unless an episode is already open. Order: explicit, hand-raiser,
    re-engaged customer, lifecycle, score."""
    if change.open_since and now - change.open_since < timedelta(days=rules.reopen_after_days):
        return None
    fresh_after = now - timedelta(hours=rules.trigger_max_age_hours)
    for candidate in _candidates(change, rules, now):
        if candidate.triggered_at >= fresh_after:
            return candidate
    return None


def _candidates(change: LeadChange, rules: Rules, now: datetime):
    lead = change.lead
    for ex in sorted(change.explicit, key=lambda e: e.occurred_at, reverse=True):
        detail = EXPLICIT_DETAIL[ex.reason]
        if ex.reason == "score_threshold" and ex.score is not None:
            detail = f"lead score reached {ex.score} in {ex.source}"
        yield Decision(ex.reason, detail, ex.occurred_at, f"lead.qualified from {ex.source}", ex.score, ex.note)

    forms = [
        a for a in change.new_activities
        if a.kind == "form_submit" and is_hand_raiser_form(a.form, rules.hand_raiser_forms)
    ]
    for a in sorted(forms, key=lambda a: a.occurred_at, reverse=True):
        yield Decision("hand_raiser", f"filled in the {a.form} form", a.occurred_at, f"form: {a.form}", lead.score)

    if lead.is_customer and change.touch_history and any(
        a.occurred_at >= now - timedelta(days=rules.reengage_window_days) for a in change.new_activities
    ):
        back = reengagement(change.touch_history, now, rules)
        if back:
            yield Decision(
                "re_engaged",
                f"customer back after {duration(back.quiet_days)} quiet: "
                f"{back.recent_touches} touches in the last {back.window_days} days",
                max(a.occurred_at for a in change.new_activities),
                "re-engagement",
                lead.score,
            )

    stage = lead.lifecycle_stage
    if (
        change.stage_changed_at
        and stage in rules.qualifying_stages
        and stage != change.previous_stage
    ):
        yield Decision(
            "lifecycle_change",
            f"lifecycle stage became {stage_label(stage)}"
            + (f" (was {stage_label(change.previous_stage)})" if change.previous_stage else ""),
            change.stage_changed_at,
            f"lifecycle stage {stage_label(stage)}",
            lead.score,
        )

    t = rules.score_threshold
    if (
        change.score_changed_at
        and lead.score is not None
        and lead.score >= t
        and (change.previous_score is None or change.previous_score < t)
    ):
        yield Decision(
            "score_threshold",
            f"lead score crossed {t} (now {lead.score})",
            change.score_changed_at,
            "score change",
            lead.score,
        )

