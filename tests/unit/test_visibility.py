"""The visibility policy (briefs.visibility) and the lead's display name (briefs.people): pure functions."""

from __future__ import annotations

import pytest

from briefs import visibility
from briefs.people import display_name


@pytest.mark.parametrize(("first", "last", "email", "name"), [
    ("Jon", "Doe", "jon@acme.example", "Jon Doe"),
    ("Jon", None, "jon@acme.example", "Jon"),
    (None, "Doe", "jon@acme.example", "Doe"),
    ("", "", "jon@acme.example", "jon@acme.example"),
    (None, None, "jon@acme.example", "jon@acme.example"),
])
def test_display_name_joins_the_known_parts_else_the_email(first, last, email, name):
    assert display_name(first, last, email) == name


def test_without_own_leads_only_everyone_sees_every_lead():
    scope = visibility.scope(False, "jane@ourco.example")
    assert scope is visibility.EVERY_LEAD
    assert visibility.may_see(scope, "omar@ourco.example")
    assert visibility.may_see(scope, None)


def test_with_own_leads_only_a_rep_sees_the_leads_they_own_whatever_the_case():
    scope = visibility.scope(True, "Jane@OurCo.example")
    assert scope == "jane@ourco.example"
    assert visibility.may_see(scope, "JANE@ourco.example")
    assert not visibility.may_see(scope, "omar@ourco.example")
    assert not visibility.may_see(scope, None)  # a lead nobody owns is nobody's under own_leads_only


@pytest.mark.parametrize("email", [None, ""])
def test_a_rep_slack_gives_no_email_for_sees_no_lead(email):
    scope = visibility.scope(True, email)
    assert scope == visibility.NO_LEAD
    assert not visibility.may_see(scope, None)
    assert not visibility.may_see(scope, "")
    assert not visibility.may_see(scope, "jane@ourco.example")


def test_visible_keeps_the_order_of_what_the_viewer_may_see():
    leads = [("a", "jane@ourco.example"), ("b", "omar@ourco.example"), ("c", "JANE@ourco.example"), ("d", None)]
    assert visibility.visible("jane@ourco.example", leads, lambda lead: lead[1]) == [leads[0], leads[2]]
    assert visibility.visible(visibility.EVERY_LEAD, leads, lambda lead: lead[1]) == leads
