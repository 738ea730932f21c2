"""What happened to the leads: `/lead stats` and `leadbrief report` (marketing's feedback over a period), the
App Home (the rep's queue above the 30-day summary) and, for operators, `leadbrief outbox` (deliveries by
status, and failed ones queued again)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.usecases import account_view
from bot.usecases.deps import Services
from bot.usecases.lookup import Reply, slack_of, viewer_scope
from briefs import stats as stats_model
from briefs.followthrough import home_view
from storage import audit, outbox
from storage import followthrough as followthrough_store
from storage import stats as stats_store

# The App Home's summary covers this many days.
SUMMARY_DAYS = 30


def stats(services: Services, user_id: str, days: int) -> Reply:
    """Marketing feedback over the last `days`; with access.own_leads_only, over the rep's own leads."""
    now = services.clock()
    owner = viewer_scope(services, user_id)
    with services.sessions() as s:
        rows = stats_store.rows(s, days, now, owner=owner)
    with services.sessions.begin() as s:
        audit.record(s, actor=user_id, action="stats", at=now, detail=f"{days}d")
    reply: Reply = stats_model.to_blocks(stats_model.build(rows, days, now))
    reply["blocks"] = [*reply["blocks"], *account_view.stats_block(services, days, owner)][:50]  # issue 18
    return reply


def home(services: Services, user_id: str, *, audited: bool = False) -> dict[str, Any]:
    """The App Home view for this rep: their open leads, then the summary of the last SUMMARY_DAYS days.
    audited: the rep opened it (not a refresh after a click)."""
    slack = slack_of(services)
    email = slack.directory.email_of(user_id)
    owner = viewer_scope(services, user_id)
    now = services.clock()
    with services.sessions.begin() as s:
        queue = followthrough_store.queue(s, email, user_id)
        prefs = followthrough_store.prefs(s, user_id)
        rows = stats_store.rows(s, SUMMARY_DAYS, now, owner=owner)
        if audited:
            audit.record(s, actor=user_id, action="home", at=now, detail=f"{len(queue)} open leads")
    summary = stats_model.to_blocks(stats_model.build(rows, SUMMARY_DAYS, now))["blocks"]
    summary = account_view.home_blocks(services, email) + summary  # issue 18: the rep's active accounts
    view: dict[str, Any] = home_view(user_id, queue, summary, now, bool(prefs and prefs.quiet))
    return view


def report(services: Services, days: int, actor: str, form: str) -> stats_model.Stats:
    """`leadbrief report`: every lead qualified in the last `days`, audited with the format asked for."""
    now = services.clock()
    with services.sessions() as s:
        figures = stats_model.build(stats_store.rows(s, days, now), days, now)
    with services.sessions.begin() as s:
        audit.record(s, actor=actor, action="stats", at=now, detail=f"{days}d {form}")
    return figures


@dataclass(frozen=True)
class OutboxRow:
    """One delivery, as `leadbrief outbox` lists it."""

    id: int
    status: str
    lead_id: int
    attempts: int
    next_attempt_at: datetime
    channel: str | None
    ts: str | None
    queue_reason: str | None
    last_error: str | None


@dataclass(frozen=True)
class OutboxListing:
    counts: dict[str, int]  # every delivery, by status
    rows: list[OutboxRow]  # newest first


def outbox_listing(services: Services, status: str | None, limit: int) -> OutboxListing:
    """The outbox's counts by status, and its newest deliveries (of one status, or all with None)."""
    with services.sessions() as s:
        counts = outbox.counts(s)
        rows = [OutboxRow(d.id, d.status, d.lead_id, d.attempts, d.next_attempt_at, d.channel, d.ts,
                          d.queue_reason, d.last_error)
                for d in outbox.listing(s, status, limit)]
    return OutboxListing(counts, rows)


def retry_failed(services: Services, delivery_id: int | None) -> int:
    """Queue failed deliveries again (one, or all with None); how many were."""
    with services.sessions.begin() as s:
        queued: int = outbox.retry(s, delivery_id, services.clock())
    return queued
