"""Privacy: erase one lead (`leadbrief forget`: the database now, then the briefs already posted in Slack),
delete old activities (`leadbrief purge`), and read the audit log back (`leadbrief audit`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.gateway import retry_after, web_client
from bot.usecases.deps import Services
from bot.usecases.followup import digest_without
from storage import audit, privacy
from storage.privacy import Forgotten

log = logging.getLogger("leadbrief.erasure")

# A 429's Retry-After is waited out once per message, up to this long.
MAX_RETRY_AFTER = 60.0
# Nothing is left to redact: the message was deleted in Slack already.
GONE = {"message_not_found"}


Message = dict[str, Any]


def preview(services: Services, email: str) -> Forgotten | None:
    """What forgetting the lead with this email would remove (None: no such lead), changing nothing."""
    with services.sessions() as s:
        return privacy.describe(s, email)


def forget(services: Services, email: str, actor: str) -> Forgotten | None:
    """Remove the lead and everything stored about it, audited (None: no such lead). The briefs posted in
    Slack are still to redact: redact_forgotten, once this has committed."""
    with services.sessions.begin() as s:
        return privacy.forget(s, email, actor, services.clock())


def redact_forgotten(services: Services, forgotten: Forgotten, actor: str) -> list[str]:
    """Overwrite the forgotten lead's posted briefs in Slack (a digest is shown again without the lead), and
    audit how many were. Returns one "channel ts: reason" line per message left to delete by hand."""
    total = len(forgotten.posted)
    if not services.settings.slack_enabled:
        errors = [f"{c} {t}: Slack is not configured (SLACK_BOT_TOKEN)" for c, t in forgotten.posted]
    else:
        errors = redact_posted(web_client(services.settings, interactive=False), forgotten.posted, services.clock(),
                               replacement=lambda channel, ts: digest_without(services, channel, ts))
    redacted = total - len(errors)
    with services.sessions.begin() as s:
        audit.record(s, actor=actor, action="redact", at=services.clock(), lead_ref=forgotten.lead_ref,
                     detail=f"{redacted} of {total} posted briefs redacted in Slack"
                            + (": " + "; ".join(errors) if errors else ""))
    return errors


@dataclass(frozen=True)
class Purged:
    count: int  # activities deleted (or, on a dry run, that would be)
    cutoff: datetime  # activities that occurred before this


def purge(services: Services, retention_days: int, actor: str, *, dry_run: bool = False) -> Purged:
    """Delete the activities older than retention_days, audited (a dry run only counts them)."""
    now = services.clock()
    with services.sessions.begin() as s:
        count = privacy.purge(s, retention_days, actor, now, dry_run=dry_run)
    return Purged(count, now - timedelta(days=retention_days))


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str
    action: str
    lead_id: int | None
    lead_ref: str | None
    detail: str | None


def audit_trail(services: Services, *, lead_ref: str | None, actor: str | None, limit: int) -> list[AuditLine]:
    """Who looked at or changed which lead, newest first (storage.audit.entries)."""
    with services.sessions() as s:
        return [AuditLine(e.at, e.actor, e.action, e.lead_id, e.lead_ref, e.detail)
                for e in audit.entries(s, lead_ref=lead_ref, actor=actor, limit=limit)]


def redacted_message(now: datetime) -> Message:
    """The neutral replacement: no name, company, email or activity of the lead."""
    text = f"Lead data removed on request ({now:%Y-%m-%d})."
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _retry_after(exc: SlackApiError) -> float | None:
    """Seconds a 429 asks us to wait, at most MAX_RETRY_AFTER; None for any other failure."""
    if getattr(exc.response, "status_code", None) != 429:
        return None
    return min(max(retry_after(exc), 0.0), MAX_RETRY_AFTER)


def redact_posted(client: WebClient, posted: list[tuple[str, str]], now: datetime, *,
                  sleep: Callable[[float], None] = time.sleep,
                  replacement: Callable[[str, str], Message | None] | None = None) -> list[str]:
    """chat.update each posted brief (channel, ts) with `redacted_message(now)`, or with what `replacement`
    gives for it (None: redact).

    Returns one "channel ts: error" line per message that could not be overwritten, without raising: the
    database erasure has happened by then and the caller reports what is left to do by hand. A message already
    deleted in Slack counts as done. A 429 is waited out (Retry-After, at most a minute) once per message."""
    redacted = redacted_message(now)
    errors: list[str] = []
    for channel, ts in posted:
        # A message about other leads too (a quiet-mode digest) is shown again without this one.
        message = (replacement(channel, ts) if replacement else None) or redacted
        waited = False
        while True:
            try:
                client.chat_update(channel=channel, ts=ts, attachments=[], **message)
                break
            except SlackApiError as exc:
                wait = _retry_after(exc)
                if wait is not None and not waited:
                    waited = True
                    sleep(wait)
                    continue
                error = (exc.response.get("error") if hasattr(exc.response, "get") else None) or "unknown_error"
                if error not in GONE:
                    errors.append(f"{channel} {ts}: {error}")
                break
            except Exception as exc:  # network trouble after the client's own retries
                log.warning("could not redact %s %s: %s", channel, ts, exc.__class__.__name__)
                errors.append(f"{channel} {ts}: {exc.__class__.__name__}")
                break
    return errors
