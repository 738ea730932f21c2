"""Customer state: prospect or customer, how happy they are, and whether they are back in buying mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from briefs.rules import Rules
from briefs.signals import LeadView


@dataclass(frozen=True)
class Reengagement:
    quiet_days: int
    recent_touches: int
    window_days: int


@dataclass(frozen=True)
class CustomerState:
    is_customer: bool
    sentiment: str | None = None  # detractor | passive | promoter (NPS), or unhappy (CSAT only)
    score_label: str | None = None  # "NPS 3, detractor"
    unhappy: bool = False
    reengaged: Reengagement | None = None

    @property
    def promoter(self) -> bool:
        return self.sentiment == "promoter"


def reengagement(touches: list[datetime], now: datetime, rules: Rules) -> Reengagement | None:
    """Enough touches in the recent window after a long enough quiet spell before it."""
    start = now - timedelta(days=rules.reengage_window_days)
    recent = sorted(t for t in touches if start <= t <= now)
    before = [t for t in touches if t < start]
    if len(recent) < rules.reengage_touches or not before:
        return None
    quiet = (recent[0] - max(before)).days
    if quiet < rules.reengage_quiet_days:
        return None
    return Reengagement(quiet, len(recent), rules.reengage_window_days)


def assess(lead: LeadView, touches: list[datetime], now: datetime, rules: Rules) -> CustomerState:
    if not lead.is_customer:
        return CustomerState(False)
    sentiment = label = None
    unhappy = False
    if lead.nps is not None:
        if lead.nps <= rules.nps_detractor_max:
            sentiment, unhappy = "detractor", True
        elif lead.nps >= rules.nps_promoter_min:
            sentiment = "promoter"
        else:
            sentiment = "passive"
        label = f"NPS {lead.nps}, {sentiment}"
    if lead.csat is not None:
        csat = f"CSAT {lead.csat}/5"
        if lead.csat <= rules.csat_unhappy_max:
            unhappy = True
            sentiment = sentiment if sentiment == "detractor" else "unhappy"
            csat += ", unhappy"
        label = f"{label} · {csat}" if label else csat
    return CustomerState(
        True,
        sentiment=sentiment,
        score_label=label,
        unhappy=unhappy,
        reengaged=reengagement(touches, now, rules),
    )
