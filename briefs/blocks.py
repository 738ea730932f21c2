"""Brief -> Slack Block Kit. Every text is escaped for mrkdwn and sized to Block Kit's limits."""

from __future__ import annotations

from briefs.markup import escape_mrkdwn, fit_mrkdwn, plain, shorten, to_mrkdwn, to_text
from briefs.model import Brief

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_CONTEXT = 2000
MAX_FALLBACK = 3000
MAX_BUTTON_TEXT = 75
MAX_URL = 3000


def _section(title: str, lines: list[str]) -> dict:
    """A section with a bold title; lines that do not fit become an '…and N more' line."""
    head = f"*{title}*\n"
    body: list[str] = []
    used = len(head)
    for i, line in enumerate(lines):
        rendered = fit_mrkdwn(line, MAX_SECTION - len(head))
        rest = len(lines) - i - 1
        reserve = len(f"\n…and {rest} more") if rest else 0
        if used + len(rendered) + 1 + reserve > MAX_SECTION:
            more = f"…and {len(lines) - i} more"
            if used + len(more) + 1 <= MAX_SECTION:
                body.append(more)
            break
        body.append(rendered)
        used += len(rendered) + 1
    return {"type": "section", "text": {"type": "mrkdwn", "text": head + "\n".join(body)}}


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() if line.strip()) or "> "


def to_blocks(brief: Brief) -> dict:
    blocks: list[dict] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": shorten(to_text(f"{brief.icon} {brief.headline}"), MAX_HEADER), "emoji": True},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": fit_mrkdwn(brief.status_line, MAX_CONTEXT)}]},
    ]
    if brief.warning:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*" + fit_mrkdwn(brief.warning, MAX_SECTION - 2) + "*"}})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": fit_mrkdwn("*Why now.* ", 20) + fit_mrkdwn(brief.why_now, MAX_SECTION - 20)}})
    if brief.own_words:
        words = brief.own_words
        lines = []
        if words.quote:
            lines.append(_quote(escape_mrkdwn(shorten(plain(words.quote), 1500))))
        lines += [f"• *{f.label}:* " + to_mrkdwn(shorten(plain(f.text), 300)) for f in brief.word_facts]
        title = f"In their own words ({plain(words.form)})" if words.form else "In their own words"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": fit_mrkdwn(f"*{escape_mrkdwn(shorten(title, 200))}*", 300) + "\n" + "\n".join(lines)[: MAX_SECTION - 310]}})
    engagement = [f"• {line}" for line in brief.engagement]
    engagement += [brief.engagement_summary, brief.readiness.label]
    blocks.append(_section("What they engaged with", engagement))
    if brief.customer_lines:
        blocks.append(_section("Customer", [f"• {line}" for line in brief.customer_lines]))
    track = brief.talk_track
    lines = []
    if track.opener:
        lines.append(_quote(fit_mrkdwn(track.opener, 1200)))
    lines += [f"• {fit_mrkdwn(q, 500)}" for q in track.questions]
    if track.next_step:
        lines.append(f"• *Next step:* {fit_mrkdwn(track.next_step, 500)}")
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Talk track*\n" + "\n".join(lines)}})
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
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": fit_mrkdwn(footer, MAX_CONTEXT)}]})
    return {"text": fit_mrkdwn(brief.fallback, MAX_FALLBACK), "blocks": blocks[:MAX_BLOCKS]}
