"""How a lead is named wherever it is shown: one rule for every message, search result and note reply."""

from __future__ import annotations

import re

_PARTS = re.compile(r"([\s\-'’]+)")


def first_name_case(first: str | None) -> str | None:
    """A first name as a rep says it: "mike" -> "Mike", "JEAN-LUC" -> "Jean-Luc", "o'neil" -> "O'Neil". A name
    typed in mixed case ("DeShawn", "McKenna") is the person's own spelling and stays as it is."""
    if first is None:
        return None
    name = first.strip()
    if not name or not (name.islower() or name.isupper()):
        return name or None
    return "".join(p[:1].upper() + p[1:].lower() if not _PARTS.fullmatch(p) else p for p in _PARTS.split(name))


def display_name(first: str | None, last: str | None, email: str) -> str:
    """"First Last", whichever parts are known; the email when neither is."""
    return " ".join(part for part in (first_name_case(first), last) if part) or email
