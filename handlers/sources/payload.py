"""Small helpers shared by the source translators."""

from __future__ import annotations

from typing import Any


def dig(data: Any, path: str) -> Any:
    """data["a"]["b"] for path "a.b"; None as soon as a step is missing or not an object."""
    value = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# The event contract's consent fields on a lead (briefs.events.LeadFields): a CRM's do-not-contact flag closes
# the lead in triage; an email opt-out is a flag in the brief ("call, do not email").
DO_NOT_CONTACT = "do_not_contact"
EMAIL_OPT_OUT = "email_opt_out"
_TRUE = frozenset({"true", "yes", "y", "1", "on", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "f"})


def flag(value: Any) -> bool | None:
    """A CRM checkbox as vendors send it (true, "true", "1", 1, "yes"; false, "false", "0"…); None when absent,
    empty or not a checkbox value (never guessed)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 if value in (0, 1) else None
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return None


def consent(record: Any, fields: dict[str, str]) -> dict[str, bool]:
    """The consent fields of a lead from a record's checkboxes: `fields` maps the vendor's name to ours
    (DO_NOT_CONTACT or EMAIL_OPT_OUT). A field set by any of its vendor names is set."""
    out: dict[str, bool] = {}
    if not isinstance(record, dict):
        return out
    for theirs, ours in fields.items():
        value = flag(record.get(theirs))
        if value is not None:
            out[ours] = out.get(ours, False) or value
    return out
