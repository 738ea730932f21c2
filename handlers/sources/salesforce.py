"""Salesforce Outbound Messages on Lead: SOAP in, our lead.upsert events out, a SOAP Ack back.

Salesforce signs nothing, so a delivery must carry our secret in the URL (?token=...) and come from the
configured organisation. Messages arrive at least once and out of order (up to 100 notifications each):
the notification Id is the event id, so a redelivery is a duplicate, and LastModifiedDate orders updates.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from starlette.requests import Request
from starlette.responses import Response

from bot.config import Settings
from briefs.events import FieldError, InvalidBatch, validate_event
from handlers.webhooks import Source, SourceNotConfigured, Translated

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
}
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


def authenticate(request: Request, _body: bytes, settings: Settings) -> str | None:
    if not (settings.salesforce_secret and settings.salesforce_org_id):
        raise SourceNotConfigured(
            "Salesforce outbound messages are not enabled: set SALESFORCE_WEBHOOK_SECRET and SALESFORCE_ORGANIZATION_ID"
        )
    token = request.query_params.get("token", "")
    if not hmac.compare_digest(token.encode(), settings.salesforce_secret.encode()):
        return "the endpoint URL must end with ?token=<SALESFORCE_WEBHOOK_SECRET>"
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def translate(body: bytes, _request: Request, settings: Settings) -> Translated:
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise InvalidBatch(f"body is not a SOAP message: {exc}") from None
    notifications = next((e for e in root.iter(f"{OUTBOUND}notifications")), None)
    if notifications is None:
        raise InvalidBatch("no <notifications> element (expected a Salesforce outbound message)",
                           [FieldError(0, "notifications", "is required")])
    org = _text(notifications, "OrganizationId") or ""
    # Salesforce shows 15- and 18-character forms of the same id.
    if org[:15] != (settings.salesforce_org_id or "")[:15]:
        raise InvalidBatch("message from another Salesforce organisation",
                           [FieldError(0, "OrganizationId", f"got {org!r}, expected the configured organisation")])
    items = [e for e in notifications if _local(e.tag) == "Notification"]
    if len(items) > MAX_NOTIFICATIONS:
        raise InvalidBatch(f"{len(items)} notifications; Salesforce sends at most {MAX_NOTIFICATIONS}", status=413)
    events, errors, ignored = [], [], 0
    for index, note in enumerate(items):
        sobject = next((e for e in note if _local(e.tag) == "sObject"), None)
        note_id = _text(note, "Id")
        if sobject is None or not note_id:
            errors.append(FieldError(index, f"Notification[{index}]", "needs an Id and an sObject"))
            continue
        if not sobject.get(XSI_TYPE, "").endswith(":Lead") and sobject.get(XSI_TYPE, "") != "Lead":
            ignored += 1
            continue
        lead = {ours: _text(sobject, theirs) for theirs, ours in FIELDS.items() if _text(sobject, theirs)}
        owner = settings.salesforce_owners.get((_text(sobject, "OwnerId") or "")[:15])
        if owner:
            lead["owner_email"] = owner
        if settings.salesforce_instance_url and _text(sobject, "Id"):
            lead["crm_url"] = f"{settings.salesforce_instance_url.rstrip('/')}/{_text(sobject, 'Id')}"
        when = _text(sobject, "LastModifiedDate") or datetime.now(UTC).isoformat()
        event, errs = validate_event(
            {"type": "lead.upsert", "id": note_id, "source": "salesforce", "occurred_at": when, "lead": lead}, index
        )
        for e in errs:
            field = {"lead.email": "Email", "occurred_at": "LastModifiedDate"}.get(e.field, e.field)
            errors.append(FieldError(index, f"Notification[{index}].sObject.{field}", e.message))
        if event:
            events.append(event)
    if errors:
        raise InvalidBatch(f"{len({e.index for e in errors})} of {len(items)} notifications are invalid; nothing was stored",
                           errors)
    return Translated(events, ignored)


def respond(_summary: dict) -> Response:
    # Salesforce retries anything but this acknowledgement.
    return Response(ACK, media_type="text/xml", status_code=200)


SOURCE = Source("salesforce", authenticate, translate, respond)
