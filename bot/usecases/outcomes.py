"""What delivering one brief comes to, as the outbox worker reads it: sent, deferred, failed, held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


class DeliveryError(Exception):
    """The post failed: retry after retry_in, or never (dead letter) when retry_in is None. `maybe_posted`: a post
    written down for this delivery may have gone out all the same (5xx, connection cut, or the failure came
    before it could be checked): the next attempt looks for it in Slack first. False only when Slack refused
    the post outright."""

    def __init__(self, message: str, retry_in: timedelta | None = timedelta(seconds=30), maybe_posted: bool = True):
        super().__init__(message)
        self.retry_in = retry_in
        self.maybe_posted = maybe_posted


class DeferredError(Exception):
    """Not now (channel pacing, Retry-After); does not count as an attempt. `slot`: the posting slot booked
    for it (channel, Unix seconds), kept with the delivery until it comes round. `maybe_posted`: as
    DeliveryError's."""

    def __init__(self, wait: timedelta, slot: tuple[str, float] | None = None, maybe_posted: bool = True):
        super().__init__(f"deferred {wait.total_seconds():.1f}s")
        self.wait = wait
        self.slot = slot
        self.maybe_posted = maybe_posted


class LeaseLost(Exception):
    """Right before posting, the delivery turned out to be another worker's (our lease ran out): do not post."""


class HeldForDigest(Exception):
    """The rep is in quiet mode: keep the brief for their daily digest (bot/followthrough.py sends it)."""

    def __init__(self, user_id: str, until: datetime):
        super().__init__(f"held for {user_id}'s digest")
        self.user_id = user_id
        self.until = until


@dataclass(frozen=True)
class Sent:
    channel: str
    ts: str | None = None
    queue_reason: str | None = None
    # Follow-through: whom the lead is with, and when the speed-to-lead clock runs out (None: no clock).
    rep_user: str | None = None
    sla_due_at: datetime | None = None
    follow_through: bool = False
    # (channel as paced, Unix time the request left): the next post to it keeps its distance from then.
    paced: tuple[str, float] | None = None
