"""Where a customer stands in their lifecycle: a renewal at risk, a former customer coming back (win-back),
or neither. Pure: reads the lead's customer facts, their activity and the notes on them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from briefs.signals import ActivityView, LeadView, NoteView, fold, page_label
from briefs.triage import company_key, comparison_slugs


class Risk(StrEnum):
    UNHAPPY = "unhappy"  # detractor NPS or unhappy CSAT
    COMPETITOR = "competitor"  # a competitor or comparison page
    CHAMPION_GONE = "champion_gone"  # the CSM's note says so, or the contact is marked as left
    CANCELLATION = "cancellation"  # cancellation or downgrade pages
    ESCALATION = "escalation"  # open support escalations


@dataclass(frozen=True)
class RiskSignal:
    risk: Risk
    text: str  # in words, for the brief: "Read “Leadbrief vs AcmeForecast” 2 days ago"
    at: datetime | None = None


@dataclass(frozen=True)
class Renewal:
    on: date
    days_left: int
    value: str | None  # "€48,000 ARR, Enterprise plan"


@dataclass(frozen=True)
class AtRisk:
    renewal: Renewal
    signals: tuple[RiskSignal, ...]


@dataclass(frozen=True)
class WinBack:
    churned_on: date | None
    reason: str | None
    came_back_at: datetime  # the first touch of this episode: touches and readiness count from here
    changed: tuple[str, ...]  # what they read now that answers why they left, in words


@dataclass(frozen=True)
class Lifecycle:
    at_risk: AtRisk | None = None
    win_back: WinBack | None = None
    renewal: Renewal | None = None  # a known renewal, at risk or not (shown to a customer's rep)


# Pages a customer reads when leaving, in the four languages we brief in (matched on the folded URL and title).
CANCELLATION_WORDS = re.compile(
    r"\b(cancel\w*|downgrad\w*|terminat\w*|offboard\w*|export (?:your|my|all) data|close (?:my|your) account"
    r"|kundig\w*|abbestell\w*|vertrag beenden|resili\w*|annul\w*|desabonn\w*|cancelar\w*|dar de baja|baja)\b"
)
COMPARISON_WORDS = re.compile(r"\b(vs|versus|compare|comparison|alternative|alternatives|vergleich|comparatif|comparativa)\b")
CHAMPION_GONE_WORDS = re.compile(
    r"\b(champion|sponsor)\b.{0,60}\b(left|leaving|gone|quit|moved on|departed|resigned)\b"
    r"|\b(left|leaving|has left|no longer (?:at|with))\b.{0,40}\b(company|the firm|them)\b"
    r"|hat das unternehmen verlassen|a quitte|ha dejado la empresa"
)
# A note asking to be consulted before anyone calls, in the four languages we brief in (folded text).
CONSULT_FIRST_WORDS = re.compile(
    r"\b(talk|speak|check|chat) (to|with) me (first|before)|\bloop me in\b|\bconsult me\b|\bask me (first|before)"
    r"|\bbefore (anyone|anybody|you|someone|sales) (calls?|reach(es)? out|contacts?)|\bdo not call (her|him|them) "
    r"(before|until|without)|\bbevor (jemand|ihr|du|sie) (anruft|anrufen|anrufst)|\b(sprich|sprecht|sprechen sie)"
    r" (zuerst|vorher) mit mir|\bavant (d appeler|de l appeler|de les appeler|tout appel)|\bparle[sz]?[ -]moi "
    r"(d abord|avant)|\bantes de llamar|\bhabla(d)? conmigo (antes|primero)"
)
# A churn reason and the pages that answer it: (theme, words in the reason, words in what they read now).
CHURN_THEMES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    ("price", re.compile(r"\b(price|pricing|cost|costs|expensive|budget|cheaper|preis\w*|teuer|kosten|prix|cher"
                         r"|cout\w*|precio\w*|caro|coste)\b"),
     re.compile(r"\b(pricing|price|plans?|preise|tarifs?|precios|planes)\b")),
    ("integration", re.compile(r"\b(integrat\w*|connector|api|sync\w*|schnittstelle\w*|interface\w*|sap|erp"
                               r"|salesforce|netsuite|dynamics)\b"),
     re.compile(r"\b(integrations?|connectors?|api|apps|marketplace|schnittstellen?|sap|erp|netsuite|dynamics)\b")),
    ("feature", re.compile(r"\b(feature\w*|missing|lacked|lacking|functionality|funktion\w*|fonctionnalit\w*"
                           r"|funcionalidad\w*|roadmap)\b"),
     re.compile(r"\b(release notes?|what s new|whats new|new features?|changelog|roadmap|product updates?"
                r"|neuerungen|nouveautes|novedades)\b")),
    ("support", re.compile(r"\b(support|service|onboarding|response times?|kundendienst|soporte)\b"),
     re.compile(r"\b(support|customer success|onboarding|services|sla)\b")),
)


def _day_gap(first: datetime, later: datetime) -> int:
    return (later.date() - first.date()).days


def renewal(lead: LeadView, today: date, window_days: int) -> Renewal | None:
    """The renewal when it is within window_days from today (or passed by at most a week: not yet renewed)."""
    if lead.renewal_date is None:
        return None
    days_left = (lead.renewal_date - today).days
    if not -7 <= days_left <= window_days:
        return None
    return Renewal(lead.renewal_date, days_left, contract_value(lead))


def contract_value(lead: LeadView) -> str | None:
    parts = []
    if lead.arr is not None:
        parts.append(f"{money(lead.arr, lead.currency)} ARR")
    if lead.plan:
        parts.append(f"{lead.plan} plan")
    return ", ".join(parts) or None


SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}


def money(amount: int, currency: str | None) -> str:
    sign = SYMBOLS.get(currency or "")
    number = f"{amount:,}"
    if sign:
        return f"{sign}{number}"
    return f"{number} {currency}" if currency else number


def _pages(activities: Iterable[ActivityView], since: datetime | None) -> list[ActivityView]:
    return [a for a in activities
            if a.kind == "web_visit" and (since is None or a.occurred_at >= since)]


def _page_text(a: ActivityView) -> str:
    return fold(f"{a.url or ''} {page_label(a)}".replace("-", " ").replace("/", " "))


def _ago(at: datetime, now: datetime) -> str:
    days = _day_gap(at, now)
    return "today" if days <= 0 else "yesterday" if days == 1 else f"{days} days ago"


def risk_signals(lead: LeadView, activities: Sequence[ActivityView], notes: Sequence[NoteView], now: datetime,
                 *, unhappy_label: str | None, competitor_names: Iterable[str] = (),
                 since: datetime | None = None, csm_note_authors: Iterable[str] = ()) -> tuple[RiskSignal, ...]:
    """What puts a renewal at risk, newest evidence first within each kind. unhappy_label: the customer state's
    "NPS 6, detractor" when they are unhappy. Pages count from `since` (the renewal window's start)."""
    found: list[RiskSignal] = []
    if unhappy_label:
        found.append(RiskSignal(Risk.UNHAPPY, unhappy_label))
    pages = sorted(_pages(activities, since), key=lambda a: a.occurred_at, reverse=True)
    rivals = {k for k in (company_key(n) for n in competitor_names) if k}
    slugs = comparison_slugs(a.url for a in pages)
    for a in pages:
        text = _page_text(a)
        words = set(text.split())
        if COMPARISON_WORDS.search(text) or rivals & words or slugs & words:
            found.append(RiskSignal(Risk.COMPETITOR, f"Read “{page_label(a)}” {_ago(a.occurred_at, now)}",
                                    a.occurred_at))
            break
    for a in pages:
        if CANCELLATION_WORDS.search(_page_text(a)):
            found.append(RiskSignal(Risk.CANCELLATION, f"Looked at “{page_label(a)}” {_ago(a.occurred_at, now)}",
                                    a.occurred_at))
            break
    authors = {fold(a) for a in csm_note_authors}
    if lead.left_company:
        found.append(RiskSignal(Risk.CHAMPION_GONE, "The contact is marked in the CRM as gone from the company"))
    else:
        for note in sorted(notes, key=lambda n: n.created_at, reverse=True):
            if CHAMPION_GONE_WORDS.search(fold(note.body)) and (not authors or fold(note.author) in authors):
                found.append(RiskSignal(Risk.CHAMPION_GONE, f"{note.author}'s note: the champion is gone",
                                        note.created_at))
                break
    if lead.open_escalations:
        n = lead.open_escalations
        found.append(RiskSignal(Risk.ESCALATION, f"{n} open support escalation{'s' if n != 1 else ''}"))
    return tuple(found)


CONSULT_FIRST_DAYS = 90  # an older "talk to me first" is about another time: it no longer redirects briefs


def consult_first(notes: Sequence[NoteView], now: datetime) -> NoteView | None:
    """The newest recent note asking to be consulted before anyone calls, from an author we can reach."""
    since = now - timedelta(days=CONSULT_FIRST_DAYS)
    for note in sorted(notes, key=lambda n: n.created_at, reverse=True):
        if note.created_at >= since and note.author_ref and CONSULT_FIRST_WORDS.search(fold(note.body)):
            return note
    return None


def came_back_at(touch_times: Iterable[datetime], churned_on: date | None, quiet_days: int) -> datetime | None:
    """The first touch of the episode a former customer is in now: after their churn date, and after the
    last quiet spell of quiet_days or more. None when they have not touched us since they left."""
    times = sorted(t for t in touch_times if churned_on is None or t.date() > churned_on)
    if not times:
        return None
    start = times[0]
    for before, after in zip(times, times[1:], strict=False):
        if after - before >= timedelta(days=quiet_days):
            start = after
    return start


def churn_theme(reason: str | None) -> str | None:
    if not reason:
        return None
    text = fold(reason)
    return next((theme for theme, said, _reads in CHURN_THEMES if said.search(text)), None)


def what_changed(reason: str | None, activities: Sequence[ActivityView], since: datetime) -> tuple[str, ...]:
    """What they read since they came back that speaks to why they left: "pricing (2 visits)"."""
    theme = churn_theme(reason)
    if theme is None:
        return ()
    reads = next(r for t, _said, r in CHURN_THEMES if t == theme)
    seen: dict[str, int] = {}
    for a in sorted(activities, key=lambda a: a.occurred_at, reverse=True):
        if a.occurred_at < since or a.kind not in ("web_visit", "content_download", "webinar_attended"):
            continue
        if reads.search(_page_text(a)):
            label = page_label(a) if a.kind == "web_visit" else (a.title or page_label(a))
            seen[label] = seen.get(label, 0) + 1
    return tuple(f"{label} ({n} visits)" if n > 1 else label for label, n in list(seen.items())[:3])


def assess(lead: LeadView, activities: Sequence[ActivityView], notes: Sequence[NoteView],
           touch_times: Sequence[datetime], now: datetime, *, renewal_window_days: int, quiet_days: int,
           unhappy_label: str | None, competitor_names: Iterable[str] = ()) -> Lifecycle:
    """A customer's renewal (at risk when a risk signal shows in the renewal window), or a former customer's
    win-back episode. A prospect who never was a customer gets Lifecycle()."""
    if lead.is_customer:
        due = renewal(lead, now.date(), renewal_window_days)
        if due is None:
            return Lifecycle()
        window_start = now - timedelta(days=renewal_window_days)
        signals = risk_signals(lead, activities, notes, now, unhappy_label=unhappy_label,
                               competitor_names=competitor_names, since=window_start)
        return Lifecycle(at_risk=AtRisk(due, signals) if signals else None, renewal=due)
    if lead.former_customer:
        start = came_back_at(touch_times, lead.churned_on, quiet_days)
        if start is None:
            return Lifecycle()
        return Lifecycle(win_back=WinBack(lead.churned_on, lead.churn_reason, start,
                                          what_changed(lead.churn_reason, activities, start)))
    return Lifecycle()


# --- in the brief ------------------------------------------------------------------------------------------------

def _date(on: date) -> str:
    return f"{on:%b} {on.day}, {on.year}"


def _in(days: int) -> str:
    if days < 0:
        return f"{-days} day{'s' if days != -1 else ''} overdue"
    if days == 0:
        return "today"
    if days >= 14:
        return f"in {days // 7} weeks"
    return f"in {days} day{'s' if days != 1 else ''}"


def renewal_line(r: Renewal) -> str:
    return f"Renews {_date(r.on)} ({_in(r.days_left)})" + (f" · {r.value}" if r.value else "")


def at_risk_warning(at_risk: AtRisk) -> str:
    """The line on top of an at-risk renewal's brief: the renewal, its value and what puts it at risk."""
    risks = ". ".join(s.text for s in at_risk.signals)
    return (f"⚠️ Renewal at risk. {renewal_line(at_risk.renewal)}. {risks}. Save the account: listen first, "
            "fix what is wrong, no new sale.")


def win_back_lines(w: WinBack, now: datetime, touches_since: int) -> list[str]:
    left = f"left {_date(w.churned_on)}" if w.churned_on else "left us"
    why = f": “{w.reason}”" if w.reason else " (no reason on record)"
    lines = [f"Former customer, {left}{why}",
             f"Came back {_ago(w.came_back_at, now)}: {touches_since} touch{'es' if touches_since != 1 else ''} "
             "since then (what came before does not count)"]
    if w.changed:
        lines.append("What they read that speaks to why they left: " + ", ".join(w.changed))
    return lines


def context(life: Lifecycle, now: datetime) -> dict[str, object]:
    """What the talk-track templates read: `lifecycle.renewal`, `lifecycle.risks`, `lifecycle.win_back`."""
    renewal_ = life.at_risk.renewal if life.at_risk else life.renewal
    w = life.win_back
    return {
        "renewal": None if renewal_ is None else {
            "on": _date(renewal_.on), "in": _in(renewal_.days_left), "value": renewal_.value},
        "risks": [s.risk.value for s in life.at_risk.signals] if life.at_risk else [],
        "win_back": None if w is None else {
            "left": f"{w.churned_on:%B %Y}" if w.churned_on else None,
            "reason": w.reason,
            "theme": churn_theme(w.reason),
            "changed": list(w.changed),
            "came_back": _ago(w.came_back_at, now),
        },
    }
