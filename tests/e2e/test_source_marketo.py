"""POST /webhooks/marketo over real HTTP, with bodies as Marketo renders our payload template (JSON encoding)."""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from handlers.sources import marketo
from storage.models import Activity, Lead, ProcessedEvent, Qualification
from storage.queries import brief_input, find_lead
from tests.support.live import LiveServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "marketo"
MARKETO_SECRET = "marketo-webhook-secret-0123456789"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fresh(payload: dict, ago: timedelta = timedelta(minutes=2)) -> dict:
    """As if rendered just now by an instance in UTC-8 (qualification ignores triggers older than 72 hours)."""
    local = (datetime.now(UTC) - ago).astimezone(timezone(timedelta(hours=-8)))
    stamp = local.strftime("%Y-%m-%d %H:%M:%S")
    return {**payload, "occurred_at": stamp, "clock": local.strftime("%I:%M %p (GMT -0800)"),
            "id": [*payload["id"][:2], stamp]}


def post(http, server, payload=None, *, body: bytes | None = None, secret: str | None = MARKETO_SECRET):
    if body is None:
        body = json.dumps(payload, indent=2, ensure_ascii=False).encode()
    # Marketo sends the body as text; the admin sets Content-Type and our secret as custom headers.
    headers = {"Content-Type": "application/json", "User-Agent": "Jakarta Commons-HttpClient/3.1"}
    if secret is not None:
        headers[marketo.AUTH_HEADER] = secret
    return http.post(f"{server.url}/webhooks/marketo", content=body, headers=headers)


def count(server, model) -> int:
    with server.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def server(settings):
    with LiveServer(marketo.CONFIG.configure(settings, webhook_secret=MARKETO_SECRET)) as s:
        yield s


def test_the_lead_and_its_form_submission_are_stored(http, server):
    r = post(http, server, body=raw("contact_sales"))
    assert r.status_code == 202, r.text
    # Old fixture date: recorded, but too old to page anyone.
    assert r.json() == {"accepted": 2, "duplicates": 0, "qualified": 0}
    with server.services.sessions() as s:
        lead = find_lead(s, "dana.kim@umbrella.example")
        assert (lead.first_name, lead.last_name, lead.title, lead.company, lead.phone) == (
            "Dana", "Kim", "Head of Plant Operations", "Umbrella Manufacturing & Co.", "+1 415 555 0142")
        assert (lead.score, lead.owner_email, lead.lifecycle_stage) == (45, "jane@ourco.example", "open")
        # "2026-03-02 10:15:00" in the instance's zone, GMT -0800 per {{system.time}}.
        assert lead.profile_as_of.astimezone(UTC) == datetime(2026, 3, 2, 18, 15, tzinfo=UTC)
        form = brief_input(s, lead, datetime(2026, 3, 3, tzinfo=UTC)).activities[0]
        assert (form.kind, form.form) == ("form_submit", "Contact Sales")
        assert form.comments == 'We have 3 plants and "legacy" SCADA;\nneed pricing for ~120 seats & SSO.'
        assert form.occurred_at == datetime(2026, 3, 2, 18, 15, tzinfo=UTC)
        assert form.properties["marketo_trigger"] == "Fills Out Form"
        assert form.properties["marketo_lead_id"] == 318877
        ids = set(s.scalars(select(ProcessedEvent.event_id)))
        assert ids == {"1042-318877-2026-03-02 10:15:00:lead", "1042-318877-2026-03-02 10:15:00:form_submit"}
        assert set(s.scalars(select(ProcessedEvent.source))) == {"marketo"}


def test_contact_sales_with_comments_qualifies_as_a_hand_raiser(http, server):
    r = post(http, server, fresh(fixture("contact_sales")))
    assert r.status_code == 202 and r.json() == {"accepted": 2, "duplicates": 0, "qualified": 1}
    with server.services.sessions() as s:
        lead = find_lead(s, "dana.kim@umbrella.example")
        assert s.scalars(select(Qualification).where(Qualification.lead_id == lead.id)).one().reason == "hand_raiser"


def test_redelivery_is_a_duplicate(http, server):
    payload = fresh(fixture("contact_sales"))
    assert post(http, server, payload).json()["accepted"] == 2
    again = post(http, server, payload)
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 2, "qualified": 0}
    assert count(server, Activity) == 1 and count(server, Qualification) == 1


def test_empty_tokens_are_dropped_not_stored_as_empty_strings(http, server):
    assert post(http, server, fresh(fixture("contact_sales"))).status_code == 202
    r = post(http, server, body=raw("sparse_lead"))
    # No activity for this campaign: the lead is updated and the rest counted as ignored.
    assert r.status_code == 202 and r.json() == {"accepted": 1, "duplicates": 0, "qualified": 0, "ignored": 1}
    sparse = fixture("sparse_lead")
    sparse["lead"] = {**sparse["lead"], "email": "dana.kim@umbrella.example"}
    sparse["id"] = [1077, 318877, "2099-01-01 00:00:00"]
    sparse["occurred_at"] = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert post(http, server, sparse).json()["accepted"] == 1
    with server.services.sessions() as s:
        ravi = find_lead(s, "ravi@initech.example")
        assert ravi.first_name == "Ravi"
        assert (ravi.last_name, ravi.title, ravi.company, ravi.phone, ravi.score, ravi.owner_email,
                ravi.lifecycle_stage) == (None, None, None, None, None, None, None)
        # A later profile with empty tokens does not blank what Dana's form gave us.
        dana = find_lead(s, "dana.kim@umbrella.example")
        assert (dana.last_name, dana.company, dana.score) == ("Kim", "Umbrella Manufacturing & Co.", 45)


def test_null_tokens_and_a_missing_activity_are_dropped_too(http, server):
    payload = fixture("sparse_lead")
    payload["lead"] = {**payload["lead"], "last_name": None, "score": None, "phone": "   "}
    del payload["activity"]
    r = post(http, server, payload)
    assert r.status_code == 202 and r.json()["accepted"] == 1
    with server.services.sessions() as s:
        ravi = find_lead(s, "ravi@initech.example")
        assert (ravi.last_name, ravi.phone, ravi.score) == (None, None, None)


def test_both_date_formats(http, server):
    # {{system.dateTime}} without {{system.time}}: a naive time is taken as UTC.
    assert post(http, server, body=raw("sparse_lead")).status_code == 202
    # REST-style ISO 8601 with Z, string lead id and score, a plain string id.
    r = post(http, server, body=raw("email_click_iso"))
    assert r.status_code == 202 and r.json()["accepted"] == 2
    with server.services.sessions() as s:
        ravi = find_lead(s, "ravi@initech.example")
        assert ravi.profile_as_of.astimezone(UTC) == datetime(2026, 3, 2, 11, 2, 41, tzinfo=UTC)
        dana = find_lead(s, "dana.kim@umbrella.example")
        assert dana.score == 60
        click = brief_input(s, dana, datetime(2026, 3, 3, tzinfo=UTC)).activities[0]
        assert (click.kind, click.url, click.campaign) == (
            "email_click", "https://www.example.com/tools/downtime-calculator", "Nurture - Q4 Operations")
        assert click.occurred_at == datetime(2026, 3, 2, 18, 40, 5, tzinfo=UTC)
        assert s.scalar(select(ProcessedEvent.event_id).where(ProcessedEvent.event_id.like("1090-%:lead"))) == (
            "1090-318877-2026-03-02T18:40:05Z:lead")


@pytest.mark.parametrize("secret", ["a-guess-of-some-length-123", "", None])
def test_wrong_or_missing_secret_is_401_and_stores_nothing(http, server, secret):
    r = post(http, server, body=raw("contact_sales"), secret=secret)
    assert r.status_code == 401 and marketo.AUTH_HEADER in r.json()["error"]
    assert count(server, Lead) == 0 and count(server, ProcessedEvent) == 0


def test_without_a_secret_the_endpoint_is_404(http, settings):
    with LiveServer(settings) as server:
        r = post(http, server, body=raw("contact_sales"))
        assert r.status_code == 404
        assert r.json()["error"] == "Marketo webhooks are not enabled: set MARKETO_WEBHOOK_SECRET"


def test_not_json_is_400_and_says_to_pick_json_encoding(http, server):
    # What "Request Token Encoding: None" produces for a comment with a double quote.
    body = raw("contact_sales").replace(b'"We have 3 plants and \\"legacy\\"', b'"We have 3 plants and "legacy"')
    r = post(http, server, body=body)
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["error"] and "Request Token Encoding to JSON" in r.json()["error"]
    assert count(server, Lead) == 0


@pytest.mark.parametrize("change, field", [
    ({"lead": {"email": "", "first_name": "Dana"}}, "lead.email"),
    ({"lead": None}, "lead"),
    ({"id": ""}, "id"),
    ({"id": [None, "", None]}, "id"),
    ({"occurred_at": "23/11/2026 10:15"}, "occurred_at"),
])
def test_malformed_payload_is_400_naming_the_field(http, server, change, field):
    payload = {**fixture("contact_sales"), **change}
    if change.get("id") == "":
        del payload["id"]
    r = post(http, server, payload)
    assert r.status_code == 400
    assert "nothing was stored" in r.json()["error"]
    assert [d["field"] for d in r.json()["details"]] == [field]
    assert count(server, Lead) == 0 and count(server, ProcessedEvent) == 0


def test_field_errors_name_the_template_key(http, server):
    payload = fixture("contact_sales")
    payload["lead"] = {**payload["lead"], "score": "high", "owner_email": "jane", "status": "x" * 65}
    r = post(http, server, payload)
    assert r.status_code == 400
    details = {d["field"]: d["message"] for d in r.json()["details"]}
    assert set(details) == {"lead.score", "lead.owner_email", "lead.status"}
    assert count(server, Lead) == 0


def test_translate_without_http():
    settings = marketo.CONFIG.configure(Settings(), webhook_secret=MARKETO_SECRET)
    payload = {"id": [7, 8, "2026-11-23 10:15:00"], "occurred_at": "2026-11-23 10:15:00",
               "clock": "03:45 PM (GMT +0530)", "activity": "content_download",
               "lead": {"email": "a@b.example"}, "trigger": {"name": "Widget Lifecycle Whitepaper"}}
    out = marketo.translate(json.dumps(payload).encode(), None, settings)
    upsert, download = out.events
    assert out.ignored == 0 and upsert.id == "7-8-2026-11-23 10:15:00:lead"
    assert upsert.occurred_at == datetime(2026, 11, 23, 4, 45, tzinfo=UTC)
    assert (download.kind, download.asset.title) == ("content_download", "Widget Lifecycle Whitepaper")
    unknown = marketo.translate(json.dumps({**payload, "activity": "Interesting Moment"}).encode(), None, settings)
    assert [e.type for e in unknown.events] == ["lead.upsert"] and unknown.ignored == 1
