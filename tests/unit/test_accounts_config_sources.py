"""[accounts] in leadbrief.toml (defaults, every setting, every mistake named), and the CRM account id each
source carries (HubSpot's associated company, Salesforce's account)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.accounts import load_accounts
from bot.config.file import ConfigFile
from bot.settings import ConfigError, Settings
from briefs.accounts import DEFAULT_POLICY, OwnerRule
from briefs.events import validate_event
from handlers.sources import hubspot, salesforce

FILE = Path("/etc/leadbrief.toml")
FIXTURES = Path(__file__).parent.parent / "fixtures"


def toml(**sections) -> ConfigFile:
    return ConfigFile(path=FILE, data=sections)


def test_defaults_and_every_setting():
    assert load_accounts(ConfigFile()) == DEFAULT_POLICY and load_accounts(toml()) == DEFAULT_POLICY
    assert (DEFAULT_POLICY.window_days, DEFAULT_POLICY.owner_rule, DEFAULT_POLICY.surge.people,
            DEFAULT_POLICY.surge.days) == (14, OwnerRule.MOST_SENIOR, 3, 7)
    policy = load_accounts(toml(accounts={
        "window_days": 21, "owner_rule": "first_qualified", "surge_people": 4, "surge_days": 10, "surge": False,
        "domains": {"Contoso": ["contoso.com", "Mail.Contoso.co.uk"], "Fabrikam": ["fabrikam.se"]}}))
    assert (policy.window_days, policy.owner_rule, policy.surge.people, policy.surge.days, policy.surge.enabled) == (
        21, OwnerRule.FIRST_QUALIFIED, 4, 10, False)
    assert policy.domains == {"Contoso": ("contoso.com", "contoso.co.uk"), "Fabrikam": ("fabrikam.se",)}
    assert policy.group_of("contoso.co.uk") == ("Contoso", ("contoso.com", "contoso.co.uk"))


@pytest.mark.parametrize(("section", "message"), [
    ({"window_day": 3}, "unknown keys: window_day"),
    ({"window_days": 0}, "accounts.window_days must be a whole number from 1 to 365"),
    ({"window_days": True}, "accounts.window_days must be a whole number"),
    ({"owner_rule": "loudest"}, "accounts.owner_rule must be one of most_senior, first_qualified"),
    ({"surge_people": 1}, "accounts.surge_people must be a whole number from 2"),
    ({"domains": ["contoso.com"]}, "accounts.domains must map an account name to its domains"),
    ({"domains": {"Contoso": "contoso.com"}}, "must be a list of domains"),
    ({"domains": {"Contoso": ["co.uk"]}}, "'co.uk' is not a domain"),
    ({"domains": {"A": ["a.com"], "B": ["www.a.com"]}}, "a.com is listed twice"),
])
def test_mistakes_are_named(section, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_accounts(toml(accounts=section))


def test_hubspot_carries_the_associated_company():
    lead, origin = hubspot._lead("501", {"email": "tom.reyes@contoso.co.uk", "company": "Contoso Ltd.",
                                         "associatedcompanyid": "18342950112"}, 62515, None)  # type: ignore[arg-type]
    assert lead["crm_account_id"] == "18342950112"
    assert origin["lead.crm_account_id"] == "properties.associatedcompanyid"
    assert "associatedcompanyid" in hubspot.PROPERTIES
    event, errors = validate_event({"type": "lead.upsert", "id": "h1", "occurred_at": "2026-12-07T10:00:00Z",
                                    "lead": lead})
    assert not errors and event.lead.crm_account_id == "18342950112"


def test_salesforce_carries_the_account():
    xml = (FIXTURES / "salesforce" / "lead_notifications.xml").read_text()
    body = xml.replace("<sf:Email>Sam.Rivera@Globex.example</sf:Email>",
                       "<sf:Email>Sam.Rivera@Globex.example</sf:Email>"
                       "<sf:ConvertedAccountId>0015g00000QxYzAAAB</sf:ConvertedAccountId>", 1).encode()
    settings = salesforce.CONFIG.configure(Settings(database_url="sqlite://", webhook_secret="x" * 32),
                                           org_id="00D5e000000AbCdEAK")
    events = salesforce.translate(body, None, settings).events
    sam = next(e for e in events if e.lead.email.lower() == "sam.rivera@globex.example")
    assert sam.lead.crm_account_id == "0015g00000QxYzAAAB"
    others = [e for e in events if e is not sam]
    assert all(e.lead.crm_account_id is None for e in others)


def test_an_overlong_crm_account_id_is_refused_by_the_contract():
    _event, errors = validate_event({"type": "lead.upsert", "id": "x", "occurred_at": "2026-12-07T10:00:00Z",
                                     "lead": {"email": "a@b.example", "crm_account_id": "9" * 201}})
    assert errors and "crm_account_id" in errors[0].field
