"""Buttons on a brief and the Not-a-fit modal. Ack first; then change state and update the message."""

from __future__ import annotations

import json
import logging

from slack_sdk.errors import SlackApiError

from briefs.blocks import (
    ACTION_CLAIM,
    ACTION_CONTACTED,
    ACTION_NOT_A_FIT,
    ACTION_OPEN_BRIEF,
    ACTION_OPEN_CRM,
    NOT_A_FIT_REASONS,
    NOT_A_FIT_VIEW,
    delivered,
    not_a_fit_view,
)
from handlers.commands import NOT_YOURS, lookup, may_see
from storage import audit, workflow
from storage.models import Lead, Qualification

log = logging.getLogger("leadbrief.actions")


def register(app) -> None:
    app.action(ACTION_CLAIM)(on_claim)
    app.action(ACTION_CONTACTED)(on_contacted)
    app.action(ACTION_NOT_A_FIT)(on_not_a_fit)
    app.action(ACTION_OPEN_BRIEF)(on_open_brief)
    app.action(ACTION_OPEN_CRM)(lambda ack: ack())
    app.view(NOT_A_FIT_VIEW)(on_not_a_fit_submitted)


def _qualification_id(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _update_message(services, outcome: workflow.Outcome) -> None:
    d = outcome.delivery
    if not (outcome.changed and d and d.ts and d.channel):
        return
    payload = delivered(d.payload, outcome.followup)
    try:
        services.slack.client.chat_update(channel=d.channel, ts=d.ts, text=payload["text"], blocks=payload["blocks"])
    except SlackApiError as exc:
        log.warning("could not update brief message %s/%s: %s", d.channel, d.ts, exc.response.get("error"))


def _apply(ack, body, action, respond, context, change) -> None:
    ack()
    services = context["services"]
    qid = _qualification_id(action.get("value"))
    user = body["user"]["id"]
    if qid is None:
        respond(response_type="ephemeral", replace_original=False, text="That button is out of date; look the lead up with `/lead`.")
        return
    with services.sessions.begin() as s:
        lead = _lead_of(s, qid)
        if lead is not None and not may_see(services, user, lead.owner_email):
            respond(response_type="ephemeral", replace_original=False, text=NOT_YOURS)
            return
        outcome = change(s, qid, user, services)
        if outcome is not None and lead is not None:
            audit.record(s, actor=user, action=action.get("action_id", "button")[:32], at=services.clock(),
                         lead_id=lead.id, lead_ref=lead.email)
    if outcome is None:
        respond(response_type="ephemeral", replace_original=False, text="This lead no longer exists.")
        return
    _update_message(services, outcome)
    respond(response_type="ephemeral", replace_original=False, text=outcome.message)


def _lead_of(session, qid: int) -> Lead | None:
    q = session.get(Qualification, qid)
    return session.get(Lead, q.lead_id) if q else None


def on_claim(ack, body, action, respond, context):
    def change(s, qid, user, services):
        return workflow.claim(s, qid, user, services.slack.directory.email_of(user), services.clock())

    _apply(ack, body, action, respond, context, change)


def on_contacted(ack, body, action, respond, context):
    _apply(ack, body, action, respond, context, lambda s, qid, user, services: workflow.contacted(s, qid, user, services.clock()))


def on_not_a_fit(ack, body, action, respond, context, client):
    ack()
    services = context["services"]
    qid = _qualification_id(action.get("value"))
    with services.sessions() as s:
        q = s.get(Qualification, qid) if qid is not None else None
        lead = s.get(Lead, q.lead_id) if q else None
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email if lead else ""
    if q is None:
        respond(response_type="ephemeral", replace_original=False, text="This lead no longer exists.")
        return
    if not may_see(services, body["user"]["id"], lead.owner_email):
        respond(response_type="ephemeral", replace_original=False, text=NOT_YOURS)
        return
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    client.views_open(trigger_id=body["trigger_id"], view=not_a_fit_view(q.id, channel, ts, name))


def on_not_a_fit_submitted(ack, body, view, context):
    values = view["state"]["values"]
    reason = ((values.get("reason") or {}).get("value") or {}).get("selected_option") or {}
    code = reason.get("value")
    if code not in dict(NOT_A_FIT_REASONS):
        ack(response_action="errors", errors={"reason": "Pick a reason from the list."})
        return
    ack()
    services = context["services"]
    detail = (((values.get("detail") or {}).get("value") or {}).get("value") or "").strip()
    label = dict(NOT_A_FIT_REASONS)[code]
    text = f"{label}: {detail}" if detail else label
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        qid = int(meta["q"])
    except (ValueError, KeyError, TypeError):
        log.warning("not-a-fit modal with unreadable metadata")
        return
    user = body["user"]["id"]
    with services.sessions.begin() as s:
        lead = _lead_of(s, qid)
        if lead is not None and not may_see(services, user, lead.owner_email):
            return
        outcome = workflow.not_a_fit(s, qid, user, text[:1000], services.clock())
        if outcome is not None and lead is not None:
            audit.record(s, actor=user, action="not_a_fit", at=services.clock(), lead_id=lead.id, lead_ref=lead.email,
                         detail=code)
    if outcome is not None:
        _update_message(services, outcome)


def on_open_brief(ack, body, action, respond, context):
    ack()
    services = context["services"]
    with services.slack.work_slots:
        reply = lookup(str(action.get("value") or ""), services, body["user"]["id"])
    respond(response_type="ephemeral", replace_original=False, **reply)
