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
        return True, "First touch recorded."

    return _change(session, qualification_id, apply)


def not_a_fit(session: Session, qualification_id: int, user_id: str, reason: str, now: datetime) -> Outcome | None:
    def apply(q: Qualification, _lead: Lead):
        q.status, q.status_by, q.status_changed_at, q.status_reason = "not_a_fit", user_id, now, reason
        return True, "Marked as not a fit; marketing will see your reason."

    return _change(session, qualification_id, apply)
