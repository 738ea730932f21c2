"""Readiness: how far along the usual 5-7 touches before a buyer talks to sales."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from briefs.rules import Rules


@dataclass(frozen=True)
class Readiness:
    touches: int
    stage: str  # asked_for_sales | early | warming | ready | past_ready
    label: str
    first_touch: datetime | None
    last_touch: datetime | None

    @property
    def span_days(self) -> int:
        if not self.first_touch or not self.last_touch:
            return 0
        return (self.last_touch.date() - self.first_touch.date()).days + 1


def assess(touches: list[datetime], rules: Rules, *, asked_for_sales: bool = False, machine_opens: int = 0) -> Readiness:
    """`touches`: a person's (briefs.signals); `machine_opens`: how many opens were left out, said in the label."""
    n = len(touches)
    lo, hi = rules.ready_min_touches, rules.ready_max_touches
    usual = f"{lo}–{hi}" if lo != hi else str(lo)
    plural = ("human " if machine_opens else "") + ("touch" if n == 1 else "touches")
    if asked_for_sales:
        stage, label = "asked_for_sales", f"Ready now: asked to talk to sales ({n} {plural} so far)"
    elif n < max(1, (lo + 1) // 2):
        stage, label = "early", f"Early: {n} {plural}; most buyers need {usual} before they talk"
    elif n < lo:
        stage, label = "warming", f"Warming up: {n} {plural}, close to the usual {usual}"
    elif n <= hi:
        stage, label = "ready", f"Ready: {n} {plural}, within the usual {usual}"
    else:
        stage, label = "past_ready", f"Ready: {n} {plural}, past the usual {usual} before a buyer talks"
    return Readiness(n, stage, label, min(touches, default=None), max(touches, default=None))
