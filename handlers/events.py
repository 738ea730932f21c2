"""Events API: the App Home shows the rep's open leads."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from briefs.blocks import open_leads_blocks
from storage import audit
from storage import leads as lead_store

log = logging.getLogger("leadbrief.events")


def register(app) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event, client, context):
    if event.get("tab") not in (None, "home"):
        return
    services = context["services"]
    user = event["user"]
    email = services.slack.directory.email_of(user)
    with services.sessions.begin() as s:
        mine = lead_store.open_leads(s, email, user)
        audit.record(s, actor=user, action="home", at=services.clock(), detail=f"{len(mine)} open leads")
    listing = open_leads_blocks(mine, services.clock())
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Your leads"}}]
    blocks += listing["blocks"] or [{"type": "section", "text": {"type": "mrkdwn", "text": listing["text"]}}]
    try:
        client.views_publish(user_id=user, view={"type": "home", "blocks": blocks})
    except SlackApiError as exc:
        log.warning("could not publish the App Home: %s", exc.response.get("error"))
