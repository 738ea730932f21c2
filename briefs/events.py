"""The generic event contract (POST /webhooks/events, `leadbrief ingest`): parsing and validation.

Pure: bytes or Python objects in, validated events or a list of field errors out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

MAX_BATCH = 1000
# Deepest nesting of JSON we parse. Real payloads are a few levels deep; without a bound, json.loads and every
# recursive walk over what it returns (ours, pydantic's) hit Python's recursion limit: a RecursionError, a 500.
MAX_JSON_DEPTH = 64

ActivityKind = Literal[
    "web_visit",
    "content_download",
    "email_sent",
    "email_delivered",
    "email_open",
    "email_click",
    "form_submit",
    "webinar_registered",
    "webinar_attended",
    "event_attended",
    "chat",
    "meeting_booked",
    "unsubscribe",
]
ACTIVITY_KINDS: tuple[str, ...] = get_args(ActivityKind)
QualifyReason = Literal["score_threshold", "hand_raiser", "lifecycle_change", "re_engaged", "manual"]
QUALIFY_REASONS: tuple[str, ...] = get_args(QualifyReason)

# C0/C1 control characters (tab and newline kept) are never meaningful in lead data and can
# break terminals and Slack rendering; \x02/\x03 are also our own emphasis markers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def clean_text(value: Any) -> Any:
    """Drop control and bidi-override characters; keep line breaks."""
    if isinstance(value, str):
        return _CONTROL.sub("", value).strip()
    return value


def clean_line(value: Any) -> Any:
    """Single-line fields (names, titles): also fold runs of white space."""
    if isinstance(value, str):
        # Fast path for the usual clean value: isprintable() is False for every control, bidi and
        # line-breaking character the regexes below remove.
        if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
            return value
        return _SPACES.sub(" ", _CONTROL.sub("", value)).strip()
    return value


def normalise_email(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower()
    return value


def _email_check(value: str) -> str:
    if not EMAIL_RE.match(value):
        raise ValueError("is not an email address (expected name@domain)")
    return value


# Every byte that is not a bracket.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STRETCH = 32


class JSONTooDeep(ValueError):
    def __init__(self, limit: int = MAX_JSON_DEPTH):
        super().__init__(f"nested deeper than {limit} levels")
        self.limit = limit


def json_too_deep(text: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects more than `limit` levels deep; found without parsing it
    (nor recursing), in a few linear passes, so that a hostile body costs little. Brackets inside
    strings do not count. (Text that is not JSON may be misjudged, but only past where json.loads stops.)"""
    # Most texts hold few brackets: counted where they are, without a copy (this runs once per line of a file).
    if isinstance(text, str):
        if text.count("[") + text.count("{") <= limit:
            return False
    elif text.count(b"[") + text.count(b"{") <= limit:
        return False
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    # Escapes are pairs, read left to right: without them, every quote opens or closes a string.
    data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(data.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    # This runs on every batch ahead of the fast path (ingestion's hot path), so the brackets are walked one by
    # one only in a stretch that could go past the limit; elsewhere a stretch moves the depth by its count.
    depth = 0
    for start in range(0, len(brackets), _STRETCH):
        stretch = brackets[start:start + _STRETCH]
        opened = len(stretch.translate(None, b"]}"))
        if depth + opened <= limit:
            depth += 2 * opened - len(stretch)
            continue
        for b in stretch:
            depth += 1 if b in b"[{" else -1
            if depth > limit:
                return True
    return False


def load_json(text: bytes | str, limit: int = MAX_JSON_DEPTH) -> Any:
    """json.loads with the nesting bounded first. Raises ValueError only: JSONTooDeep, or the decoder's own
    (JSONDecodeError, UnicodeDecodeError)."""
    if json_too_deep(text, limit):
        raise JSONTooDeep(limit)
    return json.loads(text)


def body_json(body: bytes | str, expected: str, hint: str = "") -> Any:
    """A request body as JSON, or InvalidBatch (400) saying what is wrong with it and what was expected."""
    try:
        return load_json(body)
    except JSONTooDeep as exc:
        raise InvalidBatch(f"body is not valid JSON: {exc}; expected {expected}",
                           [FieldError(0, "(body)", f"is {exc}")]) from None
    except ValueError as exc:
        raise InvalidBatch(f"body is not valid JSON: {exc}{hint}") from None


def _without_nul(value: Any, depth: int = 1) -> Any:
    """NUL characters removed from free-form JSON: never meaningful, and PostgreSQL's jsonb cannot hold them.
    Also bounds its nesting, whichever parser built it (pydantic's own allows deeper)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if depth > MAX_JSON_DEPTH and isinstance(value, dict | list):
        raise ValueError(f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v, depth + 1) for v in value]
    return value


# Text fields: LineN is one line (white space folded), BodyN free text (line breaks kept), at most N characters.
Line = Annotated[str, BeforeValidator(clean_line)]
Body = Annotated[str, BeforeValidator(clean_text)]
Line32 = Annotated[Line, StringConstraints(max_length=32)]
Line64 = Annotated[Line, StringConstraints(max_length=64)]
Line100 = Annotated[Line, StringConstraints(max_length=100)]
Line200 = Annotated[Line, StringConstraints(max_length=200)]
Line300 = Annotated[Line, StringConstraints(max_length=300)]
Line500 = Annotated[Line, StringConstraints(max_length=500)]
Line2000 = Annotated[Line, StringConstraints(max_length=2000)]
Body2000 = Annotated[Body, StringConstraints(max_length=2000)]
Body3000 = Annotated[Body, StringConstraints(max_length=3000)]
Body10000 = Annotated[Body, StringConstraints(max_length=10_000)]


Email = Annotated[
    str,
    BeforeValidator(normalise_email),
    StringConstraints(min_length=3, max_length=320),
]
EventId = Annotated[str, BeforeValidator(clean_line), StringConstraints(min_length=1, max_length=200)]
VisitorId = Annotated[str, BeforeValidator(clean_line), StringConstraints(min_length=1, max_length=200)]
Source = Annotated[
    str,
    BeforeValidator(clean_line),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"),
]


class _Strict(BaseModel):
    # Unknown keys are ignored so that senders may add fields without breaking us.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


# The lead's customer facts (docs/customers.md): one list for the sources, CSV and storage.
CUSTOMER_FIELDS = ("renewal_date", "arr", "currency", "plan", "csm_email", "former_customer", "churned_on",
                   "churn_reason", "open_escalations", "left_company")


class LeadFields(_Strict):
    email: Email
    first_name: Line200 | None = None
    last_name: Line200 | None = None
    title: Line300 | None = None
    company: Line300 | None = None
    phone: Line64 | None = None
    owner_email: Email | None = None
    lifecycle_stage: Line64 | None = None
    score: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    persona: Line100 | None = None
    lead_source: Line200 | None = None
    lead_status: Line64 | None = None
    is_customer: bool | None = None
    customer_since: Line32 | None = None
    nps: int | None = Field(default=None, ge=0, le=10)
    csat: int | None = Field(default=None, ge=1, le=5)
    crm_url: Line2000 | None = None
    # The CRM's "do not contact" flag (Salesforce DoNotCall, HubSpot/Mautic do-not-contact...): closes the lead.
    do_not_contact: bool | None = None
    # The CRM's email opt-out (HubSpot hs_email_optout, Salesforce HasOptedOutOfEmail): not a ban on a call.
    email_opt_out: bool | None = None
    # The CRM's account (company) id: HubSpot's associated company, Salesforce's AccountId. It wins over the
    # email's domain and the company name when leads are matched to accounts (briefs/accounts.py).
    crm_account_id: Line200 | None = None
    # Customer facts (docs/customers.md), all optional: the contract's next renewal and its value...
    renewal_date: date | None = None
    arr: int | None = Field(default=None, ge=0, le=10**12)  # annual recurring revenue, whole currency units
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] | None = None  # ISO 4217: EUR
    plan: Line100 | None = None
    # ...who looks after the customer...
    csm_email: Email | None = None
    # ...a customer who left, when and why...
    former_customer: bool | None = None
    churned_on: date | None = None
    churn_reason: Line300 | None = None
    # ...open support escalations, and a contact marked in the CRM as gone from the company.
    open_escalations: int | None = Field(default=None, ge=0, le=10_000)
    left_company: bool | None = None

    _emails = field_validator("email", "owner_email", "csm_email")(
        lambda v: v if v is None else _email_check(v))

    @field_validator("arr", mode="before")
    @classmethod
    def _whole_amount(cls, v: Any) -> Any:
        # CRMs send currency fields as numbers or numeric strings ("48000.00"); whole units are enough here.
        if isinstance(v, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", v):
            v = float(v)
        if isinstance(v, float) and v == v and abs(v) != float("inf"):
            return round(v)
        return v

    @field_validator("renewal_date", "churned_on", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        # HubSpot date properties are epoch milliseconds at UTC midnight; CSV and Salesforce send ISO dates.
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v.strip())
        if isinstance(v, int) and not isinstance(v, bool):
            seconds = v / 1000 if v > 10**11 else v
            try:
                return datetime.fromtimestamp(seconds, UTC).date()
            except (OverflowError, OSError, ValueError):
                raise ValueError("is not a date (expected YYYY-MM-DD or epoch milliseconds)") from None
        if isinstance(v, str) and "T" in v:  # a datetime where a date is meant: its day
            return v.split("T", 1)[0]
        return v

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else v

    @field_validator("crm_url")
    @classmethod
    def _http_only(cls, v: str | None) -> str | None:
        if v and not v.lower().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return v or None


class Asset(_Strict):
    title: Line500 | None = None
    url: Line2000 | None = None
    type: Line100 | None = None
    topic: Line200 | None = None


class _Event(_Strict):
    id: EventId
    occurred_at: AwareDatetime
    source: Source = "api"

    @field_validator("occurred_at")
    @classmethod
    def _in_utc_range(cls, v: datetime) -> datetime:
        # Stored in UTC: 0001-01-01T00:00+01:00 has no UTC form (an OverflowError when it is stored).
        try:
            v.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range (expected a time between the years 1 and 9999 in UTC)") from None
        return v


class Visitor(_Strict):
    """A person as one source knows them before (or besides) their email: the source's own user id and/or the
    anonymous id of a browser or device. Scoped to the event's source: "u1" of segment is not "u1" of api."""

    user_id: VisitorId | None = None
    anonymous_id: VisitorId | None = None

    @model_validator(mode="after")
    def _one_id_at_least(self) -> Visitor:
        if not self.user_id and not self.anonymous_id:
            raise ValueError("needs user_id or anonymous_id (a non-empty string)")
        return self

    def ids(self) -> list[tuple[str, str]]:
        """(kind, id) of each id given, the user id first (it names the person; a browser can be shared)."""
        return [(k, v) for k, v in (("user_id", self.user_id), ("anonymous_id", self.anonymous_id)) if v]


class LeadUpsert(_Event):
    type: Literal["lead.upsert"]
    lead: LeadFields
    # The source's ids of this person: linked to the lead, so that activity naming only them reaches it.
    visitor: Visitor | None = None

    @property
    def email(self) -> str:
        return self.lead.email


class ActivityEvent(_Event):
    type: Literal["activity"]
    # Exactly one of email / visitor: an activity names the lead, or a visitor that is (or will be) linked to one.
    email: Email | None = None
    visitor: Visitor | None = None
    kind: ActivityKind
    asset: Asset | None = None
    campaign: Line300 | None = None
    subject: Line500 | None = None
    url: Line2000 | None = None
    form: Line300 | None = None
    comments: Body10000 | None = None
    properties: dict[str, Any] | None = None

    _email = field_validator("email")(lambda v: v if v is None else _email_check(v))

    @model_validator(mode="after")
    def _email_or_visitor(self) -> ActivityEvent:
        if self.email is None and self.visitor is None:
            raise ValueError("needs email or visitor (the lead's email, or the source's user_id/anonymous_id)")
        if self.email is not None and self.visitor is not None:
            raise ValueError("takes email or visitor, not both")
        return self

    @field_validator("properties")
    @classmethod
    def _small_properties(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        cleaned: dict[str, Any] = _without_nul(v)  # first: it bounds the depth json.dumps recurses into
        if len(json.dumps(cleaned, default=str)) > 20_000:
            raise ValueError("is larger than 20,000 characters of JSON")
        return cleaned


class QualifiedEvent(_Event):
    type: Literal["lead.qualified"]
    email: Email
    reason: QualifyReason
    score: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    note: Body2000 | None = None

    _email = field_validator("email")(lambda v: _email_check(v))


class NoteEvent(_Event):
    type: Literal["lead.note"]
    email: Email
    author: Line200
    text: Body3000
    # Optional: who the author is to the lead ("csm", "marketing", "sales", "sdr"...); the brief labels the note.
    author_role: Line64 | None = None
    # Optional: the author's email, so that a note asking to be consulted first routes the brief to them.
    author_email: Email | None = None

    _email = field_validator("email")(lambda v: _email_check(v))
    _author_email = field_validator("author_email")(lambda v: v if v is None else _email_check(v))

    @field_validator("text", "author")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v:
            raise ValueError("must not be empty")
        return v


class IdentityLink(_Event):
    """The visitor's ids belong to this lead (email), or to this user id of the same source (user_id): what an
    identify or alias call says. Activity kept for those ids, and any that comes later, goes to the lead."""

    type: Literal["identity.link"]
    visitor: Visitor
    email: Email | None = None
    user_id: VisitorId | None = None

    _email = field_validator("email")(lambda v: v if v is None else _email_check(v))

    @model_validator(mode="after")
    def _one_target(self) -> IdentityLink:
        if (self.email is None) == (self.user_id is None):
            raise ValueError("needs exactly one of email or user_id (whom the visitor's ids belong to)")
        if self.user_id is not None and self.visitor.user_id == self.user_id and not self.visitor.anonymous_id:
            raise ValueError("links user_id to itself")
        return self


Event = Annotated[
    LeadUpsert | ActivityEvent | QualifiedEvent | NoteEvent | IdentityLink, Field(discriminator="type")
]
EVENT_TYPES = ("lead.upsert", "activity", "lead.qualified", "lead.note", "identity.link")
_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


@dataclass(frozen=True)
class FieldError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, int | str]:
        return {"index": self.index, "field": self.field, "message": self.message}


class InvalidBatch(Exception):
    def __init__(self, error: str, details: list[FieldError] | None = None, status: int = 400):
        super().__init__(error)
        self.error = error
        self.details = details or []
        self.status = status

    def as_dict(self) -> dict[str, str | list[dict[str, int | str]]]:
        return {"error": self.error, "details": [d.as_dict() for d in self.details]}


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"got {err.get('input')!r}, expected one of {expected}"
    if kind == "union_tag_invalid":
        return f"got {err['ctx']['tag']!r}, expected one of {', '.join(repr(t) for t in EVENT_TYPES)}"
    if kind == "union_tag_not_found":
        return f"is required (one of {', '.join(repr(t) for t in EVENT_TYPES)})"
    if kind == "timezone_aware":
        return "needs a UTC offset or Z (ISO 8601, e.g. 2026-11-23T15:04:05Z)"
    if kind.startswith("datetime"):
        return "is not an ISO 8601 date-time (expected e.g. 2026-11-23T15:04:05Z)"
    if kind in ("string_too_long", "too_long"):
        return f"is longer than {err['ctx']['max_length']} characters"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return "may only contain letters, digits and . _ : -"
    msg = err.get("msg", "is invalid")
    return msg.removeprefix("Value error, ")


def _field(err: ErrorDetails) -> str:
    if err["type"].startswith("union_tag"):
        return "type"
    # Drop the discriminator tag pydantic inserts ("activity", "lead.upsert", ...).
    parts = [str(p) for p in err["loc"] if p not in EVENT_TYPES]
    if not parts:
        # A rule across fields is reported on the event itself: name the field it is about.
        message = _message(err)
        for start, name in _CROSS_FIELD.items():
            if message.startswith(start):
                return name
    return ".".join(parts) or "(event)"


# The first words of a cross-field rule's message -> the field it names.
_CROSS_FIELD = {
    "needs email or visitor": "email",
    "takes email or visitor": "visitor",
    "needs exactly one of email or user_id": "email",
    "links user_id to itself": "user_id",
}


def validate_event(obj: Any, index: int = 0) -> tuple[Event | None, list[FieldError]]:
    if not isinstance(obj, dict):
        return None, [FieldError(index, "(event)", f"expected a JSON object, got {type(obj).__name__}")]
    try:
        return _event_adapter.validate_python(obj), []
    except ValidationError as exc:
        return None, [FieldError(index, _field(e), _message(e)) for e in exc.errors()]


def event_from_json(data: bytes | str) -> Event | None:
    """Fast path for one event as JSON text (pydantic parses and validates in one pass): the event, or
    None when it is not a valid one, and validate_event on the parsed object then says exactly why."""
    try:
        return _event_adapter.validate_json(data)
    except ValidationError:
        return None


class _Batch(BaseModel):
    """{"events": [...]} as parse_batch accepts it: the fast path for whole batches of valid events."""

    model_config = ConfigDict(extra="ignore")
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_BATCH)]
    type: Any = None  # present means "one event", which the slow path handles

    @model_validator(mode="after")
    def _no_type(self) -> _Batch:
        if "type" in self.model_fields_set:
            raise ValueError("a single event")
        return self


def parse_batch(body: bytes | str | Any) -> list[Event]:
    """One event object or {"events": [...]}, every event valid. Raises InvalidBatch naming every bad field."""
    events, errors = split_batch(body)
    if errors:
        raise InvalidBatch(f"{len({e.index for e in errors})} of {len(events) + len({e.index for e in errors})} "
                           "events are invalid; nothing was stored", errors)
    return events


def split_batch(body: bytes | str | Any) -> tuple[list[Event], list[FieldError]]:
    """One event object or {"events": [...]}: the valid events, and every bad field of the others.

    Raises InvalidBatch only when the body itself is unusable (not JSON, not a batch, empty, too large)."""
    if isinstance(body, bytes | str):
        try:
            # Valid batches parse and validate in one pass; anything else goes the slow way to say why.
            # The depth bound comes first: pydantic's parser allows deeper, and ignores extra keys as deep as that.
            if not json_too_deep(body):
                return _Batch.model_validate_json(body).events, []
        except ValidationError:
            pass
        body = body_json(body, 'one event object or {"events": [...]}, each a few levels deep')
    if isinstance(body, dict) and "events" in body and "type" not in body:
        items = body["events"]
        if not isinstance(items, list):
            raise InvalidBatch("events must be a list", [FieldError(0, "events", "expected a JSON array")])
    elif isinstance(body, dict):
        items = [body]
    else:
        raise InvalidBatch('body must be one event object or {"events": [...]}')
    if len(items) > MAX_BATCH:
        raise InvalidBatch(f"batch has {len(items)} events; at most {MAX_BATCH} are accepted", status=413)
    if not items:
        raise InvalidBatch("batch is empty", [FieldError(0, "events", "expected at least one event")])
    events: list[Event] = []
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        event, errs = validate_event(item, i)
        if event is None:
            errors.extend(errs)
        else:
            events.append(event)
    return events, errors
