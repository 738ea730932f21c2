"""`/lead ACCOUNT` and the App Home's accounts: the account view, under the visibility policy and audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.usecases.deps import Services
from bot.usecases.lookup import Reply, viewer_scope
from briefs import accounts as domain
from briefs import visibility
from briefs.accounts import AccountView, PersonRow
from briefs.blocks import account_blocks, mrkdwn
from briefs.markup import fit_mrkdwn, plain
from storage import accounts as store
from storage import audit
from storage.models import Account, Lead

MAX_LISTED = 20
HOME_ACCOUNTS = 5


def view(session: Session, account_id: int, scope: str | None, services: Services) -> AccountView | None:
    policy = services.settings.accounts
    info = store.info(session, account_id)
    if info is None:
        return None
    now = services.clock()
    members = [m for m in store.members(session, info.id, now - timedelta(days=policy.window_days))
               if visibility.may_see(scope, m.owner_email)]
    committee = domain.committee(info.id, info.name, members, now, policy.window_days)
    active = [m.lead_id for m in members]
    leads = list(session.scalars(select(Lead).where(Lead.account_id == info.id).limit(200)))
    leads = [lead for lead in leads if visibility.may_see(scope, lead.owner_email)]
    leads.sort(key=lambda lead: (active.index(lead.id) if lead.id in active else len(active), lead.id))
    listed = tuple(PersonRow(" ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email, lead.title,
                             lead.email, lead.owner_email) for lead in leads[:MAX_LISTED])
    return AccountView(info.id, info.name, info.owner_email, info.domains, info.people, listed, committee, info.crm_id)


def account_reply(services: Services, user_id: str, text: str, *, explicit: bool = False) -> Reply | None:
    """The account named by `text` (its name in any spelling, a domain, a CRM id), or None when no account
    matches (the caller searches leads instead). explicit: `/lead account NAME`, which says when none matches."""
    scope = viewer_scope(services, user_id)
    with services.sessions() as s:
        found = store.find(s, text, limit=5) if explicit else _exact(s, text)
        shown = view(s, found[0].id, scope, services) if found else None
    if shown is None:
        return {"text": f"No account matches “{fit_mrkdwn(plain(text), 200)}”."} if explicit else None
    with services.sessions.begin() as s:
        audit.record(s, actor=user_id, action="account", at=services.clock(), detail=f"account {shown.id}")
    reply: Reply = account_blocks(shown)
    if explicit and len(found) > 1:
        others = ", ".join(f"{a.name} (#{a.id})" for a in found[1:])
        reply["blocks"].append({"type": "context", "elements": [mrkdwn(fit_mrkdwn("Also: " + others, 1900))]})
    return reply


def _exact(session: Session, text: str) -> list[store.AccountInfo]:
    """Accounts whose normalised name, domain or CRM id is exactly `text` (no partial matches: those are lead
    searches)."""
    key = domain.normalise_name(text)
    found = [a for a in store.find(session, text, limit=5)
             if a.crm_id == text.strip() or (key and domain.normalise_name(a.name) == key)
             or any(d == text.strip().lower() for d in a.domains)]
    return found


def home_blocks(services: Services, email: str | None) -> list[dict[str, Any]]:
    """The App Home's "Your accounts": the accounts this rep owns with people active in the window."""
    if not email or not services.settings.accounts.enabled:
        return []
    now = services.clock()
    with services.sessions() as s:
        owned = list(s.scalars(select(Account).where(Account.owner_email == email, Account.merged_into.is_(None))
                               .order_by(Account.updated_at.desc()).limit(50)))
        # How many people are active at each, in one statement (the App Home opens often).
        active = store.active_people(s, [a.id for a in owned],
                                     now - timedelta(days=services.settings.accounts.window_days))
        lines = [(active[a.id], a.name) for a in owned if active.get(a.id)]
    if not lines:
        return []
    lines.sort(key=lambda x: -x[0])
    text = "*Your accounts*\n" + "\n".join(
        f"• {fit_mrkdwn(plain(name), 200)}: {n} {'person' if n == 1 else 'people'} active "
        f"(`/lead account {fit_mrkdwn(plain(name), 100)}`)" for n, name in lines[:HOME_ACCOUNTS])
    return [{"type": "section", "text": mrkdwn(text[:2900])}]


def stats_block(services: Services, days: int, scope: str | None) -> list[dict[str, Any]]:
    """`/lead stats`: the accounts as well as the leads (every lead's viewers only: the counts are not per rep)."""
    if scope != visibility.EVERY_LEAD or not services.settings.accounts.enabled:
        return []
    now = services.clock()
    with services.sessions() as s:
        at, briefs = store.account_counts(s, now - timedelta(days=days))
    text = f"🏢 Accounts: {at} with a qualified lead, {briefs} account brief{'' if briefs == 1 else 's'}"
    return [{"type": "context", "elements": [mrkdwn(text)]}]
