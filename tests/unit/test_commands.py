"""`/lead` parsing (briefs.commands): each verb to its Action, Slack's escaped forms understood."""

from __future__ import annotations

import pytest

from briefs.commands import Action, Command, parse


@pytest.mark.parametrize(("text", "command"), [
    ("", Command(Action.HELP)),
    ("help", Command(Action.HELP)),
    ("<mailto:Jane@Acme.com|Jane@Acme.com>", Command(Action.LOOKUP, email="jane@acme.com")),
    ("jane doe", Command(Action.SEARCH, text="jane doe")),
    ("note jane@acme.com Met at the expo", Command(Action.NOTE, email="jane@acme.com", text="Met at the expo")),
    ("route", Command(Action.ROUTE_SHOW)),
    ("route <#C0SALES1|sales-leads>", Command(Action.ROUTE, channel="C0SALES1")),
    ("route C0SALES1", Command(Action.ROUTE, channel="C0SALES1")),
    ("mine", Command(Action.MINE)),
    ("stats 7d", Command(Action.STATS, days=7)),
    ("quiet on 08:30", Command(Action.QUIET, quiet=True, at="08:30")),
    ("quiet", Command(Action.QUIET)),
])
def test_each_verb_parses_to_its_action(text, command):
    assert parse(text) == command


@pytest.mark.parametrize("text", ["note jane@acme.com", "route #sales", "stats 14d", "quiet off 08:30", "x"])
def test_what_cannot_be_done_is_invalid_with_a_reason(text):
    cmd = parse(text)
    assert cmd.action is Action.INVALID and cmd.error


def test_actions_keep_their_string_values():
    assert [a.value for a in Action] == ["help", "lookup", "search", "note", "route", "route_show", "mine", "stats",
                                         "quiet", "account", "invalid"]


def test_lead_account_names_an_account():
    cmd = parse("account Contoso Ltd.")
    assert (cmd.action, cmd.text) == (Action.ACCOUNT, "Contoso Ltd.")
    assert parse("account contoso.co.uk").text == "contoso.co.uk"
    assert parse("account &lt;Evil &amp; Co&gt;").text == "<Evil & Co>"
    assert parse("account").action == Action.INVALID and "Usage: `/lead account" in parse("account x").error
