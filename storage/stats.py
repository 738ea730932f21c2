"""Rows behind `/lead stats` and `leadbrief report`: one per qualification in a period; and the outbox
figures `/metrics` reads at scrape time.

Aggregation (counts, medians, shares) happens in Python (briefs.stats), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from briefs.stats import StatRow
from storage import outbox
from storage.models import OWN_DELIVERY, Activity, Delivery, Lead, Qualification


def rows(session: Session, days: int, now: datetime, owner: str | None = None) -> list[StatRow]:
    """Qualifications with qualified_at in [now - days, now]. owner: only that rep's leads (own_leads_only).

    campaign: the campaign of the lead's most recent activity with one at or before the qualification."""
    since = now - timedelta(days=days)
    campaign = (
        select(Activity.campaign)
        .where(Activity.lead_id == Qualification.lead_id, Activity.campaign.is_not(None), Activity.campaign != "",
               Activity.occurred_at <= Qualification.qualified_at)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(1)
        .correlate(Qualification)
        .scalar_subquery()
    )
    stmt = (
        select(Lead.lead_source, campaign, Qualification.qualified_at, Delivery.status, Delivery.kind,
               Qualification.claimed_at,
               Qualification.contacted_at, Qualification.status, Qualification.status_reason,
               Qualification.triage_delivery, Qualification.triage_category, Qualification.triage_rule,
               Qualification.overridden_at, Qualification.episode)
        .join(Lead, Lead.id == Qualification.lead_id)
        .outerjoin(Delivery, and_(Delivery.qualification_id == Qualification.id, OWN_DELIVERY))
        .where(and_(Qualification.qualified_at >= since, Qualification.qualified_at <= now))
        .order_by(Qualification.qualified_at, Qualification.id)
    )
    if owner is not None:
        stmt = stmt.where(func.lower(Lead.owner_email) == owner.lower())
    return [
        # A triage notice is not a brief: only briefs count as posted.
        StatRow(source=source, campaign=camp, qualified_at=qualified_at, posted=delivery == "sent" and kind != "notice",
                claimed_at=claimed_at, contacted_at=contacted_at, status=status, status_reason=reason,
                triage_delivery=triaged, triage_category=category, triage_rule=rule,
                overridden=overridden_at is not None, episode=episode)
        for (source, camp, qualified_at, delivery, kind, claimed_at, contacted_at, status, reason, triaged, category, rule,
             overridden_at, episode) in session.execute(stmt)
    ]


@dataclass(frozen=True)
class OutboxFigures:
    """The outbox and the follow-through backlog, as plain values."""

    deliveries: dict[str, int]  # by status
    retrying: int  # pending deliveries whose last attempt failed
    oldest_pending: datetime | None  # created_at of the oldest pending delivery
    overdue: int  # open leads past their speed-to-lead goal, still unclaimed (reminded or escalated)


def outbox_figures(session: Session) -> OutboxFigures:
    oldest = session.scalar(select(func.min(Delivery.created_at)).where(Delivery.status == "pending"))
    overdue = session.scalar(select(func.count()).select_from(Qualification).where(
        Qualification.sla_state.in_(("reminded", "escalated")), Qualification.claimed_by.is_(None),
        Qualification.status == "open"))
    return OutboxFigures(outbox.counts(session), outbox.retrying(session), oldest, overdue or 0)
