"""Who got in: the audit of refused Slack requests, and Slack's redelivered events acted on once."""

from __future__ import annotations

from bot.usecases.deps import Services
from storage import audit
from storage.ingest import claim_once


def record_denied(services: Services, actor: str, what: str) -> None:
    """A request refused by the access check, audited with who sent it and what it was (never its content)."""
    with services.sessions.begin() as s:
        audit.record(s, actor=actor, action="denied", at=services.clock(), detail=what)


def first_delivery(services: Services, event_id: str) -> bool:
    """True the first time Slack delivers this event; a redelivery (X-Slack-Retry-Num) is False."""
    return claim_once(services.sessions, "slack", event_id, "slack.event", services.clock())
