"""Small helpers shared by the source translators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from briefs.events import CUSTOMER_FIELDS


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


# The event contract's customer facts (briefs.events.LeadFields). CRMs keep these in fields of the admin's own
# making (HubSpot custom properties, Salesforce __c fields), so each source maps them from configuration.
CUSTOMER_FLAGS = ("former_customer", "left_company")


def customer_field_map(section: Any, key: str, where: str) -> dict[str, str]:
    """[sources.X] <key> = { renewal_date = "Renewal_Date__c", ... }: our field -> the CRM's field name."""
    mapping = section.get(key, {}) if isinstance(section, dict) else {}
    if not isinstance(mapping, dict) or not all(isinstance(v, str) and v.strip() for v in mapping.values()):
        raise ValueError(f"{where}: {key} must map our customer fields to the CRM's field names")
    unknown = sorted(set(mapping) - set(CUSTOMER_FIELDS))
    if unknown:
        raise ValueError(f"{where}: {key} has {', '.join(unknown)}; expected some of {', '.join(CUSTOMER_FIELDS)}")
    return {ours: theirs.strip() for ours, theirs in mapping.items()}


def customer_facts(record: Mapping[str, Any], mapping: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Our customer fields from a CRM record (values as sent; the contract validates them), and where each came
    from (lead.renewal_date -> the CRM's name) so that an error names the CRM's field."""
    lead: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for ours, theirs in mapping.items():
        value = record.get(theirs)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if ours in CUSTOMER_FLAGS:
            value = flag(value)
            if value is None:
                continue
        lead[ours] = value.strip() if isinstance(value, str) else value
        origin[f"lead.{ours}"] = theirs
    return lead, origin
