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
from storage.models import Activity, Lead, PendingActivity, ProcessedEvent, Qualification, VisitorLink
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


def recent_batch() -> list[dict]:
    """batch.json's messages as if sent just now (anonymous activity is kept for a bounded time only)."""
    return [fresh(m) for m in fixture("batch")["batch"]]


def test_batch_counts_unmapped_and_group_messages_as_ignored_and_keeps_the_anonymous_page(http, server):
    r = post(http, server, {"batch": recent_batch()})
    assert r.status_code == 202
    # Content Downloaded + Webinar Attended + the anonymous page (kept for when its visitor is identified);
    # Product Added (unmapped) and group are ignored.
    assert r.json() == {"accepted": 3, "duplicates": 0, "qualified": 0, "ignored": 2}
    with server.services.sessions() as s:
        lead = find_lead(s, "mia.chen@globex.example")
        acts = {a.kind: a for a in brief_input(s, lead, datetime.now(UTC)).activities}
        assert s.scalar(select(PendingActivity.anonymous_id)) == "a1b2c3d4-0000-4000-8000-000000000001"
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


def test_a_malformed_message_is_skipped_by_name_and_the_good_ones_are_applied(http, server):
    messages = recent_batch()
    messages[1] = {**messages[1], "timestamp": "yesterday"}
    del messages[3]["messageId"]
    r = post(http, server, {"batch": messages})
    assert r.status_code == 202
    # The unmapped event's bad timestamp is not our concern; the missing messageId is.
    assert r.json() == {"accepted": 2, "duplicates": 0, "qualified": 0, "ignored": 2, "skipped": 1, "details": [
        {"index": 3, "field": "batch[3].messageId", "message": "is required (a non-empty string)"}]}
    messages = recent_batch()
    messages[3] = {**messages[3], "timestamp": "2026-03-04 16:00"}
    messages[0] = {**messages[0], "type": "trak"}
    r = post(http, server, {"batch": messages})
    assert r.status_code == 202
    assert r.json()["details"] == [
        {"index": 0, "field": "batch[0].type", "message": "got 'trak', expected one of identify, track, page, screen, group, alias"},
        {"index": 3, "field": "batch[3].timestamp", "message": "needs a UTC offset or Z (ISO 8601, e.g. 2026-11-23T15:04:05Z)"},
    ]
    # The first delivery's good messages, once: the second only repeated the anonymous page.
    assert r.json()["duplicates"] == 1 and count(server, Activity) == 1 and count(server, PendingActivity) == 1


def test_a_delivery_with_no_usable_message_is_400_naming_each_field(http, server):
    bad = [{"type": "page", "messageId": "p-1", "timestamp": "2026-03-04T16:00:00Z", "properties": {"title": "x"}},
           {"type": "alias", "messageId": "al-1", "timestamp": "2026-03-04T16:00:00Z", "userId": "u-1"}]
    r = post(http, server, bad)
    assert r.status_code == 400 and "nothing was stored" in r.json()["error"]
    assert r.json()["details"] == [
        {"index": 0, "field": "[0].userId",
         "message": "is required (or anonymousId) when the message carries no email (context.traits.email)"},
        {"index": 1, "field": "[1].previousId", "message": "is required for an alias call (the id the person had)"},
    ]
    assert count(server, ProcessedEvent) == 0


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


# --- Segment's own examples (tests/fixtures/segment/SOURCES.md) and an analytics.js session ------------------


def spec(name: str) -> dict:
    return fixture(f"spec_{name}")


def test_segment_spec_examples_identify_page_alias_and_track(http, server):
    """Segment's complete examples from its Spec pages. They share one messageId (docs reuse it; real traffic
    never does), so, sent as they are, the page and the alias are duplicates of the identify: that is shown
    first, then they are sent with ids of their own."""
    identify, page, alias, track = (fresh(spec(n)) for n in ("identify", "page", "alias", "track"))
    assert post(http, server, identify).json() == {"accepted": 1, "duplicates": 0, "qualified": 0}
    assert post(http, server, page).json() == {"accepted": 0, "duplicates": 1, "qualified": 0}
    page["messageId"] = page["messageId"][:-1] + "c"
    alias["messageId"] = alias["messageId"][:-1] + "d"
    # The page names userId 97980cfea0067 only: identified a moment ago, so it is Peter's at once.
    assert post(http, server, page).json() == {"accepted": 1, "duplicates": 0, "qualified": 0}
    assert post(http, server, alias).json() == {"accepted": 1, "duplicates": 0, "qualified": 0}
    assert post(http, server, track).json() == {"accepted": 0, "duplicates": 0, "qualified": 0, "ignored": 1}
    with server.services.sessions() as s:
        lead = find_lead(s, "peter@example.com")
        assert (lead.first_name, lead.last_name) == ("Peter", "Gibbons")
        visit = brief_input(s, lead, datetime.now(UTC)).activities[0]
        assert (visit.kind, visit.url, visit.properties["page_title"]) == (
            "web_visit", "http://www.example.com", "Welcome | Initech")
        links = {(k, v): (lead_id, user) for k, v, lead_id, user in s.execute(
            select(VisitorLink.kind, VisitorLink.visitor_id, VisitorLink.lead_id, VisitorLink.user_id))}
    assert links == {
        ("user_id", "97980cfea0067"): (lead.id, None),
        ("anonymous_id", "507f191e810c19729de860ea"): (lead.id, None),
        # alias: previousId may be either kind of id (Segment's Alias spec), so it is linked as both.
        ("anonymous_id", "39239-239239-239239-23923"): (None, "507f191e81"),
        ("user_id", "39239-239239-239239-23923"): (None, "507f191e81"),
    }


EMAIL_SPEC = {"email_opened": "email_open", "email_link_clicked": "email_click", "email_delivered": "email_delivered",
              "email_unsubscribed": "unsubscribe", "email_bounced": None, "email_marked_as_spam": None}


def as_delivered(example: dict, message_id: str) -> dict:
    """The Email spec's examples are in the partner API's form ("action", "user_id", no messageId or time);
    Segment delivers them to a webhook as a track message, with what its pipeline adds."""
    context = {k: v for k, v in example["context"].items() if k != "user_agent"}
    context["userAgent"] = example["context"]["user_agent"]
    msg = {"type": example["action"], "event": example["event"], "userId": example["user_id"],
           "context": context, "properties": example["properties"], "messageId": message_id}
    return fresh({**msg, "timestamp": "", "originalTimestamp": "", "receivedAt": ""})


def test_email_spec_examples_as_segment_delivers_them(http, server):
    messages = [as_delivered(spec(name), f"email-spec-{i}") for i, name in enumerate(EMAIL_SPEC)]
    r = post(http, server, messages)
    assert r.status_code == 202
    # Bounced and Marked as Spam are not mapped by default.
    assert r.json() == {"accepted": 4, "duplicates": 0, "qualified": 0, "ignored": 2}
    with server.services.sessions() as s:
        peter = {a.kind: a for a in brief_input(s, find_lead(s, "pgibbons@initech.example"), datetime.now(UTC)).activities}
        joanna = brief_input(s, find_lead(s, "joanna@chotchkies.example"), datetime.now(UTC)).activities
    assert set(peter) == {"email_open", "email_delivered", "unsubscribe"}
    assert (peter["email_open"].subject, peter["email_open"].campaign) == ("First shirt on us!", "New Customer Discount")
    assert [(a.kind, a.url) for a in joanna] == [("email_click", "https://www.buymyshirts.com?promo=NEWCUSTOMER")]


def test_email_spec_example_in_the_partner_form_is_refused_naming_what_is_missing(http, server):
    r = post(http, server, spec("email_opened"))
    assert r.status_code == 400
    assert r.json()["details"] == [
        {"index": 0, "field": "messageId", "message": "is required (a non-empty string)"},
        {"index": 0, "field": "type", "message": "is required"},
    ]


SESSION_AGO = [timedelta(minutes=m) for m in (50, 46, 45, 44, 30, 25, 20, 19, 10)]


def session() -> list[dict]:
    """analytics_js_session.json, as if browsed in the last hour (the qualification window is 72 hours)."""
    return [fresh(m, ago) for m, ago in zip(fixture("analytics_js_session"), SESSION_AGO, strict=True)]


@pytest.fixture
def segment_slack_server(slack_settings):
    with LiveServer(segment.CONFIG.configure(slack_settings, secret=SEGMENT_SECRET)) as s:
        yield s


def test_an_analytics_js_session_reaches_the_brief_with_the_pages_viewed_before_and_after_identify(
        http, segment_slack_server, fake_slack):
    server = segment_slack_server
    messages = session()
    answers = [post(http, server, m).json() for m in messages]
    # Each page is accepted: the anonymous ones wait, the crawler's too (never identified, it is purged in time).
    assert [a["accepted"] for a in answers] == [1] * 9 and answers[6]["qualified"] == 1
    brief = json.dumps(fake_slack.wait_for("chat.postMessage")[0]["blocks"], ensure_ascii=False)
    assert "Inés García" in brief
    # The pages viewed, by title: three before the identify (attached then) and one after it, by userId only.
    for title in ("Industrial widgets for real factories | Example", "Precios y planes — Example",
                  "Case study: Talleres Ruiz cut downtime 30%", "Security &amp; SSO | Example"):  # mrkdwn-escaped
        assert title in brief, title
    assert "Page not found" not in brief and "wp-login" not in brief
    assert "Necesitamos SSO y una opción on-prem para 3 plantas" in brief
    # A replayed delivery is a duplicate; the page after the alias (another device, userId only) is hers too.
    assert post(http, server, messages[5]).json() == {"accepted": 0, "duplicates": 1, "qualified": 0}
    with server.services.sessions() as s:
        lead = find_lead(s, "ines.garcia@tallerbcn.example")
        titles = [a.properties["page_title"].strip() for a in brief_input(s, lead, datetime.now(UTC)).activities
                  if a.kind == "web_visit"]
        assert s.scalar(select(PendingActivity.anonymous_id)) == "f3e2d1c0-aaaa-4bbb-8ccc-0123456789ab"
    assert sorted(titles) == sorted(["Industrial widgets for real factories | Example", "Precios y planes — Example",
                                     "Case study: Talleres Ruiz cut downtime 30%\n | Example",
                                     "Security & SSO | Example", "Documentación de la API | Example"])
    assert count(server, Qualification) == 1
