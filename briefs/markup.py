"""Brief text: one inline mark (emphasis), escaped for Slack mrkdwn or shown plain, sized to fit.

Brief strings carry emphasis as EM_OPEN ... EM_CLOSE, control characters that lead data can never
contain (ingestion strips them, and `plain` strips them again before data reaches a template).
"""

from __future__ import annotations

import re
from datetime import datetime

EM_OPEN, EM_CLOSE = "\x02", "\x03"
ELLIPSIS = "…"
_MARKS = re.compile("[\x02\x03]")


def plain(text: str | None) -> str:
    """Lead- or marketing-supplied text with any stray marks removed."""
    return _MARKS.sub("", text or "")


def em(text: str | None) -> str:
    t = plain(text).strip()
    return f"{EM_OPEN}{t}{EM_CLOSE}" if t else ""


# Lead- and marketing-supplied text never formats in Slack. mrkdwn has no escape for its emphasis
# characters, so each one a lead types becomes a look-alike that Slack does not parse:
#   *  -> ∗ (U+2217)   _ -> ˍ (U+02CD)   ~ -> ∼ (U+223C)   ` -> ˋ (U+02CB)
# Why look-alikes rather than an invisible U+2060/U+200B next to the character: whether an invisible
# joiner stops a match depends on how Slack's (undocumented) parser classes that character, and an
# invisible character copied out of Slack silently corrupts what is pasted. A look-alike is one
# character either way, so lengths and limits are unchanged, and our own `_..._` emphasis around it still
# opens and closes. One exception keeps emails, URLs and snake_case exact: an underscore between two
# letters or digits (first_last@acme.example) is left alone, because Slack never opens or closes emphasis
# inside a word.
LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_FORMATTING = re.compile(r"[*_~`]")
# C0/C1 controls and bidi embeddings/overrides/isolates (ingestion drops them too; this is the last line).
# \x02/\x03 are kept: they are our emphasis marks, removed by `plain` from lead text before it gets here.
_CONTROLS = re.compile("[\x00\x01\x04-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n\r\x85\u2028\u2029]")


def _neutralise(m: re.Match[str]) -> str:
    c, s, i = m.group(), m.string, m.start()
    if c == "_" and 0 < i < len(s) - 1 and s[i - 1].isalnum() and s[i + 1].isalnum():
        return c
    return LOOKALIKES[c]


def escape_mrkdwn(text: str, *, lines: bool = False) -> str:
    """Lead text made inert for mrkdwn: `&`, `<`, `>` escaped (no mentions, links or entities), emphasis
    characters turned into look-alikes, controls dropped and, unless `lines`, line breaks folded to spaces."""
    text = _CONTROLS.sub("", text)
    if lines:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    else:
        text = _BREAKS.sub(" ", text)
    text = _FORMATTING.sub(_neutralise, text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str, *, lines: bool = False) -> str:
    """A brief string (lead text plus our EM marks) as mrkdwn: escaped, with our emphasis as `_..._`."""
    return escape_mrkdwn(text, lines=lines).replace(EM_OPEN, "_").replace(EM_CLOSE, "_")


def to_text(text: str) -> str:
    """A brief string as terminal/plain text: our emphasis as quotes; controls and line breaks removed."""
    return _BREAKS.sub(" ", _CONTROLS.sub("", text)).replace(EM_OPEN, "“").replace(EM_CLOSE, "”")


def terminal_safe(text: str) -> str:
    """Text for a terminal or log: every control character (escape sequences too) and bidi override
    dropped; line breaks kept as newlines."""
    return _MARKS.sub("", _CONTROLS.sub("", text)).replace("\r\n", "\n").replace("\r", "\n")


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary, never mid-word, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    # Never leave half an emoji sequence (a dangling joiner or variation selector) before the ellipsis.
    cut = cut.rstrip(" ,;:.-—\u200d\ufe0e\ufe0f").rstrip(EM_OPEN)
    if cut.count(EM_OPEN) > cut.count(EM_CLOSE):
        # We cut through an emphasis: close it. Room for the closing mark: one character more.
        if len(cut) > limit - 2:
            cut = cut[: limit - 2].rstrip(EM_OPEN)
        if cut.count(EM_OPEN) > cut.count(EM_CLOSE):
            cut += EM_CLOSE
    return cut + ELLIPSIS


def fit_mrkdwn(text: str, limit: int, *, lines: bool = False) -> str:
    """Escape for mrkdwn and shorten so that the *escaped* text is within `limit`."""
    out = to_mrkdwn(text, lines=lines)
    budget = len(text)
    while len(out) > limit:
        if budget <= 1:
            return ELLIPSIS[:limit]
        # Escaping at most quintuples a character (& -> &amp;): shrink in proportion, at least by one.
        budget = max(1, min(budget - 1, budget * limit // len(out)))
        out = to_mrkdwn(shorten(text, budget), lines=lines)
    return out


def split_mrkdwn(text: str, limit: int, total: int, *, lines: bool = False) -> tuple[list[str], bool]:
    """Escape for mrkdwn in pieces of at most `limit` escaped characters each, cut between words, and at most
    `total` in all; the last piece is shortened (ellipsis) if the text needs more. Returns the pieces and
    whether anything was left out."""
    pieces: list[str] = []
    rest = text.strip()
    while rest and total > 0:
        room = min(limit, total)
        whole = to_mrkdwn(rest, lines=lines)
        if len(whole) <= room:
            pieces.append(whole)
            return pieces, False
        if total <= limit:  # the last piece there is room for
            pieces.append(fit_mrkdwn(rest, room, lines=lines))
            return pieces, True
        # The longest start of `rest` whose escaped text fits; then back to the last space in it.
        lo, hi = 1, min(len(rest), room)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if len(to_mrkdwn(rest[:mid], lines=lines)) <= room else (lo, mid - 1)
        space = max(rest.rfind(" ", 0, lo + 1), rest.rfind("\n", 0, lo + 1))
        cut = space if space >= lo // 2 else lo
        piece = to_mrkdwn(rest[:cut].rstrip(), lines=lines)
        if piece.strip():
            pieces.append(piece)
            total -= len(piece)
        rest = rest[cut:].strip()
    return pieces, bool(rest)


def ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "at an unknown time"
    seconds = (now - then).total_seconds()
    if seconds < 0:
        return "just now" if seconds > -300 else f"on {day(then)}"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    days = (now.date() - then.date()).days or 1
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 60:
        return f"{days // 7} weeks ago"
    if days < 365:
        return f"{round(days / 30.4)} months ago"
    return f"on {day(then)}"


def day(when: datetime) -> str:
    return f"{when:%b} {when.day}, {when.year}"


def duration(days: int) -> str:
    if days >= 60:
        return f"{round(days / 30.4)} months"
    if days >= 14:
        return f"{days // 7} weeks"
    return f"{days} day{'s' if days != 1 else ''}"
