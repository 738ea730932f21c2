"""Where and how a rep's new briefs come: `/lead route #channel` (a channel of their own, refused when people
outside the sales team are in it), `/lead route` (where they go now) and `/lead quiet` (one daily digest of
the non-urgent ones)."""

from __future__ import annotations

from bot.gateway import AccessControl
from bot.usecases.deps import Services
from bot.usecases.lookup import Reply, slack_of
from storage import audit
from storage import followthrough as followthrough_store
from storage import leads as lead_store

NO_EMAIL = ("I could not read your email address from Slack, so I cannot route leads to you. "
            "Ask an admin to check that the app has the users:read.email scope.")
DEFAULT_DIGEST_TIME = "09:00"


def show_route(services: Services, user_id: str) -> Reply:
    email = slack_of(services).directory.email_of(user_id)
    if not email:
        return {"text": NO_EMAIL}
    with services.sessions() as s:
        channel = lead_store.get_route(s, email) or services.settings.slack_routes.get(email)
    if channel:
        return {"text": f"Your new briefs go to <#{channel}>. Change it with `/lead route #channel`."}
    return {"text": "Your new briefs come to you as a direct message. Send them to a channel with `/lead route #channel`."}


def set_route(services: Services, user_id: str, channel: str) -> Reply:
    slack = slack_of(services)
    email = slack.directory.email_of(user_id)
    if not email:
        return {"text": NO_EMAIL}
    refused = unsafe_route(slack.access, channel)
    if refused:
        with services.sessions.begin() as s:
            audit.record(s, actor=user_id, action="route_refused", at=services.clock(), detail=channel)
        return {"text": refused}
    with services.sessions.begin() as s:
        lead_store.set_route(s, email, channel, user_id, services.clock())
        audit.record(s, actor=user_id, action="route", at=services.clock(), detail=channel)
    return {"text": f"Done: your new briefs will go to <#{channel}>. If it is a private channel, invite me there first."}


def unsafe_route(access: AccessControl | None, channel: str) -> str | None:
    """Why briefs may not go to channel: someone outside [access] would read them (or Slack will not say).
    Waits for Slack to say who is in the channel (bot.gateway.route_problem, at delivery, does not)."""
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


def quiet_mode(services: Services, user_id: str, quiet: bool | None, at: str | None = None) -> Reply:
    """Quiet mode on or off (audited), or, with quiet None, which one is on."""
    with services.sessions.begin() as s:
        if quiet is None:
            prefs = followthrough_store.prefs(s, user_id)
        else:
            prefs = followthrough_store.set_quiet(s, user_id, quiet, at, services.clock())
            audit.record(s, actor=user_id, action="quiet", at=services.clock(), detail="on" if quiet else "off")
        on, digest_at = (prefs.quiet, prefs.digest_time) if prefs else (False, DEFAULT_DIGEST_TIME)
    if on:
        return {"text": f"🔕 Quiet mode is on: your non-urgent leads come in one digest at {digest_at} your time, "
                        "on business days. Hand-raisers still come at once. `/lead quiet off` to go back."}
    return {"text": "🔔 Real-time: every brief is posted as soon as the lead qualifies. "
                    "`/lead quiet on` for a daily digest instead."}
