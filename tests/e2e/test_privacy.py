"""Erasure (`leadbrief forget`), retention (`leadbrief purge`) and the audit log (`leadbrief audit`), on the real
database, with the posted briefs overwritten in the fake Slack."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.server import attach_slack, delivery_sink
from bot.usecases.ingest import ingest
from bot.usecases.privacy import redact_posted
from bot.worker import DeliveryWorker
from storage import audit, outbox, privacy, queries
from storage.models import (
    Activity,
    AuditEntry,
    ContentAsset,
    Delivery,
    HandoffNote,
    Lead,
    ProcessedEvent,
    Qualification,
)
from tests.support.factories import Events, parsed, researcher_history
from tests.support.signing import SECRET, SLACK_SIGNING_SECRET
from tests.support.team import QUEUE

d = timedelta
JON = "jon.doe@acme.example"
KIM = "kim@hooli.example"
JON_WORDS = ("Jon", "Doe", "Acme", "jon.doe", "Widget")


def seed(services, rules, now: datetime) -> None:
    """Two qualified leads with activities, a note each, a processed event tied to each and audit entries."""
    ev = Events(now=now, prefix=f"p{now.timestamp():.6f}")
    events = researcher_history(ev, JON) + [
        ev.note(JON, "Mia", "Met Jon at the expo, wants a pilot"),
        ev.upsert(KIM, d(days=3), first_name="Kim", last_name="Lee", company="Hooli", owner_email="omar@ourco.example"),
        ev.form(KIM, "Contact Sales", "Budget approved"),
        ev.note(KIM, "Mia", "Kim asked for pricing"),
    ]
    ingest(services.sessions, parsed(events), rules, now)
    with services.sessions.begin() as s:
        for email in (JON, KIM):
            lead = queries.find_lead(s, email)
            s.add(ProcessedEvent(source="test", event_id=f"tied-{email}", type="lead.upsert", lead_id=lead.id,
                                 occurred_at=now, received_at=now))
            audit.record(s, actor="U0JANE", action="lookup", at=now - d(minutes=5), lead_id=lead.id, lead_ref=email)
            audit.record(s, actor="U0OMAR", action="claim", at=now - d(minutes=4), lead_id=lead.id, lead_ref=email,
                         detail="claimed from the brief")
        audit.record(s, actor="U0JANE", action="search", at=now - d(minutes=3), detail=f"query {JON.upper()}: 1 match")


def per_lead(services, lead_id: int) -> dict[str, int]:
    with services.sessions() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m).where(m.lead_id == lead_id))
                for m in (Activity, HandoffNote, Qualification, Delivery, ProcessedEvent)}


def lead_id(services, email: str) -> int | None:
    with services.sessions() as s:
        lead = queries.find_lead(s, email)
        return lead.id if lead else None


def slack_env(fake_slack, **extra) -> dict:
    return {"SLACK_BOT_TOKEN": "xoxb-test-token-1234", "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
            "SLACK_API_URL": fake_slack.url, "LEADBRIEF_DEFAULT_CHANNEL": QUEUE, "LEADBRIEF_WEBHOOK_SECRET": SECRET,
            **extra}


def deliver(slack_settings) -> None:
    """Post the pending briefs to the fake Slack as the delivery worker does."""
    from bot.usecases.deps import Services

    services = Services.from_settings(slack_settings)
    try:
        attach_slack(services)
        DeliveryWorker(services.sessions, delivery_sink(services)).run_once()
    finally:
        services.engine.dispose()


def posted_by_lead(services) -> dict[int, tuple[str, str]]:
    with services.sessions() as s:
        rows = s.execute(select(Delivery.lead_id, Delivery.channel, Delivery.ts).where(Delivery.status == "sent"))
        return {lid: (c, t) for lid, c, t in rows}


def message_text(message: dict) -> str:
    return json.dumps({k: message.get(k) for k in ("text", "blocks", "attachments")}, ensure_ascii=False)


# --- forget ---------------------------------------------------------------------------------------------------


def test_forget_erases_the_lead_and_redacts_its_posted_brief_and_nothing_of_another_lead(
        services, rules, slack_settings, fake_slack, run):
    now = datetime.now(UTC)
    seed(services, rules, now)
    deliver(slack_settings)
    jon, kim = lead_id(services, JON), lead_id(services, KIM)
    posted = posted_by_lead(services)
    assert set(posted) == {jon, kim}
    jon_msg, kim_msg = posted[jon], posted[kim]
    assert "Jon" in message_text(fake_slack.messages[jon_msg])  # the brief named the lead before
    kim_before = message_text(fake_slack.messages[kim_msg])
    kim_counts = per_lead(services, kim)
    assert all(per_lead(services, jon).values()) and all(kim_counts.values())
    with services.sessions() as s:
        assets = s.scalar(select(func.count()).select_from(ContentAsset))
    assert assets >= 2

    proc = run("forget", "  Jon.Doe@ACME.example ", "--yes", env=slack_env(fake_slack), check_rc=0)
    assert "redacted 1 of 1" in proc.stdout, proc.stdout + proc.stderr
    assert "0 visitor ids, 0 waiting activities" in proc.stdout  # Jon was never a tracked visitor

    # The database keeps nothing of Jon, everything of Kim, and the shared content assets.
    assert lead_id(services, JON) is None
    assert set(per_lead(services, jon).values()) == {0}
    assert per_lead(services, kim) == kim_counts
    with services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ContentAsset)) == assets
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
    # Slack: Jon's brief overwritten with no lead data left; Kim's untouched.
    updates = fake_slack.calls_to("chat.update")
    assert [(u["channel"], u["ts"]) for u in updates] == [jon_msg]
    redacted = message_text(fake_slack.messages[jon_msg])
    assert "Lead data removed on request" in redacted
    assert not [w for w in JON_WORDS if w.lower() in redacted.lower()], redacted
    assert message_text(fake_slack.messages[kim_msg]) == kim_before

    # Audit: Jon's entries anonymised (and the search that quoted his email), the erasure recorded.
    ref = audit.forgotten_ref(JON)
    with services.sessions() as s:
        everything = s.scalars(select(AuditEntry)).all()
        dump = " ".join(f"{e.lead_ref} {e.detail}" for e in everything).lower()
        assert "jon.doe" not in dump
        jon_entries = audit.entries(s, lead_ref=JON)
        assert [e.action for e in jon_entries][:2] == ["redact", "forget"]
        assert {e.action for e in jon_entries} == {"redact", "forget", "lookup", "claim"}
        assert {e.lead_ref for e in jon_entries} == {ref} and {e.lead_id for e in jon_entries} == {None}
        assert all(e.actor.startswith("cli:") for e in jon_entries[:2])
        assert "1 of 1" in jon_entries[0].detail
        assert [e.lead_ref for e in audit.entries(s, lead_ref=KIM)] == [KIM, KIM]
        search = s.scalars(select(AuditEntry).where(AuditEntry.action == "search")).one()
        assert search.detail == f"query {ref}: 1 match"


def test_forget_of_an_unknown_email_exits_1_and_changes_nothing(services, rules, run):
    seed(services, rules, datetime.now(UTC))
    before = per_lead(services, lead_id(services, JON))
    proc = run("forget", "nobody@nowhere.example", "--yes")
    assert proc.returncode == 1
    assert "no lead with email 'nobody@nowhere.example'" in proc.stderr
    assert per_lead(services, lead_id(services, JON)) == before
    with services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "forget")) == 0


def test_forget_without_a_terminal_needs_yes(services, rules, run):
    seed(services, rules, datetime.now(UTC))
    proc = run("forget", JON)
    assert proc.returncode == 2 and "--yes" in proc.stderr
    assert lead_id(services, JON) is not None


def test_forget_without_slack_erases_the_data_and_fails_listing_the_briefs_left_in_slack(services, rules, run):
    now = datetime.now(UTC)
    seed(services, rules, now)
    jon = lead_id(services, JON)
    with services.sessions.begin() as s:
        delivery = s.scalars(select(Delivery).where(Delivery.lead_id == jon)).one()
        outbox.mark_sent(s, delivery.id, now, "C0JANE", "1700000000.000100")
    proc = run("forget", JON, "--yes")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "C0JANE 1700000000.000100: Slack is not configured" in proc.stderr
    assert "redacted 0 of 1" in proc.stdout
    assert lead_id(services, JON) is None and set(per_lead(services, jon).values()) == {0}
    with services.sessions() as s:
        redact = audit.entries(s, lead_ref=JON)[0]
    assert redact.action == "redact" and redact.detail.startswith("0 of 1")


def test_forget_in_the_store_returns_the_posted_briefs_and_none_for_an_unknown_lead(services, rules):
    now = datetime.now(UTC)
    seed(services, rules, now)
    jon = lead_id(services, JON)
    with services.sessions.begin() as s:
        delivery = s.scalars(select(Delivery).where(Delivery.lead_id == jon)).one()
        outbox.mark_sent(s, delivery.id, now, "C0JANE", "1700000000.000200")
    with services.sessions.begin() as s:
        assert privacy.forget(s, "nobody@nowhere.example", "cli:test", now) is None
        done = privacy.forget(s, JON, "cli:test", now)
    assert done.posted == [("C0JANE", "1700000000.000200")]
    # Every event ingested for Jon (his history and the note) is tied to him, plus the one seed() tied by hand.
    jon_events = len(researcher_history(Events(), JON)) + 1 + 1
    assert (done.notes, done.qualifications, done.deliveries, done.processed_events, done.audit_entries) == \
        (1, 1, 1, jon_events, 2)
    assert done.activities == 7 and done.lead_ref == audit.forgotten_ref(JON)
    with services.sessions() as s:
        assert privacy.describe(s, JON) is None
        forget_entry = audit.entries(s, actor="cli:test")[0]
    assert forget_entry.action == "forget" and forget_entry.lead_ref == done.lead_ref
    assert "7 activities" in forget_entry.detail and JON not in forget_entry.detail


# --- redaction in Slack ---------------------------------------------------------------------------------------


def test_redact_waits_out_one_rate_limit_and_reports_errors_without_raising(fake_slack):
    client = WebClient(token="xoxb-test-token-1234", base_url=fake_slack.url)
    posted = [(r["channel"], r["ts"]) for r in (
        client.chat_postMessage(channel=QUEUE, text=f"Brief: Jon Doe, Acme {i}") for i in range(4))]
    client.chat_update(channel=posted[3][0], ts=posted[3][1], text="x")  # fine; then pretend it was deleted:
    del fake_slack.messages[posted[3]]
    waits: list[float] = []
    fake_slack.rate_limit("chat.update", times=1, retry_after=3)
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    errors = redact_posted(client, posted[:1], now, sleep=waits.append)
    assert errors == [] and waits == [3.0]
    assert fake_slack.messages[posted[0]]["text"] == "Lead data removed on request (2026-11-23)."
    # A second 429 on the same message is not waited out again; other messages still get their turn.
    fake_slack.rate_limit("chat.update", times=2, retry_after=1)
    fake_slack.fail("chat.update", "channel_not_found")
    errors = redact_posted(client, posted[1:], now, sleep=waits.append)
    assert errors == [f"{posted[1][0]} {posted[1][1]}: ratelimited", f"{posted[2][0]} {posted[2][1]}: channel_not_found"]
    assert waits == [3.0, 1.0]
    assert "Jon" in fake_slack.messages[posted[1]]["text"]
    # A message already deleted in Slack leaves nothing to redact.
    assert redact_posted(client, posted[3:], now, sleep=waits.append) == []


# --- purge ----------------------------------------------------------------------------------------------------


def test_purge_deletes_only_activities_older_than_the_retention_and_is_audited(services, rules, run, tmp_path):
    now = datetime.now(UTC)
    ev = Events(now=now, prefix=f"r{now.timestamp():.6f}")
    ingest(services.sessions, parsed([
        ev.upsert(JON, d(days=50), first_name="Jon"),
        ev.visit(JON, "https://ourco.example/old", d(days=40)),
        ev.visit(KIM, "https://ourco.example/old", d(days=31)),
        ev.visit(JON, "https://ourco.example/new", d(days=29)),
        ev.visit(KIM, "https://ourco.example/new", d(days=1)),
    ]), rules, now)
    config = tmp_path / "leadbrief.toml"
    config.write_text("[privacy]\nretention_days = 30\n")

    proc = run("purge", "--dry-run", env={"LEADBRIEF_CONFIG": str(config)}, check_rc=0)
    assert "would delete 2 activities" in proc.stdout
    with services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Activity)) == 4
        assert audit.entries(s) == []

    proc = run("purge", env={"LEADBRIEF_CONFIG": str(config)}, check_rc=0)
    assert "deleted 2 activities" in proc.stdout and "retention 30 days" in proc.stdout
    with services.sessions() as s:
        left = s.scalars(select(Activity.url).order_by(Activity.url)).all()
        assert left == ["https://ourco.example/new", "https://ourco.example/new"]
        assert s.scalar(select(func.count()).select_from(Lead)) == 2
        (entry,) = audit.entries(s)
    assert entry.action == "purge" and entry.actor.startswith("cli:") and entry.lead_ref is None
    assert entry.detail.startswith("deleted 2 activities older than ") and "(30 days)" in entry.detail


def test_purge_without_a_retention_setting_is_a_clear_error(services, run):
    proc = run("purge")
    assert proc.returncode == 2
    assert "[privacy] retention_days" in proc.stderr


# --- the audit log --------------------------------------------------------------------------------------------


def test_audit_cli_filters_by_lead_and_user_and_prints_csv(services, rules, run):
    now = datetime.now(UTC)
    seed(services, rules, now)
    with services.sessions.begin() as s:
        audit.record(s, actor="U0JANE", action="note", at=now - d(minutes=1), lead_ref=JON, detail="=HYPERLINK(1)")

    proc = run("audit", "--lead", JON.upper(), "--format", "csv", check_rc=0)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["actor"], r["action"]) for r in rows] == [("U0JANE", "note"), ("U0OMAR", "claim"),
                                                         ("U0JANE", "lookup")]
    assert {r["lead_ref"] for r in rows} == {JON}
    assert rows[0]["detail"] == "'=HYPERLINK(1)"  # not a formula in a spreadsheet
    assert rows[0]["at"].endswith("Z")

    proc = run("audit", "--user", "U0OMAR", check_rc=0)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 and all("U0OMAR  claim" in line for line in lines)
    assert {JON, KIM} == {line.split("  ")[3] for line in lines}

    proc = run("audit", "--user", "U0JANE", "--lead", KIM, check_rc=0)
    assert len(proc.stdout.strip().splitlines()) == 1 and "lookup" in proc.stdout

    proc = run("audit", "--limit", "2", "--format", "csv", check_rc=0)
    assert len(list(csv.DictReader(io.StringIO(proc.stdout)))) == 2

    run("forget", JON, "--yes", check_rc=0)
    proc = run("audit", "--lead", JON, "--format", "csv", check_rc=0)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows[0]["action"] == "forget" and len(rows) == 4
    assert {r["lead_ref"] for r in rows} == {audit.forgotten_ref(JON)}
    assert "jon.doe" not in proc.stdout


def test_record_normalises_clips_and_needs_an_aware_time(services):
    now = datetime.now(UTC)
    with services.sessions.begin() as s:
        audit.record(s, actor="U0JANE", action="lookup", at=now, lead_ref="  Jon.Doe@Acme.Example ",
                     detail="x" * 900)
        audit.record(s, actor="U0JANE", action="search", at=now + d(seconds=1))
    with pytest.raises(ValueError):
        audit.record(services.sessions(), actor="U0JANE", action="lookup", at=datetime(2026, 1, 1))
    with services.sessions() as s:
        newest, older = audit.entries(s, actor="U0JANE")
        assert newest.action == "search" and older.lead_ref == JON
        assert len(older.detail) == 500 and older.detail.endswith("…")
        assert audit.entries(s, lead_ref=JON) == [older]
        assert audit.entries(s, actor="U0JANE", limit=1) == [newest]
        assert audit.entries(s, actor="U0OMAR") == []
    assert audit.forgotten_ref(" JON.DOE@acme.example") == audit.forgotten_ref(JON)
    assert audit.forgotten_ref(JON).startswith("forgotten:") and len(audit.forgotten_ref(JON)) == 26


def test_forget_also_redacts_the_notes_posted_in_the_briefs_thread(http, slack_server, fake_slack, run):
    from tests.e2e.test_slack import events_now, hand_raiser, send_webhook, slash, wait_brief_recorded

    send_webhook(http, slack_server, hand_raiser(events_now()))
    fake_slack.wait_for("chat.postMessage")
    wait_brief_recorded(slack_server)
    slash(http, slack_server, fake_slack, "note sam@globex.example Met Sam at the expo", name="note")
    fake_slack.wait_for_responses("note")
    assert fake_slack.wait_for("chat.postMessage", 2)[1]["thread_ts"]
    assert any("expo" in message_text(m) for m in fake_slack.messages.values())

    proc = run("forget", "sam@globex.example", "--yes", env=slack_env(fake_slack), check_rc=0)
    assert "redacted 2 of 2" in proc.stdout, proc.stdout + proc.stderr
    left = " ".join(message_text(m) for m in fake_slack.messages.values())
    assert "expo" not in left and "Sam" not in left and "Globex" not in left


def test_a_brief_read_in_the_terminal_is_audited_as_a_lookup(services, rules, run):
    seed(services, rules, datetime.now(UTC))
    run("brief", JON, check_rc=0)
    with services.sessions() as s:
        (entry,) = [e for e in audit.entries(s, lead_ref=JON) if e.actor.startswith("cli:")]
    assert entry.action == "lookup" and entry.lead_id == lead_id(services, JON)


# --- erasure leaves nothing in the database -------------------------------------------------------------------

PRIYA = "priya.ramanathan@zephyrine.example"
# What must not survive `forget` anywhere in the database: her address, name, company, form comment and note.
PRIYA_WORDS = (PRIYA, "priya", "ramanathan", "zephyrine", "soc 2 letter", "lisbon")


def priya_history(ev: Events) -> list[dict]:
    """A hand-raiser whose event ids quote her address, as the contract allows (some senders key events so)."""
    upper = PRIYA.upper()
    events = [
        ev.upsert(PRIYA, d(days=2), first_name="Priya", last_name="Ramanathan", company="Zephyrine Labs",
                  title="VP Engineering", owner_email="jane@ourco.example"),
        ev.visit(PRIYA, "https://ourco.example/pricing", d(days=1)),
        ev.form(PRIYA, "Contact Sales", "We need the SOC 2 letter before our board meets."),
    ]
    for e, key in zip(events, (f"crm:{PRIYA}:profile", f"web:{upper}:pricing", f"form-{PRIYA}-contact"), strict=True):
        e["id"] = key
    return events


def segment_history(now: datetime) -> list[dict]:
    """The same lead through Segment, whose message ids quote her address too."""
    when = (now - d(minutes=30)).isoformat().replace("+00:00", "Z")
    return [
        {"type": "identify", "messageId": f"identify-{PRIYA}", "timestamp": when,
         "traits": {"email": PRIYA, "firstName": "Priya", "lastName": "Ramanathan", "company": "Zephyrine Labs"}},
        {"type": "track", "event": "Webinar Attended", "messageId": f"webinar-{PRIYA}-2026", "timestamp": when,
         "context": {"traits": {"email": PRIYA}}, "properties": {"webinar_name": "Zero-trust for Zephyrine"}},
    ]


def post_segment(http, server, messages: list[dict]) -> dict:
    import hashlib
    import hmac

    from tests.e2e.test_source_segment import SEGMENT_SECRET

    body = json.dumps({"batch": messages}).encode()
    signature = hmac.new(SEGMENT_SECRET.encode(), body, hashlib.sha1).hexdigest()
    r = http.post(f"{server.url}/webhooks/segment", content=body,
                  headers={"Content-Type": "application/json", "X-Signature": signature})
    assert r.status_code == 202, r.text
    return r.json()


def database_dump(db_url: str) -> str:
    """Everything the database holds, as text: SQLite's .dump, or pg_dump of the test's schema."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.database)
        try:
            return "\n".join(conn.iterdump())
        finally:
            conn.close()
    import shutil
    import subprocess

    schema = url.query["options"].removeprefix("-csearch_path=")
    pg_dump = shutil.which("pg_dump") or "/usr/lib/postgresql/15/bin/pg_dump"
    env = {"PGPASSWORD": url.password or "", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([pg_dump, "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username,
                           "-d", url.database, "-n", schema, "--no-owner"],
                          capture_output=True, text=True, env=env, timeout=60, check=True)
    assert "CREATE TABLE" in proc.stdout and "processed_events" in proc.stdout
    return proc.stdout


@pytest.fixture
def segment_slack_server(slack_settings):
    from handlers.sources import segment
    from tests.e2e.test_source_segment import SEGMENT_SECRET
    from tests.support.live import LiveServer

    with LiveServer(segment.CONFIG.configure(slack_settings, secret=SEGMENT_SECRET)) as server:
        yield server


def test_after_forget_a_dump_of_the_whole_database_holds_no_trace_of_the_lead(
        http, segment_slack_server, fake_slack, run, db_url):
    from tests.e2e.test_slack import send_webhook, slash

    server = segment_slack_server
    now = datetime.now(UTC)
    ev = Events(now=now, prefix=f"x{now.timestamp():.6f}")
    assert send_webhook(http, server, priya_history(ev))["qualified"] == 1
    assert post_segment(http, server, segment_history(now))["accepted"] == 2
    fake_slack.wait_for("chat.postMessage")  # the brief is posted
    slash(http, server, fake_slack, f"note {PRIYA} Met Priya at the Lisbon summit", name="note")
    fake_slack.wait_for_responses("note")
    slash(http, server, fake_slack, PRIYA.upper(), name="lookup")  # audited with her address
    fake_slack.wait_for_responses("lookup")
    # Another lead stays: the dump is not simply empty.
    send_webhook(http, server, [ev.upsert(KIM, d(days=1), first_name="Kim", company="Hooli")])
    before = database_dump(db_url).lower()
    assert all(word in before for word in PRIYA_WORDS), [w for w in PRIYA_WORDS if w not in before]

    proc = run("forget", PRIYA, "--yes", env=slack_env(fake_slack), check_rc=0)
    assert "redacted" in proc.stdout, proc.stdout + proc.stderr

    after = database_dump(db_url).lower()
    left = {word: after.count(word) for word in PRIYA_WORDS if word in after}
    assert not left, left
    assert "kim@hooli.example" in after and "forgotten:" in after


def test_a_redelivery_after_forget_creates_the_lead_anew(http, live_server, run):
    from tests.e2e.test_slack import send_webhook

    now = datetime.now(UTC)
    events = priya_history(Events(now=now, prefix="r"))
    events.append(Events(now=now, prefix=f"other-{now.timestamp()}").note(PRIYA, "Mia", "Met her at the expo"))
    assert send_webhook(http, live_server, events) == {"accepted": 4, "duplicates": 0, "qualified": 1}
    assert send_webhook(http, live_server, events)["duplicates"] == 4

    run("forget", PRIYA, "--yes", check_rc=0, env={"LEADBRIEF_WEBHOOK_SECRET": SECRET})
    assert lead_id(live_server.services, PRIYA) is None

    again = send_webhook(http, live_server, events)
    assert again["accepted"] == 4 and again["duplicates"] == 0, again
    with live_server.services.sessions() as s:
        lead = queries.find_lead(s, PRIYA)
        assert lead is not None and lead.company == "Zephyrine Labs"
        assert s.scalar(select(func.count()).select_from(Activity).where(Activity.lead_id == lead.id)) == 2


def test_forget_removes_old_idempotency_records_that_quote_the_email(services, rules):
    """Records from before 0012 carry no lead_id; one whose id quotes the address goes too, in any case."""
    now = datetime.now(UTC)
    ingest(services.sessions, parsed(priya_history(Events(now=now))), rules, now)
    with services.sessions.begin() as s:
        for source, event_id in (("api", f"legacy:{PRIYA.upper()}:1"), ("slack", "Ev0LEGACY")):
            s.add(ProcessedEvent(source=source, event_id=event_id, type="lead.upsert", occurred_at=now,
                                 received_at=now))
    with services.sessions.begin() as s:
        found = privacy.forget(s, PRIYA, "cli:test", now)
    assert found.processed_events == 4
    with services.sessions() as s:
        assert s.scalars(select(ProcessedEvent.event_id)).all() == ["Ev0LEGACY"]
