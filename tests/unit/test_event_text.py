"""The event contract's text handling and error wording (briefs.events), on the kind of data senders send."""

import json

import pytest

from briefs.events import (
    InvalidBatch,
    body_json,
    clean_line,
    clean_text,
    json_too_deep,
    normalise_email,
    parse_batch,
    validate_event,
)


@pytest.mark.parametrize("raw,line", [
    ("Ana Ruiz", "Ana Ruiz"),
    ("  Ana \t Ruiz\n", "Ana Ruiz"),
    ("VP,\u00a0Sales", "VP, Sales"),                  # a no-break space from a spreadsheet
    ("Ana\u202e zuiR", "Ana zuiR"),                    # a bidi override
    ("Acme\x00 GmbH\x1b[0m", "Acme GmbH[0m"),
    ("Zoë \u2028O'Brien", "Zoë O'Brien"),
    ("", ""),
])
def test_clean_line(raw, line):
    assert clean_line(raw) == line


def test_clean_text_keeps_line_breaks_and_non_strings():
    # A carriage return is a control character: Windows line ends become plain newlines.
    assert clean_text("  We need SSO.\r\n\tAnd SCIM.\x07  ") == "We need SSO.\n\tAnd SCIM."
    assert clean_line(42) == 42 and clean_text(None) is None


def test_normalise_email():
    assert normalise_email("  Ana.Ruiz@ACME.Example ") == "ana.ruiz@acme.example"
    assert normalise_email(None) is None


@pytest.mark.parametrize("text,deep", [
    ("[" * 3 + "]" * 3, False),
    ("[" * 4 + "]" * 4, True),
    ('{"a": "[[[[[[[["}', False),               # brackets in a string do not count
    ('{"a": "\\"[[[[[[["}', False),              # ... nor after an escaped quote
    ('{"a": "\\\\", "b": [[[[]]]]}', True),      # an escaped backslash ends the string before [[[[
    ('[1, [2], [3], [4], [5]]', False),          # many brackets, shallow
    (b'{"x": {"y": {"z": {}}}}', True),
    ('{"é": [[["ü"]]]}', True),
])
def test_json_too_deep(text, deep):
    assert json_too_deep(text, limit=3) is deep


def test_json_too_deep_agrees_with_long_shallow_and_deep_texts():
    shallow = json.dumps([[{"a": [i]}] for i in range(500)])
    assert not json_too_deep(shallow, limit=4)
    assert json_too_deep(shallow, limit=3)
    deep = "[" * 70 + "]" * 70
    assert json_too_deep(deep) and not json_too_deep(deep, limit=70)


def test_body_json_says_what_was_expected():
    with pytest.raises(InvalidBatch) as err:
        body_json(b"{'events': []}", "an object", hint=" (use double quotes)")
    assert err.value.error.startswith("body is not valid JSON: Expecting property name enclosed in double quotes")
    assert err.value.error.endswith("(use double quotes)")
    with pytest.raises(InvalidBatch) as err:
        body_json("[" * 100 + "]" * 100, "an object")
    assert err.value.as_dict()["details"] == [{"index": 0, "field": "(body)", "message": "is nested deeper than 64 levels"}]


def test_field_errors_read_as_a_sender_would_want():
    event = {"type": "activity", "id": "", "occurred_at": "2026-11-23 15:04", "email": "ana at acme",
             "kind": "page_view", "source": "hub spot", "url": "x" * 2001, "asset": {"title": 5}}
    _, errors = validate_event(event, 7)
    assert {e.field: e.message for e in errors} == {
        "id": "must not be empty",
        "occurred_at": "needs a UTC offset or Z (ISO 8601, e.g. 2026-11-23T15:04:05Z)",
        "email": "is not an email address (expected name@domain)",
        "kind": ("got 'page_view', expected one of 'web_visit', 'content_download', 'email_sent', 'email_delivered', "
                 "'email_open', 'email_click', 'form_submit', 'webinar_registered', 'webinar_attended', "
                 "'event_attended', 'chat', 'meeting_booked' or 'unsubscribe'"),
        "source": "may only contain letters, digits and . _ : -",
        "url": "is longer than 2000 characters",
        "asset.title": "Input should be a valid string",
    }
    assert {e.index for e in errors} == {7}


@pytest.mark.parametrize("obj,field,message", [
    ({"type": "lead.deleted"}, "type",
     "got 'lead.deleted', expected one of 'lead.upsert', 'activity', 'lead.qualified', 'lead.note', 'identity.link'"),
    ({"id": "1"}, "type", "is required (one of 'lead.upsert', 'activity', 'lead.qualified', 'lead.note', 'identity.link')"),
    (["not", "an", "object"], "(event)", "expected a JSON object, got list"),
    ({"type": "lead.note", "id": "n1", "occurred_at": "2026-11-23T15:04:05Z", "email": "a@b.example",
      "author": "Marketing", "text": " \x00 "}, "text", "must not be empty"),
    ({"type": "lead.upsert", "id": "u1", "occurred_at": "2026-11-23T15:04:05+01:00",
      "lead": {"email": "a@b.example", "crm_url": "javascript:alert(1)"}}, "lead.crm_url", "must be an http(s) URL"),
    ({"type": "lead.qualified", "id": "q1", "occurred_at": "0001-01-01T00:00:00+01:00", "email": "a@b.example",
      "reason": "manual"}, "occurred_at", "is out of range (expected a time between the years 1 and 9999 in UTC)"),
])
def test_one_error_each(obj, field, message):
    event, errors = validate_event(obj)
    assert event is None
    assert [(e.field, e.message) for e in errors] == [(field, message)]


def test_a_batch_with_one_bad_event_stores_nothing_and_names_it():
    good = {"type": "activity", "id": "a1", "occurred_at": "2026-11-23T15:04:05Z", "email": "A@B.example",
            "kind": "chat", "unknown_key": {"ignored": True}}
    bad = {**good, "id": "a2", "kind": "fax"}
    assert parse_batch(json.dumps({"events": [good]}))[0].email == "a@b.example"
    with pytest.raises(InvalidBatch) as err:
        parse_batch(json.dumps({"events": [good, bad, good]}))
    assert err.value.error == "1 of 3 events are invalid; nothing was stored"
    assert [(d.index, d.field) for d in err.value.details] == [(1, "kind")]
