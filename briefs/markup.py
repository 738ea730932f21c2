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


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; everything else is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str) -> str:
    return escape_mrkdwn(text).replace(EM_OPEN, "_").replace(EM_CLOSE, "_")


def to_text(text: str) -> str:
    return text.replace(EM_OPEN, "“").replace(EM_CLOSE, "”")


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
    cut = cut.rstrip(" ,;:.-—")
    if cut.count(EM_OPEN) > cut.count(EM_CLOSE):
        cut = cut.rstrip(EM_OPEN)
        if cut.count(EM_OPEN) > cut.count(EM_CLOSE):
            # Close the emphasis we cut through; room was left by the -1 above plus the rstrip.
            cut = shorten(cut, limit - 2) if len(cut) > limit - 2 else cut
            cut = cut + EM_CLOSE if cut.count(EM_OPEN) > cut.count(EM_CLOSE) else cut
    return cut + ELLIPSIS


def fit_mrkdwn(text: str, limit: int) -> str:
    """Escape for mrkdwn and shorten so that the *escaped* text is within `limit`."""
    out = to_mrkdwn(text)
    budget = len(text)
    while len(out) > limit:
        budget -= max(1, len(out) - limit)
        out = to_mrkdwn(shorten(text, budget))
    return out


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
