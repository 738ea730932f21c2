"""HubSpot's email events into the brief: opens HubSpot's bot filter flagged (filteredEvent) and Apple Mail Privacy
Protection prefetches are kept as machine opens and left out of the touches; the posted brief says how many, and
flags the contact's personal address. Delivered over HTTP, signed as HubSpot signs, read back from the fake API."""

from __future__ import annotations

import json

import pytest

from handlers.sources import hubspot
from tests.e2e.test_source_hubspot import CLIENT_SECRET, OWNER_ID, TOKEN, fixture, fresh, ms_ago, post
from tests.support.blockkit import validate_message_blocks
from tests.support.fake_hubspot import FakeHubSpot
from tests.support.live import LiveServer

EMAIL = "jon.doe@acme.example"  # creation_and_mql.json's contact 501
PERSONAL = "jon.doe.widgets@gmail.com"
APPLE_MPP = "Mozilla/5.0"
OUTLOOK = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Microsoft Outlook 16.0.17928; Pro"
NEWSLETTERS = ["Your lead routing playbook", "Webinar: from MQL to meeting in 5 minutes", "5 speed-to-lead myths",
               "Case study: Brightforge", "Le rapport routing 2026", "Nuevo: resúmenes en Slack",
               "Office hours this Thursday", "Black Friday: 20% off annual"]


@pytest.fixture
def fake():
    with FakeHubSpot(token=TOKEN) as f:
        f.add_contact("501", **{**fixture("contact_501"), "email": PERSONAL, "hs_email_optout": "false"})
        f.add_owner(OWNER_ID, "jane@ourco.example")
        yield f


@pytest.fixture
def server(slack_settings, fake):
    configured = hubspot.CONFIG.configure(slack_settings, client_secret=CLIENT_SECRET, access_token=TOKEN,
                                          api_url=fake.url)
    with LiveServer(configured) as s:
        yield s


def script_week(fake) -> None:
    """Eight newsletters over six days, each opened by Apple's relay two seconds after it was sent; three more
    opens HubSpot's own bot filter caught; one email read in Outlook and its pricing link clicked."""
    for i, subject in enumerate(NEWSLETTERS):
        sent = ms_ago(days=6, hours=-17 * i)
        send_id = f"send-{i}"
        fake.add_email_event(PERSONAL, "SENT", sent, event_id=send_id, subject=subject, campaign_id=33161300 + i)
        fake.add_email_event(PERSONAL, "OPEN", sent + 2_000, subject=subject, campaign_id=33161300 + i,
                             sent_by=send_id, user_agent=APPLE_MPP, browser={"name": "Apple Mail", "type": "Email client"},
                             location={"country": "UNITED STATES", "state": "california", "city": "cupertino"})
        if i < 3:
            fake.add_email_event(PERSONAL, "OPEN", sent + 40_000, subject=subject, campaign_id=33161300 + i,
                                 sent_by=send_id, filtered=True)
    sent = ms_ago(days=1, hours=6)
    fake.add_email_event(PERSONAL, "SENT", sent, event_id="send-read", subject="Pricing that scales with your team")
    fake.add_email_event(PERSONAL, "OPEN", sent + 3 * 3_600_000, subject="Pricing that scales with your team",
                         sent_by="send-read", user_agent=OUTLOOK, browser={"name": "Outlook 2019", "type": "Email client"},
                         location={"country": "GERMANY", "state": "berlin", "city": "berlin"})
    fake.add_email_event(PERSONAL, "CLICK", sent + 3 * 3_600_000 + 60_000, sent_by="send-read",
                         subject="Pricing that scales with your team", url="https://ourco.example/pricing")


def test_the_brief_leaves_hubspots_bot_opens_and_mpp_prefetches_out(http, server, fake, fake_slack):
    script_week(fake)
    delivery = fresh(fixture("creation_and_mql"))
    r = post(http, server, delivery)
    assert r.status_code == 202 and r.json()["qualified"] == 1, r.text
    (call,) = fake_slack.wait_for("chat.postMessage")
    assert validate_message_blocks(call["blocks"], call.get("text")) == []
    brief = json.dumps(call["blocks"], ensure_ascii=False)
    # The Outlook read and the click are the person's; 8 prefetches and 3 bot-filtered opens are not.
    assert "2 human touches (11 machine opens left out)" in brief
    assert "Personal address (gmail.com): the company, Acme Widgets, comes from the form and is unverified." in brief
    assert "Pricing that scales with your team" in brief and "5 speed-to-lead myths" not in brief
