"""Salesforce Outbound Messages: SOAP over real HTTP, acknowledged the way Salesforce expects."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from briefs.model import build_brief
from handlers.sources import salesforce
from storage import queries
from storage.models import Lead, Qualification
from tests.support.live import LiveServer

FIXTURE = (Path(__file__).parent.parent / "fixtures" / "salesforce" / "lead_notifications.xml").read_bytes()
SECRET = "sf-outbound-secret-0123456789"
ORG = "00D5e000000AbCd"  # the 15-character form of the id in the fixture


def fresh(xml: bytes) -> bytes:
    # The fixture's dates are fixed; qualification only pages for fresh triggers.
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return xml.replace(b"2026-11-23T10:00:00.000Z", now.encode())


@pytest.fixture
def sf_server(settings):
    configured = salesforce.CONFIG.configure(settings, secret=SECRET, org_id=ORG,
                                             instance_url="https://acme.my.salesforce.com",
                                             owners={"0055e000001Jane": "jane@ourco.example"})
    with LiveServer(configured) as server:
        yield server


def post(http, server, body: bytes, token: str = SECRET):
    return http.post(f"{server.url}/webhooks/salesforce?token={token}", content=body,
                     headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})


def test_lead_notifications_are_stored_acked_and_qualify(http, sf_server):
    r = post(http, sf_server, fresh(FIXTURE))
    assert r.status_code == 200 and "<Ack>true</Ack>" in r.text and r.headers["content-type"].startswith("text/xml")
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
    assert post(http, sf_server, fresh(FIXTURE)).status_code == 200
    with sf_server.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 2
        assert s.scalar(select(func.count()).select_from(Qualification)) == 1


def test_wrong_token_wrong_org_and_junk_are_refused(http, sf_server):
    assert post(http, sf_server, FIXTURE, token="guess").status_code == 401
    other = FIXTURE.replace(b"00D5e000000AbCdEAK", b"00D9z000000ZzZzEAK")
    r = post(http, sf_server, other)
    assert r.status_code == 400 and r.json()["details"][0]["field"] == "OrganizationId"
    assert post(http, sf_server, b"<not-xml").status_code == 400
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<lolz>&lol2;</lolz>")
    assert post(http, sf_server, bomb).status_code == 400
    bad_email = FIXTURE.replace(b"pat@initech.example", b"not-an-email")
    r = post(http, sf_server, bad_email)
    assert r.status_code == 400
    assert r.json()["details"] == [{"index": 1, "field": "Notification[1].sObject.Email",
                                    "message": "is not an email address (expected name@domain)"}]
    with sf_server.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 0


def test_not_configured_is_404(http, live_server):
    assert post(http, live_server, FIXTURE).status_code == 404
