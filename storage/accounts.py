"""Accounts (issue 18): which account each lead is at, the account's domains and owner, admins' merges and splits,
and the activity of the people at an account. The matching rules are briefs.accounts'; this module only reads
what they need and writes what they decided."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from briefs.accounts import (
    COMMITTEE_KINDS,
    AccountIndex,
    Candidate,
    Identity,
    Match,
    MatchedBy,
    Member,
    display_name,
    identity,
    match,
    normalise_name,
    registrable_domain,
)
from briefs.followup import OPEN_STATUSES
from briefs.signals import ActivityView
from storage.driver import Driver
from storage.models import OWN_DELIVERY, Account, AccountDomain, Delivery, Lead, Qualification
from storage.queries import _utc

ADMIN = MatchedBy.ADMIN.value
MAX_MEMBERS = 50  # the people read for an account's committee, most recently active first


@dataclass(frozen=True)
class AccountInfo:
    id: int
    name: str
    owner_email: str | None
    owner_by: str | None
    crm_id: str | None
    domains: tuple[str, ...]
    people: int


def _settled(lead: Any) -> bool:
    """A lead at an account whose company and CRM account id this batch left alone: nothing to match again."""
    loaded = getattr(lead, "_loaded", None)
    return (lead.account_id is not None and loaded is not None and loaded.get("company") == lead.company
            and loaded.get("crm_account_id") == getattr(lead, "crm_account_id", None))


def _index_for(session: Session, idents: Sequence[Identity]) -> AccountIndex:
    """The part of the account index the batch can hit: its CRM ids, domains and exact names."""
    index = AccountIndex()
    crm = sorted({i.crm_id for i in idents if i.crm_id})
    domains = sorted({i.domain for i in idents if i.domain})
    names = sorted({i.name_key for i in idents if i.name_key})
    driver = Driver(session)
    run = session.connection().exec_driver_sql
    if crm:
        for id_, crm_id in run(_BY_CRM.format(marks=", ".join([driver.mark] * len(crm))), tuple(crm)):
            index.add(id_, crm_id=crm_id)
    if domains:
        for domain, id_ in run(_BY_DOMAIN.format(marks=", ".join([driver.mark] * len(domains))), tuple(domains)):
            index.add(id_, domain=domain)
    if names:
        for id_, key in run(_BY_NAME.format(marks=", ".join([driver.mark] * len(names))), tuple(names)):
            index.add(id_, name_key=key)
    return index


# The index reads, straight to the driver (every batch runs them).
_BY_CRM = "SELECT id, crm_id FROM accounts WHERE crm_id IN ({marks}) AND merged_into IS NULL"
_BY_DOMAIN = "SELECT domain, account_id FROM account_domains WHERE domain IN ({marks})"
_BY_NAME = "SELECT id, name_key FROM accounts WHERE name_key IN ({marks}) AND merged_into IS NULL ORDER BY id"


_NEAR_NAMES = ("SELECT id, name_key FROM accounts WHERE substr(name_key, 1, 1) = {m} AND merged_into IS NULL "
               "ORDER BY id")


def _near_names(session: Session, index: AccountIndex, key: str) -> None:
    """The names a near miss of `key` can be (briefs.accounts: the same first letter), read when a name had no
    exact match; a first letter is read once per batch."""
    sql = _NEAR_NAMES.format(m=Driver(session).mark)
    for id_, name_key in session.connection().exec_driver_sql(sql, (key[:1],)):
        index.add(id_, name_key=name_key)


def assign(session: Session, leads: Iterable[Any], now: datetime) -> dict[int, int]:
    """Match each lead (rows with id, email, company, crm_account_id, account_id, account_by) to its account,
    creating accounts and learning domains as briefs.accounts decides; an admin's choice is left alone.
    Returns lead id -> account id for the leads that are at one."""
    rows, result = [], {}
    for lead in leads:
        if getattr(lead, "account_by", None) == ADMIN or _settled(lead):
            if lead.account_id:
                result[lead.id] = lead.account_id
        else:
            rows.append(lead)
    if not rows:
        return result
    idents = [identity(Candidate(lead.email, lead.company, getattr(lead, "crm_account_id", None))) for lead in rows]
    index = _index_for(session, idents)
    letters: set[str] = set()
    changes: list[tuple[int | None, str | None, int]] = []
    for lead, ident in zip(rows, idents, strict=True):
        found = match(ident, index)
        if (found is not None and found.by == MatchedBy.NEW and ident.name_key and ident.name_key[:1] not in letters
                and not (ident.crm_id or ident.domain and ident.domain in index.by_domain)):
            _near_names(session, index, ident.name_key)  # a new name: look for near misses
            letters.add(ident.name_key[:1])
            found = match(ident, index)
        account_id = _apply(session, found, ident, index, now) if found else None
        by = found.by.value if found else None
        if account_id is not None:
            result[lead.id] = account_id
        if account_id != lead.account_id:
            changes.append((account_id, by, lead.id))
            lead.account_id, lead.account_by = account_id, by
    if changes:
        Driver(session).update("leads", ("account_id", "account_by"), changes)
    return result


# Straight to the driver: a batch of new leads can create hundreds of accounts (an ORM insert is ~1 ms each).
_NEW_ACCOUNT = ("INSERT INTO accounts (name, name_key, crm_id, created_at, updated_at) "
                "VALUES ({m}, {m}, {m}, {m}, {m}) ON CONFLICT DO NOTHING RETURNING id")
_NEW_DOMAIN = "INSERT INTO account_domains (domain, account_id, declared) VALUES ({m}, {m}, {m}) ON CONFLICT DO NOTHING"


def _apply(session: Session, found: Match, ident: Identity, index: AccountIndex, now: datetime) -> int:
    account_id = found.account_id
    if account_id is not None and ident.crm_id and found.by != MatchedBy.CRM:
        crm = session.scalar(select(Account.crm_id).where(Account.id == account_id))
        if crm is None:
            session.execute(update(Account).where(Account.id == account_id).values(crm_id=ident.crm_id))
            index.add(account_id, crm_id=ident.crm_id)
        elif crm != ident.crm_id:
            account_id = None  # the CRM says another account: its id wins over a shared domain or name
    driver = Driver(session)
    if account_id is None:
        name = display_name([ident.name], ident.domain) if ident.name else ident.domain or "?"
        stamp = driver.time(now)
        created = session.connection().exec_driver_sql(
            _NEW_ACCOUNT.format(m=driver.mark), (name[:300], ident.name_key, ident.crm_id, stamp, stamp)).scalar()
        if created is None:  # a concurrent batch created the account with this CRM id just now: that one
            created = session.scalar(select(Account.id).where(Account.crm_id == ident.crm_id))
        account_id = created
        index.add(account_id, crm_id=ident.crm_id, name_key=ident.name_key)
    if ident.domain and ident.may_create and ident.domain not in index.by_domain:
        # A concurrent batch may have claimed the domain meanwhile: theirs stands, and leads there go to it.
        session.connection().exec_driver_sql(_NEW_DOMAIN.format(m=driver.mark), (ident.domain, account_id, False))
        index.add(account_id, domain=ident.domain)
    return account_id


# --- reading -------------------------------------------------------------------------------------------------

def get(session: Session, account_id: int) -> Account | None:
    account = session.get(Account, account_id)
    while account is not None and account.merged_into is not None:
        account = session.get(Account, account.merged_into)
    return account


def info(session: Session, account_id: int) -> AccountInfo | None:
    account = get(session, account_id)
    if account is None:
        return None
    domains = tuple(session.scalars(select(AccountDomain.domain).where(AccountDomain.account_id == account.id)
                                    .order_by(AccountDomain.domain)))
    people = session.scalar(select(func.count()).select_from(Lead).where(Lead.account_id == account.id)) or 0
    return AccountInfo(account.id, account.name, account.owner_email, account.owner_by, account.crm_id, domains,
                       people)


def find(session: Session, text: str, limit: int = 10) -> list[AccountInfo]:
    """Accounts by id, domain, CRM id or name (exact normalised name first, then containing it)."""
    text = text.strip()
    ids: list[int] = []
    if text.isdigit():
        ids.append(int(text))
    domain = registrable_domain(text.lower()) if "." in text else None
    if domain:
        ids += list(session.scalars(select(AccountDomain.account_id).where(AccountDomain.domain == domain)))
    ids += list(session.scalars(select(Account.id).where(Account.crm_id == text)))
    key = normalise_name(text)
    if key:
        ids += list(session.scalars(select(Account.id).where(Account.name_key == key, Account.merged_into.is_(None))))
        like = key.replace("%", "").replace("_", "")
        ids += list(session.scalars(select(Account.id).where(Account.name_key.like(f"%{like}%"),
                                                             Account.merged_into.is_(None)).limit(limit)))
    seen: list[AccountInfo] = []
    for id_ in dict.fromkeys(ids):
        found = info(session, id_)
        if found and all(a.id != found.id for a in seen):
            seen.append(found)
    return seen[:limit]


_MEMBERS_SELECT = (
    "SELECT a.lead_id, a.kind, a.occurred_at, c.title, c.type, c.topic, c.url, a.url, a.campaign, a.form, "
    "l.first_name, l.last_name, l.email, l.title, l.owner_email "
    "FROM leads l JOIN activities a ON a.lead_id = l.id LEFT OUTER JOIN content_assets c ON c.id = a.asset_id "
    "WHERE l.account_id = {m} AND a.occurred_at >= {m} AND a.kind IN ({kinds}) ORDER BY a.occurred_at DESC, a.id DESC LIMIT {m}"
)
MAX_MEMBER_ROWS = MAX_MEMBERS * 40


def members(session: Session, account_id: int, since: datetime) -> list[Member]:
    """The people at the account with their activity since `since` (COMMITTEE_KINDS), the most recently active
    first, at most MAX_MEMBERS. One statement, through the driver (every brief at an account reads it)."""
    driver = Driver(session)
    m = driver.mark
    sql = _MEMBERS_SELECT.format(m=m, kinds=", ".join([m] * len(COMMITTEE_KINDS)))
    acts: dict[int, list[ActivityView]] = {}
    people: dict[int, tuple] = {}
    for r in session.connection().exec_driver_sql(sql, (account_id, driver.time(since), *COMMITTEE_KINDS,
                                                        MAX_MEMBER_ROWS)):
        lead_id = r[0]
        if lead_id not in acts:
            if len(acts) >= MAX_MEMBERS:
                continue
            acts[lead_id] = []
            people[lead_id] = r[10:15]
        acts[lead_id].append(ActivityView(kind=r[1], occurred_at=_utc(r[2]), title=r[3], asset_type=r[4], topic=r[5],
                                          asset_url=r[6], url=r[7], campaign=r[8], form=r[9]))
    out = []
    for lead_id, items in acts.items():
        first, last, email, title, owner = people[lead_id]
        name = " ".join(p for p in (first, last) if p) or email
        out.append(Member(lead_id, name, title, owner, items))
    return out


_LEAD_ACCOUNT = ("SELECT a.id, a.name, a.merged_into FROM leads l JOIN accounts a ON a.id = l.account_id "
                 "WHERE l.id = {m}")


def lead_account_name(session: Session, lead_id: int) -> tuple[int, str] | None:
    """(account id, name) of the lead's account, in one read (a merged account's leads moved with it)."""
    driver = Driver(session)
    row = session.connection().exec_driver_sql(_LEAD_ACCOUNT.format(m=driver.mark), (lead_id,)).first()
    if row is None:
        return None
    if row[2] is not None:
        account = get(session, row[0])
        return (account.id, account.name) if account else None
    return row[0], row[1]


def open_account_brief(session: Session, account_id: int, leave_out: Sequence[int] = (),
                       since: datetime | None = None, until: datetime | None = None) -> Qualification | None:
    """The account's brief still open (open, claimed or contacted), if any: the newest. `leave_out`: this
    batch's own qualifications; since/until: qualified in that span (the committee's window up to now)."""
    query = select(Qualification).where(
        Qualification.account_id == account_id, Qualification.account_brief_id.is_(None),
        Qualification.status.in_(OPEN_STATUSES))
    if since is not None:
        query = query.where(Qualification.qualified_at >= since)
    if until is not None:
        query = query.where(Qualification.qualified_at <= until)
    if leave_out:
        query = query.where(Qualification.id.not_in(list(leave_out)))
    return session.scalars(query.order_by(Qualification.qualified_at.desc(), Qualification.id.desc())
                           .limit(1)).first()


_ACTIVE_PEOPLE = ("SELECT l.account_id, COUNT(DISTINCT a.lead_id) FROM leads l JOIN activities a ON a.lead_id = l.id "
                  "WHERE l.account_id IN ({ids}) AND a.occurred_at >= {m} AND a.kind IN ({kinds}) "
                  "GROUP BY l.account_id")


def active_people(session: Session, account_ids: Sequence[int], since: datetime) -> dict[int, int]:
    """account id -> how many people there were active since `since` (one statement for the batch's accounts)."""
    if not account_ids:
        return {}
    driver = Driver(session)
    m = driver.mark
    ids = sorted(set(account_ids))
    sql = _ACTIVE_PEOPLE.format(ids=", ".join([m] * len(ids)), m=m, kinds=", ".join([m] * len(COMMITTEE_KINDS)))
    return dict(session.connection().exec_driver_sql(sql, (*ids, driver.time(since), *COMMITTEE_KINDS)).all())


def open_leads(session: Session, lead_ids: Sequence[int]) -> set[int]:
    """Those of `lead_ids` with an open qualification."""
    if not lead_ids:
        return set()
    return set(session.scalars(select(Qualification.lead_id).where(
        Qualification.lead_id.in_(list(lead_ids)), Qualification.status.in_(OPEN_STATUSES))))


def brief_delivery(session: Session, qualification_id: int) -> tuple[str | None, str | None, str | None]:
    """(channel, ts, status) of a brief's delivery: channel and ts once posted."""
    row = session.execute(select(Delivery.channel, Delivery.ts, Delivery.status).where(
        Delivery.qualification_id == qualification_id, OWN_DELIVERY)).first()
    return (row[0], row[1], row[2]) if row else (None, None, None)


def account_brief_of(session: Session, qualification_id: int) -> int | None:
    return session.scalar(select(Qualification.account_brief_id).where(Qualification.id == qualification_id))


def brief_owner(session: Session, qualification_id: int) -> str | None:
    """The owner an account brief goes to: its account's owner (None: not an account brief, or no owner)."""
    row = session.execute(select(Qualification.account_id, Qualification.account_brief_id).where(
        Qualification.id == qualification_id)).first()
    if row is None or row[0] is None or row[1] is not None:
        return None
    account = get(session, row[0])
    return account.owner_email if account else None


def set_owner_if_none(session: Session, account_id: int, owner: str | None, now: datetime) -> None:
    if owner:
        session.execute(update(Account).where(Account.id == account_id, Account.owner_email.is_(None))
                        .values(owner_email=owner, owner_by="rule", updated_at=now))


# --- admins --------------------------------------------------------------------------------------------------

def set_owner(session: Session, account_id: int, owner: str | None, now: datetime) -> None:
    session.execute(update(Account).where(Account.id == account_id)
                    .values(owner_email=owner, owner_by="admin" if owner else None, updated_at=now))


def merge(session: Session, into: int, others: Sequence[int], now: datetime) -> int:
    """Merge `others` into `into`: their leads, domains, CRM id and qualifications move. Returns leads moved."""
    target = get(session, into)
    if target is None:
        raise LookupError(f"no account {into}")
    moved = 0
    for other in others:
        src = get(session, other)
        if src is None or src.id == target.id:
            continue
        moved += session.execute(update(Lead).where(Lead.account_id == src.id)
                                 .values(account_id=target.id)).rowcount or 0
        session.execute(update(AccountDomain).where(AccountDomain.account_id == src.id).values(account_id=target.id))
        session.execute(update(Qualification).where(Qualification.account_id == src.id)
                        .values(account_id=target.id))
        if target.crm_id is None and src.crm_id:
            crm, src.crm_id = src.crm_id, None
            session.flush()
            target.crm_id = crm
        if target.owner_email is None and src.owner_email:
            target.owner_email, target.owner_by = src.owner_email, src.owner_by
        src.merged_into, src.updated_at = target.id, now
        # The name stays findable: merged accounts are left out of matching by name, so keep it on the target.
    target.updated_at = now
    session.flush()
    return moved


def split(session: Session, account_id: int, emails: Sequence[str], name: str | None, now: datetime) -> int:
    """Move the leads with these emails, and the domains only they use, to a new account (an admin's choice:
    matching never moves them back). Returns the new account's id."""
    source = get(session, account_id)
    if source is None:
        raise LookupError(f"no account {account_id}")
    wanted = [e.strip().lower() for e in emails if e.strip()]
    leads = list(session.scalars(select(Lead).where(Lead.account_id == source.id, Lead.email.in_(wanted))))
    if not leads:
        raise LookupError("none of those emails is a lead at that account")
    new_name = name or display_name([lead.company for lead in leads], None)
    account = Account(name=new_name, name_key=normalise_name(new_name), created_at=now, updated_at=now)
    session.add(account)
    session.flush()
    for lead in leads:
        lead.account_id, lead.account_by = account.id, ADMIN
    domains = {registrable_domain(lead.email.rpartition("@")[2]) for lead in leads} - {None}
    for domain in domains:
        rest = session.scalar(select(func.count()).select_from(Lead).where(
            Lead.account_id == source.id, or_(Lead.email.like(f"%@{domain}"), Lead.email.like(f"%.{domain}"))))
        if not rest:
            session.execute(update(AccountDomain).where(AccountDomain.domain == domain,
                                                        AccountDomain.account_id == source.id)
                            .values(account_id=account.id, declared=True))
    session.flush()
    return account.id


def declare_domains(session: Session, account_id: int, domains: Sequence[str], now: datetime) -> int:
    """Say these domains belong to the account (an admin's or the config's [accounts] domains): the domains
    move, and the leads at them that matching placed join it. Returns leads moved."""
    target = get(session, account_id)
    if target is None:
        raise LookupError(f"no account {account_id}")
    moved = 0
    for raw in domains:
        domain = registrable_domain(raw)
        if not domain:
            raise ValueError(f"{raw!r} is not a domain")
        row = session.get(AccountDomain, domain)
        if row is None:
            session.add(AccountDomain(domain=domain, account_id=target.id, declared=True))
        else:
            row.account_id, row.declared = target.id, True
        moved += session.execute(update(Lead).where(
            or_(Lead.email.like(f"%@{domain}"), Lead.email.like(f"%.{domain}")),
            or_(Lead.account_by.is_(None), Lead.account_by != ADMIN),
        ).values(account_id=target.id, account_by=MatchedBy.DOMAIN.value)).rowcount or 0
    target.updated_at = now
    session.flush()
    return moved


def lead_account(session: Session, lead_id: int) -> int | None:
    account_id = session.scalar(select(Lead.account_id).where(Lead.id == lead_id))
    if account_id is None:
        return None
    account = get(session, account_id)
    return account.id if account else None


def leads_without_account(session: Session, limit: int, after_id: int = 0) -> list[Lead]:
    return list(session.scalars(select(Lead).where(Lead.id > after_id).order_by(Lead.id).limit(limit)))


def account_counts(session: Session, since: datetime) -> tuple[int, int]:
    """(accounts with a qualification since `since`, accounts with an account brief since then)."""
    with_q = session.scalar(select(func.count(func.distinct(Qualification.account_id))).where(
        Qualification.qualified_at >= since, Qualification.account_id.is_not(None))) or 0
    briefs = session.scalar(select(func.count()).select_from(Qualification).where(
        Qualification.qualified_at >= since, Qualification.account_id.is_not(None),
        Qualification.account_brief_id.is_(None))) or 0
    return with_q, briefs


def forget_if_empty(session: Session, account_id: int) -> bool:
    """Delete an account no lead is at any more (its domains with it), and the accounts merged into it; for
    erasure, so that a forgotten lead's company name and domain leave no trace. Returns whether it went."""
    if session.scalar(select(func.count()).select_from(Lead).where(Lead.account_id == account_id)):
        return False
    merged = list(session.scalars(select(Account.id).where(Account.merged_into == account_id)))
    for other in merged:
        forget_if_empty(session, other)
    session.execute(update(Qualification).where(Qualification.account_id == account_id).values(account_id=None))
    session.execute(AccountDomain.__table__.delete().where(AccountDomain.account_id == account_id))
    session.execute(Account.__table__.delete().where(Account.id == account_id))
    return True
