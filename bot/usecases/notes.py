"""Handoff notes: `/lead note EMAIL TEXT` saves a note on the lead (audited, without its text) and posts it in
the thread of the lead's latest brief, so that it travels with the lead. A note the posted brief does not
show (saved while the brief waited, or a lead.note from marketing after it was built) is posted in its
thread by the follow-through worker (thread_notes)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.gateway import UNREACHABLE, error_code
from bot.usecases.deps import Services
from bot.usecases.lookup import Reply, slack_of, viewer_scope
from briefs import visibility
from briefs.blocks import Message, is_user_id, note_message
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
    name = escape_mrkdwn(added.lead_name)
    if added.thread_ts and added.channel and added.note_id is not None:
        try:
            posted = _post(slack.client, added.channel, added.thread_ts, note_message(user_id, text, services.clock()))
        except (SlackApiError, OSError) as exc:
            # Saved and claimed: once the claim runs out the follow-through worker posts it (thread_notes).
            log.warning("note %d not posted in the brief's thread (%s)", added.note_id, error_code(exc))
            later = ("I will post it there in a few minutes." if added.retried else
                     f"It is saved with the lead and shown whenever their brief is opened (`/lead {added.lead_email}`).")
            return {"text": f"Saved your note on {name}. Slack did not take it in the brief's thread just now: {later}"}
        with services.sessions.begin() as s:  # so that erasure can find and redact it
            lead_store.note_posted(s, added.note_id, posted["channel"], posted["ts"])
        where = " and posted in the brief's thread"
    elif added.brief_on_its_way:
        where = "; their brief is on its way, and the note will be posted in its thread"
    else:
        where = "; it will appear in their brief"
    return {"text": f"Saved your note on {name}{where}."}


def _post(client: WebClient, channel: str, thread_ts: str, message: Message) -> Any:
    """A note as a reply in the brief's thread (links not unfurled: they are the lead's or marketing's)."""
    return client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message["text"],
                                   blocks=message["blocks"], unfurl_links=False, unfurl_media=False)


def thread_notes(services: Services, client: WebClient, since: datetime) -> int:
    """Post in the brief's thread each note the posted brief does not show: one saved while the brief waited
    in the outbox or was being posted, or sent by marketing (a lead.note) after it was built. Each is claimed
    first, at the moment it is taken, so that several workers post it once; a post Slack refused is tried
    again when the claim runs out, unless the thread is gone. Returns how many were posted."""
    posted = 0
    while True:
        with services.sessions() as s:
            waiting = lead_store.notes_for_threads(s, services.clock(), since, THREAD_BATCH)
        for note in waiting:
            posted += _thread_one(services, client, note)
        if len(waiting) < THREAD_BATCH:
            return posted


THREAD_BATCH = 50


def _thread_one(services: Services, client: WebClient, note: lead_store.ThreadNote) -> int:
    with services.sessions.begin() as s:
        claimed = lead_store.claim_note(s, note.note_id, services.clock())
        if claimed is None:
            return 0  # another worker has it, or it was erased meanwhile
        # As it is now, in the claim's transaction: an erasure after this finds the reply and redacts it.
        body, author, ref, role, at = (claimed.body, claimed.author, claimed.author_ref, claimed.author_role,
                                       claimed.created_at)
    who = ref if ref and is_user_id(ref) else author
    try:
        sent = _post(client, note.channel, note.thread_ts, note_message(who, body, at, role))
    except (SlackApiError, OSError) as exc:
        code = error_code(exc)
        if code in UNREACHABLE:
            with services.sessions.begin() as s:
                lead_store.give_up_note(s, note.note_id)
            log.warning("note %d not posted: its brief's thread is gone (%s)", note.note_id, code)
        else:
            log.warning("note %d not posted in its brief's thread (%s); trying again in %s", note.note_id, code,
                        lead_store.NOTE_CLAIM)
        return 0
    with services.sessions.begin() as s:
        lead_store.note_posted(s, note.note_id, sent["channel"], sent["ts"])
    return 1
