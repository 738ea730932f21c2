"""Lookup and search: `/lead EMAIL` (the lead's brief), `/lead NAME` (search), `/lead mine` (the rep's open
leads) and `leadbrief brief EMAIL`; each audited, each under the visibility policy (briefs.visibility)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackClientError
from sqlalchemy.orm import Session

from bot.gateway import SlackContext, error_code
from bot.usecases.accounts import with_account
from bot.usecases.briefing import brief_of
from bot.usecases.deps import Services
from briefs import visibility
from briefs.blocks import search_blocks, to_blocks
from briefs.followthrough import mine_message
from briefs.markup import escape_mrkdwn, shorten
from briefs.model import Brief, BriefInput
from storage import audit, queries
from storage import followthrough as followthrough_store
from storage import leads as lead_store

Reply = dict[str, Any]
log = logging.getLogger(__name__)

SEARCH_LIMIT = 10
MINE_LIMIT = 20


def slack_of(services: Services) -> SlackContext:
    """The Slack gateway: the use cases behind Slack commands and events run only when it is configured."""
    if services.slack is None:
        raise RuntimeError("Slack is not configured")
    return services.slack


def viewer_scope(services: Services, user_id: str) -> str | None:
    """Which leads this Slack user may see (briefs.visibility.scope). Under own_leads_only this asks Slack for
    the user's email (cached): call it before taking a row lock, not under one."""
    slack = slack_of(services)
    if slack.access is None or not slack.access.own_leads_only:
        return visibility.EVERY_LEAD
    return visibility.scope(True, slack.directory.email_of(user_id))


def may_see(services: Services, user_id: str, owner_email: str | None) -> bool:
    return visibility.may_see(viewer_scope(services, user_id), owner_email)


def _record(services: Services, user_id: str, action: str, *, lead_id: int | None = None,
            lead_ref: str | None = None, detail: str | None = None) -> None:
    with services.sessions.begin() as s:
        audit.record(s, actor=user_id, action=action, at=services.clock(), lead_id=lead_id, lead_ref=lead_ref,
                     detail=detail)


def lookup(services: Services, user_id: str, email: str) -> Reply:
    """`/lead EMAIL`: the lead's brief, if the user may see it; else a refusal, or near matches by name."""
    scope = viewer_scope(services, user_id)
    with services.sessions() as s:  # one read of the lead, for the check and the brief
        lead = queries.find_lead(s, email)
        visible = lead is not None and visibility.may_see(scope, lead.owner_email)
        brief = (brief_of(_with_account(services, s, queries.brief_input(s, lead, services.clock()), lead.id), lead,
                          services.settings.rules, services.settings.triage.policy)
                 if lead is not None and visible else None)
        lead_id = lead.id if lead is not None else None
    _record(services, user_id, "lookup", lead_id=lead_id, lead_ref=email,
            detail=None if lead_id else "no such lead")
    if lead_id is not None and not visible:
        return {"text": visibility.NOT_YOURS}
    if brief is None:
        return _not_found(services, user_id, email)
    reply: Reply = to_blocks(brief)
    return reply


def _not_found(services: Services, user_id: str, email: str) -> Reply:
    """No lead has this email: the leads whose name looks like its local part, if any (not audited apart)."""
    local = email.split("@")[0].replace(".", " ")
    found = search(services, user_id, local, audited=False) if len(local) >= 2 else {"blocks": []}
    hint = "" if not found.get("blocks") else " Did you mean one of these?"
    text = (f"No lead with the email {escape_mrkdwn(email)}.{hint} You can also search by name or company: "
            "`/lead acme`.")
    reply: Reply = {"text": text}
    if hint:
        reply["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}] + found["blocks"][1:]
    return reply


def search(services: Services, user_id: str, query: str, *, audited: bool = True) -> Reply:
    """`/lead NAME`: up to ten leads the user may see, best match first, grouped by company; under
    own_leads_only the database keeps only the user's leads (before the limit, not after). Among leads spelt
    alike, the user's own come first (their email from Slack, cached)."""
    scope = viewer_scope(services, user_id)
    owner = None if scope is visibility.EVERY_LEAD else scope
    viewer = owner if owner is not None else _email_or_none(services, user_id)
    with services.sessions() as s:
        found = lead_store.search(s, query, SEARCH_LIMIT, owner, viewer)
        matches = visibility.visible(scope, found, lambda m: m.owner_email)
        named = list(dict.fromkeys(m.company_fold for m in matches if m.company_matched and m.company_fold))
        totals = lead_store.company_totals(s, named, owner)
    if audited:  # the query itself may name a person: only how many matched is kept
        _record(services, user_id, "search", detail=f"{len(matches)} matches")
    if not matches:
        return {"text": f"No lead matches “{escape_mrkdwn(shorten(query, 100))}”. Try a last name, a company, "
                        "or an email address; `/lead help` shows everything I can do."}
    reply: Reply = search_blocks(query, matches, totals)
    return reply


def _email_or_none(services: Services, user_id: str) -> str | None:
    """The user's email, to put their own leads first in a search; None when Slack will not say (the search
    goes on without it: it only orders leads spelt alike)."""
    try:
        return slack_of(services).directory.email_of(user_id)
    except (SlackClientError, OSError) as exc:
        log.warning("search without the user's own leads first: users.info failed (%s)", error_code(exc))
        return None


def mine(services: Services, user_id: str) -> Reply:
    """`/lead mine`: the rep's open leads, as on the App Home."""
    email = slack_of(services).directory.email_of(user_id)
    with services.sessions() as s:
        queue = followthrough_store.queue(s, email, user_id, limit=MINE_LIMIT)
    _record(services, user_id, "mine", detail=f"{len(queue)} open leads")
    reply: Reply = mine_message(queue, services.clock())
    return reply


def _with_account(services: Services, session: Session, data: BriefInput, lead_id: int) -> BriefInput:
    """The lead's account and its committee in the brief (issue 18), as in the posted brief."""
    return with_account(session, data, lead_id, services.settings.accounts, services.clock())


def read_brief(services: Services, email: str, actor: str) -> Brief | None:
    """`leadbrief brief EMAIL`: the lead's brief (None if there is no such lead); a lookup from the terminal
    is audited like one in Slack."""
    now = services.clock()
    with services.sessions() as s:
        lead = queries.find_lead(s, email)
        if lead is None:
            return None
        brief = brief_of(_with_account(services, s, queries.brief_input(s, lead, now), lead.id), lead,
                         services.settings.rules, services.settings.triage.policy)
        lead_id, lead_ref = lead.id, lead.email
    with services.sessions.begin() as s:
        audit.record(s, actor=actor, action="lookup", at=now, lead_id=lead_id, lead_ref=lead_ref)
    return brief
