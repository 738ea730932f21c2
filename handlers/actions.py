"""Buttons on a brief and the Not-a-fit modal. Ack first; then change state and update the message."""

from __future__ import annotations

import json
import logging

from slack_sdk.errors import SlackApiError

from bot.gateway import error_code
from bot.usecases.followthrough import refresh
from bot.usecases.lookup import lookup, may_see, viewer_scope
from briefs import visibility
from briefs.blocks import (
    ACTION_CLAIM,
    ACTION_CONTACTED,
    ACTION_NOT_A_FIT,
    ACTION_OPEN_BRIEF,
    ACTION_OPEN_CRM,
    ACTION_REASSIGN,
    ACTION_SNOOZE,
    NOT_A_FIT_REASONS,
    NOT_A_FIT_VIEW,
    not_a_fit_view,
)
from briefs.followthrough import ACTION_QUIET, passed_on, snooze_until
from handlers.events import publish_home
from storage import audit, workflow
from storage import followthrough as followthrough_store
from storage.models import Lead, Qualification

log = logging.getLogger("leadbrief.actions")


def register(app) -> None:
    app.action(ACTION_CLAIM)(on_claim)
    app.action(ACTION_CONTACTED)(on_contacted)
    app.action(ACTION_NOT_A_FIT)(on_not_a_fit)
    app.action(ACTION_OPEN_BRIEF)(on_open_brief)
    app.action(ACTION_OPEN_CRM)(lambda ack: ack())
    app.action(ACTION_SNOOZE)(on_snooze)
    app.action(ACTION_REASSIGN)(on_reassign)
    app.action(ACTION_QUIET)(on_quiet)
    app.view(NOT_A_FIT_VIEW)(on_not_a_fit_submitted)


def _qualification_id(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _update_message(services, outcome: workflow.Outcome) -> None:
    """Every change shows in place: the brief (or its digest), and its escalation in the team queue."""
    if outcome.changed and outcome.followup is not None:
        refresh(services, services.slack.client, outcome.followup.qualification_id)


def _tell(body, respond, client, services, text: str, *, shown_on_home: bool = False) -> None:
    """The clicker's answer: privately in the conversation (response_url). Clicks on the App Home or in a
    modal carry no response_url: the Home is shown again with the change in it, and what the Home does not
    show (shown_on_home False: a refusal, an error, someone else's claim) comes in a small modal, else a DM."""
    user = body["user"]["id"]
    if body.get("response_url"):
        respond(response_type="ephemeral", replace_original=False, text=text)
        return
    if _view_type(body) == "home":
        publish_home(services, client, user)
        if shown_on_home:
            return
    if _open_view(client, body, _modal("Leadbrief", [_section(text)])) is None:
        _dm(client, user, {"text": text})


def _view_type(body) -> str | None:
    """"home" or "modal" for a click in a view (those carry no response_url), else None."""
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    return view.get("type") if (body.get("container") or {}).get("type") == "view" or view else None


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _modal(title: str, blocks: list[dict]) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": title[:24]},
            "close": {"type": "plain_text", "text": "Close"}, "blocks": blocks[:100]}


def _open_view(client, body, view: dict) -> str | None:
    """Opens view for the clicker (pushed on top when the click came from a modal); its id, or None if Slack
    would not (the trigger_id lasts about 3 s and serves once)."""
    trigger = body.get("trigger_id")
    if not trigger:
        return None
    try:
        opened = (client.views_push if _view_type(body) == "modal" else client.views_open)(trigger_id=trigger, view=view)
    except (SlackApiError, OSError) as exc:
        log.warning("could not open a modal for a click: %s", error_code(exc))
        return None
    return (opened.get("view") or {}).get("id")


def _dm(client, user: str, reply: dict) -> None:
    """The last resort for an answer: a message in the app's DM with the clicker (chat.postMessage to a user id)."""
    try:
        client.chat_postMessage(channel=user, unfurl_links=False, unfurl_media=False, **reply)
    except (SlackApiError, OSError) as exc:
        log.warning("could not answer %s by DM: %s", user, error_code(exc))


def _apply(ack, body, action, respond, context, change, qid=None, detail: str | None = None) -> workflow.Outcome | None:
    ack()
    services = context["services"]
    client = services.slack.client
    qid = _qualification_id(action.get("value")) if qid is None else qid
    user = body["user"]["id"]
    if qid is None:
        _tell(body, respond, client, services, "That button is out of date; look the lead up with `/lead`.")
        return None
    mine = viewer_scope(services, user)  # may ask Slack: before the row lock is taken, not under it
    with services.sessions.begin() as s:
        lead = _lead_of(s, qid)
        allowed = lead is None or visibility.may_see(mine, lead.owner_email)
        outcome = change(s, qid, user, services) if allowed else None
        if outcome is not None and lead is not None:
            audit.record(s, actor=user, action=action.get("action_id", "button")[:32], at=services.clock(),
                         lead_id=lead.id, lead_ref=lead.email, detail=detail)
    if not allowed:
        _tell(body, respond, client, services, visibility.NOT_YOURS)
        return None
    if outcome is None:
        _tell(body, respond, client, services, "This lead no longer exists.")
        return None
    _update_message(services, outcome)
    _tell(body, respond, client, services, outcome.message, shown_on_home=outcome.changed)
    return outcome


def _lead_of(session, qid: int) -> Lead | None:
    q = session.get(Qualification, qid)
    return session.get(Lead, q.lead_id) if q else None


def _ask_slack(what: str, fetch, default=None):
    """A directory lookup made before a transaction opens; if Slack is busy, go on without it."""
    try:
        return fetch()
    except (SlackApiError, OSError) as exc:
        log.warning("could not look up %s (%s)", what, error_code(exc))
        return default


def on_claim(ack, body, action, respond, context):
    ack()
    services = context["services"]
    user = body["user"]["id"]
    email = _ask_slack(f"the email of {user}", lambda: services.slack.directory.email_of(user))

    def change(s, qid, user, services):
        return workflow.claim(s, qid, user, email, services.clock())

    _apply(lambda: None, body, action, respond, context, change)


def on_contacted(ack, body, action, respond, context):
    _apply(ack, body, action, respond, context, lambda s, qid, user, services: workflow.contacted(s, qid, user, services.clock()))


def on_snooze(ack, body, action, respond, context):
    ack()
    code, _, raw = str((action.get("selected_option") or {}).get("value") or "").partition(":")
    labels = {"1h": "for an hour", "morning": "until tomorrow morning"}
    if code not in labels:
        return
    services = context["services"]
    user = body["user"]["id"]
    policy = services.settings.follow_up
    # Their own morning: the time zone in their Slack profile (the team's if Slack cannot say).
    person = _ask_slack(f"the time zone of {user}", lambda: services.slack.directory.user(user)) or {}
    tz = policy.zone(person.get("tz"))

    def change(s, qid, user, services):
        until = snooze_until(code, services.clock(), tz, policy.hours)
        return workflow.snooze(s, qid, user, until, labels[code])

    _apply(lambda: None, body, action, respond, context, change, qid=_qualification_id(raw), detail=code)


def on_reassign(ack, body, action, respond, context):
    ack()  # first: the checks below ask Slack, and Slack wants its answer within 3 seconds
    to_user = action.get("selected_user")
    block = str(action.get("block_id") or "")
    qid = _qualification_id(block.rpartition("_")[2]) if block.startswith(("followup_", "escalation_")) else None
    services = context["services"]
    if not to_user or qid is None:
        return
    client, directory, access = services.slack.client, services.slack.directory, services.slack.access
    person = _ask_slack(to_user, lambda: directory.user(to_user), default=False)
    to_email = _ask_slack(f"the email of {to_user}", lambda: directory.email_of(to_user)) if person else None
    if person is False:
        _tell(body, respond, client, services, "Slack did not say who that is just now; try again in a minute.")
        return
    if person is None or person.get("is_bot") or person.get("deleted"):
        _tell(body, respond, client, services, "Pick a person on the sales team, not a bot.")
        return
    if access is not None and not access.allows(to_user):
        # They could not open the brief or press its buttons; nor should they get the lead by DM.
        _tell(body, respond, client, services,
              f"<@{to_user}> is not on the sales team in Leadbrief, so they could not open this lead. "
              "Pick someone who is.")
        return

    def change(s, qid, user, services):
        policy = services.settings.follow_up
        q = s.get(Qualification, qid)
        due = policy.due(q.reason, services.clock(), policy.zone(person.get("tz"))) if q else None
        return workflow.reassign(s, qid, user, to_user, to_email, services.clock(), due)

    outcome = _apply(lambda: None, body, action, respond, context, change, qid=qid, detail=f"to {to_user}")
    if outcome is not None and outcome.changed:
        services.wake_delivery()  # a brief that was held for a digest goes out to the new rep now
        _tell_new_rep(services, body["user"]["id"], to_user, qid)


def _tell_new_rep(services, by: str, to_user: str, qid: int) -> None:
    """The new rep hears it from the bot, with a link to the brief, wherever it is posted."""

    with services.sessions() as s:
        p = followthrough_store.posted(s, qid)
    if p is None:
        return
    msg = passed_on(p.card, by, to_user, p.channel)
    try:
        sent = []
        if p.channel and p.ts:
            sent.append(services.slack.client.chat_postMessage(channel=p.channel, thread_ts=p.ts, **msg))
        sent.append(services.slack.client.chat_postMessage(channel=to_user, unfurl_links=False, **msg))
        with services.sessions.begin() as s:
            for resp in sent:
                followthrough_store.remember(s, qid, "reassign", resp["channel"], resp["ts"], services.clock())
    except SlackApiError as exc:
        log.warning("could not tell the new rep about lead %d: %s", qid, exc.response.get("error"))


def on_quiet(ack, body, action, context, client):
    ack()
    services = context["services"]
    user = body["user"]["id"]
    quiet = action.get("value") == "on"
    with services.sessions.begin() as s:
        followthrough_store.set_quiet(s, user, quiet, None, services.clock())
        audit.record(s, actor=user, action="quiet", at=services.clock(), detail="on" if quiet else "off")
    publish_home(services, client, user)


def on_not_a_fit(ack, body, action, respond, context):
    ack()
    services = context["services"]
    qid = _qualification_id(action.get("value"))
    with services.sessions() as s:
        q = s.get(Qualification, qid) if qid is not None else None
        lead = s.get(Lead, q.lead_id) if q else None
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email if lead else ""
    if q is None:
        _tell(body, respond, services.slack.client, services, "This lead no longer exists.")
        return
    if not may_see(services, body["user"]["id"], lead.owner_email):
        _tell(body, respond, services.slack.client, services, visibility.NOT_YOURS)
        return
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    if _open_view(services.slack.client, body, not_a_fit_view(q.id, channel, ts, name)) is None:
        _tell(body, respond, services.slack.client, services,
              "Slack did not open the form in time; press *Not a fit* again.")


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
    mine = viewer_scope(services, user)
    with services.sessions.begin() as s:
        lead = _lead_of(s, qid)
        if lead is not None and not visibility.may_see(mine, lead.owner_email):
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
    client, user = services.slack.client, body["user"]["id"]
    # From the App Home or a modal (no response_url) the brief opens in a modal: opened at once, while the
    # trigger_id is fresh, and filled in when the brief is built.
    loading = None if body.get("response_url") else _open_view(
        client, body, _modal("Lead brief", [_section("Looking the lead up…")]))
    with services.slack.work_slots:
        reply = lookup(services, user, str(action.get("value") or ""))
    if body.get("response_url"):
        respond(response_type="ephemeral", replace_original=False, **reply)
        return
    if loading is not None:
        try:
            client.views_update(view_id=loading, view=_modal("Lead brief", reply.get("blocks") or [_section(reply["text"])]))
            return
        except (SlackApiError, OSError) as exc:
            log.warning("could not show the brief in its modal: %s", error_code(exc))
    _dm(client, user, reply)
