"""`/lead`: acknowledge at once, then answer privately through response_url."""

from __future__ import annotations

import contextlib
import logging

from briefs import commands, followthrough
from briefs import stats as stats_model
from briefs.blocks import note_message, search_blocks, to_blocks
from briefs.markup import escape_mrkdwn, shorten
from briefs.model import build_brief
from storage import audit, queries
from storage import followthrough as followthrough_store
from storage import leads as lead_store
from storage import stats as stats_store

log = logging.getLogger("leadbrief.commands")


def register(app) -> None:
    app.command("/lead")(lead_command)


def lead_command(ack, command, respond, context):
    ack()
    services = context["services"]
    cmd = commands.parse(command.get("text"))
    # A route change waits on Slack (who is in the channel), not the CPU: it does not hold the work slot.
    slot = contextlib.nullcontext() if cmd.action == "route" else services.slack.work_slots
    try:
        with slot:
            reply = handle(cmd, command["user_id"], services)
    except Exception:
        log.exception("/lead %s failed", cmd.action)
        reply = {"text": "Sorry, that did not work. Please try again in a moment."}
    respond(response_type="ephemeral", replace_original=False, **reply)


def handle(cmd: commands.Command, user_id: str, services) -> dict:
    if cmd.action == "help":
        return {"text": commands.HELP}
    if cmd.action == "invalid":
        return {"text": f"{cmd.error}\n\n{commands.HELP}"}
    if cmd.action == "lookup":
        return lookup(cmd.email, services, user_id)
    if cmd.action == "search":
        return search(cmd.text, services, user_id)
    if cmd.action == "note":
        return note(cmd.email, cmd.text, user_id, services)
    if cmd.action in ("route", "route_show"):
        return route(cmd, user_id, services)
    if cmd.action == "mine":
        email = services.slack.directory.email_of(user_id)
        with services.sessions() as s:
            mine = followthrough_store.queue(s, email, user_id, limit=20)
        _audit(services, user_id, "mine", detail=f"{len(mine)} open leads")
        return followthrough.mine_message(mine, services.clock())
    if cmd.action == "stats":
        return stats(cmd.days or 30, user_id, services)
    if cmd.action == "quiet":
        return quiet(cmd, user_id, services)
    return {"text": commands.HELP}  # pragma: no cover - parse() returns only the actions above


def _audit(services, user_id: str, action: str, *, lead_id: int | None = None, lead_ref: str | None = None,
           detail: str | None = None) -> None:
    with services.sessions.begin() as s:
        audit.record(s, actor=user_id, action=action, at=services.clock(), lead_id=lead_id, lead_ref=lead_ref,
                     detail=detail)


def own_email(services, user_id: str) -> str | None:
    """With access.own_leads_only, the rep's email (their leads are the ones they may see); else None."""
    access = services.slack.access
    if access is None or not access.own_leads_only:
        return None
    return (services.slack.directory.email_of(user_id) or "").lower() or "-"


def may_see(services, user_id: str, owner_email: str | None) -> bool:
    return visible_to(own_email(services, user_id), owner_email)


def visible_to(mine: str | None, owner_email: str | None) -> bool:
    """`mine` from own_email(): None lets the user see every lead."""
    return mine is None or (owner_email or "").lower() == mine


NOT_YOURS = "You can only see leads you own. Ask the lead's owner, or your sales manager, for this one."


def lookup(email: str, services, user_id: str) -> dict:
    with services.sessions() as s:  # one read of the lead, for the check and the brief
        lead = queries.find_lead(s, email)
        visible = lead is not None and may_see(services, user_id, lead.owner_email)
        brief = build_brief(queries.brief_input(s, lead, services.clock()), services.settings.rules) if visible else None
        lead_id = lead.id if lead else None
    _audit(services, user_id, "lookup", lead_id=lead_id, lead_ref=email,
           detail=None if lead_id else "no such lead")
    if lead_id is not None and not visible:
        return {"text": NOT_YOURS}
    if brief is None:
        local = email.split("@")[0].replace(".", " ")
        found = search(local, services, user_id, audited=False) if len(local) >= 2 else {"blocks": []}
        hint = "" if not found.get("blocks") else " Did you mean one of these?"
        reply = {"text": f"No lead with the email {escape_mrkdwn(email)}.{hint} You can also search by name or company: `/lead acme`."}
        if hint:
            reply["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": reply["text"]}}] + found["blocks"][1:]
        return reply
    return to_blocks(brief)


def search(query: str, services, user_id: str, audited: bool = True) -> dict:
    with services.sessions() as s:
        matches = lead_store.search(s, query, owner=own_email(services, user_id))
    if audited:  # the query itself may name a person: only how many matched is kept
        _audit(services, user_id, "search", detail=f"{len(matches)} matches")
    if not matches:
        return {"text": f"No lead matches “{escape_mrkdwn(shorten(query, 100))}”. Try a last name, a company, "
                        "or an email address; `/lead help` shows everything I can do."}
    return search_blocks(query, matches)


def note(email: str, text: str, user_id: str, services) -> dict:
    directory = services.slack.directory
    author = directory.name_of(user_id)
    with services.sessions.begin() as s:
        lead = queries.find_lead(s, email)
        if lead is not None and not may_see(services, user_id, lead.owner_email):
            return {"text": NOT_YOURS}
        added = lead_store.add_note(s, email, author, text, services.clock())
        if added is not None:  # the note's text stays out of the audit log
            audit.record(s, actor=user_id, action="note", at=services.clock(), lead_id=added.lead_id,
                         lead_ref=added.lead_email)
    if added is None:
        return {"text": f"No lead with the email {escape_mrkdwn(email)}, so the note was not saved. "
                        "Check the address, or find the lead with `/lead NAME`."}
    if added.thread_ts:
        message = note_message(user_id, text, services.clock())
        reply = services.slack.client.chat_postMessage(
            channel=added.channel,
            thread_ts=added.thread_ts,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )
        with services.sessions.begin() as s:  # so that erasure can find and redact it
            lead_store.note_posted(s, added.note_id, reply["channel"], reply["ts"])
        where = " and posted in the brief's thread"
    else:
        where = "; it will appear in their brief"
    return {"text": f"Saved your note on {escape_mrkdwn(added.lead_name)}{where}."}


def route(cmd: commands.Command, user_id: str, services) -> dict:
    email = services.slack.directory.email_of(user_id)
    if not email:
        return {"text": "I could not read your email address from Slack, so I cannot route leads to you. "
                        "Ask an admin to check that the app has the users:read.email scope."}
    if cmd.action == "route_show":
        with services.sessions() as s:
            channel = lead_store.get_route(s, email) or services.settings.slack_routes.get(email)
        if channel:
            return {"text": f"Your new briefs go to <#{channel}>. Change it with `/lead route #channel`."}
        return {"text": "Your new briefs come to you as a direct message. Send them to a channel with `/lead route #channel`."}
    refused = _unsafe_route(cmd.channel, services)
    if refused:
        _audit(services, user_id, "route_refused", detail=cmd.channel)
        return {"text": refused}
    with services.sessions.begin() as s:
        lead_store.set_route(s, email, cmd.channel, user_id, services.clock())
        audit.record(s, actor=user_id, action="route", at=services.clock(), detail=cmd.channel)
    return {"text": f"Done: your new briefs will go to <#{cmd.channel}>. If it is a private channel, invite me there first."}


def _unsafe_route(channel: str, services) -> str | None:
    """Why briefs may not go to channel: someone outside [access] would read them (or Slack will not say)."""
    access = services.slack.access
    if access is None:
        return None
    outside = access.outsiders(channel)
    if outside is None:
        error = access.read_error(channel) or "Slack did not answer in time"
        return (f"Not changed: I could not see who is in <#{channel}> ({error}). If it is a private channel, "
                "invite me there first, then try again.")
    if outside:
        return (f"Not changed: <#{channel}> has {len(outside)} member(s) who are not on the sales team in "
                "Leadbrief, and they would read every brief posted there. Pick a channel only the sales team "
                "is in.")
    return None


def quiet(cmd: commands.Command, user_id: str, services) -> dict:
    """Quiet mode: the rep's non-urgent briefs come in one daily digest."""
    with services.sessions.begin() as s:
        if cmd.quiet is None:
            prefs = followthrough_store.prefs(s, user_id)
        else:
            prefs = followthrough_store.set_quiet(s, user_id, cmd.quiet, cmd.at, services.clock())
            audit.record(s, actor=user_id, action="quiet", at=services.clock(), detail="on" if cmd.quiet else "off")
        on, at = (prefs.quiet, prefs.digest_time) if prefs else (False, "09:00")
    if on:
        return {"text": f"🔕 Quiet mode is on: your non-urgent leads come in one digest at {at} your time, on "
                        "business days. Hand-raisers still come at once. `/lead quiet off` to go back."}
    return {"text": "🔔 Real-time: every brief is posted as soon as the lead qualifies. "
                    "`/lead quiet on` for a daily digest instead."}


def stats(days: int, user_id: str, services) -> dict:
    """Marketing feedback over the last `days`; with access.own_leads_only, over the rep's own leads."""
    now = services.clock()
    with services.sessions() as s:
        rows = stats_store.rows(s, days, now, owner=own_email(services, user_id))
    _audit(services, user_id, "stats", detail=f"{days}d")
    return stats_model.to_blocks(stats_model.build(rows, days, now))
