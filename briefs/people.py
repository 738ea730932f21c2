"""How a lead is named wherever it is shown: one rule for every message, search result and note reply."""

from __future__ import annotations


def display_name(first: str | None, last: str | None, email: str) -> str:
    """"First Last", whichever parts are known; the email when neither is."""
    return " ".join(part for part in (first, last) if part) or email
