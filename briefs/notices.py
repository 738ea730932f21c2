"""Triage notices: what marketing ops (do not contact) or a destination (not a buyer) is told instead of a rep
being paged, in Block Kit and plain text. Pure: a triage result in, a message out.

Everything from the lead (their name, their words, the rule's evidence) is data: escaped for mrkdwn, never
markup, and cut to Block Kit's limits. Every notice carries "This is a real lead" (ACTION_OVERRIDE), whose
value is the qualification's id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from briefs.blocks import (
    MAX_CONTEXT,
    MAX_FALLBACK,
    MAX_HEADER,
    MAX_SECTION,
    Block,
    Cut,
    Message,
    button,
    mention,
    mrkdwn,
)
from briefs.cleaning import clean
from briefs.markup import day, fit_mrkdwn, plain, shorten, terminal_safe
from briefs.model import Brief
from briefs.signals import ActivityView, LeadView
from briefs.triage import FORM_TEXT_KEYS, Category, Delivery, TriageResult

ACTION_OVERRIDE = "triage_override"
OVERRIDE_LABEL = "This is a real lead"
NOTICE_ACTIONS = "triage_actions"
QUOTE_LIMIT = 1500  # the lead's own words, before escaping

CATEGORY_WORDS = {
    Category.STUDENT_OR_JOBSEEKER: "a student or job-seeker",
    Category.VENDOR_PITCH: "a vendor or agency pitching us",
    Category.COMPETITOR: "a competitor",
}


def _who(lead: LeadView) -> str:
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    parts = [name or lead.email]
    if name:
        parts.append(lead.email)
    if lead.title:
        parts.append(lead.title)
    if lead.company:
        parts.append(lead.company)
    return " · ".join(plain(p) for p in parts)


def _headline(result: TriageResult) -> str:
    if result.delivery is Delivery.CLOSE:
        return "🚫 Closed as do not contact: no rep was paged"
    category = result.category
    what = CATEGORY_WORDS.get(category, "not a buyer") if category else "not a buyer"
    return f"↪️ Not a buyer ({what}): no rep was paged"


def _quote(words: str) -> str:
    """The lead's words as a mrkdwn quote, escaped and shortened before quoting (never cut inside an escape)."""
    return Cut(plain(words).strip(), QUOTE_LIMIT, quote=True).render(MAX_SECTION - 40) or "> "


def their_words(result: TriageResult, activities: Sequence[ActivityView]) -> str | None:
    """The whole form text the deciding rule read (its evidence is only the phrase that matched)."""
    at = result.finding.at if result.finding else None
    if at is None:
        return None
    for a in activities:
        if a.kind == "form_submit" and a.occurred_at == at:
            text = (clean(a.comments).text if a.comments else None) or next(
                (str(v) for k, v in (a.properties or {}).items()
                 if k.lower() in FORM_TEXT_KEYS and isinstance(v, str) and v.strip()), None)
            if text and text.strip():
                return text
    return None


def notice(qualification_id: int, lead: LeadView, result: TriageResult, words: str | None = None) -> Message:
    """The notice of a closed (do not contact) or routed (not a buyer) lead, with its reason in words.
    words: the lead's own words behind the verdict (their_words), else the rule's evidence is quoted."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(_headline(result), MAX_HEADER)}},
        {"type": "section", "block_id": "triage_lead", "text": mrkdwn(fit_mrkdwn(_who(lead), MAX_SECTION))},
        {"type": "section", "block_id": "triage_reason",
         "text": mrkdwn("*Why:* " + fit_mrkdwn(result.reason or "", MAX_SECTION - 20))},
    ]
    evidence = words or (result.finding.evidence if result.finding else None)
    if evidence and evidence.strip():
        blocks.append({"type": "section", "block_id": "triage_words",
                       "text": mrkdwn("*In their words:*\n" + _quote(evidence))})
    if result.delivery is Delivery.CLOSE and result.suppression and result.suppression.count:
        blocks.append({"type": "section", "block_id": "triage_suppression",
                       "text": mrkdwn("⚠️ " + fit_mrkdwn(result.suppression.sentence(), MAX_SECTION - 10))})
    after = "No rep brief, no SLA, no reminders." if result.delivery is Delivery.CLOSE else \
        "No SLA, no reminders; counted as an automatic \"not a fit\"."
    blocks.append({"type": "context", "elements": [mrkdwn(fit_mrkdwn(f"{after} Rule: {result.rule}", MAX_CONTEXT))]})
    blocks.append({"type": "actions", "block_id": NOTICE_ACTIONS,
                   "elements": [button(OVERRIDE_LABEL, ACTION_OVERRIDE, str(qualification_id), "primary")]})
    return {"text": shorten(terminal_safe(notice_text(lead, result, words)).replace("\n", " "), MAX_FALLBACK),
            "blocks": blocks}


def notice_text(lead: LeadView, result: TriageResult, words: str | None = None) -> str:
    """The notice as plain text (the terminal sink, the fallback text)."""
    lines = [_headline(result), _who(lead), f"Why: {plain(result.reason)}"]
    evidence = words or (result.finding.evidence if result.finding else None)
    if evidence and evidence.strip():
        lines.append(f"In their words: “{shorten(plain(evidence).strip(), 300)}”")
    if result.delivery is Delivery.CLOSE and result.suppression and result.suppression.count:
        lines.append(result.suppression.sentence())
    return terminal_safe("\n".join(lines))


def overridden(payload: Message, user_id: str, at: datetime) -> Message:
    """The notice once someone said it is a real lead: the button gives way to who did, and when."""
    line = f"✅ {mention(user_id)} said this is a real lead on {day(at)}: it was briefed and routed as usual."
    blocks = [b for b in payload.get("blocks") or [] if b.get("block_id") != NOTICE_ACTIONS]
    blocks.append({"type": "section", "block_id": "triage_overridden", "text": mrkdwn(line)})
    return {"text": shorten(f"{payload.get('text') or ''} Overridden: a real lead.", MAX_FALLBACK), "blocks": blocks}


# --- a copy for the owner of a brief that went to someone else --------------------------------------------------

def _copy_why(brief: Brief) -> str:
    what = "An at-risk renewal brief" if brief.episode == "at_risk" else "This lead's brief"
    return f"{what} went to {brief.deliver_why or brief.deliver_to}, who leads on this. Talk to them before any call."


def copy_text(brief: Brief) -> str:
    """The owner's copy of a brief that went to the customer's CSM (an at-risk renewal), as plain text."""
    lines = [f"📋 Copy: {plain(brief.headline)}", _copy_why(brief)]
    if brief.warning:
        lines.append(plain(brief.warning))
    lines.append(f"The whole brief: /lead {brief.email}")
    return terminal_safe("\n".join(lines))


def copy_message(brief: Brief) -> Message:
    blocks: list[Block] = [
        {"type": "section", "block_id": "copy_head", "text": mrkdwn(
            fit_mrkdwn(f"📋 *Copy:* {plain(brief.headline)}", MAX_SECTION))},
        {"type": "section", "block_id": "copy_why", "text": mrkdwn(fit_mrkdwn(_copy_why(brief), MAX_SECTION))},
    ]
    if brief.warning:
        blocks.append({"type": "section", "block_id": "copy_risk",
                       "text": mrkdwn(fit_mrkdwn(plain(brief.warning), MAX_SECTION))})
    blocks.append({"type": "context", "elements": [mrkdwn(fit_mrkdwn(
        f"You own the lead and are copied; no SLA runs for you. The whole brief: /lead {brief.email}", MAX_CONTEXT))]})
    return {"text": shorten(copy_text(brief).replace("\n", " "), MAX_FALLBACK), "blocks": blocks}
