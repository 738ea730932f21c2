"""`/lead`: acknowledge at once, then answer privately through response_url."""

from __future__ import annotations

import logging

from bot.usecases import account_view, lookup, notes, routes, stats
from briefs import commands
from briefs.commands import Action

log = logging.getLogger("leadbrief.commands")

DEFAULT_STATS_DAYS = 30


def register(app) -> None:
    app.command("/lead")(lead_command)


def lead_command(ack, command, respond, context):
    ack()
    services = context["services"]
    cmd = commands.parse(command.get("text"))
    user_id = command["user_id"]

    def answer() -> None:
        try:
            reply = handle(cmd, user_id, services)
        except Exception:
            log.exception("/lead %s failed", cmd.action)
            reply = {"text": "Sorry, that did not work. Please try again in a moment."}
        respond(response_type="ephemeral", replace_original=False, **reply)

    if cmd.action is Action.ROUTE:  # waits on Slack (who is in the channel), not the CPU: no need to queue
        answer()
        return
    services.slack.after_ack(answer, lambda: respond(response_type="ephemeral", replace_original=False, text=BUSY))


# When more requests wait for the work slot than bot.gateway.MAX_WAITING.
BUSY = "Leadbrief is very busy right now. Please try again in a minute."


def handle(cmd: commands.Command, user_id: str, services) -> dict:
    """One use case per action (the sender was let in by bot.slack before this runs)."""
    if cmd.action is Action.HELP:
        return {"text": commands.HELP}
    if cmd.action is Action.INVALID:
        return {"text": f"{cmd.error}\n\n{commands.HELP}"}
    if cmd.action is Action.LOOKUP:
        return lookup.lookup(services, user_id, cmd.email)
    if cmd.action is Action.SEARCH:  # an account's exact name or domain shows the account (issue 18)
        return account_view.account_reply(services, user_id, cmd.text) or lookup.search(services, user_id, cmd.text)
    if cmd.action is Action.ACCOUNT:
        return account_view.account_reply(services, user_id, cmd.text, explicit=True)
    if cmd.action is Action.NOTE:
        return notes.add_note(services, user_id, cmd.email, cmd.text)
    if cmd.action is Action.ROUTE_SHOW:
        return routes.show_route(services, user_id)
    if cmd.action is Action.ROUTE:
        return routes.set_route(services, user_id, cmd.channel)
    if cmd.action is Action.MINE:
        return lookup.mine(services, user_id)
    if cmd.action is Action.STATS:
        return stats.stats(services, user_id, cmd.days or DEFAULT_STATS_DAYS)
    if cmd.action is Action.QUIET:
        return routes.quiet_mode(services, user_id, cmd.quiet, cmd.at)
    return {"text": commands.HELP}  # pragma: no cover - parse() returns only the actions above
