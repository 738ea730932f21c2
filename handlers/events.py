"""Events API: the App Home shows the rep's queue (open leads with SLA timers and buttons) and marketing's
summary of the last 30 days."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.usecases import stats

log = logging.getLogger("leadbrief.events")


def register(app) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event, client, context):
    if event.get("tab") not in (None, "home"):
        return
    publish_home(context["services"], client, event["user"], audit_it=True)


def publish_home(services, client, user: str, *, audit_it: bool = False) -> None:
    view = stats.home(services, user, audited=audit_it)
    try:
        client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        log.warning("could not publish the App Home: %s", exc.response.get("error"))
