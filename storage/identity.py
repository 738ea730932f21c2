"""Visitor links and the activity waiting for one, in the ingest transaction (storage.ingest.write calls these).

Which lead a visitor resolves to, which link wins and how long activity may wait are briefs.identity's call;
this module reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from briefs import identity
from briefs.events import ActivityEvent, Visitor
from briefs.identity import Key, Target
from storage.models import Lead, PendingActivity, VisitorLink

SourceKey = tuple[str, str, str]  # (source, kind, id)


def _insert(session: Session, model):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


def save_link(session: Session, source: str, key: Key, target: Target, at: datetime) -> bool:
    """Record that `key` of `source` stands for `target`, unless briefs.identity keeps the link it has. True when
    the key's link was written or changed (activity waiting for it may now resolve)."""
    kind, visitor_id = key
    if target.user_id is not None and key == ("user_id", target.user_id):
        return False  # a user id is itself
    session.execute(
        _insert(session, VisitorLink).on_conflict_do_nothing(index_elements=["source", "kind", "visitor_id"]),
        [{"source": source, "kind": kind, "visitor_id": visitor_id, "lead_id": target.lead_id,
          "user_id": target.user_id, "linked_at": at}],
    )
    row = session.scalars(select(VisitorLink).where(
        VisitorLink.source == source, VisitorLink.kind == kind, VisitorLink.visitor_id == visitor_id,
    ).with_for_update()).one()
    if (row.lead_id, row.user_id) == (target.lead_id, target.user_id):
        return row.linked_at == at  # just inserted (or the same link again)
    current = Target(row.lead_id, row.user_id)
    if not identity.replaces(current, target, row.linked_at, at):
        return False
    row.lead_id, row.user_id, row.linked_at = target.lead_id, target.user_id, at
    session.flush()
    return True


def _links(session: Session, source: str, keys: Iterable[Key]) -> dict[Key, Target]:
    """The links reachable from `keys`, read hop by hop (at most briefs.identity.MAX_HOPS)."""
    found: dict[Key, Target] = {}
    wanted = set(keys)
    for _ in range(identity.MAX_HOPS):
        wanted -= found.keys()
        if not wanted:
            break
        rows = session.execute(select(VisitorLink.kind, VisitorLink.visitor_id, VisitorLink.lead_id, VisitorLink.user_id)
                               .where(VisitorLink.source == source,
                                      tuple_(VisitorLink.kind, VisitorLink.visitor_id).in_(sorted(wanted)))).all()
        for kind, visitor_id, lead_id, user_id in rows:
            found[kind, visitor_id] = Target(lead_id, user_id)
        wanted = {t.next_key for t in found.values() if t.next_key is not None} - found.keys()
    return found


def resolve(session: Session, source: str, visitor: Visitor) -> int | None:
    """The lead id this source's visitor stands for, if it is linked to one (directly or through a chain)."""
    return resolve_keys(session, source, visitor.ids())


def resolve_keys(session: Session, source: str, keys: list[Key]) -> int | None:
    return identity.resolve(keys, _links(session, source, keys))


def linked_to(session: Session, starts: set[SourceKey], lead_id: int | None = None) -> set[SourceKey]:
    """Every key whose chain runs through one of `starts` (or, with lead_id, ends at that lead): the keys whose
    activity a new link may resolve, or that erasure must remove."""
    found = set(starts)
    if lead_id is not None:
        found |= {(s, k, v) for s, k, v in session.execute(
            select(VisitorLink.source, VisitorLink.kind, VisitorLink.visitor_id).where(VisitorLink.lead_id == lead_id))}
    frontier = set(found)
    for _ in range(identity.MAX_HOPS):
        users = sorted({(s, v) for s, k, v in frontier if k == "user_id"})
        if not users:
            break
        rows = session.execute(select(VisitorLink.source, VisitorLink.kind, VisitorLink.visitor_id)
                               .where(tuple_(VisitorLink.source, VisitorLink.user_id).in_(users))).all()
        frontier = {(s, k, v) for s, k, v in rows} - found
        found |= frontier
    return found


def _pending_of(keys: set[SourceKey]):
    users = sorted((s, v) for s, k, v in keys if k == "user_id")
    anons = sorted((s, v) for s, k, v in keys if k == "anonymous_id")
    clauses = []
    if users:
        clauses.append(tuple_(PendingActivity.source, PendingActivity.user_id).in_(users))
    if anons:
        clauses.append(tuple_(PendingActivity.source, PendingActivity.anonymous_id).in_(anons))
    return or_(*clauses) if clauses else None


def attach(session: Session, linked: set[SourceKey], now: datetime) -> list[tuple[ActivityEvent, int]]:
    """The pending activities that the links just written resolve: taken out of pending_activities (so that no
    other transaction attaches them too), each with the lead id it now belongs to. Expired ones are dropped."""
    where = _pending_of(linked_to(session, linked))
    if where is None:
        return []
    rows = session.execute(select(PendingActivity.id, PendingActivity.source, PendingActivity.occurred_at,
                                  PendingActivity.event).where(where).order_by(PendingActivity.id)).all()
    cutoff = identity.pending_cutoff(now)
    take: dict[int, tuple[ActivityEvent, int]] = {}
    expired = []
    for row_id, source, occurred_at, data in rows:
        event = ActivityEvent.model_validate(data)
        if occurred_at < cutoff:
            expired.append(row_id)
            continue
        lead_id = resolve(session, source, event.visitor) if event.visitor else None
        if lead_id is not None:
            take[row_id] = (event, lead_id)
    if expired:
        session.execute(delete(PendingActivity).where(PendingActivity.id.in_(expired))
                        .execution_options(synchronize_session=False))
    if not take:
        return []
    # Whichever transaction deletes a row attaches it: a concurrent batch linking the same visitor gets nothing.
    mine = session.scalars(delete(PendingActivity).where(PendingActivity.id.in_(sorted(take)))
                           .returning(PendingActivity.id).execution_options(synchronize_session=False)).all()
    return [take[row_id] for row_id in sorted(mine)]


def keep_pending(session: Session, events: list[ActivityEvent], now: datetime) -> None:
    """Keep activities of visitors linked to no lead yet, within briefs.identity's bounds (age, per visitor)."""
    cutoff = identity.pending_cutoff(now)
    rows = [e for e in events if e.visitor is not None and e.occurred_at >= cutoff]
    if not rows:
        return
    session.execute(
        _insert(session, PendingActivity).on_conflict_do_nothing(index_elements=["source", "source_event_id"]),
        [{"source": e.source, "source_event_id": e.id, "user_id": e.visitor.user_id,
          "anonymous_id": e.visitor.anonymous_id, "occurred_at": e.occurred_at, "received_at": now,
          "event": e.model_dump(mode="json", exclude_none=True)} for e in rows if e.visitor is not None],
    )
    # The cap, per visitor as named first (its user id, else its anonymous id): the oldest beyond it go.
    visitors = {(e.source, *e.visitor.ids()[0]) for e in rows if e.visitor is not None}
    # One count for the batch's visitors; only those over the cap are trimmed.
    full = []
    for kind, column in (("user_id", PendingActivity.user_id), ("anonymous_id", PendingActivity.anonymous_id)):
        wanted = sorted((source, v) for source, k, v in visitors if k == kind)
        if wanted:
            full += [(source, kind, v) for source, v in session.execute(
                select(PendingActivity.source, column).where(tuple_(PendingActivity.source, column).in_(wanted))
                .group_by(PendingActivity.source, column).having(func.count() > identity.PENDING_PER_VISITOR))]
    for source, kind, visitor_id in sorted(full):
        column = PendingActivity.user_id if kind == "user_id" else PendingActivity.anonymous_id
        beyond = session.scalars(select(PendingActivity.id)
                                 .where(PendingActivity.source == source, column == visitor_id)
                                 .order_by(PendingActivity.occurred_at.desc(), PendingActivity.id.desc())
                                 .offset(identity.PENDING_PER_VISITOR)).all()
        if beyond:
            session.execute(delete(PendingActivity).where(PendingActivity.id.in_(beyond))
                            .execution_options(synchronize_session=False))


def lead_emails(session: Session, lead_ids: set[int]) -> dict[int, tuple[str, bool]]:
    """lead id -> (email, is_customer)."""
    if not lead_ids:
        return {}
    return {i: (email, bool(customer)) for i, email, customer in session.execute(
        select(Lead.id, Lead.email, Lead.is_customer).where(Lead.id.in_(sorted(lead_ids))))}


def erase(session: Session, lead_id: int, dry_run: bool = False) -> tuple[int, int]:
    """Remove the lead's visitor links (and those chained to them) and any activity still pending for those
    visitors; returns (links, pending activities) removed (or, dry run, that would be)."""
    keys = linked_to(session, set(), lead_id=lead_id)
    if not keys:
        return 0, 0
    link_where = tuple_(VisitorLink.source, VisitorLink.kind, VisitorLink.visitor_id).in_(sorted(keys))
    pending_where = _pending_of(keys)
    links = len(session.scalars(select(VisitorLink.id).where(link_where)).all())
    pending = len(session.scalars(select(PendingActivity.id).where(pending_where)).all()) if pending_where is not None else 0
    if not dry_run:
        session.execute(delete(VisitorLink).where(link_where).execution_options(synchronize_session=False))
        if pending_where is not None:
            session.execute(delete(PendingActivity).where(pending_where).execution_options(synchronize_session=False))
    return links, pending


def purge_pending(session: Session, now: datetime, dry_run: bool = False) -> int:
    """Delete pending activity older than briefs.identity allows; how many (would be) deleted."""
    old = PendingActivity.occurred_at < identity.pending_cutoff(now)
    if dry_run:
        return len(session.scalars(select(PendingActivity.id).where(old)).all())
    return session.execute(delete(PendingActivity).where(old).execution_options(synchronize_session=False)).rowcount or 0
