"""Operations over real HTTP: /metrics, /readyz with Slack, request ids and secret-free logs."""

import io
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot import logs
from tests.support.factories import Events, researcher_history
from tests.support.live import LiveServer
from tests.support.signing import signed_headers

SLACK_TOKEN = "xoxb-1234567890-abcdefghijklmnop"


def body_of(events) -> bytes:
    return json.dumps({"events": events}).encode()


def scrape(http, server) -> dict[tuple[str, frozenset], float]:
    r = http.get(f"{server.url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples, name: str, **labels) -> float:
    """The sample's value; 0 when absent (a labelled counter appears only once it has been bumped)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def post_events(http, server, body: bytes, headers=None):
    return http.post(f"{server.url}/webhooks/events", content=body, headers=headers or signed_headers(body))


# --- /metrics -----------------------------------------------------------------------------------------

def test_ingest_counters_count_accepted_events_by_type_and_replays(http, live_server):
    before = scrape(http, live_server)
    body = body_of(researcher_history(Events(now=datetime.now(UTC))))  # 2 lead.upsert + 7 activity
    assert post_events(http, live_server, body).json()["accepted"] == 9
    assert post_events(http, live_server, body).json()["duplicates"] == 9
    after = scrape(http, live_server)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("leadbrief_events_ingested_total", source="events", type="activity") == 7
    assert delta("leadbrief_events_ingested_total", source="events", type="lead.upsert") == 2
    assert delta("leadbrief_events_ingested_total", source="events", type="lead.qualified") == 0
    assert delta("leadbrief_events_duplicate_total", source="events") == 9


def test_a_batch_of_new_events_and_replays_of_several_types_counts_its_new_ones_as_mixed(http, live_server):
    ev = Events(now=datetime.now(UTC))
    upsert = ev.upsert("mix@b.example", timedelta(minutes=5))
    assert post_events(http, live_server, body_of([upsert])).json()["accepted"] == 1
    before = scrape(http, live_server)
    new = [ev.visit("mix@b.example", "https://x.example/", timedelta(0)), ev.note("mix@b.example", "Jane", "hi")]
    assert post_events(http, live_server, body_of([upsert, *new])).json() == {
        "accepted": 2, "duplicates": 1, "qualified": 0}
    after = scrape(http, live_server)
    for event_type, n in (("mixed", 2), ("activity", 0), ("lead.note", 0), ("lead.upsert", 0)):
        got = value(after, "leadbrief_events_ingested_total", source="events", type=event_type) - value(
            before, "leadbrief_events_ingested_total", source="events", type=event_type)
        assert got == n, event_type
    assert value(after, "leadbrief_events_duplicate_total", source="events") - value(
        before, "leadbrief_events_duplicate_total", source="events") == 1


def test_rejected_requests_are_counted_by_reason(http, live_server):
    before = scrape(http, live_server)
    body = body_of([Events().visit("a@b.example", "https://x.example/", timedelta(0))])
    bad = signed_headers(body, secret="not-the-secret")
    assert post_events(http, live_server, body, headers=bad).status_code == 401
    assert post_events(http, live_server, body, headers=bad).status_code == 401
    not_json = b"{not json"
    assert post_events(http, live_server, not_json, headers=signed_headers(not_json)).status_code == 400
    after = scrape(http, live_server)
    for reason, n in (("signature", 2), ("invalid", 1), ("too_large", 0)):
        got = value(after, "leadbrief_events_rejected_total", source="events", reason=reason) - value(
            before, "leadbrief_events_rejected_total", source="events", reason=reason)
        assert got == n, reason
    # Nothing was accepted from the refused requests.
    assert value(after, "leadbrief_events_ingested_total", source="events", type="activity") == value(
        before, "leadbrief_events_ingested_total", source="events", type="activity")


def test_outbox_gauges_show_a_pending_delivery_and_its_age(http, settings):
    with LiveServer(settings, run_worker=False) as server:
        empty = scrape(http, server)
        assert value(empty, "leadbrief_outbox_deliveries", status="pending") == 0
        assert value(empty, "leadbrief_outbox_oldest_pending_seconds") == 0
        assert post_events(http, server, body_of(researcher_history(Events(now=datetime.now(UTC))))).json()[
            "qualified"] == 1
        real_clock = server.services.clock
        server.services.clock = lambda: real_clock() + timedelta(minutes=5)
        samples = scrape(http, server)
        assert value(samples, "leadbrief_outbox_deliveries", status="pending") == 1
        assert value(samples, "leadbrief_outbox_deliveries", status="sent") == 0
        assert 295 <= value(samples, "leadbrief_outbox_oldest_pending_seconds") <= 310


def test_a_database_error_during_a_scrape_drops_the_outbox_samples_not_the_scrape(http, live_server):
    # Renamed away and back: on PostgreSQL the tests share one schema.
    with live_server.services.engine.begin() as conn:
        conn.execute(text("ALTER TABLE deliveries RENAME TO deliveries_away"))
    try:
        samples = scrape(http, live_server)
    finally:
        with live_server.services.engine.begin() as conn:
            conn.execute(text("ALTER TABLE deliveries_away RENAME TO deliveries"))
    assert not any(name.startswith("leadbrief_outbox_") for name, _ in samples)
    assert any(name == "leadbrief_delivery_latency_seconds_count" for name, _ in samples)


# --- /readyz ------------------------------------------------------------------------------------------

def test_readyz_checks_slack_auth_and_caches_the_answer(http, slack_server, fake_slack):
    fake_slack.reset()
    r = http.get(f"{slack_server.url}/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "database": "ok", "slack": "ok"})
    assert len(fake_slack.calls_to("auth.test")) == 1
    http.get(f"{slack_server.url}/readyz")
    assert len(fake_slack.calls_to("auth.test")) == 1  # cached for a minute


def test_readyz_is_503_when_slack_refuses_the_token(http, slack_server, fake_slack, caplog):
    fake_slack.fail("auth.test", "invalid_auth")
    with caplog.at_level(logging.WARNING, logger="leadbrief"):
        r = http.get(f"{slack_server.url}/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "database": "ok", "slack": "invalid_auth"}
    token = slack_server.services.settings.slack_bot_token
    assert token not in r.text and token not in caplog.text
    assert "invalid_auth" in caplog.text


def test_readyz_without_slack_reports_the_database_only(http, live_server):
    r = http.get(f"{live_server.url}/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "database": "ok"})


# --- request ids and logs -----------------------------------------------------------------------------

@pytest.fixture
def filtered_caplog(caplog):
    """caplog's handler with the filters leadbrief's own handler has (bot.logs.setup)."""
    logs.install_filters(caplog.handler)
    caplog.set_level(logging.INFO, logger="leadbrief")
    yield caplog
    caplog.handler.filters.clear()


def test_request_id_is_echoed_and_on_the_log_records_of_the_request(http, live_server, filtered_caplog):
    body = body_of([Events().visit("a@b.example", "https://x.example/", timedelta(0))])
    headers = {**signed_headers(body), "X-Request-Id": "lb-test.request_42"}
    r = post_events(http, live_server, body, headers=headers)
    assert r.status_code == 202 and r.headers["x-request-id"] == "lb-test.request_42"
    records = [rec for rec in filtered_caplog.records if rec.name == "leadbrief.webhooks"]
    assert records and all(rec.request_id == "lb-test.request_42" for rec in records)


@pytest.mark.parametrize("offered", [None, "x" * 65, "has space", "semi;colon"])
def test_a_missing_or_unsafe_request_id_is_replaced(http, live_server, offered):
    headers = {"X-Request-Id": offered} if offered else {}
    r = http.get(f"{live_server.url}/healthz", headers=headers)
    rid = r.headers["x-request-id"]
    assert rid != offered and logs.sane_request_id(rid) == rid
    assert http.get(f"{live_server.url}/healthz").headers["x-request-id"] != rid  # a fresh one each time


def test_redaction_masks_secrets_in_messages_args_and_tracebacks(filtered_caplog):
    log = logging.getLogger("leadbrief.test")
    log.warning("token %s and app token xapp-1-A0B1-123-abcdef", SLACK_TOKEN)
    log.warning("header %s", {"Authorization": "Bearer abc.DEF-123_secret"})
    log.warning("hubspot pat-na1-11112222-3333-4444-5555-666677778888 used")
    log.warning("signature v1=%s", "ab" * 32)
    try:
        raise RuntimeError(f"refused {SLACK_TOKEN}")
    except RuntimeError:
        log.exception("failed")
    out = filtered_caplog.text
    for secret in (SLACK_TOKEN, "xapp-1-A0B1", "abc.DEF-123_secret", "pat-na1", "ab" * 32):
        assert secret not in out, secret
    assert out.count(logs.MASK) >= 6
    assert "Bearer [redacted]" in out and "refused [redacted]" in out
    # Ordinary values are untouched.
    log.info("%d events from %r", 3, "hubspot")
    assert filtered_caplog.records[-1].getMessage() == "3 events from 'hubspot'"


def test_json_log_lines_carry_the_request_id(monkeypatch):
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        handler = logs.setup(logging.INFO, json=True, stream=stream)
        token = logs.request_id.set("req-1")
        try:
            logging.getLogger("leadbrief.test").info("posted with %s", SLACK_TOKEN)
        finally:
            logs.request_id.reset(token)
        logging.getLogger("leadbrief.test").info("outside a request")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        assert root.handlers == handlers
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "req-1" and first["level"] == "INFO" and first["logger"] == "leadbrief.test"
    assert first["message"] == "posted with [redacted]"
    assert second["request_id"] == "-"


def test_log_format_from_the_environment():
    root = logging.getLogger()
    level = root.level
    try:
        handler = logs.setup_from_env(logging.WARNING, env={"LEADBRIEF_LOG_FORMAT": "json"})
        assert isinstance(handler.formatter, logs.JsonFormatter)
        handler = logs.setup_from_env(logging.WARNING, env={})
        assert not isinstance(handler.formatter, logs.JsonFormatter)
        assert [h for h in root.handlers if h.get_name() == "leadbrief"] == [handler]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_the_delivery_worker_counts_posts_latency_retries_and_dead_letters(services, rules):
    from bot import metrics
    from bot.usecases.ingest import ingest
    from bot.usecases.outcomes import DeliveryError, Sent
    from bot.worker import DeliveryWorker
    from tests.support.factories import parsed

    def value(name, **labels) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    ev = Events(now=datetime.now(UTC), prefix=f"m{datetime.now(UTC).timestamp()}")
    for email in ("a@one.example", "b@two.example"):
        ingest(services.sessions, parsed([ev.form(email, "Contact Sales", "Call me")]), rules, datetime.now(UTC))
    before = (value("leadbrief_briefs_posted_total", destination="terminal"),
              value("leadbrief_delivery_latency_seconds_count"), value("leadbrief_delivery_retries_total", reason="error"),
              value("leadbrief_dead_letters_total"))
    outcomes = iter([DeliveryError("Slack error: HTTP 503"), DeliveryError("refused", retry_in=None)])

    def sink(item):
        outcome = next(outcomes, None)
        if outcome:
            raise outcome
        return Sent("terminal")

    clock = [datetime.now(UTC)]
    worker = DeliveryWorker(services.sessions, sink, clock=lambda: clock[0])
    worker.run_once()  # the first is retried later, the second dead-lettered
    clock[0] += timedelta(minutes=5)
    worker.run_once()  # the first again: posted
    after = (value("leadbrief_briefs_posted_total", destination="terminal"),
             value("leadbrief_delivery_latency_seconds_count"), value("leadbrief_delivery_retries_total", reason="error"),
             value("leadbrief_dead_letters_total"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]
