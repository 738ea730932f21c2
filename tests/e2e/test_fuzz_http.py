"""Property-based tests of the running app: the webhook API answers only as its OpenAPI document says, and
every endpoint answers deep nesting with a 400 (401 unsigned) and logs no traceback. (The parsers on their own:
tests/unit/test_fuzz.py.)"""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.signing import signed_headers
from tests.unit.test_fuzz import AT, DEEP, SOAP, TEMPLATES, WHEN

# --- The running webhook API against its OpenAPI document ------------------------------------------


def test_the_openapi_document_is_served_and_valid(live_server, http):
    from handlers.openapi import DOCUMENT

    r = http.get(live_server.url + "/openapi.json")
    assert r.status_code == 200 and r.json() == json.loads(json.dumps(DOCUMENT))


def test_webhook_api_answers_only_as_documented(live_server, http):
    """Schemathesis generates bodies from the OpenAPI schema (and breaks them); each is signed so it
    reaches validation. Every answer must be a documented status with a body matching its schema."""
    schemathesis = pytest.importorskip("schemathesis")
    from schemathesis import checks

    from handlers.openapi import document

    doc = document()
    schema = schemathesis.openapi.from_dict(doc)
    operation = schema["/webhooks/events"]["POST"]
    seen: set[int] = set()

    from schemathesis.generation import GenerationMode

    cases = operation.as_strategy(generation_mode=GenerationMode.POSITIVE) | operation.as_strategy(
        generation_mode=GenerationMode.NEGATIVE)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def check(case):
        body = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
        r = http.post(live_server.url + "/webhooks/events", content=body, headers=signed_headers(body))
        seen.add(r.status_code)
        assert r.status_code in (202, 400, 401, 413, 503), (r.status_code, r.text[:500])
        # Documented status, content type and body schema. (Not schemathesis's "positive data accepted":
        # the schema cannot say that control characters are stripped before length checks, so some
        # schema-valid bodies are rightly a documented 400.)
        case.validate_response(r, checks=[checks.not_a_server_error, checks.status_code_conformance,
                                          checks.content_type_conformance, checks.response_schema_conformance])

    check()
    assert {202, 400} <= seen


def test_a_null_is_customer_is_not_a_500(live_server, http):
    body = json.dumps({"type": "lead.upsert", "id": "n1", "occurred_at": "2026-11-23T10:00:00Z",
                       "lead": {"email": "a@b.example", "is_customer": None}}).encode()
    r = http.post(live_server.url + "/webhooks/events", content=body, headers=signed_headers(body))
    assert r.status_code == 202, r.text


# --- Deep nesting: every parser, over HTTP, answers 400 (401 unsigned) and logs no traceback ---------------------

MARKETO_SECRET, MAUTIC_SECRET, SEGMENT_SECRET = "m" * 32, "u" * 32, "s" * 32
HUBSPOT_SECRET, SALESFORCE_TOKEN = "h" * 32, "f" * 32


def deep_requests(endpoint: str, body: bytes, url: str) -> list[tuple[str, dict, int]]:
    """(path, headers, expected status) for the body: signed (400), and not (401)."""
    import base64
    import hashlib
    import hmac
    import time
    from urllib.parse import urlencode

    from tests.support.signing import slack_headers

    json_type = {"Content-Type": "application/json"}
    if endpoint == "events":
        return [("/webhooks/events", signed_headers(body), 400),
                ("/webhooks/events", signed_headers(body, secret="not-the-secret"), 401)]
    if endpoint == "marketo":
        return [("/webhooks/marketo", {**json_type, "X-Leadbrief-Marketo-Secret": MARKETO_SECRET}, 400),
                ("/webhooks/marketo", {**json_type, "X-Leadbrief-Marketo-Secret": "wrong"}, 401)]
    if endpoint == "mautic":
        signature = base64.b64encode(hmac.new(MAUTIC_SECRET.encode(), body, hashlib.sha256).digest()).decode()
        return [("/webhooks/mautic", {**json_type, "Webhook-Signature": signature}, 400),
                ("/webhooks/mautic", {**json_type, "Webhook-Signature": "d3Jvbmc="}, 401)]
    if endpoint == "segment":
        signature = hmac.new(SEGMENT_SECRET.encode(), body, hashlib.sha1).hexdigest()
        return [("/webhooks/segment", {**json_type, "X-Signature": signature}, 400),
                ("/webhooks/segment", {**json_type, "X-Signature": "0" * 40}, 401)]
    if endpoint == "hubspot":
        ts = str(int(time.time() * 1000))
        mac = hmac.new(HUBSPOT_SECRET.encode(), b"POST" + f"{url}/webhooks/hubspot".encode() + body + ts.encode(),
                       hashlib.sha256).digest()
        headers = {**json_type, "X-HubSpot-Request-Timestamp": ts}
        return [("/webhooks/hubspot", {**headers, "X-HubSpot-Signature-v3": base64.b64encode(mac).decode()}, 400),
                ("/webhooks/hubspot", {**headers, "X-HubSpot-Signature-v3": "d3Jvbmc="}, 401)]
    assert endpoint == "slack"
    out = []
    for text, content_type in ((body.decode(), "application/json"),
                               (urlencode({"payload": body.decode()}), "application/x-www-form-urlencoded")):
        out += [("/slack/events", {**slack_headers(text, content_type=content_type), "X-Body": "form"
                                   if content_type.endswith("urlencoded") else "json"}, 400),
                ("/slack/events", {**slack_headers(text, content_type=content_type, secret="wrong"),
                                   "X-Body": "form" if content_type.endswith("urlencoded") else "json"}, 401)]
    return out


@pytest.fixture
def deep_server(slack_settings):
    from handlers.sources import hubspot, marketo, mautic, salesforce, segment
    from tests.support.live import LiveServer

    configured = marketo.CONFIG.configure(slack_settings, webhook_secret=MARKETO_SECRET)
    configured = mautic.CONFIG.configure(configured, secret=MAUTIC_SECRET)
    configured = segment.CONFIG.configure(configured, secret=SEGMENT_SECRET)
    configured = hubspot.CONFIG.configure(configured, client_secret=HUBSPOT_SECRET,
                                          access_token="pat-na1-00000000-0000-0000-0000-000000000000",
                                          api_url="http://127.0.0.1:9")
    configured = salesforce.CONFIG.configure(configured, secret=SALESFORCE_TOKEN, org_id="00D000000000001")
    with LiveServer(configured) as server:
        yield server


@pytest.fixture
def every_log(caplog):
    """caplog, also fed by uvicorn's loggers (which do not propagate to the root): where a traceback would go."""
    caplog.set_level(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).addHandler(caplog.handler)
    yield caplog
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).removeHandler(caplog.handler)


def assert_no_traceback(caplog, server) -> None:
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text
    assert "Traceback" not in server.printed()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(endpoint=st.sampled_from(sorted(TEMPLATES)), choice=st.integers(0, 2), deep=DEEP)
def test_deep_nesting_is_a_400_or_401_on_every_endpoint_and_never_a_traceback(
        deep_server, every_log, endpoint, choice, deep):
    templates = TEMPLATES[endpoint]
    body = templates[choice % len(templates)].replace(AT, deep).encode()
    for path, headers, expected in deep_requests(endpoint, body, deep_server.url):
        headers.pop("X-Body", None)
        content = body
        if headers.get("Content-Type") == "application/x-www-form-urlencoded":
            from urllib.parse import urlencode

            content = urlencode({"payload": body.decode()}).encode()
        # A connection of its own: a server that failed mid-request must not hide behind a reused one.
        with httpx.Client(timeout=30) as client:
            r = client.post(deep_server.url + path, content=content, headers=headers)
        assert r.status_code == expected, (path, expected, r.status_code, r.text[:300])
        if expected == 400:
            assert "nested deeper than 64 levels" in r.json()["error"], r.text[:300]
    assert_no_traceback(every_log, deep_server)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(n=st.integers(min_value=65, max_value=50_000))
def test_deeply_nested_salesforce_xml_is_a_400_and_never_a_traceback(deep_server, every_log, n):
    body = SOAP.format(org="00D000000000001", id="n1", email="deep@x.example", name="Deep", when=WHEN)
    body = body.replace("<sf:LastName>Deep</sf:LastName>", "<sf:LastName>" + "<a>" * n + "</a>" * n
                        + "</sf:LastName>").encode()
    with httpx.Client(timeout=30) as client:
        ok = client.post(f"{deep_server.url}/webhooks/salesforce?token={SALESFORCE_TOKEN}", content=body)
        wrong = client.post(f"{deep_server.url}/webhooks/salesforce?token=wrong", content=body)
    assert wrong.status_code == 401
    # Nested markup where text belongs: the field is read as empty, the rest stands; never a crash.
    assert ok.status_code in (200, 400), ok.text[:300]
    assert_no_traceback(every_log, deep_server)


@pytest.mark.parametrize(("body", "content_type", "error"), [
    (b"[[1]]", "application/json", "body must be a JSON object, got list"),
    (b'{"type": "event_callback", "event_id": "Ev1", "event": [1]}', "application/json",
     "body: event must be a JSON object"),
    (b'{"type": "event_callback", "authorizations": [1]}', "application/json",
     "body: authorizations must be a list of JSON objects"),
    (b"payload=%5B1%5D", "application/x-www-form-urlencoded", "payload must be a JSON object, got list"),
    (b'{"type": "event_callback", "event": {"type": "app_mention"', "application/json", "body is not valid JSON"),
    (b'{"type": "\xff"}', "application/json", "body is not UTF-8"),
])
def test_a_signed_slack_body_bolt_could_not_read_is_a_400_without_a_traceback(
        deep_server, every_log, http, body, content_type, error):
    import hashlib
    import hmac
    import time

    from tests.support.signing import SLACK_SIGNING_SECRET

    ts = str(int(time.time()))
    mac = hmac.new(SLACK_SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    r = http.post(f"{deep_server.url}/slack/events", content=body, headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={mac}"})
    assert r.status_code == 400 and r.json()["error"].startswith(error), r.text
    for headers in ({}, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": f"v0={mac}"}):
        unsigned = http.post(f"{deep_server.url}/slack/events", content=body,
                             headers={"Content-Type": content_type, **headers})
        assert unsigned.status_code == 401, unsigned.text
    assert_no_traceback(every_log, deep_server)
