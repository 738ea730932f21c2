"""Read queries: what a brief and a lookup need, as domain views."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from briefs.events import normalise_email
from briefs.model import BriefInput, QualificationView
from briefs.signals import ONE_TOUCH_KINDS, PAGE_VIEW_KINDS, ActivityView, LeadView, NoteView, TouchRow
from storage.driver import Driver
from storage.models import Account, Activity, HandoffNote, Lead, Qualification

# A brief reads this many recent activities in detail, plus up to OLDER_NOTABLE older ones of the kinds
# that say the most; the rest are only counted.
RECENT_ACTIVITIES = 300
OLDER_NOTABLE = 300
NOTABLE_KINDS = ("content_download", "form_submit", "webinar_attended", "webinar_registered", "event_attended",
                 "meeting_booked", "email_click")


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
        lead_source=lead.lead_source,
        lead_status=lead.lead_status,
        is_customer=bool(lead.is_customer),
        customer_since=lead.customer_since,
        nps=lead.nps,
        csat=lead.csat,
        crm_url=lead.crm_url,
        renewal_date=_day(lead.renewal_date),
        arr=lead.arr,
        currency=lead.currency,
        plan=lead.plan,
        csm_email=lead.csm_email,
        former_customer=bool(lead.former_customer),
        churned_on=_day(lead.churned_on),
        churn_reason=lead.churn_reason,
        open_escalations=lead.open_escalations,
        left_company=bool(lead.left_company),
    )


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:  # written by hand into the database: not a date we can use
        return None


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


def _utc(value) -> datetime:
    # SQLite hands back text (read raw: parsing it in C is several times faster); PostgreSQL a datetime.
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


_ACTIVITY_SELECT = (
    "SELECT a.kind, a.occurred_at, c.title, c.type, c.topic, c.url, a.url, a.campaign, a.subject, a.form, "
    "a.comments, a.properties, a.words FROM activities a LEFT OUTER JOIN content_assets c ON c.id = a.asset_id "
    "WHERE a.lead_id = {m}{since} ORDER BY a.occurred_at DESC LIMIT {m}"
)
# Both columns are in the (lead_id, occurred_at, kind) index: rows are only read once they match.
_SINCE = " AND (a.occurred_at >= {m} OR a.kind IN ({kinds}))"
_ONLY_SINCE = " AND a.occurred_at >= {m}"  # without or_kinds: "IN ()" is not SQL (PostgreSQL refuses it)


def activity_views(
    session: Session, lead_id: int, limit: int = RECENT_ACTIVITIES, since: datetime | None = None,
    or_kinds: tuple[str, ...] = (),
) -> list[ActivityView]:
    """Newest first. With `since`: only activities from then on, plus older ones of `or_kinds`.
    Read through the driver: a long history is hundreds of rows, and this is every lookup's hot path."""
    driver = Driver(session)
    m = driver.mark
    params: tuple = (lead_id,)
    where = ""
    if since is not None:
        where = (_SINCE.format(m=m, kinds=", ".join([m] * len(or_kinds))) if or_kinds
                 else _ONLY_SINCE.format(m=m))
        params += (driver.time(since), *or_kinds)
    sql = _ACTIVITY_SELECT.format(m=m, since=where)
    loads = json.loads if driver.sqlite else None  # SQLite keeps JSON as text; psycopg decodes it
    return [
        ActivityView(
            kind=r[0],
            occurred_at=_utc(r[1]),
            title=r[2],
            asset_type=r[3],
            topic=r[4],
            asset_url=r[5],
            url=r[6],
            campaign=r[7],
            subject=r[8],
            form=r[9],
            comments=r[10],
            properties=(loads(r[11]) if loads and r[11] is not None else r[11]) or {},
            words=r[12],  # decoded only for the form a brief quotes (briefs.words.from_json)
        )
        for r in session.connection().exec_driver_sql(sql, (*params, limit)).fetchall()
    ]


_PAGE_VIEWS = "SELECT kind, occurred_at, url FROM activities WHERE lead_id = {m} AND occurred_at < {m} AND kind IN ({kinds})"


def form_at(session: Session, lead_id: int, at: datetime) -> ActivityView | None:
    """The lead's form submitted at `at` (a brief's "Show full message" finds its form again by its time)."""
    row = session.execute(
        select(Activity.form, Activity.comments, Activity.properties, Activity.words, Activity.occurred_at)
        .where(Activity.lead_id == lead_id, Activity.kind == "form_submit",
               Activity.occurred_at.between(at - timedelta(seconds=1), at + timedelta(seconds=1)))
        .order_by(Activity.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return ActivityView(kind="form_submit", occurred_at=_utc(row.occurred_at), form=row.form, comments=row.comments,
                        properties=row.properties or {}, words=row.words)


def older_page_views(session: Session, lead_id: int, before: datetime) -> list[TouchRow]:
    """Page views before `before` as the minimal rows the touch rule needs (only these need a row each)."""
    driver = Driver(session)
    kinds = sorted(PAGE_VIEW_KINDS)
    sql = _PAGE_VIEWS.format(m=driver.mark, kinds=", ".join([driver.mark] * len(kinds)))
    rows = session.connection().exec_driver_sql(sql, (lead_id, driver.time(before), *kinds))
    return [(kind, _utc(at), url) for kind, at, url in rows]


def note_views(session: Session, lead_id: int, limit: int = 20) -> list[NoteView]:
    rows = session.execute(
        select(HandoffNote.author, HandoffNote.body, HandoffNote.created_at, HandoffNote.author_role,
               HandoffNote.author_ref, HandoffNote.id)
        .where(HandoffNote.lead_id == lead_id)
        .order_by(HandoffNote.created_at.desc())
        .limit(limit)
    ).all()
    return [NoteView(author=r[0], body=r[1], created_at=r[2], role=r[3], author_ref=r[4], id=r[5]) for r in rows]


def brief_input(session: Session, lead: Lead, now: datetime, qualification: Qualification | None = None) -> BriefInput:
    """The recent history in detail, plus the older activities that say the most (content, forms, webinars,
    clicks); everything older is only counted. Keeps a lookup fast however long the history."""
    cutoff = session.scalar(
        select(Activity.occurred_at)
        .where(Activity.lead_id == lead.id)
        .order_by(Activity.occurred_at.desc())
        .offset(RECENT_ACTIVITIES - 1)
        .limit(1)
    )
    page_views: list[TouchRow] = []
    older, older_first = 0, None
    if cutoff is None:  # a short history: all of it
        activities = activity_views(session, lead.id)
    else:
        activities = activity_views(session, lead.id, RECENT_ACTIVITIES + OLDER_NOTABLE, cutoff, NOTABLE_KINDS)
        page_views = older_page_views(session, lead.id, cutoff)
        # Every other engagement is one touch a row (the rule's ONE_TOUCH_KINDS): counted here, less those read.
        total, older_first = session.execute(
            select(func.count(), func.min(Activity.occurred_at)).where(
                Activity.lead_id == lead.id,
                Activity.occurred_at < cutoff,
                Activity.kind.in_(sorted(ONE_TOUCH_KINDS)),
            )
        ).one()
        read = sum(1 for a in activities if a.occurred_at < cutoff and a.kind in ONE_TOUCH_KINDS)
        older = max(0, (total or 0) - read)
    q = qualification if qualification is not None else latest_qualification(session, lead.id)
    return BriefInput(
        lead=lead_view(lead),
        activities=activities,
        notes=note_views(session, lead.id),
        qualification=qualification_view(q) if q else None,
        now=now,
        older_touch_rows=page_views,
        older_touches=older,
        older_first_touch=older_first,
        # The lead's account (issue 18): named in the brief; its committee is added by the use case.
        account_name=session.scalar(select(Account.name).where(Account.id == lead.account_id))
        if getattr(lead, "account_id", None) else None,
    )

