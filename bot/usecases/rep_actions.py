"""What reps do with a brief: claim, contacted, not a fit, snooze, reassign (from the brief, its digest, the
App Home or an escalation in the team queue), and quiet mode. Each use case owns its transaction: load the
follow-up state under a row lock, apply the domain's transition (briefs.followup), save it, audit it, then
show the new state wherever the lead is posted."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.gateway import error_code
from bot.usecases import followup as steps
from bot.usecases.deps import Services
from bot.usecases.followup import refresh
from briefs import followup
from briefs.blocks import answer_text
from briefs.followthrough import asked_window, passed_on, snooze_until
from briefs.followup import RepAction, SnoozeChoice, Status, Transition
from storage import audit
from storage import followthrough as store

log = logging.getLogger("leadbrief.actions")

# May the clicker see (and so act on) a lead with this owner email? The handler's access rule.
Visible = Callable[[str | None], bool]


class Verdict(StrEnum):
    DONE = "done"
    NOT_YOURS = "not_yours"
    GONE = "gone"  # the lead no longer exists


@dataclass(frozen=True)
class ActionResult:
    verdict: Verdict
    changed: bool = False
    answer: str = ""  # for the clicker, when DONE


def _act(services: Services, qualification_id: int, user: str, visible: Visible, audited_as: str,
         change: Callable[[store.Tracked, datetime], Transition], detail: str | None = None) -> ActionResult:
    """One rep action in one transaction; the click is audited even if it changed nothing."""
    now = services.clock()
    with services.sessions.begin() as s:
        tracked = store.load_followup(s, qualification_id)
        if tracked is None:
            return ActionResult(Verdict.GONE)
        if not visible(tracked.owner_email):
            return ActionResult(Verdict.NOT_YOURS)
        t = change(tracked, now)
        steps.save(s, t, now)
        audit.record(s, actor=user, action=audited_as[:audit.MAX_ACTION], at=now, lead_id=tracked.lead_id,
                     lead_ref=tracked.lead_email, detail=detail)
    if t.changed:
        _show(services, qualification_id)
    return ActionResult(Verdict.DONE, t.changed, answer_text(t, user))


def _show(services: Services, qualification_id: int) -> None:
    """Every change shows in place: the brief (or its digest), and its escalation in the team queue."""
    if services.slack is not None:
        refresh(services, services.slack.client, qualification_id)


def claim(services: Services, qualification_id: int, user: str, user_email: str | None,
          visible: Visible) -> ActionResult:
    """`user_email`: the claimer's, from Slack: they become the lead's owner."""
    return _act(services, qualification_id, user, visible, RepAction.CLAIM,
                lambda t, now: followup.claim(t.state, user, user_email, now))


def contacted(services: Services, qualification_id: int, user: str, visible: Visible) -> ActionResult:
    return _act(services, qualification_id, user, visible, RepAction.CONTACTED,
                lambda t, now: followup.contacted(t.state, user, now))


def snooze(services: Services, qualification_id: int, user: str, choice: SnoozeChoice, tz: ZoneInfo,
           visible: Visible) -> ActionResult:
    """`tz`: the snoozer's, for "tomorrow morning"."""
    hours = services.settings.follow_up.hours
    return _act(services, qualification_id, user, visible, RepAction.SNOOZE,
                lambda t, now: followup.snooze(t.state, user, snooze_until(choice, now, tz, hours), choice),
                detail=choice)


def reassign(services: Services, qualification_id: int, user: str, to_user: str, to_email: str | None,
             to_tz: ZoneInfo, visible: Visible) -> ActionResult:
    """The lead goes to `to_user` on a fresh clock in their time zone; they hear it from the bot."""
    policy = services.settings.follow_up
    with services.sessions() as s:  # a callback window the lead asked for holds for the new rep too
        tracked = store.load_followup(s, qualification_id)
        forms = store.forms_until(s, tracked.lead_id, services.clock()) if tracked is not None else []
    window = asked_window(forms, services.settings.rules, services.clock())
    result = _act(services, qualification_id, user, visible, RepAction.REASSIGN,
                  lambda t, now: followup.reassign(t.state, user, to_user, to_email, now,
                                                   policy.due(t.reason, now, to_tz, window)),
                  detail=f"to {to_user}")
    if result.changed:
        services.wake_delivery()  # a brief that was held for a digest goes out to the new rep now
        _tell_new_rep(services, user, to_user, qualification_id)
    return result


def _tell_new_rep(services: Services, by: str, to_user: str, qualification_id: int) -> None:
    """The new rep hears it from the bot, with a link to the brief, wherever it is posted."""
    if services.slack is None:
        return
    client = services.slack.client
    with services.sessions() as s:
        p = store.posted(s, qualification_id)
    if p is None:
        return
    msg = passed_on(p.card, by, to_user, p.channel)
    try:
        sent = []
        if p.channel and p.ts:
            sent.append(client.chat_postMessage(channel=p.channel, thread_ts=p.ts, **msg))
        sent.append(client.chat_postMessage(channel=to_user, unfurl_links=False, **msg))
        with services.sessions.begin() as s:
            for resp in sent:
                store.remember(s, qualification_id, "reassign", resp["channel"], resp["ts"], services.clock())
    except SlackApiError as exc:
        log.warning("could not tell the new rep about lead %d: %s", qualification_id, error_code(exc))


def not_a_fit_form(services: Services, qualification_id: int) -> store.LeadName | None:
    """What the Not-a-fit form shows and who may open it; None if the lead is gone."""
    with services.sessions() as s:
        return store.lead_name(s, qualification_id)


def not_a_fit(services: Services, qualification_id: int, user: str, reason_code: str, reason: str,
              visible: Visible) -> ActionResult:
    """The form is saved: `reason` (its label and the rep's words) is what marketing sees; the audit keeps only
    the code."""
    return _act(services, qualification_id, user, visible, Status.NOT_A_FIT,
                lambda t, now: followup.not_a_fit(t.state, user, reason[:1000], now), detail=reason_code)


def set_quiet(services: Services, user: str, quiet: bool) -> None:
    """Quiet mode on (non-urgent briefs wait for a daily digest) or off."""
    with services.sessions.begin() as s:
        store.set_quiet(s, user, quiet, None, services.clock())
        audit.record(s, actor=user, action="quiet", at=services.clock(), detail="on" if quiet else "off")
