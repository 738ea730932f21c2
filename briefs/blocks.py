"""Brief -> Slack Block Kit. Every text is escaped for mrkdwn and sized to Block Kit's limits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from briefs.markup import escape_mrkdwn, fit_mrkdwn, plain, shorten, to_text
from briefs.model import Brief
from briefs.sla import human_minutes

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_CONTEXT = 2000
MAX_FALLBACK = 3000
MAX_BUTTON_TEXT = 75
MAX_URL = 3000


def mrkdwn(text: str) -> dict:
    """A mrkdwn text object. verbatim: Slack must not auto-link URLs, channel names or @mentions typed as
    plain text; only the `<...>` tokens we write ourselves are parsed, and lead text can hold none."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(title: str, lines: list[str]) -> dict:
    """A section with a bold title; lines that do not fit become an '…and N more' line."""
    return _fitted(f"*{title}*\n", [fit_mrkdwn(line, MAX_SECTION - len(title) - 3) for line in lines])


def _fitted(head: str, rendered_lines: list[str]) -> dict:
    """A section of already-rendered mrkdwn lines under `head`; whole lines that do not fit are counted."""
    lines = rendered_lines
    body: list[str] = []
    used = len(head)
    for i, rendered in enumerate(lines):
        rest = len(lines) - i - 1
        reserve = len(f"\n…and {rest} more") if rest else 0
        if used + len(rendered) + 1 + reserve > MAX_SECTION:
            more = f"…and {len(lines) - i} more"
            if used + len(more) + 1 <= MAX_SECTION:
                body.append(more)
            break
        body.append(rendered)
        used += len(rendered) + 1
    return {"type": "section", "text": mrkdwn(head + "\n".join(body))}


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() if line.strip()) or "> "


def _own_words(brief: Brief) -> dict:
    words = brief.own_words
    title = f"In their own words ({plain(words.form)})" if words.form else "In their own words"
    lines = []
    if words.quote:
        # The lead's line breaks are kept, each line quoted; the whole quote is at most 1,500 characters.
        lines += ["> " + line for line in fit_mrkdwn(plain(words.quote), 1500, lines=True).splitlines() if line.strip()]
    lines += [f"• *{escape_mrkdwn(f.label)}:* " + fit_mrkdwn(plain(f.text), 600) for f in brief.word_facts]
    return _fitted("*" + fit_mrkdwn(title, 290) + "*\n", lines)


def to_blocks(brief: Brief) -> dict:
    blocks: list[dict] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": shorten(to_text(f"{brief.icon} {brief.headline}"), MAX_HEADER), "emoji": True},
        },
        {"type": "context", "elements": [mrkdwn(fit_mrkdwn(brief.status_line, MAX_CONTEXT))]},
    ]
    if brief.warning:
        blocks.append({"type": "section", "text": mrkdwn("*" + fit_mrkdwn(brief.warning, MAX_SECTION - 2) + "*")})
    blocks.append({"type": "section", "text": mrkdwn("*Why now.* " + fit_mrkdwn(brief.why_now, MAX_SECTION - 20))})
    if brief.own_words:
        blocks.append(_own_words(brief))
    engagement = [f"• {line}" for line in brief.engagement]
    engagement += [brief.engagement_summary, brief.readiness.label]
    blocks.append(_section("What they engaged with", engagement))
    if brief.customer_lines:
        blocks.append(_section("Customer", [f"• {line}" for line in brief.customer_lines]))
    track = brief.talk_track
    lines = []
    # At most 1,000 + 3 × 400 + 400 characters plus bullets: always within a section's 3,000.
    if track.opener:
        lines.append(_quote(fit_mrkdwn(track.opener, 1000)))
    lines += [f"• {fit_mrkdwn(q, 400)}" for q in track.questions[:3]]
    if track.next_step:
        lines.append(f"• *Next step:* {fit_mrkdwn(track.next_step, 400)}")
    blocks.append({"type": "section", "text": mrkdwn("*Talk track*\n" + "\n".join(lines))})
    if brief.notes:
        blocks.append(_section("Notes from marketing", [f"• {n}" for n in brief.notes]))
    if brief.crm_url and len(brief.crm_url) <= MAX_URL:
        blocks.append({
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
    blocks.append({"type": "context", "elements": [mrkdwn(fit_mrkdwn(footer, MAX_CONTEXT))]})
    return {"text": fit_mrkdwn(brief.fallback, MAX_FALLBACK), "blocks": blocks[:MAX_BLOCKS]}


# --- Delivered briefs: queue notice, who did what, and the buttons ------------------------------

ACTION_CLAIM = "lead_claim"
ACTION_CONTACTED = "lead_contacted"
ACTION_NOT_A_FIT = "lead_not_a_fit"
ACTION_OPEN_CRM = "open_crm"
ACTION_OPEN_BRIEF = "lead_open"
ACTION_SNOOZE = "lead_snooze"
ACTION_REASSIGN = "lead_reassign"
SNOOZE_CHOICES = (("1h", "1 hour"), ("morning", "Tomorrow morning"))
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


@dataclass(frozen=True)
class FollowUp:
    qualification_id: int
    status: str = "open"
    queue_reason: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    contacted_by: str | None = None
    contacted_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    closed_reason: str | None = None
    crm_url: str | None = None
    qualified_at: datetime | None = None
    # Follow-through: the speed-to-lead clock, snooze and reassignment.
    rep_user: str | None = None
    sla_due_at: datetime | None = None
    sla_state: str | None = None  # running, reminded, escalated, met
    sla_minutes: int | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    reassigned_by: str | None = None
    reassigned_at: datetime | None = None


def _mention(user_id: str | None) -> str:
    # Only ids Slack gave us become mentions; anything else is shown as text.
    return f"<@{user_id}>" if user_id and _USER.match(user_id) else fit_mrkdwn(plain(user_id) or "someone", 200)


def _clock(when: datetime | None) -> str:
    return f"<!date^{int(when.timestamp())}^{{time}} {{date_short_pretty}}|{when:%H:%M %b %d} UTC>" if when else ""


def _minutes(n: int) -> str:
    return f"{n} min" if n < 60 else (f"{n // 60} h" + (f" {n % 60} min" if n % 60 else ""))


def _sla_line(f: FollowUp) -> str | None:
    """How long ago the lead qualified (Slack shows it in the reader's own time) and where the clock stands."""
    if not f.qualified_at:
        return None
    parts = [f"⏱️ Qualified {_clock(f.qualified_at)}"]
    if f.status in ("not_a_fit", "closed") or f.contacted_at:
        return parts[0]
    if f.snoozed_until:
        parts.append(f"😴 snoozed until {_clock(f.snoozed_until)} by {_mention(f.snoozed_by)}")
    elif f.sla_state in ("reminded", "escalated") and not f.claimed_by:
        goal = f" ({_minutes(f.sla_minutes)} goal)" if f.sla_minutes else ""
        parts.append(f"🔴 *not called in time*{goal}" + (": the team queue was asked" if f.sla_state == "escalated" else ""))
    elif f.sla_due_at and not f.claimed_by:
        goal = f" ({_minutes(f.sla_minutes)} goal)" if f.sla_minutes else ""
        parts.append(f"call by {_clock(f.sla_due_at)}{goal}")
    return " · ".join(parts)


def _after(f: FollowUp, when: datetime | None) -> str:
    """Speed to lead, in so many words: how long after qualifying the lead was picked up."""
    if not f.qualified_at or not when or when < f.qualified_at:
        return ""
    return f", {human_minutes((when - f.qualified_at).total_seconds() / 60)} after it qualified"


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    b = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, "value": value}
    if style:
        b["style"] = style
    return b


def followup_blocks(f: FollowUp) -> list[dict]:
    blocks: list[dict] = []
    done = []
    if f.claimed_by:
        done.append(f"✋ Claimed by {_mention(f.claimed_by)} {_clock(f.claimed_at)}{_after(f, f.claimed_at)}")
    if f.contacted_by:
        done.append(f"📞 Contacted by {_mention(f.contacted_by)} {_clock(f.contacted_at)}{_after(f, f.contacted_at)}")
    if f.status == "not_a_fit":
        reason = dict(NOT_A_FIT_REASONS).get(f.closed_reason or "", None) or fit_mrkdwn(plain(f.closed_reason), 600)
        done.append(f"🚫 Not a fit ({reason}), marked by {_mention(f.closed_by)} {_clock(f.closed_at)}")
    if f.reassigned_by and f.rep_user:
        done.append(f"➡️ Reassigned to {_mention(f.rep_user)} by {_mention(f.reassigned_by)} {_clock(f.reassigned_at)}")
    sla = _sla_line(f)
    if sla:
        done.insert(0, sla)
    if done:
        blocks.append({"type": "context", "elements": [mrkdwn(fit_mrkdwn_safe(" · ".join(done)))]})
    value = str(f.qualification_id)
    buttons = []
    open_ = f.status not in ("not_a_fit", "closed")
    if open_ and not f.claimed_by:
        buttons.append(_button("Claim", ACTION_CLAIM, value, "primary"))
    if open_ and not f.contacted_at:
        buttons.append(_button("Contacted", ACTION_CONTACTED, value, None if not f.claimed_by else "primary"))
    if open_ and not f.contacted_at:
        buttons.append({
            "type": "static_select", "action_id": ACTION_SNOOZE,
            "placeholder": {"type": "plain_text", "text": "Snooze"},
            "options": [{"text": {"type": "plain_text", "text": label}, "value": f"{code}:{value}"}
                        for code, label in SNOOZE_CHOICES],
        })
    if open_:
        buttons.append({"type": "users_select", "action_id": ACTION_REASSIGN,
                        "placeholder": {"type": "plain_text", "text": "Reassign"}})
        buttons.append(_button("Not a fit", ACTION_NOT_A_FIT, value))
    if f.crm_url and len(f.crm_url) <= MAX_URL:
        buttons.append({"type": "button", "action_id": ACTION_OPEN_CRM, "text": {"type": "plain_text", "text": "Open in CRM ↗"},
                        "url": f.crm_url})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"followup_{f.qualification_id}", "elements": buttons})
    return blocks


def fit_mrkdwn_safe(text: str) -> str:
    """Our own follow-up line (mentions, dates and already-escaped names) kept within a context's limit."""
    return text if len(text) <= MAX_CONTEXT else text[: MAX_CONTEXT - 1] + "…"


def delivered(payload: dict, f: FollowUp) -> dict:
    """The stored brief with the queue notice up top and the follow-up state and buttons below."""
    base = [b for b in payload["blocks"] if b.get("block_id") != "lead_links"]
    head, rest = base[:2], base[2:]
    notice = []
    if f.queue_reason:
        text = f"📥 *Unassigned queue:* {fit_mrkdwn(plain(f.queue_reason), 1000)}. Claim it and call."
        notice.append({"type": "section", "text": mrkdwn(text)})
    footer = rest[-1:] if rest and rest[-1]["type"] == "context" else []
    body = rest[: len(rest) - len(footer)]
    blocks = head + notice + body + followup_blocks(f) + footer
    return {"text": payload["text"], "blocks": blocks[:MAX_BLOCKS]}


def not_a_fit_view(qualification_id: int, channel: str | None, ts: str | None, lead_name: str) -> dict:
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


def search_blocks(query: str, matches: list) -> dict:
    """Up to ten matches, each with a button that opens its brief."""
    q = fit_mrkdwn(plain(query), 500)
    if not matches:
        return {"text": f"No lead matches {q}", "blocks": []}
    blocks: list[dict] = [{"type": "section", "text": mrkdwn(f"*{len(matches)} lead{'s' if len(matches) != 1 else ''} matching “{q}”*")}]
    for m in matches[:10]:
        role = ", ".join(p for p in (m.title, m.company) if p)
        line = f"*{fit_mrkdwn(plain(m.name), 750)}*" + (f" · {fit_mrkdwn(plain(role), 1500)}" if role else "")
        line += f"\n{fit_mrkdwn(plain(m.email), 600)}"
        blocks.append({
            "type": "section",
            "text": mrkdwn(line),
            "accessory": _button("Open brief", ACTION_OPEN_BRIEF, m.email),
        })
    return {"text": f"{len(matches)} leads matching {q}", "blocks": blocks}
