"""Sync: store what a source's API hands over page by page (`leadbrief sync marketo`).

The source's reader (handlers/sources/marketo_sync.py) fetches and translates the pages; this stores each one
through the ingest use case as it arrives, so a failure keeps every earlier page, and keeps the running totals
and where to resume."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.usecases.ingest import ingest
from briefs.accounts import DEFAULT_POLICY as DEFAULT_ACCOUNTS
from briefs.accounts import AccountPolicy
from briefs.events import Event
from briefs.rules import Rules
from briefs.triage import DEFAULT_POLICY, TriagePolicy


@dataclass
class SyncResult:
    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0  # records of types we do not record, or of leads without an email
    skipped: int = 0  # records we could not read (logged by field): the rest of their page is stored
    qualified: int = 0
    pages: int = 0
    next_page_token: str | None = None  # where a later run resumes


class SyncError(Exception):
    """The source refused or could not be reached. `result` holds what was stored before the failure."""

    def __init__(self, message: str, code: str | None = None, result: SyncResult | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.result = result


@dataclass(frozen=True)
class Page:
    events: Sequence[Event]  # validated, in the order they are to be stored
    ignored: int  # what the source sent that we do not record
    next_page_token: str | None  # where to resume once this page is stored
    skipped: int = 0  # unreadable records of the page, left out (the source logged which and why)


def sync(
    sessions: sessionmaker[Session],
    rules: Rules,
    pages: Iterable[Page],
    *,
    resume_token: str | None = None,
    now: datetime | None = None,
    progress: Callable[[SyncResult], None] | None = None,
    triage_policy: TriagePolicy = DEFAULT_POLICY,
    accounts: AccountPolicy = DEFAULT_ACCOUNTS,
) -> SyncResult:
    """Store each page as `pages` yields it. resume_token: where to resume should the first page fail.

    progress(result) is called after each stored page with the running totals. A SyncError raised while
    reading carries them (`.result`), as of the last stored page."""
    result = SyncResult(next_page_token=resume_token)
    try:
        for page in pages:
            if page.events:
                done = ingest(sessions, list(page.events), rules, now, triage_policy=triage_policy, accounts=accounts)
                result.accepted += done.accepted
                result.duplicates += done.duplicates
                result.qualified += len(done.qualifications)
            result.ignored += page.ignored
            result.skipped += page.skipped
            result.pages += 1
            result.next_page_token = page.next_page_token
            if progress:
                progress(result)
    except SyncError as exc:
        exc.result = result
        raise
    return result
