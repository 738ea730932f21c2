"""What each source carries for triage: email opens' user agent, IP, bot flags and delivery times, read by the one
machine-open rule (briefs.signals), and the CRM's consent checkboxes as the lead's do_not_contact / email_opt_out."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.config import Settings
from briefs.events import LeadFields, validate_event
from briefs.signals import ActivityView, machine_opens
from handlers.sources import hubspot, marketo, marketo_sync, mautic, salesforce, segment
from handlers.sources.payload import DO_NOT_CONTACT, EMAIL_OPT_OUT, consent, flag

FIXTURES = Path(__file__).parent.parent / "fixtures"
APPLE_UA = "Mozilla/5.0"
IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


def settings() -> Settings:
    return salesforce.CONFIG.configure(Settings(database_url="sqlite://", webhook_secret="x" * 32),
                                       org_id="00D5e000000AbCdEAK")


def view(event) -> ActivityView:
    """A validated activity event as the domain sees it once stored."""
    return ActivityView(event.kind, event.occurred_at, subject=event.subject, campaign=event.campaign,
                        properties=dict(event.properties or {}))


needs_consent_fields = pytest.mark.skipif(
    not {DO_NOT_CONTACT, EMAIL_OPT_OUT} <= set(LeadFields.model_fields),
    reason="briefs.events.LeadFields has no do_not_contact / email_opt_out yet (added by the pipeline helper); "
           "the translators already send them",
)


# --- Segment ---------------------------------------------------------------------------------------

def _segment(msg: dict) -> list:
    return segment.translate(json.dumps(msg).encode(), None, settings()).events


def test_segment_email_opened_carries_user_agent_ip_and_ids_so_an_mpp_prefetch_is_a_machine_open():
    delivered = {"type": "track", "messageId": "m-1", "event": "Email Delivered", "userId": "u-7781",
                 "timestamp": "2026-11-24T06:30:01Z",
                 "context": {"traits": {"email": "lucia.ferrer@tallerdigital.es"}},
                 "properties": {"email_id": "em-93a1", "email_subject": "5 mitos del speed-to-lead", "campaign_id": "412"}}
    prefetch = {**delivered, "messageId": "m-2", "event": "Email Opened", "timestamp": "2026-11-24T06:30:03Z",
                "context": {**delivered["context"], "userAgent": APPLE_UA, "ip": "17.58.101.14"}}
    read = {**delivered, "messageId": "m-3", "event": "Email Opened", "timestamp": "2026-11-24T13:02:44Z",
            "context": {**delivered["context"], "userAgent": IPHONE_MAIL, "ip": "88.12.201.7"}}
    events = [e for m in (delivered, prefetch, read) for e in _segment(m)]
    opens = [e for e in events if e.kind == "email_open"]
    assert [(o.properties["user_agent"], o.properties["ip"], o.properties["email_id"]) for o in opens] == [
        (APPLE_UA, "17.58.101.14", "em-93a1"), (IPHONE_MAIL, "88.12.201.7", "em-93a1")]
    views = [view(e) for e in events]
    assert [(a.occurred_at.hour, rule) for a, rule, _why in machine_opens(views)] == [
        (6, "machine_activity.privacy_proxy")]


def test_segment_spec_example_spells_user_agent_in_snake_case():
    spec = json.loads((FIXTURES / "segment" / "spec_email_opened.json").read_text())
    spec = {**spec, "type": "track", "messageId": "m-spec", "userId": spec["user_id"],
            "timestamp": "2026-11-24T06:30:03Z"}
    (event,) = _segment(spec)
    assert event.properties["user_agent"].startswith("Mozilla/5.0 (Macintosh") and event.properties["ip"] == "192.0.2.10"


def test_segment_reads_user_agent_and_ip_from_the_events_properties_too():
    """An email tool that reports the opener in the event's properties, not in its context."""
    msg = {"type": "track", "event": "Email Opened", "messageId": "m-props", "userId": "u-77",
           "timestamp": "2026-11-24T06:30:03Z", "context": {"traits": {"email": "ines@hotel-sol.example"}},
           "properties": {"email_subject": "Ofertas de invierno", "user_agent": "Mozilla/5.0", "ip": "17.58.1.9",
                          "email_id": "e-9"}}
    (event,) = _segment(msg)
    assert (event.properties["user_agent"], event.properties["ip"]) == ("Mozilla/5.0", "17.58.1.9")


# --- HubSpot ---------------------------------------------------------------------------------------

def test_hubspot_keeps_bot_filtered_opens_marked_and_the_vendor_fields():
    body = json.loads((FIXTURES / "hubspot" / "email_events.json").read_text())
    opened, sent = body["events"]
    _when, human = hubspot._email_activity("mj.okafor@globex.example", opened)
    assert human["properties"] == {
        "email_campaign_id": "33161293", "message_id": "b1f2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "user_agent": opened["userAgent"], "browser": "Chrome 124.0", "browser_type": "Browser",
        "location": "madrid, madrid, SPAIN", "device_type": "COMPUTER"}
    _when, bot = hubspot._email_activity("mj.okafor@globex.example", {**opened, "id": "f-1", "filteredEvent": True})
    assert bot["kind"] == "email_open" and bot["properties"]["filteredEvent"] is True
    parsed = [validate_event({**e, "email": "mj.okafor@globex.example", "source": "hubspot",
                              "occurred_at": "2026-11-24T06:30:00Z"})[0] for e in (human, bot)]
    assert [r for _a, r, _w in machine_opens([view(p) for p in parsed])] == ["machine_activity.source_flag"]
    # The SENT event names itself as sentBy: an open is tied to its send by message_id.
    assert hubspot._email_activity("mj.okafor@globex.example", sent)[1]["properties"]["message_id"] == sent["sentBy"]["id"]


def test_hubspot_email_opt_out_checkbox():
    no_api = SimpleNamespace(customer_properties={})  # no owner to read, no customer properties mapped
    lead, origin = hubspot._lead("501", {"email": "a@b.example", "hs_email_optout": "true"}, 62515, no_api)  # type: ignore[arg-type]
    assert lead[EMAIL_OPT_OUT] is True and origin[f"lead.{EMAIL_OPT_OUT}"] == "properties.hs_email_optout"
    assert hubspot.CONSENT_FIELDS == {"hs_email_optout": EMAIL_OPT_OUT}
    assert "hs_email_optout" in hubspot.PROPERTIES


# --- Marketo -----------------------------------------------------------------------------------------

def _open_activity(attrs: list[dict]) -> dict:
    return {"id": 99120, "marketoGUID": "99120", "leadId": 318877, "activityDate": "2026-11-24T06:30:03Z",
            "activityTypeId": 10, "campaignId": 4410, "primaryAttributeValueId": 1712,
            "primaryAttributeValue": "Newsletter Nov - DE", "attributes": attrs}


def test_marketo_open_email_attributes_in_the_rest_sync():
    event = marketo_sync.activity_event(_open_activity([
        {"name": "Is Bot Activity", "value": True}, {"name": "Bot Activity Pattern", "value": "Proxy"},
        {"name": "User Agent", "value": APPLE_UA}, {"name": "Is Mobile Device", "value": False},
        {"name": "Device", "value": "unknown"}, {"name": "Platform", "value": "unknown"},
        {"name": "Campaign Run ID", "value": 120}]), "dana.kim@umbrella.example")
    assert event is not None
    props = event["properties"]
    assert (props["is_bot"], props["bot_activity_pattern"], props["user_agent"], props["is_mobile_device"]) == (
        True, "Proxy", APPLE_UA, False)
    parsed, errors = validate_event(event)
    assert not errors and [r for _a, r, _w in machine_opens([view(parsed)])] == ["machine_activity.source_flag"]
    person = marketo_sync.activity_event(_open_activity([{"name": "Is Bot Activity", "value": "false"},
                                                         {"name": "User Agent", "value": IPHONE_MAIL}]), "d@u.example")
    assert person is not None and machine_opens([view(validate_event(person)[0])]) == []


def test_marketo_webhook_template_may_carry_the_open_triggers_tokens():
    body = json.loads((FIXTURES / "marketo" / "email_click_iso.json").read_text())
    body = {**body, "activity": "email_open", "email": {"Is Bot Activity": "true", "User Agent": APPLE_UA},
            "lead": {**body["lead"], "unsubscribed": "false"}}
    translated = marketo.translate(json.dumps(body).encode(), None, settings())
    (upsert, opened) = translated.events
    assert opened.properties["is_bot"] is True and opened.properties["user_agent"] == APPLE_UA
    assert marketo.CONSENT_FIELDS == {"unsubscribed": EMAIL_OPT_OUT} == marketo_sync.CONSENT_FIELDS


def test_marketo_sync_lead_unsubscribed():
    event = marketo_sync.lead_event(318877, {"email": "dana.kim@umbrella.example", "unsubscribed": True,
                                             "updatedAt": "2026-11-24T06:30:03Z"}, None)
    assert event["lead"][EMAIL_OPT_OUT] is True


# --- Mautic ------------------------------------------------------------------------------------------

def test_mautic_open_stat_carries_its_send_time_so_an_open_seconds_later_is_a_machines():
    vendor = json.loads((FIXTURES / "mautic" / "vendor" / "email_on_open.json").read_text())
    assert vendor["stat"]["ipAddress"] == {}  # Mautic's own sample: an empty IpAddress, no openDetails
    stat = {**vendor["stat"], "dateSent": "2026-11-24T06:30:00+00:00", "dateRead": "2026-11-24T06:30:02+00:00",
            "lastOpened": "2026-11-24T06:30:02+00:00", "ipAddress": {"ipAddress": "17.58.101.14"},
            "openDetails": [{"datetime": "2026-11-24 06:30:02", "useragent": APPLE_UA, "inBrowser": False}]}
    body = {"mautic.email_on_open": [{**vendor, "stat": stat, "timestamp": "2026-11-24T06:30:02+00:00"}]}
    (event,) = mautic.translate(json.dumps(body).encode()).events
    assert event.properties == {"sent_at": "2026-11-24T06:30:00+00:00", "mailing_id": "5", "ip": "17.58.101.14",
                                "user_agent": APPLE_UA}
    # Timing alone: no proxy IP or agent, opened two seconds after its send.
    bare = ActivityView("email_open", event.occurred_at, properties={"sent_at": event.properties["sent_at"]})
    assert [r for _a, r, _w in machine_opens([bare])] == ["machine_activity.fast_open"]
    later = ActivityView("email_open", datetime.fromisoformat("2026-11-24T09:12:00+00:00"),
                         properties={"sent_at": event.properties["sent_at"]})
    assert machine_opens([later]) == []


def test_mautic_do_not_contact_entries():
    assert mautic._consent([]) == {EMAIL_OPT_OUT: False, DO_NOT_CONTACT: False}
    assert mautic._consent([{"reason": 1, "channel": "email", "comments": "User unsubscribed."}]) == {
        EMAIL_OPT_OUT: True, DO_NOT_CONTACT: False}
    assert mautic._consent([{"reason": "3", "channel": "email", "comments": "Bitte nicht mehr anrufen"},
                            {"reason": 2, "channel": "email"}]) == {EMAIL_OPT_OUT: False, DO_NOT_CONTACT: True}


# --- Salesforce --------------------------------------------------------------------------------------

def _salesforce_lead(extra: str) -> bytes:
    xml = (FIXTURES / "salesforce" / "lead_notifications.xml").read_text()
    return xml.replace("<sf:Email>Sam.Rivera@Globex.example</sf:Email>",
                       f"<sf:Email>Sam.Rivera@Globex.example</sf:Email>{extra}", 1).encode()


def test_salesforce_checkboxes():
    assert salesforce.CONSENT_FIELDS == {"DoNotCall": DO_NOT_CONTACT, "HasOptedOutOfEmail": EMAIL_OPT_OUT}
    raw = salesforce.translate(_salesforce_lead("<sf:DoNotCall>true</sf:DoNotCall>"
                                                "<sf:HasOptedOutOfEmail>false</sf:HasOptedOutOfEmail>"), None, settings())
    assert raw.events and raw.events[0].lead.email.lower() == "sam.rivera@globex.example"


@needs_consent_fields
def test_consent_fields_reach_the_event_contract():
    events = salesforce.translate(_salesforce_lead("<sf:DoNotCall>true</sf:DoNotCall>"
                                                   "<sf:HasOptedOutOfEmail>false</sf:HasOptedOutOfEmail>"),
                                  None, settings()).events
    lead = events[0].lead
    assert (getattr(lead, DO_NOT_CONTACT), getattr(lead, EMAIL_OPT_OUT)) == (True, False)
    body = json.loads((FIXTURES / "marketo" / "email_click_iso.json").read_text())
    body["lead"]["unsubscribed"] = "true"
    upsert = marketo.translate(json.dumps(body).encode(), None, settings()).events[0]
    assert getattr(upsert.lead, EMAIL_OPT_OUT) is True


# --- the shared helpers -------------------------------------------------------------------------------

def test_checkbox_values_as_vendors_send_them():
    assert [flag(v) for v in (True, "true", "TRUE", "1", 1, "yes", False, "false", "0", 0, "", None, "maybe", 7)] == [
        True, True, True, True, True, True, False, False, False, False, None, None, None, None]
    assert consent({"DoNotCall": "true", "HasOptedOutOfEmail": ""}, salesforce.CONSENT_FIELDS) == {DO_NOT_CONTACT: True}
    assert consent("not a record", salesforce.CONSENT_FIELDS) == {}
