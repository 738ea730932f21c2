"""Persist a batch of validated events: claims, leads, activities, notes, and the qualifications the use case
decided on (bot.usecases.ingest owns the transaction and the flow).

Every event's (source, id) goes into processed_events with INSERT .. ON CONFLICT DO NOTHING RETURNING:
what comes back is new and owned by this transaction; the rest are replays. Which leads' whole rows are read
is the domain's call (briefs.qualification.may_fire_on): the rest only gain activity rows.

Visitor identity (storage.identity, rules in briefs.identity) is resolved in the same transaction: links are
recorded first, an activity naming a linked visitor is applied to its lead, one naming an unknown visitor is
kept pending, and the pending activity a new link resolves is applied with its own time and id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from briefs.events import (
    CUSTOMER_FIELDS,
    ActivityEvent,
    Event,
    IdentityLink,
    LeadUpsert,
    NoteEvent,
    QualifiedEvent,
)
from briefs.followup import OPEN_STATUSES
from briefs.identity import Target, merged_lead
from briefs.model import BriefInput
from briefs.qualification import Decision, Explicit, LeadChange, may_fire_on
from briefs.search import search_fields
from briefs.signals import ENGAGEMENT_KINDS, ActivityView, TouchRow, fold, normalise_stage
from storage import identity
from storage.driver import Driver
from storage.models import Activity, ContentAsset, HandoffNote, Lead, ProcessedEvent, Qualification
from storage.queries import brief_input, lead_view

DATE_FIELDS = ("renewal_date", "churned_on")  # stored as ISO text
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company",
    "phone",
    "owner_email",
    "lifecycle_stage",
    "score",
    "persona",
    "lead_source",
    "lead_status",
    "is_customer",
    "customer_since",
    "nps",
    "csat",
    "crm_url",
    "do_not_contact",
    "email_opt_out",
    "crm_account_id",
    *CUSTOMER_FIELDS,
)


ACTIVITY_COLUMNS = ("lead_id", "kind", "occurred_at", "asset_id", "campaign", "subject", "url", "form", "comments",
                    "properties", "source", "source_event_id", "received_at", "words")
LEAD_TIMES = {"profile_as_of", "updated_at"}
LEAD_READ_TIMES = (*LEAD_TIMES, "created_at")


def _insert(session: Session, model):
    """A Core INSERT on the model's table: one executemany per batch (the ORM's bulk insert splits a
    batch into one statement per distinct set of non-null keys)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


@dataclass
class _LeadState:
    """One lead's row while a batch is applied to it, and what the batch did to it."""

    lead: LeadRow
    previous_score: int | None
    previous_stage: str | None
    score_changed_at: datetime | None = None
    stage_changed_at: datetime | None = None
    activities: list[ActivityView] = field(default_factory=list)
    explicit: list[Explicit] = field(default_factory=list)
    touched: bool = False


@dataclass(frozen=True)
class ChangedLead:
    """A lead the batch may have qualified: what it did to them (the domain's LeadChange, without the
    history deciding reads), and the row it left, which add_qualifications builds the brief from."""

    id: int
    is_customer: bool
    change: LeadChange
    row: LeadRow


@dataclass(frozen=True)
class Written:
    accepted: int
    duplicates: int
    leads: list[ChangedLead]


@dataclass(frozen=True)
class NewQualification:
    """A qualification just written, with what its brief is built from."""

    id: int
    lead_id: int
    brief_input: BriefInput


def _claim(driver: Driver, events: list[Event], now: datetime,
           known: dict[str, tuple[int, bool]]) -> tuple[list[Event], dict[tuple[str, str], object]]:
    """Record every event id, with its lead's id where the lead exists already (`known`, by email); return the
    events seen for the first time, in batch order, and each event's occurred_at as bound (converted once,
    reused for its activity row)."""
    unique: dict[tuple[str, str], Event] = {}
    for e in events:
        unique.setdefault((e.source, e.id), e)
    stamps = {key: driver.time(e.occurred_at) for key, e in unique.items()}
    received = driver.time(now)
    # Key order: concurrent batches claiming the same ids wait for each other instead of deadlocking.
    fresh = _insert_claims(driver, [(s, i, e.type, stamps[s, i], received, (known.get(e.email) or (None,))[0])
                                    for (s, i), e in sorted(unique.items())])
    return [e for key, e in unique.items() if key in fresh], stamps


# lead_id ties each claim to its lead, so that `forget` removes it and a redelivery after that is new again.
_CLAIM_COLUMNS = ("source", "event_id", "type", "occurred_at", "received_at", "lead_id")
_CLAIM_SQLITE = ("INSERT INTO processed_events (source, event_id, type, occurred_at, received_at, lead_id) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, event_id) DO NOTHING")
_CLAIMED_LAST_SQLITE = "SELECT source, event_id FROM processed_events ORDER BY rowid DESC LIMIT ?"
_LINK_CLAIM = "UPDATE processed_events SET lead_id = {mark} WHERE source = {mark} AND event_id = {mark}"


def _insert_claims(driver: Driver, rows: list[tuple]) -> set[tuple[str, str]]:
    """rows: distinct (source, event_id, type, occurred_at, received_at, lead_id). Returns the keys that were new."""
    if not driver.sqlite:
        return set(driver.insert_returning("processed_events", _CLAIM_COLUMNS, rows, ("source", "event_id"),
                                           ("source", "event_id")))
    # SQLite: a plain executemany is several times cheaper than a multi-row INSERT .. RETURNING. Its
    # row count says how many were new; when that is not all of them, the new ones are the last rows:
    # this transaction holds SQLite's single write lock from its first insert on, and a new rowid is
    # always above every existing one (a rowid table; its primary key is the unique (source, event_id)).
    conn = driver.session.connection()
    new = conn.exec_driver_sql(_CLAIM_SQLITE, rows).rowcount
    if new == len(rows):
        return {(r[0], r[1]) for r in rows}
    if new == 0:
        return set()
    return set(map(tuple, conn.exec_driver_sql(_CLAIMED_LAST_SQLITE, (new,)).fetchall()))


def _link_claims(driver: Driver, rows: list[tuple[int, str, str]]) -> None:
    """rows: (lead_id, source, event_id) of claims written before their lead existed."""
    if rows:
        driver.session.connection().exec_driver_sql(_LINK_CLAIM.format(mark=driver.mark), rows)


def already_claimed(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (source, event id) were accepted before: replays, which need no work before the batch."""
    found: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        found |= {(s, e) for s, e in session.execute(
            select(ProcessedEvent.source, ProcessedEvent.event_id)
            .where(tuple_(ProcessedEvent.source, ProcessedEvent.event_id).in_(part))).all()}
    return found


def claim_keys(session: Session, keys: list[tuple[str, str, str, datetime]], now: datetime) -> set[tuple[str, str]]:
    """Record (source, event_id, type, occurred_at) in processed_events; return the (source, event_id) that
    were new. INSERT .. ON CONFLICT DO NOTHING RETURNING: safe against a concurrent delivery of the same ids."""
    driver = Driver(session)
    received = driver.time(now)
    return _insert_claims(driver, [(s, i, t, driver.time(at), received, None) for s, i, t, at in keys])


def claim_once(sessions: sessionmaker[Session], source: str, event_id: str, type_: str, now: datetime) -> bool:
    """True the first time (source, event_id) is seen: for deliveries that carry no batch (Slack retries)."""
    with sessions.begin() as session:
        return bool(claim_keys(session, [(source, event_id[:200], type_[:32], now)], now))


LEAD_COLUMNS = tuple(c.name for c in Lead.__table__.columns)
# The columns a batch may change; _save_leads writes back only those that did.
LEAD_WRITABLE = (*PROFILE_FIELDS, "search_text", "name_fold", "company_fold", "profile_as_of", "updated_at")


class LeadRow(SimpleNamespace):
    """A lead as plain attributes (what briefs and qualification read), without ORM change tracking."""

    @classmethod
    def loaded(cls, row) -> LeadRow:
        lead = cls(**row)
        lead._loaded = dict(row)  # to write back only what changed
        return lead

    def changed(self) -> tuple[str, ...]:
        return tuple(c for c in LEAD_WRITABLE if getattr(self, c) != self._loaded.get(c))


_LEADS_BY_EMAIL = "SELECT email, id, is_customer FROM leads WHERE email IN ({marks})"


def _find_leads(driver: Driver, emails: set[str]) -> dict[str, tuple[int, bool]]:
    """email -> (id, is_customer) of those of `emails` that are leads already."""
    if not emails:
        return {}
    wanted = tuple(sorted(emails))
    sql = _LEADS_BY_EMAIL.format(marks=", ".join([driver.mark] * len(wanted)))
    return {email: (id_, bool(customer))
            for email, id_, customer in driver.session.connection().exec_driver_sql(sql, wanted)}


def _lead_ids(driver: Driver, emails: set[str], now: datetime,
              known: dict[str, tuple[int, bool]]) -> dict[str, tuple[int, bool]]:
    """email -> (id, is_customer) for the batch's leads: `known` (from _find_leads), the others created (in
    email order, so that concurrent batches creating the same leads wait for each other instead of
    deadlocking)."""
    found = {email: known[email] for email in emails if email in known}
    missing = sorted(e for e in emails if e not in found)
    if missing:
        stamp = driver.time(now)
        created = driver.insert_returning(
            "leads", ("email", "is_customer", "search_text", "created_at", "updated_at"),
            [(e, False, fold(e), stamp, stamp) for e in missing], ("email",), ("email", "id"))
        found.update((email, (id_, False)) for email, id_ in created)
        if len(created) < len(missing):  # another transaction created some of them meanwhile
            found = _find_leads(driver, emails)
    return found


def _load_leads(driver: Driver, ids: list[int]) -> dict[int, LeadRow]:
    """Whole rows of the leads this batch may change, locked in id order so that concurrent batches changing
    the same leads queue up instead of deadlocking (PostgreSQL; SQLite serialises writers). FOR NO KEY
    UPDATE: an activity's foreign key check on the same lead (FOR KEY SHARE) need not wait for it."""
    marks = ", ".join([driver.mark] * len(ids))
    lock = "" if driver.sqlite else " FOR NO KEY UPDATE"
    sql = f"SELECT {', '.join(LEAD_COLUMNS)} FROM leads WHERE id IN ({marks}) ORDER BY id{lock}"  # noqa: S608
    found = {}
    for row in driver.session.connection().exec_driver_sql(sql, tuple(sorted(ids))):
        values = dict(zip(LEAD_COLUMNS, row, strict=True))
        for name in LEAD_READ_TIMES:
            values[name] = driver.read_time(values[name])
        values["is_customer"] = bool(values["is_customer"])
        found[values["id"]] = LeadRow.loaded(values)
    return found


def _save_leads(session: Session, leads: list[LeadRow]) -> None:
    """One executemany per set of changed columns (usually one or two: the seen/touch times)."""
    driver = Driver(session)
    groups: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
    for lead in sorted(leads, key=lambda r: r.id):
        columns = lead.changed()
        if columns:
            groups[columns].append(
                (*(driver.time(getattr(lead, c)) if c in LEAD_TIMES else getattr(lead, c) for c in columns), lead.id)
            )
    for columns, rows in groups.items():
        driver.update("leads", columns, rows)


def _apply_upsert(state: _LeadState, event: LeadUpsert) -> None:
    lead = state.lead
    given = event.lead.model_fields_set - {"email"}
    newer = lead.profile_as_of is None or event.occurred_at >= lead.profile_as_of
    values = {name: getattr(event.lead, name) for name in given if name in PROFILE_FIELDS}
    for name in DATE_FIELDS:
        if values.get(name) is not None:
            values[name] = values[name].isoformat()
    if "lifecycle_stage" in values:
        values["lifecycle_stage"] = normalise_stage(values["lifecycle_stage"])
        if values["lifecycle_stage"] == "customer" and "is_customer" not in values:
            values["is_customer"] = True
    if values.get("is_customer", False) is None:
        del values["is_customer"]  # null: not known, which leaves what we know (a lead is a prospect until told)
    for name, value in values.items():
        current = getattr(lead, name)
        # Newer wins; an older, late event only fills what we do not know yet.
        if (newer or current is None) and value != current:
            setattr(lead, name, value)
            if name == "score":
                state.score_changed_at = event.occurred_at
            elif name == "lifecycle_stage":
                state.stage_changed_at = event.occurred_at
    if newer:
        lead.profile_as_of = event.occurred_at
    found = search_fields(lead.first_name, lead.last_name, lead.company, lead.email)
    lead.search_text, lead.name_fold, lead.company_fold = found.search_text, found.name_fold, found.company_fold
    state.touched = True


def _assets(session: Session, events: list[ActivityEvent]) -> dict[str, int]:
    wanted: dict[str, dict] = {}
    for e in events:
        a = e.asset
        if a and (a.url or a.title):
            key = _asset_key(a.url, a.title)
            wanted.setdefault(key, {"key": key, "title": a.title, "url": a.url, "type": a.type, "topic": a.topic})
    if not wanted:
        return {}
    session.execute(
        _insert(session, ContentAsset).on_conflict_do_nothing(index_elements=["key"]),
        [wanted[k] for k in sorted(wanted)],
    )
    rows = session.execute(select(ContentAsset).where(ContentAsset.key.in_(wanted))).scalars().all()
    for asset in rows:  # fill in what the first sender did not know
        w = wanted[asset.key]
        for name in ("title", "type", "topic"):
            if getattr(asset, name) is None and w[name]:
                setattr(asset, name, w[name])
    return {a.key: a.id for a in rows}


def _asset_key(url: str | None, title: str | None) -> str:
    return url.strip() if url else "title:" + fold(title or "")


def write(session: Session, events: list[Event], now: datetime,
          words: Mapping[tuple[str, str], dict] | None = None) -> Written:
    """Record the batch's new events (replays are skipped); returns the counts and the leads whose rows were
    read, for the use case to ask the domain about. `words`: form comments' readings (briefs.words.as_json),
    by (source, event id), stored with their activities."""
    words = words or {}
    driver = Driver(session)
    # Read only: a batch of replays creates no lead (its lead may have been forgotten since).
    known = _find_leads(driver, {e.email for e in events if e.email})
    claimed, stamps = _claim(driver, events, now, known)
    if not claimed:
        return Written(0, len(events), [])

    ids = _lead_ids(driver, {e.email for e in claimed if e.email}, now, known)
    _link_claims(driver, [(ids[e.email][0], e.source, e.id) for e in claimed if e.email and e.email not in known])
    fresh = _resolve_visitors(driver, claimed, ids, stamps, now)
    # Whole rows for the leads whose profile changes or on whose events a rule may fire.
    full = {e.email for e in fresh if isinstance(e, LeadUpsert) or may_fire_on(e, ids[e.email][1])}
    rows = _load_leads(driver, [ids[email][0] for email in full]) if full else {}
    states = {}
    for email in full:
        lead = rows[ids[email][0]]
        states[email] = _LeadState(lead, lead.score, lead.lifecycle_stage)

    for e in sorted((e for e in fresh if isinstance(e, LeadUpsert)), key=lambda e: e.occurred_at):
        _apply_upsert(states[e.email], e)

    acts = [e for e in fresh if isinstance(e, ActivityEvent)]
    asset_ids = _assets(session, acts)
    received = driver.time(now)
    activity_rows = []
    for e in acts:
        asset = e.asset
        key = _asset_key(asset.url, asset.title) if asset and (asset.url or asset.title) else None
        activity_rows.append((
            ids[e.email][0], e.kind, stamps[e.source, e.id], asset_ids.get(key) if key else None, e.campaign,
            e.subject, e.url, e.form, e.comments, driver.json(e.properties), e.source, e.id, received,
            driver.json(words[e.source, e.id]) if (e.source, e.id) in words else None,
        ))
        state = states.get(e.email)
        if state is not None:  # a rule may fire on it
            state.activities.append(ActivityView(
                kind=e.kind, occurred_at=e.occurred_at, title=asset.title if asset else None,
                url=e.url, form=e.form, comments=e.comments, properties=e.properties or {},
                words=words.get((e.source, e.id)),
            ))
    # A replay racing this batch was already filtered out by _claim; the conflict clause is a second guard.
    driver.insert("activities", ACTIVITY_COLUMNS, activity_rows, ("source", "source_event_id"))

    notes = [e for e in fresh if isinstance(e, NoteEvent)]
    if notes:
        session.execute(_insert(session, HandoffNote), [
            {"lead_id": ids[e.email][0], "author": e.author, "body": e.text,
             "created_at": e.occurred_at, "source": e.source, "author_role": e.author_role,
             "author_ref": e.author_email}
            for e in notes
        ])

    for e in fresh:
        if isinstance(e, QualifiedEvent):
            states[e.email].explicit.append(
                Explicit(e.reason, e.occurred_at, e.score, e.note, e.source)
            )
    touched = [state.lead for state in states.values() if state.touched]
    for lead in touched:
        lead.updated_at = now
    _save_leads(session, touched)
    return Written(len(claimed), len(events) - len(claimed), [_changed(state) for state in states.values()])


def _resolve_visitors(driver: Driver, claimed: list[Event], ids: dict[str, tuple[int, bool]],
                      stamps: dict[tuple[str, str], object], now: datetime) -> list[Event]:
    """The batch's events as the rest of write() applies them: identity links recorded (and dropped from the
    list), activities naming a visitor given their lead's email when the visitor resolves to one, or kept pending
    (and dropped) when not, and the pending activities the new links resolve added with their own times and ids.
    `ids` and `stamps` gain the leads and times of the activities added; their claims are tied to their leads."""
    session = driver.session
    linked: set[identity.SourceKey] = set()
    for e in sorted((e for e in claimed if isinstance(e, IdentityLink | LeadUpsert) and e.visitor),
                    key=lambda e: e.occurred_at):
        assert e.visitor is not None
        target = Target(user_id=e.user_id) if isinstance(e, IdentityLink) and e.user_id else Target(ids[e.email][0])
        if target.user_id is not None:
            user_key = ("user_id", target.user_id)
            merged = merged_lead(identity.resolve(session, e.source, e.visitor),
                                 identity.resolve_keys(session, e.source, [user_key]))
            if merged is not None and identity.save_link(session, e.source, user_key, Target(merged), e.occurred_at):
                linked.add((e.source, *user_key))
        for key in e.visitor.ids():
            if identity.save_link(session, e.source, key, target, e.occurred_at):
                linked.add((e.source, *key))
    visiting = [e for e in claimed if isinstance(e, ActivityEvent) and e.visitor is not None]
    if not linked and not visiting:
        # Links that changed nothing (already known) are recorded claims, not events to apply.
        return [e for e in claimed if not isinstance(e, IdentityLink)]

    attached = identity.attach(session, linked, now) if linked else []
    # By (source, id): two sources may use the same event id.
    resolved = {(e.source, e.id): identity.resolve(session, e.source, e.visitor) for e in visiting if e.visitor}
    identity.keep_pending(session, [e for e in visiting if resolved[e.source, e.id] is None], now)
    leads = identity.lead_emails(session, {i for i in resolved.values() if i is not None} | {i for _, i in attached})
    ids.update({email: (lead_id, customer) for lead_id, (email, customer) in leads.items()})

    def as_lead(e: ActivityEvent, lead_id: int) -> ActivityEvent:
        return e.model_copy(update={"email": leads[lead_id][0], "visitor": None})

    out: list[Event] = []
    for e in claimed:
        if isinstance(e, IdentityLink):
            continue
        if isinstance(e, ActivityEvent) and e.visitor is not None:
            lead_id = resolved[e.source, e.id]
            if lead_id is not None:
                out.append(as_lead(e, lead_id))
        else:
            out.append(e)
    for e, lead_id in attached:
        out.append(as_lead(e, lead_id))
        stamps[e.source, e.id] = driver.time(e.occurred_at)
    _link_claims(driver, [(lead_id, e.source, e.id) for e, lead_id in attached]
                 + [(lead_id, e.source, e.id) for e in visiting if (lead_id := resolved[e.source, e.id]) is not None])
    return out


def _changed(state: _LeadState) -> ChangedLead:
    lead = state.lead
    change = LeadChange(lead=lead_view(lead), previous_score=state.previous_score,
                        score_changed_at=state.score_changed_at, previous_stage=state.previous_stage,
                        stage_changed_at=state.stage_changed_at, new_activities=state.activities,
                        explicit=state.explicit)
    return ChangedLead(lead.id, bool(lead.is_customer), change, lead)


def open_since(session: Session, lead_ids: list[int]) -> dict[int, datetime]:
    """lead id -> qualified_at of its newest open qualification, for those of `lead_ids` that have one."""
    return dict(session.execute(
        select(Qualification.lead_id, func.max(Qualification.qualified_at))
        .where(Qualification.lead_id.in_(lead_ids), Qualification.status.in_(OPEN_STATUSES))
        .group_by(Qualification.lead_id)
    ).all())


def add_qualifications(session: Session, decided: list[tuple[ChangedLead, Decision]],
                       now: datetime) -> list[NewQualification]:
    """Write the qualifications decided on, in the given order (the order their briefs are queued in), and
    read what each brief is built from."""
    created = []
    for lead, decision in decided:
        q = Qualification(
            lead_id=lead.id,
            reason=decision.reason,
            detail=decision.detail[:1000],
            score=decision.score,
            note=decision.note,
            trigger_event=decision.trigger[:300],
            triggered_at=decision.triggered_at,
            qualified_at=now,
            status="open",
        )
        session.add(q)
        created.append((lead, q))
    if not created:
        return []
    session.flush()
    return [NewQualification(q.id, q.lead_id, brief_input(session, lead.row, now, q)) for lead, q in created]


def touch_rows(session: Session, lead_ids: list[int], since: datetime) -> dict[int, tuple[list[TouchRow], datetime | None]]:
    """Per lead, the minimal rows the touch rule counts from `since` on, and the newest engagement before it."""
    if not lead_ids:
        return {}
    rows: dict[int, list[TouchRow]] = defaultdict(list)
    recent = session.execute(
        select(Activity.lead_id, Activity.kind, Activity.occurred_at, Activity.url).where(
            Activity.lead_id.in_(lead_ids), Activity.occurred_at >= since, Activity.kind.in_(ENGAGEMENT_KINDS)
        )
    )
    for lead_id, kind, at, url in recent:
        rows[lead_id].append((kind, at, url))
    before = dict(session.execute(
        select(Activity.lead_id, func.max(Activity.occurred_at))
        .where(Activity.lead_id.in_(lead_ids), Activity.occurred_at < since, Activity.kind.in_(ENGAGEMENT_KINDS))
        .group_by(Activity.lead_id)
    ).all())
    return {lead_id: (rows.get(lead_id, []), before.get(lead_id)) for lead_id in rows.keys() | before.keys()}
