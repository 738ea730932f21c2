"""`/lead` command text -> what the user asked for. Pure parsing, with help for anything unrecognised.

Slack escapes the command text (should_escape: true): a channel arrives as <#C123|name>, an email as
<mailto:a@b.co|a@b.co>, a user as <@U123|name>. Both the escaped and the plain forms are understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from briefs.events import EMAIL_RE

_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_DIGEST_AT = re.compile(r"^(?:at )?([01]?\d|2[0-3]):([0-5]\d)$", re.IGNORECASE)
_PERIOD = re.compile(r"^(7|30|90) ?(?:d|days?)?$", re.IGNORECASE)

HELP = """*/lead* looks up leads and keeps marketing and sales on the same page.
• `/lead jane@acme.com`: the lead's full brief, just for you
• `/lead acme` or `/lead jane doe`: search by name or company (up to 10 matches)
• `/lead note jane@acme.com Met her at the expo; budget approved`: a handoff note that travels with the lead
• `/lead route #my-leads`: send my new briefs to that channel (`/lead route` shows where they go now)
• `/lead mine`: my open leads
• `/lead account Contoso`: an account, who there is active and in what role (a name or a domain)
• `/lead quiet on` (or `quiet on 08:30`): a daily digest of non-urgent leads instead of real-time posts; hand-raisers still come at once. `/lead quiet off` goes back; `/lead quiet` shows which is on
• `/lead stats` (or `stats 7d`, `stats 90d`): leads posted, time to claim and first touch, accepted vs not a fit, by source and campaign (last 30 days by default)
• `/lead help`: this message"""


class Action(StrEnum):
    """What a `/lead` command asks for."""

    HELP = "help"
    LOOKUP = "lookup"
    SEARCH = "search"
    NOTE = "note"
    ROUTE = "route"
    ROUTE_SHOW = "route_show"
    MINE = "mine"
    STATS = "stats"
    QUIET = "quiet"
    ACCOUNT = "account"
    INVALID = "invalid"


@dataclass(frozen=True)
class Command:
    action: Action
    email: str | None = None
    text: str | None = None
    channel: str | None = None
    error: str | None = None
    days: int | None = None  # stats: the period
    quiet: bool | None = None  # quiet: on, off, or None to show it
    at: str | None = None  # quiet: the digest time, HH:MM in the rep's time zone


def _unescape(text: str) -> str:
    text = _MAILTO.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _email(token: str) -> str | None:
    token = _MAILTO.sub(lambda m: m.group(1), token).strip().lower()
    return token if EMAIL_RE.match(token) else None


def parse(text: str | None) -> Command:
    text = (text or "").strip()
    if not text or text.lower() in ("help", "?", "-h", "--help"):
        return Command(Action.HELP)
    head, _, rest = text.partition(" ")
    verb = head.lower()
    rest = rest.strip()
    if verb == "note":
        target, _, body = rest.partition(" ")
        email = _email(target)
        if not email:
            return Command(Action.INVALID, error="Usage: `/lead note EMAIL TEXT`, e.g. `/lead note jane@acme.com Met at the expo`.")
        body = _unescape(body).strip()
        if not body:
            return Command(Action.INVALID, error=f"What should the note on {email} say? `/lead note {email} TEXT`.")
        if len(body) > 3000:
            return Command(Action.INVALID, error=f"Notes are limited to 3,000 characters; this one has {len(body):,}.")
        return Command(Action.NOTE, email=email, text=body)
    if verb == "route":
        if not rest:
            return Command(Action.ROUTE_SHOW)
        m = _CHANNEL.match(rest)
        if m:
            return Command(Action.ROUTE, channel=m.group(1))
        if _CHANNEL_ID.match(rest):
            return Command(Action.ROUTE, channel=rest)
        return Command(Action.INVALID, error="Usage: `/lead route #channel` (pick the channel from the list Slack offers).")
    if verb == "mine" and not rest:
        return Command(Action.MINE)
    if verb == "stats":
        period = _PERIOD.match(rest or "30d")
        if not period:
            return Command(Action.INVALID, error="Usage: `/lead stats` (last 30 days), `/lead stats 7d` or `/lead stats 90d`.")
        return Command(Action.STATS, days=int(period.group(1)))
    if verb == "quiet":
        return _quiet(rest)
    if verb == "account":  # issue 18: /lead account NAME|DOMAIN
        if len(rest) < 2:
            return Command(Action.INVALID, error="Usage: `/lead account Contoso` or `/lead account contoso.com`.")
        return Command(Action.ACCOUNT, text=_unescape(rest)[:200])
    if " " not in text:
        email = _email(text)
        if email:
            return Command(Action.LOOKUP, email=email)
    query = _LINK.sub(lambda m: m.group(2), _unescape(text)).strip()
    if len(query) < 2:
        return Command(Action.INVALID, error="Give me at least two characters to search for, or an email address.")
    return Command(Action.SEARCH, text=query[:200])


QUIET_USAGE = "Usage: `/lead quiet on` (digest at 09:00 your time), `/lead quiet on 08:30`, `/lead quiet off` or `/lead quiet`."


def _quiet(rest: str) -> Command:
    words = rest.split(None, 1)
    if not words:
        return Command(Action.QUIET)
    switch = words[0].lower()
    if switch not in ("on", "off"):
        return Command(Action.INVALID, error=QUIET_USAGE)
    at = None
    if len(words) > 1:
        m = _DIGEST_AT.match(words[1].strip())
        if not m or switch == "off":
            return Command(Action.INVALID, error=f"The digest time must be HH:MM, e.g. 08:30. {QUIET_USAGE}")
        at = f"{int(m.group(1)):02d}:{m.group(2)}"
    return Command(Action.QUIET, quiet=switch == "on", at=at)
