"""The outbox of briefs to deliver: written with the qualification, drained by a delivery worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from briefs.blocks import to_blocks
from briefs.model import Brief
from briefs.text import to_text_brief
from storage.models import Delivery, Qualification

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class PendingDelivery:
    id: int
    lead_id: int
    qualification_id: int
    payload: dict
    text: str
    attempts: int


def enqueue(session: Session, q: Qualification, brief: Brief, now: datetime) -> Delivery:
    d = Delivery(
        qualification_id=q.id,
        lead_id=q.lead_id,
        payload=to_blocks(brief),
        text=to_text_brief(brief),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(d)
    return d


def due(session: Session, now: datetime, limit: int = 50) -> list[PendingDelivery]:
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    ).all()
    return [PendingDelivery(d.id, d.lead_id, d.qualification_id, d.payload, d.text, d.attempts) for d in rows]


def mark_sent(session: Session, delivery_id: int, now: datetime, channel: str, ts: str | None = None,
              queue_reason: str | None = None) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status="sent", sent_at=now, channel=channel, ts=ts, queue_reason=queue_reason,
                attempts=Delivery.attempts + 1, last_error=None)
    )


def defer(session: Session, delivery_id: int, until: datetime) -> None:
    """Not a failure (pacing, Retry-After): try again later without using up an attempt."""
    session.execute(update(Delivery).where(Delivery.id == delivery_id).values(next_attempt_at=until))


def listing(session: Session, status: str | None = None, limit: int = 50) -> list[Delivery]:
    stmt = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Delivery.status == status)
    return list(session.scalars(stmt))


def retry(session: Session, delivery_id: int | None, now: datetime) -> int:
    """Put failed deliveries (one, or all when delivery_id is None) back in the queue."""
    stmt = update(Delivery).where(Delivery.status == "failed")
    if delivery_id is not None:
        stmt = stmt.where(Delivery.id == delivery_id)
    return session.execute(stmt.values(status="pending", attempts=0, next_attempt_at=now)).rowcount


def mark_failed(session: Session, delivery_id: int, now: datetime, error: str, retry_in: timedelta | None) -> None:
    """Reschedule, or dead-letter when retry_in is None or attempts run out."""
    d = session.get(Delivery, delivery_id)
    d.attempts += 1
    d.last_error = error[:2000]
    if retry_in is None or d.attempts >= MAX_ATTEMPTS:
        d.status = "failed"
    else:
        d.next_attempt_at = now + retry_in


def counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
