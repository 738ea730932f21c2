"""Customer facts (renewal, ARR, CSM, churn) arrive from Salesforce custom fields and HubSpot custom
properties mapped in leadbrief.toml, and from CSV exports; a bad value is named with the CRM's own field name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from handlers.sources import salesforce
from storage import queries
from tests.e2e.test_source_salesforce import FIXTURES, ORG, OWNERS, SECRET, acked, fresh, post
from tests.support.live import LiveServer

CUSTOMER_FIELDS = {"renewal_date": "Renewal_Date__c", "arr": "Renewal_ARR__c", "plan": "Plan__c",
                   "csm_email": "Customer_Success_Manager__c", "former_customer": "Former_Customer__c",
                   "churned_on": "Churn_Date__c", "churn_reason": "Churn_Reason__c"}


@pytest.fixture
def sf_customer_server(settings):
    configured = salesforce.CONFIG.configure(settings, secret=SECRET, org_id=ORG, owners=OWNERS,
                                             customer_fields=CUSTOMER_FIELDS)
    with LiveServer(configured) as server:
        yield server


def test_salesforce_custom_fields_become_customer_facts_and_a_bad_one_is_named(http, sf_customer_server, caplog):
    r = post(http, sf_customer_server, fresh((FIXTURES / "customer_fields.xml").read_bytes()))
    assert acked(r)
    with sf_customer_server.services.sessions() as s:
        helen = queries.lead_view(queries.find_lead(s, "helen.brandt@northwind.example"))
        assert (helen.renewal_date, helen.arr, helen.plan, helen.csm_email) == (
            date(2027, 1, 18), 48000, "Enterprise", "carla.csm@ourco.example")
        assert not helen.former_customer
        keller = queries.lead_view(queries.find_lead(s, "m.keller@fabrikam.example"))
        assert keller.former_customer and keller.churned_on == date(2025, 6, 30)
        assert keller.churn_reason == "Preis zu hoch, zu Wettbewerber gewechselt"
        # "next spring" is not a date: that notification is skipped, the others are kept.
        assert queries.find_lead(s, "ana@litware.example") is None
    assert "Renewal_Date__c" in caplog.text


def test_without_a_mapping_custom_fields_are_ignored(http, settings):
    configured = salesforce.CONFIG.configure(settings, secret=SECRET, org_id=ORG, owners=OWNERS)
    with LiveServer(configured) as server:
        assert acked(post(http, server, fresh((FIXTURES / "customer_fields.xml").read_bytes())))
        with server.services.sessions() as s:
            helen = queries.lead_view(queries.find_lead(s, "helen.brandt@northwind.example"))
            assert helen.renewal_date is None and helen.csm_email is None
            assert queries.find_lead(s, "ana@litware.example") is not None


# --- HubSpot: custom contact properties, a "HubSpot user" property for the CSM -------------------------------

HUBSPOT_PROPERTIES = {"renewal_date": "contract_renewal_date", "arr": "arr", "currency": "arr_currency",
                      "csm_email": "customer_success_manager", "open_escalations": "open_support_escalations"}
CSM_OWNER_ID = "88230011"


def test_hubspot_custom_properties_become_customer_facts_the_csm_read_as_an_owner(http, settings):
    from handlers.sources import hubspot
    from tests.e2e.test_source_hubspot import CLIENT_SECRET, OWNER_ID, TOKEN, fixture, fresh
    from tests.e2e.test_source_hubspot import post as post_hubspot
    from tests.support.fake_hubspot import FakeHubSpot

    with FakeHubSpot(token=TOKEN) as fake:
        # HubSpot sends a date property as epoch milliseconds at UTC midnight, numbers as strings.
        fake.add_contact("501", **{**fixture("contact_501"), "lifecyclestage": "customer"},
                         contract_renewal_date="1768694400000", arr="48000", arr_currency="eur",
                         customer_success_manager=CSM_OWNER_ID, open_support_escalations="2")
        fake.add_owner(OWNER_ID, "jane@ourco.example")
        fake.add_owner(CSM_OWNER_ID, "carla.csm@ourco.example", first="Carla", last="Csm")
        configured = hubspot.CONFIG.configure(settings, client_secret=CLIENT_SECRET, access_token=TOKEN,
                                              api_url=fake.url, customer_properties=HUBSPOT_PROPERTIES)
        with LiveServer(configured) as server:
            assert post_hubspot(http, server, fresh(fixture("creation_and_mql"))).status_code == 202
            asked = fake.calls_to("/crm/v3/objects/contacts/501")[0]["query"]["properties"].split(",")
            assert set(HUBSPOT_PROPERTIES.values()) <= set(asked)
            with server.services.sessions() as s:
                jon = queries.lead_view(queries.find_lead(s, "jon.doe@acme.example"))
    assert (jon.renewal_date, jon.arr, jon.currency, jon.csm_email, jon.open_escalations) == (
        date(2026, 1, 18), 48000, "EUR", "carla.csm@ourco.example", 2)
    assert jon.is_customer


# --- CSV: as CRM and CS-tool exports name the columns -----------------------------------------------------------

def test_a_csv_export_with_customer_columns_in_european_and_us_formats(tmp_path):
    from handlers.csv_import import read_csv

    path = Path(tmp_path / "customers.csv")
    path.write_text(
        "Email,Company,Is Customer,Renewal Date,ARR,Customer Success Manager,Churned,Churn Date,Churn Reason\n"
        "helen.brandt@northwind.example,Northwind Traders,yes,18.01.2027,\"€48.000,00\",carla.csm@ourco.example,,,\n"
        "m.keller@fabrikam.example,Fabrikam GmbH,no,,,,yes,06/30/2025,\"Price; moved to a competitor\"\n"
        "ana@litware.example,Litware,yes,soon,,,,,\n"
        "li@contoso.example,Contoso,yes,2027-03-01,\"$1,250,000\",,,,\n"
        "kim@fabrikam.example,Fabrikam,yes,2027-02-01,\"€48,000 ARR\",,,,\n"
        "ola@tailspin.example,Tailspin,yes,2027-02-01,EUR 1.5 Mio,,,,\n"
        "bo@wingtip.example,Wingtip,yes,2027-02-01,48 apples,,,,\n",
        encoding="utf-8")
    items = list(read_csv(path, "leads", {}))
    helen, keller, ana, li, kim, ola, bo = (item.event.lead if item.event else item.errors for item in items)
    assert (helen.renewal_date, helen.arr, helen.currency, helen.csm_email) == (
        date(2027, 1, 18), 48000, "EUR", "carla.csm@ourco.example")
    assert keller.former_customer and keller.churned_on == date(2025, 6, 30)
    assert keller.churn_reason == "Price; moved to a competitor"
    assert ana[0].field == "renewal_date" and "'soon' is not a date" in ana[0].message
    assert (li.arr, li.currency) == (1_250_000, "USD")
    # "ARR" after the amount says what it is, not which currency; millions as written; words are refused.
    assert (kim.arr, kim.currency, ola.arr, ola.currency) == (48_000, "EUR", 1_500_000, "EUR")
    assert bo[0].field == "arr" and "'48 apples' is not an amount" in bo[0].message
