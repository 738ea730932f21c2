"""The webhook API as an OpenAPI 3.1 document, served at GET /openapi.json.

It describes what handlers/webhooks.py and briefs/events.py actually do (docs/sources.md: "The event contract"),
and tests/e2e/test_fuzz_http.py holds the running app to it: every answer is a documented status with a
documented body. Each source's endpoint comes from its own description (Source.doc in handlers/sources/*).
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from briefs.events import ACTIVITY_KINDS, MAX_BATCH, QUALIFY_REASONS
from briefs.identity import PENDING_MAX_AGE, PENDING_PER_VISITOR
from handlers import sources
from handlers.webhooks import WebhookDoc

OPENAPI_PATH = "/openapi.json"


def _line(max_length: int, **extra: Any) -> dict:
    return {"type": "string", "maxLength": max_length, **extra}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


_EMAIL = {"type": "string", "minLength": 3, "maxLength": 320, "format": "email",
          "description": "Trimmed and lowercased; must look like name@domain."}
_EVENT_BASE = {
    "id": {"type": "string", "minLength": 1, "maxLength": 200,
           "description": "Unique within `source`; a repeated (source, id) is counted as a duplicate."},
    "occurred_at": {"type": "string", "format": "date-time",
                    "description": "ISO 8601 with a UTC offset or Z, e.g. 2026-11-23T15:04:05Z."},
    "source": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_.:-]+$", "default": "api"},
}

_VISITOR_ID = {"type": "string", "minLength": 1, "maxLength": 200}

SCHEMAS: dict[str, dict] = {
    "Visitor": {
        "type": "object",
        "description": "A person as one source knows them besides their email, scoped to the event's `source`: "
                       "the source's user id and/or a browser's or device's anonymous id. At least one.",
        "minProperties": 1,
        "properties": {"user_id": _nullable(_VISITOR_ID), "anonymous_id": _nullable(_VISITOR_ID)},
    },
    "LeadFields": {
        "type": "object",
        "required": ["email"],
        "properties": {
            "email": _EMAIL,
            "first_name": _nullable(_line(200)),
            "last_name": _nullable(_line(200)),
            "title": _nullable(_line(300)),
            "company": _nullable(_line(300)),
            "phone": _nullable(_line(64)),
            "owner_email": _nullable(_EMAIL),
            "lifecycle_stage": _nullable(_line(64)),
            "score": _nullable({"type": "integer", "minimum": -1_000_000, "maximum": 1_000_000}),
            "persona": _nullable(_line(100)),
            "lead_source": _nullable(_line(200)),
            "lead_status": _nullable(_line(64)),
            "is_customer": _nullable({"type": "boolean"}),
            "customer_since": _nullable(_line(32)),
            "nps": _nullable({"type": "integer", "minimum": 0, "maximum": 10}),
            "csat": _nullable({"type": "integer", "minimum": 1, "maximum": 5}),
            "crm_url": _nullable(_line(2000, pattern="^[Hh][Tt][Tt][Pp][Ss]?://")),
            # Customer facts (docs/customers.md).
            "renewal_date": _nullable({"type": "string", "format": "date",
                                       "description": "The contract's next renewal (YYYY-MM-DD)."}),
            "arr": _nullable({"type": "integer", "minimum": 0, "maximum": 10**12,
                              "description": "Annual recurring revenue, whole currency units."}),
            "currency": _nullable({"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217"}),
            "plan": _nullable(_line(100)),
            "csm_email": _nullable({**_EMAIL, "description": "The CSM or account manager."}),
            "former_customer": _nullable({"type": "boolean"}),
            "churned_on": _nullable({"type": "string", "format": "date"}),
            "churn_reason": _nullable(_line(300)),
            "open_escalations": _nullable({"type": "integer", "minimum": 0, "maximum": 10_000}),
            "left_company": _nullable({"type": "boolean", "description": "Marked in the CRM as gone from the company."}),
        },
    },
    "Asset": {
        "type": "object",
        "properties": {
            "title": _nullable(_line(500)),
            "url": _nullable(_line(2000)),
            "type": _nullable(_line(100)),
            "topic": _nullable(_line(200)),
        },
    },
    "LeadUpsert": {
        "type": "object",
        "required": ["type", "id", "occurred_at", "lead"],
        "properties": {"type": {"const": "lead.upsert"}, **_EVENT_BASE, "lead": {"$ref": "#/components/schemas/LeadFields"},
                       "visitor": _nullable({"$ref": "#/components/schemas/Visitor",
                                             "description": "The source's ids of this lead: activity naming only "
                                                            "them is applied to the lead."})},
    },
    "Activity": {
        "type": "object",
        "description": "Names the lead by `email` or by `visitor` (exactly one). A visitor not linked to a lead yet "
                       f"is kept pending ({PENDING_MAX_AGE.days} days, the newest {PENDING_PER_VISITOR} per visitor) and "
                       "applied when a link arrives.",
        "required": ["type", "id", "occurred_at", "kind"],
        "oneOf": [{"required": ["email"]}, {"required": ["visitor"]}],
        "properties": {
            "type": {"const": "activity"},
            **_EVENT_BASE,
            "email": _EMAIL,
            "visitor": {"$ref": "#/components/schemas/Visitor"},
            "kind": {"type": "string", "enum": list(ACTIVITY_KINDS)},
            "asset": _nullable({"$ref": "#/components/schemas/Asset"}),
            "campaign": _nullable(_line(300)),
            "subject": _nullable(_line(500)),
            "url": _nullable(_line(2000)),
            "form": _nullable(_line(300)),
            "comments": _nullable(_line(10_000)),
            "properties": _nullable({
                "type": "object",
                "description": "Free JSON, at most 20,000 characters. `page_title` names a page; `referral`, "
                               "`need`, `timeline`, `budget` on a form are the hand-raiser's facts.",
            }),
        },
    },
    "Qualified": {
        "type": "object",
        "required": ["type", "id", "occurred_at", "email", "reason"],
        "properties": {
            "type": {"const": "lead.qualified"},
            **_EVENT_BASE,
            "email": _EMAIL,
            "reason": {"type": "string", "enum": list(QUALIFY_REASONS)},
            "score": _nullable({"type": "integer", "minimum": -1_000_000, "maximum": 1_000_000}),
            "note": _nullable(_line(2000)),
        },
    },
    "Note": {
        "type": "object",
        "required": ["type", "id", "occurred_at", "email", "author", "text"],
        "properties": {
            "type": {"const": "lead.note"},
            **_EVENT_BASE,
            "email": _EMAIL,
            "author": {"type": "string", "minLength": 1, "maxLength": 200},
            "text": {"type": "string", "minLength": 1, "maxLength": 3000},
            "author_role": {"type": "string", "maxLength": 64,
                            "description": "Who the author is to the lead (csm, marketing, sales, sdr...): the "
                                           "brief labels the note with it."},
            "author_email": _nullable({**_EMAIL, "description": "The author's email: a note asking to be "
                                                                "consulted first routes the brief to them."}),
        },
    },
    "IdentityLink": {
        "type": "object",
        "description": "The visitor's ids belong to the lead with this `email`, or to this `user_id` of the same "
                       "source (exactly one). Pending and later activity of those ids goes to the lead.",
        "required": ["type", "id", "occurred_at", "visitor"],
        "oneOf": [{"required": ["email"]}, {"required": ["user_id"]}],
        "properties": {
            "type": {"const": "identity.link"},
            **_EVENT_BASE,
            "visitor": {"$ref": "#/components/schemas/Visitor"},
            "email": _EMAIL,
            "user_id": _VISITOR_ID,
        },
    },
    "Event": {
        "oneOf": [
            {"$ref": "#/components/schemas/LeadUpsert"},
            {"$ref": "#/components/schemas/Activity"},
            {"$ref": "#/components/schemas/Qualified"},
            {"$ref": "#/components/schemas/Note"},
            {"$ref": "#/components/schemas/IdentityLink"},
        ],
        "discriminator": {"propertyName": "type", "mapping": {
            "lead.upsert": "#/components/schemas/LeadUpsert",
            "activity": "#/components/schemas/Activity",
            "lead.qualified": "#/components/schemas/Qualified",
            "lead.note": "#/components/schemas/Note",
            "identity.link": "#/components/schemas/IdentityLink",
        }},
    },
    "Batch": {
        "type": "object",
        "required": ["events"],
        "properties": {"events": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                                  "items": {"$ref": "#/components/schemas/Event"}}},
    },
    "Accepted": {
        "type": "object",
        "required": ["accepted", "duplicates", "qualified"],
        "properties": {
            "accepted": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0},
            "qualified": {"type": "integer", "minimum": 0, "description": "New qualifications."},
            "ignored": {"type": "integer", "minimum": 0, "description": "Records of types or objects we do not use."},
            "skipped": {"type": "integer", "minimum": 0,
                        "description": "Records that could not be read and were not applied; the rest were."},
            "details": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"},
                        "description": "What was wrong with each skipped record (at most 50)."},
        },
    },
    "FieldError": {
        "type": "object",
        "required": ["index", "field", "message"],
        "properties": {"index": {"type": "integer", "minimum": 0}, "field": {"type": "string"}, "message": {"type": "string"}},
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "details": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"},
                        "description": "Every bad field of every event (400); empty or absent otherwise."},
        },
    },
}


def _json(description: str, schema: str, **extra: Any) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}, **extra}


_RESPONSES = {
    "400": _json("Unusable: not JSON, not a batch, or not one valid event (nothing is stored). A batch with "
                 "some valid events is stored (202) and names the skipped ones.", "Error"),
    "401": _json("Authentication failed: missing or wrong signature, or a stale timestamp.", "Error"),
    "413": _json(f"More than {MAX_BATCH} events, or a body larger than LEADBRIEF_MAX_BODY_BYTES.", "Error"),
    "503": _json("Database unavailable; nothing was stored, retry later.", "Error", headers={
        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."},
    }),
}

_SIGNATURE_PARAMS = [
    {"name": "X-Leadbrief-Timestamp", "in": "header", "required": True,
     "description": "Unix seconds; at most 300 s from our clock.", "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    {"name": "X-Leadbrief-Signature", "in": "header", "required": True,
     "description": 'v1=<hex HMAC-SHA256(LEADBRIEF_WEBHOOK_SECRET, "v1:" + timestamp + ":" + raw body)>; '
                    "several, separated by spaces or commas, while rotating secrets.",
     "schema": {"type": "string"}},
]


def _source(name: str, doc: WebhookDoc) -> dict:
    refusals = {**_RESPONSES, "404": _json("This source is not enabled (its secret is not set).", "Error"),
                **{status: _json(text, "Error") for status, text in (doc.more_refusals or {}).items()}}
    if doc.refusal_content_type:
        refusals = {status: {**answer, "content": {doc.refusal_content_type: {"schema": {"type": "string"}}}}
                    for status, answer in refusals.items()}
    return {"post": {
        "operationId": f"webhook_{name}",
        "summary": doc.summary,
        "description": doc.authentication,
        "requestBody": {"required": True, "content": {doc.content_type: {"schema": {}}}},
        "responses": {**(doc.stored or {"202": _json("Stored (counts).", "Accepted")}), **refusals},
    }}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Leadbrief webhook API",
        "version": "1",
        "description": "Leads, activities, qualifications and notes in; talk-track briefs in Slack out. "
                       "New optional fields and event types may be added; unknown fields are ignored.",
    },
    "paths": {
        "/webhooks/events": {"post": {
            "operationId": "webhook_events",
            "summary": "The generic event contract: one event, or a batch of up to 1,000.",
            "parameters": _SIGNATURE_PARAMS,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Event"},
                {"$ref": "#/components/schemas/Batch"},
            ]}}}},
            "responses": {"202": _json("Stored. A (source, id) seen before is counted in `duplicates`.", "Accepted"),
                          **_RESPONSES},
        }},
        **{f"/webhooks/{source.name}": _source(source.name, source.doc) for source in sources.discover() if source.doc},
    },
    "components": {"schemas": SCHEMAS},
}


def document() -> dict[str, Any]:
    """A copy of the OpenAPI document (callers, e.g. fuzzers, may change theirs)."""
    return copy.deepcopy(DOCUMENT)


def register(app: Starlette) -> None:
    """GET /openapi.json: the webhook API's OpenAPI document."""

    async def openapi(_request: Request) -> JSONResponse:
        return JSONResponse(DOCUMENT)

    app.add_route(OPENAPI_PATH, openapi, methods=["GET"])
