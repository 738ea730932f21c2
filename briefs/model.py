"""The brief: everything a rep needs in ten seconds, most important first. Pure: data in, model out."""

from __future__ import annotations

import contextlib
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypedDict, TypeVar

from briefs import accounts as accounts_mod
from briefs import customer as customer_state
from briefs import lifecycle, talktrack
from briefs import readiness as readiness_mod
from briefs.customer import CustomerState
from briefs.markup import ago, day, duration, em, plain
from briefs.people import first_name_case
from briefs.qualification import system_name
from briefs.readiness import Readiness
from briefs.rules import Rules
from briefs.signals import (
    OFF,
    ActivityView,
    LeadView,
    NoteView,
    OwnWords,
    TouchRow,
    is_hand_raiser_form,
    is_notable_page,
    lead_status_label,
    machine_opens,
    normalise_stage,
    own_words,
    page_key,
    page_label,
    stage_label,
    touch_rows,
    touches,
)
from briefs.sla import BriefClock, call_urgency, part_of_day, zone
from briefs.talktrack import TalkTrack
from briefs.triage import (
    DEFAULT_POLICY,
    Finding,
    MachineOpen,
    Rule,
    TouchSplit,
    TriagePolicy,
    address_flags,
    machine_rule,
)

K = TypeVar("K", bound=Hashable)


class Content(TypedDict):
    """A downloaded asset as the talk-track templates see it."""

    title: str
    type: str | None
    topic: str | None


ASSET_TYPE_WORDS = {"whitepaper": "white paper", "white_paper": "white paper", "ebook": "e-book", "case_study": "case study"}


@dataclass(frozen=True)
class QualificationView:
    reason: str
    detail: str
    triggered_at: datetime
    qualified_at: datetime
    id: int | None = None
    note: str | None = None
    status: str = "open"


@dataclass
class BriefInput:
    lead: LeadView
    activities: list[ActivityView]  # any order; newest are used first
    notes: list[NoteView] = field(default_factory=list)
    qualification: QualificationView | None = None
    now: datetime | None = None
    # When the store only handed over part of the history, the rest, counted by the touch rule but not listed:
    # older page views as minimal rows, and how many older touches of ONE_TOUCH_KINDS (from the oldest's time).
    older_touch_rows: list[TouchRow] = field(default_factory=list)
    older_touches: int = 0
    older_first_touch: datetime | None = None
    # [triage]: how machine opens are told (left out of every touch count) and which addresses are flagged.
    triage: TriagePolicy = DEFAULT_POLICY
    # The flags triage found (TriageResult.flags: the address, a CRM email opt-out); None: the address's, read here.
    flags: tuple[Finding, ...] | None = None
    # Accounts (briefs/accounts.py): the lead's account, and its buying committee when 2+ people there are active.
    account_name: str | None = None
    committee: accounts_mod.Committee | None = None


@dataclass(frozen=True)
class Fact:
    label: str
    text: str


@dataclass(frozen=True)
class Brief:
    email: str
    icon: str
    headline: str  # name · title, company
    status_line: str  # Prospect · owner … · qualified … : detail
    warning: str | None
    # "🇩🇪 Wrote in German: call in German, mornings (CET)": the first line under the header; None for English.
    language_line: str | None
    why_now: str
    own_words: OwnWords | None
    word_facts: list[Fact]
    engagement: list[str]
    engagement_summary: str
    readiness: Readiness
    touches: TouchSplit  # the touch count in words: summary() says "N human touches (M machine opens left out)"
    flags: list[str]  # "Personal address (gmail.com): the company, … comes from the form and is unverified."
    customer_lines: list[str]
    talk_track: TalkTrack
    notes: list[str]
    # "Notes", or "Notes from marketing" when every note's author is known to be in marketing (note_role).
    notes_title: str
    crm_url: str | None
    qualification: QualificationView | None
    fallback: str
    account: accounts_mod.Committee | None = None  # the account section: "Contoso · 3 people active this week"
    # A customer's lifecycle episode ("at_risk", "win_back") and who gets the brief when not the owner (the CSM
    # of an at-risk renewal), with the owner copied.
    episode: str | None = None
    deliver_to: str | None = None  # an email or a Slack user id
    copy_to: str | None = None
    deliver_why: str | None = None  # "their CSM, carla@ourco.example": who has the brief, in words (for the copy)
    notes_through: int = 0  # the newest note shown (its id; 0: none): later ones go into the brief's thread


def _asset_type(value: str | None) -> str | None:
    if not value:
        return None
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    return ASSET_TYPE_WORDS.get(key, value.strip().lower())


def _newest_first(items: list[ActivityView]) -> list[ActivityView]:
    return sorted(items, key=lambda a: a.occurred_at, reverse=True)


def _group(items: list[ActivityView], key: Callable[[ActivityView], K]) -> OrderedDict[K, list[ActivityView]]:
    groups: OrderedDict[K, list[ActivityView]] = OrderedDict()
    for a in items:  # newest first, so each group's first item is its latest
        groups.setdefault(key(a), []).append(a)
    return groups


def _more(n: int, noun: str) -> str:
    return f"…and {n} more {noun}"


def _content_lines(acts: list[ActivityView], now: datetime, limit: int) -> tuple[list[str], list[Content]]:
    downloads = [a for a in acts if a.kind == "content_download"]
    groups = _group(downloads, lambda a: (a.asset_url or "") or (a.title or "").lower())
    lines: list[str] = []
    content: list[Content] = []
    for items in groups.values():
        a = items[0]
        title = a.title or page_label(ActivityView(kind="web_visit", occurred_at=a.occurred_at, url=a.asset_url))
        kind = _asset_type(a.asset_type)
        repeat = f" ×{len(items)}" if len(items) > 1 else ""
        content.append({"title": title, "type": kind, "topic": a.topic})
        if len(lines) < limit:
            lines.append(f"📄 {em(title)}{f' ({kind})' if kind else ''}{repeat}, {ago(a.occurred_at, now)}")
    if len(groups) > limit:
        lines.append(_more(len(groups) - limit, "downloads"))
    return lines, content


def _event_lines(acts: list[ActivityView], now: datetime, limit: int) -> tuple[list[str], list[str]]:
    kinds = ("webinar_registered", "webinar_attended", "event_attended")
    items = [a for a in acts if a.kind in kinds]
    groups = _group(items, lambda a: (a.title or a.campaign or a.kind).lower())
    lines: list[str] = []
    attended: list[str] = []
    for group in groups.values():
        a = group[0]
        done = {g.kind for g in group}
        name = a.title or a.campaign or ("an event" if a.kind == "event_attended" else "a webinar")
        if "event_attended" in done:
            what, icon = "attended", "🎟️"
        elif "webinar_attended" in done:
            what, icon = ("registered and attended" if "webinar_registered" in done else "attended"), "🎤"
        else:
            what, icon = "registered", "🎤"
        if "attended" in what:
            attended.append(name)
        if len(lines) < limit:
            lines.append(f"{icon} {em(name)}: {what}, {ago(a.occurred_at, now)}")
    if len(groups) > limit:
        lines.append(_more(len(groups) - limit, "webinars and events"))
    return lines, attended


def _email_lines(acts: list[ActivityView], now: datetime, limit: int) -> tuple[list[str], list[str]]:
    mails = [a for a in acts if a.kind in ("email_sent", "email_delivered", "email_open", "email_click")]
    if not mails:
        return [], []
    groups = _group(mails, lambda a: (a.subject or a.campaign or "").strip().lower())
    engaged = [(k, g) for k, g in groups.items() if any(x.kind in ("email_open", "email_click") for x in g)]

    def last_engaged(g: list[ActivityView]) -> float:
        return max(x.occurred_at for x in g if x.kind in ("email_open", "email_click")).timestamp()

    # Clicked first (a click says more than an open), then by when they last opened or clicked.
    engaged.sort(key=lambda kg: (not any(x.kind == "email_click" for x in kg[1]), -last_engaged(kg[1])))
    lines: list[str] = []
    clicked: list[str] = []
    for _key, g in engaged:
        kinds = {x.kind for x in g}
        subject = next((x.subject or x.campaign for x in g if x.subject or x.campaign), None) or "an email"
        last = max(x.occurred_at for x in g if x.kind in ("email_open", "email_click"))
        if "email_click" in kinds:
            clicked.append(subject)
            what = "opened and clicked" if "email_open" in kinds else "clicked"
        else:
            what = "opened"
        if len(lines) < limit:
            quoted = f"“{subject}”" if subject != "an email" else subject
            lines.append(f"✉️ {quoted}: {what}, {ago(last, now)}")
    if len(engaged) > limit:
        lines.append(_more(len(engaged) - limit, "emails opened or clicked"))
    sent = sum(1 for k in groups.values() if any(x.kind in ("email_sent", "email_delivered") for x in k))
    opened = sum(1 for _k, g in engaged)
    if sent > opened or len(engaged) > limit:
        total = max(sent, opened)
        lines.append(f"✉️ {total} email{'' if total == 1 else 's'} sent · {opened} opened · {len(clicked)} clicked")
    return lines, clicked


def _page_lines(acts: list[ActivityView], now: datetime, rules: Rules) -> tuple[list[str], list[str], bool]:
    visits = [a for a in acts if a.kind == "web_visit"]
    if not visits:
        return [], [], False
    groups = _group(visits, lambda a: page_key(a.url) or (a.title or "").lower())
    notable = [(g[0], len(g)) for g in groups.values() if is_notable_page(g[0].url, rules.notable_pages)]
    others = [(g[0], len(g)) for g in groups.values() if not is_notable_page(g[0].url, rules.notable_pages)]
    pricing = any("pric" in (a.url or "").lower() or "pric" in (a.title or "").lower() for a, _n in notable)
    shown = (notable + others)[:4]
    parts = [f"{page_label(a)}{f' ×{n}' if n > 1 else ''}, {ago(a.occurred_at, now)}" for a, n in shown]
    line = "🌐 " + " · ".join(parts)
    if len(groups) > len(shown):
        line += f" · {len(groups) - len(shown)} more pages"
    return [line], [page_label(a) for a, _n in notable], pricing


def _other_lines(acts: list[ActivityView], now: datetime, rules: Rules, limit: int) -> list[str]:
    lines = []
    forms = [a for a in acts if a.kind == "form_submit" and not is_hand_raiser_form(a.form, rules.hand_raiser_forms)]
    for a in forms[:2]:
        lines.append(f"📝 Form {em(a.form or 'on the website')}, {ago(a.occurred_at, now)}")
    for kind, icon, words in (("meeting_booked", "📅", "Booked a meeting"), ("chat", "💬", "Chatted with us")):
        items = [a for a in acts if a.kind == kind]
        if items:
            count = f" ({len(items)}×)" if len(items) > 1 else ""
            lines.append(f"{icon} {words}{count}, {ago(items[0].occurred_at, now)}")
    unsub = next((a for a in acts if a.kind == "unsubscribe"), None)
    if unsub:
        lines.append(f"🚫 Unsubscribed from email, {ago(unsub.occurred_at, now)}: do not add them to a sequence")
    return lines[:limit]


def _why_now(lead: LeadView, q: QualificationView | None, acts: list[ActivityView], ready: Readiness,
             summary: str, now: datetime, rules: Rules, urgency: str | None = None,
             at_risk: bool = False) -> str:
    who = first_name_case(lead.first_name) or "They"
    parts = []
    if q:
        parts.append(f"{q.detail[:1].upper()}{q.detail[1:]}, {ago(q.triggered_at, now)}.")
    parts.append(summary + ".")
    recent = []
    price = next((a for a in acts if a.kind == "web_visit" and is_notable_page(a.url, rules.notable_pages)), None)
    if price:
        recent.append(f"looked at the {page_label(price)} page {ago(price.occurred_at, now)}")
    dl = next((a for a in acts if a.kind == "content_download"), None)
    if dl:
        kind = _asset_type(dl.asset_type) or "content"
        recent.append(f"downloaded {em(dl.title) if dl.title else 'a ' + kind} {ago(dl.occurred_at, now)}")
    if recent:
        parts.append(f"{who} {' and '.join(recent)}.")
    if urgency:
        parts.append(urgency)
    if at_risk:  # a renewal to save: buyer readiness does not apply
        pass
    elif ready.stage == "past_ready":
        parts.append(f"That is past the usual {rules.ready_min_touches}–{rules.ready_max_touches} touches before a buyer is ready to talk.")
    elif ready.stage == "ready":
        parts.append(f"That is within the usual {rules.ready_min_touches}–{rules.ready_max_touches} touches before a buyer is ready to talk.")
    elif ready.stage in ("early", "warming") and q and q.reason not in ("hand_raiser", "re_engaged"):
        parts.append("That is early for a buyer: qualify gently and teach before you sell.")
    return " ".join(parts)


def _summary(ready: Readiness, acts: list[ActivityView], split: TouchSplit) -> str:
    if ready.touches == 0:
        if split.machine_opens:
            m = split.machine_opens
            return f"No human touch yet ({m} machine open{'' if m == 1 else 's'} left out)"
        return "No engagement recorded yet"
    campaigns = {a.campaign.strip().lower() for a in acts if a.campaign}
    text = f"{split.summary()} in {duration(ready.span_days)}"
    if len(campaigns) > 1:
        text += f" across {len(campaigns)} campaign{'s' if len(campaigns) != 1 else ''}"
    return text


def _customer_lines(state: CustomerState, lead: LeadView) -> tuple[str | None, list[str]]:
    if not state.is_customer:
        return None, []
    warning = None
    since = f" since {lead.customer_since}" if lead.customer_since else ""
    head = f"Existing customer{since}" + (f" · {state.score_label}" if state.score_label else "")
    lines = [head]
    if state.unhappy:
        warning = (
            f"⚠️ Unhappy customer ({state.score_label}). Acknowledge the open issues before anything else. "
            "Do not pitch the upgrade."
        )
    elif state.reengaged:
        r = state.reengaged
        lines.append(
            f"Back in buying mode: customer{since}; quiet for {duration(r.quiet_days)}; "
            f"{r.recent_touches} touches in the last {duration(r.window_days)}."
        )
    if state.promoter and not state.unhappy:
        lines.append("Promoter: ask for a referral or a case study, and look for expansion.")
    elif state.sentiment == "passive":
        lines.append("Passive: find out what would make them a promoter before proposing more.")
    if not state.unhappy:
        lines.append("Treat this as cross-sell or upsell, not a new sale.")
    return warning, lines


# Salutation fields as forms send them (German "Anrede", French "civilité", Spanish "tratamiento").
SALUTATION_KEYS = ("salutation", "anrede", "civilite", "civilité", "tratamiento", "title_prefix", "prefix", "gender")


def _salutation(form: ActivityView | None) -> str | None:
    props = form.properties if form is not None else None
    if not props:
        return None
    folded = {str(k).strip().lower(): v for k, v in props.items()}
    return next((v for k in SALUTATION_KEYS if isinstance(v := folded.get(k), str) and v.strip()), None)


_SCORE_DETAIL = re.compile(r"^(lead score reached -?\d+) in (\S+)$")


def _detail(detail: str) -> str:
    """A stored score reason names its source id ("in api"): a system a rep knows by name, or nothing."""
    m = _SCORE_DETAIL.match(detail)
    if not m:
        return detail
    system = system_name(m.group(2))
    return m.group(1) + (f" in {system}" if system else "")


# A note author's role as sources and configs spell it -> the label a rep reads; other text is shown as given.
NOTE_ROLES = {
    "csm": "CSM", "customer success": "CSM", "customer success manager": "CSM", "account manager": "account manager",
    "am": "account manager", "marketing": "marketing", "marketing ops": "marketing", "mops": "marketing",
    "demand gen": "marketing", "sales": "sales rep", "rep": "sales rep", "sales rep": "sales rep", "ae": "sales rep",
    "account executive": "sales rep", "sdr": "SDR", "bdr": "SDR", "support": "support", "partner": "partner",
}
_FROM = {"marketing": "marketing", "CSM": "the CSM", "SDR": "an SDR", "sales rep": "a sales rep", "support": "support"}


def note_role(role: str | None) -> str | None:
    """"customer_success" -> "CSM", "Marketing" -> "marketing"; None when unknown (no label, never a wrong one)."""
    key = " ".join(re.sub(r"[_\-]+", " ", (role or "").strip().lower()).split())
    if not key:
        return None
    return NOTE_ROLES.get(key, plain(" ".join((role or "").split()))[:40])


def _role_label(role: str | None) -> str:
    label = note_role(role)
    return f", {label}" if label else ""


def notes_title(notes: list[NoteView]) -> str:
    roles = {note_role(n.role) for n in notes}
    if len(roles) == 1:
        only = next(iter(roles))
        if only in _FROM:
            return f"Notes from {_FROM[only]}"
    return "Notes"


def language_line(words: OwnWords | None) -> str | None:
    """"🇩🇪 Wrote in German: call in German, mornings (CET)"; None when they wrote in English or it is unknown."""
    code = ((words.language if words else None) or "").strip().lower()[:2]
    if not words or not code or code == "en":
        return None
    name = talktrack.LANGUAGE_NAMES.get(code)
    if not name:
        return None
    line = f"{talktrack.FLAGS.get(code, '🌐')} Wrote in {name}: call in {name}"
    window = words.callback
    if window is not None and window.ends > window.starts:
        tz = zone(window.zone, "UTC")
        with contextlib.suppress(OverflowError, ValueError):  # a window at the edge of time: the language alone
            line += f", {part_of_day(window)} ({plain(window.starts.astimezone(tz).tzname() or window.zone)})"
    return line


def _word_facts(words: OwnWords | None) -> list[Fact]:
    """Each fact found in their words (briefs.facts), what was read from it first: "Timeline: 15 Mar 2027 —
    “before our board meeting on 15 March”". A fact that was not found is not shown."""
    if not words:
        return []
    return [Fact(f.label, f"{f.value} — “{f.text}”" if f.value else f"“{f.text}”") for f in words.facts]


def _icon(reason: str | None, state: CustomerState, ready: Readiness) -> str:
    if state.unhappy:
        return "⚠️"
    if reason == "hand_raiser":
        return "🙋"
    if state.reengaged or reason == "re_engaged":
        return "🔁"
    if ready.stage in ("ready", "past_ready"):
        return "🔥"
    return "🌱"


def build_brief(data: BriefInput, rules: Rules | None = None) -> Brief:
    rules = rules or Rules()
    now = data.now or datetime.now().astimezone()
    lead, q = data.lead, data.qualification
    acts = _newest_first(data.activities)
    limit = rules.max_items

    hand_form = next(
        (a for a in acts if a.kind == "form_submit" and is_hand_raiser_form(a.form, rules.hand_raiser_forms)), None
    )
    # A form whose name is not a hand-raiser's (another language, a custom form) still shows what they wrote,
    # within the last 90 days.
    said_form = hand_form or next((a for a in acts if a.kind == "form_submit" and (a.comments or "").strip()
                                   and (now - a.occurred_at).days <= 90), None)
    words = own_words(said_form) if said_form else None
    if words and not (words.quote or words.facts):
        words = None

    # The touch rule (briefs.signals) leaves machine opens out; the brief says how many it left out.
    machine = [MachineOpen(a, rule, why) for a, rule, why in machine_opens(acts, machine_rule(data.triage))]
    left_out = {id(m.activity) for m in machine}
    human = [a for a in acts if id(a) not in left_out] if machine else acts
    touch_times = touches(touch_rows(human, OFF) + data.older_touch_rows)
    if data.older_touches:
        touch_times += [data.older_first_touch or min(touch_times, default=now)] * data.older_touches
    state = customer_state.assess(lead, touch_times, now, rules)
    life = lifecycle.assess(lead, acts, data.notes, touch_times, now, renewal_window_days=rules.renewal_window_days,
                            quiet_days=rules.reengage_quiet_days,
                            unhappy_label=state.score_label if state.unhappy else None,
                            competitor_names=data.triage.competitor_names)
    if life.win_back:  # a former customer's touches and readiness count from when they came back
        touch_times = [t for t in touch_times if t >= life.win_back.came_back_at]
    split = TouchSplit(tuple(human), tuple(machine), tuple(touch_times))
    ready = readiness_mod.assess(touch_times, rules, asked_for_sales=bool(hand_form) or (q is not None and q.reason == "hand_raiser"),
                                 machine_opens=split.machine_opens)
    flags = data.flags if data.flags is not None else tuple(address_flags(lead, data.triage)) if data.triage.enabled else ()

    content_lines, content = _content_lines(acts, now, limit)
    event_lines, webinars = _event_lines(acts, now, limit)
    email_lines, clicked = _email_lines(human, now, limit)  # a machine's open is not "opened"
    page_lines, notable_pages, pricing = _page_lines(acts, now, rules)
    engagement = content_lines + event_lines + email_lines + page_lines + _other_lines(acts, now, rules, limit)

    summary = _summary(ready, acts, split)
    first, last = ready.first_touch, ready.last_touch
    engagement_summary = summary
    if first and last:
        engagement_summary += f" · first touch {day(first)} · last touch {ago(last, now)}"

    warning, customer_lines = _customer_lines(state, lead)
    if life.at_risk:
        ready = replace(ready, label="Renewal at risk: buyer readiness does not apply")
        warning = lifecycle.at_risk_warning(life.at_risk)
        customer_lines = [line for line in customer_lines if "cross-sell" not in line]
    if life.renewal:
        customer_lines.insert(1, lifecycle.renewal_line(life.renewal))
    if state.is_customer and lead.csm_email:
        customer_lines.insert(1, f"CSM: {lead.csm_email}" + (" (the brief is with them; the owner is copied)"
                                                             if life.at_risk else ""))
    if life.win_back:
        customer_lines = lifecycle.win_back_lines(life.win_back, now, len(touch_times))
    topics = list(OrderedDict.fromkeys(c["topic"] for c in content if c.get("topic")))[:3]
    track = talktrack.select_track(
        unhappy=state.unhappy,
        hand_raiser=(words is not None and hand_form is not None) or (q is not None and q.reason == "hand_raiser"),
        reengaged=state.reengaged is not None or (q is not None and q.reason == "re_engaged"),
        customer=state.is_customer,
        downloads=len(content),
    )
    episode = "at_risk" if life.at_risk else "win_back" if life.win_back else None
    track = episode or track
    # The lead's language picks the templates (de/, fr/, es/) and the customary greeting ("Guten Tag Herr Müller").
    locale = talktrack.locale_of(words.language if words else None)
    context: dict[str, Any] = {
        "locale": locale or "en",
        "hello": talktrack.hello(locale, first_name_case(lead.first_name), lead.last_name, _salutation(hand_form)),
        "greeting": lead.greeting_name,
        "lead": {
            "name": lead.name,
            "first_name": lead.first_name,
            "company": lead.company,
            "title": lead.title,
            "persona": lead.persona,
        },
        "reason": q.reason if q else None,
        "detail": q.detail if q else None,
        "note": q.note if q else None,
        "content": content[:3],
        "topics": topics,
        "pricing": pricing,
        "pages": notable_pages,
        "webinars": webinars,
        "emails_clicked": clicked,
        # Always every key: a hand-raiser's form may carry no comments at all (HubSpot, Segment).
        "words": {
            "quote": words.quote if words else None,
            "form": words.form if words else (hand_form.form if hand_form else None),
            "referral": words.referral if words else None,
            "need": words.need if words else None,
            "timeline": words.timeline if words else None,
            "budget": words.budget if words else None,
        },
        "customer": {
            "is_customer": state.is_customer,
            "since": lead.customer_since,
            "sentiment": state.sentiment,
            "label": state.score_label,
            "promoter": state.promoter,
            "unhappy": state.unhappy,
            "reengaged": None if not state.reengaged else {
                "quiet": duration(state.reengaged.quiet_days),
                "touches": state.reengaged.recent_touches,
                "window": duration(state.reengaged.window_days),
            },
        },
        "readiness": {"touches": ready.touches, "stage": ready.stage, "machine_opens": split.machine_opens},
        "lifecycle": lifecycle.context(life, now),
        # Triage's address flags: a personal or throwaway address, a shared inbox (the company is unverified).
        "address": {
            "personal": any(f.rule in (Rule.FLAG_FREE_MAIL, Rule.FLAG_DISPOSABLE_MAIL) for f in flags),
            "shared": any(f.rule == Rule.FLAG_ROLE_INBOX for f in flags),
        },
        # Colleagues at the account and what they looked at (None: none known): no "who else is looking".
        "committee": accounts_mod.talk_context(data.committee),
    }
    track_result = _account_track(talktrack.render(track, lead.persona, context, rules.templates_dir), data.committee)

    role = ", ".join(p for p in (lead.title, lead.company) if p)
    headline = lead.name + (f" · {role}" if role else "")
    kind = "Customer" if state.is_customer else "Former customer" if lead.former_customer else "Prospect"
    stage = stage_label(normalise_stage(lead.lifecycle_stage))
    status = [kind + (f" ({stage})" if stage and stage.lower() != kind.lower() else "")]
    if lead.lead_source:
        status.append(f"source: {plain(lead.lead_source)}")
    if lead.lead_status:
        status.append(f"CRM status: {plain(lead_status_label(lead.lead_status))}")
    status.append(f"owner {lead.owner_email}" if lead.owner_email else "no owner yet")
    if data.account_name:
        status.append(f"account: {plain(data.account_name)}")
    if q:
        # Qualified when the bot read it, triggered when the lead acted: both said when they differ.
        late = (q.qualified_at - q.triggered_at).total_seconds() > 300
        status.append(f"qualified {ago(q.qualified_at, now)}: {_detail(q.detail)}"
                      + (f", {ago(q.triggered_at, now)}" if late else ""))
    if lead.score is not None and not (q and q.reason == "score_threshold"):
        status.append(f"score {lead.score}")

    ordered = sorted(data.notes, key=lambda n: n.created_at, reverse=True)
    notes = [f"{plain(n.author)}{_role_label(n.role)} ({ago(n.created_at, now)}): “{plain(n.body)}”" for n in ordered]
    if q and q.note:
        notes.insert(0, f"From the qualification: “{plain(q.note)}”")

    urgency = None
    if q and q.reason == "hand_raiser" and not lead.is_customer:
        urgency = call_urgency(q.triggered_at, now, rules.clock or BriefClock(),
                                    words.callback if words else None, first_name_case(lead.first_name) or "They")
    icon = "⚠️" if life.at_risk else "↩️" if life.win_back else _icon(q.reason if q else None, state, ready)
    # Who gets the brief when not the owner: the author of a "talk to me before anyone calls" note, else an
    # at-risk renewal's CSM. The owner is copied.
    consult = lifecycle.consult_first(data.notes, now)
    deliver_to = deliver_why = None
    extra_flags = []
    if consult:
        who = plain(consult.author) + (f" ({note_role(consult.role)})" if note_role(consult.role) else "")
        deliver_to, deliver_why = consult.author_ref, f"{who}, who asked to be consulted before any call"
        extra_flags.append(f"Talk to {who} before any call: they asked to be consulted first.")
    elif life.at_risk and lead.csm_email:
        deliver_to, deliver_why = lead.csm_email, f"their CSM, {lead.csm_email}"
    copy_to = lead.owner_email if deliver_to and lead.owner_email and lead.owner_email != deliver_to else None
    fallback = f"{icon} {lead.name}" + (f" ({lead.company})" if lead.company else "")
    fallback += f" qualified: {q.detail}" if q else f": {ready.label}"
    return Brief(
        email=lead.email,
        icon=icon,
        headline=headline,
        status_line=" · ".join(status),
        warning=warning,
        language_line=language_line(words),
        why_now=_why_now(lead, q, acts, ready, summary, now, rules, urgency,
                     at_risk=life.at_risk is not None),
        own_words=words,
        word_facts=_word_facts(words),
        engagement=engagement,
        engagement_summary=engagement_summary,
        readiness=ready,
        touches=split,
        flags=[*extra_flags, *(f.reason for f in flags)],
        customer_lines=customer_lines,
        talk_track=track_result,
        notes=notes,
        notes_title=notes_title(ordered),
        crm_url=lead.crm_url,
        qualification=q,
        fallback=fallback,
        account=data.committee,
        episode=episode,
        deliver_to=deliver_to,
        copy_to=copy_to,
        deliver_why=deliver_why,
        notes_through=max((n.id for n in data.notes if n.id is not None), default=0),
    )


def _account_track(track: TalkTrack, committee: accounts_mod.Committee | None) -> TalkTrack:
    """A committee's security review and integration questions are the next steps."""
    if committee is None or not committee.next_steps:
        return track
    # The question naming colleagues first, then the security review and integration questions, then the rest.
    names = [p.name.split()[0] for p in committee.people if p.lead_id != committee.lead_id]
    about = [q for q in track.questions if any(n in q for n in names)]
    rest = [q for q in track.questions if q not in about]
    questions = about + [s for s in committee.next_steps[1:] if s not in about] + rest
    return replace(track, next_step=committee.next_steps[0], questions=questions[:talktrack.MAX_QUESTIONS])
