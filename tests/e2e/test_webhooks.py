"""POST /webhooks/events over real HTTP against the running app (uvicorn on loopback)."""

import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from briefs.events import MAX_BATCH
from storage.models import Activity, Delivery, Lead
from tests.support.factories import Events, researcher_history
from tests.support.live import LiveServer, wait_for
from tests.support.signing import SECRET, signed_headers


def body_of(events) -> bytes:
    return json.dumps({"events": events}).encode()


def stored(services, model=Lead) -> int:
    with services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def post(http, server, body: bytes, **kw):
    return http.post(f"{server.url}/webhooks/events", content=body, headers=kw.pop("headers", None) or signed_headers(body), **kw)


def test_health(http, live_server):
    assert http.get(f"{live_server.url}/healthz").json() == {"status": "ok"}
    assert http.get(f"{live_server.url}/readyz").json() == {"status": "ok", "database": "ok"}


def test_signed_batch_is_accepted_and_the_brief_is_printed_once(http, live_server):
    events = researcher_history(Events(now=datetime.now(UTC)))
    body = body_of(events)
    r = post(http, live_server, body)
    assert r.status_code == 202
    assert r.json() == {"accepted": 9, "duplicates": 0, "qualified": 1}
    printed = wait_for(lambda: "Next step" in live_server.printed() and live_server.printed())
    assert "🔥 Jon Doe · Director of Operations, Acme Widgets" in printed
    assert "I saw you downloaded “The Lifecycle of a Widget”" in printed
    # A replay, freshly signed, is counted as duplicates and changes nothing.
    again = post(http, live_server, body)
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 9, "qualified": 0}
    live_server.delivery_idle()
    assert live_server.printed().count("New brief") == 1
    with live_server.services.sessions() as s:
        assert s.scalar(select(Delivery.status)) == "sent"


def test_single_event_body_is_accepted(http, live_server):
    ev = Events()
    r = post(http, live_server, json.dumps(ev.visit("a@b.example", "https://x.example/", timedelta(0))).encode())
    assert r.status_code == 202 and r.json()["accepted"] == 1


@pytest.mark.parametrize("case", ["wrong-secret", "tampered", "stale", "future", "missing", "garbage-timestamp"])
def test_bad_signatures_are_401_and_store_nothing(http, live_server, case):
    body = body_of(researcher_history(Events()))
    # Whole seconds, rounded down from the server's clock: 310 keeps both sides clearly outside the 300 s window.
    now = int(time.time())
    headers = {
        "wrong-secret": signed_headers(body, secret="another-secret-of-some-length"),
        "tampered": signed_headers(body + b" "),
        "stale": signed_headers(body, timestamp=now - 310),
        "future": signed_headers(body, timestamp=now + 310),
        "missing": {"Content-Type": "application/json"},
        "garbage-timestamp": {**signed_headers(body), "X-Leadbrief-Timestamp": "yesterday"},
    }[case]
    r = post(http, live_server, body, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]
    assert stored(live_server.services) == 0


def test_timestamp_within_tolerance_is_fine(http, live_server):
    body = body_of([Events().visit("a@b.example", "https://x.example/", timedelta(0))])
    assert post(http, live_server, body, headers=signed_headers(body, timestamp=int(time.time()) - 250)).status_code == 202


def test_a_bad_event_is_skipped_and_named_and_the_good_ones_are_applied(http, live_server):
    ev = Events()
    good = researcher_history(ev)
    bad = ev.activity("not-an-email", "web_visit")
    r = post(http, live_server, body_of(good[:3] + [bad] + good[3:]))
    assert r.status_code == 202
    payload = r.json()
    assert payload["accepted"] == len(good) and payload["skipped"] == 1
    assert payload["details"] == [{"index": 3, "field": "email", "message": "is not an email address (expected name@domain)"}]
    assert stored(live_server.services, Activity) == sum(1 for e in good if e["type"] == "activity")
    # The sender resends the whole delivery, fixed: the good ones are duplicates, the fixed one is new.
    bad["email"] = "fixed@b.example"
    again = post(http, live_server, body_of(good[:3] + [bad] + good[3:])).json()
    assert again["accepted"] == 1 and again["duplicates"] == len(good) and "skipped" not in again


def test_a_batch_with_no_valid_event_is_rejected_whole_with_field_details(http, live_server):
    ev = Events()
    r = post(http, live_server, body_of([ev.activity("not-an-email", "web_visit"), ev.activity("a@b.example", "nope")]))
    assert r.status_code == 400
    payload = r.json()
    assert "nothing was stored" in payload["error"]
    assert [(d["index"], d["field"]) for d in payload["details"]] == [(0, "email"), (1, "kind")]
    assert stored(live_server.services) == 0 and stored(live_server.services, Activity) == 0


def test_malformed_json_is_400(http, live_server):
    r = post(http, live_server, b'{"events": [')
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]


def test_too_many_events_is_413(http, live_server):
    ev = Events()
    r = post(http, live_server, body_of([ev.activity("a@b.example", "web_visit") for _ in range(MAX_BATCH + 1)]))
    assert r.status_code == 413 and "at most 1000" in r.json()["error"]
    assert stored(live_server.services) == 0


def test_too_large_body_is_413_before_parsing(http, settings):
    with LiveServer(replace(settings, max_body_bytes=2048)) as server:
        body = body_of([Events().form("a@b.example", "Contact Sales", "x" * 3000)])
        r = post(http, server, body)
        assert r.status_code == 413 and "larger than 2048 bytes" in r.json()["error"]
        # Chunked upload with no Content-Length is cut off too.
        r = http.post(f"{server.url}/webhooks/events", content=iter([body[:1500], body[1500:]]), headers=signed_headers(body))
        assert r.status_code == 413


def test_wrong_method_is_405(http, live_server):
    assert http.get(f"{live_server.url}/webhooks/events").status_code == 405


def test_database_outage_is_503_not_500(http, live_server, monkeypatch):
    import handlers.webhooks as hooks

    def down(*a, **k):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(hooks, "ingest", down)
    r = post(http, live_server, body_of(researcher_history(Events())))
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert "nothing was stored" in r.json()["error"]


def test_rejections_are_logged_without_secret_or_body(http, live_server, caplog):
    caplog.set_level(logging.DEBUG)
    body = body_of([Events().form("secretive@b.example", "Contact Sales", "private words")])
    post(http, live_server, body, headers=signed_headers(body, secret="wrong-secret-wrong-secret"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "rejected events webhook" in logged
    assert SECRET not in logged and "private words" not in logged and "secretive@b.example" not in logged


def test_nul_characters_in_free_properties_are_dropped_not_a_500(http, live_server):
    # Found by the API fuzz on PostgreSQL: jsonb cannot hold \u0000.
    body = json.dumps({"type": "activity", "id": "nul-1", "occurred_at": "2026-11-23T10:00:00Z",
                       "email": "nul@example.com", "kind": "web_visit", "url": "https://ourco.example/",
                       "properties": {"utm\u0000": ["a\u0000b", {"c": "\u0000"}]}}).encode()
    r = http.post(f"{live_server.url}/webhooks/events", content=body, headers=signed_headers(body))
    assert r.status_code == 202, r.text
    with live_server.services.sessions() as s:
        assert s.scalars(select(Activity.properties)).one() == {"utm": ["ab", {"c": ""}]}


def test_an_unexpected_error_is_a_500_logged_as_one_line_without_its_text_or_a_traceback(settings, http, caplog):
    """A fault of ours stays a 500, but what reaches the log is its type and place: an exception's text can
    quote lead data, and a traceback from one request is noise the next one can repeat."""
    from starlette.requests import Request

    def fails(_request: Request):
        raise ValueError("could not handle pat.lee@secret-co.example")

    caplog.set_level(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).addHandler(caplog.handler)
    try:
        server = LiveServer(settings)
        server.app.add_route("/fails", fails, methods=["GET"])
        with server:
            r = http.get(server.url + "/fails", headers={"X-Request-Id": "req-42"})
            assert r.status_code == 500 and r.json()["error"].startswith("internal error")
            assert r.headers["x-request-id"] == "req-42"
            assert http.get(server.url + "/healthz").status_code == 200  # and the server carries on
    finally:
        for name in ("uvicorn", "uvicorn.error"):
            logging.getLogger(name).removeHandler(caplog.handler)
    lines = [r for r in caplog.records if r.name == "leadbrief.errors"]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert lines[0].getMessage().startswith("GET /fails failed: ValueError at tests/e2e/test_webhooks.py:")
    assert "secret-co" not in caplog.text and "Traceback" not in caplog.text
    assert not [rec for rec in caplog.records if rec.exc_info]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_a_time_with_no_utc_form_is_a_400_naming_occurred_at(live_server, http, when):
    body = body_of([{"type": "activity", "id": "t1", "occurred_at": when, "email": "a@b.example",
                     "kind": "form_submit", "form": "Contact Sales"}])
    r = post(http, live_server, body)
    assert r.status_code == 400, r.text
    assert r.json()["details"] == [{"index": 0, "field": "occurred_at", "message":
                                    "is out of range (expected a time between the years 1 and 9999 in UTC)"}]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_the_extreme_times_that_have_a_utc_form_are_stored(live_server, http, when):
    events = [{"type": "lead.upsert", "id": "u1", "occurred_at": when, "lead": {"email": "a@b.example", "score": 500}},
              {"type": "activity", "id": "t1", "occurred_at": when, "email": "a@b.example", "kind": "form_submit",
               "form": "Contact Sales", "comments": "call me"}]
    r = post(http, live_server, body_of(events))
    assert r.status_code == 202, r.text
