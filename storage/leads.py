"""Lead-level reads and writes behind Slack: search, notes, routes, a rep's open leads."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from briefs.people import display_name
from briefs.signals import fold
from storage.models import NOT_A_COPY, Delivery, HandoffNote, Lead, RepRoute
from storage.queries import find_lead

MAX_CANDIDATES = 400


@dataclass(frozen=True)
class Match:
    email: str
    name: str
    title: str | None
    company: str | None
    score: float
    owner_email: str | None = None


def _ratio(query: str, target: str) -> float:
    """Best similarity of the query to the whole text or to any run of as many words."""
    if not target:
        return 0.0
    if query in target:
        return 1.0 + len(query) / (len(target) + 1)
    words = target.split()
    n = max(1, len(query.split()))
    windows = {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}
    return max(difflib.SequenceMatcher(None, query, w).ratio() for w in windows | {target})


def search(session: Session, query: str, limit: int = 10) -> list[Match]:
    """Case- and accent-insensitive, tolerant of typos: substring hits first, then near misses."""
    q = fold(query)
    if not q:
        return []
    tokens = [t for t in q.split() if len(t) >= 2] or [q]
    # Substrings of each token catch typos anywhere but in every trigram at once.
    grams = {t[i:i + 3] for t in tokens for i in range(max(1, len(t) - 2))}
    conditions = [Lead.search_text.contains(t, autoescape=True) for t in tokens]
    rows = session.scalars(select(Lead).where(or_(*conditions)).limit(MAX_CANDIDATES)).all()
    if len(rows) < limit:
        more = session.scalars(
            select(Lead).where(or_(*(Lead.search_text.contains(g, autoescape=True) for g in grams))).limit(MAX_CANDIDATES)
        ).all()
        seen = {r.id for r in rows}
        rows = list(rows) + [r for r in more if r.id not in seen]
    scored = []
    for lead in rows:
        name = fold(display_name(lead.first_name, lead.last_name, ""))
        score = max(_ratio(q, name), _ratio(q, fold(lead.company or "")), _ratio(q, lead.email))
        if score >= 0.6:
            full = display_name(lead.first_name, lead.last_name, lead.email)
            scored.append(Match(lead.email, full, lead.title, lead.company, score, lead.owner_email))
    scored.sort(key=lambda m: (-m.score, m.name.lower()))
    return scored[:limit]


@dataclass(frozen=True)
class NoteAdded:
    lead_email: str
    lead_name: str
    channel: str | None
    thread_ts: str | None
    lead_id: int | None = None
    note_id: int | None = None


def add_note(session: Session, email: str, author: str, body: str, now: datetime, source: str = "slack") -> NoteAdded | None:
    lead = find_lead(session, email)
    if lead is None:
        return None
    note = HandoffNote(lead_id=lead.id, author=author, body=body, created_at=now, source=source)
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
        .where(Delivery.lead_id == lead_id, Delivery.ts.is_not(None), NOT_A_COPY)
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


