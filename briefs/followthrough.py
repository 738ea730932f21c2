"""Follow-through after a brief is posted: the speed-to-lead SLA, thread updates, escalation, the digest and
the App Home queue. Pure policy and Block Kit builders; bot/followthrough.py runs them on a schedule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from briefs.blocks import (
    ACTION_OPEN_BRIEF,
    ESCALATION_BLOCK,
    MAX_FALLBACK,
    MAX_SECTION,
    TEXT_BUDGET,
    Block,
    Message,
    button,
    fitted,
    followup_blocks,
    mention,
    mrkdwn,
    text_size,
)
from briefs.callback import CallbackWindow
from briefs.followup import FollowUp, RepAction, SnoozeChoice, Status
from briefs.markup import ago, fit_mrkdwn, plain
from briefs.qualification import EXPLICIT_DETAIL
from briefs.rules import Rules
from briefs.signals import ActivityView, is_hand_raiser_form, is_notable_page, own_words, page_label
from briefs.sla import (
    BriefClock,
    BusinessHours,
    add_business_minutes,
    business_minutes_between,
    honour_window,
    human_minutes,
    next_morning,
    sla_label,
    zone,
)

DEFAULT_SLA_MINUTES: Mapping[str, int] = {"hand_raiser": 5, "default": 60}
ACTION_QUIET = "lead_quiet"
# Thread updates follow a brief this long; after that, a lead who comes back qualifies anew (a fresh brief).
THREAD_UPDATE_HORIZON = timedelta(days=30)
MAX_HOME_LEADS = 20
MAX_HOME_BLOCKS = 100


@dataclass(frozen=True)
class FollowUpPolicy:
    """[follow_up] in leadbrief.toml."""

    # Minutes of business time to claim or call, by qualification reason; "default" for the others.
    sla_minutes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_MINUTES))
    # After the reminder, how long before the team queue is asked to step in; by reason, default: the SLA again.
    escalate_minutes: Mapping[str, int] = field(default_factory=dict)
    hours: BusinessHours = field(default_factory=BusinessHours)
    # For the team queue, and for reps whose Slack profile has no time zone.
    timezone: str = "UTC"
    update_cooldown_minutes: int = 30
    digest_time: time = time(9, 0)

    def sla_for(self, reason: str) -> int:
        return int(self.sla_minutes.get(reason, self.sla_minutes.get("default", DEFAULT_SLA_MINUTES["default"])))

    def escalate_for(self, reason: str) -> int:
        return int(self.escalate_minutes.get(reason, self.escalate_minutes.get("default", self.sla_for(reason))))

    def zone(self, name: str | None) -> ZoneInfo:
        return zone(name, self.timezone)

    def due(self, reason: str, start: datetime, tz: ZoneInfo, callback: CallbackWindow | None = None) -> datetime:
        """When the clock runs out; a callback window the lead asked for moves it into that window (never
        before it opens), so neither the reminder nor the escalation comes before then."""
        minutes = self.sla_for(reason)
        return honour_window(add_business_minutes(start, minutes, tz, self.hours), callback, minutes)

    def brief_clock(self) -> BriefClock:
        """What the brief needs to say "Call now" only while the hand-raiser's clock runs."""
        return BriefClock(self.hours, self.timezone, self.sla_for("hand_raiser"))

    def escalate_at(self, reason: str, reminded_at: datetime, tz: ZoneInfo) -> datetime:
        return add_business_minutes(reminded_at, self.escalate_for(reason), tz, self.hours)

    def waited(self, since: datetime, now: datetime, tz: ZoneInfo) -> float:
        """Business minutes from `since` to `now`."""
        return business_minutes_between(since, now, tz, self.hours)


@dataclass(frozen=True)
class LeadCard:
    """The few facts a reminder, an escalation or a digest line shows."""

    qualification_id: int
    name: str
    company: str | None
    reason: str
    detail: str | None
    email: str


def _who(card: LeadCard) -> str:
    who = f"*{fit_mrkdwn(plain(card.name), 300)}*"
    if card.company:
        who += f" ({fit_mrkdwn(plain(card.company), 300)})"
    return who


def _why(card: LeadCard) -> str:
    return fit_mrkdwn(plain(card.detail or EXPLICIT_DETAIL.get(card.reason, card.reason)), 500)


def asked_window(forms: list[ActivityView], rules: Rules, now: datetime) -> CallbackWindow | None:
    """The callback window the lead asked for in their newest hand-raiser form (OwnWords.callback), if it has
    not ended by `now`: the SLA's due time and so its reminders honour it."""
    form = max((a for a in forms if is_hand_raiser_form(a.form, rules.hand_raiser_forms)),
               key=lambda a: a.occurred_at, default=None)
    window = own_words(form).callback if form is not None else None
    return window if window is not None and window.ends > now else None


# --- Reminders and escalation ------------------------------------------------------------------------


def reminder(card: LeadCard, rep_user: str | None, waited_minutes: float, sla_minutes: int) -> Message:
    """The thread reply when the SLA runs out unclaimed."""
    who = mention(rep_user) if rep_user else "Team"
    text = (f"⏰ {who}, {_who(card)} has waited {human_minutes(waited_minutes)} with no call "
            f"(the goal is {human_minutes(sla_minutes)}). Claim it and call now, or Snooze or Reassign it. "
            "The first five minutes matter most.")
    return {"text": fit_mrkdwn(f"Reminder: {plain(card.name)} is waiting for a call", MAX_FALLBACK),
            "blocks": [{"type": "section", "text": mrkdwn(text)}]}


def snooze_over(card: LeadCard, rep_user: str | None) -> Message:
    who = mention(rep_user) if rep_user else "Team"
    text = f"⏰ {who}, the snooze on {_who(card)} is over: time to call."
    return {"text": fit_mrkdwn(f"Snooze over: {plain(card.name)}", MAX_FALLBACK),
            "blocks": [{"type": "section", "text": mrkdwn(text)}]}


def escalation(card: LeadCard, rep_user: str | None, waited_minutes: float, sla_minutes: int,
               where: str | None, claimed_by: str | None = None) -> Message:
    """Posted to the team queue when the reminder went unanswered: anyone may claim the lead."""
    lines = [f"🚨 *Nobody has called {fit_mrkdwn(plain(card.name), 300)} yet.* "
             f"Waiting {human_minutes(waited_minutes)}; the goal is {human_minutes(sla_minutes)}."]
    lines.append(f"{_who(card)}: {_why(card)}.")
    if rep_user:
        lines.append(f"It was with {mention(rep_user)}, who was reminded" + (f" in <#{where}>." if where and
                                                                              where.startswith(("C", "G")) else "."))
    blocks: list[Block] = [{"type": "section", "text": mrkdwn("\n".join(lines))}]
    if claimed_by:
        blocks.append({"type": "context", "elements": [mrkdwn(f"✋ Claimed by {mention(claimed_by)}")]})
    else:
        value = str(card.qualification_id)
        blocks.append({"type": "actions", "block_id": f"{ESCALATION_BLOCK}{card.qualification_id}", "elements": [
            button("Claim", RepAction.CLAIM, value, "primary"),
            button("Open brief", ACTION_OPEN_BRIEF, card.email[:2000]),
        ]})
    return {"text": fit_mrkdwn(f"Nobody has called {plain(card.name)} yet", MAX_FALLBACK), "blocks": blocks}


def escalation_answered(card: LeadCard, by: str, status: str) -> Message:
    what = "marked not a fit" if status == Status.NOT_A_FIT else "claimed"
    text = f"✅ {_who(card)} was {what} by {mention(by)}."
    return {"text": fit_mrkdwn(f"{plain(card.name)} was {what}", MAX_FALLBACK),
            "blocks": [{"type": "section", "text": mrkdwn(text)}]}


def passed_on(card: LeadCard, by: str, to_user: str, channel: str | None) -> Message:
    """Told to the new rep (and in the brief's thread) when a lead is reassigned."""
    where = f" in <#{channel}>" if channel and channel[:1] in ("C", "G") and channel.isalnum() else ""
    text = f"➡️ {mention(by)} passed {_who(card)} to {mention(to_user)}{where}. Claim it and call: the clock is running."
    return {"text": fit_mrkdwn(f"A lead was passed to you: {plain(card.name)}", MAX_FALLBACK),
            "blocks": [{"type": "section", "text": mrkdwn(text)}]}


# --- Thread updates ---------------------------------------------------------------------------------


# The activity kinds that may be high intent (is_high_intent says which are): storage reads these kinds for
# the checks that must not wait (a cooldown broken, a held digest released).
HOT_KINDS: tuple[str, ...] = ("form_submit", "meeting_booked")


def is_high_intent(activity: ActivityView, rules: Rules) -> bool:
    """Worth telling the rep at once, cooldown or not: they asked for sales or booked a meeting."""
    if activity.kind == "form_submit":
        return is_hand_raiser_form(activity.form, rules.hand_raiser_forms)
    return activity.kind == "meeting_booked"


def _count(label: str, n: int) -> str:
    return label if n == 1 else f"{label} ({n}×)"


def thread_update(card: LeadCard, activities: list[ActivityView], rules: Rules,
                  rep_user: str | None) -> Message | None:
    """One short reply combining what the lead did since the last one, most telling first; None if nothing
    in it is worth a rep's attention (opens and deliveries alone are not)."""
    urgent: list[str] = []
    lines: list[str] = []
    pages: Counter[str] = Counter()
    notable_pages: Counter[str] = Counter()
    clicks: Counter[str] = Counter()
    opens = 0
    for a in sorted(activities, key=lambda a: a.occurred_at):
        if a.kind == "form_submit":
            form = fit_mrkdwn(plain(a.form) or "a form", 200)
            line = f"filled in *{form}*"
            if a.comments:
                line += ": “" + fit_mrkdwn(plain(a.comments), 600) + "”"
            (urgent if is_hand_raiser_form(a.form, rules.hand_raiser_forms) else lines).append(line)
        elif a.kind == "meeting_booked":
            urgent.append("booked a meeting")
        elif a.kind == "content_download":
            lines.append(f"downloaded *{fit_mrkdwn(plain(a.title) or 'a piece of content', 200)}*")
        elif a.kind == "web_visit":
            label = page_label(a)
            (notable_pages if is_notable_page(a.url, rules.notable_pages) else pages)[label] += 1
        elif a.kind == "email_click":
            clicks[plain(a.subject) or "an email"] += 1
        elif a.kind == "email_open":
            opens += 1
        elif a.kind in ("webinar_registered", "webinar_attended", "event_attended"):
            verb = {"webinar_registered": "registered for", "webinar_attended": "attended",
                    "event_attended": "came to"}[a.kind]
            lines.append(f"{verb} *{fit_mrkdwn(plain(a.title or a.campaign) or 'an event', 200)}*")
        elif a.kind == "chat":
            lines.append("chatted with us" + (": “" + fit_mrkdwn(plain(a.comments), 400) + "”" if a.comments else ""))
        elif a.kind == "unsubscribe":
            urgent.append("unsubscribed from our emails: call, don't email")
    notable = [f"visited *{fit_mrkdwn(_count(p, n), 200)}*" for p, n in notable_pages.most_common(3)]
    if not (urgent or lines or notable or clicks):
        return None
    body = urgent + notable + lines + [f"clicked *{fit_mrkdwn(_count(s, n), 200)}*" for s, n in clicks.most_common(3)]
    others = sum(pages.values())
    if others:
        body.append(f"{others} other page view{'s' if others != 1 else ''}")
    if opens:
        body.append(f"{opens} email open{'s' if opens != 1 else ''}")
    head = ("🔥 " if urgent else "🔄 ") + f"{_who(card)} is still engaging"
    if urgent and rep_user:
        head = f"🔥 {mention(rep_user)}: {_who(card)} just raised a hand"
    section = fitted(head + ":\n", [f"• {line}" for line in body])
    return {"text": fit_mrkdwn(f"{plain(card.name)} is still engaging", MAX_FALLBACK), "blocks": [section]}


# --- Quiet mode: the daily digest ------------------------------------------------------------------


# Room kept for the closing "…and N more" line of a list that did not fit.
MORE_RESERVE = 100


def digest(cards: list[LeadCard], rep_user: str, followups: Mapping[int, FollowUp] | None = None,
           budget: int = TEXT_BUDGET) -> Message:
    """One message with each held lead, its reason and its buttons. At 50 blocks, or at `budget` characters of
    text in all, the rest are counted."""
    n = len(cards)
    head = f"☀️ *Your daily digest: {n} new lead{'s' if n != 1 else ''}* (quiet mode; hand-raisers still come at once)"
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(head)}]
    used = text_size(blocks)
    shown = 0
    for card in cards:
        state = (followups or {}).get(card.qualification_id)
        extra = followup_blocks(state) if state is not None else []
        item: list[Block] = [{"type": "section", "text": mrkdwn(f"{_who(card)}: {_why(card)}"),
                 "accessory": button("Open brief", ACTION_OPEN_BRIEF, card.email[:2000])}, *extra]
        if len(blocks) + len(item) > 49 or used + text_size(item) + MORE_RESERVE > budget:
            break
        blocks += item
        used += text_size(item)
        shown += 1
    if shown < n:
        blocks.append({"type": "context", "elements": [mrkdwn(f"…and {n - shown} more: see your App Home.")]})
    return {"text": f"Your daily digest: {n} new lead{'s' if n != 1 else ''}", "blocks": blocks}


# --- App Home ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    card: LeadCard
    qualified_at: datetime
    status: str
    sla_due_at: datetime | None
    sla_state: str | None
    snoozed_until: datetime | None
    followup: FollowUp

    def timer(self, now: datetime) -> str:
        return sla_label(self.sla_due_at, self.sla_state, self.snoozed_until, now, handled=self.status != Status.OPEN)


def mine_message(queue: list[QueueItem], now: datetime) -> Message:
    """`/lead mine`: the same queue as the App Home, one line per lead."""
    if not queue:
        return {"text": "You have no open leads right now.", "blocks": []}
    lines = []
    for item in queue[:MAX_HOME_LEADS]:
        card = item.card
        # Rendered here, part by part, so that only our own `*` makes bold.
        who = fit_mrkdwn(plain(card.name), 500) + (f" ({fit_mrkdwn(plain(card.company), 500)})" if card.company else "")
        rest = fit_mrkdwn(f"{ago(item.qualified_at, now)} · {plain(item.status)} · {plain(card.email)}", 800)
        timer = item.timer(now)
        lines.append(f"• *{who}*: {_why(card)}, {rest}" + (f" · {timer}" if timer else ""))
    title = f"Your open leads ({len(queue)})"
    return {"text": title, "blocks": [fitted(f"*{title}*\n", lines)]}


def home_view(rep_user: str, queue: list[QueueItem], summary: list[Block], now: datetime, quiet: bool) -> Message:
    """The rep's queue (newest first, SLA timers and buttons), then marketing's 30-day summary."""
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": "Your leads"}}]
    mode = ("🔕 Quiet mode: non-urgent leads come in a daily digest." if quiet
            else "🔔 Real-time: every brief is posted as soon as the lead qualifies.")
    blocks.append({"type": "section", "text": mrkdwn(mode), "accessory": button(
        "Post every brief at once" if quiet else "Switch to a daily digest", ACTION_QUIET, "off" if quiet else "on")})
    if not queue:
        blocks.append({"type": "section", "text": mrkdwn("You have no open leads right now. 🎉")})
    budget = MAX_HOME_BLOCKS - len(blocks) - len(summary) - 2
    # The same text budget as a message: Slack does not say what a view takes, and a Home is as long as one.
    room = TEXT_BUDGET - text_size(blocks) - text_size(summary) - MORE_RESERVE
    shown = 0
    for item in queue[:MAX_HOME_LEADS]:
        extra = followup_blocks(item.followup)
        if budget < 1 + len(extra):
            break
        card = item.card
        timer = item.timer(now)
        text = f"{_who(card)}: {_why(card)}\n{plain(item.status).capitalize()}"
        if timer:
            text += f" · {timer}"
        lead: list[Block] = [{"type": "section", "text": mrkdwn(text[:MAX_SECTION]),
                 "accessory": button("Open brief", ACTION_OPEN_BRIEF, card.email[:2000])}, *extra]
        if text_size(lead) > room:
            break
        blocks += lead
        room -= text_size(lead)
        budget -= 1 + len(extra)
        shown += 1
    if shown < len(queue):
        blocks.append({"type": "context", "elements": [mrkdwn(f"…and {len(queue) - shown} more open leads.")]})
    if summary:
        blocks.append({"type": "divider"})
        blocks += summary
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


def snooze_until(choice: SnoozeChoice, now: datetime, tz: ZoneInfo, hours: BusinessHours) -> datetime:
    if choice == SnoozeChoice.HOUR:
        return now + timedelta(hours=1)
    return next_morning(now, tz, hours)

