"""Accounts (issue 18): match a batch's leads to accounts, put the committee in the brief, give each account one
brief to one rep (others get a notice, later qualifications go into its thread), the account surge, and the
admins' commands. Called inside the ingest transaction (assign, surge_decisions, plan) or owning its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from briefs import accounts as domain
from briefs.accounts import AccountPolicy, Committee, Qualified
from briefs.markup import fit_mrkdwn, plain
from briefs.model import BriefInput
from briefs.qualification import Decision
from storage import accounts as store
from storage import audit, outbox
from storage import triage as triage_store
from storage.ingest import ChangedLead, NewQualification
from storage.models import REP_NOTICE, Account, Lead, Qualification

SURGE_REASON = "account_surge"
# deliveries.notice_to of the account's notices: the other rep's one line, and a later qualification in the
# account brief's thread.
NOTICE_TO_REP = "account_rep"
NOTICE_TO_THREAD = "account_thread"
ACCOUNT_NOTICES = (NOTICE_TO_REP, NOTICE_TO_THREAD)


def assign(session: Session, leads: Sequence[ChangedLead], policy: AccountPolicy, now: datetime) -> dict[int, int]:
    """Match the batch's leads to accounts (lead id -> account id)."""
    if not policy.enabled or not leads:
        return {}
    _declared_groups(session, [lead.row for lead in leads], policy, now)
    return store.assign(session, [lead.row for lead in leads], now)


def _declared_groups(session: Session, rows: Sequence[Any], policy: AccountPolicy, now: datetime) -> None:
    """[accounts] domains: a group's domains go to the account any of them is at already (or a new one)."""
    if not policy.domains:
        return
    for row in rows:
        domain = domain_of(row.email)
        group = policy.group_of(domain) if domain else None
        if group is None:
            continue
        name, domains = group
        found = [a for d in domains for a in store.find(session, d, 1)]
        if found and all(d in found[0].domains for d in domains):
            continue
        account_id = found[0].id if found else _create(session, name, now)
        store.declare_domains(session, account_id, list(domains), now)


def _create(session: Session, name: str, now: datetime) -> int:
    account = Account(name=name, name_key=domain.normalise_name(name), created_at=now, updated_at=now)
    session.add(account)
    session.flush()
    return account.id


def domain_of(email: str) -> str | None:
    return domain.registrable_domain(email.rpartition("@")[2])


def committee_for(session: Session, lead_id: int, policy: AccountPolicy, now: datetime) -> tuple[str | None,
                                                                                              Committee | None]:
    """The lead's account name and its committee (None when fewer than two people there are active)."""
    if not policy.enabled:
        return None, None
    found = store.lead_account_name(session, lead_id)
    if found is None:
        return None, None
    account_id, name = found
    members = store.members(session, account_id, now - timedelta(days=policy.window_days))
    return name, domain.committee(account_id, name, members, now, policy.window_days, lead_id)


def with_account(session: Session, data: BriefInput, lead_id: int, policy: AccountPolicy,
                 now: datetime) -> BriefInput:
    name, committee = committee_for(session, lead_id, policy, now)
    return replace(data, account_name=name, committee=committee) if name else data


# --- account surge -------------------------------------------------------------------------------------------

def surge_decisions(session: Session, leads: Sequence[ChangedLead], decided: Sequence[tuple[ChangedLead, Decision]],
                    accounts: dict[int, int], policy: AccountPolicy, now: datetime) -> list[tuple[ChangedLead, Decision]]:
    """One qualification per account where enough people became active in the surge window, when nobody there
    qualified in this batch and the account has no open brief: for its most senior active person in the batch."""
    rule = policy.surge
    if not policy.enabled or not rule.enabled or not accounts:
        return []
    qualified = {lead.id for lead, _ in decided}
    by_account: dict[int, list[ChangedLead]] = defaultdict(list)
    for lead in leads:
        if lead.id in accounts:
            by_account[accounts[lead.id]].append(lead)
    out = []
    busy = store.active_people(session, [a for a, batch in by_account.items()
                                         if any(lead.change.new_activities for lead in batch)],
                               now - timedelta(days=rule.days))
    for account_id, batch in by_account.items():
        if busy.get(account_id, 0) < rule.people:
            continue  # too few active (or, without new activity here, nobody just became active)
        if any(lead.id in qualified for lead in batch) or store.open_account_brief(
                session, account_id, since=now - timedelta(days=policy.window_days), until=now):
            continue
        members = store.members(session, account_id, now - timedelta(days=rule.days))
        active = {m.lead_id: max(a.occurred_at for a in m.activities) for m in members if m.activities}
        detail = domain.surge(active, rule, now)
        if detail is None:
            continue
        open_ = store.open_leads(session, [lead.id for lead in batch])
        candidates = [lead for lead in batch if lead.id not in open_]
        if not candidates:
            continue
        lead = max(candidates, key=lambda c: (domain.seniority(c.row.title), -c.id))
        triggered = max((a.occurred_at for a in lead.change.new_activities), default=max(active.values()))
        out.append((lead, Decision(reason=SURGE_REASON, detail=detail, triggered_at=triggered,
                                   trigger=f"account {account_id}")))
    return out


# --- one brief per account -----------------------------------------------------------------------------------

class Role(StrEnum):
    BRIEF = "brief"  # the account's brief (with its committee), to the account's owner
    NOTICE = "notice"  # another rep's lead: one line linking the account brief
    THREAD = "thread"  # a later qualification: a reply in the open account brief's thread
    FOLDED = "folded"  # named in this batch's account brief already, same rep: nothing more


@dataclass(frozen=True)
class Plan:
    role: Role
    account_id: int
    account_name: str
    brief_id: int | None = None  # the account brief's qualification (NOTICE, THREAD, FOLDED)
    owner: str | None = None  # who owns the account brief


def plan(session: Session, created: Sequence[NewQualification], pages: Sequence[bool], accounts: dict[int, int],
         policy: AccountPolicy, now: datetime) -> dict[int, Plan]:
    """qualification id -> what happens to it, for the new qualifications that page a rep and are at an account
    (accounts: lead id -> account id, from assign). Records each qualification's account, the account brief it
    went into, and the account's owner."""
    if not policy.enabled:
        return {}
    groups: dict[int, list[NewQualification]] = defaultdict(list)
    for new, paged in zip(created, pages, strict=True):
        account_id = accounts.get(new.lead_id)
        if paged and account_id is not None:
            groups[account_id].append(new)
    plans: dict[int, Plan] = {}
    for account_id, news in groups.items():
        account = store.get(session, account_id)
        assert account is not None
        account_id = account.id
        rows = {n.lead_id: n.brief_input.lead for n in news}
        qs = {n.id: q for n in news if (q := session.get(Qualification, n.id)) is not None}
        for q in qs.values():
            q.account_id = account_id
        # The account's brief, if one is open from the committee's window: older, it is no longer the account's news.
        open_brief = store.open_account_brief(session, account_id, list(qs),
                                              now - timedelta(days=policy.window_days), now)
        if open_brief is not None:
            owner = account.owner_email or _owner_of(session, open_brief)
            for new in news:
                if _raised_hand(new):  # asked for sales: a brief of its own (and its SLA), to the account's owner
                    plans[new.id] = Plan(Role.BRIEF, account_id, account.name, None, owner)
                    continue
                qs[new.id].account_brief_id = open_brief.id
                plans[new.id] = Plan(Role.THREAD, account_id, account.name, open_brief.id, owner)
            continue
        owner = domain.account_owner(account.owner_email, [
            Qualified(n.lead_id, rows[n.lead_id].owner_email, rows[n.lead_id].title, qs[n.id].qualified_at)
            for n in news], policy.owner_rule)
        lead_of = [n for n in news if rows[n.lead_id].owner_email == owner] or list(news)
        main = min(lead_of, key=lambda n: (not _raised_hand(n), -domain.seniority(rows[n.lead_id].title), n.id))
        plans[main.id] = Plan(Role.BRIEF, account_id, account.name, None, owner)
        store.set_owner_if_none(session, account_id, owner, now)
        for new in news:
            if new.id == main.id:
                continue
            if _raised_hand(new):  # never folded: their own words and the speed-to-lead clock
                plans[new.id] = Plan(Role.BRIEF, account_id, account.name, None, owner)
                continue
            qs[new.id].account_brief_id = main.id
            other = rows[new.lead_id].owner_email
            role = Role.NOTICE if other and other != owner else Role.FOLDED
            plans[new.id] = Plan(role, account_id, account.name, main.id, owner)
    session.flush()
    return plans


def _raised_hand(new: NewQualification) -> bool:
    q = new.brief_input.qualification
    return q is not None and q.reason == "hand_raiser"


def _owner_of(session: Session, q: Qualification) -> str | None:
    lead = session.get(Lead, q.lead_id)
    return lead.owner_email if lead else None


def notice_payload(p: Plan, lead_name: str, lead_title: str | None, detail: str) -> tuple[dict[str, Any], str]:
    """The Block Kit and text of an account notice (the link to the account brief is added when it is sent)."""
    if p.role == Role.THREAD:
        who = plain(lead_name) + (f", {plain(lead_title)}" if lead_title else "")
        text = f"🏢 Also at {plain(p.account_name)}: {who} qualified ({plain(detail)}). Part of this account's brief."
    else:
        text = domain.notice_text(p.account_name, lead_name, p.owner, None)
    body = fit_mrkdwn(text, 2900)
    return {"text": body, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]}, body


# --- admins --------------------------------------------------------------------------------------------------

def rematch(sessions: sessionmaker[Session], policy: AccountPolicy, now: datetime, batch: int = 1000) -> int:
    """Match every lead (a backfill, after the migration or a config change). Returns leads at an account."""
    done, after = 0, 0
    while True:
        with sessions.begin() as s:
            rows = store.leads_without_account(s, batch, after)
            if not rows:
                return done
            after = rows[-1].id
            _declared_groups(s, rows, policy, now)
            done += len(store.assign(s, rows, now))


def enqueue_notice(session: Session, new: NewQualification, p: Plan, now: datetime) -> None:
    """Queue the account notice of a qualification that is not a brief of its own (nothing when FOLDED)."""
    if p.role in (Role.BRIEF, Role.FOLDED):
        return
    lead = new.brief_input.lead
    q = new.brief_input.qualification
    payload, text = notice_payload(p, lead.name, lead.title, q.detail if q else "")
    to = NOTICE_TO_THREAD if p.role == Role.THREAD else NOTICE_TO_REP
    triage_store.enqueue_notice(session, new.id, new.lead_id, to, payload, text, now)
    if p.role == Role.THREAD and lead.owner_email and lead.owner_email != p.owner:
        # Their lead went into another rep's account brief: told in one line with the link, not paged.
        told, told_text = notice_payload(replace(p, role=Role.NOTICE), lead.name, lead.title, "")
        outbox.enqueue_copy(session, new, NOTICE_TO_REP, told, told_text, now, kind=REP_NOTICE)


def permalink(channel: str, ts: str) -> str:
    """Slack's link to a message, built from its channel and ts (no API call)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


@dataclass(frozen=True)
class NoticeTarget:
    """Where an account notice goes when it is sent: a rep (by email; None: the team queue) or a thread."""

    owner_email: str | None
    thread: tuple[str, str] | None  # (channel, ts) of the account brief, for THREAD
    link: str | None  # the account brief's permalink, for NOTICE
    ready: bool  # False: the account brief is not posted yet (send the notice after it)


def notice_target(sessions: sessionmaker[Session], qualification_id: int, lead_id: int, to: str) -> NoticeTarget:
    with sessions() as s:
        brief_id = store.account_brief_of(s, qualification_id)
        channel, ts, status = store.brief_delivery(s, brief_id) if brief_id else (None, None, None)
        lead = s.get(Lead, lead_id)
        owner = lead.owner_email if lead else None
    if brief_id is None:
        return NoticeTarget(owner, None, None, True)
    if not (channel and ts):
        # Waits for the account brief, unless it will not be posted on its own (failed, held for a digest, or
        # gone): then the line goes to the lead's rep without a link rather than never.
        return NoticeTarget(owner, None, None, status in (None, "failed", "digest"))
    if to == NOTICE_TO_THREAD:
        return NoticeTarget(owner, (channel, ts), None, True)
    return NoticeTarget(owner, None, permalink(channel, ts), True)


# --- admins: `leadbrief accounts ...` (audited) -----------------------------------------------------------------

def admin_merge(sessions: sessionmaker[Session], into: int, others: Sequence[int], actor: str, now: datetime) -> int:
    with sessions.begin() as s:
        moved = store.merge(s, into, others, now)
        audit.record(s, actor=actor, action="account_merge", at=now,
                     detail=f"accounts {', '.join(map(str, others))} into {into}: {moved} leads")
    return moved


def admin_split(sessions: sessionmaker[Session], account_id: int, emails: Sequence[str], name: str | None,
                actor: str, now: datetime) -> int:
    with sessions.begin() as s:
        new_id = store.split(s, account_id, emails, name, now)
        audit.record(s, actor=actor, action="account_split", at=now,
                     detail=f"{len(emails)} leads from account {account_id} to {new_id}")
    return new_id


def admin_domains(sessions: sessionmaker[Session], account_id: int, domains: Sequence[str], actor: str,
                  now: datetime) -> int:
    with sessions.begin() as s:
        moved = store.declare_domains(s, account_id, domains, now)
        audit.record(s, actor=actor, action="account_domains", at=now,
                     detail=f"account {account_id}: {', '.join(domains)[:300]} ({moved} leads)")
    return moved


def admin_owner(sessions: sessionmaker[Session], account_id: int, owner: str | None, actor: str,
                now: datetime) -> None:
    with sessions.begin() as s:
        if store.get(s, account_id) is None:
            raise LookupError(f"no account {account_id}")
        store.set_owner(s, account_id, owner, now)
        audit.record(s, actor=actor, action="account_owner", at=now, detail=f"account {account_id}: {owner or '-'}")


def find(sessions: sessionmaker[Session], text: str, limit: int = 20) -> list[store.AccountInfo]:
    with sessions() as s:
        return store.find(s, text, limit)


def counts(sessions: sessionmaker[Session], days: int, now: datetime) -> tuple[int, int]:
    """(accounts with a lead qualified in the last `days`, account briefs among them): the report's account line."""
    with sessions() as s:
        return store.account_counts(s, now - timedelta(days=days))
