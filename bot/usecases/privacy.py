"""Overwrite the briefs already posted in Slack for a lead that has been forgotten (`leadbrief forget`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("leadbrief.erasure")

# A 429's Retry-After is waited out once per message, up to this long.
MAX_RETRY_AFTER = 60.0
# Nothing is left to redact: the message was deleted in Slack already.
GONE = {"message_not_found"}


def redacted_message(now: datetime) -> dict:
    """The neutral replacement: no name, company, email or activity of the lead."""
    text = f"Lead data removed on request ({now:%Y-%m-%d})."
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _retry_after(exc: SlackApiError) -> float | None:
    response = exc.response
    if getattr(response, "status_code", None) != 429:
        return None
    headers = getattr(response, "headers", None) or {}
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER)
    except (TypeError, ValueError):
        return 1.0


def redact_posted(client: WebClient, posted: list[tuple[str, str]], now: datetime, *,
                  sleep: Callable[[float], None] = time.sleep,
                  replacement: Callable[[str, str], dict | None] | None = None) -> list[str]:
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
