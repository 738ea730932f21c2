"""What the domain knows of a lead and what they did: plain data, and the signals read from it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from briefs.events import ACTIVITY_KINDS
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

    @property
    def name(self) -> str:
        return display_name(self.first_name, self.last_name, self.email)

    @property
    def greeting_name(self) -> str:
        return self.first_name or (self.name if self.name != self.email else "there")


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


@dataclass(frozen=True)
class NoteView:
    author: str
    body: str
    created_at: datetime


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


def is_hand_raiser_form(form: str | None, hand_raiser_forms: tuple[str, ...]) -> bool:
    if not form:
        return False
    name = " " + " ".join(re.sub(r"[^a-z0-9]+", " ", fold(form)).split()) + " "
    return any(f" {pattern} " in name for pattern in hand_raiser_forms)


# A minimal row for counting touches: (kind, occurred_at, page url or None).
TouchRow = tuple[str, datetime, str | None]


def touches(rows: Iterable[TouchRow]) -> list[datetime]:
    """The touch times in a lead's history, in any order: the one touch rule every path follows.
    One touch per engagement, but a page's views on one day are one touch (a browsing session), at the latest."""
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
    touch on its own (its day's other views are outside the window)."""
    times = touches(rows)
    if last_before is not None:
        times.append(last_before)
    return times


def touch_rows(activities: Iterable[ActivityView]) -> list[TouchRow]:
    return [(a.kind, a.occurred_at, a.url) for a in activities]


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


def page_label(activity: ActivityView) -> str:
    """A human name for a page: its title when the source sent one, else its path (/solutions/widgets -> Solutions › Widgets)."""
    title = activity.title or (activity.properties or {}).get("page_title") or (activity.properties or {}).get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()[:120]
    if not activity.url:
        return "a page on the website"
    segments = [unquote(s) for s in url_path(activity.url).split("/") if s]
    if not segments:
        return "Home page"
    words = [re.sub(r"\.(html?|php|aspx?)$", "", s).replace("-", " ").replace("_", " ").strip() for s in segments[-3:]]
    return " › ".join(w[:1].upper() + w[1:] for w in words if w)[:120]


def is_notable_page(url: str | None, notable: tuple[str, ...]) -> bool:
    if not url:
        return False
    path = url_path(url).lower()
    tokens = re.split(r"[^a-z0-9]+", path)
    return any(n in tokens or (len(n) > 3 and n in path) for n in notable)


# --- A hand-raiser's own words ----------------------------------------------------------------

_REFERRAL = re.compile(
    r"\b(referr?(ed|al)|recommend(ed|ation)?|heard (about|of) (you|your)|sent me|introduc(ed|tion)|pointed me|told me about)\b",
    re.I,
)
_TIMELINE = re.compile(
    r"\b((this|next|the end of (the|this)) (quarter|month|week|year|fiscal year)|q[1-4]|h[12]|asap|urgent(ly)?|"
    r"deadline|go[ -]live|live by|by (the )?(end of|january|february|march|april|may|june|july|august|september|"
    r"october|november|december|monday|tuesday|wednesday|thursday|friday|\d)|within \d+ (days?|weeks?|months?)|"
    r"in \d+ (days|weeks|months)|before (the )?(end|january|february|march|april|may|june|july|august|september|"
    r"october|november|december)|20\d\d)\b",
    re.I,
)
_NEED = re.compile(
    r"\b(need|needs|looking for|want|require|evaluat\w*|replac\w*|problem|struggl\w*|interested in|"
    r"solution|help with|pain|challenge|budget)\b",
    re.I,
)
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+|,\s+(?=and\b|but\b|so\b)|\s+(?:and|but)\s+(?=(?:we|i|must|need|have|are|it)\b)", re.I)


@dataclass(frozen=True)
class OwnWords:
    """What a hand-raiser told us, in their words, with the three facts a rep opens with."""

    quote: str
    form: str | None
    at: datetime
    referral: str | None = None
    need: str | None = None
    timeline: str | None = None
    budget: str | None = None


def _prop(props: dict[str, Any], *names: str) -> str | None:
    for name in names:
        v = props.get(name)
        if isinstance(v, str | int | float) and str(v).strip():
            return str(v).strip()[:300]
    return None


def _trim_clause(text: str) -> str:
    return text.strip().strip(",;").rstrip(".!").strip()


def own_words(activity: ActivityView) -> OwnWords:
    comments = (activity.comments or "").strip()
    props = activity.properties or {}
    clauses = [_trim_clause(c) for c in _CLAUSE_SPLIT.split(comments) if c and _trim_clause(c)]

    def first(pattern: re.Pattern[str], exclude: set[str]) -> str | None:
        return next((c for c in clauses if pattern.search(c) and c not in exclude), None)

    referral = _prop(props, "referral", "referred_by", "referrer") or first(_REFERRAL, set())
    timeline = _prop(props, "timeline", "timeframe", "purchase_timeline", "time_frame") or first(
        _TIMELINE, {referral or ""}
    )
    need = _prop(props, "need", "use_case", "challenge", "project") or first(
        _NEED, {referral or "", timeline or ""}
    )
    budget = _prop(props, "budget")
    return OwnWords(
        quote=comments,
        form=activity.form,
        at=activity.occurred_at,
        referral=referral,
        need=need,
        timeline=timeline,
        budget=budget,
    )
