"""The outbox of briefs to deliver: written with the qualification, drained by delivery workers.

Several workers, in as many processes and machines, share it: each claims a few due deliveries with a lease
(claim), renews it right before posting (hold), and records the outcome (mark_sent, defer, mark_failed).
Leases are short and renewed while the work is in flight (renew), so a worker that dies leaves them to run
out within seconds; another then takes the deliveries over. Right before a post goes out its channel and time
are written down (intend): the next attempt, by whichever worker, first looks for that post in Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage import accounts as account_store
from storage.followthrough import followup_state
from storage.models import COPY, ChannelSlot, Delivery, Lead, Qualification

if TYPE_CHECKING:
    from briefs.followup import FollowUp


@dataclass(frozen=True)
class BriefSnapshot:
    """The brief as it stood when it was queued, rendered by the use case: Block Kit and plain text."""

    payload: dict[str, Any]
    text: str
    notes_through: int = 0  # the newest handoff note it shows (Delivery.notes_through)


class QualificationKey(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def lead_id(self) -> int: ...


@dataclass(frozen=True)
class PendingDelivery:
    id: int
    lead_id: int
    qualification_id: int
    payload: dict
    text: str
    attempts: int
    created_at: datetime | None = None
    slot_channel: str | None = None  # a posting slot booked earlier (book_slot), if any
    slot_at: float | None = None
    owner: str | None = None  # the worker that claimed it
    # A post that may already have gone out (see intend): look for it in this channel before posting again.
    unclear_channel: str | None = None
    unclear_at: float | None = None
    kind: str = "brief"  # or "notice": a triage notice (storage.triage), which starts no follow-through
    notice_to: str | None = None  # a notice's addressee: "do_not_contact" or a triage destination


def enqueue(session: Session, q: QualificationKey, snapshot: BriefSnapshot, now: datetime) -> Delivery:
    """Queue the brief of qualification q, written in the same transaction as q."""
    d = Delivery(
        qualification_id=q.id,
        lead_id=q.lead_id,
        payload=snapshot.payload,
        text=snapshot.text,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        notes_through=snapshot.notes_through,
    )
    session.add(d)
    return d




def record_recipient(session: Session, qualification_id: int, episode: str | None, deliver_to: str | None,
                     copy_to: str | None) -> None:
    """The qualification's lifecycle episode and who its brief goes to instead of the owner, if anyone."""
    if episode or deliver_to or copy_to:
        session.execute(update(Qualification).where(Qualification.id == qualification_id)
                        .values(episode=episode, deliver_to=deliver_to, copy_to=copy_to))


def enqueue_copy(session: Session, q: QualificationKey, to: str, payload: dict, text: str, now: datetime,
                 kind: str = COPY) -> Delivery:
    """Queue a side delivery (SIDE_KINDS): the owner's copy, posted to their route like a brief, or a rep's
    account line (REP_NOTICE, `to` says how it is addressed); either starts nothing."""
    d = Delivery(qualification_id=q.id, lead_id=q.lead_id, payload=payload, text=text, status="pending", attempts=0,
                 next_attempt_at=now, created_at=now, kind=kind, notice_to=to)
    session.add(d)
    return d


@dataclass(frozen=True)
class BriefSubject:
    """What delivering a brief reads of its lead and qualification."""

    lead_id: int
    owner_email: str | None
    crm_url: str | None
    reason: str
    status: str
    claimed_by: str | None
    qualified_at: datetime
    followup: FollowUp  # the follow-up section as stored, with no queue reason yet
    deliver_to: str | None = None  # who gets the brief instead of the owner (an at-risk renewal's CSM)


def subject(session: Session, item: PendingDelivery) -> BriefSubject:
    lead = session.get(Lead, item.lead_id)
    q = session.get(Qualification, item.qualification_id)
    # An account brief goes to the account's owner (storage/accounts.py), else to the lead's; a rep's reassignment
    # (which sets the lead's owner) wins over both.
    owner = (account_store.brief_owner(session, q.id) if q.account_id is not None and q.reassigned_at is None
             else None) or lead.owner_email
    return BriefSubject(lead.id, owner, lead.crm_url, q.reason, q.status, q.claimed_by, q.qualified_at,
                        followup_state(q, None, lead.crm_url), q.deliver_to)


def claim(session: Session, worker: str, now: datetime, lease: timedelta, limit: int = 10) -> list[PendingDelivery]:
    """Lease up to `limit` due deliveries to `worker`, oldest first. One statement, WITH due AS (SELECT ..
    FOR UPDATE SKIP LOCKED) UPDATE .. RETURNING: on PostgreSQL concurrent workers skip each other's rows
    instead of waiting; on SQLite the single writer lock makes the statement atomic. A lease that ran out
    (its worker died) is taken over."""
    # Our own leases count as free: a worker claims only between deliveries, so any lease it still holds
    # is left over from a delivery that failed half-way (the database went away), not one in flight.
    free = (Delivery.status == "pending") & (Delivery.next_attempt_at <= now) & (
        Delivery.lease_until.is_(None) | (Delivery.lease_until < now) | (Delivery.lease_owner == worker))
    # A CTE, materialized: PostgreSQL evaluates it once. As an IN (subquery) it may be rescanned per row,
    # and each rescan skips the rows this very statement has just updated, leasing more than `limit`.
    # Deliveries whose booked posting slot has come go first: behind a burst of new ones they would miss it.
    turn = case((Delivery.slot_at.is_(None), 1), else_=0)
    due = (select(Delivery.id).where(free).order_by(turn, Delivery.next_attempt_at, Delivery.id).limit(limit)
           .with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED", dialect="postgresql"))
    rows = session.execute(
        update(Delivery).where(Delivery.id == due.c.id, free)
        .values(lease_owner=worker, lease_until=now + lease)
        .returning(Delivery.id, Delivery.lead_id, Delivery.qualification_id, Delivery.payload, Delivery.text,
                   Delivery.attempts, Delivery.next_attempt_at, Delivery.created_at, Delivery.slot_channel,
                   Delivery.slot_at, Delivery.unclear_channel, Delivery.unclear_at, Delivery.kind,
                   Delivery.notice_to)
        .execution_options(synchronize_session=False)
    ).all()
    rows = sorted(rows, key=lambda r: (r.next_attempt_at, r.id))
    return [PendingDelivery(r.id, r.lead_id, r.qualification_id, r.payload, r.text, r.attempts, r.created_at,
                            r.slot_channel, r.slot_at, worker, r.unclear_channel, r.unclear_at, r.kind or "brief",
                            r.notice_to) for r in rows]


def hold(session: Session, delivery_id: int, worker: str, now: datetime, lease: timedelta) -> bool:
    """Renew the lease right before posting: False when another worker has taken the delivery over (our
    lease ran out meanwhile) or it is no longer pending, so it must not be posted again."""
    return delivery_id in renew(session, worker, [delivery_id], now, lease)


def renew(session: Session, worker: str, ids: list[int], now: datetime, lease: timedelta) -> set[int]:
    """The heartbeat: extend the leases `worker` still holds on `ids`; returns those it still holds."""
    if not ids:
        return set()
    return set(session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.lease_owner == worker, Delivery.status == "pending")
        .values(lease_until=now + lease).returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ))


def intend(session: Session, delivery_id: int, worker: str, channel: str, at: float) -> bool:
    """Write down the post about to go out (channel, Unix seconds), in the transaction that takes the channel:
    until it is recorded as sent, or refused in a way that says it was not posted, every later attempt looks
    for it in Slack first. False when `worker` no longer holds the lease: then it must not post."""
    return session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.lease_owner == worker, Delivery.status == "pending")
        .values(unclear_channel=channel, unclear_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def remember_gone(session: Session, channel: str, error: str, until: float) -> None:
    """Slack called `channel` gone (channel_not_found...): skip it, for every worker, until `until`."""
    gone = {"gone_until": until, "gone_error": error[:64]}
    session.execute(_upsert_channel(session, {"channel": channel, "next_at": 0.0, **gone}, gone))


def gone(session: Session, channel: str, now: float) -> str | None:
    """Slack's error for a channel remembered as gone, or None."""
    return session.scalar(select(ChannelSlot.gone_error).where(ChannelSlot.channel == channel,
                                                               ChannelSlot.gone_until > now))


def release(session: Session, worker: str, ids: list[int]) -> None:
    """Give back claimed deliveries not tried yet (shutting down): other workers may take them at once."""
    if ids:
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids), Delivery.lease_owner == worker, Delivery.status == "pending")
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


def next_due(session: Session) -> datetime | None:
    """When the earliest pending delivery can next be claimed: when it is due, or when its lease runs out."""
    free_at = case((Delivery.lease_until > Delivery.next_attempt_at, Delivery.lease_until),
                   else_=Delivery.next_attempt_at)
    return session.scalar(select(func.min(free_at)).where(Delivery.status == "pending"))


def book_slot(session: Session, channel: str, now: float, interval: float) -> float:
    """Book the next posting slot for `channel` (Unix seconds), shared by all workers: returns when this post
    may go out (`now` when the channel is free). Each booking moves the channel's next free time on by
    `interval`, so posts queued for one channel are spaced out without holding up any other channel."""
    table = ChannelSlot.__table__
    stmt = _upsert_channel(session, {"channel": channel, "next_at": now + interval},
                           {"next_at": case((table.c.next_at > now, table.c.next_at), else_=now) + interval})
    return session.execute(stmt.returning(table.c.next_at)).scalar_one() - interval


def _upsert_channel(session: Session, row: dict, changes: dict):
    """INSERT a channel's row, or apply `changes` to the one there (ON CONFLICT, in the bind's dialect)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(ChannelSlot.__table__).values(**row).on_conflict_do_update(
        index_elements=[ChannelSlot.__table__.c.channel], set_=changes)


def reserve_post(session: Session, channel: str, now: float, interval: float) -> float:
    """Take the channel for a post going out now: 0.0, or the seconds to wait when another post to it went out
    less than `interval` ago (a brief before this one came round late). One conditional UPDATE, so two
    workers can never both go."""
    taken = session.execute(
        update(ChannelSlot).where(ChannelSlot.channel == channel,
                                  ChannelSlot.last_post_at.is_(None) | (ChannelSlot.last_post_at <= now - interval))
        .values(last_post_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        return 0.0
    last = session.scalar(select(ChannelSlot.last_post_at).where(ChannelSlot.channel == channel))
    return max(0.001, (last or now) + interval - now)


def note_post(session: Session, channel: str, at: float) -> None:
    """The post left at `at`, maybe later than its turn was taken (a busy machine): the next post to the
    channel keeps its distance from when this one really went, not from when it was meant to."""
    session.execute(
        update(ChannelSlot).where(ChannelSlot.channel == channel,
                                  ChannelSlot.last_post_at.is_(None) | (ChannelSlot.last_post_at < at))
        .values(last_post_at=at).execution_options(synchronize_session=False)
    )


def mark_sent(session: Session, delivery_id: int, now: datetime, channel: str, ts: str | None = None,
              queue_reason: str | None = None) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status="sent", sent_at=now, channel=channel, ts=ts, queue_reason=queue_reason,
                attempts=Delivery.attempts + 1, last_error=None, lease_owner=None, lease_until=None,
                slot_channel=None, slot_at=None, unclear_channel=None, unclear_at=None)
        .execution_options(synchronize_session=False)
    )


def defer(session: Session, delivery_id: int, until: datetime, slot: tuple[str, float] | None = None,
          maybe_posted: bool = True) -> None:
    """Not a failure (pacing, Retry-After): try again later without using up an attempt, keeping the posting
    slot booked for it (channel, Unix seconds), if any. With maybe_posted False (Slack refused the post, or
    none was made), the post written down by intend is forgotten: the next attempt need not look for it."""
    channel, at = slot or (None, None)
    values = {} if maybe_posted else {"unclear_channel": None, "unclear_at": None}
    session.execute(
        update(Delivery).where(Delivery.id == delivery_id)
        .values(next_attempt_at=until, lease_owner=None, lease_until=None, slot_channel=channel, slot_at=at,
                **values)
        .execution_options(synchronize_session=False)
    )


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
    return session.execute(stmt.values(status="pending", attempts=0, next_attempt_at=now, retried_at=now)).rowcount


def mark_failed(session: Session, delivery_id: int, now: datetime, error: str, retry_in: timedelta | None,
                horizon: timedelta = timedelta(hours=24), maybe_posted: bool = True) -> bool:
    """Reschedule, no later than `horizon` after the brief was written (or queued again by hand); dead-letter
    when retry_in is None (no retry can fix it) or the horizon has passed. True when dead-lettered. With
    maybe_posted False (Slack refused the post), the post written down by intend is forgotten."""
    d = session.get(Delivery, delivery_id)
    d.attempts += 1
    d.last_error = error[:2000]
    d.lease_owner = d.lease_until = d.slot_channel = d.slot_at = None
    if not maybe_posted:
        d.unclear_channel = d.unclear_at = None
    give_up_at = (d.retried_at or d.created_at or now) + horizon
    if retry_in is not None and now >= give_up_at:
        hours = horizon.total_seconds() / 3600
        d.last_error = f"Slack unavailable for {hours:g} h: last error {error}"[:2000]
    if retry_in is None or now >= give_up_at:
        d.status = "failed"
        return True
    d.next_attempt_at = min(now + retry_in, give_up_at)  # one last try right at the horizon
    return False


def counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())


def retrying(session: Session) -> int:
    """Pending deliveries whose last attempt failed (Slack down, 5xx): the backlog waiting on Slack."""
    return session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.status == "pending", Delivery.last_error.is_not(None))) or 0
