"""POST /webhooks/segment over real HTTP against the running app, with Segment's own payloads and signing."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from handlers.sources import segment
from storage.models import Activity, Lead, ProcessedEvent, Qualification
from storage.queries import brief_input, find_lead
from tests.support.live import LiveServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "segment"
SEGMENT_SECRET = "segment-shared-secret-0123456789"
TIME_KEYS = ("timestamp", "originalTimestamp", "receivedAt", "sentAt")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def encode(payload) -> bytes:
    # What JSON.stringify produces: compact, UTF-8, no ASCII escaping.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def segment_sign(body: bytes, secret: str = SEGMENT_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def fresh(msg: dict, ago: timedelta = timedelta(minutes=5)) -> dict:
    """The message as if sent just now (qualification ignores triggers older than 72 hours)."""
    when = (datetime.now(UTC) - ago).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**msg, **{k: when for k in TIME_KEYS if k in msg}}


def post(http, server, payload, *, signature: str | None = None, raw: bytes | None = None):
    body = raw if raw is not None else encode(payload)
    headers = {"Content-Type": "application/json", "User-Agent": "Segment.io/1.0",
               "X-Signature": signature if signature is not None else segment_sign(body)}
    return http.post(f"{server.url}/webhooks/segment", content=body, headers=headers)


def count(server, model) -> int:
    with server.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def segment_settings(settings) -> Settings:
    return segment.CONFIG.configure(settings, secret=SEGMENT_SECRET)


@pytest.fixture
def server(segment_settings):
    with LiveServer(segment_settings) as s:
        yield s


def test_identify_creates_the_lead_with_its_traits(http, server):
    r = post(http, server, fixture("identify"))
    assert r.status_code == 202
    assert r.json() == {"accepted": 1, "duplicates": 0, "qualified": 0}
    with server.services.sessions() as s:
        lead = find_lead(s, "jon.doe@acme.example")
        assert (lead.first_name, lead.last_name, lead.title, lead.company, lead.phone) == (
            "Jon", "Doe", "Director of Operations", "Acme Widgets", "+1 555 0100")
        assert lead.score == 35 and lead.lifecycle_stage == "lead"
        assert lead.profile_as_of.astimezone(UTC) == datetime(2026, 3, 2, 14, 5, 11, 523000, tzinfo=UTC)
        assert s.scalar(select(ProcessedEvent.event_id)) == "node-6f1c2d4e8a9b4c7d-0b1e2f3a"
        assert s.scalar(select(ProcessedEvent.source)) == "segment"


def test_identify_with_company_string_and_full_name_only(http, server):
    msg = {"type": "identify", "messageId": "m-1", "timestamp": "2026-03-02T10:00:00+01:00",
           "traits": {"email": "ana@initech.example", "name": "Ana Maria Lopez", "company": "Initech"}}
    assert post(http, server, msg).json()["accepted"] == 1
    with server.services.sessions() as s:
        lead = find_lead(s, "ana@initech.example")
        assert (lead.first_name, lead.last_name, lead.company) == ("Ana", "Maria Lopez", "Initech")


def test_email_events_form_and_page_are_stored_as_activities(http, server):
    for name in ("identify", "email_opened", "email_link_clicked", "page", "form_submitted"):
        r = post(http, server, fixture(name))
        assert r.status_code == 202 and r.json()["accepted"] == 1, (name, r.text)
    now = datetime(2026, 3, 6, tzinfo=UTC)
    with server.services.sessions() as s:
        lead = find_lead(s, "jon.doe@acme.example")
        acts = {a.kind: a for a in brief_input(s, lead, now).activities}
    assert set(acts) == {"email_open", "email_click", "web_visit", "form_submit"}
    assert acts["email_open"].subject == "5 ways to cut widget downtime"
    assert acts["email_open"].campaign == "Q1 Operations Newsletter"
    assert acts["email_click"].url == "https://www.example.com/blog/widget-downtime"
    assert acts["web_visit"].url == "https://www.example.com/pricing"
    assert acts["web_visit"].properties["page_title"] == "Pricing | Example"
    assert acts["form_submit"].form == "Contact Sales"
    assert acts["form_submit"].comments.startswith("We run 40 lines")
    assert acts["form_submit"].occurred_at == datetime(2026, 3, 2, 15, 10, 12, 125000, tzinfo=UTC)


def test_batch_counts_unmapped_group_and_anonymous_messages_as_ignored(http, server):
    r = post(http, server, fixture("batch"))
    assert r.status_code == 202
    # Content Downloaded + Webinar Attended; Product Added (unmapped), group, anonymous page are ignored.
    assert r.json() == {"accepted": 2, "duplicates": 0, "qualified": 0, "ignored": 3}
    with server.services.sessions() as s:
        lead = find_lead(s, "mia.chen@globex.example")
        acts = {a.kind: a for a in brief_input(s, lead, datetime.now(UTC)).activities}
    assert acts["content_download"].title == "The Lifecycle of a Widget"
    assert acts["content_download"].asset_type == "white paper"
    assert acts["content_download"].asset_url == "https://www.example.com/resources/lifecycle-of-a-widget.pdf"
    assert acts["webinar_attended"].campaign == "Widgets at Scale"
    assert count(server, Lead) == 1 and count(server, Activity) == 2


def test_only_ignored_messages_is_still_202(http, server):
    group = fixture("batch")["batch"][2]
    r = post(http, server, group)
    assert r.status_code == 202 and r.json() == {"accepted": 0, "duplicates": 0, "qualified": 0, "ignored": 1}


def test_demo_requested_qualifies_the_lead_as_a_hand_raiser(http, server):
    r = post(http, server, fresh(fixture("demo_requested")))
    assert r.status_code == 202 and r.json() == {"accepted": 1, "duplicates": 0, "qualified": 1}
    with server.services.sessions() as s:
        lead = find_lead(s, "sam.patel@initech.example")
        q = s.scalars(select(Qualification).where(Qualification.lead_id == lead.id)).one()
        assert q.reason == "hand_raiser"
        form = brief_input(s, lead, datetime.now(UTC)).activities[0]
        assert (form.kind, form.form, form.comments) == (
            "form_submit", "Request a Demo", "Need SSO and an on-prem option; 300 seats.")


def test_custom_mapping_overrides_the_defaults(http, segment_settings):
    settings = segment.CONFIG.configure(segment_settings,
                                       events={"Pricing Calculator Used": "web_visit", "Email Opened": "ignore"})
    with LiveServer(settings) as server:
        calc = {"type": "track", "event": "Pricing Calculator Used", "messageId": "calc-1",
                "timestamp": "2026-03-04T09:00:00Z", "context": {"traits": {"email": "jon.doe@acme.example"},
                                                                "page": {"url": "https://www.example.com/pricing/calculator"}},
                "properties": {"seats": 40}}
        r = post(http, server, {"batch": [calc, fixture("email_opened"), fixture("email_link_clicked")]})
        assert r.status_code == 202
        assert r.json() == {"accepted": 2, "duplicates": 0, "qualified": 0, "ignored": 1}
        with server.services.sessions() as s:
            lead = find_lead(s, "jon.doe@acme.example")
            acts = {a.kind: a for a in brief_input(s, lead, datetime.now(UTC)).activities}
        assert set(acts) == {"web_visit", "email_click"}
        assert acts["web_visit"].url == "https://www.example.com/pricing/calculator"
        assert acts["web_visit"].properties["segment_event"] == "Pricing Calculator Used"


def test_redelivery_of_the_same_message_id_is_a_duplicate(http, server):
    msg = fixture("form_submitted")
    assert post(http, server, msg).json()["accepted"] == 1
    again = post(http, server, msg)
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 1, "qualified": 0}
    assert count(server, Activity) == 1


@pytest.mark.parametrize("case", ["wrong-secret", "tampered", "missing", "generic-signature"])
def test_bad_signature_is_401_and_stores_nothing(http, server, case):
    body = encode(fixture("identify"))
    signature = {
        "wrong-secret": segment_sign(body, "another-secret-of-some-length"),
        "tampered": segment_sign(body + b" "),
        "missing": "",
        "generic-signature": "v1=" + hmac.new(SEGMENT_SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }[case]
    r = post(http, server, None, raw=body, signature=signature)
    assert r.status_code == 401 and "X-Signature" in r.json()["error"]
    assert count(server, Lead) == 0 and count(server, ProcessedEvent) == 0


def test_actions_batch_signed_over_the_first_event_only_is_refused(http, server):
    # Webhooks (Actions) with batching on sends an array and signs only its first element.
    first, second = fixture("email_opened"), fixture("email_link_clicked")
    body = encode([first, second])
    r = post(http, server, None, raw=body, signature=segment_sign(encode(first)))
    assert r.status_code == 401 and "turn batching off" in r.json()["error"]
    assert count(server, Activity) == 0
    # An array of one is covered whole by that signature; an array signed whole is fine too.
    assert post(http, server, None, raw=encode([first]), signature=segment_sign(encode(first))).json()["accepted"] == 1
    assert post(http, server, [first, second]).json() == {"accepted": 1, "duplicates": 1, "qualified": 0}


def test_a_batch_signed_over_its_first_event_is_read_no_further_than_that_event(http, server):
    """The first-event signature is looked for before the body is authenticated: a deeply nested or oversized
    body is not parsed for it (a 401, never a crash), and the next element still counts as a second event."""
    first = encode(fixture("email_opened"))
    deep = b"[" * 50_000 + b"]" * 50_000
    cases = [
        (b"[" + first + b"," + deep + b"]", "turn batching off"),  # the rest is deep: still a batch
        (b"[" + deep + b"]", "does not match"),  # the first event itself is too deep to look into
        (b"[" + first.replace(b"}", b', "pad": "' + b"x" * 70_000 + b'"}', 1) + b"]", "does not match"),
        (b"[" + first + b"\n , " + first + b"]", "turn batching off"),
    ]
    for body, error in cases:
        signed_first = body[1:1 + len(first)] if body.startswith(b"[" + first) else body[1:-1]
        r = post(http, server, None, raw=body, signature=segment_sign(signed_first))
        assert r.status_code == 401 and error in r.json()["error"], (body[:60], r.text)
    assert count(server, Lead) == 0 and count(server, ProcessedEvent) == 0


def test_without_a_secret_the_endpoint_is_404(http, settings):
    with LiveServer(settings) as server:
        r = post(http, server, fixture("identify"))
        assert r.status_code == 404
        assert r.json()["error"] == "Segment webhooks are not enabled: set SEGMENT_SHARED_SECRET"


def test_malformed_message_rejects_the_whole_delivery_naming_the_field(http, server):
    messages = fixture("batch")["batch"]
    messages[1] = {**messages[1], "timestamp": "yesterday"}
    del messages[3]["messageId"]
    r = post(http, server, {"batch": messages})
    assert r.status_code == 400
    payload = r.json()
    assert "nothing was stored" in payload["error"]
    # The unmapped event's bad timestamp is not our concern; the missing messageId is.
    assert payload["details"] == [{"index": 3, "field": "batch[3].messageId", "message": "is required (a non-empty string)"}]
    messages = fixture("batch")["batch"]
    messages[3] = {**messages[3], "timestamp": "2026-03-04 16:00"}
    messages[0] = {**messages[0], "type": "trak"}
    r = post(http, server, {"batch": messages})
    assert r.status_code == 400
    assert r.json()["details"] == [
        {"index": 0, "field": "batch[0].type", "message": "got 'trak', expected one of identify, track, page, screen, group, alias"},
        {"index": 3, "field": "batch[3].timestamp", "message": "needs a UTC offset or Z (ISO 8601, e.g. 2026-11-23T15:04:05Z)"},
    ]
    assert count(server, Lead) == 0 and count(server, Activity) == 0


def test_field_errors_name_the_segment_field(http, server):
    msg = fixture("identify")
    msg["traits"] = {**msg["traits"], "title": "x" * 301, "leadScore": "high"}
    r = post(http, server, msg)
    assert r.status_code == 400
    details = {d["field"]: d["message"] for d in r.json()["details"]}
    assert set(details) == {"traits.title", "traits.leadScore"}
    assert "300" in details["traits.title"] and "integer" in details["traits.leadScore"]


def test_not_json_is_400(http, server):
    r = post(http, server, None, raw=b'{"type": "track", ')
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]


def test_translate_without_http():
    """The mapping itself: defaults merged with settings, names matched regardless of case."""
    settings = segment.CONFIG.configure(Settings(), secret=SEGMENT_SECRET, events={"webinar attended": "event_attended"})
    msg = {"type": "track", "event": "WEBINAR ATTENDED", "messageId": "w-1", "receivedAt": "2026-03-04T16:00:00Z",
           "properties": {"email": "a@b.example", "webinar_name": "Widgets at Scale"}}
    out = segment.translate(encode(msg), None, settings)
    assert out.ignored == 0 and len(out.events) == 1
    event = out.events[0]
    assert (event.kind, event.campaign, event.source, event.id) == ("event_attended", "Widgets at Scale", "segment", "w-1")
    assert event.occurred_at == datetime(2026, 3, 4, 16, tzinfo=UTC)
