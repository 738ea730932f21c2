"""CSV files for `leadbrief import`: leads or activities, with a column mapping, as our events.

Each row becomes one event validated like any other. Its id is a hash of the row's content, so running the
same file again changes nothing, while an edited row is applied as new. A row's time comes from its own
column when it has one, else (for leads) from the file's modification time, so that an old export never
overwrites newer data that arrived by webhook.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from briefs.events import ACTIVITY_KINDS, CUSTOMER_FIELDS, EMAIL_RE, FieldError, validate_event
from briefs.signals import fold
from handlers.files import FileError, Item

LEAD_FIELDS = ("email", "first_name", "last_name", "title", "company", "phone", "owner_email", "lifecycle_stage",
               "lead_status", "lead_source", "score", "persona", "is_customer", "customer_since", "nps", "csat",
               "crm_url", *CUSTOMER_FIELDS)
ACTIVITY_FIELDS = ("id", "email", "kind", "occurred_at", "asset_title", "asset_type", "asset_topic", "asset_url",
                   "campaign", "subject", "url", "form", "comments")
# Header spellings from common CRM and marketing-automation exports, folded (lowercase, no punctuation).
ALIASES = {
    "emailaddress": "email", "email": "email", "contactemail": "email",
    "firstname": "first_name", "lastname": "last_name", "jobtitle": "title", "title": "title",
    "company": "company", "companyname": "company", "account": "company", "accountname": "company",
    "companyaccount": "company",  # Salesforce lead reports: "Company / Account"
    "phone": "phone", "phonenumber": "phone", "mobilephone": "phone",
    # A name in most exports (HubSpot, Salesforce, Account Engagement), resolved through [owners]: see Owners.
    "owner": "owner_email", "owneremail": "owner_email", "leadowner": "owner_email", "contactowner": "owner_email",
    "hubspotowner": "owner_email", "assigneduser": "owner_email", "assignedto": "owner_email",
    "lifecyclestage": "lifecycle_stage", "stage": "lifecycle_stage",
    # Where sales stands with the lead (HubSpot "Lead Status", Salesforce "Lead Status" / Status), not the stage.
    "leadstatus": "lead_status", "status": "lead_status",
    "leadsource": "lead_source", "originalsource": "lead_source", "source": "lead_source",
    "score": "score", "leadscore": "score", "hubspotscore": "score", "points": "score",
    "persona": "persona", "iscustomer": "is_customer", "customer": "is_customer", "customersince": "customer_since",
    "nps": "nps", "npsscore": "nps", "csat": "csat", "crmurl": "crm_url", "recordurl": "crm_url",
    "updatedat": "occurred_at", "updateddate": "occurred_at", "lastmodified": "occurred_at", "lastmodifieddate": "occurred_at",
    "occurredat": "occurred_at", "date": "occurred_at", "timestamp": "occurred_at", "createdat": "occurred_at",
    "activitydate": "occurred_at", "kind": "kind", "type": "kind", "activitytype": "kind",
    "assettitle": "asset_title", "contenttitle": "asset_title", "assettype": "asset_type", "contenttype": "asset_type",
    "assettopic": "asset_topic", "topic": "asset_topic", "asseturl": "asset_url", "contenturl": "asset_url",
    "campaign": "campaign", "campaignname": "campaign", "subject": "subject", "emailsubject": "subject",
    "url": "url", "pageurl": "url", "form": "form", "formname": "form", "comments": "comments", "message": "comments",
    "id": "id", "activityid": "id",
    # Customer facts (docs/customers.md), as CRM and CS-tool exports name them.
    "renewaldate": "renewal_date", "renewal": "renewal_date", "contractenddate": "renewal_date",
    "contractend": "renewal_date", "nextrenewaldate": "renewal_date",
    "arr": "arr", "annualrecurringrevenue": "arr", "contractvalue": "arr", "annualcontractvalue": "arr",
    "acv": "arr", "currency": "currency", "currencycode": "currency", "plan": "plan", "tier": "plan",
    "csm": "csm_email", "csmemail": "csm_email", "customersuccessmanager": "csm_email",
    "accountmanager": "csm_email", "accountmanageremail": "csm_email",
    "formercustomer": "former_customer", "churned": "former_customer", "churndate": "churned_on",
    "churnedon": "churned_on", "churnreason": "churn_reason", "reasonforchurn": "churn_reason",
    "lossreason": "churn_reason", "openescalations": "open_escalations", "escalations": "open_escalations",
    "leftcompany": "left_company", "nolongeratcompany": "left_company",
}
CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
# Salesforce Account Engagement (Pardot) visitor activity type codes.
PARDOT_KINDS = {"1": "email_click", "2": "web_visit", "4": "form_submit", "6": "email_sent", "11": "email_open",
                "20": "web_visit", "24": "webinar_attended", "21": "webinar_registered", "12": "unsubscribe"}
TRUE = {"1", "true", "yes", "y", "x", "customer"}
FALSE = {"0", "false", "no", "n", ""}


class Owners:
    """The owner column as an email: an email as written, else a rep's name through [owners] (folded: case,
    accents and punctuation do not matter). A name we cannot resolve leaves the row without an owner, never
    rejects it; `unresolved` counts the rows per distinct name, for one warning each."""

    def __init__(self, by_name: Mapping[str, str] | None = None):
        self.by_name = by_name or {}
        self.unresolved: dict[str, tuple[str, int]] = {}  # folded name -> (as first written, rows)

    def resolve(self, value: str) -> str | None:
        value = value.strip()
        if EMAIL_RE.match(value):
            return value
        key = fold(value)
        if key in self.by_name:
            return self.by_name[key]
        written, rows = self.unresolved.get(key, (value, 0))
        self.unresolved[key] = (written, rows + 1)
        return None


def _fold(header: str) -> str:
    return "".join(c for c in header.lower() if c.isalnum())


def parse_mapping(pairs: list[str], kind: str) -> dict[str, str]:
    """`--map "Email Address=email"` pairs -> {header: field}; unknown fields are an error."""
    fields = ("occurred_at", *(LEAD_FIELDS if kind == "leads" else ACTIVITY_FIELDS))
    out = {}
    for pair in pairs:
        header, sep, field = pair.partition("=")
        if not sep or not header.strip() or field.strip() not in fields:
            raise FileError(f"--map {pair!r}: expected \"Column Header=field\" with field one of {', '.join(fields)}")
        out[header.strip()] = field.strip()
    return out


def _columns(headers: list[str], mapping: dict[str, str], kind: str) -> dict[str, str]:
    fields = ("occurred_at", *(LEAD_FIELDS if kind == "leads" else ACTIVITY_FIELDS))
    columns = {}
    for header in headers:
        field = mapping.get(header) or ALIASES.get(_fold(header))
        if field in fields and field not in columns.values():
            columns[header] = field
    if "email" not in columns.values():
        raise FileError(f"no email column among {', '.join(headers)}; map one with --map \"Header=email\"")
    if kind == "activities":
        for needed in ("kind", "occurred_at"):
            if needed not in columns.values():
                raise FileError(f"no {needed} column among {', '.join(headers)}; map one with --map \"Header={needed}\"")
    return columns


def _time(value: str) -> str:
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        for fmt in ("%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
            try:
                parsed = datetime.strptime(value, fmt)  # noqa: DTZ007 - naive export times are UTC
                break
            except ValueError:
                continue
        else:
            return value  # left for validation to report
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


def _row_id(path_name: str, row: dict) -> str:
    # Cells beyond the header row come under the key None (csv.DictReader): sorted by the key's text, which for
    # the column names (unique strings) is the order sorted(row.items()) gave, so the ids stay as they were.
    digest = hashlib.sha256(repr(sorted(row.items(), key=lambda cell: str(cell[0]))).encode()).hexdigest()[:32]
    return f"{path_name}:{digest}"


def read_csv(path: Path, kind: str, mapping: dict[str, str], *, kind_map: dict[str, str] | None = None,
             source: str = "csv", progress: Callable[[int], None] | None = None,
             owners: Owners | None = None) -> Iterator[Item]:
    """Items per data row (line numbers as in the file). A row with nothing to import is Item(line, None, [])."""
    if not path.is_file():
        raise FileError(f"{path}: no such file")
    file_time = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
    raw = path.read_bytes()
    if progress:
        progress(len(raw))
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:  # one column, or too little to tell: plain commas
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    try:
        columns = _columns(list(reader.fieldnames or []), mapping, kind)
        yield from _rows(reader, columns, kind, source, path, file_time, kind_map, owners or Owners())
    except csv.Error as exc:
        raise FileError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None


def _footer(headers, row: dict) -> bool:
    """A line of text under a report, not a record: only its first cell is filled, and no email. (Salesforce
    report exports end with "Copyright (c) ... salesforce.com", "Confidential Information", "Generated By: ...".)"""
    if not headers or len(headers) < 3:
        return False
    rest = [v for k, v in row.items() if k != headers[0]]
    return bool((row.get(headers[0]) or "").strip()) and "@" not in (row.get(headers[0]) or "") and not any(
        (v if isinstance(v, str) else "".join(v or [])).strip() for v in rest)


def _rows(reader, columns, kind, source, path, file_time, kind_map, owners: Owners) -> Iterator[Item]:
    for row in reader:
        line = reader.line_num
        values = {field: (row.get(header) or "").strip() for header, field in columns.items()}
        if not any(values.values()) or _footer(reader.fieldnames, row):
            continue
        event_id = values.pop("id", "") or _row_id(f"{source}:{path.name}", row)
        when = _time(values.pop("occurred_at", "") or "") or file_time
        if kind == "leads":
            if values.get("owner_email"):
                values["owner_email"] = owners.resolve(values["owner_email"]) or ""
            event, errors = _lead(values, event_id, when, source, line)
        else:
            event, errors = _activity(values, event_id, when, source, line, kind_map)
        yield Item(line, event, errors)


def _lead(values: dict, event_id: str, when: str, source: str, line: int):
    lead: dict = {k: v for k, v in values.items() if v}
    for number in ("score", "nps", "csat"):
        if number in lead:
            try:
                lead[number] = int(float(lead[number]))
            except (ValueError, OverflowError):  # OverflowError: "inf", "1e999"
                return None, [FieldError(line, number, f"{lead[number]!r} is not a number")]
    for name in ("is_customer", "former_customer", "left_company"):
        if name in lead:
            flag = lead[name].lower()
            if flag not in TRUE | FALSE:
                return None, [FieldError(line, name, f"{lead[name]!r}: expected yes/no, true/false or 1/0")]
            lead[name] = flag in TRUE
    if "arr" in lead:
        amount, currency = _amount(lead["arr"])
        if amount is None:
            return None, [FieldError(line, "arr", f"{lead['arr']!r} is not an amount (expected e.g. 48000 or €48,000)")]
        lead["arr"] = amount
        if currency and "currency" not in lead:
            lead["currency"] = currency
    for name in ("renewal_date", "churned_on"):
        if name in lead:
            day = _day(lead[name])
            if day is None:
                return None, [FieldError(line, name, f"{lead[name]!r} is not a date "
                                                     "(expected YYYY-MM-DD, DD.MM.YYYY or MM/DD/YYYY)")]
            lead[name] = day
    return validate_event({"type": "lead.upsert", "id": event_id, "occurred_at": when, "source": source,
                           "lead": lead}, line)


# ISO 4217 codes an export may write beside an amount; any other three letters ("ARR", "ACV") are not a currency.
CURRENCY_CODES = frozenset(["EUR", "USD", "GBP", "CHF", "JPY", "CNY", "INR", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN", "HRK", "ISK", "TRY", "BRL", "MXN", "ARS", "CLP", "COP", "PEN", "ZAR", "AED", "SAR", "ILS", "SGD", "HKD", "KRW", "TWD", "THB", "MYR", "IDR", "PHP", "VND"])
# Thousands and millions as exports and people write them: 48k, 1.5M, 1,5 Mio, 2 Mrd is refused (too large).
_SCALE = {"k": 1_000, "tsd": 1_000, "t": 1_000, "m": 1_000_000, "mm": 1_000_000, "mio": 1_000_000,
          "mn": 1_000_000, "million": 1_000_000, "millionen": 1_000_000, "millions": 1_000_000}


# What a revenue column may say after the amount: it is yearly already.
_PER_YEAR = re.compile(r"\s*(?:/\s*(?:yr|year|jahr|an|año)|\b(?:arr|acv|p\.?\s?a\.?|per year|a year|yearly|annual|"
                       r"jährlich|par an|al año))\s*\.?", re.I)


def _amount(text: str) -> tuple[float | None, str | None]:
    """"€48,000", "48.000,00 EUR", "$1,250.50", "48k", "EUR 1,5 Mio" -> (amount, ISO currency or None). The
    last of "," and "." is the decimal separator when both appear; a lone one followed by exactly three digits
    groups thousands."""
    raw = _PER_YEAR.sub("", text).strip()
    currency = next((code for sign, code in CURRENCY_SIGNS.items() if sign in raw), None)
    for word in re.findall(r"[A-Za-z]{3}", raw):
        if word.upper() in CURRENCY_CODES and re.search(rf"\b{word}\b", raw):
            currency = word.upper()
    scale = 1
    unit = re.search(r"\d\s*([A-Za-z]+)\.?\s*(?:[A-Za-z]{3})?\s*$", raw)
    if unit and unit.group(1).lower() in _SCALE:
        scale = _SCALE[unit.group(1).lower()]
    elif unit and unit.group(1).upper() not in CURRENCY_CODES:
        return None, None  # "48 apples", "2 Mrd": not an amount we can read
    digits = re.sub(r"[^\d.,-]", "", raw)
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        digits = digits.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}([.,]\d{3})+", digits):
        digits = re.sub(r"[.,]", "", digits)
    else:
        digits = digits.replace(",", ".")
    try:
        value = float(digits) * scale
    except ValueError:
        return None, None
    return (value if value == value and abs(value) != float("inf") else None), currency


def _day(text: str) -> str | None:
    """An export's date as ISO: ISO itself (or a datetime), DD.MM.YYYY (German), MM/DD/YYYY (US reports;
    DD/MM/YYYY when the first number cannot be a month)."""
    raw = text.strip()
    try:
        return date.fromisoformat(raw[:10]).isoformat()
    except ValueError:
        pass
    for pattern, order in ((r"(\d{1,2})\.(\d{1,2})\.(\d{4})", "dmy"), (r"(\d{1,2})/(\d{1,2})/(\d{4})", "mdy")):
        m = re.fullmatch(pattern, raw)
        if m:
            a, b, year = (int(g) for g in m.groups())
            day, month = (a, b) if order == "dmy" or a > 12 else (b, a)
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                return None
    return None


def _activity(values: dict, event_id: str, when: str, source: str, line: int, kind_map: dict[str, str] | None):
    raw_kind = values.pop("kind", "")
    kind = (kind_map or {}).get(raw_kind, raw_kind.strip().lower().replace(" ", "_"))
    if kind_map is not None and raw_kind not in kind_map and kind not in ACTIVITY_KINDS:
        return None, []  # a type this source has that we do not use: skipped, counted
    asset = {k.removeprefix("asset_"): values.pop(k) for k in ("asset_title", "asset_type", "asset_topic", "asset_url")
             if values.get(k)}
    event = {"type": "activity", "id": event_id, "occurred_at": when, "source": source, "kind": kind,
             **{k: v for k, v in values.items() if v}}
    if asset:
        event["asset"] = asset
    return validate_event(event, line)
