"""The public event contract: what is accepted, and how a bad event is reported."""

import json

import pytest

from briefs.events import MAX_BATCH, ActivityEvent, InvalidBatch, LeadUpsert, parse_batch
from tests.support.factories import Events


def errors_of(body) -> list[dict]:
    with pytest.raises(InvalidBatch) as exc:
        parse_batch(body)
    return exc.value.as_dict()["details"]


def test_single_event_and_batch_forms_are_both_accepted():
    ev = Events()
    one = ev.activity("A@Example.com ", "web_visit", url="https://x.example/pricing")
    assert len(parse_batch(json.dumps(one).encode())) == 1
    batch = parse_batch(json.dumps({"events": [one, ev.upsert("b@example.com", score=5)]}))
    assert [type(e) for e in batch] == [ActivityEvent, LeadUpsert]
    assert batch[0].email == "a@example.com"  # trimmed and lowercased


def test_every_bad_field_is_named_with_what_was_expected():
    details = errors_of({"events": [
        {"type": "activity", "id": "", "occurred_at": "2026-11-01T10:00:00", "email": "nope", "kind": "fax"},
        {"type": "lead.upsert", "id": "x", "occurred_at": "2026-11-01T10:00:00Z", "lead": {"email": "a@b.co", "nps": 11}},
        {"type": "lead.exploded", "id": "y", "occurred_at": "2026-11-01T10:00:00Z"},
    ]})
    by_field = {(d["index"], d["field"]): d["message"] for d in details}
    assert by_field[(0, "id")] == "must not be empty"
    assert "UTC offset" in by_field[(0, "occurred_at")]
    assert "not an email address" in by_field[(0, "email")]
    assert "'fax'" in by_field[(0, "kind")] and "content_download" in by_field[(0, "kind")]
    assert "10" in by_field[(1, "lead.nps")]
    assert "'lead.exploded'" in by_field[(2, "type")] and "lead.upsert" in by_field[(2, "type")]


def test_missing_required_fields_are_reported():
    details = errors_of({"type": "lead.qualified", "id": "q1", "occurred_at": "2026-11-01T10:00:00+01:00"})
    fields = {d["field"]: d["message"] for d in details}
    assert fields == {"email": "is required", "reason": "is required"}


def test_non_json_and_wrong_shapes_are_rejected_clearly():
    with pytest.raises(InvalidBatch, match="not valid JSON"):
        parse_batch(b"{nope")
    with pytest.raises(InvalidBatch, match="one event object"):
        parse_batch(b"[1, 2]")
    with pytest.raises(InvalidBatch, match="empty"):
        parse_batch({"events": []})
    assert errors_of({"events": [42]})[0]["message"].startswith("expected a JSON object")


def test_more_than_the_batch_limit_is_a_413():
    ev = Events()
    with pytest.raises(InvalidBatch) as exc:
        parse_batch({"events": [ev.activity("a@b.co", "web_visit") for _ in range(MAX_BATCH + 1)]})
    assert exc.value.status == 413
    assert len(parse_batch({"events": [ev.activity("a@b.co", "web_visit") for _ in range(MAX_BATCH)]})) == MAX_BATCH


def test_control_and_bidi_characters_are_stripped_but_line_breaks_kept():
    ev = Events()
    e = parse_batch(ev.activity("a@b.co", "form_submit", form="Contact\x00 Sales\u202e", comments="line one\nline\x07 two"))[0]
    assert e.form == "Contact Sales"
    assert e.comments == "line one\nline two"


def test_limits_on_text_and_urls():
    ev = Events()
    details = errors_of(ev.activity("a@b.co", "form_submit", comments="x" * 10_001))
    assert details[0]["field"] == "comments" and "10000" in details[0]["message"]
    details = errors_of(ev.upsert("a@b.co", crm_url="javascript:alert(1)"))
    assert details[0]["field"] == "lead.crm_url"
