"""POST /webhooks/marketo: a Marketo webhook (Admin -> Webhooks), called from a smart campaign flow step.

Marketo posts whatever body template the admin saved; ours (docs/sources.md, "Marketo") renders one person plus what
triggered the flow:

    {"id": [{{campaign.Id}}, {{lead.Id}}, {{system.dateTime}}], "occurred_at": {{system.dateTime}},
     "clock": {{system.time}}, "activity": "form_submit",
     "lead": {"id": {{lead.Id}}, "email": {{lead.Email Address}}, ...},
     "trigger": {"name": {{trigger.Name}}, "type": {{trigger.Trigger Name}}},
     "campaign": {{campaign.Name}}, "comments": {{lead.Comments}}}

With Request Token Encoding JSON, Marketo JSON-escapes each token and wraps string tokens in double quotes
itself ("String-type tokens are automatically enclosed in double quotes", Marketo's Webhooks docs), so tokens
stand unquoted in the template; one token per value, since "{{a}}-{{b}}" cannot be
built. Hence "id" may be a list of parts, joined here. Tokens with no value render empty: an empty or
null optional field is dropped, never stored as "".

    always               -> lead.upsert (id "<id>:lead")
    activity in our kinds -> activity   (id "<id>:<kind>"); anything else -> ignored (counted)

{{system.dateTime}} renders "2026-11-23 10:15:00" in the Marketo instance's time zone, without an offset.
{{system.time}} ("10:15 AM (GMT -0700)") carries that offset, so when "clock" is sent a naive occurred_at is
read in that zone; otherwise a naive time is taken as UTC. ISO 8601 with Z or an offset is used as given.

Authentication: Marketo signs nothing; the webhook sends our secret in a custom header
(Webhooks Actions -> Set Custom Header), compared in constant time.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request

from bot.settings import Settings, SourceConfig, env_secret, env_text
from briefs.events import ACTIVITY_KINDS, FieldError, InvalidBatch, body_json, validate_event
from handlers.sources.payload import EMAIL_OPT_OUT, consent, dig, flag
from handlers.webhooks import Source, SourceNotConfigured, Translated, WebhookDoc

SOURCE_NAME = "marketo"
AUTH_HEADER = "X-Leadbrief-Marketo-Secret"

# Our lead field -> key under "lead" in the body template.
LEAD_FIELDS = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "title": "title",
    "company": "company",
    "phone": "phone",
    "score": "score",
    "owner_email": "owner_email",
    "lifecycle_stage": "status",
}
# The template's lead keys -> our lead's consent fields ({{lead.Unsubscribed}}).
CONSENT_FIELDS = {"unsubscribed": EMAIL_OPT_OUT}
# Open Email / Click Email attributes (lowercased) -> the properties triage reads for machine opens
# (docs/triage.md): Marketo's own bot filter, the client's user agent, and the device.
MACHINE_ATTRIBUTES = {"is bot activity": "is_bot", "bot activity pattern": "bot_activity_pattern",
                      "user agent": "user_agent", "is mobile device": "is_mobile_device", "device": "device",
                      "platform": "platform"}


def machine_details(attrs: dict[str, Any]) -> dict[str, Any]:
    """An email activity's machine-open attributes, as the webhook's template or the REST API give them."""
    out: dict[str, Any] = {}
    for theirs, ours in MACHINE_ATTRIBUTES.items():
        value = attrs.get(theirs)
        if ours in ("is_bot", "is_mobile_device"):
            checked = flag(value)
            if checked is not None:
                out[ours] = checked
        elif isinstance(value, str | int | float) and str(value).strip():
            out[ours] = str(value).strip()[:500]
    return out



_GMT = re.compile(r"\((?:GMT|UTC)\s*([+-])\s*(\d{1,2}):?(\d{2})\)")


@dataclass(frozen=True)
class MarketoSettings:
    """A shared secret header on webhooks; REST API credentials for `leadbrief sync marketo` (marketo_sync.py)."""

    webhook_secret: str | None = field(default=None, repr=False)
    base_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)


def _load(env: Mapping[str, str], _section: Any, _where: str) -> MarketoSettings:
    return MarketoSettings(webhook_secret=env_secret(env, "MARKETO_WEBHOOK_SECRET"),
                           base_url=env_text(env, "MARKETO_BASE_URL"),
                           client_id=env_text(env, "MARKETO_CLIENT_ID"),
                           client_secret=env_text(env, "MARKETO_CLIENT_SECRET"))


CONFIG = SourceConfig(SOURCE_NAME, MarketoSettings(), _load)


def authenticate(request: Request, _body: bytes, settings: Settings) -> str | None:
    secret = CONFIG.of(settings).webhook_secret
    if not secret:
        raise SourceNotConfigured("Marketo webhooks are not enabled: set MARKETO_WEBHOOK_SECRET")
    offered = (request.headers.get(AUTH_HEADER) or "").strip()
    if not offered:
        return f"missing {AUTH_HEADER} header (add it in Marketo: Webhooks Actions -> Set Custom Header)"
    if not hmac.compare_digest(offered.encode(), secret.encode()):
        return f"{AUTH_HEADER} does not match MARKETO_WEBHOOK_SECRET"
    return None


# --- translation ---------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    """A rendered token: None when Marketo had nothing for it (empty, blank or null)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _get(data: dict, path: str) -> Any:
    return _value(dig(data, path))


def _event_id(data: dict) -> str | None:
    raw = data.get("id")
    if isinstance(raw, list):
        parts = [str(_value(p)) for p in raw if _value(p) is not None and not isinstance(p, dict | list)]
        return "-".join(parts) or None
    if isinstance(raw, bool | dict):
        return None
    raw = _value(raw)
    return None if raw is None else str(raw)


def _offset(clock: Any) -> timezone | None:
    """The zone of a rendered {{system.time}}, e.g. "04:34 PM (GMT -0700)"."""
    if not isinstance(clock, str):
        return None
    m = _GMT.search(clock)
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if m.group(1) == "-" else minutes))


def _occurred_at(data: dict) -> tuple[Any, FieldError | None]:
    raw = _get(data, "occurred_at")
    if raw is None:
        return datetime.now(UTC), None
    if not isinstance(raw, str):
        return raw, FieldError(0, "occurred_at", "expected a date-time string")
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return raw, FieldError(
            0, "occurred_at",
            "is not a date-time (expected {{system.dateTime}}, e.g. 2026-11-23 10:15:00, or ISO 8601 "
            "such as 2026-11-23T10:15:00Z)")
    if when.tzinfo is None:
        when = when.replace(tzinfo=_offset(_get(data, "clock")) or UTC)
    return when, None


def translate(body: bytes, _request: Request | None, _settings: Settings) -> Translated:
    data = body_json(body, "the Leadbrief Marketo payload template, a flat object",
                     hint=" (in the Marketo webhook, set Request Token Encoding to JSON and leave tokens unquoted "
                          "in the template: Marketo quotes string tokens itself; a number token with no value "
                          "renders nothing, so give it a default, e.g. {{lead.Lead Score:default=0}})")
    if not isinstance(data, dict):
        raise InvalidBatch("body must be a JSON object (the Leadbrief Marketo payload template)",
                           [FieldError(0, "(body)", f"expected a JSON object, got {type(data).__name__}")])
    errors: list[FieldError] = []
    event_id = _event_id(data)
    if event_id is None:
        errors.append(FieldError(0, "id", "is required ([{{campaign.Id}}, {{lead.Id}}, {{system.dateTime}}])"))
    lead_data = data.get("lead")
    if not isinstance(lead_data, dict):
        errors.append(FieldError(0, "lead", "is required (an object with at least email)"))
        lead_data = {}
    elif _get(lead_data, "email") is None:
        errors.append(FieldError(0, "lead.email", "is required ({{lead.Email Address}})"))
    when, time_error = _occurred_at(data)
    if time_error:
        errors.append(time_error)
    if errors:
        raise InvalidBatch("the Marketo webhook payload is invalid; nothing was stored", errors)

    lead = {ours: _get(lead_data, theirs) for ours, theirs in LEAD_FIELDS.items()}
    lead = {k: v for k, v in lead.items() if v is not None}
    lead.update(consent(lead_data, CONSENT_FIELDS))
    origin = {f"lead.{ours}": f"lead.{theirs}" for ours, theirs in (*LEAD_FIELDS.items(),
                                                                     *((v, k) for k, v in CONSENT_FIELDS.items()))}
    candidates: list[tuple[dict, dict]] = [(
        {"type": "lead.upsert", "id": f"{event_id}:lead", "source": SOURCE_NAME, "occurred_at": when, "lead": lead},
        origin,
    )]

    ignored = 0
    kind = _get(data, "activity")
    if isinstance(kind, str) and kind in ACTIVITY_KINDS:
        candidates.append(_activity(data, lead["email"], kind, event_id, when))
    else:
        ignored = 1

    # One call carries one person: an invalid person refuses the call; an invalid activity is skipped (named,
    # index 1) and the person is still stored, so Marketo does not retry a call that can never succeed.
    events, skipped = [], []
    for index, (event, where) in enumerate(candidates):
        parsed, errs = validate_event(event)
        named = [FieldError(index, where.get(e.field, e.field), e.message) for e in errs]
        if parsed:
            events.append(parsed)
        elif index == 0:
            raise InvalidBatch("the Marketo webhook payload is invalid; nothing was stored", named)
        else:
            skipped.extend(named)
    return Translated(events, ignored, skipped=skipped)


def _activity(data: dict, email: Any, kind: str, event_id: str, when: Any) -> tuple[dict, dict]:
    trigger_name, trigger_type = _get(data, "trigger.name"), _get(data, "trigger.type")
    campaign, lead_id = _get(data, "campaign"), _get(data, "lead.id")
    event: dict[str, Any] = {"type": "activity", "id": f"{event_id}:{kind}", "source": SOURCE_NAME,
                             "occurred_at": when, "email": email, "kind": kind}
    origin = {"email": "lead.email", "kind": "activity"}
    properties = {"marketo_trigger": trigger_type, "marketo_trigger_name": trigger_name,
                  "marketo_campaign": campaign, "marketo_lead_id": lead_id}
    if kind == "form_submit":
        form = _get(data, "form")
        event["form"], origin["form"] = (form, "form") if form is not None else (trigger_name, "trigger.name")
        event["comments"], origin["comments"] = _get(data, "comments"), "comments"
    elif kind == "content_download":
        event["asset"] = {"title": _get(data, "asset") or trigger_name}
        origin["asset.title"] = "asset" if _get(data, "asset") is not None else "trigger.name"
    else:
        event["campaign"], origin["campaign"] = campaign, "campaign"
    event["url"], origin["url"] = _get(data, "url"), "url"
    event = {k: v for k, v in event.items() if v is not None}
    if isinstance(event.get("asset"), dict) and event["asset"].get("title") is None:
        del event["asset"]
    if kind in ("email_open", "email_click"):
        # Optional template keys, from the Opens Email / Clicks Link in Email trigger's tokens.
        email = data.get("email") if isinstance(data.get("email"), dict) else {}
        properties.update(machine_details({str(k).replace("_", " ").lower(): v for k, v in email.items()}))
    properties = {k: v for k, v in properties.items() if v is not None}
    if properties:
        event["properties"] = properties
    return event, origin


SOURCE = Source(SOURCE_NAME, authenticate, translate, config=CONFIG, doc=WebhookDoc(
    "Marketo webhooks.", "A shared secret in a custom header (MARKETO_WEBHOOK_SECRET); see docs/sources.md."))
