"""One way to build a lead's brief in every use case: with the configured [triage] policy and the flags the
brief shows (its address, a CRM email opt-out), so a /lead lookup shows what the posted brief showed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from briefs.model import Brief, BriefInput, build_brief
from briefs.rules import Rules
from briefs.triage import Finding, TriagePolicy, brief_flags

# The lead's CRM consent fields (storage.models.Lead), as triage reads them.
CRM_FIELDS = ("do_not_contact", "email_opt_out")


def crm_fields(lead_row: Any) -> dict[str, Any]:
    """The lead's CRM consent fields that are set, by name."""
    values = {name: getattr(lead_row, name, None) for name in CRM_FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def brief_of(data: BriefInput, lead_row: Any, rules: Rules, policy: TriagePolicy,
             flags: Sequence[Finding] | None = None) -> Brief:
    """The brief; `flags`: those triage just found (else worked out here, the same way)."""
    found = tuple(flags) if flags is not None else tuple(brief_flags(data.lead, crm_fields(lead_row), policy))
    return build_brief(replace(data, triage=policy, flags=found), rules)
