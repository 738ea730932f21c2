"""Salesforce Outbound Messages on Lead: SOAP in, our lead.upsert events out, a SOAP Ack back.

Salesforce signs nothing, so a delivery must carry our secret in the URL (?token=...) and come from the
configured organisation. Messages arrive at least once and out of order (up to 100 notifications each):
the notification Id is the event id, so a redelivery is a duplicate, and LastModifiedDate orders updates.
A notification we cannot read is skipped, not the message (see translate); every refusal is a SOAP fault.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from starlette.requests import Request
from starlette.responses import Response

from bot.settings import ConfigError, Settings, SourceConfig, env_secret, env_text
from briefs.events import FieldError, InvalidBatch, validate_event
from handlers.sources.payload import (
    DO_NOT_CONTACT,
    EMAIL_OPT_OUT,
    consent,
    customer_facts,
    customer_field_map,
)
from handlers.webhooks import Source, SourceNotConfigured, Translated, WebhookDoc

SOURCE_NAME = "salesforce"

OUTBOUND = "{http://soap.sforce.com/2005/09/outbound}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
MAX_NOTIFICATIONS = 100
FIELDS = {
    "Email": "email",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Title": "title",
    "Company": "company",
    "Phone": "phone",
    "Status": "lifecycle_stage",
    "LeadSource": "lead_source",
    # The account: a converted lead's, or AccountId where the org's outbound message carries one (issue 18).
    "ConvertedAccountId": "crm_account_id",
    "AccountId": "crm_account_id",
}
# Lead checkboxes -> our lead's consent fields (DoNotCall: do not contact at all; HasOptedOutOfEmail: no email).
CONSENT_FIELDS = {"DoNotCall": DO_NOT_CONTACT, "HasOptedOutOfEmail": EMAIL_OPT_OUT}
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


@dataclass(frozen=True)
class SalesforceSettings:
    secret: str | None = field(default=None, repr=False)  # SALESFORCE_WEBHOOK_SECRET, the ?token= of the URL
    org_id: str | None = None  # SALESFORCE_ORGANIZATION_ID: messages from other organisations are refused
    instance_url: str | None = None  # SALESFORCE_INSTANCE_URL: links the lead's record in the brief
    # User id (15-character form) -> email, from [sources.salesforce] owners.
    owners: Mapping[str, str] = field(default_factory=dict)
    # Our customer fact -> the Lead field holding it (Renewal_Date__c...), from [sources.salesforce] customer_fields.
    customer_fields: Mapping[str, str] = field(default_factory=dict)


def _load(env: Mapping[str, str], section: Any, where: str) -> SalesforceSettings:
    if not isinstance(section, dict) or set(section) - {"owners", "customer_fields"}:
        raise ConfigError(f"{where}: [sources.salesforce] takes only owners = {{\"005...\" = \"rep@company.com\"}} "
                          "and customer_fields = {renewal_date = \"Renewal_Date__c\", ...}")
    try:
        customer_fields = customer_field_map(section, "customer_fields", f"{where}: sources.salesforce")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    owners = section.get("owners", {})
    if not isinstance(owners, dict) or not all(isinstance(v, str) and "@" in v for v in owners.values()):
        raise ConfigError(f"{where}: sources.salesforce.owners must map user ids to emails")
    return SalesforceSettings(
        secret=env_secret(env, "SALESFORCE_WEBHOOK_SECRET"),
        org_id=env_text(env, "SALESFORCE_ORGANIZATION_ID"),
        instance_url=env_text(env, "SALESFORCE_INSTANCE_URL"),
        owners={k.strip()[:15]: v.strip().lower() for k, v in owners.items()},
        customer_fields=customer_fields,
    )


CONFIG = SourceConfig(SOURCE_NAME, SalesforceSettings(), _load, takes_section=True)


def authenticate(request: Request, _body: bytes, settings: Settings) -> str | None:
    config = CONFIG.of(settings)
    if not (config.secret and config.org_id):
        raise SourceNotConfigured(
            "Salesforce outbound messages are not enabled: set SALESFORCE_WEBHOOK_SECRET and SALESFORCE_ORGANIZATION_ID"
        )
    token = request.query_params.get("token", "")
    if not hmac.compare_digest(token.encode(), config.secret.encode()):
        return "the endpoint URL must end with ?token=<SALESFORCE_WEBHOOK_SECRET>"
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def _field_name(field: str, customer_fields: Mapping[str, str]) -> str:
    # Our field names back to Salesforce's, so the admin can find them on the Lead.
    ours = {"lead.email": "Email", "occurred_at": "LastModifiedDate", "id": "Id"}
    if field in ours:
        return ours[field]
    if field.removeprefix("lead.") in customer_fields:
        return customer_fields[field.removeprefix("lead.")]
    theirs = {v: k for k, v in (*FIELDS.items(), *CONSENT_FIELDS.items())}
    return theirs.get(field.removeprefix("lead."), field)


def translate(body: bytes, _request: Request | None, settings: Settings) -> Translated:
    """Every Lead notification we can read becomes a lead.upsert; the others are skipped (a Lead without an
    Email, which Salesforce allows, or a bad value) or ignored (other sObjects), and the message is still
    acknowledged: Salesforce redelivers a refused message for 24 hours, and the same record fails the same way
    each time. Only a message that is unusable as a whole (not an outbound message, another organisation,
    more than Salesforce sends) is refused."""
    config = CONFIG.of(settings)
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise InvalidBatch(f"body is not a SOAP message: {exc}") from None
    notifications = next((e for e in root.iter(f"{OUTBOUND}notifications")), None)
    if notifications is None:
        raise InvalidBatch("no <notifications> element (expected a Salesforce outbound message)",
                           [FieldError(0, "notifications", "is required")])
    org = _text(notifications, "OrganizationId") or ""
    # Salesforce shows 15- and 18-character forms of the same id. Authenticated (the token is right) but not
    # for this organisation: refused, as Salesforce refuses a valid session without the permission (403).
    if org[:15] != (config.org_id or "")[:15]:
        raise InvalidBatch("message from another Salesforce organisation than SALESFORCE_ORGANIZATION_ID",
                           [FieldError(0, "OrganizationId", "is not the configured organisation")], status=403)
    items = [e for e in notifications if _local(e.tag) == "Notification"]
    if not items:
        raise InvalidBatch("no <Notification> in the message", [FieldError(0, "Notification", "is required")])
    if len(items) > MAX_NOTIFICATIONS:
        raise InvalidBatch(f"{len(items)} notifications; Salesforce sends at most {MAX_NOTIFICATIONS}", status=413)
    events, skipped, ignored = [], [], 0
    for index, note in enumerate(items):
        sobject = next((e for e in note if _local(e.tag) == "sObject"), None)
        note_id = _text(note, "Id")
        if sobject is None or not note_id:
            skipped.append(FieldError(index, f"Notification[{index}]", "needs an Id and an sObject"))
            continue
        if _local(sobject.get(XSI_TYPE, "").rsplit(":", 1)[-1]) != "Lead":
            ignored += 1
            continue
        lead = {ours: _text(sobject, theirs) for theirs, ours in FIELDS.items() if _text(sobject, theirs)}
        lead.update(consent({theirs: _text(sobject, theirs) for theirs in CONSENT_FIELDS}, CONSENT_FIELDS))
        facts, _origin = customer_facts({theirs: _text(sobject, theirs) for theirs in config.customer_fields.values()},
                                        config.customer_fields)
        lead.update(facts)
        owner = config.owners.get((_text(sobject, "OwnerId") or "")[:15])
        if owner:
            lead["owner_email"] = owner
        if config.instance_url and _text(sobject, "Id"):
            lead["crm_url"] = f"{config.instance_url.rstrip('/')}/{_text(sobject, 'Id')}"
        when = _text(sobject, "LastModifiedDate") or datetime.now(UTC).isoformat()
        event, errs = validate_event(
            {"type": "lead.upsert", "id": note_id, "source": SOURCE_NAME, "occurred_at": when, "lead": lead}, index
        )
        skipped += [FieldError(index, f"Notification[{index}].sObject.{_field_name(e.field, config.customer_fields)}",
                               e.message)
                    for e in errs]
        if event:
            events.append(event)
    return Translated(events, ignored, skipped)


def fault(status: int, error: dict, headers: dict[str, str]) -> Response:
    """A refusal as Salesforce reads one: a SOAP 1.1 fault (Client: the message or its sender; Server: ours,
    retry later), with our status code, so the Outbound Messages queue in Setup shows why."""
    message = str(error.get("error") or "refused")
    details = error.get("details") or []
    if details:
        message += " (" + "; ".join(f"{d['field']}: {d['message']}" for d in details[:10]) + ")"
    code = "soapenv:Server" if status >= 500 else "soapenv:Client"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=status, media_type="text/xml", headers=headers)


def respond(_summary: dict) -> Response:
    # Salesforce retries anything but this acknowledgement.
    return Response(ACK, media_type="text/xml", status_code=200)


SOURCE = Source(SOURCE_NAME, authenticate, translate, respond=respond, refuse=fault, config=CONFIG, doc=WebhookDoc(
    "Salesforce Outbound Messages on Lead.", "?token=SALESFORCE_WEBHOOK_SECRET and the organisation id.",
    content_type="text/xml",
    stored={"200": {"description": "The SOAP Ack Salesforce expects, also when some notifications were skipped.",
                    "content": {"text/xml": {"schema": {"type": "string"}}}}},
    refusal_content_type="text/xml",  # every refusal is a SOAP 1.1 fault
    more_refusals={"403": "The message comes from another Salesforce organisation than SALESFORCE_ORGANIZATION_ID."}))
