"""Erasure of one lead (`leadbrief forget`) and retention of activities (`leadbrief purge`), both audited.

`forget` removes everything stored about the lead in one transaction and hands back where its briefs were
posted in Slack, for `bot.usecases.privacy.redact_posted` to overwrite once the transaction has committed. Content
assets (white papers, pages) are shared by every lead and are not personal: they stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from briefs.events import normalise_email
from storage import accounts as account_store
from storage import audit, identity
from storage.models import (
    Activity,
    AuditEntry,
    Delivery,
    HandoffNote,
    Lead,
    ProcessedEvent,
    Qualification,
    SlackMessage,
)


@dataclass(frozen=True)
class Forgotten:
    """What `forget` removed (or, from `describe`, would remove)."""

    lead_ref: str  # the "forgotten:..." reference now standing for the lead in the audit log
    activities: int
    notes: int
    qualifications: int
    deliveries: int
    processed_events: int
    audit_entries: int  # entries anonymised
    posted: list[tuple[str, str]] = field(default_factory=list)  # (channel, ts) of the briefs posted in Slack
    visitor_links: int = 0  # the lead's visitor ids, and those chained to them
    pending_activities: int = 0  # activity of those visitors still waiting for a link


def _count(session: Session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _describe(session: Session, lead: Lead) -> Forgotten:
    email = normalise_email(lead.email)
    links, pending = identity.erase(session, lead.id, dry_run=True)
    posted = session.execute(
        select(Delivery.channel, Delivery.ts)
        .where(Delivery.lead_id == lead.id, Delivery.status == "sent", Delivery.channel.is_not(None),
               Delivery.ts.is_not(None))
        .order_by(Delivery.id)
    ).all()
    posted += session.execute(
        select(HandoffNote.slack_channel, HandoffNote.slack_ts)
        .where(HandoffNote.lead_id == lead.id, HandoffNote.slack_ts.is_not(None)).order_by(HandoffNote.id)
    ).all()
    posted += session.execute(
        select(SlackMessage.channel, SlackMessage.ts).where(SlackMessage.lead_id == lead.id).order_by(SlackMessage.id)
    ).all()
    return Forgotten(
        lead_ref=audit.forgotten_ref(email),
        activities=_count(session, Activity, Activity.lead_id == lead.id),
        notes=_count(session, HandoffNote, HandoffNote.lead_id == lead.id),
        qualifications=_count(session, Qualification, Qualification.lead_id == lead.id),
        deliveries=_count(session, Delivery, Delivery.lead_id == lead.id),
        processed_events=_count(session, ProcessedEvent, _claims_of(lead.id, email)),
        audit_entries=_count(session, AuditEntry, (AuditEntry.lead_id == lead.id) | (AuditEntry.lead_ref == email)),
        posted=[(c, t) for c, t in posted],
        visitor_links=links,
        pending_activities=pending,
    )


def _claims_of(lead_id: int, email: str):
    """The lead's idempotency records: those tied to it, and any other whose event id quotes the email (the
    contract allows any id; records from before 0012, and other kinds of claim, carry no lead_id)."""
    return (ProcessedEvent.lead_id == lead_id) | func.lower(ProcessedEvent.event_id).contains(email, autoescape=True)


def describe(session: Session, email: str) -> Forgotten | None:
    """What `forget` would remove, without removing anything (for the confirmation prompt)."""
    lead = session.scalars(select(Lead).where(Lead.email == normalise_email(email))).first()
    return None if lead is None else _describe(session, lead)


def forget(session: Session, email: str, actor: str, now: datetime) -> Forgotten | None:
    """Remove the lead with this email and everything about it; None if there is no such lead.

    In the caller's transaction: the lead, its activities, notes, qualifications, deliveries and the
    processed_events rows tied to it or quoting its email are deleted (explicitly, not only by ON DELETE CASCADE); its audit entries
    keep only the forgotten reference (lead_id cleared: SQLite may hand the id to a new lead), and audit details
    that quote the email have it replaced too. A "forget" entry records who did it, with the counts."""
    email = normalise_email(email)
    lead = session.scalars(select(Lead).where(Lead.email == email).with_for_update()).first()
    if lead is None:
        return None
    found = _describe(session, lead)
    ref = found.lead_ref
    lead_id = lead.id
    account_id = lead.account_id
    session.expunge(lead)

    def gone(stmt):
        session.execute(stmt.execution_options(synchronize_session=False))

    gone(delete(SlackMessage).where(SlackMessage.lead_id == lead_id))
    gone(delete(Delivery).where(Delivery.lead_id == lead_id))
    gone(delete(Qualification).where(Qualification.lead_id == lead_id))
    gone(delete(HandoffNote).where(HandoffNote.lead_id == lead_id))
    gone(delete(Activity).where(Activity.lead_id == lead_id))
    identity.erase(session, lead_id)
    # So that a redelivery after this creates the lead anew, and no event id keeps the address.
    gone(delete(ProcessedEvent).where(_claims_of(lead_id, email)))
    gone(delete(Lead).where(Lead.id == lead_id))
    if account_id is not None:  # an account only this lead made: its name and domain go too (issue 18)
        account_store.forget_if_empty(session, account_id)

    gone(update(AuditEntry)
         .where((AuditEntry.lead_id == lead_id) | (AuditEntry.lead_ref == email))
         .values(lead_ref=ref, lead_id=None))
    quoting = session.scalars(
        select(AuditEntry).where(func.lower(AuditEntry.detail).contains(email, autoescape=True))
    ).all()
    for entry in quoting:
        entry.detail = _replace_ci(entry.detail or "", email, ref)

    audit.record(
        session, actor=actor, action="forget", at=now, lead_ref=ref,
        detail=(f"removed {found.activities} activities, {found.notes} notes, {found.qualifications} "
                f"qualifications, {found.deliveries} deliveries, {found.processed_events} processed events; "
                f"{found.visitor_links} visitor ids, {found.pending_activities} pending activities; "
                f"{found.audit_entries} audit entries anonymised; {len(found.posted)} posted briefs to redact"),
    )
    session.flush()
    return found


def _replace_ci(text: str, needle: str, replacement: str) -> str:
    """`text` with every case-insensitive occurrence of `needle` replaced."""
    out, lower, i = [], text.lower(), 0
    while (j := lower.find(needle, i)) >= 0:
        out += [text[i:j], replacement]
        i = j + len(needle)
    out.append(text[i:])
    return "".join(out)


def purge(session: Session, retention_days: int, actor: str, now: datetime, dry_run: bool = False) -> int:
    """Delete activities that occurred before now - retention_days; return how many (would be) deleted.

    Recorded in the audit log as "purge" with the count and cutoff (a dry run changes nothing and records
    nothing). Leads, notes and qualifications stay; processed_events stay too, so an old event sent again is
    still recognised as a duplicate rather than stored anew."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = now - timedelta(days=retention_days)
    old = Activity.occurred_at < cutoff
    if dry_run:
        return _count(session, Activity, old)
    result = session.execute(delete(Activity).where(old).execution_options(synchronize_session=False))
    count = result.rowcount or 0
    # Activity of visitors never identified is kept a shorter time (briefs.identity.PENDING_MAX_AGE).
    pending = identity.purge_pending(session, now)
    audit.record(session, actor=actor, action="purge", at=now,
                 detail=f"deleted {count} activities older than {cutoff.isoformat()} ({retention_days} days)"
                        + (f" and {pending} pending activities of unidentified visitors" if pending else ""))
    return count
