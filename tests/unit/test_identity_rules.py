"""briefs.identity: which lead a visitor resolves to, which link wins, and the visitor fields of the contract."""

from datetime import UTC, datetime, timedelta

import pytest

from briefs import identity
from briefs.events import validate_event
from briefs.identity import Target

T = datetime(2026, 3, 9, 10, tzinfo=UTC)
LEAD, OTHER = Target(lead_id=7), Target(lead_id=9)


def test_a_chain_anonymous_id_to_user_id_to_lead_resolves():
    links = {("anonymous_id", "a"): Target(user_id="u"), ("user_id", "u"): LEAD}
    assert identity.resolve([("anonymous_id", "a")], links) == 7


def test_the_user_id_is_tried_before_the_anonymous_id():
    links = {("anonymous_id", "a"): OTHER, ("user_id", "u"): LEAD}
    assert identity.resolve([("user_id", "u"), ("anonymous_id", "a")], links) == 7
    # A user id that leads nowhere yet falls back to the browser's anonymous id.
    assert identity.resolve([("user_id", "new"), ("anonymous_id", "a")], links) == 9


def test_cycles_and_over_long_chains_resolve_to_nobody():
    cycle = {("user_id", "x"): Target(user_id="y"), ("user_id", "y"): Target(user_id="x")}
    assert identity.resolve([("user_id", "x")], cycle) is None
    chain = {("user_id", str(i)): Target(user_id=str(i + 1)) for i in range(identity.MAX_HOPS + 2)}
    chain["user_id", str(identity.MAX_HOPS + 2)] = LEAD
    assert identity.resolve([("user_id", "0")], chain) is None
    assert identity.resolve([("user_id", "3")], chain) == 7


@pytest.mark.parametrize("current,new,current_at,new_at,replaces", [
    (LEAD, OTHER, T, T + timedelta(minutes=1), True),  # the newest identify is who the visitor is
    (LEAD, OTHER, T, T - timedelta(minutes=1), False),  # a late, older identify does not undo it
    (Target(user_id="u"), LEAD, T, T - timedelta(days=1), True),  # a lead beats a user id whatever the time
    (LEAD, Target(user_id="u"), T, T + timedelta(days=1), False),  # an alias never takes a visitor away
    (Target(user_id="u"), Target(user_id="v"), T, T + timedelta(days=1), False),
    (None, Target(user_id="u"), T, T, True),
])
def test_which_link_wins(current, new, current_at, new_at, replaces):
    assert identity.replaces(current, new, current_at, new_at) is replaces


def test_an_alias_merges_a_new_user_id_into_a_known_lead_only():
    assert identity.merged_lead(7, None) == 7
    assert identity.merged_lead(7, 9) is None
    assert identity.merged_lead(None, None) is None


BASE = {"id": "e1", "occurred_at": "2026-03-09T10:00:00Z", "source": "segment"}


@pytest.mark.parametrize("event,field,message", [
    ({"type": "activity", "kind": "web_visit"}, "email",
     "needs email or visitor (the lead's email, or the source's user_id/anonymous_id)"),
    ({"type": "activity", "kind": "web_visit", "email": "a@b.example", "visitor": {"user_id": "u"}}, "visitor",
     "takes email or visitor, not both"),
    ({"type": "activity", "kind": "web_visit", "visitor": {"user_id": " "}}, "visitor.user_id", "must not be empty"),
    ({"type": "activity", "kind": "web_visit", "visitor": {}}, "visitor",
     "needs user_id or anonymous_id (a non-empty string)"),
    ({"type": "activity", "kind": "web_visit", "visitor": {"anonymous_id": "x" * 201}}, "visitor.anonymous_id",
     "is longer than 200 characters"),
    ({"type": "identity.link", "visitor": {"anonymous_id": "a"}}, "email",
     "needs exactly one of email or user_id (whom the visitor's ids belong to)"),
    ({"type": "identity.link", "visitor": {"anonymous_id": "a"}, "email": "a@b.example", "user_id": "u"}, "email",
     "needs exactly one of email or user_id (whom the visitor's ids belong to)"),
    ({"type": "identity.link", "visitor": {"user_id": "u"}, "user_id": "u"}, "user_id", "links user_id to itself"),
    ({"type": "identity.link", "email": "a@b.example"}, "visitor", "is required"),
    ({"type": "identity.link", "visitor": {"user_id": "u"}, "email": "not-an-email"}, "email",
     "is not an email address (expected name@domain)"),
])
def test_visitor_fields_name_what_is_wrong(event, field, message):
    parsed, errors = validate_event({**BASE, **event})
    assert parsed is None
    assert [(e.field, e.message) for e in errors] == [(field, message)]


def test_an_activity_by_visitor_and_a_link_are_valid():
    activity, errors = validate_event({**BASE, "type": "activity", "kind": "web_visit",
                                       "visitor": {"user_id": "u-1", "anonymous_id": "a-1"}})
    assert errors == [] and activity.email is None and activity.visitor.ids() == [("user_id", "u-1"),
                                                                                 ("anonymous_id", "a-1")]
    link, errors = validate_event({**BASE, "type": "identity.link", "visitor": {"anonymous_id": "a-1"},
                                   "email": " Lea@Fabrique.example "})
    assert errors == [] and link.email == "lea@fabrique.example"
    upsert, errors = validate_event({**BASE, "type": "lead.upsert", "lead": {"email": "lea@fabrique.example"},
                                     "visitor": {"user_id": "u-1"}})
    assert errors == [] and upsert.visitor.user_id == "u-1"
