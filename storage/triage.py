"""What triage reads beyond a brief's input (comparison pages seen, overrides) and what it writes: the verdict on
each qualification, the do-not-contact close, and the override ("This is a real lead").

The decision itself is the domain's (briefs.triage); bot.usecases.ingest and bot.usecases.triage_override own
the flow and the transaction."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from briefs.followup import OPEN_STATUSES, Status
from briefs.signals import PAGE_VIEW_KINDS
from briefs.triage import Delivery as TriageDelivery
from briefs.triage import Override, TriageResult
from storage.ingest import NewQualification
from storage.models import OWN_DELIVERY, Activity, Delivery, Lead, Qualification
from storage.queries import brief_input

# Our comparison pages as visitors reach them (docs/triage.md): every lead's visits are read for them at most
# once per COMPARISON_TTL seconds per database, and at most COMPARISON_URLS distinct URLs.
COMPARISON_TTL = 600.0
COMPARISON_URLS = 2000
_COMPARISON_LIKE = ("%/compare/%", "%/vs/%", "%-vs-%", "%alternative%")
_cache: dict[str, tuple[float, list[str]]] = {}
_cache_lock = threading.Lock()

# Stored as the qualification's status by verdict; a page stays "open" (follow-through takes it from there).
STATUS_OF = {
    TriageDelivery.CLOSE: Status.DO_NOT_CONTACT,
    TriageDelivery.ROUTE: Status.NOT_A_FIT,
    TriageDelivery.DIGEST_LINE: Status.CLOSED,
}
BY_TRIAGE = "triage"  # status_by of what triage closed


def comparison_urls(session: Session) -> list[str]:
    """Distinct visited URLs that may be our comparison pages (the domain reads the names out of them)."""
    key = str(session.get_bind().url)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
    urls = [url for (url,) in session.execute(
        select(Activity.url).where(Activity.kind.in_(sorted(PAGE_VIEW_KINDS)),
                                   or_(*(Activity.url.like(p) for p in _COMPARISON_LIKE)))
        .distinct().limit(COMPARISON_URLS)
    ) if url]
    with _cache_lock:
        _cache[key] = (now + COMPARISON_TTL, urls)
    return urls


def forget_comparison_cache() -> None:
    """Tests and admin tools: read the comparison pages again on the next batch."""
    with _cache_lock:
        _cache.clear()


def overrides(session: Session, lead_ids: list[int]) -> dict[int, Override]:
    """lead id -> its latest override, covering every rule ever overridden for the lead."""
    if not lead_ids:
        return {}
    found: dict[int, Override] = {}
    rows = session.execute(
        select(Qualification.lead_id, Qualification.overridden_by, Qualification.overridden_at,
               Qualification.triage_rule)
        .where(Qualification.lead_id.in_(lead_ids), Qualification.overridden_at.is_not(None))
        .order_by(Qualification.overridden_at)
    )
    for lead_id, by, at, rule in rows:
        before = found.get(lead_id)
        rules = (before.rules if before else frozenset()) | ({rule} if rule else set())
        found[lead_id] = Override(by=by or "", at=at, rules=frozenset(rules))
    return found


def record(session: Session, verdicts: list[tuple[int, TriageResult]], now: datetime) -> None:
    """Store each qualification's verdict; what triage does not page is closed by it with the reason."""
    if not verdicts:
        return
    rows = []
    for qualification_id, result in verdicts:
        row = {
            "id": qualification_id,
            "triage_delivery": result.delivery.value,
            "triage_verdict": result.verdict.value if result.verdict else None,
            "triage_category": result.category.value if result.category else None,
            "triage_rule": result.rule,
            "triage_reason": result.reason,
        }
        status = STATUS_OF.get(result.delivery)
        if status is not None:
            row.update(status=status.value, status_changed_at=now, status_by=BY_TRIAGE,
                       status_reason=(result.reason or "")[:2000])
        rows.append(row)
    # Grouped by key set: an executemany per shape (ORM bulk UPDATE by primary key).
    shapes: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    for group in shapes.values():
        session.execute(update(Qualification), group)


def enqueue_notice(session: Session, qualification_id: int, lead_id: int, to: str, payload: dict, text: str,
                   now: datetime) -> Delivery:
    """Queue a triage notice in the outbox, like a brief: the worker posts it, paced and retried."""
    d = Delivery(qualification_id=qualification_id, lead_id=lead_id, payload=payload, text=text, status="pending",
                 attempts=0, next_attempt_at=now, created_at=now, kind="notice", notice_to=to)
    session.add(d)
    return d


@dataclass(frozen=True)
class Overridable:
    """A triaged qualification as the override reads it, locked for the change."""

    id: int
    lead_id: int
    owner_email: str | None
    triage_delivery: str | None
    triage_rule: str | None
    overridden_by: str | None
    overridden_at: datetime | None
    notice_channel: str | None  # where its notice was posted, if it was
    notice_ts: str | None
    notice_payload: dict | None


def overridable(session: Session, qualification_id: int) -> Overridable | None:
    q = session.scalars(select(Qualification).where(Qualification.id == qualification_id)
                        .with_for_update()).first()
    if q is None:
        return None
    lead = session.get(Lead, q.lead_id)
    notice = session.scalars(select(Delivery).where(Delivery.qualification_id == q.id, OWN_DELIVERY)).first()
    return Overridable(q.id, q.lead_id, lead.owner_email if lead else None, q.triage_delivery, q.triage_rule,
                       q.overridden_by, q.overridden_at, notice.channel if notice else None,
                       notice.ts if notice else None, notice.payload if notice else None)


def mark_overridden(session: Session, qualification_id: int, by: str, at: datetime,
                    notice_payload: dict | None) -> None:
    """Who overrode it, when; and the notice as it now reads (the next edit of the message starts from it)."""
    if notice_payload is not None:
        session.execute(update(Delivery).where(Delivery.qualification_id == qualification_id, OWN_DELIVERY)
                        .values(payload=notice_payload).execution_options(synchronize_session=False))
    session.execute(update(Qualification).where(Qualification.id == qualification_id)
                    .values(overridden_by=by, overridden_at=at)
                    .execution_options(synchronize_session=False))


def reopen(session: Session, old_id: int, now: datetime) -> NewQualification:
    """A new open qualification for the lead, as the overridden one was: it is briefed and its SLA starts."""
    old = session.get(Qualification, old_id)
    assert old is not None
    q = Qualification(lead_id=old.lead_id, reason=old.reason, detail=old.detail, score=old.score, note=old.note,
                      trigger_event=old.trigger_event, triggered_at=old.triggered_at, qualified_at=now,
                      status=Status.OPEN.value, triage_delivery=TriageDelivery.PAGE.value)
    session.add(q)
    session.flush()
    lead = session.get(Lead, old.lead_id)
    assert lead is not None
    return NewQualification(q.id, q.lead_id, brief_input(session, lead, now, q))


def open_qualification(session: Session, lead_id: int) -> int | None:
    """The lead's open qualification, if it has one (then an override has nothing to re-open)."""
    return session.scalar(select(Qualification.id).where(
        Qualification.lead_id == lead_id, Qualification.status.in_([s.value for s in OPEN_STATUSES])).limit(1))
