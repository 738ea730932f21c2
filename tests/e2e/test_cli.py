"""The `leadbrief` command, run as a user runs it: a real process, real files, a real database."""

import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from storage import db
from storage.models import Delivery
from tests.support.factories import Events, downloads_and_pricing_views, researcher_history
from tests.support.live import COMMAND, free_port, wait_for
from tests.support.signing import SECRET, signed_headers


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def now_events():
    return Events(now=datetime.now(UTC), prefix=f"cli{time.time_ns()}")


def test_ingest_counts_and_names_rejected_lines(run, tmp_path):
    events = researcher_history(now_events())
    lines = events[:2] + [{**events[2], "email": "broken"}] + events[3:5] + ['{"type": "activity", oops'] + events[5:]
    f = write_jsonl(tmp_path / "events.jsonl", lines)
    first = run("ingest", str(f), check_rc=1)
    assert "accepted 8, duplicates 0, rejected 2" in first.stdout
    assert "rejected line 3: email: is not an email address" in first.stderr
    assert "rejected line 6: (line): not valid JSON" in first.stderr
    again = run("ingest", str(f), check_rc=1)
    assert "accepted 0, duplicates 8, rejected 2" in again.stdout


def test_ingest_json_array_reports_the_line_of_a_bad_element(run, tmp_path):
    events = researcher_history(now_events())
    events[4]["kind"] = "telepathy"
    f = tmp_path / "events.json"
    f.write_text(json.dumps(events, indent=2), encoding="utf-8")
    text = f.read_text().splitlines()
    bad_line = next(i for i, line in enumerate(text, 1) if f'"id": "{events[4]["id"]}"' in line) - 2
    proc = run("ingest", str(f), check_rc=1)
    assert "accepted 8, duplicates 0, rejected 1" in proc.stdout
    assert f"rejected line {bad_line}: kind: got 'telepathy'" in proc.stderr


def test_brief_counts_touches_by_the_rule(run, tmp_path):
    """Issue 14's example through `leadbrief brief`: 300 recent downloads and 100 older pricing-page views,
    10 a day over 10 days, are 310 touches."""
    events = downloads_and_pricing_views(now_events(), "many@touches.example")
    run("ingest", str(write_jsonl(tmp_path / "events.jsonl", events)), check_rc=0)
    text = run("brief", "many@touches.example", check_rc=0).stdout
    assert "310 touches in" in text and "400 touches" not in text


def test_ingest_clean_file_exits_zero_and_brief_prints_it(run, tmp_path):
    f = tmp_path / "events.json"
    f.write_text(json.dumps({"events": researcher_history(now_events())}, indent=1), encoding="utf-8")
    proc = run("ingest", str(f), check_rc=0)
    assert "accepted 9, duplicates 0, rejected 0, new qualified leads 1" in proc.stdout
    text = run("brief", "JON.DOE@acme.example", check_rc=0).stdout
    assert text.startswith("🔥 Jon Doe · Director of Operations, Acme Widgets")
    assert "I saw you downloaded “The Lifecycle of a Widget” and “10 Tips for Improving your Widget" in text
    blocks = json.loads(run("brief", "jon.doe@acme.example", "--format", "blocks", check_rc=0).stdout)
    assert blocks["blocks"][0]["type"] == "header" and "Jon Doe" in blocks["text"]
    missing = run("brief", "nobody@acme.example", check_rc=1)
    assert "no lead with email 'nobody@acme.example'" in missing.stderr


def test_ingest_missing_file_is_a_clear_error(run, tmp_path):
    proc = run("ingest", str(tmp_path / "nope.jsonl"), check_rc=1)
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_prints_the_sample_briefs(run, tmp_path):
    proc = run("demo", check_rc=0)
    out = proc.stdout
    for name in ("Jon Doe", "Sam Rivera", "Dana Kim", "Lee Chen", "Klaus Brandt", "Helen Brandt"):
        assert name in out
    assert "I saw you downloaded “The Lifecycle of a Widget”" in out
    assert "Pat Lee at Initech referred me" in out
    assert "⚠️ Unhappy customer (NPS 3, detractor)" in out
    assert "quiet for 7 months" in out
    # Each brief whole under its own header, in the order they qualified (issue 17).
    heads = [line for line in out.splitlines() if "Brief " in line and " of 6" in line]
    assert [h.split("Brief ")[1][:6] for h in heads] == [f"{i} of 6" for i in range(1, 7)]
    order = ("Sam Rivera", "Klaus Brandt", "Dana Kim", "Jon Doe", "Helen Brandt", "Lee Chen")
    for head, name in zip(heads, order, strict=True):
        assert name in head
    # Issue 17: the forwarded German form gives facts and a German opener; issue 19: the renewal at risk goes
    # to the CSM, and the owner's copy is printed beside it without a number.
    assert "🇩🇪 Wrote in German: call in German" in out and "Guten Tag Herr Brandt" in out
    assert "Ursprüngliche Nachricht" not in out and "Hafenstraße" not in out and "&auml;" not in out
    assert "Current tool: contract ends 31 Mar 2027" in out
    assert "⚠️ Renewal at risk. Renews" in out and "Copy for the owner" in out
    for i, head in enumerate(heads):
        body = out.split(head, 1)[1].split(heads[i + 1], 1)[0] if i + 1 < len(heads) else out.split(head, 1)[1]
        assert "Why now." in body and "Talk track" in body
    assert "Notes from marketing" in out and "Mia, marketing (yesterday)" in out
    # The demo does not touch the configured database.
    assert "accepted 0" not in out
    export = run("demo", "--export", str(tmp_path / "sample.jsonl"), check_rc=0)
    assert "wrote 31 sample events" in export.stdout
    assert run("ingest", str(tmp_path / "sample.jsonl"), check_rc=0).stdout.startswith("accepted 31")


def test_db_upgrade_and_current(run, tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    assert run("db", "current", env=env, check_rc=1).stdout.startswith("database at revision none")
    assert f"database at revision {db.head_revision()} (was empty)" in run("db", "upgrade", env=env, check_rc=0).stdout
    assert "already current" in run("db", "upgrade", env=env, check_rc=0).stdout


@pytest.mark.parametrize("env,expected", [
    ({"PORT": "abc"}, "PORT='abc' is not a whole number (expected 1-65535)"),
    ({"PORT": "70000"}, "PORT=70000 is out of range"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL uses 'mysql'"),
    ({"DATABASE_URL": "::::"}, "DATABASE_URL is not a database URL"),
    ({"LEADBRIEF_CONFIG": "/nonexistent/leadbrief.toml"}, "LEADBRIEF_CONFIG='/nonexistent/leadbrief.toml': no such file"),
    ({"LEADBRIEF_WEBHOOK_SECRET": "short"}, "LEADBRIEF_WEBHOOK_SECRET is too short"),
    ({}, "LEADBRIEF_WEBHOOK_SECRET is not set"),
    ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN does not look like a bot token"),
])
def test_bad_settings_stop_startup_with_one_clear_line(run, env, expected):
    proc = run("serve", env=env, check_rc=2)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert "xoxp-user-token" not in proc.stderr


def test_bad_rules_file_names_the_setting(run, tmp_path):
    cfg = tmp_path / "rules.toml"
    cfg.write_text("[qualification]\nscore_threshold = 'high'\n")
    proc = run("brief", "a@b.example", env={"LEADBRIEF_CONFIG": str(cfg)}, check_rc=2)
    assert "qualification.score_threshold: expected a whole number, got 'high'" in proc.stderr
    cfg.write_text("[qualification\n")
    assert "not valid TOML" in run("brief", "a@b.example", env={"LEADBRIEF_CONFIG": str(cfg)}, check_rc=2).stderr


def test_rules_file_and_dotenv_are_read_from_the_working_directory(run, tmp_path):
    (tmp_path / "leadbrief.toml").write_text('[qualification]\nhand_raiser_forms = ["Get a callback"]\n')
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'dotenv.db'}\n")
    ev = now_events()
    f = write_jsonl(tmp_path / "e.jsonl", [ev.form("x@y.example", "Get a Callback", "ring me")])
    proc = run("ingest", str(f), env={"DATABASE_URL": None}, check_rc=0)
    assert "new qualified leads 1" in proc.stdout
    assert (tmp_path / "dotenv.db").exists()


def test_serve_prints_new_briefs_without_slack(db_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBRIEF_", "SLACK_"))}
    env.update({"DATABASE_URL": db_url, "LEADBRIEF_WEBHOOK_SECRET": SECRET, "COLUMNS": "120"})
    proc = subprocess.Popen([*COMMAND, "serve", "--port", str(port), "--host", "127.0.0.1"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def up():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return proc.poll() is not None and pytest.fail("serve exited early")
        wait_for(up, timeout=20)
        ev = now_events()
        body = json.dumps({"events": [
            ev.upsert("sam@globex.example", timedelta(days=1), first_name="Sam", last_name="Rivera", company="Globex"),
            ev.form("sam@globex.example", "Contact Sales",
                    "Pat Lee at Initech referred me. We need a widget solution for 40 plants and must go live this quarter."),
        ]}).encode()
        r = httpx.post(f"http://127.0.0.1:{port}/webhooks/events", content=body, headers=signed_headers(body), timeout=10)
        assert r.status_code == 202 and r.json()["qualified"] == 1
        # The brief is printed, then recorded as sent.
        engine = db.make_engine(db_url)

        def sent():
            with engine.connect() as c:
                return c.scalar(select(Delivery.status)) == "sent"
        wait_for(sent, timeout=20)
        engine.dispose()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert "Slack is not configured" in out and "new briefs are printed here" in out
    assert "🙋 Sam Rivera · Globex" in out
    assert "Referral: “Pat Lee at Initech referred me”" in out
    assert SECRET not in out


def test_outbox_lists_and_retries_and_worker_delivers(run, db_url, tmp_path):
    from sqlalchemy import update

    from storage.db import make_engine
    from storage.models import Delivery

    ev = now_events()
    f = write_jsonl(tmp_path / "e.jsonl", [ev.form("w@x.example", "Contact Sales", "ring me")])
    run("ingest", str(f), check_rc=0)
    listing = run("outbox", check_rc=0).stdout
    assert "pending: 1" in listing and "#1 pending" in listing
    engine = make_engine(db_url)
    with engine.begin() as c:
        c.execute(update(Delivery).values(status="failed", last_error="Slack refused the post: invalid_blocks"))
    engine.dispose()
    assert "error: Slack refused the post: invalid_blocks" in run("outbox", "--status", "failed", check_rc=0).stdout
    assert "1 failed delivery queued again" in run("outbox", "retry", "1", check_rc=0).stdout
    assert run("outbox", "retry", "1", check_rc=1).stdout.startswith("0 failed deliveries")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBRIEF_", "SLACK_"))}
    env.update({"DATABASE_URL": db_url, "COLUMNS": "120"})
    proc = subprocess.Popen([*COMMAND, "worker", "--poll", "0.2"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def delivered():
            return "sent: 1" in run("outbox", check_rc=0).stdout
        wait_for(delivered, timeout=20, interval=0.3)
    finally:
        proc.terminate()
        out, _err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "Form “Contact Sales”" not in out and "ring me" in out


DEEP = 5_000  # far past Python's recursion limit


@pytest.mark.parametrize("deep", ["[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP, "[" * DEEP])
def test_ingest_names_a_deeply_nested_line_and_keeps_the_others(run, tmp_path, deep):
    events = researcher_history(now_events())
    # Within what pydantic's own parser takes (the fast path), past our bound.
    nested = {**events[1], "properties": json.loads('{"a":' * 100 + "1" + "}" * 100)}
    f = write_jsonl(tmp_path / "events.jsonl", [events[0], deep, nested, *events[2:]])
    proc = run("ingest", str(f), check_rc=1)
    assert "accepted 8, duplicates 0, rejected 2" in proc.stdout, proc.stdout + proc.stderr
    for line in (2, 3):
        assert f"rejected line {line}: (line): not valid JSON: nested deeper than 64 levels" in proc.stderr
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr


def test_ingest_of_a_deeply_nested_json_array_is_a_clear_error(run, tmp_path):
    events = researcher_history(now_events())
    f = tmp_path / "events.json"
    f.write_text(json.dumps(events)[:-1] + ", " + "[" * DEEP + "]" * DEEP + "]", encoding="utf-8")
    proc = run("ingest", str(f))
    assert proc.returncode != 0
    assert "nested deeper than 64 levels" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr


def test_events_ingested_by_the_cli_are_tied_to_their_leads(run, tmp_path, db_url):
    from sqlalchemy import create_engine, text

    events = researcher_history(now_events())
    run("ingest", str(write_jsonl(tmp_path / "events.jsonl", events)), check_rc=0)
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            rows = c.execute(text("SELECT p.event_id, l.email FROM processed_events p "
                                  "LEFT JOIN leads l ON l.id = p.lead_id")).all()
    finally:
        engine.dispose()
    assert dict(rows) == {e["id"]: "jon.doe@acme.example" for e in events}
