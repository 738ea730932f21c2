"""What reps do with a brief: claim, contacted, not a fit. Each change is idempotent and recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from briefs.blocks import FollowUp
from storage.models import Delivery, Lead, Qualification

CLOSED = ("not_a_fit", "closed")


@dataclass(frozen=True)
class Outcome:
    changed: bool
    message: str  # for the clicker, ephemeral
    delivery: Delivery | None
    followup: FollowUp | None


def followup_state(q: Qualification, queue_reason: str | None, crm_url: str | None) -> FollowUp:
    return FollowUp(
        qualification_id=q.id,
        queue_reason=queue_reason,
        status=q.status,
        claimed_by=q.claimed_by,
        claimed_at=q.claimed_at,
        contacted_by=q.contacted_by,
        contacted_at=q.contacted_at,
        closed_by=q.status_by if q.status in CLOSED else None,
        closed_at=q.status_changed_at if q.status in CLOSED else None,
        closed_reason=q.status_reason if q.status in CLOSED else None,
        crm_url=crm_url,
        qualified_at=q.qualified_at,
        rep_user=q.rep_user,
        sla_due_at=q.sla_due_at,
        sla_state=q.sla_state,
        snoozed_until=q.snoozed_until,
        snoozed_by=q.snoozed_by,
        reassigned_by=q.reassigned_by,
        reassigned_at=q.reassigned_at,
    )


def _load(session: Session, qualification_id: int) -> tuple[Qualification, Lead, Delivery | None] | None:
    q = session.get(Qualification, qualification_id, with_for_update=True)
    if q is None:
        return None
    lead = session.get(Lead, q.lead_id)
    delivery = session.scalars(select(Delivery).where(Delivery.qualification_id == q.id)).first()
    return q, lead, delivery


def _outcome(changed: bool, message: str, q: Qualification, lead: Lead, delivery: Delivery | None) -> Outcome:
    state = followup_state(q, delivery.queue_reason if delivery else None, lead.crm_url)
    return Outcome(changed, message, delivery, state)


def _change(session: Session, qualification_id: int, apply) -> Outcome | None:
    """Load under a row lock, refuse closed episodes, then apply(q, lead) -> (changed, message)."""
    loaded = _load(session, qualification_id)
    if loaded is None:
        return None
    q, lead, delivery = loaded
    if q.status in CLOSED:
        return _outcome(False, "This lead was already closed.", q, lead, delivery)
    changed, message = apply(q, lead)
    return _outcome(changed, message, q, lead, delivery)


def claim(session: Session, qualification_id: int, user_id: str, user_email: str | None, now: datetime) -> Outcome | None:
    def apply(q: Qualification, lead: Lead):
        if q.claimed_by:
            return False, f"Already claimed by {'you' if q.claimed_by == user_id else f'<@{q.claimed_by}>'}."
        q.claimed_by, q.claimed_at = user_id, now
        if q.status == "open":
            q.status = "claimed"
        _clock_met(q)
        if user_email:
            lead.owner_email = user_email.lower()
        return True, "It's yours. Call now: the first five minutes matter most."

    return _change(session, qualification_id, apply)


def contacted(session: Session, qualification_id: int, user_id: str, now: datetime) -> Outcome | None:
    def apply(q: Qualification, _lead: Lead):
        if q.contacted_at:
            return False, f"First touch was already recorded by <@{q.contacted_by}>."
        q.contacted_by, q.contacted_at, q.status = user_id, now, "contacted"
        if not q.claimed_by:
            q.claimed_by, q.claimed_at = user_id, now
        _clock_met(q)
        q.snoozed_until = q.snoozed_by = None
        return True, "First touch recorded."

    return _change(session, qualification_id, apply)


def not_a_fit(session: Session, qualification_id: int, user_id: str, reason: str, now: datetime) -> Outcome | None:
    def apply(q: Qualification, _lead: Lead):
        q.status, q.status_by, q.status_changed_at, q.status_reason = "not_a_fit", user_id, now, reason
        q.nudge_at = q.snoozed_until = q.snoozed_by = None
        return True, "Marked as not a fit; marketing will see your reason."

    return _change(session, qualification_id, apply)


def _clock_met(q: Qualification) -> None:
    """Claimed or called: the speed-to-lead clock stops (a snooze still reminds the rep when it ends)."""
    if q.sla_state in ("running", "reminded", "escalated"):
        q.sla_state = "met" if q.sla_state == "running" else q.sla_state
    q.nudge_at = q.snoozed_until if q.snoozed_until else None


def snooze(session: Session, qualification_id: int, user_id: str, until: datetime, label: str) -> Outcome | None:
    """No reminders until `until`; then one in the thread. The clock goes on after that."""
    def apply(q: Qualification, _lead: Lead):
        if q.contacted_at:
            return False, "This lead was already contacted; nothing to snooze."
        q.snoozed_until, q.snoozed_by, q.nudge_at = until, user_id, until
        return True, f"Snoozed {label}. You'll get a reminder in the thread when it ends."

    return _change(session, qualification_id, apply)


def reassign(session: Session, qualification_id: int, by: str, to_user: str, to_email: str | None, now: datetime,
             due_at: datetime | None) -> Outcome | None:
    """The lead goes to another rep: their claim to make, on a fresh clock in their time zone."""
    def apply(q: Qualification, lead: Lead):
        if q.rep_user == to_user and not q.claimed_by:
            return False, f"It is already with <@{to_user}>."
        if q.contacted_at:
            q.rep_user, q.reassigned_by, q.reassigned_at = to_user, by, now
            q.claimed_by, q.claimed_at = to_user, now
        else:
            q.rep_user, q.reassigned_by, q.reassigned_at = to_user, by, now
            q.claimed_by = q.claimed_at = None
            if q.status == "claimed":
                q.status = "open"
            q.snoozed_until = q.snoozed_by = None
            if due_at is not None:
                q.sla_due_at, q.sla_state, q.nudge_at = due_at, "running", due_at
        if to_email:
            lead.owner_email = to_email.lower()
        return True, f"Reassigned to <@{to_user}>; they have been told."

    outcome = _change(session, qualification_id, apply)
    held = outcome.delivery if outcome is not None and outcome.changed else None
    if held is not None and held.status == "digest":
        # Held for the old rep's digest: it goes out now as a brief of its own, routed to the new rep.
        held.status, held.digest_user, held.next_attempt_at = "pending", None, now
    return outcome
