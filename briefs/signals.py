"""What the domain knows of a lead and what they did: plain data, and the signals read from it."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from briefs import words as reading_mod
from briefs.callback import CallbackWindow
from briefs.cleaning import short_quote
from briefs.events import ACTIVITY_KINDS
from briefs.facts import WordFact
from briefs.language import NAMES as LANGUAGE_NAMES
from briefs.people import display_name

# The touch rule (README, "A *touch* is an engagement by the lead"), defined once: `touches` below.
# Engagement by the lead themselves. Our sends (email_sent, email_delivered) and unsubscribes are not touches.
ENGAGEMENT_KINDS = frozenset(ACTIVITY_KINDS) - {"email_sent", "email_delivered", "unsubscribe"}
# Page views count once per page (page_key) per UTC day; every other engagement counts once, so SQL may
# count rows of ONE_TOUCH_KINDS, while page views need their (occurred_at, url) rows.
PAGE_VIEW_KINDS = frozenset({"web_visit"})
ONE_TOUCH_KINDS = ENGAGEMENT_KINDS - PAGE_VIEW_KINDS

STAGE_ALIASES = {
    "marketingqualifiedlead": "mql",
    "marketing qualified lead": "mql",
    "marketing-qualified lead": "mql",
    "mql": "mql",
    "salesqualifiedlead": "sql",
    "sales qualified lead": "sql",
    "sales-qualified lead": "sql",
    "sql": "sql",
    "subscriber": "subscriber",
    "lead": "lead",
    "opportunity": "opportunity",
    "customer": "customer",
    "evangelist": "evangelist",
}
STAGE_LABELS = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "evangelist": "Evangelist",
}


@dataclass(frozen=True)
class LeadView:
    email: str
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company: str | None = None
    phone: str | None = None
    owner_email: str | None = None
    lifecycle_stage: str | None = None
    score: int | None = None
    persona: str | None = None
    lead_source: str | None = None
    lead_status: str | None = None
    is_customer: bool = False
    customer_since: str | None = None
    nps: int | None = None
    csat: int | None = None
    crm_url: str | None = None
    # Customer facts (briefs/lifecycle.py reads them).
    renewal_date: date | None = None
    arr: int | None = None
    currency: str | None = None
    plan: str | None = None
    csm_email: str | None = None
    former_customer: bool = False
    churned_on: date | None = None
    churn_reason: str | None = None
    open_escalations: int | None = None
    left_company: bool = False

    @property
    def name(self) -> str:
        return display_name(self.first_name, self.last_name, self.email)

    @property
    def greeting_name(self) -> str:
        # display_name capitalises a first name typed in one case ("mike" -> "Mike")
        return display_name(self.first_name, None, "") or (self.name if self.name != self.email else "there")


# Not frozen: a lookup builds hundreds of these, and a frozen dataclass costs three times as much to build.
# Treat it as read-only all the same.
@dataclass(slots=True)
class ActivityView:
    kind: str
    occurred_at: datetime
    title: str | None = None
    asset_type: str | None = None
    topic: str | None = None
    asset_url: str | None = None
    url: str | None = None
    campaign: str | None = None
    subject: str | None = None
    form: str | None = None
    comments: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    words: Any = None  # the comment's stored reading (briefs.words.as_json), when ingestion stored one


@dataclass(frozen=True)
class NoteView:
    author: str
    body: str
    created_at: datetime
    role: str | None = None  # who wrote it: "CSM", "marketing", "rep" (briefs.model.note_role); None: unknown
    author_ref: str | None = None  # how to reach the author: a Slack user id or an email; None: not known
    id: int | None = None  # as stored (None: not stored yet)


def normalise_stage(stage: str | None) -> str | None:
    if not stage:
        return None
    key = " ".join(stage.strip().lower().replace("_", " ").split())
    return STAGE_ALIASES.get(key, STAGE_ALIASES.get(key.replace(" ", ""), key))


def stage_label(stage: str | None) -> str | None:
    return STAGE_LABELS.get(stage, stage) if stage else None


def lead_status_label(status: str) -> str:
    """A CRM's enum spelling in words ("ATTEMPTED_TO_CONTACT" -> "Attempted to contact"); other text as is."""
    if re.fullmatch(r"[A-Z0-9]+(?:_[A-Z0-9]+)*", status):
        words = status.replace("_", " ").lower()
        return words[:1].upper() + words[1:]
    return status


def fold(text: str) -> str:
    """Lowercase, accents removed, punctuation to spaces: for matching names and searching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w@.]+", " ", text).split())


def _form_words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())


@lru_cache(maxsize=32)
def _form_patterns(hand_raiser_forms: tuple[str, ...]) -> tuple[str, ...]:
    """The configured names folded as form names are ("Démo anfordern" matches "demo anfordern")."""
    return tuple(f" {_form_words(p)} " for p in hand_raiser_forms if _form_words(p))


def is_hand_raiser_form(form: str | None, hand_raiser_forms: tuple[str, ...]) -> bool:
    if not form:
        return False
    name = " " + _form_words(form) + " "
    return any(pattern in name for pattern in _form_patterns(hand_raiser_forms))


# A minimal row for counting touches: (kind, occurred_at, page url or None).
TouchRow = tuple[str, datetime, str | None]


def touches(rows: Iterable[TouchRow]) -> list[datetime]:
    """The touch times in rows of a person's engagement (touch_rows: machine opens already left out), in any
    order: the one touch rule every path follows. One touch per engagement, but a page's views on one day are
    one touch (a browsing session), at the latest."""
    times: list[datetime] = []
    views: dict[tuple[date, str], datetime] = {}
    for kind, at, url in rows:
        if kind not in ENGAGEMENT_KINDS:
            continue
        if kind in PAGE_VIEW_KINDS:
            key = ((at.astimezone(UTC) if at.tzinfo else at).date(), page_key(url))
            if key not in views or at > views[key]:
                views[key] = at
        else:
            times.append(at)
    return times + list(views.values())


def window_rows_start(start: datetime) -> datetime:
    """Where the rows for touches since `start` are read from: its first midnight (UTC), so that a page viewed
    on both sides of `start` is still one touch."""
    return start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def window_touches(rows: Iterable[TouchRow], last_before: datetime | None) -> list[datetime]:
    """The touches in a window read from window_rows_start, plus the newest engagement before it, which is a
    touch on its own (its day's other views are outside the window). Rows of email opens and clicks must come
    through touch_rows (a store that reads them without their properties cannot tell a machine open)."""
    times = touches(rows)
    if last_before is not None:
        times.append(last_before)
    return times


def touch_rows(activities: Iterable[ActivityView], rule: MachineOpenRule | None = None) -> list[TouchRow]:
    """The rows the touch rule counts: a person's engagement, machine opens (machine_opens) left out.
    `rule`: how machine opens are told ([triage] in leadbrief.toml); None: the built-in rule; OFF: none is."""
    acts = activities if isinstance(activities, Sequence) else list(activities)
    machine = machine_opens(acts, rule or DEFAULT_MACHINE_RULE)
    if not machine:
        return [(a.kind, a.occurred_at, a.url) for a in acts]
    left_out = {id(m[0]) for m in machine}
    return [(a.kind, a.occurred_at, a.url) for a in acts if id(a) not in left_out]


# --- Machine opens: email opens that are not a person reading (docs/triage.md, "Machine activity") ----------

MACHINE_FAST_OPEN = "machine_activity.fast_open"
MACHINE_PRIVACY_PROXY = "machine_activity.privacy_proxy"
MACHINE_SOURCE_FLAG = "machine_activity.source_flag"

# Activity properties read for machine opens, as sources report them (docs/triage.md lists them).
USER_AGENT_KEYS = ("user_agent", "userAgent", "useragent", "ua")
IP_KEYS = ("ip", "ip_address", "ipAddress", "client_ip", "clientIp", "source_ip")
MACHINE_FLAG_KEYS = ("machine_open", "is_machine_open", "machineOpen", "sg_machine_open", "bot", "is_bot", "isBot",
                     "filteredEvent", "filtered_event", "apple_mpp", "is_apple_mpp", "mpp", "privacy_proxy",
                     "is_privacy_proxy", "proxy_open", "prefetched", "is_prefetch")
MACHINE_TYPE_KEYS = ("open_type", "openType", "open_kind")
MACHINE_TYPE_VALUES = frozenset({"machine", "bot", "mpp", "apple_mpp", "proxy", "prefetch", "auto", "automated"})
# Message ids that tie an open to its delivery; else the campaign, else the subject.
MESSAGE_ID_KEYS = ("message_id", "messageId", "email_id", "email_campaign_id", "marketo_email_id", "campaign_id",
                   "mailing_id")
# An open that carries its own email's delivery or send time (Mautic's stat: dateSent), ISO 8601.
DELIVERY_TIME_KEYS = ("delivered_at", "sent_at")
OPEN_KINDS = frozenset({"email_open"})
SEND_KINDS = ("email_sent", "email_delivered")
ENGAGED_EMAIL_KINDS = frozenset({"email_open", "email_click"})
_MACHINE_FLAG_SET = frozenset(MACHINE_FLAG_KEYS)
_MACHINE_TYPE_SET = frozenset(MACHINE_TYPE_KEYS)
_MESSAGE_ID_SET = frozenset(MESSAGE_ID_KEYS)
_MessageKey = tuple[str, str]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class MachineOpenRule:
    """How machine opens are told: the [triage] policy's part of it (briefs.triage.machine_rule builds it).
    Hashable and immutable; `enabled=False` (OFF) counts every open as a person's."""

    enabled: bool = True
    seconds_after_delivery: float = 5.0  # 0: timing off
    proxy_user_agents: frozenset[str] = frozenset({"mozilla/5.0"})  # exact, folded to lowercase single spaces
    proxy_networks: tuple[IPNetwork, ...] = (ipaddress.ip_network("17.0.0.0/8"),)
    source_flag: bool = True
    privacy_proxy: bool = True
    fast_open: bool = True


DEFAULT_MACHINE_RULE = MachineOpenRule()
OFF = MachineOpenRule(enabled=False)


@lru_cache(maxsize=16)
def machine_rule_of(enabled: bool, seconds: float, user_agents: tuple[str, ...], networks: tuple[str, ...],
                    disabled: frozenset[str]) -> MachineOpenRule:
    """A rule from settings as written (ValueError on a network that is not one); cached, so a policy's is built once."""
    if not enabled:
        return OFF
    return MachineOpenRule(
        seconds_after_delivery=seconds,
        proxy_user_agents=frozenset(" ".join(u.lower().split()) for u in user_agents),
        proxy_networks=tuple(ipaddress.ip_network(n, strict=False) for n in networks),
        source_flag=MACHINE_SOURCE_FLAG not in disabled,
        privacy_proxy=MACHINE_PRIVACY_PROXY not in disabled,
        fast_open=MACHINE_FAST_OPEN not in disabled,
    )


def truthy(value: Any) -> bool:
    """A flag as sources spell it: true, "true", "yes", "1", a non-zero number, a non-empty list."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "y", "1", "on", "t")
    if isinstance(value, list | tuple | dict):
        return len(value) > 0  # Mautic's doNotContact: a list of entries
    return False


def prop_text(props: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = props.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def message_keys(a: ActivityView) -> frozenset[_MessageKey]:
    """What ties an email's rows together: its ids, campaign and subject (as one source spells them both times)."""
    keys = [("id", str(v)) for k, v in a.properties.items()
            if k in _MESSAGE_ID_SET and isinstance(v, str | int) and str(v)] if a.properties else []
    if a.campaign:
        keys.append(("campaign", a.campaign.strip().lower()))
    if a.subject:
        keys.append(("subject", a.subject.strip().lower()))
    return frozenset(k for k in keys if k[1])


def _deliveries(emails: Sequence[ActivityView], keys: Mapping[int, frozenset[_MessageKey]]
                ) -> dict[_MessageKey, list[float]]:
    """When each email reached the lead: its delivery, or its send where the source reports no delivery."""
    delivered: dict[_MessageKey, list[float]] = {}
    sent: dict[_MessageKey, list[float]] = {}
    for a in emails:
        if a.kind in SEND_KINDS:
            target = delivered if a.kind == "email_delivered" else sent
            at = a.occurred_at.timestamp()
            for key in keys[id(a)]:
                target.setdefault(key, []).append(at)
    by_key = {**{k: v for k, v in sent.items() if k not in delivered}, **delivered}
    for times in by_key.values():
        times.sort()
    return by_key


def _flagged_or_proxied(a: ActivityView, rule: MachineOpenRule) -> tuple[str, str] | None:
    """What needs no other row: the source's own flag, a privacy proxy's user agent or address."""
    props = a.properties
    if not props:
        return None
    if rule.source_flag:
        flagged = next((k for k in MACHINE_FLAG_KEYS if k in props and truthy(props[k])), None) \
            if not _MACHINE_FLAG_SET.isdisjoint(props) else None
        kind = prop_text(props, MACHINE_TYPE_KEYS) if not _MACHINE_TYPE_SET.isdisjoint(props) else None
        if flagged or (kind and kind.lower() in MACHINE_TYPE_VALUES):
            return MACHINE_SOURCE_FLAG, f"the source marked it as a machine open ({flagged or kind})"
    if a.kind not in OPEN_KINDS or not rule.privacy_proxy:
        return None
    agent = prop_text(props, USER_AGENT_KEYS)
    if agent and " ".join(agent.lower().split()) in rule.proxy_user_agents:
        return MACHINE_PRIVACY_PROXY, f"opened by a privacy proxy (user agent {agent[:60]!r})"
    ip = prop_text(props, IP_KEYS)
    if ip and rule.proxy_networks:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if any(address in n for n in rule.proxy_networks if n.version == address.version):
            return MACHINE_PRIVACY_PROXY, f"opened from a privacy proxy's address ({ip})"
    return None


def _own_delivery(props: Mapping[str, Any]) -> float | None:
    own = prop_text(props, DELIVERY_TIME_KEYS) if props else None
    if not own:
        return None
    try:
        stamp = datetime.fromisoformat(own)
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _fast_open(a: ActivityView, keys: frozenset[_MessageKey], rule: MachineOpenRule,
               deliveries: dict[_MessageKey, list[float]]) -> tuple[str, str] | None:
    """An open within seconds of its own email's delivery (the latest before it, by id, campaign or subject)."""
    at = a.occurred_at.timestamp()
    delivered = None
    for key in keys:
        times = deliveries.get(key)
        if times:
            i = bisect_right(times, at)
            if i and (delivered is None or times[i - 1] > delivered):
                delivered = times[i - 1]
    own_at = _own_delivery(a.properties)
    if own_at is not None and own_at <= at and (delivered is None or own_at > delivered):
        delivered = own_at
    if delivered is not None and at - delivered <= rule.seconds_after_delivery:
        return MACHINE_FAST_OPEN, f"opened {at - delivered:.0f} s after delivery"
    return None


def machine_opens(activities: Sequence[ActivityView], rule: MachineOpenRule = DEFAULT_MACHINE_RULE
                  ) -> list[tuple[ActivityView, str, str]]:
    """The email opens (and source-flagged clicks) that are not a person: (activity, rule id, why in words).
    Opens within seconds of their own email's delivery, opens through a privacy proxy, opens the source flagged.
    Each row is read once; the deliveries are gathered only when an open is left to time."""
    if not rule.enabled:
        return []
    found: list[tuple[ActivityView, str, str]] = []
    untimed: list[ActivityView] = []
    for a in activities:
        if a.kind in ENGAGED_EMAIL_KINDS:
            why = _flagged_or_proxied(a, rule)
            if why:
                found.append((a, why[0], why[1]))
            elif a.kind in OPEN_KINDS:
                untimed.append(a)
    if untimed and rule.fast_open and rule.seconds_after_delivery > 0:
        sends = [a for a in activities if a.kind in SEND_KINDS]
        keys = {id(a): message_keys(a) for a in (*sends, *untimed)}
        deliveries = _deliveries(sends, keys)
        timed = [(a, *why) for a in untimed if (why := _fast_open(a, keys[id(a)], rule, deliveries))]
        if timed:
            position = {id(a): i for i, a in enumerate(activities)}
            found = sorted([*found, *timed], key=lambda m: position[id(m[0])])  # in the history's order
    return found


def url_path(url: str) -> str:
    """The path of a URL as a lead's browser reported it; a malformed one (say an unclosed IPv6 bracket) is
    cut by hand rather than failing the brief."""
    try:
        return urlsplit(url).path
    except ValueError:
        rest = url.split("://", 1)[-1]
        rest = re.split(r"[?#]", rest, maxsplit=1)[0]
        return "/" + rest.split("/", 1)[1] if "/" in rest else ""


def page_key(url: str | None) -> str:
    if not url:
        return ""
    return (url_path(url) or "/").rstrip("/").lower() or "/"


# Where sources put a page's own name: ours (page_title), HubSpot's, Segment's and Mautic's spellings.
PAGE_TITLE_KEYS = ("page_title", "title", "hs_page_title", "hs_title", "page_name", "pageName", "pageTitle")
# Words a URL path spells in lowercase that a rep knows in capitals (and "soc2" -> "SOC 2").
ACRONYMS = {w.lower().replace(" ", ""): w for w in (
    "SAP", "ERP", "CRM", "API", "APIs", "SOC 2", "SOC 1", "ISO 27001", "ISO 9001", "GDPR", "HIPAA", "PCI DSS", "SSO",
    "SAML", "SCIM", "AWS", "GCP", "AI", "ML", "IoT", "ROI", "TCO", "HR", "IT", "B2B", "B2C", "SaaS", "FAQ", "FAQs",
    "CPQ", "ESG", "EDI", "WMS", "MES", "PLM", "BI", "KPI", "KPIs", "SLA", "SMB", "US", "UK", "EU", "EMEA", "APAC",
    "DACH", "HubSpot", "Salesforce", "NetSuite", "SharePoint", "ServiceNow", "OEM", "CAD", "PDF", "CSV", "SQL",
    "SDK", "UI", "UX", "PoC", "RFP", "RFQ", "SOX", "NIS2", "DORA", "CSRD",
)}
_LOCALE_SEGMENT = re.compile(r"^[a-z]{2}(?:[-_][a-z]{2})?$", re.I)


def _path_word(segment: str) -> str:
    """"soc2" -> "SOC 2", "sap" -> "SAP", "widgets" -> "Widgets"."""
    words = segment.split()
    out = [ACRONYMS.get(w.lower(), w) for w in words]
    text = " ".join(out)
    return text if out and out[0] != words[0] else text[:1].upper() + text[1:]


def page_label(activity: ActivityView) -> str:
    """A human name for a page: its title when the source sent one (as sent), else its
    path with acronyms kept (/integrations/sap -> Integrations › SAP, /trust/soc2 -> Trust › SOC 2)."""
    props = activity.properties or {}
    title = activity.title or next((v for k in PAGE_TITLE_KEYS if isinstance(v := props.get(k), str) and v.strip()),
                                   None)
    if isinstance(title, str) and title.strip():
        return " ".join(title.split())[:120]
    if not activity.url:
        return "a page on the website"
    segments = [unquote(s) for s in url_path(activity.url).split("/") if s]
    if len(segments) > 1 and _LOCALE_SEGMENT.match(segments[0]):
        segments = segments[1:]  # /de/produkte/…: the site's language, not a section
    if not segments:
        return "Home page"
    words = [re.sub(r"\.(html?|php|aspx?)$", "", s).replace("-", " ").replace("_", " ").strip() for s in segments[-3:]]
    return " › ".join(_path_word(w) for w in words if w)[:120]


def is_notable_page(url: str | None, notable: tuple[str, ...]) -> bool:
    if not url:
        return False
    path = url_path(url).lower()
    tokens = re.split(r"[^a-z0-9]+", path)
    return any(n in tokens or (len(n) > 3 and n in path) for n in notable)


# --- A hand-raiser's own words ----------------------------------------------------------------

@dataclass(frozen=True)
class OwnWords:
    """What a hand-raiser told us, in their words (cleaned: briefs.cleaning), with the facts a rep opens with."""

    quote: str
    form: str | None
    at: datetime
    referral: str | None = None
    need: str | None = None
    timeline: str | None = None
    budget: str | None = None
    language: str | None = None  # ISO 639-1 code of the language they wrote in ("de"); None: unknown
    callback: CallbackWindow | None = None  # when they asked to be called, if they said
    message: str = ""  # their whole message, cleaned: `quote` is its first ~400 characters
    forwarded: bool = False  # the message came inside a forwarded (or replied-to) email
    facts: tuple[WordFact, ...] = ()  # every fact found, with its supporting words (briefs.facts)
    removed: tuple[str, ...] = ()  # what cleaning took out ("a quoted email", "a signature", ...)
    preferred_language: str | None = None  # ISO 639-1 of the language they asked to be called in ("en français")

    @property
    def call_language(self) -> str | None:
        """The language to call them in: the one they asked for, else the one they wrote in."""
        return self.preferred_language or self.language

    @property
    def title(self) -> str:
        """"In their own words (Contact Sales, from a forwarded email)": the form, and how the message came."""
        where = [self.form] if self.form else []
        if self.forwarded:
            where.append("from a forwarded email")
        return f"In their own words ({', '.join(where)})" if where else "In their own words"


def reading_of(activity: ActivityView) -> reading_mod.Reading:
    """The activity's reading: as stored at ingestion, else read now (once per process)."""
    stored = reading_mod.from_json(activity.words) if activity.words is not None else None
    return stored or reading_mod.read_cached(activity.comments, activity.properties, activity.occurred_at)


def own_words(activity: ActivityView) -> OwnWords:
    """What a hand-raiser's form says in their own words: the cleaned message, its quote, language and facts."""
    reading = reading_of(activity)
    facts = {f.key: f.text for f in reading.facts}
    return OwnWords(
        quote=short_quote(reading.text),
        form=activity.form,
        at=activity.occurred_at,
        referral=facts.get("referral"),
        need=facts.get("need"),
        timeline=facts.get("timeline"),
        budget=facts.get("budget"),
        language=reading.language,
        callback=reading.callback,
        message=reading.text,
        forwarded=reading.forwarded,
        facts=reading.facts,
        removed=reading.removed,
        preferred_language=_LANGUAGE_CODES.get(next((f.value for f in reading.facts if f.key == "language"), None) or ""),
    )


_LANGUAGE_CODES = {name: code for code, name in LANGUAGE_NAMES.items()}
