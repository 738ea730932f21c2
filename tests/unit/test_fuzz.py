"""Property-based tests: every parser raises only its documented errors and the brief renderer always gives
valid, escaped Block Kit. (The running app: tests/e2e/test_fuzz_http.py.)"""

from __future__ import annotations

import contextlib
import json
import re
import string
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefs import commands
from briefs.blocks import to_blocks
from briefs.events import InvalidBatch, event_from_json, parse_batch, validate_event
from briefs.markup import escape_mrkdwn, fit_mrkdwn, shorten, to_mrkdwn
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.signals import ActivityView, LeadView, NoteView
from briefs.text import to_text_brief
from handlers.csv_import import read_csv
from handlers.files import FileError, read_events
from handlers.sources import marketo, mautic, salesforce, segment
from tests.support.factories import NOW
from tests.unit.test_brief import assert_within_limits
from tests.unit.test_hostile import assert_message_ok

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text a lead could send: anything, weighted towards what Slack and terminals care about.
SPICY = st.sampled_from(["<!channel>", "<@U1>", "<#C1|x>", "<https://e.x|y>", "*", "_", "~", "`", "&", "<", ">",
                         "\n", "\u202e", "\x1b[31m", "👨‍👩‍👧", "שלום", "é", " ", "&amp;", ":+1:", "\x02", "\x03"])
TEXT = st.lists(st.one_of(SPICY, st.text(max_size=20)), max_size=12).map("".join)
MAYBE = st.none() | TEXT


# --- The escaping itself --------------------------------------------------------------------------


@FAST
@given(TEXT)
def test_escaped_text_can_hold_no_slack_syntax(text):
    out = escape_mrkdwn(text)
    assert "<" not in out and ">" not in out and "\n" not in out
    assert "&" not in re.sub(r"&(amp|lt|gt);", "", out)
    assert not set(out) & set("*~`")
    # An underscore survives only inside a word, where Slack never starts or ends emphasis.
    for m in re.finditer("_", out):
        i = m.start()
        assert 0 < i < len(out) - 1 and out[i - 1].isalnum() and out[i + 1].isalnum()


@FAST
@given(TEXT, st.integers(min_value=1, max_value=400))
def test_fitted_text_is_within_its_limit_and_never_empty(text, limit):
    out = fit_mrkdwn(text, limit)
    assert len(out) <= limit
    if escape_mrkdwn(text).strip():
        assert out
    assert len(shorten(text, limit)) <= limit


@FAST
@given(TEXT)
def test_our_emphasis_always_opens_and_closes(text):
    out = to_mrkdwn("\x02" + text.replace("\x02", "").replace("\x03", "") + "\x03")
    assert out[0] == "_" and out[-1] == "_"
    inner = out[1:-1]
    assert all(inner[i - 1].isalnum() and inner[i + 1].isalnum() for i in range(len(inner)) if inner[i] == "_")


# --- The brief renderer -------------------------------------------------------------------------

KINDS = st.sampled_from(["web_visit", "content_download", "email_sent", "email_open", "email_click", "form_submit",
                         "webinar_registered", "webinar_attended", "event_attended", "chat", "meeting_booked",
                         "unsubscribe"])
ACTIVITIES = st.builds(
    ActivityView, KINDS, st.integers(0, 400 * 24).map(lambda h: NOW - timedelta(hours=h)),
    title=MAYBE, asset_type=MAYBE, topic=MAYBE, asset_url=MAYBE, url=MAYBE, campaign=MAYBE, subject=MAYBE,
    form=st.none() | st.just("Contact Sales") | TEXT, comments=MAYBE,
    properties=st.dictionaries(st.sampled_from(["page_title", "referral", "need", "timeline", "budget"]), TEXT),
)
LEADS = st.builds(
    LeadView, TEXT.map(lambda t: t[:40] + "@x.example"), first_name=MAYBE, last_name=MAYBE, title=MAYBE,
    company=MAYBE, owner_email=MAYBE, lifecycle_stage=MAYBE, score=st.none() | st.integers(-10, 500),
    persona=MAYBE, lead_source=MAYBE, lead_status=MAYBE, is_customer=st.booleans(), customer_since=MAYBE,
    nps=st.none() | st.integers(0, 10), csat=st.none() | st.integers(1, 5),
    crm_url=st.none() | st.just("https://crm.example/1"),
)
QUALIFICATIONS = st.none() | st.builds(
    QualificationView, st.sampled_from(["score_threshold", "hand_raiser", "lifecycle_change", "re_engaged", "manual"]),
    TEXT, st.just(NOW - timedelta(minutes=3)), st.just(NOW - timedelta(minutes=2)), id=st.none() | st.integers(1, 99),
    note=MAYBE,
)
NOTES = st.lists(st.builds(NoteView, TEXT, TEXT, st.just(NOW - timedelta(days=1))), max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LEADS, st.lists(ACTIVITIES, max_size=15), NOTES, QUALIFICATIONS)
def test_any_brief_renders_as_valid_escaped_block_kit(lead, acts, notes, q):
    brief = build_brief(BriefInput(lead, acts, notes, q, NOW))
    payload = to_blocks(brief)
    assert_within_limits(payload)
    assert_message_ok(payload)
    json.dumps(payload)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", to_text_brief(brief))


# --- Parsers: only their documented errors ------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT | st.sampled_from(
        ["type", "id", "occurred_at", "email", "kind", "lead", "events", "reason", "author", "text", "source"]), inner,
        max_size=6),
    max_leaves=20,
)
EVENT_LIKE = st.fixed_dictionaries({
    "type": st.sampled_from(["lead.upsert", "activity", "lead.qualified", "lead.note", "nope"]) | TEXT,
    "id": TEXT | st.integers(), "occurred_at": st.sampled_from(["2026-11-23T10:00:00Z", "2026-11-23", "x"]) | TEXT,
}, optional={
    "email": st.sampled_from(["a@b.example", "A@B.EXAMPLE "]) | TEXT, "kind": KINDS | TEXT,
    "lead": st.fixed_dictionaries({"email": st.sampled_from(["a@b.example"]) | TEXT},
                                  optional={"first_name": TEXT, "score": JSON_VALUES, "crm_url": TEXT}),
    "reason": TEXT, "author": TEXT, "text": TEXT, "source": TEXT, "properties": JSON_VALUES,
})
# Nesting far past Python's recursion limit, in the shapes a parser might trip on.
DEEP_KINDS = {
    "array": lambda n: "[" * n + "]" * n,
    "object": lambda n: '{"a":' * n + "1" + "}" * n,
    "mixed": lambda n: '[{"a":' * (n // 2 + 1) + "1" + "}]" * (n // 2 + 1),
    "unclosed": lambda n: "[" * n,
    "strings": lambda n: '["[{\\"",' * n + '"x"' + "]" * n,  # brackets inside strings must not hide real ones
}
DEEP = st.builds(lambda kind, n: DEEP_KINDS[kind](n), st.sampled_from(sorted(DEEP_KINDS)),
                 st.integers(min_value=65, max_value=20_000))
BODIES = st.one_of(
    st.binary(max_size=200),
    TEXT.map(str.encode),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    EVENT_LIKE.map(lambda v: json.dumps(v).encode()),
    st.lists(EVENT_LIKE, max_size=5).map(lambda v: json.dumps({"events": v}).encode()),
    DEEP.map(str.encode),
)


@FAST
@given(BODIES)
def test_parse_batch_raises_only_invalid_batch(body):
    try:
        events = parse_batch(body)
    except InvalidBatch as exc:
        assert exc.status in (400, 413) and exc.error
        json.dumps(exc.as_dict())
    else:
        assert events
    event_from_json(body)  # None or an event, never an exception


@FAST
@given(JSON_VALUES | EVENT_LIKE)
def test_validate_event_reports_field_errors_and_never_raises(obj):
    event, errors = validate_event(obj, 3)
    assert (event is None) == bool(errors)
    assert all(e.index == 3 and e.message for e in errors)


def test_deeply_nested_json_is_a_400_not_a_crash():
    # Python's json module raises RecursionError (not ValueError) on very deep nesting.
    for body in (b"[" * 100_000, b'{"a":' * 100_000):
        with pytest.raises(InvalidBatch, match="not valid JSON"):
            parse_batch(body)


@FAST
@given(st.none() | TEXT | st.sampled_from(["note a@b.example <!channel>", "route <#C123|x>", "<mailto:a@b.c|a@b.c>"]))
def test_slash_command_parsing_never_raises(text):
    cmd = commands.parse(text)
    assert cmd.action in ("help", "lookup", "search", "note", "route", "route_show", "mine", "invalid")
    if cmd.action == "search":
        assert cmd.text and len(cmd.text) <= 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(BODIES, st.sampled_from([".jsonl", ".json"]))
def test_event_files_yield_items_or_file_errors(tmp_path, body, suffix):
    path = tmp_path / f"events{suffix}"
    path.write_bytes(body)
    try:
        items = list(read_events(path))
    except FileError:
        return
    assert all((i.event is None) or not i.errors for i in items)


CSV_CELLS = st.text(alphabet=string.printable + "é😀\u202e", max_size=15)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(CSV_CELLS, min_size=1, max_size=5), max_size=6), st.sampled_from(["leads", "activities"]))
def test_csv_import_yields_items_or_file_errors(tmp_path, rows, kind):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Email", "First Name", "Kind", "Occurred At", "Score"])
    writer.writerows(rows)
    path = tmp_path / "x.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    with contextlib.suppress(FileError):
        list(read_csv(path, kind, {}))


@FAST
@given(BODIES | st.dictionaries(st.sampled_from(["lead_post_save_new", "form_on_submit", "page_on_hit",
                                                 "email_on_open", "lead_points_change", "timestamp"]),
                                JSON_VALUES | st.lists(JSON_VALUES | st.dictionaries(TEXT, JSON_VALUES), max_size=3),
                                max_size=3).map(lambda v: json.dumps(v).encode()))
def test_mautic_translate_raises_only_invalid_batch(body):
    with contextlib.suppress(InvalidBatch):
        mautic.translate(body, None, None)


@FAST
@given(body=BODIES | st.dictionaries(st.sampled_from(["type", "event", "email", "userId", "traits", "properties",
                                                 "messageId", "timestamp", "batch", "context"]),
                                JSON_VALUES, max_size=6).map(lambda v: json.dumps(v).encode()))
def test_segment_translate_raises_only_invalid_batch(body, settings_for_sources):
    with contextlib.suppress(InvalidBatch):
        segment.translate(body, None, settings_for_sources)


@FAST
@given(body=BODIES | st.fixed_dictionaries({}, optional={
    "id": JSON_VALUES, "lead": JSON_VALUES | st.dictionaries(TEXT | st.just("email"), JSON_VALUES),
    "occurred_at": JSON_VALUES, "activity": JSON_VALUES, "kind": JSON_VALUES,
}).map(lambda v: json.dumps(v).encode()))
def test_marketo_translate_raises_only_invalid_batch(body, settings_for_sources):
    with contextlib.suppress(InvalidBatch):
        marketo.translate(body, None, settings_for_sources)


SOAP = """<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
<OrganizationId>{org}</OrganizationId><Notification><Id>{id}</Id>
<sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><sf:Email>{email}</sf:Email>
<sf:LastName>{name}</sf:LastName><sf:LastModifiedDate>{when}</sf:LastModifiedDate></sObject>
</Notification></notifications></soapenv:Body></soapenv:Envelope>"""
XML_TEXT = TEXT.map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;"))


@FAST
@given(body=BODIES | st.builds(lambda org, id_, email, name, when: SOAP.format(org=org, id=id_, email=email, name=name,
                                                                           when=when).encode(),
                          st.sampled_from(["00D000000000001"]) | XML_TEXT, XML_TEXT, XML_TEXT, XML_TEXT, XML_TEXT))
def test_salesforce_translate_raises_only_invalid_batch(body, settings_for_sources):
    with contextlib.suppress(InvalidBatch):
        salesforce.translate(body, None, settings_for_sources)


@pytest.fixture(scope="module")
def settings_for_sources():
    from bot.config import Settings

    return salesforce.CONFIG.configure(Settings(database_url="sqlite://", webhook_secret="x" * 32),
                                       org_id="00D000000000001")


# --- Deep nesting: every translator answers 400 and names it (over HTTP: tests/e2e/test_fuzz_http.py) ---------------


AT = '"@@"'  # where a template takes the deep value
WHEN = "2026-11-23T10:00:00Z"
ACTIVITY = {"type": "activity", "id": "a1", "occurred_at": WHEN, "email": "deep@x.example", "kind": "web_visit"}
# Per endpoint: payloads shaped like the real thing, with the deep value where the parser reads something.
TEMPLATES = {
    "events": [AT, json.dumps({**ACTIVITY, "properties": {"p": "@@"}}),
               json.dumps({"events": [ACTIVITY, {**ACTIVITY, "id": "a2", "asset": "@@"}]})],
    "marketo": [AT, json.dumps({"id": ["1", "2"], "activity": "form_submit", "lead": "@@"}),
                json.dumps({"id": 1, "lead": {"email": "deep@x.example"}, "trigger": {"name": "@@"}})],
    "mautic": [AT, json.dumps({"mautic.form_on_submit": [{"submission": {"results": "@@"}}]}),
               json.dumps({"mautic.lead_post_save_new": [{"contact": {"fields": "@@"}}]})],
    "segment": [AT, json.dumps([{"type": "track", "messageId": "m1", "event": "Form Submitted"}, "@@"]),
                json.dumps({"batch": [{"type": "identify", "messageId": "m2", "traits": "@@"}]})],
    "hubspot": [AT, json.dumps([{"objectId": "@@", "subscriptionType": "contact.creation", "occurredAt": 1}])],
    "slack": [AT, json.dumps({"type": "event_callback", "event_id": "Ev1", "event": "@@"})],
}
@FAST
@given(deep=DEEP, where=st.sampled_from(["body", "inside"]))
def test_every_translator_answers_deep_nesting_with_a_400_naming_it(deep, where, settings_for_sources):
    from handlers.sources import hubspot

    for translate, template in ((parse_batch, TEMPLATES["events"][1]),
                                (lambda b: marketo.translate(b, None, settings_for_sources), TEMPLATES["marketo"][1]),
                                (lambda b: mautic.translate(b, None, None), TEMPLATES["mautic"][1]),
                                (lambda b: segment.translate(b, None, settings_for_sources), TEMPLATES["segment"][1]),
                                (lambda b: hubspot.translate(b, None, settings_for_sources), TEMPLATES["hubspot"][1])):
        body = (deep if where == "body" else template.replace(AT, deep)).encode()
        with pytest.raises(InvalidBatch) as caught:
            translate(body)
        assert caught.value.status == 400 and "nested deeper than 64 levels" in caught.value.error
        assert caught.value.as_dict()["details"] == [{"index": 0, "field": "(body)",
                                                     "message": "is nested deeper than 64 levels"}]
    # Marketo's "Form Fields" attribute (JSON or PHP-serialised text) is read the same bounded way.
    from handlers.sources.marketo_sync import form_fields

    assert isinstance(form_fields(deep), dict)


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


NESTED = st.recursive(st.none() | st.integers() | st.sampled_from(['"', "\\", '\\"', "[", "]{", "}", '["{\\'])
                      | TEXT, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["k", "[", '"{', "\\"]) | TEXT, inner, max_size=3),
                      max_leaves=60)


@settings(max_examples=300, deadline=None)
@given(NESTED, st.integers(min_value=0, max_value=12), st.booleans())
def test_the_depth_scan_agrees_with_the_parsed_depth(value, limit, ascii_only):
    from briefs.events import json_too_deep, load_json

    text = json.dumps(value, ensure_ascii=ascii_only)
    assert json_too_deep(text, limit) == (_depth(value) > limit)
    assert json_too_deep(text.encode(), limit) == (_depth(value) > limit)
    if _depth(value) <= limit:
        assert load_json(text, limit) == value


def test_properties_nested_past_the_bound_are_a_field_error_whoever_parsed_them():
    deep: dict = {}
    for _ in range(900):  # deeper than the bound, short of the recursion limit json.dumps would hit
        deep = {"a": deep}
    event, errors = validate_event({**ACTIVITY, "properties": deep})
    assert event is None
    assert [(e.field, e.message) for e in errors] == [("properties", "is nested deeper than 64 levels")]
    shallow = {"a": {"b": [1, {"c": "d"}]}}
    event, errors = validate_event({**ACTIVITY, "properties": shallow})
    assert errors == [] and event.properties == shallow
