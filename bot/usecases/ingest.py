"""Ingest a delivery of events: record them once, update leads, qualify, and queue the briefs.

One transaction per batch: the events, the qualifications they trigger and the briefs queued for them
(the outbox) are written together, so none is ever lost and a failed batch leaves nothing behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.usecases import accounts as account_uc
from bot.usecases.briefing import brief_of, crm_fields, queue_brief
from briefs import qualification, signals
from briefs import words as reading
from briefs.accounts import DEFAULT_POLICY as DEFAULT_ACCOUNTS
from briefs.accounts import AccountPolicy
from briefs.events import ActivityEvent, Event
from briefs.notices import notice, notice_text, their_words
from briefs.qualification import Decision
from briefs.rules import Rules
from briefs.signals import ActivityView
from briefs.triage import (
    DEFAULT_POLICY,
    Delivery,
    TriageInput,
    TriagePolicy,
    TriageResult,
    comparison_slugs,
    machine_rule,
    triage,
)
from storage import ingest as store
from storage import queries
from storage import triage as triage_store
from storage.ingest import ChangedLead, NewQualification

__all__ = ["IngestResult", "ingest"]

RETRIES = 3
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure (PostgreSQL)


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    qualifications: list[int] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.qualifications += other.qualifications


def ingest(sessions: sessionmaker[Session], events: list[Event], rules: Rules,
           now: datetime | None = None, *, triage_policy: TriagePolicy = DEFAULT_POLICY,
           accounts: AccountPolicy = DEFAULT_ACCOUNTS) -> IngestResult:
    """Apply one batch atomically. Returns counts and the ids of new qualifications (triaged: see _triage).
    triage_policy: [triage] (Settings.triage.policy); accounts: [accounts] (Settings.accounts)."""
    now = now or datetime.now(UTC)
    readings = read_words(sessions, events)  # before the transaction, once whatever the retries
    for attempt in range(RETRIES + 1):
        try:
            with sessions.begin() as session:
                return _apply(session, events, rules, triage_policy, now, readings, accounts)
        except OperationalError as exc:
            # The batch was rolled back whole; a deadlock or serialisation failure is worth another go.
            if attempt == RETRIES or getattr(exc.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def read_words(sessions: sessionmaker[Session], events: list[Event]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each new form comment read once, here: cleaned, its language and facts found (briefs.words); stored with
    its activity, so that no brief pays for it again. A replay's comment was read when it first came."""
    wanted = {(e.source, e.id): e for e in events
              if isinstance(e, ActivityEvent) and reading.worth_reading(e.kind, e.comments, e.properties)}
    if not wanted:
        return {}
    with sessions() as session:
        replays = store.already_claimed(session, list(wanted))
    return {key: reading.as_json(reading.read(e.comments, e.properties, e.occurred_at))
            for key, e in wanted.items() if key not in replays}


def _apply(session: Session, events: list[Event], rules: Rules, policy: TriagePolicy, now: datetime,
           readings: dict[tuple[str, str], dict[str, Any]] | None = None,
           account_policy: AccountPolicy = DEFAULT_ACCOUNTS) -> IngestResult:
    written = store.write(session, events, now, readings)
    result = IngestResult(accepted=written.accepted, duplicates=written.duplicates)
    at_account = account_uc.assign(session, written.leads, account_policy, now)  # issue 18: leads -> accounts
    decided = _decide(session, written.leads, rules, policy, now)
    decided += account_uc.surge_decisions(session, written.leads, decided, at_account, account_policy, now)
    created = store.add_qualifications(session, decided, now)
    verdicts = _triage(session, decided, created, rules, policy)
    triage_store.record(session, [(new.id, verdict) for new, verdict in zip(created, verdicts, strict=True)], now)
    plans = account_uc.plan(session, created, [v.pages_rep for v in verdicts], at_account, account_policy, now)
    for new, verdict in zip(created, verdicts, strict=True):
        account_plan = plans.get(new.id)
        if verdict.pages_rep and account_plan is not None and account_plan.role != account_uc.Role.BRIEF:
            # One brief per account: another rep is told, a later qualification goes into the brief's thread.
            account_uc.enqueue_notice(session, new, account_plan, now)
        elif verdict.pages_rep:
            if account_plan is not None:
                new = replace(new, brief_input=account_uc.with_account(session, new.brief_input, new.lead_id,
                                                                        account_policy, now))
            # The brief tells machine opens and flags the address as triage did.
            brief = brief_of(new.brief_input, None, rules, policy, verdict.flags)
            queue_brief(session, new, brief, now)
        elif verdict.delivery in (Delivery.CLOSE, Delivery.ROUTE):
            lead = new.brief_input.lead
            to = verdict.destination.value if verdict.destination else NOTICE_TO_MARKETING_OPS
            words = their_words(verdict, new.brief_input.activities)
            triage_store.enqueue_notice(session, new.id, new.lead_id, to, notice(new.id, lead, verdict, words),
                                        notice_text(lead, verdict, words), now)
        # A digest line (machine opens only) posts nothing: docs/triage.md, "How it flows".
        result.qualifications.append(new.id)
    return result


# deliveries.notice_to of a do-not-contact notice (marketing ops); a not-a-buyer one names its destination.
NOTICE_TO_MARKETING_OPS = "do_not_contact"


def _triage(session: Session, decided: list[tuple[ChangedLead, Decision]], created: list[NewQualification],
            rules: Rules, policy: TriagePolicy) -> list[TriageResult]:
    """Should a human call each new qualification's lead? Read from what its brief is built from, the
    qualifying batch, the lead's CRM flags, our comparison pages seen in any lead's visits, and any override."""
    if not created:
        return []
    slugs: frozenset[str] = frozenset()
    if policy.enabled and policy.competitors_from_comparison_pages:
        slugs = comparison_slugs(triage_store.comparison_urls(session), policy.own_names)
    overrides = triage_store.overrides(session, [new.lead_id for new in created]) if policy.enabled else {}
    verdicts = []
    for (lead, decision), new in zip(decided, created, strict=True):
        stored = new.brief_input.activities
        row = lead.row
        verdicts.append(triage(TriageInput(
            lead=new.brief_input.lead, activities=stored, reason=decision.reason,
            trigger=_as_stored(lead.change.new_activities, stored),
            crm_fields=crm_fields(row),
            comparison_slugs=slugs, override=overrides.get(new.lead_id)), policy, rules))
    return verdicts


def _key(a: ActivityView) -> tuple[object, ...]:
    return a.kind, a.occurred_at, a.url, a.form, a.comments, a.subject, a.campaign


def _as_stored(batch: list[ActivityView], stored: list[ActivityView]) -> list[ActivityView]:
    """The batch's activities as the stored views (triage tells machine opens apart by identity)."""
    by_key = {_key(a): a for a in stored}
    return [by_key.get(_key(a), a) for a in batch]


def _decide(session: Session, leads: list[ChangedLead], rules: Rules, policy: TriagePolicy,
            now: datetime) -> list[tuple[ChangedLead, Decision]]:
    """The qualifications the batch triggers, in the order their briefs are queued."""
    # Only leads where a rule could fire read their open episode and touch history.
    candidates = [lead for lead in leads if qualification.may_qualify(lead.change)]
    if not candidates:
        return []
    open_since = store.open_since(session, [lead.id for lead in candidates])
    since = signals.window_rows_start(now - timedelta(days=rules.reengage_window_days))
    history = {lead_id: signals.window_touches(_human(session, lead_id, rows, since, policy), last_before)
               for lead_id, (rows, last_before)
               in store.touch_rows(session, [lead.id for lead in candidates if lead.is_customer], since).items()}
    decided = []
    for lead in candidates:
        lead.change.open_since = open_since.get(lead.id)
        lead.change.touch_history = history.get(lead.id)
        decision = qualification.decide(lead.change, rules, now)
        if decision is not None:
            decided.append((lead, decision))
    decided.sort(key=lambda decided_lead: qualification.delivery_order(decided_lead[1]))
    return decided


# A re-engagement window's activities read whole when it holds email engagement; more is not a person's week.
WINDOW_ACTIVITIES = 2000


def _human(session: Session, lead_id: int, rows: list[signals.TouchRow], since: datetime,
           policy: TriagePolicy) -> list[signals.TouchRow]:
    """The window's touch rows without machine opens. The minimal rows cannot tell one, so a window with email
    engagement is read whole (with the properties and deliveries the machine-open rule reads)."""
    if not any(kind in signals.ENGAGED_EMAIL_KINDS for kind, _, _ in rows):
        return rows
    views = queries.activity_views(session, lead_id, limit=WINDOW_ACTIVITIES, since=since)
    return signals.touch_rows(views, machine_rule(policy))


@dataclass(frozen=True)
class StoreFailure:
    """Why a delivery could not be stored (nothing was), for callers that must not know the database library."""

    unavailable: bool  # the database is down: retry later; otherwise a value it cannot hold (the sender's data)
    detail: str  # the driver's error class and SQLSTATE, never its message (it can quote the value)


def store_failure(exc: BaseException) -> StoreFailure | None:
    """What an exception raised by ingest() means for the sender; None when it is not a storage failure."""
    if isinstance(exc, OperationalError):
        return StoreFailure(unavailable=True, detail=type(exc.orig).__name__)
    if isinstance(exc, DataError):
        return StoreFailure(unavailable=False,
                            detail=f"{type(exc.orig).__name__}, SQLSTATE {getattr(exc.orig, 'sqlstate', None) or '-'}")
    return None
