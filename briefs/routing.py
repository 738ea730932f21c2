"""Where a brief goes: the routing decision, pure.

The rep's own route (`/lead route`), else the route configured for them ([slack] routes), else a DM to the
owner, else the team queue with the reason it is there. A route with people outside the sales team in it
(unsafe) is passed over for the DM, and the rep is told why.
"""

from __future__ import annotations

from dataclasses import dataclass

# Queue reasons, shown on a brief that went to the team queue.
NO_OWNER = "no owner in the CRM"
ROUTE_FAILED = "could not post to the rep's route"


@dataclass(frozen=True)
class Route:
    channel: str
    queue_reason: str | None = None
    rep_user: str | None = None  # the rep the lead is with, when they are in this workspace
    # The rep's route passed over because it is unsafe, and why: the rep is told (they get the brief by DM).
    unsafe_channel: str | None = None
    unsafe_reason: str | None = None


def rep_route(stored: str | None, configured: str | None) -> str | None:
    """The rep's own channel: the one they set with `/lead route`, else the one configured for them."""
    return stored or configured


def decide_route(owner_email: str | None, stored_route: str | None, configured_route: str | None,
                 rep_user: str | None, unsafe: str | None, queue: str) -> Route:
    """owner_email: the lead's owner in the CRM; stored_route / configured_route: the owner's route from
    `/lead route` and from [slack] routes; rep_user: the owner's Slack user id (the directory's answer, None
    when they are not in the workspace); unsafe: why the owner's route may not take briefs (None: it may);
    queue: the team queue channel."""
    if not owner_email:
        return Route(queue, NO_OWNER)
    channel = rep_route(stored_route, configured_route)
    if channel and not unsafe:
        return Route(channel, rep_user=rep_user)
    if rep_user:
        if channel and unsafe:
            return Route(rep_user, rep_user=rep_user, unsafe_channel=channel, unsafe_reason=unsafe)
        return Route(rep_user, rep_user=rep_user)
    if channel and unsafe:
        return Route(queue, f"the rep's brief channel {unsafe}")
    return Route(queue, f"owner {owner_email} is not in this Slack workspace")


def route_failed(error: str) -> str:
    """The queue reason of a brief that Slack would not take in the rep's route."""
    return f"{ROUTE_FAILED} ({error})"


def to_queue(route: Route, queue: str, reason: str) -> Route:
    """The team queue instead of the rep's route (Slack called it gone, or refused the post there)."""
    return Route(queue, reason, route.rep_user)
