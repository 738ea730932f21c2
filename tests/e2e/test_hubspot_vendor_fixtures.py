"""HubSpot's own material replayed over HTTP: webhook deliveries (docs examples, association changes, privacy
deletions, a mixed batch) signed with HubSpot's v3 algorithm, against the fake HubSpot API serving responses in
the shapes HubSpot documents (tests/fixtures/hubspot/SOURCES.md says where each comes from)."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.sources import hubspot
from storage.models import Activity, Lead, ProcessedEvent, Qualification
from storage.queries import brief_input, find_lead
from tests.support.fake_hubspot import FakeHubSpot
from tests.support.live import LiveServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "hubspot"
CLIENT_SECRET = "hubspot-client-secret-fixtures-42"
TOKEN = "pat-na1-99999999-8888-7777-6666-555555555555"
PATH = "/webhooks/hubspot"
EMAIL = "mj.okafor@globex.example"
CONTACT_SALES_FORM = "5d4f3e2a-91b8-4c07-8f3e-2a6b1c9d0e77"
HAND_RAISER_CONVERSION = "1e4c0b7a-3f2d-4c5e-9a61-7b2f0d8e4c11"
# The fixtures' "now": their delivery happened at 2026-03-02T10:00:00Z. Tests move every time to just now.
FIXTURE_NOW_MS = 1772445600000
TIME_KEYS = {"occurredAt", "timestamp", "submittedAt", "created", "recent_conversion_date"}


def fixture(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _shift(value, delta_ms: int):
    if isinstance(value, int) and not isinstance(value, bool):
        return value + delta_ms
    if isinstance(value, str):
        when = datetime.fromisoformat(value.replace("Z", "+00:00")) + timedelta(milliseconds=delta_ms)
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def rebased(data, now: datetime | None = None):
    """The fixture with its times moved so that the fixture's delivery happened five minutes ago."""
    now = now or datetime.now(UTC)
    delta = int((now - timedelta(minutes=5)).timestamp() * 1000) - FIXTURE_NOW_MS

    def walk(node):
        if isinstance(node, dict):
            return {k: _shift(v, delta) if k in TIME_KEYS else walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return walk(data)


def hubspot_v3_headers(uri: str, body: bytes, secret: str = CLIENT_SECRET) -> dict:
    # As HubSpot's docs describe v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp)).
    timestamp = str(int(time.time() * 1000))
    mac = hmac.new(secret.encode(), b"POST" + uri.encode() + body + timestamp.encode(), hashlib.sha256).digest()
    return {"Content-Type": "application/json", "X-HubSpot-Signature-v3": base64.b64encode(mac).decode(),
            "X-HubSpot-Request-Timestamp": timestamp}


def deliver(http, server, payload):
    body = json.dumps(payload).encode()
    return http.post(f"{server.url}{PATH}", content=body, headers=hubspot_v3_headers(f"{server.url}{PATH}", body))


def count(server, model) -> int:
    with server.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def serve_hand_raiser(fake: FakeHubSpot, now: datetime | None = None, *, forms_api: bool = True) -> None:
    """The fake answers for contact 601 with HubSpot's documented shapes."""
    fake.add_contact("601", **rebased(fixture("crm_contact_hand_raiser"), now)["properties"])
    owner = fixture("owner")
    fake.owners[owner["id"]] = owner
    fake.forms["601"] = rebased(fixture("contact_profile_form_submissions"), now)["form-submissions"]
    if forms_api:
        fake.add_form_results(CONTACT_SALES_FORM, rebased(fixture("form_submissions"), now)["results"])
    fake.email_events.extend(rebased(fixture("email_events"), now)["events"])
    fake.add_page_events(rebased(fixture("events_page_views"), now)["results"])


@pytest.fixture
def fake():
    with FakeHubSpot(token=TOKEN) as f:
        yield f


@pytest.fixture(autouse=True)
def _forget_events_refusals():
    hubspot._events_refused.clear()
    hubspot._forms_refused.clear()
    yield
    hubspot._events_refused.clear()
    hubspot._forms_refused.clear()


@pytest.fixture
def hubspot_settings(settings, fake):
    return hubspot.CONFIG.configure(settings, client_secret=CLIENT_SECRET, access_token=TOKEN, api_url=fake.url)


@pytest.fixture
def server(hubspot_settings):
    with LiveServer(hubspot_settings) as s:
        yield s


def hand_raiser_activity(server) -> Activity:
    with server.services.sessions() as s:
        acts = brief_input(s, find_lead(s, EMAIL), datetime.now(UTC)).activities
        return next(a for a in acts if a.kind == "form_submit" and a.form == "Contact Sales")


# --- deliveries as HubSpot's docs show them -----------------------------------------------------------


def test_hubspots_documented_example_delivery_is_accepted(http, server, fake):
    fake.add_contact("1246965", email="subscriber@example.com", lifecyclestage="subscriber")
    fake.add_contact("1246978", email="imported@example.com", firstname="Imported")
    r = deliver(http, server, rebased(fixture("webhooks_docs_example")))
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0, "qualified": 0}
    with server.services.sessions() as s:
        assert find_lead(s, "imported@example.com").crm_url == \
            "https://app.hubspot.com/contacts/33/record/0-1/1246978"
        assert set(s.scalars(select(ProcessedEvent.event_id))) == {"3816279340", "3816279480"}


@pytest.mark.parametrize("name", ["association_change", "privacy_deletion"])
def test_association_changes_and_privacy_deletions_are_ignored_not_refused(http, server, fake, name):
    delivery = rebased(fixture(name))
    r = deliver(http, server, delivery)
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 0, "duplicates": 0, "qualified": 0, "ignored": len(delivery)}
    assert fake.calls == [] and count(server, Lead) == 0


def test_mixed_batch_applies_the_contact_events_ignores_the_rest_and_names_the_malformed_one(http, server, fake):
    serve_hand_raiser(fake)
    r = deliver(http, server, rebased(fixture("mixed_batch")))
    assert r.status_code == 202, r.text
    body = r.json()
    # Association change, company, deal, privacy deletion, conversation: HubSpot's, not ours.
    assert body["ignored"] == 5
    # The score change without occurredAt is skipped by name; the rest of the batch still lands.
    assert body["skipped"] == 1
    assert body["details"] == [{"index": 7, "field": "[7].occurredAt",
                                "message": "is required (milliseconds since the epoch)"}]
    assert body["qualified"] == 1
    with server.services.sessions() as s:
        lead = find_lead(s, EMAIL)
        assert (lead.first_name, lead.company, lead.score, lead.owner_email) == (
            "María-José", "Globex Logística", 67, "jane@ourco.example")
        assert s.scalars(select(Qualification.reason)).one() == "hand_raiser"
        ids = set(s.scalars(select(ProcessedEvent.event_id)))
    assert {"2084511001", "2084511002"} <= ids and "2084511008" not in ids
    # A replay is all duplicates; the skipped one is named again (HubSpot would keep sending it unchanged).
    again = deliver(http, server, rebased(fixture("mixed_batch")))
    assert again.status_code == 202
    assert again.json()["accepted"] == 0 and again.json()["skipped"] == 1


# --- the hand-raiser's own words ---------------------------------------------------------------------


def test_form_submission_values_become_the_activitys_comments_and_properties(http, server, fake):
    serve_hand_raiser(fake)
    fake.page_size = 1  # HubSpot's answer spans pages: the hand-raiser's submission is on the second
    r = deliver(http, server, rebased(fixture("mixed_batch")))
    assert r.status_code == 202, r.text
    act = hand_raiser_activity(server)
    assert act.comments.startswith("hi!! Pat Lee at Initech referred me to you.")
    assert "¿Pueden llamarme el martes?" in act.comments
    assert act.url == "https://ourco.example/contact-sales?utm_source=google"
    assert act.properties == {
        "form_id": CONTACT_SALES_FORM, "page_title": "Talk to sales | OurCo", "how_did_you_hear_about_us": "Referral",
        "timeline": "This quarter", "company_size": "201-500", "interests": "Lead routing;Slack alerts",
        "original_source": "ORGANIC_SEARCH"}
    with server.services.sessions() as s:
        assert s.scalars(select(ProcessedEvent.event_id).where(
            ProcessedEvent.event_id == f"hubspot:form:{HAND_RAISER_CONVERSION}")).one()
    calls = fake.calls_to(fake.FORMS)
    # The download form had no Forms API answers; the Contact Sales form was paged until the submission.
    sales = [c for c in calls if c["path"].endswith(CONTACT_SALES_FORM)]
    assert [c["query"].get("after") for c in sales] == [None, "1", "2"]
    assert all(c["query"]["limit"] == "50" and c["authorization"] == f"Bearer {TOKEN}" for c in calls)


def test_without_the_forms_scope_the_contacts_message_property_is_the_comments(http, server, fake, caplog):
    serve_hand_raiser(fake)
    fake.fail(403, times=2, path=fake.FORMS)  # the private app lacks the forms scope
    r = deliver(http, server, rebased(fixture("mixed_batch")))
    assert r.status_code == 202, r.text
    act = hand_raiser_activity(server)
    assert act.comments.startswith("hi!! Pat Lee at Initech referred me to you.")
    assert act.properties == {"form_id": CONTACT_SALES_FORM, "page_title": "Talk to sales | OurCo",
                              "original_source": "ORGANIC_SEARCH"}
    with server.services.sessions() as s:
        download = next(a for a in brief_input(s, find_lead(s, EMAIL), datetime.now(UTC)).activities
                        if a.form == "Download: Lead routing playbook")
        assert download.comments is None  # the message belongs to the recent conversion only
    warnings = [rec.getMessage() for rec in caplog.records if rec.name == "leadbrief.hubspot"]
    assert any("answered 403" in w for w in warnings) and not any(EMAIL in w or "Pat Lee" in w for w in warnings)
    # The refusal is remembered: the delivery's other form, and later deliveries, do not ask again.
    assert len(fake.calls_to(fake.FORMS)) == 1
    assert deliver(http, server, rebased(fixture("mixed_batch"))).status_code == 202
    assert len(fake.calls_to(fake.FORMS)) == 1 and len(fake.calls_to(fake.PROFILE)) == 2
    warnings = [rec.getMessage() for rec in caplog.records if rec.name == "leadbrief.hubspot"]
    assert sum("forms scope" in w for w in warnings) == 1


def test_profile_unreadable_the_recent_conversion_is_the_form_submission(http, server, fake):
    serve_hand_raiser(fake)
    fake.fail(500, path=fake.PROFILE)
    r = deliver(http, server, rebased(fixture("mixed_batch")))
    assert r.status_code == 202, r.text
    act = hand_raiser_activity(server)
    assert act.comments.startswith("hi!! Pat Lee at Initech referred me to you.")
    with server.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Qualification).where(
            Qualification.reason == "hand_raiser")) == 1


def test_message_of_an_older_conversion_is_not_put_on_this_one(http, server, fake):
    now = datetime.now(UTC)
    serve_hand_raiser(fake, now, forms_api=False)
    # The contact's message came with a conversion two days ago, not with either listed submission.
    fake.contacts["601"]["recent_conversion_date"] = (now - timedelta(days=2)).isoformat()
    r = deliver(http, server, rebased(fixture("mixed_batch"), now))
    assert r.status_code == 202, r.text
    with server.services.sessions() as s:
        forms = list(s.scalars(select(Activity).where(Activity.kind == "form_submit")))
    assert sorted(a.form for a in forms) == ["Contact Sales", "Contact Sales", "Download: Lead routing playbook"]
    assert [a.comments for a in forms if a.source_event_id.startswith("hubspot:form:")] == [None, None]
    # It is a conversion of its own, at its own time.
    own = [a for a in forms if a.source_event_id.startswith("hubspot:conversion:601:")]
    assert len(own) == 1 and own[0].comments.startswith("hi!! Pat Lee")


# --- email events and page views as HubSpot documents them --------------------------------------------


def test_documented_email_events_and_paged_page_views_are_stored(http, server, fake):
    serve_hand_raiser(fake)
    fake.page_size = 1  # one page view per page: the second comes from following paging.next.after
    r = deliver(http, server, rebased(fixture("mixed_batch")))
    assert r.status_code == 202, r.text
    with server.services.sessions() as s:
        acts = list(s.scalars(select(Activity)))
    assert {a.kind for a in acts} >= {"email_open", "email_sent", "web_visit", "form_submit"}
    pages = {a.url: a.properties for a in acts if a.kind == "web_visit" and a.source_event_id.startswith(
        "hubspot:page:")}
    assert pages == {"https://ourco.example/pricing": {"page_title": "Pricing | OurCo"},
                     "https://ourco.example/customers/initech": {
                         "page_title": "How Initech routes 4,000 leads a month | OurCo"}}
    assert [c["query"].get("after") for c in fake.calls_to(fake.EVENTS)] == [None, "1"]


def test_page_views_follow_paging_up_to_the_engagement_limit(http, server, fake):
    serve_hand_raiser(fake)
    for n in range(hubspot.ENGAGEMENT_LIMIT + 30):
        fake.add_page_view("601", f"https://ourco.example/blog/{n}", int(
            (datetime.now(UTC) - timedelta(hours=n + 1)).timestamp() * 1000), event_id=f"pv-{n}")
    fake.page_size = 20
    r = deliver(http, server, rebased(fixture("mixed_batch")))
    assert r.status_code == 202, r.text
    calls = fake.calls_to(fake.EVENTS)
    assert [c["query"].get("after") for c in calls] == [None, "20", "40"]  # 60 read, 50 kept: no fourth page
    with server.services.sessions() as s:
        stored = s.scalar(select(func.count()).select_from(Activity).where(
            Activity.source_event_id.like("hubspot:page:%")))
    assert stored == hubspot.ENGAGEMENT_LIMIT


# --- what it carries is in the brief -----------------------------------------------------------------


@pytest.fixture
def hubspot_slack_server(slack_settings, fake):
    configured = hubspot.CONFIG.configure(slack_settings, client_secret=CLIENT_SECRET, access_token=TOKEN,
                                          api_url=fake.url)
    with LiveServer(configured) as s:
        yield s


def posted_text(call: dict) -> str:
    return json.dumps(call["blocks"], ensure_ascii=False) + json.dumps(call.get("text", ""), ensure_ascii=False)


def test_hand_raisers_brief_quotes_their_form_message_with_stage_score_and_owner(
        http, hubspot_slack_server, fake, fake_slack):
    serve_hand_raiser(fake)
    r = deliver(http, hubspot_slack_server, rebased(fixture("mixed_batch")))
    assert r.status_code == 202 and r.json()["qualified"] == 1, r.text
    post = fake_slack.wait_for("chat.postMessage")[0]
    text = posted_text(post)
    blocks = {b.get("block_id"): b for b in post["blocks"]}
    words = blocks["brief_words"]["text"]["text"]
    # Their words, quoted as they wrote them (messy, bilingual), and the facts a rep opens with.
    assert words.startswith("*In their own words (Contact Sales)*\n> hi!! Pat Lee at Initech referred me to you.")
    assert "> Budget is approved. ¿Pueden llamarme el martes? thx" in words
    assert "• *Referral:* “Pat Lee at Initech referred me to you”" in words
    assert "• *Timeline:* “This quarter”" in words  # the form's own timeline answer
    assert "• *Budget:* “Budget is approved”" in words and "Who decides" not in words
    assert "• *Scale:* “company size: 201-500”" in words  # a bare range is named by its field
    assert "• *Asks for:* “¿Pueden llamarme el martes?”" in words
    # Stage, score and owner from the CRM; the brief goes to the owner, Jane (U0JANE in the fake Slack).
    status = blocks["brief_status"]["elements"][0]["text"]
    assert "Prospect (SQL)" in status and "score 67" in status and "owner jane@ourco.example" in status
    assert post["channel"] == "U0JANE"
    # What they did on the way: the pricing page and the playbook they downloaded.
    assert "Pricing | OurCo" in text and "Download: Lead routing playbook" in text  # page titles as sent


def test_a_forms_submissions_are_read_once_per_delivery_however_many_submissions_ask(fake, hubspot_settings):
    """Two submissions of the same form in one delivery: the form is paged back once, to the older one."""
    serve_hand_raiser(fake)
    results = rebased(fixture("form_submissions"))["results"]
    times = sorted(int(r["submittedAt"]) for r in results)
    api = hubspot.HubSpotAPI(hubspot_settings)
    try:
        first = api.form_values(CONTACT_SALES_FORM, times[0] - 60_000)
        calls = len(fake.calls_to(fake.FORMS))
        assert api.form_values(CONTACT_SALES_FORM, times[-1] - 60_000) == first  # newer: already read
        assert len(fake.calls_to(fake.FORMS)) == calls
        api.form_values(CONTACT_SALES_FORM, times[0] - 10 * 86_400_000)  # older than read so far: read again
        assert len(fake.calls_to(fake.FORMS)) > calls
    finally:
        api.close()
