"""Buttons on a brief and the Not-a-fit modal. Ack first; then change state and update the message."""

from __future__ import annotations

import contextlib
import json
import logging

from slack_sdk.errors import SlackApiError

from bot.gateway import error_code
from bot.usecases import full_message, rep_actions, triage_override
from bot.usecases.lookup import lookup, may_see, viewer_scope
from bot.usecases.rep_actions import ActionResult, Verdict
from briefs import visibility
from briefs.blocks import (
    ACTION_FULL_MESSAGE,
    ACTION_OPEN_BRIEF,
    ACTION_OPEN_CRM,
    ESCALATION_BLOCK,
    FOLLOWUP_BLOCK,
    NOT_A_FIT_REASONS,
    NOT_A_FIT_VIEW,
    TEXT_BUDGET,
    not_a_fit_view,
    text_size,
)
from briefs.followthrough import ACTION_QUIET
from briefs.followup import RepAction, SnoozeChoice
from briefs.notices import ACTION_OVERRIDE
from handlers.commands import BUSY
from handlers.events import publish_home

log = logging.getLogger("leadbrief.actions")

GONE = "This lead no longer exists."
OUT_OF_DATE = "That button is out of date; look the lead up with `/lead`."


def register(app) -> None:
    app.action(RepAction.CLAIM)(on_claim)
    app.action(RepAction.CONTACTED)(on_contacted)
    app.action(RepAction.NOT_A_FIT)(on_not_a_fit)
    app.action(ACTION_OPEN_BRIEF)(on_open_brief)
    app.action(ACTION_OPEN_CRM)(lambda ack: ack())
    app.action(RepAction.SNOOZE)(on_snooze)
    app.action(RepAction.REASSIGN)(on_reassign)
    app.action(ACTION_QUIET)(on_quiet)
    app.view(NOT_A_FIT_VIEW)(on_not_a_fit_submitted)
    app.action(ACTION_OVERRIDE)(on_triage_override)
    app.action(ACTION_FULL_MESSAGE)(on_full_message)


def _qualification_id(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


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


def _visible(services, user: str):
    """The clicker's access rule for a lead's owner email. Their own email may ask Slack: asked here, before
    the use case takes its row lock, not under it."""
    mine = viewer_scope(services, user)
    return lambda owner_email: visibility.may_see(mine, owner_email)


def _answer(body, respond, services, result: ActionResult) -> None:
    text = {Verdict.NOT_YOURS: visibility.NOT_YOURS, Verdict.GONE: GONE}.get(result.verdict, result.answer)
    _tell(body, respond, services.slack.client, services, text, shown_on_home=result.changed)


def _ask_slack(what: str, fetch, default=None):
    """A directory lookup made before a transaction opens; if Slack is busy, go on without it."""
    try:
        return fetch()
    except (SlackApiError, OSError) as exc:
        log.warning("could not look up %s (%s)", what, error_code(exc))
        return default


def _clicked(ack, body, action, respond, services) -> int | None:
    """Ack, and the qualification id the button carries; a button without one is answered as out of date."""
    ack()
    qid = _qualification_id(action.get("value"))
    if qid is None:
        _tell(body, respond, services.slack.client, services, OUT_OF_DATE)
    return qid


def on_claim(ack, body, action, respond, context):
    services = context["services"]
    qid = _clicked(ack, body, action, respond, services)
    if qid is None:
        return
    user = body["user"]["id"]
    email = _ask_slack(f"the email of {user}", lambda: services.slack.directory.email_of(user))
    _answer(body, respond, services, rep_actions.claim(services, qid, user, email, _visible(services, user)))


def on_contacted(ack, body, action, respond, context):
    services = context["services"]
    qid = _clicked(ack, body, action, respond, services)
    if qid is None:
        return
    user = body["user"]["id"]
    _answer(body, respond, services, rep_actions.contacted(services, qid, user, _visible(services, user)))


def on_snooze(ack, body, action, respond, context):
    ack()
    code, _, raw = str((action.get("selected_option") or {}).get("value") or "").partition(":")
    try:
        choice = SnoozeChoice(code)
    except ValueError:
        return
    services = context["services"]
    user = body["user"]["id"]
    qid = _qualification_id(raw)
    if qid is None:
        _tell(body, respond, services.slack.client, services, OUT_OF_DATE)
        return
    # Their own morning: the time zone in their Slack profile (the team's if Slack cannot say).
    person = _ask_slack(f"the time zone of {user}", lambda: services.slack.directory.user(user)) or {}
    tz = services.settings.follow_up.zone(person.get("tz"))
    result = rep_actions.snooze(services, qid, user, choice, tz, _visible(services, user))
    _answer(body, respond, services, result)


def on_reassign(ack, body, action, respond, context):
    ack()  # first: the checks below ask Slack, and Slack wants its answer within 3 seconds
    to_user = action.get("selected_user")
    block = str(action.get("block_id") or "")
    qid = _qualification_id(block.rpartition("_")[2]) if block.startswith((FOLLOWUP_BLOCK, ESCALATION_BLOCK)) else None
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
    user = body["user"]["id"]
    tz = services.settings.follow_up.zone(person.get("tz"))
    result = rep_actions.reassign(services, qid, user, to_user, to_email, tz, _visible(services, user))
    _answer(body, respond, services, result)


def on_quiet(ack, body, action, context, client):
    ack()
    services = context["services"]
    user = body["user"]["id"]
    rep_actions.set_quiet(services, user, action.get("value") == "on")
    publish_home(services, client, user)


def on_not_a_fit(ack, body, action, respond, context):
    ack()
    services = context["services"]
    qid = _qualification_id(action.get("value"))
    lead = rep_actions.not_a_fit_form(services, qid) if qid is not None else None
    if lead is None:
        _tell(body, respond, services.slack.client, services, GONE)
        return
    if not may_see(services, body["user"]["id"], lead.owner_email):
        _tell(body, respond, services.slack.client, services, visibility.NOT_YOURS)
        return
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    if _open_view(services.slack.client, body, not_a_fit_view(lead.qualification_id, channel, ts, lead.name)) is None:
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
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        qid = int(meta["q"])
    except (ValueError, KeyError, TypeError):
        log.warning("not-a-fit modal with unreadable metadata")
        return
    user = body["user"]["id"]
    # Saved from a modal: the brief shows the change; a refusal has nowhere to be said.
    rep_actions.not_a_fit(services, qid, user, code, f"{label}: {detail}" if detail else label,
                          _visible(services, user))


def on_open_brief(ack, body, action, respond, context):
    ack()
    services = context["services"]
    client = services.slack.client
    # From the App Home or a modal (no response_url) the brief opens in a modal: opened at once, while the
    # trigger_id is fresh, and filled in when the brief is built.
    loading = None if body.get("response_url") else _open_view(
        client, body, _modal("Lead brief", [_section("Looking the lead up…")]))
    services.slack.after_ack(lambda: _show_brief(services, body, action, respond, loading),
                             lambda: _busy(services, body, respond, loading))


def _show_brief(services, body, action, respond, loading: str | None) -> None:
    client, user = services.slack.client, body["user"]["id"]
    try:
        reply = lookup(services, user, str(action.get("value") or ""))
    except Exception:  # the modal must not stay at "Looking the lead up…"
        log.exception("Open brief failed")
        reply = {"text": "Sorry, that did not work. Please try again in a moment."}
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


def _busy(services, body, respond, loading: str | None) -> None:
    reply = {"text": BUSY}
    if body.get("response_url"):
        respond(response_type="ephemeral", replace_original=False, **reply)
    elif loading is not None:
        with contextlib.suppress(SlackApiError, OSError):
            services.slack.client.views_update(view_id=loading, view=_modal("Lead brief", [_section(BUSY)]))
    else:
        _dm(services.slack.client, body["user"]["id"], reply)


def on_triage_override(ack, body, action, respond, context):
    """"This is a real lead" on a triage notice: the lead is briefed as usual and the notice says who said so."""
    services = context["services"]
    qid = _clicked(ack, body, action, respond, services)
    if qid is None:
        return
    user = body["user"]["id"]
    result = triage_override.override(services, qid, user, _visible(services, user))
    outcome = triage_override.Outcome
    text = {outcome.NOT_YOURS: visibility.NOT_YOURS, outcome.GONE: GONE}.get(result.outcome, result.answer)
    if result.outcome is outcome.DONE and result.notice is not None:
        # The notice as stored (posted by the worker); the click's own message when it has not been recorded yet.
        channel = result.channel or (body.get("channel") or {}).get("id")
        ts = result.ts or (body.get("message") or {}).get("ts")
        if channel and ts:
            try:
                services.slack.client.chat_update(channel=channel, ts=ts, text=result.notice["text"],
                                                  blocks=result.notice["blocks"])
            except (SlackApiError, OSError) as exc:
                log.warning("could not update the triage notice: %s", error_code(exc))
    _tell(body, respond, services.slack.client, services, text)


def on_full_message(ack, body, action, respond, context):
    """"Show full message" under a quote: the hand-raiser's whole message in a modal (views.open with the
    click's trigger_id; pushed on top when clicked in a modal). Works from a message, the App Home or a modal;
    if Slack will not open it, the message comes privately instead."""
    ack()
    services = context["services"]
    client, user = services.slack.client, body["user"]["id"]
    result = full_message.full_message(services, user, str(action.get("value") or ""))
    if result.view is None:
        text = visibility.NOT_YOURS if result.found is full_message.Found.NOT_YOURS else \
            "That message is no longer stored; look the lead up with `/lead`."
        _tell(body, respond, client, services, text)
        return
    if _open_view(client, body, result.view) is not None:
        return
    blocks: list[dict] = []
    for block in result.view["blocks"][:49]:  # a message holds less text than a modal: what fits, in order
        if text_size([*blocks, block]) > TEXT_BUDGET:
            break
        blocks.append(block)
    reply = {"text": "Their message", "blocks": blocks}
    if body.get("response_url"):
        respond(response_type="ephemeral", replace_original=False, **reply)
    else:
        _dm(client, user, reply)
