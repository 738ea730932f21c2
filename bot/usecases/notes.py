"""Handoff notes: `/lead note EMAIL TEXT` saves a note on the lead (audited, without its text) and posts it in
the thread of the lead's latest brief, so that it travels with the lead."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.usecases.deps import Services
from bot.usecases.lookup import Reply, slack_of, viewer_scope
from briefs import visibility
from briefs.blocks import note_message
from briefs.markup import escape_mrkdwn
from storage import audit, queries
from storage import leads as lead_store

log = logging.getLogger("leadbrief.notes")


def author_role(services: Services, user_id: str) -> str | None:
    """The role [notes] roles gives this Slack user, directly or through a user group; None when none does
    (or Slack will not say who is in a group): the note is then shown without a role, never a wrong one."""
    roles = services.settings.note_roles
    if user_id in roles:
        return roles[user_id]
    slack = services.slack
    for group, role in roles.items():
        if not group.startswith("S") or slack is None:
            continue
        try:
            members = slack.client.usergroups_users_list(usergroup=group).get("users") or []
        except SlackApiError as exc:
            log.warning("notes: cannot read user group %s for note roles (%s)", group, exc.response.get("error"))
            continue
        if user_id in members:
            return role
    return None


def add_note(services: Services, user_id: str, email: str, text: str) -> Reply:
    slack = slack_of(services)
    author = slack.directory.name_of(user_id)
    role = author_role(services, user_id)  # may ask Slack: before the transaction
    scope = viewer_scope(services, user_id)
    with services.sessions.begin() as s:
        lead = queries.find_lead(s, email)
        if lead is not None and not visibility.may_see(scope, lead.owner_email):
            return {"text": visibility.NOT_YOURS}
        added = lead_store.add_note(s, email, author, text, services.clock(), role=role, author_ref=user_id)
        if added is not None:  # the note's text stays out of the audit log
            audit.record(s, actor=user_id, action="note", at=services.clock(), lead_id=added.lead_id,
                         lead_ref=added.lead_email)
    if added is None:
        return {"text": f"No lead with the email {escape_mrkdwn(email)}, so the note was not saved. "
                        "Check the address, or find the lead with `/lead NAME`."}
    if added.thread_ts and added.channel and added.note_id is not None:
        message = note_message(user_id, text, services.clock())
        posted = slack.client.chat_postMessage(
            channel=added.channel,
            thread_ts=added.thread_ts,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )
        with services.sessions.begin() as s:  # so that erasure can find and redact it
            lead_store.note_posted(s, added.note_id, posted["channel"], posted["ts"])
        where = " and posted in the brief's thread"
    else:
        where = "; it will appear in their brief"
    return {"text": f"Saved your note on {escape_mrkdwn(added.lead_name)}{where}."}
