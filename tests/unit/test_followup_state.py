"""The follow-up state machine (briefs.followup): every transition, pure, no database."""

from datetime import UTC, datetime, timedelta

from briefs.blocks import answer_text
from briefs.followup import (
    STOPS_CLOCK,
    Answer,
    Due,
    FollowUp,
    NudgeKind,
    RepAction,
    SlaState,
    SnoozeChoice,
    Status,
    claim,
    contacted,
    next_step,
    not_a_fit,
    reassign,
    snooze,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
DUE = NOW + timedelta(minutes=5)
LATER = NOW + timedelta(hours=1)


def running(**kw) -> FollowUp:
    values = {"sla_due_at": DUE, "sla_state": SlaState.RUNNING, "nudge_at": DUE, "rep_user": "U0JANE"} | kw
    return FollowUp(7, **values)


def test_stored_strings_are_unchanged():
    assert [s.value for s in Status] == ["open", "claimed", "contacted", "not_a_fit", "closed", "do_not_contact"]
    assert [s.value for s in SlaState] == ["running", "reminded", "escalated", "met"]
    assert [a.value for a in RepAction] == ["lead_claim", "lead_contacted", "lead_not_a_fit", "lead_snooze",
                                            "lead_reassign"]
    assert [n.value for n in NudgeKind] == ["remind", "escalate", "snooze_over"]


def test_a_claim_stops_the_clock_and_makes_the_claimer_the_owner():
    t = claim(running(), "U0OMAR", "Omar@OurCo.example", NOW)
    assert t.changed and t.answer == Answer.CLAIMED and t.owner_email == "omar@ourco.example"
    s = t.state
    assert (s.status, s.claimed_by, s.claimed_at, s.sla_state, s.nudge_at) == (Status.CLAIMED, "U0OMAR", NOW,
                                                                                SlaState.MET, None)
    again = claim(s, "U0JANE", None, LATER)
    assert not again.changed and again.state == s and again.answer == Answer.ALREADY_CLAIMED
    assert answer_text(again, "U0JANE") == "Already claimed by <@U0OMAR>."
    assert answer_text(claim(s, "U0OMAR", None, LATER), "U0OMAR") == "Already claimed by you."


def test_a_late_claim_keeps_the_clock_late_and_a_snooze_still_reminds():
    late = claim(running(sla_state=SlaState.REMINDED), "U0OMAR", None, NOW).state
    assert late.sla_state == SlaState.REMINDED and late.nudge_at is None
    snoozed = claim(running(snoozed_until=LATER, nudge_at=LATER), "U0OMAR", None, NOW).state
    assert snoozed.nudge_at == LATER


def test_contacted_claims_too_and_ends_a_snooze():
    t = contacted(running(snoozed_until=LATER, snoozed_by="U0JANE", nudge_at=LATER), "U0OMAR", NOW)
    s = t.state
    assert (s.status, s.contacted_by, s.claimed_by, s.sla_state) == (Status.CONTACTED, "U0OMAR", "U0OMAR", SlaState.MET)
    assert (s.snoozed_until, s.snoozed_by) == (None, None)
    assert answer_text(contacted(s, "U0JANE", LATER), "U0JANE") == "First touch was already recorded by <@U0OMAR>."


def test_not_a_fit_closes_the_episode_and_every_action_after_it_is_refused():
    t = not_a_fit(running(snoozed_until=LATER), "U0JANE", "No budget", NOW)
    s = t.state
    assert (s.status, s.closed_by, s.closed_at, s.closed_reason, s.nudge_at, s.snoozed_until) == (
        Status.NOT_A_FIT, "U0JANE", NOW, "No budget", None, None)
    assert s.closed and s.answered_by == "U0JANE"
    for refused in (claim(s, "U0OMAR", None, LATER), contacted(s, "U0OMAR", LATER),
                    not_a_fit(s, "U0OMAR", "Other", LATER), snooze(s, "U0OMAR", LATER, SnoozeChoice.HOUR),
                    reassign(s, "U0OMAR", "U0MIA", None, LATER, LATER)):
        assert not refused.changed and refused.state == s and refused.answer == Answer.ALREADY_CLOSED
        assert answer_text(refused, "U0OMAR") == "This lead was already closed."


def test_snooze_schedules_its_end_unless_the_lead_was_contacted():
    t = snooze(running(), "U0JANE", LATER, SnoozeChoice.MORNING)
    assert (t.state.snoozed_until, t.state.snoozed_by, t.state.nudge_at) == (LATER, "U0JANE", LATER)
    assert answer_text(t, "U0JANE").startswith("Snoozed until tomorrow morning.")
    done = contacted(running(), "U0JANE", NOW).state
    assert snooze(done, "U0JANE", LATER, SnoozeChoice.HOUR).answer == Answer.NOTHING_TO_SNOOZE


def test_reassign_starts_a_fresh_clock_for_the_new_rep():
    claimed = claim(running(snoozed_until=LATER), "U0JANE", None, NOW).state
    t = reassign(claimed, "U0JANE", "U0OMAR", "omar@ourco.example", NOW, LATER)
    s = t.state
    assert t.changed and t.release_held and t.owner_email == "omar@ourco.example"
    assert (s.rep_user, s.reassigned_by, s.claimed_by, s.status) == ("U0OMAR", "U0JANE", None, Status.OPEN)
    assert (s.sla_due_at, s.sla_state, s.nudge_at, s.snoozed_until) == (LATER, SlaState.RUNNING, LATER, None)
    assert answer_text(t, "U0JANE") == "Reassigned to <@U0OMAR>; they have been told."
    again = reassign(s, "U0JANE", "U0OMAR", None, NOW, LATER)
    assert not again.changed and answer_text(again, "U0JANE") == "It is already with <@U0OMAR>."


def test_reassigning_a_contacted_lead_hands_the_contact_over():
    done = contacted(running(), "U0JANE", NOW).state
    s = reassign(done, "U0JANE", "U0OMAR", None, LATER, LATER + timedelta(minutes=5)).state
    assert (s.status, s.claimed_by, s.claimed_at, s.sla_state) == (Status.CONTACTED, "U0OMAR", LATER, SlaState.MET)


def test_which_actions_stop_the_clock_is_said_once():
    assert {RepAction.CLAIM, RepAction.CONTACTED} == STOPS_CLOCK


def step(state, snoozed_until=None, claimed=False, reachable=True):
    return next_step(Due(state, snoozed_until, claimed), reachable=reachable, now=NOW, escalate_at=LATER)


def test_the_workers_steps_remind_then_escalate_unless_someone_picked_the_lead_up():
    r = step(SlaState.RUNNING)
    assert (r.nudge, r.sla_state, r.nudge_at) == (NudgeKind.REMIND, SlaState.REMINDED, LATER)
    e = step(SlaState.REMINDED)
    assert (e.nudge, e.sla_state, e.nudge_at) == (NudgeKind.ESCALATE, SlaState.ESCALATED, None)
    for quiet in (step(SlaState.RUNNING, claimed=True), step(SlaState.MET), step(None), step(SlaState.ESCALATED),
                  step(SlaState.RUNNING, reachable=False)):
        assert quiet.nudge is None and quiet.nudge_at is None and not quiet.ends_snooze


def test_a_snooze_that_is_over_is_said_and_counts_as_the_reminder_on_a_running_clock():
    over = step(SlaState.RUNNING, snoozed_until=NOW)
    assert (over.nudge, over.sla_state, over.nudge_at, over.ends_snooze) == (NudgeKind.SNOOZE_OVER, SlaState.REMINDED,
                                                                            LATER, True)
    claimed = step(SlaState.MET, snoozed_until=NOW, claimed=True)
    assert (claimed.nudge, claimed.sla_state, claimed.nudge_at) == (NudgeKind.SNOOZE_OVER, SlaState.MET, None)
    not_yet = step(SlaState.RUNNING, snoozed_until=LATER)
    assert not_yet.nudge == NudgeKind.REMIND
