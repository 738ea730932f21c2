"""Salesforce Outbound Messages: SOAP over real HTTP as Salesforce sends it (text/xml, SOAPAction, ?token=),
acknowledged the way Salesforce expects, refused with SOAP faults."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from defusedxml import ElementTree
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from briefs.model import build_brief
from handlers.sources import salesforce
from storage import queries
from storage.models import Lead, Qualification
from tests.support.live import LiveServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "salesforce"
FIXTURE = (FIXTURES / "lead_notifications.xml").read_bytes()
MIXED = (FIXTURES / "mixed_batch.xml").read_bytes()
NOT_LEADS = (FIXTURES / "not_leads.xml").read_bytes()
SECRET = "sf-outbound-secret-0123456789"
ORG = "00D5e000000AbCd"  # the 15-character form of the id in the fixtures
OWNERS = {"0055e000001Jane": "jane@ourco.example", "0055e000001Omar": "omar@ourco.example"}
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"


def fresh(xml: bytes) -> bytes:
    # The fixtures' dates are fixed; qualification only pages for fresh triggers.
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return xml.replace(b"2026-11-23T10:00:00.000Z", now.encode())


def configure(settings):
    return salesforce.CONFIG.configure(settings, secret=SECRET, org_id=ORG,
                                       instance_url="https://acme.my.salesforce.com", owners=OWNERS)


@pytest.fixture
def sf_server(settings):
    with LiveServer(configure(settings)) as server:
        yield server


@pytest.fixture
def sf_slack_server(slack_settings):
    with LiveServer(configure(slack_settings)) as server:
        yield server


def post(http, server, body: bytes, token: str = SECRET):
    # As Salesforce posts: SOAP 1.1, an empty-string SOAPAction, the secret in the endpoint URL.
    return http.post(f"{server.url}/webhooks/salesforce?token={token}", content=body,
                     headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""',
                              "User-Agent": "Salesforce - Outbound Notification"})


def acked(r) -> bool:
    return (r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
            and ElementTree.fromstring(r.content).findtext(
                f"{SOAP}Body/{{http://soap.sforce.com/2005/09/outbound}}notificationsResponse/"
                "{http://soap.sforce.com/2005/09/outbound}Ack") == "true")


def fault(r) -> str:
    """The faultstring of a SOAP 1.1 fault (and that it is one)."""
    assert r.headers["content-type"].startswith("text/xml"), r.text
    found = ElementTree.fromstring(r.content).find(f"{SOAP}Body/{SOAP}Fault")
    assert found is not None, r.text
    assert found.findtext("faultcode") in ("soapenv:Client", "soapenv:Server")
    return found.findtext("faultstring") or ""


def count(server, model) -> int:
    with server.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_lead_notifications_are_stored_acked_and_qualify(http, sf_server):
    r = post(http, sf_server, fresh(FIXTURE))
    assert acked(r)
    with sf_server.services.sessions() as s:
        sam = queries.find_lead(s, "sam.rivera@globex.example")
        assert (sam.first_name, sam.title, sam.company, sam.owner_email, sam.lifecycle_stage) == (
            "Sam", "VP Manufacturing", "Globex", "jane@ourco.example", "mql")
        assert sam.crm_url == "https://acme.my.salesforce.com/00Q5e00000XyZ01EAA"
        assert sam.lead_source == "Web"
        brief = build_brief(queries.brief_input(s, sam, datetime.now(UTC)), sf_server.services.settings.rules)
        assert "source: Web" in brief.status_line
        assert queries.latest_qualification(s, sam.id).reason == "lifecycle_change"
        pat = queries.find_lead(s, "pat@initech.example")
        assert pat.lifecycle_stage == "open - not contacted" and pat.owner_email is None
    # At least once: the same notifications again change nothing.
    assert acked(post(http, sf_server, fresh(FIXTURE)))
    assert count(sf_server, Lead) == 2 and count(sf_server, Qualification) == 1


def test_a_lead_without_email_and_an_opportunity_do_not_cost_the_others(http, sf_slack_server, fake_slack, caplog):
    r = post(http, sf_slack_server, fresh(MIXED))
    assert acked(r)  # Salesforce stops redelivering: the good notifications are stored
    with sf_slack_server.services.sessions() as s:
        renee = queries.find_lead(s, "renee.muller@fromagerie-muller.example")
        assert (renee.first_name, renee.last_name, renee.company, renee.title, renee.phone) == (
            "Renée", "Müller", "Fromagerie Müller & Fils", "Directrice des achats", None)
        assert (renee.owner_email, renee.lead_source, renee.lifecycle_stage) == ("jane@ourco.example", "Trade Show", "mql")
        ana = queries.find_lead(s, "ana.lopez@initech.example")  # 15-character ids; a queue owns her
        assert ana.crm_url == "https://acme.my.salesforce.com/00Q5e00000QrSt4" and ana.owner_email is None
        assert ana.company == "Initech, Inc." and ana.title is None
    assert count(sf_slack_server, Lead) == 2  # Haruto (no Email) skipped; the Opportunity ignored
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped and "[1] Notification[1].sObject.Email" in skipped[0]
    assert "Haruto" not in caplog.text and "Sato" not in caplog.text  # fields are named, values never logged
    # What the message carries is in the brief posted to Slack.
    (call,) = fake_slack.wait_for("chat.postMessage")
    posted = json.dumps(call, ensure_ascii=False)
    for shown in ("Renée Müller", "Directrice des achats", "Fromagerie Müller", "MQL", "source: Trade Show",
                  "owner jane@ourco.example", "https://acme.my.salesforce.com/00Q5e00000QrSt1EAA"):
        assert shown in posted, shown
    # Redelivered (Salesforce retries until it has an Ack): duplicates, nothing doubles, nobody is paged twice.
    assert acked(post(http, sf_slack_server, fresh(MIXED)))
    assert count(sf_slack_server, Lead) == 2 and count(sf_slack_server, Qualification) == 1


def test_a_message_of_other_objects_only_is_acknowledged_and_stores_nothing(http, sf_server):
    assert acked(post(http, sf_server, NOT_LEADS))
    assert count(sf_server, Lead) == 0


def test_refusals_are_soap_faults_with_the_right_status(http, sf_server):
    r = post(http, sf_server, FIXTURE, token="guess")
    assert r.status_code == 401 and "?token=" in fault(r) and SECRET not in r.text
    # Authenticated, but another organisation: forbidden, and nothing stored.
    other = FIXTURE.replace(b"00D5e000000AbCdEAK", b"00D9z000000ZzZzEAK")
    r = post(http, sf_server, other)
    assert r.status_code == 403 and "OrganizationId" in fault(r)
    r = post(http, sf_server, b"<not-xml")
    assert r.status_code == 400 and "not a SOAP message" in fault(r)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<lolz>&lol2;</lolz>")
    assert post(http, sf_server, bomb).status_code == 400
    r = post(http, sf_server, b'<?xml version="1.0"?><a xmlns="http://schemas.xmlsoap.org/soap/envelope/"/>')
    assert r.status_code == 400 and "notifications" in fault(r)
    head, first = FIXTURE.split(b"<Notification>", 2)[:2]
    r = post(http, sf_server, head + (b"<Notification>" + first) * 101 + b"</notifications></soapenv:Body></soapenv:Envelope>")
    assert r.status_code == 413 and "at most 100" in fault(r)
    assert count(sf_server, Lead) == 0


def test_a_fault_escapes_the_text_it_carries():
    r = salesforce.fault(400, {"error": "bad <value> & more", "details": [
        {"index": 0, "field": "Notification[0].sObject.Email", "message": "is required"}]}, {})
    root = ElementTree.fromstring(r.body)
    assert root.findtext(f"{SOAP}Body/{SOAP}Fault/faultstring") == (
        "bad <value> & more (Notification[0].sObject.Email: is required)")
    assert r.status_code == 400


def test_an_unusable_value_is_skipped_and_named(http, sf_server):
    bad_email = FIXTURE.replace(b"pat@initech.example", b"not-an-email")
    assert acked(post(http, sf_server, bad_email))
    with sf_server.services.sessions() as s:
        assert queries.find_lead(s, "sam.rivera@globex.example") is not None
    assert count(sf_server, Lead) == 1
    translated = salesforce.translate(bad_email, None, configure(sf_server.services.settings))
    assert [e.as_dict() for e in translated.skipped] == [{
        "index": 1, "field": "Notification[1].sObject.Email", "message": "is not an email address (expected name@domain)"}]


def test_database_unavailable_is_a_server_fault_with_retry_after(http, sf_server, monkeypatch):
    import handlers.webhooks as hooks

    def down(*a, **k):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(hooks, "ingest", down)
    r = post(http, sf_server, FIXTURE)
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and "retry later" in fault(r)


def test_not_configured_is_404_fault(http, live_server):
    r = post(http, live_server, FIXTURE)
    assert r.status_code == 404 and "SALESFORCE_WEBHOOK_SECRET" in fault(r)
