"""What delivering one brief comes to, as the outbox worker reads it: sent, deferred, failed, parked.

The worker is generic: what a sink needs written besides the outbox's own record (the follow-through
clock, a digest queue) comes with the outcome, as a write the worker runs in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

# A sink's own write, run by the worker in the transaction that records the outcome.
Write = Callable[[Session], None]


class DeliveryError(Exception):
    """The post failed: retry after retry_in, or never (dead letter) when retry_in is None. `maybe_posted`: a post
    written down for this delivery may have gone out all the same (5xx, connection cut, or the failure came
    before it could be checked): the next attempt looks for it in Slack first. False only when Slack refused
    the post outright."""

    def __init__(self, message: str, retry_in: timedelta | None = timedelta(seconds=30),
                 maybe_posted: bool = True) -> None:
        super().__init__(message)
        self.retry_in = retry_in
        self.maybe_posted = maybe_posted


class DeferredError(Exception):
    """Not now (channel pacing, Retry-After); does not count as an attempt. `slot`: the posting slot booked
    for it (channel, Unix seconds), kept with the delivery until it comes round. `maybe_posted`: as
    DeliveryError's."""

    def __init__(self, wait: timedelta, slot: tuple[str, float] | None = None, maybe_posted: bool = True) -> None:
        super().__init__(f"deferred {wait.total_seconds():.1f}s")
        self.wait = wait
        self.slot = slot
        self.maybe_posted = maybe_posted


class LeaseLost(Exception):
    """Right before posting, the delivery turned out to be another worker's (our lease ran out): do not post."""


class Parked(Exception):
    """Not posted, and not the outbox's to retry: the sink moved the delivery elsewhere (quiet mode keeps it
    for the rep's digest). `write` records where, in the worker's transaction."""

    def __init__(self, message: str, write: Write) -> None:
        super().__init__(message)
        self.write = write


NOT_POSTED = "-"  # Sent.channel of a side delivery settled without a post (the brief went to its owner after all)


@dataclass(frozen=True)
class Sent:
    channel: str
    ts: str | None = None
    queue_reason: str | None = None
    # (channel as paced, Unix time the request left): the next post to it keeps its distance from then.
    paced: tuple[str, float] | None = None
    # The sink's own record of the post (the deliver use case starts the follow-through clock), written
    # in the transaction that marks the delivery sent.
    write: Write | None = None
