"""Visitor identity: which lead a source's user id / anonymous id stands for, and how long activity waits for one.

Pure. storage.ingest reads the links and keeps the pending activity; every choice is made here.

A link maps one (kind, id) of a source to a lead, or to a user id of the same source (alias, or an identify
that gives a userId and an anonymousId but no email). Chains (anonymous id -> user id -> lead) resolve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Activity of a visitor not linked to any lead yet is kept this long (by when it occurred) ...
PENDING_MAX_AGE = timedelta(days=30)
# ... and at most this many per visitor (the newest): a crawler with one anonymous id cannot fill the table.
PENDING_PER_VISITOR = 200
# Links followed from a visitor to a lead at most (anonymous id -> user id -> lead is two); guards cycles too.
MAX_HOPS = 8

Key = tuple[str, str]  # ("user_id" | "anonymous_id", the id), within one source


@dataclass(frozen=True)
class Target:
    """Where a link points: a lead (lead_id) or another user id of the same source."""

    lead_id: int | None = None
    user_id: str | None = None

    @property
    def next_key(self) -> Key | None:
        return ("user_id", self.user_id) if self.user_id is not None else None


def resolve(keys: Iterable[Key], links: Mapping[Key, Target]) -> int | None:
    """The lead the first of `keys` that leads to one resolves to (the user id before the anonymous id), or None.

    `links` needs to hold only the links reachable from `keys` (storage reads them hop by hop)."""
    for key in keys:
        seen: set[Key] = set()
        current: Key | None = key
        while current is not None and current not in seen and len(seen) < MAX_HOPS:
            seen.add(current)
            target = links.get(current)
            if target is None:
                break
            if target.lead_id is not None:
                return target.lead_id
            current = target.next_key
    return None


def replaces(current: Target | None, new: Target, current_at: datetime, new_at: datetime) -> bool:
    """Whether a new link for a key replaces the one it has. A link to a lead (an identify with an email) does,
    unless the key's link is to a lead already and newer: the newest identify is who the visitor is. A link to a
    user id only fills a key that has none, so an alias never takes a visitor away from whom they lead to."""
    if current is None:
        return True
    if new.lead_id is not None:
        return current.lead_id is None or new_at >= current_at
    return False


def pending_cutoff(now: datetime) -> datetime:
    """Pending activity that occurred before this is no longer kept (nor attached)."""
    return now - PENDING_MAX_AGE


def merged_lead(visitor_lead: int | None, user_lead: int | None) -> int | None:
    """An alias (the visitor's ids are user id U) when the visitor leads to someone and U to nobody yet: the lead
    U now stands for too (Segment: userId is "the user's new identity, or an existing identity that you wish to
    merge with the previousId"). None: nothing to add (U is someone already, or the visitor is nobody yet)."""
    return visitor_lead if visitor_lead is not None and user_lead is None else None
