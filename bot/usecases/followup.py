"""A lead's follow-up, shared by the rep actions (bot/usecases/rep_actions.py) and the follow-through worker
(bot/usecases/followthrough.py): the state machine's transitions applied inside a caller's transaction, and
the refresh that shows the current state wherever the lead is posted."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.gateway import error_code, too_long
from bot.usecases.deps import Services
from briefs import followthrough as domain
from briefs import followup
from briefs.blocks import Message, delivered, shrink
from briefs.followthrough import LeadCard
from briefs.followup import FollowUp, SnoozeChoice, Transition
from storage import followthrough as store
from storage.models import Delivery

log = logging.getLogger("leadbrief.followthrough")


# --- Transitions inside the caller's transaction ----------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """A transition applied to a lead (and saved in the caller's transaction)."""

    transition: Transition
    lead_id: int
    lead_email: str


def apply(session: Session, qualification_id: int, change: Callable[[store.Tracked], Transition],
          now: datetime) -> Applied | None:
    """Load the follow-up state under a row lock, move it on with `change`, save what changed; None if the
    lead is gone."""
    tracked = store.load_followup(session, qualification_id)
    if tracked is None:
        return None
    t = change(tracked)
    save(session, t, now)
    return Applied(t, tracked.lead_id, tracked.lead_email)


def save(session: Session, t: Transition, now: datetime) -> None:
    """What a transition changed, in the caller's transaction (the state was loaded by store.load_followup)."""
    if not t.changed:
        return
    store.save_followup(session, t.state, t.owner_email)
    if t.release_held:
        store.release_held(session, t.state.qualification_id, now)


def claim(session: Session, qualification_id: int, user_id: str, user_email: str | None,
          now: datetime) -> Applied | None:
    return apply(session, qualification_id, lambda t: followup.claim(t.state, user_id, user_email, now), now)


def contacted(session: Session, qualification_id: int, user_id: str, now: datetime) -> Applied | None:
    return apply(session, qualification_id, lambda t: followup.contacted(t.state, user_id, now), now)


def not_a_fit(session: Session, qualification_id: int, user_id: str, reason: str, now: datetime) -> Applied | None:
    return apply(session, qualification_id, lambda t: followup.not_a_fit(t.state, user_id, reason, now), now)


def snooze(session: Session, qualification_id: int, user_id: str, until: datetime, choice: SnoozeChoice,
           now: datetime) -> Applied | None:
    return apply(session, qualification_id, lambda t: followup.snooze(t.state, user_id, until, choice), now)


def reassign(session: Session, qualification_id: int, by: str, to_user: str, to_email: str | None, now: datetime,
             due_at: Callable[[str], datetime | None]) -> Applied | None:
    """`due_at(reason)`: when the new rep's clock runs out, for a lead that qualified for this reason."""
    return apply(session, qualification_id,
                 lambda t: followup.reassign(t.state, by, to_user, to_email, now, due_at(t.reason)), now)


# --- Showing the current state ---------------------------------------------------------------------


def send(call: Callable[..., Any], msg: Message, **args: Any) -> Any:
    """chat.postMessage or chat.update with msg; refused for its length, a shorter version at once (the same
    one would be refused again)."""
    try:
        return call(text=msg["text"], blocks=msg["blocks"], **args)
    except SlackApiError as exc:
        if not too_long(exc):
            raise
        log.warning("Slack said %s; sending a shorter message", error_code(exc))
        short = shrink(msg)
        return call(text=short["text"], blocks=short["blocks"], **args)


def _update(client: WebClient, channel: str, ts: str, payload: Message) -> None:
    try:
        send(client.chat_update, payload, channel=channel, ts=ts)
    except (SlackApiError, OSError) as exc:
        log.warning("could not update message %s/%s: %s", channel, ts, error_code(exc))


# Where a lead shows: its brief (or digest) as (channel, ts, message), and its escalation, if answered.
Shown = tuple[tuple[str, str, Message], tuple[str, str, Message] | None]


def refresh(services: Services, client: WebClient, qualification_id: int) -> None:
    """Show a lead's current follow-up state wherever it is posted: its brief (or the digest that holds it)
    and its escalation in the team queue. Failures are logged: the state itself is already saved."""
    shown = None
    # Two refreshes of one lead (a click and a reminder) may reach Slack out of order: after each update the
    # state is read again, and shown again if it moved on meanwhile, so the newest state is the one left.
    for _ in range(3):
        current = _rendered(services, qualification_id)
        if current is None or current == shown:
            return
        (channel, ts, payload), escalation = current
        _update(client, channel, ts, payload)
        if escalation is not None:
            # The queue's call for help is answered: say by whom, and take its Claim button away.
            _update(client, *escalation)
        shown = current


def _digest(session: Session, channel: str, ts: str) -> Message | None:
    items = store.digest_cards(session, store.digest_members(session, channel, ts))
    if not items:
        return None
    return render_digest(items, items[0][0].digest_user or "")


def render_digest(items: list[tuple[Delivery, LeadCard, FollowUp]], user: str) -> Message:
    """A digest from its stored members, as it is first posted and as every refresh shows it."""
    return domain.digest([card for _, card, _ in items], user, {card.qualification_id: f for _, card, f in items})


def _rendered(services: Services, qualification_id: int) -> Shown | None:
    with services.sessions() as s:
        where = store.shown_at(s, qualification_id)
        if where is None:
            return None
        if where.digest_user:
            payload = _digest(s, where.channel, where.ts)
            if payload is None:
                return None
        else:
            payload = delivered(where.payload, where.state)
        escalation = None
        by = where.state.answered_by
        if where.escalation is not None and by:
            escalation = (*where.escalation, domain.escalation_answered(where.card, by, where.state.status))
        return (where.channel, where.ts, payload), escalation


def digest_without(services: Services, channel: str, ts: str) -> Message | None:
    """A digest message as it reads now (after a lead in it was forgotten); None if it is not a digest or no
    lead is left in it."""
    with services.sessions() as s:
        return _digest(s, channel, ts)

