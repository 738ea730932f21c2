""""Show full message" under a hand-raiser's quote: their whole message (cleaned) in a modal, under the
visibility policy, audited like a lookup."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.usecases.deps import Services
from bot.usecases.lookup import viewer_scope
from briefs import visibility
from briefs.blocks import full_message_view, read_full_message_value
from briefs.signals import own_words
from storage import audit, queries


class Found(Enum):
    SHOWN = "shown"
    GONE = "gone"  # no such lead, or its form is no longer stored (forgotten, or a stale button)
    NOT_YOURS = "not_yours"


@dataclass(frozen=True)
class FullMessage:
    found: Found
    view: dict[str, Any] | None = None  # the modal (briefs.blocks.full_message_view)


def full_message(services: Services, user_id: str, value: str) -> FullMessage:
    """The modal for the button's value (the lead's email and the form's time)."""
    ref = read_full_message_value(value)
    if ref is None:
        return FullMessage(Found.GONE)
    email, at = ref
    scope = viewer_scope(services, user_id)  # may ask Slack: before the session
    with services.sessions.begin() as s:
        lead = queries.find_lead(s, email)
        if lead is None:
            return FullMessage(Found.GONE)
        if not visibility.may_see(scope, lead.owner_email):
            return FullMessage(Found.NOT_YOURS)
        form = queries.form_at(s, lead.id, at)
        audit.record(s, actor=user_id, action="full_message", at=services.clock(), lead_id=lead.id,
                     lead_ref=email, detail=None if form else "form not found")
        if form is None:
            return FullMessage(Found.GONE)
        words = own_words(form)
        name = queries.lead_view(lead).name
    return FullMessage(Found.SHOWN, full_message_view(name, words.title, words.message or words.quote, words.removed))
