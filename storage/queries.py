"""Read queries: what a brief and a lookup need, as domain views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from briefs.model import BriefInput, QualificationView
from briefs.signals import ENGAGEMENT_KINDS, ActivityView, LeadView, NoteView
from storage.models import Activity, ContentAsset, HandoffNote, Lead, Qualification

# A brief reads at most this many recent activities; older ones are only counted.
HISTORY_LIMIT = 5000
OPEN_STATUSES = ("open", "claimed", "contacted")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def lead_view(lead: Lead) -> LeadView:
    return LeadView(
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        title=lead.title,
        company=lead.company,
        phone=lead.phone,
        owner_email=lead.owner_email,
        lifecycle_stage=lead.lifecycle_stage,
        score=lead.score,
        persona=lead.persona,
        is_customer=bool(lead.is_customer),
        customer_since=lead.customer_since,
        nps=lead.nps,
        csat=lead.csat,
        crm_url=lead.crm_url,
        first_seen_at=lead.first_seen_at,
        last_seen_at=lead.last_seen_at,
    )


def qualification_view(q: Qualification) -> QualificationView:
    return QualificationView(
        reason=q.reason,
        detail=q.detail or q.reason,
        triggered_at=q.triggered_at,
        qualified_at=q.qualified_at,
        id=q.id,
        note=q.note,
        status=q.status,
    )


def find_lead(session: Session, email: str) -> Lead | None:
    return session.scalars(select(Lead).where(Lead.email == normalise_email(email))).first()


def latest_qualification(session: Session, lead_id: int) -> Qualification | None:
    return session.scalars(
        select(Qualification)
        .where(Qualification.lead_id == lead_id)
        .order_by(Qualification.qualified_at.desc(), Qualification.id.desc())
        .limit(1)
    ).first()


def activity_views(session: Session, lead_id: int, limit: int = HISTORY_LIMIT) -> list[ActivityView]:
    rows = session.execute(
        select(
            Activity.kind,
            Activity.occurred_at,
            ContentAsset.title,
            ContentAsset.type,
            ContentAsset.topic,
            ContentAsset.url,
            Activity.url,
            Activity.campaign,
            Activity.subject,
            Activity.form,
            Activity.comments,
            Activity.properties,
        )
        .outerjoin(ContentAsset, ContentAsset.id == Activity.asset_id)
        .where(Activity.lead_id == lead_id)
        .order_by(Activity.occurred_at.desc())
        .limit(limit)
    ).all()
    return [
        ActivityView(
            kind=r[0],
            occurred_at=r[1],
            title=r[2],
            asset_type=r[3],
            topic=r[4],
            asset_url=r[5],
            url=r[6],
            campaign=r[7],
            subject=r[8],
            form=r[9],
            comments=r[10],
            properties=r[11] or {},
        )
        for r in rows
    ]


def note_views(session: Session, lead_id: int, limit: int = 20) -> list[NoteView]:
    rows = session.execute(
        select(HandoffNote.author, HandoffNote.body, HandoffNote.created_at)
        .where(HandoffNote.lead_id == lead_id)
        .order_by(HandoffNote.created_at.desc())
        .limit(limit)
    ).all()
    return [NoteView(author=r[0], body=r[1], created_at=r[2]) for r in rows]


def brief_input(session: Session, lead: Lead, now: datetime, qualification: Qualification | None = None) -> BriefInput:
    activities = activity_views(session, lead.id)
    older, older_first = 0, None
    if len(activities) >= HISTORY_LIMIT:
        oldest_loaded = activities[-1].occurred_at
        older, older_first = session.execute(
            select(func.count(), func.min(Activity.occurred_at)).where(
                Activity.lead_id == lead.id,
                Activity.occurred_at < oldest_loaded,
                Activity.kind.in_(ENGAGEMENT_KINDS),
            )
        ).one()
    q = qualification if qualification is not None else latest_qualification(session, lead.id)
    return BriefInput(
        lead=lead_view(lead),
        activities=activities,
        notes=note_views(session, lead.id),
        qualification=qualification_view(q) if q else None,
        now=now,
        older_touches=older or 0,
        older_first_touch=older_first,
    )


def lookup_brief(sessions, email: str, rules, now: datetime):
    """The current brief for a lead, or None. Opens and closes its own session."""
    from briefs.model import build_brief

    with sessions() as session:
        lead = find_lead(session, email)
        if lead is None:
            return None
        return build_brief(brief_input(session, lead, now), rules)
