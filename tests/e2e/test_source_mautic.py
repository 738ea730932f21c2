"""POST /webhooks/mautic: Mautic's own payloads (tests/fixtures/mautic), signed as Mautic signs them,
over real HTTP against the running app."""

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from briefs.events import InvalidBatch
from handlers.sources import mautic
from storage.models import Activity, Lead, ProcessedEvent, Qualification
from storage.queries import brief_input, find_lead
from tests.support.live import LiveServer, wait_for

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mautic"
MAUTIC_SECRET = "mautic-webhook-secret-0123456789"
PRIYA = "priya.shah@northwind.example"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def mautic_signature(body: bytes, secret: str = MAUTIC_SECRET) -> str:
    # Written out independently of handlers.sources.mautic.sign: what Mautic's WebhookBundle Http\Client does,
    # base64_encode(hash_hmac('sha256', $jsonPayload, $secret, true)).
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(http, server, payload: dict | bytes, headers: dict | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if headers is None:
        headers = {"Content-Type": "application/json", "Webhook-Signature": mautic_signature(body)}
    return http.post(f"{server.url}/webhooks/mautic", content=body, headers=headers)


def count(server, model) -> int:
    with server.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def nothing_stored(server) -> bool:
    return all(count(server, m) == 0 for m in (Lead, Activity, ProcessedEvent, Qualification))


@pytest.fixture
def server(settings):
    with LiveServer(mautic.CONFIG.configure(settings, secret=MAUTIC_SECRET)) as s:
        yield s


def everything() -> dict:
    """One background-queue delivery holding every fixture's events, as Mautic batches them."""
    out: dict = {}
    for path in sorted(FIXTURES.glob("*.json")):
        for name, items in json.loads(path.read_text()).items():
            out.setdefault(name, []).extend(items)
    return out


# --- each event type ------------------------------------------------------------------------------

def test_new_contact_becomes_a_lead_with_its_profile(http, server):
    r = post(http, server, fixture("lead_post_save_new"))
    assert r.status_code == 202
    assert r.json() == {"accepted": 1, "duplicates": 0, "qualified": 0}
    with server.services.sessions() as s:
        lead = find_lead(s, PRIYA)
        assert (lead.first_name, lead.last_name, lead.company) == ("Priya", "Shah", "Northwind Logistics")
        # Mautic's "title" is a salutation (Ms.); the job title is "position".
        assert lead.title == "Head of Operations"
        assert lead.phone == "+44 113 496 0321"
        assert lead.score == 15
        assert lead.lifecycle_stage == "lead"


def test_update_and_points_change_move_the_profile_and_score(http, server):
    for name in ("lead_post_save_new", "lead_post_save_update", "lead_points_change"):
        assert post(http, server, fixture(name)).json()["accepted"] == 1
    with server.services.sessions() as s:
        lead = find_lead(s, PRIYA)
        assert lead.title == "VP Operations"
        assert lead.score == 85  # points.new_points
        assert lead.lifecycle_stage == "engaged"
        assert count(server, Lead) == 1


def test_email_open_and_page_hit_become_activities(http, server):
    r = post(http, server, fixture("email_on_open"))
    assert r.status_code == 202 and r.json() == {"accepted": 1, "duplicates": 0, "qualified": 0}
    # The second hit is an anonymous visitor (no email): acknowledged, counted as ignored.
    r = post(http, server, fixture("page_on_hit"))
    assert r.status_code == 202 and r.json() == {"accepted": 1, "duplicates": 0, "qualified": 0, "ignored": 1}
    with server.services.sessions() as s:
        lead = find_lead(s, PRIYA)
        acts = {a.kind: a for a in brief_input(s, lead, datetime.now(UTC)).activities}
        assert set(acts) == {"email_open", "web_visit"}
        assert acts["email_open"].subject == "Your peak-season widget checklist"
        assert acts["email_open"].occurred_at == datetime(2026, 3, 1, 12, 47, 30, tzinfo=UTC)
        assert acts["web_visit"].url == "https://www.acmewidgets.example/pricing"
        assert acts["web_visit"].properties == {"page_title": "Pricing | Acme Widgets"}
        rows = s.execute(select(Activity.source, Activity.source_event_id).order_by(Activity.id)).all()
        assert rows == [("mautic", "email_open:5531:1"), ("mautic", "page_hit:20411")]


def test_contact_sales_form_makes_a_hand_raiser_and_its_message_reaches_the_brief(http, server):
    payload = fixture("form_on_submit")
    item = payload["mautic.form_on_submit"][0]
    just_now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    item["submission"]["dateSubmitted"] = just_now.isoformat()
    item["timestamp"] = (just_now + timedelta(seconds=1)).isoformat()

    r = post(http, server, payload)
    assert r.status_code == 202
    assert r.json() == {"accepted": 1, "duplicates": 0, "qualified": 1}
    with server.services.sessions() as s:
        lead = find_lead(s, PRIYA)
        q = s.scalars(select(Qualification)).one()
        assert (q.lead_id, q.reason) == (lead.id, "hand_raiser")
        form = brief_input(s, lead, datetime.now(UTC)).activities[0]
        assert (form.kind, form.form) == ("form_submit", "Contact Sales")
        assert form.comments.startswith("We run four warehouses and need to replace our widget tracking")
        assert form.url == "https://www.acmewidgets.example/pricing?utm_source=newsletter"
        assert form.properties["timeline"] == "this quarter"
        assert "email" not in form.properties and "first_name" not in form.properties
    printed = wait_for(lambda: "Next step" in server.printed() and server.printed())
    assert "four warehouses" in printed


# --- deliveries as a whole -------------------------------------------------------------------------

def test_redelivery_is_counted_as_duplicates_and_doubles_nothing(http, server):
    payload = everything()
    r = post(http, server, payload)
    assert r.status_code == 202
    # 3 contact events, a form, an open and a known visitor's hit; an anonymous hit and a deletion ignored.
    assert r.json() == {"accepted": 6, "duplicates": 0, "qualified": 0, "ignored": 2}
    before = (count(server, Lead), count(server, Activity), count(server, ProcessedEvent))
    assert before == (1, 3, 6)

    again = post(http, server, payload)
    assert again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": 6, "qualified": 0, "ignored": 2}
    assert (count(server, Lead), count(server, Activity), count(server, ProcessedEvent)) == before

    # Mautic re-queues an item with a new delivery timestamp: still the same event.
    moved = copy.deepcopy(payload)
    for items in moved.values():
        for item in items:
            item["timestamp"] = "2026-03-03T00:00:00+00:00"
    assert post(http, server, moved).json()["duplicates"] == 6


def test_a_later_update_of_the_same_contact_is_a_new_event(http, server):
    first = fixture("lead_post_save_update")
    later = copy.deepcopy(first)
    contact = later["mautic.lead_post_save_update"][0]["contact"]
    contact["dateModified"] = "2026-03-04T10:00:00+00:00"
    contact["fields"]["core"]["company"]["value"] = "Northwind Group"
    later["mautic.lead_post_save_update"][0]["timestamp"] = "2026-03-04T10:00:01+00:00"
    assert post(http, server, first).json()["accepted"] == 1
    assert post(http, server, later).json()["accepted"] == 1
    with server.services.sessions() as s:
        assert find_lead(s, PRIYA).company == "Northwind Group"


def test_unknown_events_are_acknowledged_and_ignored(http, server):
    payload = fixture("lead_post_delete")
    payload["mautic.email_on_send"] = [
        {"email": {"id": 9}, "contact": {"id": 1}, "timestamp": "2026-03-02T10:00:00+00:00"}]
    r = post(http, server, payload)
    assert r.status_code == 202
    assert r.json() == {"accepted": 0, "duplicates": 0, "qualified": 0, "ignored": 2}
    assert nothing_stored(server)


def test_mautic_test_payload_button_is_accepted(http, server):
    # "Send test payload" posts the sample items (form_on_submit as one object, not a list) plus a
    # top-level "timestamp".
    payload = {"mautic.form_on_submit": fixture("form_on_submit")["mautic.form_on_submit"][0],
               "timestamp": "2026-03-02T10:00:00+00:00"}
    r = post(http, server, payload)
    assert r.status_code == 202 and r.json()["accepted"] == 1


# --- authentication and configuration -------------------------------------------------------------

@pytest.mark.parametrize("case", ["wrong-secret", "tampered", "missing", "hex-not-base64", "generic-scheme"])
def test_bad_signatures_are_401_and_store_nothing(http, server, case):
    body = json.dumps(fixture("form_on_submit")).encode()
    hex_sig = hmac.new(MAUTIC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "wrong-secret": {"Webhook-Signature": mautic_signature(body, "another-secret-of-some-length")},
        "tampered": {"Webhook-Signature": mautic_signature(body + b" ")},
        "missing": {},
        "hex-not-base64": {"Webhook-Signature": hex_sig},
        "generic-scheme": {"X-Leadbrief-Signature": "v1=" + hex_sig},
    }[case]
    r = post(http, server, body, headers={"Content-Type": "application/json", **headers})
    assert r.status_code == 401
    assert "Webhook-Signature" in r.json()["error"]
    assert nothing_stored(server)


def test_without_a_secret_the_endpoint_is_404(http, live_server):
    body = json.dumps(fixture("form_on_submit")).encode()
    r = post(http, live_server, body)
    assert r.status_code == 404
    assert r.json() == {"error": "Mautic webhooks are not enabled: set MAUTIC_WEBHOOK_SECRET"}
    with live_server.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 0


# --- malformed deliveries -------------------------------------------------------------------------

def test_a_form_without_email_is_skipped_and_named_and_the_rest_is_applied(http, server):
    payload = everything()
    sub = payload["mautic.form_on_submit"][0]["submission"]
    sub["lead"]["fields"]["core"]["email"]["value"] = None
    del sub["results"]["email"]
    r = post(http, server, payload)
    assert r.status_code == 202
    body = r.json()
    # Items are numbered by their place in the whole delivery.
    position = [name for name, items in payload.items() for _ in items].index("mautic.form_on_submit")
    assert body == {"accepted": 5, "duplicates": 0, "qualified": 0, "ignored": 2, "skipped": 1, "details": [{
        "index": position,
        "field": "mautic.form_on_submit[0].submission.lead.email",
        "message": "is required: the submission has no contact email (add an email field to the form, "
                   "mapped to the contact's Email)",
    }]}
    assert count(server, Lead) == 1 and count(server, ProcessedEvent) == 5
    with server.services.sessions() as s:
        assert {a.kind for a in s.scalars(select(Activity))} == {"email_open", "web_visit"}
    # Mautic redelivers nothing (2xx); fixing the form in Mautic and resubmitting is a new submission.


def test_a_delivery_with_nothing_usable_is_400_and_stores_nothing(http, server):
    payload = fixture("form_on_submit")
    sub = payload["mautic.form_on_submit"][0]["submission"]
    sub["lead"]["fields"]["core"]["email"]["value"] = None
    del sub["results"]["email"]
    r = post(http, server, payload)
    assert r.status_code == 400
    assert r.json()["error"] == "1 of 1 Mautic items are invalid and none is usable; nothing was stored"
    assert [d["field"] for d in r.json()["details"]] == ["mautic.form_on_submit[0].submission.lead.email"]
    assert nothing_stored(server)

    # Beside an event we do not use, the same bad form is skipped and the delivery acknowledged (Mautic would
    # otherwise redeliver it, and disable the webhook after repeated failures).
    payload["mautic.lead_post_delete"] = fixture("lead_post_delete")["mautic.lead_post_delete"]
    r = post(http, server, payload)
    assert r.status_code == 202 and r.json()["skipped"] == 1 and r.json()["ignored"] >= 1
    assert nothing_stored(server)


def test_invalid_values_are_named_by_their_mautic_field_and_the_good_items_land(http, server):
    payload = fixture("lead_post_save_new")
    payload["mautic.lead_post_save_new"].append(copy.deepcopy(payload["mautic.lead_post_save_new"][0]))
    bad = payload["mautic.lead_post_save_new"][1]
    bad["contact"]["fields"]["core"]["email"]["value"] = "priya at northwind"
    bad["contact"]["points"] = "lots"
    bad["timestamp"] = "yesterday"
    payload["mautic.page_on_hit"] = [{"hit": "not an object"}]
    r = post(http, server, payload)
    assert r.status_code == 202
    assert r.json()["accepted"] == 1 and r.json()["skipped"] == 2
    assert r.json()["details"] == [
        {"index": 1, "field": "mautic.lead_post_save_new[1].timestamp",
         "message": "is not an ISO 8601 date-time: 'yesterday'"},
        {"index": 2, "field": "mautic.page_on_hit[0].hit", "message": "expected a JSON object, got a str"},
    ]
    bad["timestamp"] = "2026-02-27T16:41:04+00:00"
    del payload["mautic.page_on_hit"]
    again = post(http, server, payload).json()
    assert (again["accepted"], again["duplicates"], again["skipped"]) == (0, 1, 1)
    fields = {d["field"]: d["message"] for d in again["details"]}
    assert fields == {
        "mautic.lead_post_save_new[1].contact.fields.core.email.value":
            "is not an email address (expected name@domain)",
        "mautic.lead_post_save_new[1].contact.points":
            "Input should be a valid integer, unable to parse string as an integer",
    }
    with server.services.sessions() as s:
        assert find_lead(s, PRIYA).score == 15
        assert count(server, Lead) == 1


def test_skipped_items_are_logged_by_field_never_by_value(http, server, caplog):
    payload = fixture("lead_post_save_new")
    payload["mautic.lead_post_save_new"].append(copy.deepcopy(payload["mautic.lead_post_save_new"][0]))
    payload["mautic.lead_post_save_new"][1]["contact"]["fields"]["core"]["email"]["value"] = "secret-value at x"
    assert post(http, server, payload).json()["skipped"] == 1
    assert "mautic.lead_post_save_new[1].contact.fields.core.email.value" in caplog.text
    assert "secret-value" not in caplog.text


@pytest.mark.parametrize(("body", "message"), [
    (b'{"mautic.form_on_submit": [', "body is not valid JSON"),
    (b'[{"submission": {}}]', "body must be a JSON object keyed by Mautic event name, got list"),
])
def test_unparseable_bodies_are_400(http, server, body, message):
    r = post(http, server, body)
    assert r.status_code == 400 and r.json()["error"].startswith(message)
    assert nothing_stored(server)


def test_items_must_be_a_list_of_objects(http, server):
    r = post(http, server, {"mautic.page_on_hit": "nope", "mautic.email_on_open": [42]})
    assert r.status_code == 400
    assert r.json()["details"] == [
        {"index": 0, "field": "mautic.page_on_hit", "message": "expected a list of items, got str"},
        {"index": 1, "field": "mautic.email_on_open[0]", "message": "expected a JSON object, got int"}]


# --- translation details (no HTTP needed) -----------------------------------------------------------

def translate(payload: dict):
    return mautic.translate(json.dumps(payload).encode())


def test_timestamps_without_an_offset_are_utc():
    item = fixture("form_on_submit")["mautic.form_on_submit"][0]
    item["submission"]["dateSubmitted"] = "2026-03-02 09:31:17"
    (event,) = translate({"mautic.form_on_submit": [item]}).events
    assert event.occurred_at == datetime(2026, 3, 2, 9, 31, 17, tzinfo=UTC)
    other = fixture("email_on_open")["mautic.email_on_open"][0]
    other["stat"]["lastOpened"] = "2026-03-01T14:47:30+02:00"
    (event,) = translate({"mautic.email_on_open": [other]}).events
    assert event.occurred_at == datetime(2026, 3, 1, 12, 47, 30, tzinfo=UTC)


def test_flat_fields_legacy_lead_key_owner_email_and_stage():
    item = {
        "lead": {  # Mautic 1.x named the contact "lead"
            "id": 77,
            "points": "42",
            "fields": {"all": {"email": "Sam@Example.com", "firstname": "Sam", "position": "CTO",
                               "mobile": 447700900123}},
            "owner": {"id": 3, "username": "jane", "email": "jane@ourco.example"},
            "stage": {"id": 3, "name": "MQL"},
        },
        "timestamp": "2026-03-02T09:14:06+00:00",
    }
    (event,) = translate({"mautic.lead_post_save_update": [item]}).events
    lead = event.lead
    assert (lead.email, lead.first_name) == ("sam@example.com", "Sam")
    assert (lead.title, lead.phone) == ("CTO", "447700900123")
    assert (lead.owner_email, lead.score, lead.lifecycle_stage) == ("jane@ourco.example", 42, "MQL")
    assert event.source == "mautic" and event.id.startswith("mautic.lead_post_save_update:77:")


def test_points_change_without_a_points_block_uses_the_contact_points():
    item = fixture("lead_points_change")["mautic.lead_points_change"][0]
    del item["points"]
    (event,) = translate({"mautic.lead_points_change": [item]}).events
    assert event.lead.score == 85


def test_contact_without_an_email_is_ignored():
    item = fixture("lead_post_save_new")["mautic.lead_post_save_new"][0]
    item["contact"]["fields"]["core"]["email"]["value"] = ""
    result = translate({"mautic.lead_post_save_new": [item]})
    assert (result.events, result.ignored) == ([], 1)


@pytest.mark.parametrize(("results", "form_fields", "expected"), [
    ({"email": "a@b.example", "message": "Call me"}, None, "Call me"),
    ({"email": "a@b.example", "what_do_you_need": "Pricing for 40 seats", "phone": "123"},
     [{"alias": "what_do_you_need", "type": "textarea"}], "Pricing for 40 seats"),
    ({"email": "a@b.example", "your_question_for_sales": "Any SAP integration?"}, None, "Any SAP integration?"),
    ({"email": "a@b.example", "company": "Acme"}, None, None),
])
def test_the_free_text_field_becomes_comments(results, form_fields, expected):
    item = fixture("form_on_submit")["mautic.form_on_submit"][0]
    item["submission"]["results"] = results
    if form_fields:
        item["submission"]["form"]["fields"] = form_fields
    (event,) = translate({"mautic.form_on_submit": [item]}).events
    assert event.comments == expected


def test_translate_skips_the_bad_item_and_raises_only_when_nothing_is_usable():
    payload = everything()
    payload["mautic.email_on_open"][0]["stat"]["emailAddress"] = None
    payload["mautic.email_on_open"][0]["stat"]["lead"] = None
    result = translate(payload)
    assert [d.field for d in result.skipped] == ["mautic.email_on_open[0].stat.emailAddress"]
    assert "email_open" not in {getattr(e, "kind", None) for e in result.events} and len(result.events) == 5
    with pytest.raises(InvalidBatch) as exc:
        translate({"mautic.email_on_open": payload["mautic.email_on_open"]})
    assert [d.field for d in exc.value.details] == ["mautic.email_on_open[0].stat.emailAddress"]
