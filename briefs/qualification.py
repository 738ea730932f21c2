"""When does a lead become qualified? Pure rules over what one batch of events changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from briefs.customer import reengagement
from briefs.events import ActivityEvent, Event, QualifiedEvent
from briefs.markup import duration
from briefs.rules import Rules
from briefs.signals import ENGAGEMENT_KINDS, ActivityView, LeadView, is_hand_raiser_form, stage_label


class Reason(StrEnum):
    """Why a lead qualified, as stored in qualifications.reason."""

    SCORE_THRESHOLD = "score_threshold"
    HAND_RAISER = "hand_raiser"
    LIFECYCLE_CHANGE = "lifecycle_change"
    RE_ENGAGED = "re_engaged"
    MANUAL = "manual"


# Keyed by str: a stored reason is read back as a plain string, and Reason members are equal to theirs.
EXPLICIT_DETAIL: dict[str, str] = {
    Reason.SCORE_THRESHOLD: "marketing automation says the lead score threshold was reached",
    Reason.HAND_RAISER: "asked to talk to sales",
    Reason.LIFECYCLE_CHANGE: "lifecycle stage moved to a qualified stage",
    Reason.RE_ENGAGED: "came back into buying mode",
    Reason.MANUAL: "qualified by hand in marketing automation",
}
# The activity a hand-raiser rule reads.
FORM_SUBMIT = "form_submit"


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


def may_fire_on(event: Event, is_customer: bool) -> bool:
    """Whether a rule could fire on this event: an explicit qualification, a form (hand-raiser), or a
    customer's engagement (re-engagement). Profile changes (lead.upsert) are read from the lead's row."""
    if isinstance(event, ActivityEvent):
        return event.kind == FORM_SUBMIT or (is_customer and event.kind in ENGAGEMENT_KINDS)
    return isinstance(event, QualifiedEvent)


def may_qualify(change: LeadChange) -> bool:
    """Whether any rule could fire on what the batch changed, before the history (open episode, touches)
    that deciding reads is loaded: most leads in a batch skip those reads."""
    customer = change.lead.is_customer
    return bool(
        change.explicit
        or change.score_changed_at
        or change.stage_changed_at
        or any(a.kind == FORM_SUBMIT or (customer and a.kind in ENGAGEMENT_KINDS) for a in change.new_activities)
    )


def delivery_order(decision: Decision) -> tuple[bool, float]:
    """Sort key for the briefs a batch queues: hand-raisers first, then the freshest (the outbox is drained
    in this order)."""
    return decision.reason != Reason.HAND_RAISER, -decision.triggered_at.timestamp()


# The systems a rep knows by name; a source id that is not one ("api", "csv", a webhook's own name) is not named.
SYSTEM_NAMES = {
    "hubspot": "HubSpot", "marketo": "Marketo", "mautic": "Mautic", "salesforce": "Salesforce", "pardot": "Pardot",
    "account_engagement": "Pardot", "segment": "Segment", "eloqua": "Eloqua", "pipedrive": "Pipedrive",
    "zoho": "Zoho CRM", "activecampaign": "ActiveCampaign", "dynamics": "Dynamics 365", "brevo": "Brevo",
}


def system_name(source: str | None) -> str | None:
    """"hubspot" -> "HubSpot", "marketo_sync" -> "Marketo"; None for "api", "csv" and anything unknown."""
    key = re.sub(r"[^a-z0-9]+", "_", (source or "").lower()).strip("_")
    if key in SYSTEM_NAMES:
        return SYSTEM_NAMES[key]
    head = key.split("_", 1)[0]
    return SYSTEM_NAMES.get(head)


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


def _candidates(change: LeadChange, rules: Rules, now: datetime) -> Iterator[Decision]:
    lead = change.lead
    for ex in sorted(change.explicit, key=lambda e: e.occurred_at, reverse=True):
        detail = EXPLICIT_DETAIL[Reason(ex.reason)]
        if ex.reason == Reason.SCORE_THRESHOLD and ex.score is not None:
            system = system_name(ex.source)
            detail = f"lead score reached {ex.score}" + (f" in {system}" if system else "")
        yield Decision(ex.reason, detail, ex.occurred_at, f"lead.qualified from {ex.source}", ex.score, ex.note)

    forms = [
        a for a in change.new_activities
        if a.kind == FORM_SUBMIT and is_hand_raiser_form(a.form, rules.hand_raiser_forms)
    ]
    for a in sorted(forms, key=lambda a: a.occurred_at, reverse=True):
        yield Decision(Reason.HAND_RAISER, f"filled in the {a.form} form", a.occurred_at, f"form: {a.form}", lead.score)

    if lead.is_customer and change.touch_history and any(
        a.occurred_at >= now - timedelta(days=rules.reengage_window_days) for a in change.new_activities
    ):
        back = reengagement(change.touch_history, now, rules)
        if back:
            yield Decision(
                Reason.RE_ENGAGED,
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
            Reason.LIFECYCLE_CHANGE,
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
            Reason.SCORE_THRESHOLD,
            f"lead score crossed {t} (now {lead.score})",
            change.score_changed_at,
            "score change",
            lead.score,
        )

