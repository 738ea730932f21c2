""""This is a real lead": a rep or manager sets a triage verdict aside. The override is stored (who, when, which
rule: counted in /lead stats by rule), the lead is re-opened as a new qualification and briefed and routed as
usual (rep brief, SLA), and the notice says who overrode it. A replayed click changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.usecases.briefing import brief_of, queue_brief
from bot.usecases.deps import Services
from briefs.blocks import mention
from briefs.notices import overridden
from briefs.triage import HELD_BACK
from storage import audit
from storage import triage as store
from storage.models import Lead

Visible = Callable[[str | None], bool]


class Outcome(StrEnum):
    DONE = "done"
    REPLAY = "replay"  # already overridden: nothing changed
    GONE = "gone"
    NOT_YOURS = "not_yours"
    NOTHING = "nothing"  # the lead was paged: nothing to set aside


@dataclass(frozen=True)
class OverrideResult:
    outcome: Outcome
    answer: str = ""
    channel: str | None = None  # the notice's message, to be shown as `notice`
    ts: str | None = None
    notice: dict[str, Any] | None = None
    qualification_id: int | None = None  # the new, briefed qualification


def override(services: Services, qualification_id: int, user: str, visible: Visible) -> OverrideResult:
    now = services.clock()
    with services.sessions.begin() as s:
        found = store.overridable(s, qualification_id)
        if found is None:
            return OverrideResult(Outcome.GONE)
        if not visible(found.owner_email):
            return OverrideResult(Outcome.NOT_YOURS)
        if found.overridden_at is not None:
            return OverrideResult(Outcome.REPLAY, f"{mention(found.overridden_by)} already said this is a real lead; "
                                                  "it was briefed as usual.")
        if found.triage_delivery not in HELD_BACK:
            return OverrideResult(Outcome.NOTHING, "This lead was not held back by triage: there is nothing to override.")
        notice = overridden(found.notice_payload, user, now) if found.notice_payload else None
        store.mark_overridden(s, qualification_id, user, now, notice)
        audit.record(s, actor=user, action="triage_override", at=now, lead_id=found.lead_id,
                     detail=f"q{qualification_id} {found.triage_rule or '-'}")
        new_id = None
        if store.open_qualification(s, found.lead_id) is None:
            new = store.reopen(s, qualification_id, now)
            brief = brief_of(new.brief_input, s.get(Lead, found.lead_id), services.settings.rules,
                             services.settings.triage.policy)
            queue_brief(s, new, brief, now)
            new_id = new.id
    services.wake_delivery()
    answer = "Thanks: it is briefed and routed as usual now." if new_id else \
        "Thanks: counted. The lead has an open brief already."
    return OverrideResult(Outcome.DONE, answer, found.notice_channel, found.notice_ts, notice, new_id)
