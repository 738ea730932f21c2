"""Brief -> Slack Block Kit. Every text is escaped for mrkdwn and sized to Block Kit's limits."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from briefs.accounts import AccountView
from briefs.followup import LATE, Answer, FollowUp, RepAction, SlaState, SnoozeChoice, Status, Transition
from briefs.markup import escape_mrkdwn, fit_mrkdwn, plain, shorten, split_mrkdwn, to_text
from briefs.model import Brief, note_role
from briefs.search import company_key
from briefs.sla import human_minutes

# A Block Kit block, and a message ({"text": ..., "blocks": [...]}) or view: JSON objects.
Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_CONTEXT = 2000
MAX_FALLBACK = 3000
MAX_URL = 3000


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object. verbatim: Slack must not auto-link URLs, channel names or @mentions typed as
    plain text; only the `<...>` tokens we write ourselves are parsed, and lead text can hold none."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


# Slack refuses a message whose blocks hold more than about 12,000 characters of text in all (msg_blocks_too_long;
# undocumented, from Slack engineers in slackapi/bolt-js#2509 and #2867). Every message we build keeps under
# TEXT_BUDGET, counted after escaping, cutting its least important parts first.
TEXT_BUDGET = 11_000
# A stored brief leaves room for what delivered() adds later: the queue notice, the follow-up line, the buttons.
FOLLOWUP_RESERVE = 2_000
BRIEF_BUDGET = TEXT_BUDGET - FOLLOWUP_RESERVE
# When Slack refuses a message all the same: the shorter version posted instead, at once.
SHORT_BUDGET = 4_000
MIN_CUT = 60  # a line of lead text is shortened to no fewer characters than this; below, it is left out
SHORTENED = "✂️ Shortened to fit in one Slack message."


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def text_size(blocks: object) -> int:
    """The text in blocks (or a message), all together, as Slack adds it up for msg_blocks_too_long: every
    `text` string anywhere in them. In UTF-16 units: Slack does not say whether it counts those or code
    points, so we take the larger (an emoji is one code point, two units)."""
    if isinstance(blocks, list):
        return sum(text_size(b) for b in blocks)
    if not isinstance(blocks, dict):
        return 0
    return sum(_units(v) if k == "text" and isinstance(v, str) else text_size(v) for k, v in blocks.items()
               if isinstance(v, (str, list, dict)))


@dataclass(frozen=True)
class Cut:
    """A line of lead or marketing text that may be shortened to fit: our own `lead` and `tail` (mrkdwn, kept
    whole) around `text` (a brief string), escaped within `cap` characters; `quote`: each line as `> `."""

    text: str
    cap: int
    lead: str = ""
    tail: str = ""
    quote: bool = False

    def _render(self, room: int, *, within: bool) -> str:
        if not self.quote:
            return self.lead + fit_mrkdwn(self.text, room) + self.tail
        # Quoting adds two characters a line: `within`, the text shrinks until the quote fits in `room`.
        budget = room
        while True:
            out = _quote(fit_mrkdwn(self.text, budget, lines=True))
            if not within or len(out) <= room or budget <= 1:
                return self.lead + out + self.tail
            budget = max(1, min(budget - (len(out) - room), budget * 9 // 10))

    def render(self, limit: int | None = None) -> str | None:
        """Within `limit` characters: whole if it fits, else shortened; None if too little would be left."""
        whole = self._render(self.cap, within=False)
        if limit is None or len(whole) <= limit:
            return whole
        room = min(self.cap, limit - len(self.lead) - len(self.tail))
        if room < MIN_CUT:
            return None
        out = self._render(room, within=True)
        return out if len(out) <= limit else None


def fitted(head: str, rendered_lines: Sequence[str | Cut], limit: int = MAX_SECTION) -> Block:
    """A section of mrkdwn lines under `head`, within `limit` characters: a `Cut` line that does not fit whole
    is shortened; whole lines that do not fit are counted ('…and N more')."""
    lines = rendered_lines
    body: list[str] = []
    used = len(head)
    for i, line in enumerate(lines):
        rendered = line.render() if isinstance(line, Cut) else line
        assert rendered is not None  # a Cut without a limit renders whole
        rest = len(lines) - i - 1
        reserve = len(f"\n…and {rest} more") if rest else 0
        if used + len(rendered) + 1 + reserve > limit:
            short = line.render(limit - used - 1 - reserve) if isinstance(line, Cut) else None
            if short is not None:
                body.append(short)
                if rest:
                    body.append(f"…and {rest} more")
                break
            more = f"…and {len(lines) - i} more"
            if used + len(more) + 1 <= limit:
                body.append(more)
            break
        body.append(rendered)
        used += len(rendered) + 1
    return {"type": "section", "text": mrkdwn(head + "\n".join(body))}


@dataclass(frozen=True)
class Part:
    """Blocks the budget may cut: `render(limit)` gives them within `limit` characters of text (fewer lines,
    shorter ones), or [] to leave them out. A lower `rank` is cut first."""

    rank: int
    render: Callable[[int], list[Block]]
    limit: int = MAX_SECTION


def fit_total(parts: Sequence[Part | Block], budget: int) -> list[Block]:
    """The blocks of `parts` (a Part, or a block dict that is kept as it is) with at most `budget` characters
    of text in all (text_size): the lowest-ranked parts are cut first, later ones before earlier ones."""
    shown = [p.render(p.limit) if isinstance(p, Part) else [p] for p in parts]
    sizes = [text_size(s) for s in shown]
    over = sum(sizes) - budget
    cuttable = {i: p for i, p in enumerate(parts) if isinstance(p, Part)}
    for i in sorted(cuttable, key=lambda i: (cuttable[i].rank, -i)):
        limit = sizes[i]
        while over > 0 and shown[i]:
            # Exactly what is needed first; then (text_size counts UTF-16 units) a little more each time.
            limit = limit - over if limit == sizes[i] else min(limit - over, limit * 19 // 20)
            shown[i] = cuttable[i].render(limit) if limit > 0 else []
            size = text_size(shown[i])
            over += size - sizes[i]
            sizes[i] = size
        if over <= 0:
            break
    return [b for blocks in shown for b in blocks]


def _section_part(rank: int, block_id: str, head: str, lines: Sequence[str | Cut]) -> Part:
    def render(limit: int) -> list[Block]:
        if limit < len(head) + MIN_CUT:
            return []
        return [{"type": "section", "block_id": block_id, **fitted(head, lines, min(limit, MAX_SECTION))}]

    return Part(rank, render)


def _line_part(rank: int, block_id: str, kind: str, line: Cut) -> Part:
    """One section or context of one line of text."""
    def render(limit: int) -> list[Block]:
        text = line.render(min(limit, MAX_SECTION if kind == "section" else MAX_CONTEXT))
        if text is None:
            return []
        if kind == "section":
            return [{"type": "section", "block_id": block_id, "text": mrkdwn(text)}]
        return [{"type": "context", "block_id": block_id, "elements": [mrkdwn(text)]}]

    return Part(rank, render)


def _lines_part(block: Block, rank: int) -> Part:
    """An already-rendered block the budget may cut: a section loses whole lines from its end (its first line,
    the title, stays) and is counted ('…and N more'); any other block is kept whole or left out."""
    def render(limit: int) -> list[Block]:
        if text_size(block) <= limit:
            return [block]
        text = block.get("text", {}).get("text") if block["type"] == "section" else None
        if not isinstance(text, str) or "\n" not in text:
            return []
        head, *lines = text.split("\n")
        dropped = 0
        if lines and (m := _MORE.match(lines[-1])):
            dropped, lines = int(m.group(1)), lines[:-1]
        while lines:
            dropped += 1
            lines.pop()
            if not lines:
                break
            out = "\n".join([head, *lines, f"…and {dropped} more"])
            if _units(out) + text_size({k: v for k, v in block.items() if k != "text"}) <= limit:
                return [{**block, "text": {**block["text"], "text": out}}]
        return []

    return Part(rank, render)


_MORE = re.compile(r"^…and (\d+) more$")
# Which parts of a stored brief go first when the follow-up, or Slack, needs the room: the lowest.
BRIEF_RANKS = {"brief_notes": 10, "brief_engagement": 20, "brief_words": 30, "brief_customer": 40, "brief_account": 45,
               "brief_talk": 50, "brief_status": 60, "brief_flags": 65, "brief_warning": 70, "brief_why": 80,
               "brief_footer": 90, "brief_language": 85}


def shrink(message: Message, budget: int = SHORT_BUDGET) -> Message:
    """An already-built message cut to half its text or `budget`, whichever is less, for when Slack refuses it
    all the same (it counts differently from us after all), saying so. A brief loses its parts in BRIEF_RANKS
    order (the queue notice and the follow-up state stay); any other message loses sections and contexts from
    its end, and keeps at least its fallback text. Headers and buttons stay."""
    note = {"type": "context", "elements": [mrkdwn(SHORTENED)]}
    tagged = any(b.get("block_id") in BRIEF_RANKS for b in message["blocks"])
    parts: list[Part | Block] = []
    for b in message["blocks"]:
        rank = BRIEF_RANKS.get(b.get("block_id", "")) if tagged else 0 if b["type"] in ("section", "context") else None
        parts.append(b if rank is None else _lines_part(b, rank))
    blocks = fit_total(parts, min(budget, text_size(message["blocks"]) // 2) - text_size(note))
    if not any(b["type"] in ("section", "header") for b in blocks) and message.get("text"):
        # Nothing left to read: the message's fallback text (ours, escaped, within 3,000) says it instead.
        return {**message, "blocks": [{"type": "section", "text": mrkdwn(message["text"][:MAX_SECTION])}, *blocks]}
    return {**message, "blocks": [*blocks, note][:MAX_BLOCKS]}


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() if line.strip()) or "> "


def _section_lines(title: str, lines: list[str]) -> list[Cut]:
    return [Cut(line, MAX_SECTION - len(title) - 3) for line in lines]


def _own_words(brief: Brief) -> Part:
    words = brief.own_words
    assert words is not None  # to_blocks asks for them only when there are some
    title = plain(words.title)
    lines: list[str | Cut] = []
    if words.quote:
        # Their own message (cleaned), cut to about 400 characters; line breaks kept, each line quoted.
        lines.append(Cut(plain(words.quote), 600, quote=True))
    lines += [Cut(plain(f.text), 600, lead=f"• *{escape_mrkdwn(f.label)}:* ") for f in brief.word_facts]
    part = _section_part(BRIEF_RANKS["brief_words"], "brief_words", "*" + fit_mrkdwn(title, 290) + "*\n", lines)
    if not full_message_wanted(words.quote, words.message):
        return part
    button = {"type": "actions", "block_id": "brief_words_more", "elements": [{
        "type": "button", "action_id": ACTION_FULL_MESSAGE, "text": {"type": "plain_text", "text": "Show full message"},
        "value": full_message_value(brief.email, words.at)}]}
    return Part(part.rank, lambda limit: (lambda blocks: [*blocks, button] if blocks else [])(part.render(limit)))


# "Show full message": the button under a quote that was cut, and the modal it opens (handlers/actions.py).
ACTION_FULL_MESSAGE = "own_words_full"
FULL_MESSAGE_TITLE = "Their message"
FULL_MESSAGE_MAX = 30_000  # characters of the message in the modal (at most 10 sections of 3,000 and a few more)


def full_message_wanted(quote: str, message: str) -> bool:
    return bool(message) and quote.strip() != message.strip()


def full_message_value(email: str, at: datetime) -> str:
    """The button's value: the lead and the form's time (a form is found again by these), within 2,000."""
    return json.dumps({"e": email[:320], "t": at.isoformat()}, separators=(",", ":"))


def read_full_message_value(value: str) -> tuple[str, datetime] | None:
    try:
        data = json.loads(value)
        return str(data["e"]), datetime.fromisoformat(str(data["t"]))
    except (ValueError, KeyError, TypeError):
        return None


def full_message_view(name: str, title: str, message: str, removed: Sequence[str]) -> Message:
    """The modal with a hand-raiser's whole message (cleaned, escaped), in sections of at most 3,000
    characters and 100 blocks, and a line saying what cleaning took out."""
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(
        "*" + fit_mrkdwn(plain(f"{name}: {title}"), 500) + "*")}]
    chunks, cut = split_mrkdwn(plain(message), MAX_SECTION, FULL_MESSAGE_MAX, lines=True)
    blocks += [{"type": "section", "text": mrkdwn(chunk)} for chunk in chunks]
    if cut:
        blocks.append({"type": "context", "elements": [mrkdwn("✂️ The rest is too long to show here.")]})
    if removed:
        blocks.append({"type": "context", "elements": [mrkdwn(
            fit_mrkdwn("Left out: " + ", ".join(removed) + ".", MAX_CONTEXT))]})
    return {"type": "modal", "title": {"type": "plain_text", "text": FULL_MESSAGE_TITLE},
            "close": {"type": "plain_text", "text": "Close"}, "blocks": blocks[:100]}


def account_part(brief: Brief) -> Part:
    """The account section (briefs/accounts.py): "*Contoso · 3 people active this week*", one line a person."""
    c = brief.account
    assert c is not None
    lines: list[str | Cut] = [Cut(p.line, 500, lead="• ") for p in c.people]
    head = "*" + fit_mrkdwn(c.headline, 290) + "*\n"
    return _section_part(BRIEF_RANKS["brief_account"], "brief_account", head, lines)


def account_blocks(view: AccountView) -> Message:
    """`/lead ACCOUNT`: the account, its owner and domains, the committee active in the window, its people."""
    facts = [f"owner {view.owner_email}" if view.owner_email else "no owner yet",
             f"{view.people} {'person' if view.people == 1 else 'people'}"]
    if view.domains:
        facts.append(", ".join(view.domains[:5]) + (f" +{len(view.domains) - 5}" if len(view.domains) > 5 else ""))
    if view.crm_id:
        facts.append(f"CRM account {view.crm_id}")
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(f"🏢 {view.name}", MAX_HEADER),
                                    "emoji": True}},
        {"type": "context", "elements": [mrkdwn(fit_mrkdwn(" · ".join(facts), MAX_CONTEXT))]},
    ]
    c = view.committee
    if c is not None:
        blocks.append(fitted("*" + fit_mrkdwn(c.headline, 290) + "*\n", [Cut(p.line, 500, lead="• ") for p in c.people]))
        if c.next_steps:
            blocks.append(fitted("*Next steps*\n", [Cut(s, 400, lead="• ") for s in c.next_steps]))
    else:
        blocks.append({"type": "section", "text": mrkdwn("Nobody at this account has been active lately.")})
    if view.listed:
        rows = [Cut(plain(p.name) + (f", {plain(p.title)}" if p.title else "") + f" · {p.email}"
                    + (f" · owner {p.owner_email}" if p.owner_email else ""), 400, lead="• ") for p in view.listed]
        blocks.append(fitted("*People*\n", rows))
    return {"text": fit_mrkdwn(f"{view.name}: {view.people} people", MAX_FALLBACK), "blocks": blocks}


def to_blocks(brief: Brief, budget: int = BRIEF_BUDGET) -> Message:
    """The brief as a message with at most `budget` characters of text (by default, room is left for the
    follow-up that delivered() adds): marketing's notes, then the activity list, then the lead's own words…
    are cut first; the header, why now, the opener and the buttons last or never."""
    parts: list[Part | Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": shorten(to_text(f"{brief.icon} {brief.headline}"), MAX_HEADER), "emoji": True},
        },
        _line_part(BRIEF_RANKS["brief_status"], "brief_status", "context", Cut(brief.status_line, MAX_CONTEXT)),
    ]
    if brief.language_line:  # "🇩🇪 Wrote in German: call in German": before anything a rep would say
        parts.insert(1, _line_part(BRIEF_RANKS["brief_language"], "brief_language", "section",
                                   Cut(brief.language_line, MAX_SECTION, lead="*", tail="*")))
    if brief.warning:
        parts.append(_line_part(BRIEF_RANKS["brief_warning"], "brief_warning", "section",
                                Cut(brief.warning, MAX_SECTION - 2, lead="*", tail="*")))
    if brief.flags:
        # Before the call: who the address belongs to (a personal or shared inbox, a CRM email opt-out).
        parts.append(_section_part(BRIEF_RANKS["brief_flags"], "brief_flags", "",
                                   [Cut(plain(flag), 600, lead="⚠️ ") for flag in brief.flags[:4]]))
    parts.append(_line_part(BRIEF_RANKS["brief_why"], "brief_why", "section",
                            Cut(brief.why_now, MAX_SECTION - 20, lead="*Why now.* ")))
    if brief.own_words:
        parts.append(_own_words(brief))
    engagement = [f"• {line}" for line in brief.engagement]
    engagement += [brief.engagement_summary, brief.readiness.label]
    title = "What they engaged with"
    parts.append(_section_part(BRIEF_RANKS["brief_engagement"], "brief_engagement", f"*{title}*\n",
                               _section_lines(title, engagement)))
    if brief.customer_lines:
        parts.append(_section_part(BRIEF_RANKS["brief_customer"], "brief_customer", "*Customer*\n",
                                   _section_lines("Customer", [f"• {line}" for line in brief.customer_lines])))
    if brief.account:
        parts.append(account_part(brief))
    track = brief.talk_track
    # At most 1,000 + 3 × 400 + 400 characters plus bullets: always within a section's 3,000. Cut from the end:
    # the next step and the questions go before the opener.
    lines: list[str | Cut] = []
    if track.opener:
        lines.append(Cut(track.opener, 1000, lead="> "))
    lines += [Cut(q, 400, lead="• ") for q in track.questions[:3]]
    if track.next_step:
        lines.append(Cut(track.next_step, 400, lead="• *Next step:* "))
    parts.append(_section_part(BRIEF_RANKS["brief_talk"], "brief_talk", "*Talk track*\n", lines))
    if brief.notes:
        parts.append(_section_part(BRIEF_RANKS["brief_notes"], "brief_notes", f"*{brief.notes_title}*\n",
                                   _section_lines(brief.notes_title, [f"• {n}" for n in brief.notes])))
    if brief.crm_url and len(brief.crm_url) <= MAX_URL:
        parts.append({
            "type": "actions",
            "block_id": "lead_links",
            "elements": [{
                "type": "button",
                "action_id": "open_crm",
                "text": {"type": "plain_text", "text": "Open in CRM ↗"},
                "url": brief.crm_url,
            }],
        })
    footer = f"{brief.email}"
    if brief.qualification and brief.qualification.id:
        footer += f" · qualification #{brief.qualification.id}"
    if track.problem:
        footer += f" · ⚠️ {track.problem}"
    parts.append(_line_part(BRIEF_RANKS["brief_footer"], "brief_footer", "context", Cut(footer, MAX_CONTEXT)))
    return {"text": fit_mrkdwn(brief.fallback, MAX_FALLBACK), "blocks": fit_total(parts, budget)[:MAX_BLOCKS]}


# --- Delivered briefs: queue notice, who did what, and the buttons ------------------------------

ACTION_OPEN_CRM = "open_crm"
ACTION_OPEN_BRIEF = "lead_open"
SNOOZE_CHOICES = ((SnoozeChoice.HOUR, "1 hour"), (SnoozeChoice.MORNING, "Tomorrow morning"))
NOT_A_FIT_VIEW = "not_a_fit_view"
NOT_A_FIT_REASONS = (
    ("no_budget", "No budget"),
    ("no_need", "No need or wrong problem"),
    ("wrong_person", "Wrong person or role"),
    ("competitor", "Competitor or partner"),
    ("student", "Student, job seeker or spam"),
    ("existing", "Already in a deal"),
    ("other", "Other"),
)
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def is_user_id(value: str | None) -> bool:
    """Whether this is a Slack user id (as Slack gave it), rather than a name or an email."""
    return bool(value and _USER.match(value))


def mention(user_id: str | None) -> str:
    """A Slack user as mrkdwn: only ids Slack gave us become mentions; anything else is shown as text."""
    return f"<@{user_id}>" if user_id and _USER.match(user_id) else fit_mrkdwn(plain(user_id) or "someone", 200)


def _clock(when: datetime | None) -> str:
    return f"<!date^{int(when.timestamp())}^{{time}} {{date_short_pretty}}|{when:%H:%M %b %d} UTC>" if when else ""


def _sla_line(f: FollowUp) -> str | None:
    """How long ago the lead qualified (Slack shows it in the reader's own time) and where the clock stands."""
    if not f.qualified_at:
        return None
    parts = [f"⏱️ Qualified {_clock(f.qualified_at)}"]
    if f.closed or f.contacted_at:
        return parts[0]
    if f.snoozed_until:
        parts.append(f"😴 snoozed until {_clock(f.snoozed_until)} by {mention(f.snoozed_by)}")
    elif f.sla_state in LATE and not f.claimed_by:
        parts.append("🔴 *not called in time*" + (": the team queue was asked" if f.sla_state == SlaState.ESCALATED else ""))
    elif f.sla_due_at and not f.claimed_by:
        parts.append(f"call by {_clock(f.sla_due_at)}")
    return " · ".join(parts)


def _after(f: FollowUp, when: datetime | None) -> str:
    """Speed to lead, in so many words: how long after qualifying the lead was picked up."""
    if not f.qualified_at or not when or when < f.qualified_at:
        return ""
    return f", {human_minutes((when - f.qualified_at).total_seconds() / 60)} after it qualified"


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    """A Block Kit button; `style`: "primary" or "danger"."""
    b: Block = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, "value": value}
    if style:
        b["style"] = style
    return b


def not_a_fit_label(reason: str | None) -> str:
    """A not-a-fit reason as shown: the label of a code from NOT_A_FIT_REASONS, else the words given (escaped)."""
    return dict(NOT_A_FIT_REASONS).get(reason or "", None) or fit_mrkdwn(plain(reason), 600)


def followup_blocks(f: FollowUp) -> list[Block]:
    blocks: list[Block] = []
    done = []
    if f.claimed_by:
        done.append(f"✋ Claimed by {mention(f.claimed_by)} {_clock(f.claimed_at)}{_after(f, f.claimed_at)}")
    if f.contacted_by:
        done.append(f"📞 Contacted by {mention(f.contacted_by)} {_clock(f.contacted_at)}{_after(f, f.contacted_at)}")
    if f.status == Status.NOT_A_FIT:
        done.append(f"🚫 Not a fit ({not_a_fit_label(f.closed_reason)}), marked by {mention(f.closed_by)} "
                    f"{_clock(f.closed_at)}")
    if f.reassigned_by and f.rep_user:
        done.append(f"➡️ Reassigned to {mention(f.rep_user)} by {mention(f.reassigned_by)} {_clock(f.reassigned_at)}")
    sla = _sla_line(f)
    if sla:
        done.insert(0, sla)
    if done:
        blocks.append({"type": "context", "elements": [mrkdwn(fit_mrkdwn_safe(" · ".join(done)))]})
    value = str(f.qualification_id)
    buttons: list[Block] = []
    open_ = not f.closed
    if open_ and not f.claimed_by:
        buttons.append(button("Claim", RepAction.CLAIM, value, "primary"))
    if open_ and not f.contacted_at:
        buttons.append(button("Contacted", RepAction.CONTACTED, value, None if not f.claimed_by else "primary"))
    if open_ and not f.contacted_at:
        buttons.append({
            "type": "static_select", "action_id": RepAction.SNOOZE,
            "placeholder": {"type": "plain_text", "text": "Snooze"},
            "options": [{"text": {"type": "plain_text", "text": label}, "value": f"{code}:{value}"}
                        for code, label in SNOOZE_CHOICES],
        })
    if open_:
        buttons.append({"type": "users_select", "action_id": RepAction.REASSIGN,
                        "placeholder": {"type": "plain_text", "text": "Reassign"}})
        buttons.append(button("Not a fit", RepAction.NOT_A_FIT, value))
    if f.crm_url and len(f.crm_url) <= MAX_URL:
        buttons.append({"type": "button", "action_id": ACTION_OPEN_CRM, "text": {"type": "plain_text", "text": "Open in CRM ↗"},
                        "url": f.crm_url})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"{FOLLOWUP_BLOCK}{f.qualification_id}", "elements": buttons})
    return blocks


# The block_id of a brief's buttons, and of an escalation's, before the qualification id: a click's block_id
# says which lead it is about.
FOLLOWUP_BLOCK = "followup_"
ESCALATION_BLOCK = "escalation_"


# --- What the clicker is told -------------------------------------------------------------------


SNOOZED_FOR = {SnoozeChoice.HOUR: "for an hour", SnoozeChoice.MORNING: "until tomorrow morning"}


def answer_text(t: Transition, clicker: str) -> str:
    """A rep action's answer, for the clicker alone (ephemeral, or on their App Home)."""
    named = mention(t.named)
    match t.answer:
        case Answer.ALREADY_CLOSED:
            return "This lead was already closed."
        case Answer.CLAIMED:
            return "It's yours. Call now: the first five minutes matter most."
        case Answer.ALREADY_CLAIMED:
            return f"Already claimed by {'you' if t.named == clicker else named}."
        case Answer.CONTACTED:
            return "First touch recorded."
        case Answer.ALREADY_CONTACTED:
            return f"First touch was already recorded by {named}."
        case Answer.NOT_A_FIT:
            return "Marked as not a fit; marketing will see your reason."
        case Answer.SNOOZED:
            return f"Snoozed {SNOOZED_FOR[t.snooze or SnoozeChoice.HOUR]}. You'll get a reminder in the thread when it ends."
        case Answer.NOTHING_TO_SNOOZE:
            return "This lead was already contacted; nothing to snooze."
        case Answer.REASSIGNED:
            return f"Reassigned to {named}; they have been told."
        case Answer.ALREADY_WITH:
            return f"It is already with {named}."


def fit_mrkdwn_safe(text: str) -> str:
    """Our own follow-up line (mentions, dates and already-escaped names) kept within a context's limit."""
    return text if len(text) <= MAX_CONTEXT else text[: MAX_CONTEXT - 1] + "…"


# A brief's anchors (block_ids given by to_blocks): the follow-up goes after its head (the header, then the
# status line) and before its footer. The header itself is found by its type: it never had a block_id.
HEAD_ANCHOR = "brief_status"
FOOTER_ANCHOR = "brief_footer"
LINKS_BLOCK = "lead_links"


def _split(blocks: list[Block]) -> tuple[list[Block], list[Block], list[Block]]:
    """A stored brief as (head, body, footer). By its anchors; a brief stored before its blocks had ids, by
    position: the first block and a context after it, and a context at the end."""
    if any(b.get("block_id") in BRIEF_RANKS for b in blocks):
        n = 1 if blocks and blocks[0]["type"] == "header" else 0
        if len(blocks) > n and blocks[n].get("block_id") == HEAD_ANCHOR:
            n += 1
        footer = 1 if len(blocks) > n and blocks[-1].get("block_id") == FOOTER_ANCHOR else 0
    else:
        n = 2 if len(blocks) > 1 and blocks[1]["type"] == "context" else 1
        footer = 1 if len(blocks) > n and blocks[-1]["type"] == "context" else 0
    return blocks[:n], blocks[n:len(blocks) - footer], blocks[len(blocks) - footer:]


def delivered(payload: Message, f: FollowUp, budget: int = TEXT_BUDGET) -> Message:
    """The stored brief with the queue notice up top and the follow-up state and buttons below, within
    `budget`: to_blocks left room for these, and if they need more the brief's least important parts go."""
    head, body, footer = _split([b for b in payload["blocks"] if b.get("block_id") != LINKS_BLOCK])
    notice: list[Block] = []
    if f.queue_reason:
        text = f"📥 *Unassigned queue:* {fit_mrkdwn(plain(f.queue_reason), 1000)}. Claim it and call."
        notice.append({"type": "section", "text": mrkdwn(text)})
    state = followup_blocks(f)
    blocks = head + notice + body + state + footer
    message = {"text": payload["text"], "blocks": blocks[:MAX_BLOCKS]}
    if text_size(message["blocks"]) <= budget:
        return message
    # Only the body is cut, by its parts' names (block_id); a brief stored before they had names, from its end.
    cut: list[Part | Block] = [
        b if b["type"] not in ("section", "context") else _lines_part(b, BRIEF_RANKS.get(b.get("block_id", ""), 0))
        for b in body]
    return {**message, "blocks": fit_total([*head, *notice, *cut, *state, *footer], budget)[:MAX_BLOCKS]}


def shortened(payload: Message, f: FollowUp) -> Message:
    """The brief for when Slack refuses it all the same (msg_blocks_too_long): cut to SHORT_BUDGET by its
    parts' ranks (the header, why now and the buttons last)."""
    return shrink(delivered(payload, f))


def not_a_fit_view(qualification_id: int, channel: str | None, ts: str | None, lead_name: str) -> Message:
    meta = json.dumps({"q": qualification_id, "channel": channel, "ts": ts})
    return {
        "type": "modal",
        "callback_id": NOT_A_FIT_VIEW,
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": "Not a fit"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": mrkdwn(f"Why is *{fit_mrkdwn(plain(lead_name), 1000)}* not a fit? Marketing sees your answer.")},
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [{"text": {"type": "plain_text", "text": label}, "value": value} for value, label in NOT_A_FIT_REASONS],
                },
            },
            {
                "type": "input",
                "block_id": "detail",
                "optional": True,
                "label": {"type": "plain_text", "text": "Anything marketing should know?"},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 1000},
            },
        ],
    }


class SearchMatch(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def company(self) -> str | None: ...
    @property
    def email(self) -> str: ...


def search_blocks(query: str, matches: Sequence[SearchMatch], at_company: Mapping[str, int] | None = None) -> Message:
    """Up to ten matches, each with a button that opens its brief, grouped by company (the company shown
    once, groups in the order of their best match). `at_company`: how many leads match at a company the
    query named (by briefs.search.company_key), for "…and 37 more at Acme Widgets"."""
    q = fit_mrkdwn(plain(query), 500)
    if not matches:
        return {"text": f"No lead matches {q}", "blocks": []}
    at_company = at_company or {}
    groups: dict[str, list[SearchMatch]] = {}
    for m in matches[:10]:
        groups.setdefault(company_key(m.company), []).append(m)
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(f"*{len(matches)} lead{'s' if len(matches) != 1 else ''} matching “{q}”*")}]
    room = TEXT_BUDGET - text_size(blocks) - 100  # and room for the "…and N more" line
    shown = 0
    for key, people in groups.items():
        company = fit_mrkdwn(plain(people[0].company), 300) if key else ""
        more = max(0, at_company.get(key, 0) - len(people)) if key else 0
        group: list[Block] = [{"type": "context", "elements": [mrkdwn(f"🏢 *{company}*")]}] if company else []
        for m in people:
            line = f"*{fit_mrkdwn(plain(m.name), 750)}*" + (f" · {fit_mrkdwn(plain(m.title), 1500)}" if m.title else "")
            if m.company and not key:  # a company name of marks only: shown on the line
                line += f" · {fit_mrkdwn(plain(m.company), 600)}"
            line += f"\n{fit_mrkdwn(plain(m.email), 600)}"
            group.append({"type": "section", "text": mrkdwn(line), "accessory": button("Open brief", ACTION_OPEN_BRIEF, m.email)})
        if more:
            group.append({"type": "context", "elements": [mrkdwn(
                f"…and {more} more at {company}: add a name to narrow it down, or see the account with "
                f"/lead account {company}")]})
        room -= text_size(group)
        if room < 0:
            break
        blocks += group
        shown += len(people)
    if shown < len(matches):
        more_text = f"…and {len(matches) - shown} more: search for more of a name or company to narrow it down."
        blocks.append({"type": "context", "elements": [mrkdwn(more_text)]})
    return {"text": f"{len(matches)} leads matching {q}", "blocks": blocks}


def note_message(user_id: str, text: str, when: datetime, role: str | None = None) -> Message:
    """A handoff note in the brief's thread: who wrote it (a Slack user id is mentioned, a name or email from
    a lead.note shown as text), their role if known, and when; then the note (escaped, its line breaks kept)
    in as many sections as it needs, within the text budget; a note cut short says so."""
    label = note_role(role)
    by = f"📝 Note from {mention(user_id)}{f' ({escape_mrkdwn(label)})' if label else ''}, {_clock(when)}"
    blocks: list[Block] = [{"type": "context", "elements": [mrkdwn(by)]}]
    room = TEXT_BUDGET - text_size(blocks) - len(SHORTENED_NOTE)
    pieces, cut = split_mrkdwn(plain(text), MAX_SECTION, room, lines=True)
    blocks += [{"type": "section", "text": mrkdwn(piece)} for piece in pieces]
    while len(blocks) > 2 and text_size(blocks) + len(SHORTENED_NOTE) > TEXT_BUDGET:  # emoji count double
        blocks.pop()
        cut = True
    if cut:
        blocks.append({"type": "context", "elements": [mrkdwn(SHORTENED_NOTE)]})
    fallback = f"📝 Note from {mention(user_id)}: “" + fit_mrkdwn(plain(text), MAX_FALLBACK - 300) + "”"
    return {"text": fallback, "blocks": blocks}


SHORTENED_NOTE = "✂️ Shortened to fit in one Slack message: the whole note is saved with the lead."
