"""Lead-level reads and writes behind Slack: search, notes, routes, a rep's open leads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from briefs.followthrough import THREAD_UPDATE_HORIZON
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
    brief_on_its_way: bool = False  # a (newer) brief is queued: the note goes into its thread once posted
    retried: bool = False  # posted into thread_ts by the worker if Slack refuses it now


def add_note(session: Session, email: str, author: str, body: str, now: datetime, source: str = "slack",
             role: str | None = None, author_ref: str | None = None) -> NoteAdded | None:
    """Save a note. When the lead's latest brief is in Slack (and no newer one is on its way), the note is
    claimed for its thread (the caller posts it), so that the worker posting the notes a brief does not show
    (notes_for_threads) leaves it alone; otherwise that worker posts it once the brief is out."""
    lead = find_lead(session, email)
    if lead is None:
        return None
    posted = latest_posted(session, lead.id)
    on_its_way = _brief_on_its_way(session, lead.id, after=posted.id if posted is not None else 0)
    if on_its_way:
        posted = None  # the newer brief's thread is where the rep will look
    note = HandoffNote(lead_id=lead.id, author=author, body=body, created_at=now, source=source, author_role=role,
                       author_ref=author_ref, thread_claimed_at=now if posted is not None else None)
    session.add(note)
    session.flush()
    # Whether the worker would post it there again if Slack refuses it now (notes_for_threads).
    retried = (posted is not None and posted.kind == "brief" and posted.notes_through is not None
               and posted.sent_at is not None and posted.sent_at >= now - THREAD_UPDATE_HORIZON)
    return NoteAdded(lead.email, display_name(lead.first_name, lead.last_name, lead.email),
                     posted.channel if posted else None, posted.ts if posted else None, lead.id, note.id,
                     brief_on_its_way=on_its_way, retried=retried)


def _brief_on_its_way(session: Session, lead_id: int, after: int = 0) -> bool:
    """A brief for the lead newer than delivery `after` is queued, being posted or held (for a digest, or
    retrying): not yet in Slack."""
    return session.scalar(select(Delivery.id).where(
        Delivery.lead_id == lead_id, Delivery.kind == "brief", Delivery.id > after,
        Delivery.status.in_(("pending", "digest", "digesting"))).limit(1)) is not None


def note_posted(session: Session, note_id: int, channel: str, ts: str) -> None:
    note = session.get(HandoffNote, note_id)
    if note is not None:
        note.slack_channel, note.slack_ts = channel, ts


def newest_note_id(session: Session) -> int:
    return session.scalar(select(func.max(HandoffNote.id))) or 0


# Notes written this long before the oldest brief looked at may still be missing from it (a lead.note
# timed by its sender, a brief held for days): older ones are not looked at, so the read stays small.
NOTE_LOOKBACK = timedelta(days=7)

# A note claimed for a thread with no ts recorded this long after: the post failed or its process died; it
# may be taken again.
NOTE_CLAIM = timedelta(minutes=5)


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Not in a thread yet, and nobody has it (or whoever took it NOTE_CLAIM ago did not post it)."""
    return and_(HandoffNote.slack_ts.is_(None),
                or_(HandoffNote.thread_claimed_at.is_(None), HandoffNote.thread_claimed_at < now - NOTE_CLAIM))


@dataclass(frozen=True)
class ThreadNote:
    """A handoff note its lead's posted brief does not show, and the thread to post it in."""

    note_id: int
    author: str
    author_ref: str | None
    role: str | None
    body: str
    created_at: datetime
    channel: str
    thread_ts: str


def notes_for_threads(session: Session, now: datetime, since: datetime, limit: int = 50) -> list[ThreadNote]:
    """Notes stored after the latest brief of their lead was built (while it waited in the outbox, or between
    Slack taking it and its ts being recorded), not yet in its thread and not claimed (or claimed NOTE_CLAIM
    ago): briefs posted since `since`; oldest first. Briefs queued before migration 0021 are left alone."""
    newer = aliased(Delivery)
    # A newer brief, posted or on its way (not dead-lettered): the note belongs in its thread, or shows in it.
    later_brief = (select(newer.id).where(newer.lead_id == Delivery.lead_id, newer.kind == "brief",
                                          newer.status != "failed", newer.id > Delivery.id).exists())
    rows = session.execute(
        select(HandoffNote.id, HandoffNote.author, HandoffNote.author_ref, HandoffNote.author_role, HandoffNote.body,
               HandoffNote.created_at, Delivery.channel, Delivery.ts)
        .join(Delivery, Delivery.lead_id == HandoffNote.lead_id)
        .where(HandoffNote.created_at >= since - NOTE_LOOKBACK,
               Delivery.kind == "brief", Delivery.ts.is_not(None), Delivery.sent_at >= since,
               Delivery.notes_through.is_not(None), HandoffNote.id > Delivery.notes_through, ~later_brief,
               _claimable(now))
        .order_by(HandoffNote.id).limit(limit)
    ).all()
    return [ThreadNote(*row) for row in rows]


# A note whose thread is gone (channel archived, brief deleted): claimed for good, never tried again.
GAVE_UP = datetime(9999, 1, 1, tzinfo=UTC)


def give_up_note(session: Session, note_id: int) -> None:
    session.execute(update(HandoffNote).where(HandoffNote.id == note_id).values(thread_claimed_at=GAVE_UP))


def claim_note(session: Session, note_id: int, now: datetime) -> HandoffNote | None:
    """Take the note to post in a thread: the note as it is now, or None if another worker has it, it is
    posted, or it was erased meanwhile."""
    taken = session.execute(update(HandoffNote).where(HandoffNote.id == note_id, _claimable(now))
                            .values(thread_claimed_at=now))
    return session.get(HandoffNote, note_id) if taken.rowcount else None


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


