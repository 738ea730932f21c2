"""Events API: the App Home shows the rep's queue (open leads with SLA timers and buttons) and marketing's
summary of the last 30 days."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from briefs import stats as stats_model
from briefs.followthrough import home_view
from storage import audit
from storage import followthrough as followthrough_store
from storage import stats as stats_store

log = logging.getLogger("leadbrief.events")

SUMMARY_DAYS = 30


def register(app) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event, client, context):
    if event.get("tab") not in (None, "home"):
        return
    publish_home(context["services"], client, event["user"], audit_it=True)


def publish_home(services, client, user: str, *, audit_it: bool = False) -> None:
    from handlers.commands import own_email

    email = services.slack.directory.email_of(user)
    now = services.clock()
    with services.sessions.begin() as s:
        queue = followthrough_store.queue(s, email, user)
        prefs = followthrough_store.prefs(s, user)
        rows = stats_store.rows(s, SUMMARY_DAYS, now, owner=own_email(services, user))
        if audit_it:
            audit.record(s, actor=user, action="home", at=now, detail=f"{len(queue)} open leads")
    summary = stats_model.to_blocks(stats_model.build(rows, SUMMARY_DAYS, now))["blocks"]
    view = home_view(user, queue, summary, now, bool(prefs and prefs.quiet))
    try:
        client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        log.warning("could not publish the App Home: %s", exc.response.get("error"))
