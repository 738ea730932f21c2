"""Brief -> terminal text, from the same model as the Slack blocks."""

from __future__ import annotations

import textwrap

from briefs.markup import plain, terminal_safe, to_text
from briefs.model import Brief

WIDTH = 100


def _wrap(text: str, indent: str = "", first: str | None = None) -> str:
    return textwrap.fill(
        to_text(text), WIDTH, initial_indent=first if first is not None else indent, subsequent_indent=indent,
        break_long_words=False, break_on_hyphens=False,
    )


def to_text_brief(brief: Brief) -> str:
    out = [to_text(f"{brief.icon} {brief.headline}"), _wrap(brief.status_line)]
    if brief.language_line:
        out.insert(1, _wrap(brief.language_line))
    if brief.warning:
        out += ["", _wrap(brief.warning)]
    if brief.flags:
        out += [""] + [_wrap(f"⚠️ {plain(flag)}", "   ") for flag in brief.flags]
    out += ["", _wrap("Why now. " + brief.why_now)]
    if brief.own_words:
        w = brief.own_words
        out += ["", to_text(plain(w.title))]
        if w.message:
            # The terminal has room: the whole cleaned message, not the quote cut for Slack.
            out += [_wrap(f"“{plain(w.message)}”", "  > ", "  > ")]
        out += [_wrap(f"{f.label}: {plain(f.text)}", "    ", "  • ") for f in brief.word_facts]
    out += ["", "What they engaged with"]
    out += [_wrap(line, "    ", "  • ") for line in brief.engagement]
    out += [_wrap(brief.engagement_summary, "  "), _wrap(brief.readiness.label, "  ")]
    if brief.customer_lines:
        out += ["", "Customer"] + [_wrap(line, "    ", "  • ") for line in brief.customer_lines]
    if brief.account:
        out += ["", to_text(brief.account.headline)] + [_wrap(p.line, "    ", "  • ") for p in brief.account.people]
    t = brief.talk_track
    out += ["", "Talk track"]
    if t.opener:
        out.append(_wrap(t.opener, "  > ", "  > "))
    out += [_wrap(q, "    ", "  • ") for q in t.questions]
    if t.next_step:
        out.append(_wrap("Next step: " + t.next_step, "    ", "  • "))
    if brief.notes:
        out += ["", brief.notes_title] + [_wrap(n, "    ", "  • ") for n in brief.notes]
    if brief.crm_url:
        out += ["", to_text(f"CRM: {brief.crm_url}")]
    if t.problem:
        out += ["", to_text(f"⚠️ {t.problem}")]
    # Lead text never reaches the terminal with escape sequences or bidi overrides in it.
    return terminal_safe("\n".join(out))
