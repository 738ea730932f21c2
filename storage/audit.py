"""The audit log: who looked at or changed which lead, and when.

Slack handlers and the CLI call `record` in the same transaction as the change they audit (or right after a
lookup); `entries` reads it back, newest first. Entries outlive the lead: `storage.privacy.forget` replaces the
lead's email in them with `forgotten_ref(email)`.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from briefs.events import normalise_email
from storage.models import AuditEntry

FORGOTTEN_PREFIX = "forgotten:"
# Column sizes in storage.models.AuditEntry.
MAX_ACTOR, MAX_ACTION, MAX_REF, MAX_DETAIL = 64, 32, 320, 500


def forgotten_ref(email: str) -> str:
    """What stands for a forgotten lead in the audit log: "forgotten:" + the first 16 hex of sha256(email)."""
    digest = hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()
    return FORGOTTEN_PREFIX + digest[:16]


def cli_actor() -> str:
    """The actor for commands run from a shell: "cli:<os user>"."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry (some containers) and no LOGNAME/USER
        user = os.environ.get("USER") or "unknown"
    return _clip(f"cli:{user}", MAX_ACTOR) or "cli:unknown"


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return value if len(value) <= limit else value[: limit - 1] + "…"


def record(session: Session, *, actor: str, action: str, at: datetime, lead_id: int | None = None,
           lead_ref: str | None = None, detail: str | None = None) -> None:
    """Add one entry to the session (committed with the caller's transaction).

    `lead_ref` is the lead's email (normalised here) or a "forgotten:..." reference; `detail` is short context
    (a button's value, a search's result count), never a note's body. Over-long values are cut to fit."""
    if at.tzinfo is None:
        raise ValueError("audit.record needs a timezone-aware `at`")
    if lead_ref is not None and not lead_ref.startswith(FORGOTTEN_PREFIX):
        lead_ref = normalise_email(lead_ref)
    session.add(AuditEntry(
        at=at,
        actor=_clip(actor, MAX_ACTOR),
        action=_clip(action, MAX_ACTION),
        lead_id=lead_id,
        lead_ref=_clip(lead_ref, MAX_REF) or None,
        detail=_clip(detail, MAX_DETAIL) or None,
    ))


def entries(session: Session, *, lead_ref: str | None = None, actor: str | None = None,
            limit: int = 200) -> list[AuditEntry]:
    """Entries newest first. `lead_ref` given an email matches it and its forgotten form (so an erasure can be
    shown for the address that was erased); given a "forgotten:..." reference, just that."""
    stmt = select(AuditEntry)
    if lead_ref is not None:
        ref = lead_ref.strip()
        if ref.startswith(FORGOTTEN_PREFIX):
            stmt = stmt.where(AuditEntry.lead_ref == ref)
        else:
            email = normalise_email(ref)
            stmt = stmt.where(or_(AuditEntry.lead_ref == email, AuditEntry.lead_ref == forgotten_ref(email)))
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor.strip())
    stmt = stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(max(0, limit))
    return list(session.scalars(stmt))


def last(session: Session, *, action: str, detail_prefix: str, since: datetime) -> datetime | None:
    """When an entry with this action and a detail starting with detail_prefix was last recorded since `since`."""
    stmt = (select(AuditEntry.at).where(AuditEntry.action == action, AuditEntry.at >= since,
                                        AuditEntry.detail.startswith(detail_prefix, autoescape=True))
            .order_by(AuditEntry.at.desc()).limit(1))
    return session.scalars(stmt).first()
