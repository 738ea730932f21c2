"""One way to build a lead's brief in every use case: with the configured [triage] policy and the flags the
brief shows (its address, a CRM email opt-out), so a /lead lookup shows what the posted brief showed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from briefs.blocks import to_blocks
from briefs.model import Brief, BriefInput, build_brief
from briefs.notices import copy_message, copy_text
from briefs.rules import Rules
from briefs.text import to_text_brief
from briefs.triage import Finding, TriagePolicy, brief_flags
from storage import outbox
from storage.outbox import BriefSnapshot, QualificationKey

# The lead's CRM consent fields (storage.models.Lead), as triage reads them.
CRM_FIELDS = ("do_not_contact", "email_opt_out")


def crm_fields(lead_row: Any) -> dict[str, Any]:
    """The lead's CRM consent fields that are set, by name."""
    values = {name: getattr(lead_row, name, None) for name in CRM_FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def queue_brief(session: Session, new: QualificationKey, brief: Brief, now: datetime) -> None:
    """Queue a qualification's brief; one that goes to someone other than the owner (an at-risk renewal's CSM)
    is recorded as such, and the owner gets a copy."""
    outbox.enqueue(session, new, BriefSnapshot(payload=to_blocks(brief), text=to_text_brief(brief),
                                                notes_through=brief.notes_through), now)
    outbox.record_recipient(session, new.id, brief.episode, brief.deliver_to, brief.copy_to)
    if brief.deliver_to and brief.copy_to:
        outbox.enqueue_copy(session, new, brief.copy_to, copy_message(brief), copy_text(brief), now)


def brief_of(data: BriefInput, lead_row: Any, rules: Rules, policy: TriagePolicy,
             flags: Sequence[Finding] | None = None) -> Brief:
    """The brief; `flags`: those triage just found (else worked out here, the same way)."""
    found = tuple(flags) if flags is not None else tuple(brief_flags(data.lead, crm_fields(lead_row), policy))
    return build_brief(replace(data, triage=policy, flags=found), rules)
