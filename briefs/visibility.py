"""Who may see which lead: the visibility policy, as pure functions.

With [access] own_leads_only, a rep sees only the leads they own, matched by their Slack email against the
lead's owner_email (case-insensitive). Without it, everyone Slack lets in (bot.gateway.AccessControl) sees
every lead. A scope is what a viewer may see: EVERY_LEAD, or the one owner email whose leads they may see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

# The scope of a viewer who may see every lead.
EVERY_LEAD: str | None = None
# The scope of a rep under own_leads_only whose email Slack did not give: it matches no lead's owner.
NO_LEAD = "-"

NOT_YOURS = "You can only see leads you own. Ask the lead's owner, or your sales manager, for this one."


def scope(own_leads_only: bool, viewer_email: str | None) -> str | None:
    """What a viewer may see: EVERY_LEAD, or (own_leads_only) the lower-cased email whose leads are theirs."""
    if not own_leads_only:
        return EVERY_LEAD
    return (viewer_email or "").lower() or NO_LEAD


def may_see(viewer_scope: str | None, owner_email: str | None) -> bool:
    """Whether a viewer with this scope may see a lead owned by owner_email."""
    return viewer_scope is EVERY_LEAD or (owner_email or "").lower() == viewer_scope


def visible(viewer_scope: str | None, items: Iterable[T], owner_of: Callable[[T], str | None]) -> list[T]:
    """The items (leads, matches) the viewer may see, in their order."""
    return [item for item in items if may_see(viewer_scope, owner_of(item))]
