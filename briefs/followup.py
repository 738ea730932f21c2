"""The follow-up state machine: what a qualification's follow-up can be, and every transition a rep's
click or the follow-through worker makes. Pure: each transition takes the current state and returns the
new one with what to tell the clicker; storage persists it, the use cases (bot/usecases) run it.

Adding a rep action (say "Book meeting") takes four files: here, a member of RepAction (and of Answer), a
transition function, any fields it records on FollowUp and, if it stops the speed-to-lead reminders, a place
in STOPS_CLOCK; briefs/blocks.py, its button, its "who did what" line and its answer; bot/usecases/
rep_actions.py, its use case; handlers/actions.py, its listener. A new FollowUp field is kept in the
Qualification column of the same name (storage/followthrough.py maps them by name)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    """A qualification's status (stored as these strings): open -> claimed/contacted -> closed | not_a_fit."""

    OPEN = "open"
    CLAIMED = "claimed"
    CONTACTED = "contacted"
    NOT_A_FIT = "not_a_fit"
    CLOSED = "closed"
    DO_NOT_CONTACT = "do_not_contact"  # closed by triage: the lead asked not to be contacted (or the CRM says so)


OPEN_STATUSES: tuple[Status, ...] = (Status.OPEN, Status.CLAIMED, Status.CONTACTED)
CLOSED_STATUSES: tuple[Status, ...] = (Status.NOT_A_FIT, Status.CLOSED, Status.DO_NOT_CONTACT)


class SlaState(StrEnum):
    """The speed-to-lead clock (stored as these strings): running -> reminded -> escalated, or met."""

    RUNNING = "running"
    REMINDED = "reminded"
    ESCALATED = "escalated"
    MET = "met"


# Reminded or escalated: the clock ran out before anyone picked the lead up.
LATE: tuple[SlaState, ...] = (SlaState.REMINDED, SlaState.ESCALATED)


class RepAction(StrEnum):
    """What a rep does with a brief. The values are the buttons' Slack action ids, which the audit log keeps."""

    CLAIM = "lead_claim"
    CONTACTED = "lead_contacted"
    NOT_A_FIT = "lead_not_a_fit"
    SNOOZE = "lead_snooze"
    REASSIGN = "lead_reassign"


# The one place that says which rep actions stop the speed-to-lead clock, and so its reminders (a snooze
# still reminds the rep when it ends). Not a fit closes the episode, which stops everything anyway.
STOPS_CLOCK: frozenset[RepAction] = frozenset({RepAction.CLAIM, RepAction.CONTACTED})


class SnoozeChoice(StrEnum):
    HOUR = "1h"
    MORNING = "morning"


class NudgeKind(StrEnum):
    """A step of the follow-through worker: what it posts (metrics and the message log use these names)."""

    REMIND = "remind"
    ESCALATE = "escalate"
    SNOOZE_OVER = "snooze_over"


class Answer(StrEnum):
    """What the clicker is told after a rep action (briefs.followthrough.answer_text words it)."""

    ALREADY_CLOSED = "already_closed"
    CLAIMED = "claimed"
    ALREADY_CLAIMED = "already_claimed"
    CONTACTED = "contacted"
    ALREADY_CONTACTED = "already_contacted"
    NOT_A_FIT = "not_a_fit"
    SNOOZED = "snoozed"
    NOTHING_TO_SNOOZE = "nothing_to_snooze"
    REASSIGNED = "reassigned"
    ALREADY_WITH = "already_with"


@dataclass(frozen=True)
class FollowUp:
    """A qualification's follow-up state: what the state machine reads and writes, and what a brief, a digest
    and the App Home show (queue_reason and crm_url are for the showing only)."""

    qualification_id: int
    status: str = Status.OPEN
    queue_reason: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    contacted_by: str | None = None
    contacted_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    closed_reason: str | None = None
    crm_url: str | None = None
    qualified_at: datetime | None = None
    # Follow-through: the speed-to-lead clock, snooze and reassignment.
    rep_user: str | None = None
    sla_due_at: datetime | None = None
    sla_state: str | None = None  # a SlaState
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    reassigned_by: str | None = None
    reassigned_at: datetime | None = None
    # When the follow-through worker must next look at it (a reminder, an escalation, a snooze ending).
    nudge_at: datetime | None = None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def answered_by(self) -> str | None:
        """Who answered the team queue's call for help: whoever claimed the lead, or marked it not a fit."""
        return self.claimed_by or (self.closed_by if self.status == Status.NOT_A_FIT else None)


@dataclass(frozen=True)
class Transition:
    """A rep action's result: the new state, whether it changed, and what to tell the clicker."""

    state: FollowUp
    changed: bool
    answer: Answer
    # The person the answer names (who claimed it already, who has it now).
    named: str | None = None
    snooze: SnoozeChoice | None = None
    # The lead's new owner in the CRM's terms (their email), if the action hands it to someone.
    owner_email: str | None = None
    # A brief held for the old rep's digest goes out now, as a brief of its own.
    release_held: bool = False


def _refused(state: FollowUp, answer: Answer, named: str | None = None) -> Transition:
    return Transition(state, False, answer, named=named)


def _settle(action: RepAction, state: FollowUp) -> FollowUp:
    """After a rep action: the clock stops if the action stops it; a snooze still reminds the rep."""
    if action not in STOPS_CLOCK:
        return state
    sla_state = state.sla_state
    if sla_state == SlaState.RUNNING:
        sla_state = SlaState.MET
    return replace(state, sla_state=sla_state, nudge_at=state.snoozed_until)


def claim(state: FollowUp, user: str, user_email: str | None, now: datetime) -> Transition:
    if state.closed:
        return _refused(state, Answer.ALREADY_CLOSED)
    if state.claimed_by:
        return _refused(state, Answer.ALREADY_CLAIMED, state.claimed_by)
    new = replace(state, claimed_by=user, claimed_at=now,
                  status=Status.CLAIMED if state.status == Status.OPEN else state.status)
    return Transition(_settle(RepAction.CLAIM, new), True, Answer.CLAIMED,
                      owner_email=user_email.lower() if user_email else None)


def contacted(state: FollowUp, user: str, now: datetime) -> Transition:
    """The first touch: claimed then too, if nobody had; a snooze is over."""
    if state.closed:
        return _refused(state, Answer.ALREADY_CLOSED)
    if state.contacted_at:
        return _refused(state, Answer.ALREADY_CONTACTED, state.contacted_by)
    new = replace(state, contacted_by=user, contacted_at=now, status=Status.CONTACTED)
    if not state.claimed_by:
        new = replace(new, claimed_by=user, claimed_at=now)
    new = replace(_settle(RepAction.CONTACTED, new), snoozed_until=None, snoozed_by=None)
    return Transition(new, True, Answer.CONTACTED)


def not_a_fit(state: FollowUp, user: str, reason: str, now: datetime) -> Transition:
    """Closes the episode: nothing is scheduled for it any more."""
    if state.closed:
        return _refused(state, Answer.ALREADY_CLOSED)
    new = replace(state, status=Status.NOT_A_FIT, closed_by=user, closed_at=now, closed_reason=reason,
                  nudge_at=None, snoozed_until=None, snoozed_by=None)
    return Transition(new, True, Answer.NOT_A_FIT)


def snooze(state: FollowUp, user: str, until: datetime, choice: SnoozeChoice) -> Transition:
    """No reminders until `until`; then one in the thread. The clock goes on after that."""
    if state.closed:
        return _refused(state, Answer.ALREADY_CLOSED)
    if state.contacted_at:
        return _refused(state, Answer.NOTHING_TO_SNOOZE)
    new = replace(state, snoozed_until=until, snoozed_by=user, nudge_at=until)
    return Transition(new, True, Answer.SNOOZED, snooze=choice)


def reassign(state: FollowUp, by: str, to_user: str, to_email: str | None, now: datetime,
             due_at: datetime | None) -> Transition:
    """The lead goes to another rep: their claim to make, on a fresh clock (`due_at`, in their time zone).
    A lead already contacted stays contacted, now in the new rep's name."""
    if state.closed:
        return _refused(state, Answer.ALREADY_CLOSED)
    if state.rep_user == to_user and not state.claimed_by:
        return _refused(state, Answer.ALREADY_WITH, to_user)
    new = replace(state, rep_user=to_user, reassigned_by=by, reassigned_at=now)
    if state.contacted_at:
        new = replace(new, claimed_by=to_user, claimed_at=now)
    else:
        new = replace(new, claimed_by=None, claimed_at=None, snoozed_until=None, snoozed_by=None,
                      status=Status.OPEN if state.status == Status.CLAIMED else state.status)
        if due_at is not None:
            new = replace(new, sla_due_at=due_at, sla_state=SlaState.RUNNING, nudge_at=due_at)
    return Transition(new, True, Answer.REASSIGNED, named=to_user,
                      owner_email=to_email.lower() if to_email else None, release_held=True)


# --- The follow-through worker's steps: remind, escalate, snooze over --------------------------------


@dataclass(frozen=True)
class Due:
    """A qualification whose next follow-through step is due, as the worker found it."""

    sla_state: str | None
    snoozed_until: datetime | None
    claimed: bool


@dataclass(frozen=True)
class Step:
    """What the worker does with a due step: post `nudge` (None: nothing), then leave the clock at
    `sla_state` with its next step at `nudge_at` (None: none); `ends_snooze`: the snooze is cleared."""

    nudge: NudgeKind | None
    sla_state: str | None
    nudge_at: datetime | None
    ends_snooze: bool = False


def next_step(due: Due, *, reachable: bool, now: datetime, escalate_at: datetime) -> Step:
    """The step due now. `reachable`: the lead is still open and its brief is in Slack; `escalate_at`: when the
    team queue is asked if a reminder goes out now. A claim stops reminders; a snooze that is over is said
    (and, on a clock still running, counts as the reminder)."""
    state = due.sla_state
    if not reachable:
        return Step(None, state, None)
    if due.snoozed_until is not None and due.snoozed_until <= now:
        if due.claimed or state in (None, SlaState.MET, SlaState.ESCALATED):
            return Step(NudgeKind.SNOOZE_OVER, state, None, ends_snooze=True)
        return Step(NudgeKind.SNOOZE_OVER, SlaState.REMINDED, escalate_at, ends_snooze=True)
    if due.claimed or state not in (SlaState.RUNNING, SlaState.REMINDED):
        return Step(None, state, None)
    if state == SlaState.RUNNING:
        return Step(NudgeKind.REMIND, SlaState.REMINDED, escalate_at)
    return Step(NudgeKind.ESCALATE, SlaState.ESCALATED, None)
