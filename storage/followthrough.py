"""Follow-through state in the database: the speed-to-lead clock, thread-update watermarks, quiet mode and
the digest queue. Every scheduled step is a row with a time, so a restart loses nothing; each step is taken
with a compare-and-set UPDATE, so that of several workers exactly one acts on it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from briefs.followthrough import LeadCard, QueueItem
from briefs.followup import OPEN_STATUSES, FollowUp, SlaState, Status
from briefs.people import display_name
from briefs.signals import ActivityView
from storage.models import (
    OWN_DELIVERY,
    Activity,
    ContentAsset,
    Delivery,
    Lead,
    Qualification,
    RepPrefs,
    SlackMessage,
)


@dataclass(frozen=True)
class Nudge:
    """A qualification whose next follow-through step is due."""

    qualification_id: int
    state: str | None
    nudge_at: datetime
    snoozed_until: datetime | None
    claimed: bool


@dataclass(frozen=True)
class Posted:
    """A lead whose brief is in Slack, with what the follow-through messages need."""

    card: LeadCard
    reason: str
    status: str
    qualified_at: datetime
    rep_user: str | None
    channel: str | None
    ts: str | None
    queue_reason: str | None
    sla_due_at: datetime | None
    escalation_channel: str | None
    escalation_ts: str | None


def card_of(lead: Lead, q: Qualification) -> LeadCard:
    return LeadCard(q.id, display_name(lead.first_name, lead.last_name, lead.email), lead.company, q.reason,
                    q.detail, lead.email)


# --- The follow-up state: a repository for the state machine in briefs.followup --------------------

# FollowUp's fields are kept in Qualification columns of the same name (a new field needs only its column),
# but for closed_*, kept in the status_* columns, and what is shown beside the state, kept elsewhere.
_CLOSED = (("closed_by", "status_by"), ("closed_at", "status_changed_at"), ("closed_reason", "status_reason"))
_ELSEWHERE = {"qualification_id", "queue_reason", "crm_url"}
_SAME_NAME = tuple(f.name for f in fields(FollowUp) if f.name not in _ELSEWHERE | {name for name, _ in _CLOSED})


def followup_state(q: Qualification, queue_reason: str | None, crm_url: str | None) -> FollowUp:
    """The qualification's follow-up state, with what its brief shows beside it."""
    values = {name: getattr(q, name) for name in _SAME_NAME}
    values.update({field: getattr(q, column) for field, column in _CLOSED})
    return FollowUp(qualification_id=q.id, queue_reason=queue_reason, crm_url=crm_url, **values)


@dataclass(frozen=True)
class Tracked:
    """A lead's follow-up state, loaded under a row lock, with the lead facts a rep action needs."""

    state: FollowUp
    lead_id: int
    lead_email: str
    owner_email: str | None
    reason: str  # the qualification's: its SLA


def load_followup(session: Session, qualification_id: int) -> Tracked | None:
    """Locks the qualification (FOR UPDATE) until the transaction ends: rep actions on one lead take turns."""
    q = session.get(Qualification, qualification_id, with_for_update=True)
    if q is None:
        return None
    lead = session.get(Lead, q.lead_id)
    delivery = session.scalars(select(Delivery).where(Delivery.qualification_id == q.id, OWN_DELIVERY)).first()
    state = followup_state(q, delivery.queue_reason if delivery else None, lead.crm_url)
    return Tracked(state, lead.id, lead.email, lead.owner_email, q.reason)


def save_followup(session: Session, state: FollowUp, owner_email: str | None = None) -> None:
    """Write a state load_followup gave (and the state machine moved on) back; `owner_email`: the lead's new owner."""
    q = session.get(Qualification, state.qualification_id)
    for name in _SAME_NAME:
        setattr(q, name, getattr(state, name))
    for field, column in _CLOSED:
        setattr(q, column, getattr(state, field))
    if owner_email is not None:
        session.get(Lead, q.lead_id).owner_email = owner_email


def release_held(session: Session, qualification_id: int, now: datetime) -> None:
    """A brief held for a digest goes out now as a brief of its own (routed afresh)."""
    session.execute(update(Delivery).where(Delivery.qualification_id == qualification_id, Delivery.status == "digest", OWN_DELIVERY)
                    .values(status="pending", digest_user=None, next_attempt_at=now)
                    .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class LeadName:
    qualification_id: int
    name: str
    owner_email: str | None


def lead_name(session: Session, qualification_id: int) -> LeadName | None:
    row = session.execute(select(Lead).join(Qualification, Qualification.lead_id == Lead.id)
                          .where(Qualification.id == qualification_id)).scalar_one_or_none()
    if row is None:
        return None
    return LeadName(qualification_id, display_name(row.first_name, row.last_name, row.email), row.owner_email)


def start_clock(session: Session, qualification_id: int, rep_user: str | None, due_at: datetime | None) -> None:
    """The brief is posted: the clock runs unless the lead was claimed meanwhile. Thread updates start after
    the newest activity the brief showed."""
    # Activities stored after the brief was built (its delivery's created_at) were not in it: they are news.
    built = select(Delivery.created_at).where(Delivery.qualification_id == qualification_id, OWN_DELIVERY).scalar_subquery()
    newest = select(func.max(Activity.id)).where(Activity.lead_id == Qualification.lead_id,
                                                 Activity.received_at <= built).scalar_subquery()
    # A rep the lead was reassigned to before its brief went out keeps it.
    values: dict = {"rep_user": func.coalesce(Qualification.rep_user, rep_user), "seen_activity_id": func.coalesce(newest, 0)}
    session.execute(update(Qualification).where(Qualification.id == qualification_id).values(**values)
                    .execution_options(synchronize_session=False))
    if due_at is not None:
        session.execute(
            update(Qualification)
            .where(Qualification.id == qualification_id, Qualification.status == Status.OPEN,
                   Qualification.claimed_by.is_(None))
            .values(sla_due_at=due_at, sla_state=SlaState.RUNNING, nudge_at=due_at)
            .execution_options(synchronize_session=False)
        )


def due(session: Session, now: datetime, limit: int = 50) -> list[Nudge]:
    rows = session.execute(
        select(Qualification.id, Qualification.sla_state, Qualification.nudge_at, Qualification.snoozed_until,
               Qualification.claimed_by)
        .where(Qualification.nudge_at <= now)
        .order_by(Qualification.nudge_at).limit(limit)
    ).all()
    return [Nudge(r[0], r[1], r[2], r[3], r[4] is not None) for r in rows]


def next_nudge(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Qualification.nudge_at)))


def take(session: Session, nudge: Nudge, state: str | None, nudge_at: datetime | None, **values) -> bool:
    """Move a due step on, if nobody else has: True means this caller is the one to act on it."""
    return session.execute(
        update(Qualification)
        .where(Qualification.id == nudge.qualification_id, Qualification.nudge_at == nudge.nudge_at,
               (Qualification.sla_state == nudge.state) if nudge.state is not None else Qualification.sla_state.is_(None))
        .values(sla_state=state, nudge_at=nudge_at, **values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def _as_taken(state: str | None, nudge_at: datetime | None):
    """Still as take() left it: a claim, snooze or reassignment meanwhile wins over a retry."""
    return and_(Qualification.sla_state == state if state is not None else Qualification.sla_state.is_(None),
                Qualification.nudge_at == nudge_at if nudge_at is not None else Qualification.nudge_at.is_(None))


def retry_later(session: Session, previous: Nudge, taken: tuple[str | None, datetime | None], at: datetime) -> None:
    """The step could not be posted (Slack away): put it back as it was, due again at `at`."""
    session.execute(update(Qualification)
                    .where(Qualification.id == previous.qualification_id, _as_taken(*taken))
                    .values(sla_state=previous.state, nudge_at=at, snoozed_until=previous.snoozed_until)
                    .execution_options(synchronize_session=False))


def bring_forward(session: Session, qualification_id: int, taken: tuple[str | None, datetime | None],
                  at: datetime) -> None:
    """Make the next step (the escalation) due at `at`, unless the lead changed meanwhile."""
    session.execute(update(Qualification).where(Qualification.id == qualification_id, _as_taken(*taken))
                    .values(nudge_at=at).execution_options(synchronize_session=False))


def posted(session: Session, qualification_id: int) -> Posted | None:
    row = session.execute(
        select(Qualification, Lead, Delivery)
        .join(Lead, Lead.id == Qualification.lead_id)
        .outerjoin(Delivery, and_(Delivery.qualification_id == Qualification.id, OWN_DELIVERY))
        .where(Qualification.id == qualification_id)
    ).first()
    if row is None:
        return None
    q, lead, d = row
    return Posted(card_of(lead, q), q.reason, q.status, q.qualified_at, q.rep_user, d.channel if d else None,
                  d.ts if d else None, d.queue_reason if d else None, q.sla_due_at, q.escalation_channel,
                  q.escalation_ts)


@dataclass(frozen=True)
class Shown:
    """Where a lead's brief is in Slack, with what showing it again takes."""

    channel: str
    ts: str
    payload: dict  # the brief as stored by the outbox
    digest_user: str | None  # set: the brief is in this rep's digest message
    state: FollowUp
    card: LeadCard
    escalation: tuple[str, str] | None  # the escalation posted to the team queue (channel, ts)


def shown_at(session: Session, qualification_id: int) -> Shown | None:
    row = session.execute(
        select(Qualification, Lead, Delivery)
        .join(Lead, Lead.id == Qualification.lead_id)
        .join(Delivery, and_(Delivery.qualification_id == Qualification.id, OWN_DELIVERY))
        .where(Qualification.id == qualification_id)
    ).first()
    if row is None:
        return None
    q, lead, d = row
    if not d.ts or not d.channel:
        return None
    escalation = (q.escalation_channel, q.escalation_ts) if q.escalation_channel and q.escalation_ts else None
    return Shown(d.channel, d.ts, d.payload, d.digest_user, followup_state(q, d.queue_reason, lead.crm_url),
                 card_of(lead, q), escalation)


def remember(session: Session, qualification_id: int, kind: str, channel: str, ts: str, now: datetime) -> None:
    """Keep where a message about the lead was posted, so that erasure can redact it."""
    lead_id = session.scalar(select(Qualification.lead_id).where(Qualification.id == qualification_id))
    if lead_id is not None:
        session.add(SlackMessage(lead_id=lead_id, kind=kind, channel=channel, ts=ts, posted_at=now))


def set_escalation(session: Session, qualification_id: int, channel: str, ts: str) -> None:
    session.execute(update(Qualification).where(Qualification.id == qualification_id)
                    .values(escalation_channel=channel, escalation_ts=ts).execution_options(synchronize_session=False))


# --- Thread updates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engaging:
    qualification_id: int
    lead_id: int
    seen_activity_id: int
    update_after: datetime | None


def engaging(session: Session, now: datetime, since: datetime, hot_kinds: tuple[str, ...], limit: int = 200,
             after: int = 0, lead_ids: list[int] | None = None) -> list[Engaging]:
    """Open leads whose brief is posted (qualified since `since`; a later one replaces it) and who did
    something since the last thread update, out of their cooldown or with an activity of `hot_kinds` that may
    break it; only `lead_ids` if given. Activities are read through their (lead_id, occurred_at) index."""
    def news(*kinds):
        return select(Activity.id).where(
            Activity.lead_id == Qualification.lead_id, Activity.occurred_at >= Qualification.qualified_at,
            Activity.id > Qualification.seen_activity_id, *([Activity.kind.in_(kinds)] if kinds else [])).exists()

    newer = aliased(Qualification)
    superseded = select(newer.id).where(newer.lead_id == Qualification.lead_id, newer.id > Qualification.id).exists()
    rows = session.execute(
        select(Qualification.id, Qualification.lead_id, Qualification.seen_activity_id, Qualification.update_after)
        .join(Delivery, and_(Delivery.qualification_id == Qualification.id, Delivery.ts.is_not(None), OWN_DELIVERY))
        .where(Qualification.id > after, Qualification.qualified_at >= since,
               *([Qualification.lead_id.in_(lead_ids)] if lead_ids is not None else []),
               Qualification.status.in_(OPEN_STATUSES), Qualification.seen_activity_id.is_not(None), ~superseded,
               or_(and_(or_(Qualification.update_after.is_(None), Qualification.update_after <= now), news()),
                   news(*hot_kinds)))
        .order_by(Qualification.id).limit(limit)
    ).all()
    return [Engaging(*r) for r in rows]


def newest_activity_id(session: Session) -> int:
    return session.scalar(select(func.max(Activity.id))) or 0


def active_leads(session: Session, after_activity_id: int, limit: int) -> set[int] | None:
    """Leads with an activity stored after that id; None if there are more than `limit` such activities
    (then it is quicker to look at every lead). Read in id order, so the primary key does the work."""
    ids = list(session.scalars(select(Activity.lead_id).where(Activity.id > after_activity_id)
                               .order_by(Activity.id).limit(limit + 1)))
    return None if len(ids) > limit else set(ids)


def posted_since(session: Session, since: datetime) -> list[int]:
    """Leads whose brief went out after `since`: what they did while it waited is news for its thread."""
    return list(session.scalars(select(Delivery.lead_id).where(Delivery.sent_at >= since)))


def cooled_down(session: Session, since: datetime, now: datetime) -> list[int]:
    """Leads whose thread-update cooldown ended in (since, now]: what waited may be told now."""
    return list(session.scalars(select(Qualification.lead_id).where(Qualification.update_after > since,
                                                                    Qualification.update_after <= now)))


def wait_for_writers(session: Session, lead_id: int) -> bool:
    """Wait until every transaction still adding activities for this lead has committed (PostgreSQL): the
    watermark is an activity id, and ids are handed out before commit, so a batch still in flight could
    otherwise commit a lower id after a higher one was told, and that activity would never be. Its foreign
    key check holds a KEY SHARE lock on the lead, which FOR UPDATE waits for. False if it takes too long.
    SQLite has one writer at a time: nothing to wait for."""
    if session.get_bind().dialect.name == "sqlite":
        return True
    try:
        with session.begin_nested():
            session.execute(text("SET LOCAL lock_timeout = '5s'"))
            session.execute(select(Lead.id).where(Lead.id == lead_id).with_for_update())
    except OperationalError:
        return False
    return True


def new_activities(session: Session, e: Engaging, since: datetime, limit: int = 200) -> list[tuple[int, ActivityView]]:
    rows = session.execute(
        select(Activity, ContentAsset).outerjoin(ContentAsset, ContentAsset.id == Activity.asset_id)
        .where(Activity.lead_id == e.lead_id, Activity.occurred_at >= since, Activity.id > e.seen_activity_id)
        .order_by(Activity.id).limit(limit)
    ).all()
    return [(a.id, ActivityView(
        kind=a.kind, occurred_at=a.occurred_at, title=c.title if c else None, asset_type=c.type if c else None,
        topic=c.topic if c else None, asset_url=c.url if c else None, url=a.url, campaign=a.campaign,
        subject=a.subject, form=a.form, comments=a.comments, properties=a.properties or {},
    )) for a, c in rows]


def advance_updates(session: Session, e: Engaging, seen: int, cooldown_until: datetime | None) -> bool:
    """Mark activities up to `seen` as told (compare-and-set on the old watermark)."""
    values: dict = {"seen_activity_id": seen}
    if cooldown_until is not None:
        values["update_after"] = cooldown_until
    return session.execute(
        update(Qualification).where(Qualification.id == e.qualification_id,
                                    Qualification.seen_activity_id == e.seen_activity_id)
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount == 1


def qualified_at(session: Session, qualification_id: int) -> datetime | None:
    return session.scalar(select(Qualification.qualified_at).where(Qualification.id == qualification_id))


# --- Quiet mode and the digest ----------------------------------------------------------------------


def prefs(session: Session, user_id: str) -> RepPrefs | None:
    return session.get(RepPrefs, user_id)


def set_quiet(session: Session, user_id: str, quiet: bool, digest_time: str | None, now: datetime) -> RepPrefs:
    p = session.get(RepPrefs, user_id)
    if p is None:
        p = RepPrefs(user_id=user_id, quiet=quiet, digest_time=digest_time or "09:00", set_at=now)
        session.add(p)
    else:
        p.quiet, p.set_at = quiet, now
        if digest_time:
            p.digest_time = digest_time
    return p


def hold_for_digest(session: Session, delivery_id: int, user_id: str, until: datetime) -> None:
    session.execute(update(Delivery).where(Delivery.id == delivery_id)
                    .values(status="digest", digest_user=user_id, next_attempt_at=until, lease_owner=None,
                            lease_until=None, slot_channel=None, slot_at=None)
                    .execution_options(synchronize_session=False))


def hot_kinds_since(session: Session, lead_id: int, since: datetime, kinds: tuple[str, ...]) -> list[ActivityView]:
    """The lead's activities of these kinds (kind, time and form) since `since`."""
    rows = session.execute(
        select(Activity.kind, Activity.occurred_at, Activity.form)
        .where(Activity.lead_id == lead_id, Activity.occurred_at >= since, Activity.kind.in_(kinds))
        .limit(100)
    ).all()
    return [ActivityView(kind=k, occurred_at=at, form=form) for k, at, form in rows]


def forms_until(session: Session, lead_id: int, until: datetime, limit: int = 5) -> list[ActivityView]:
    """The lead's newest forms up to `until` (a qualification's time), with their comments and properties: what
    the SLA reads a callback window from."""
    rows = session.execute(
        select(Activity.occurred_at, Activity.form, Activity.comments, Activity.properties)
        .where(Activity.lead_id == lead_id, Activity.kind == "form_submit", Activity.occurred_at <= until)
        .order_by(Activity.occurred_at.desc()).limit(limit)
    ).all()
    return [ActivityView(kind="form_submit", occurred_at=at, form=form, comments=comments, properties=props or {})
            for at, form, comments, props in rows]


def held(session: Session) -> list[tuple[int, int, datetime]]:
    """Briefs held for a digest: (delivery id, lead id, qualified at)."""
    return [tuple(r) for r in session.execute(
        select(Delivery.id, Delivery.lead_id, Qualification.qualified_at)
        .join(Qualification, Qualification.id == Delivery.qualification_id)
        .where(Delivery.status == "digest")
    ).all()]


def release(session: Session, delivery_id: int, now: datetime) -> bool:
    """Post a held brief now after all (the lead raised a hand meanwhile)."""
    return session.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "digest")
                           .values(status="pending", next_attempt_at=now, digest_user=None)
                           .execution_options(synchronize_session=False)).rowcount == 1


def digest_users(session: Session, now: datetime) -> list[str]:
    return list(session.scalars(select(Delivery.digest_user).where(Delivery.status == "digest",
                                                                   Delivery.next_attempt_at <= now).distinct()))


def next_digest(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Delivery.next_attempt_at)).where(Delivery.status == "digest"))


def take_digest(session: Session, user_id: str, now: datetime, worker: str, lease: timedelta) -> list[int]:
    """Lease this rep's due held deliveries (status digest -> digesting) so one worker sends the digest."""
    free = and_(Delivery.digest_user == user_id, Delivery.next_attempt_at <= now,
                or_(Delivery.status == "digest",
                    and_(Delivery.status == "digesting", Delivery.lease_until < now)))
    ids = list(session.scalars(select(Delivery.id).where(free).order_by(Delivery.id).with_for_update(skip_locked=True)))
    if ids:
        session.execute(update(Delivery).where(Delivery.id.in_(ids), free)
                        .values(status="digesting", lease_owner=worker, lease_until=now + lease)
                        .execution_options(synchronize_session=False))
    return ids


def digest_cards(session: Session, ids: list[int]) -> list[tuple[Delivery, LeadCard, FollowUp]]:
    rows = session.execute(
        select(Delivery, Qualification, Lead).join(Qualification, Qualification.id == Delivery.qualification_id)
        .join(Lead, Lead.id == Delivery.lead_id).where(Delivery.id.in_(ids)).order_by(Qualification.qualified_at.desc())
    ).all()
    return [(d, card_of(lead, q), followup_state(q, None, lead.crm_url)) for d, q, lead in rows]


def digest_sent(session: Session, ids: list[int], now: datetime, channel: str, ts: str) -> None:
    """Every lead in it points at the digest message: buttons there update it, notes go to its thread."""
    session.execute(update(Delivery).where(Delivery.id.in_(ids))
                    .values(status="sent", sent_at=now, channel=channel, ts=ts, attempts=Delivery.attempts + 1,
                            lease_owner=None, lease_until=None)
                    .execution_options(synchronize_session=False))


def digest_failed(session: Session, ids: list[int], retry_at: datetime) -> None:
    session.execute(update(Delivery).where(Delivery.id.in_(ids))
                    .values(status="digest", next_attempt_at=retry_at, lease_owner=None, lease_until=None)
                    .execution_options(synchronize_session=False))


def digest_members(session: Session, channel: str, ts: str) -> list[int]:
    """The deliveries shown in one digest message (a button on it re-renders all of them)."""
    return list(session.scalars(select(Delivery.id).where(Delivery.channel == channel, Delivery.ts == ts,
                                                          Delivery.digest_user.is_not(None))))


# --- App Home --------------------------------------------------------------------------------------


def queue(session: Session, owner_email: str | None, slack_user: str, limit: int = 40) -> list[QueueItem]:
    """The rep's open leads, newest first: those they own, claimed, or that are with them."""
    mine = [Qualification.claimed_by == slack_user, Qualification.rep_user == slack_user]
    if owner_email:
        mine.append(Lead.owner_email == owner_email.lower())
    rows = session.execute(
        select(Lead, Qualification, Delivery)
        .join(Qualification, Qualification.lead_id == Lead.id)
        .outerjoin(Delivery, and_(Delivery.qualification_id == Qualification.id, OWN_DELIVERY))
        .where(Qualification.status.in_(OPEN_STATUSES), or_(*mine))
        .order_by(Qualification.qualified_at.desc(), Qualification.id.desc()).limit(limit)
    ).all()
    return [QueueItem(card_of(lead, q), q.qualified_at, q.status, q.sla_due_at, q.sla_state, q.snoozed_until,
                      followup_state(q, d.queue_reason if d else None, lead.crm_url)) for lead, q, d in rows]
