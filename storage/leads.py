"""Lead-level reads and writes behind Slack: search, notes, routes, a rep's open leads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from briefs.people import display_name
from storage import search as search_store
from storage.models import OWN_DELIVERY, Delivery, HandoffNote, RepRoute
from storage.queries import find_lead


@dataclass(frozen=True)
class Match:
    email: str
    name: str
    title: str | None
    company: str | None
    score: float
    owner_email: str | None = None
    company_fold: str = ""
    company_matched: bool = False  # the query named this lead's company


def search(session: Session, query: str, limit: int = 10, owner: str | None = None,
           viewer: str | None = None) -> list[Match]:
    """The leads best matching the query (briefs.search ranks them), `limit` at most; with `owner` (a
    lower-cased email, under own_leads_only) only that owner's leads, filtered in the database. `viewer`: the
    searching rep's email, lower-cased: among leads spelt alike, theirs come first."""
    found = search_store.candidates(session, query, limit, owner, viewer)
    return [Match(c.email, display_name(c.first_name, c.last_name, c.email), c.title, c.company, s.tier + s.score,
                  c.owner_email, c.company_fold, s.company_matched)
            for s in found[:limit] for c in (s.candidate,)]


def company_totals(session: Session, companies: list[str], owner: str | None = None) -> dict[str, int]:
    return search_store.company_totals(session, companies, owner)


@dataclass(frozen=True)
class NoteAdded:
    lead_email: str
    lead_name: str
    channel: str | None
    thread_ts: str | None
    lead_id: int | None = None
    note_id: int | None = None


def add_note(session: Session, email: str, author: str, body: str, now: datetime, source: str = "slack",
             role: str | None = None, author_ref: str | None = None) -> NoteAdded | None:
    lead = find_lead(session, email)
    if lead is None:
        return None
    note = HandoffNote(lead_id=lead.id, author=author, body=body, created_at=now, source=source, author_role=role,
                       author_ref=author_ref)
    session.add(note)
    session.flush()
    posted = latest_posted(session, lead.id)
    return NoteAdded(lead.email, display_name(lead.first_name, lead.last_name, lead.email), posted.channel if posted else None, posted.ts if posted else None, lead.id,
                     note.id)


def note_posted(session: Session, note_id: int, channel: str, ts: str) -> None:
    note = session.get(HandoffNote, note_id)
    if note is not None:
        note.slack_channel, note.slack_ts = channel, ts


def latest_posted(session: Session, lead_id: int) -> Delivery | None:
    return session.scalars(
        select(Delivery)
        .where(Delivery.lead_id == lead_id, Delivery.ts.is_not(None), OWN_DELIVERY)
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(1)
    ).first()


def get_route(session: Session, email: str | None) -> str | None:
    if not email:
        return None
    route = session.get(RepRoute, email.strip().lower())
    return route.channel_id if route else None


def set_route(session: Session, email: str, channel_id: str, set_by: str, now: datetime) -> None:
    email = email.strip().lower()
    route = session.get(RepRoute, email)
    if route is None:
        session.add(RepRoute(email=email, channel_id=channel_id, set_by=set_by, set_at=now))
    else:
        route.channel_id, route.set_by, route.set_at = channel_id, set_by, now


