"""Ingest throughput benchmark (not a test).

(a) `leadbrief ingest FILE --quiet` in-process on a fresh SQLite file;
(b) the raw sqlite3 baseline over the same file in the same run: json.loads and executemany of the rows (a)
    stores, into the same migrated tables, one commit per 1,000 lines (the target: (a) >= 0.5x (b));
(b') for reference, the stricter baseline of earlier runs: activities only, into one table;
(c) POST /webhooks/events on `leadbrief serve` in its own process, signed batches from concurrent httpx clients.
With --postgres URL, (a) and (c) also run against PostgreSQL (plus a raw psycopg baseline), each in a schema
of its own that is dropped afterwards.

    .venv/bin/python benchmarks/ingest.py [--events 100000] [--leads 5000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import queue
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot import app as _bot_app  # noqa: F401 - imported here so the timed CLI run pays no import cost
from bot import cli
from handlers import files as _files  # noqa: F401 - same
from handlers.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from storage import db

SECRET = "x" * 32
COMMIT_EVERY = 1000
MAX_ATTEMPTS = 5  # (c) resends a batch answered 503 (nothing stored) up to this many times in all  # our CLI commits one transaction per MAX_BATCH (1,000) events

PAGES = [
    "https://www.example.com/",
    "https://www.example.com/pricing",
    "https://www.example.com/product",
    "https://www.example.com/product/integrations",
    "https://www.example.com/compare/acme-vs-globex",
    "https://www.example.com/case-studies/northwind",
    "https://www.example.com/docs/getting-started",
    "https://www.example.com/docs/api",
    "https://www.example.com/security",
    "https://www.example.com/careers",
] + [f"https://www.example.com/blog/post-{i}" for i in range(40)]
ASSET_TYPES = ("whitepaper", "ebook", "case_study", "report", "checklist")
TOPICS = ("security", "onboarding", "pricing", "integrations", "analytics", "compliance")
ASSETS = [
    {
        "title": f"The {TOPICS[i % len(TOPICS)]} guide, part {i}",
        "url": f"https://www.example.com/resources/asset-{i}.pdf",
        "type": ASSET_TYPES[i % len(ASSET_TYPES)],
        "topic": TOPICS[i % len(TOPICS)],
    }
    for i in range(60)
]
CAMPAIGNS = [(f"Q{i % 4 + 1} nurture {i}", f"Subject line number {i}: what teams like yours do next") for i in range(30)]
STAGES = ("subscriber", "lead", "lead", "lead", "mql")
FIRST = ("Ana", "Jon", "Mei", "Olu", "Sam", "Ravi", "Lena", "Tom", "Zoë", "Kai")
LAST = ("Doe", "Nguyen", "Okafor", "Smith", "Müller", "García", "Kowalski", "Tanaka")
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell")
# activity kind, weight
KINDS = (("web_visit", 50), ("content_download", 15), ("email_open", 25), ("email_click", 10))


def make_events(n: int, leads: int, upsert_share: float, seed: int = 1) -> list[dict]:
    rnd = random.Random(seed)
    emails = [f"lead{i:05d}@company{i % 700}.example" for i in range(leads)]
    kinds = [k for k, _w in KINDS]
    weights = [w for _k, w in KINDS]
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=60)
    step = (now - start - timedelta(hours=1)) / max(n, 1)
    out = []
    for i in range(n):
        at = (start + step * i).isoformat().replace("+00:00", "Z")
        source = ("hubspot", "marketo", "web")[i % 3]
        email = emails[rnd.randrange(leads)]
        if rnd.random() < upsert_share:
            out.append({
                "type": "lead.upsert", "id": f"u-{i:08d}", "source": source, "occurred_at": at,
                "lead": {
                    "email": email, "first_name": rnd.choice(FIRST), "last_name": rnd.choice(LAST),
                    "company": rnd.choice(COMPANIES), "title": "Head of Operations",
                    "score": rnd.randrange(0, 121), "lifecycle_stage": rnd.choice(STAGES),
                },
            })
            continue
        kind = rnd.choices(kinds, weights)[0]
        e: dict = {"type": "activity", "id": f"a-{i:08d}", "source": source, "occurred_at": at,
                   "email": email, "kind": kind}
        if kind == "web_visit":
            e["url"] = rnd.choice(PAGES)
            if rnd.random() < 0.3:
                e["properties"] = {"utm_source": "newsletter", "utm_campaign": rnd.choice(CAMPAIGNS)[0]}
        elif kind == "content_download":
            e["asset"] = rnd.choice(ASSETS)
        else:
            campaign, subject = rnd.choice(CAMPAIGNS)
            e["campaign"], e["subject"] = campaign, subject
            if kind == "email_click":
                e["url"] = rnd.choice(PAGES)
        out.append(e)
    return out


def write_jsonl(events: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")


# -- (a) the CLI path ---------------------------------------------------------------------------


def run_cli(file: Path, database_url: str, workdir: Path) -> tuple[float, float]:
    """Wall and process CPU seconds of `leadbrief ingest FILE --quiet`."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["LEADBRIEF_CONFIG"] = ""
    # cwd = an empty folder, so no stray leadbrief.toml or .env is picked up.
    # The generated events in this process are not the CLI's: keep them out of its garbage collections.
    gc.collect()
    gc.freeze()
    with _common.chdir(workdir):
        c0, t0 = time.process_time(), time.perf_counter()
        rc = cli.main(["ingest", str(file), "--quiet"])
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if rc != 0:
        raise SystemExit(f"leadbrief ingest exited {rc}")
    return elapsed, cpu


def count_rows(database_url: str) -> dict[str, int]:
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("activities", "leads", "processed_events", "qualifications", "deliveries")
            }
    finally:
        engine.dispose()


# -- (b) the raw baselines ----------------------------------------------------------------------

RAW_COLUMNS = ("lead_id", "kind", "occurred_at", "asset_id", "campaign", "subject", "url", "form", "comments",
               "properties", "source", "source_event_id", "received_at")
RAW_SQLITE_DDL = """
CREATE TABLE activities (
    id INTEGER NOT NULL PRIMARY KEY,
    lead_id INTEGER NOT NULL,
    kind VARCHAR(32) NOT NULL,
    occurred_at DATETIME NOT NULL,
    asset_id INTEGER,
    campaign VARCHAR(300),
    subject VARCHAR(500),
    url VARCHAR(2000),
    form VARCHAR(300),
    comments TEXT,
    properties JSON,
    source VARCHAR(64) NOT NULL,
    source_event_id VARCHAR(200) NOT NULL,
    received_at DATETIME NOT NULL,
    CONSTRAINT uq_activities_source_source_event_id UNIQUE (source, source_event_id)
);
CREATE INDEX ix_activities_lead_id_occurred_at ON activities (lead_id, occurred_at);
"""
RAW_PG_DDL = """
CREATE TABLE raw_activities (
    id BIGSERIAL PRIMARY KEY,
    lead_id BIGINT NOT NULL,
    kind VARCHAR(32) NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    asset_id BIGINT,
    campaign VARCHAR(300),
    subject VARCHAR(500),
    url VARCHAR(2000),
    form VARCHAR(300),
    comments TEXT,
    properties JSONB,
    source VARCHAR(64) NOT NULL,
    source_event_id VARCHAR(200) NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    UNIQUE (source, source_event_id)
);
CREATE INDEX ON raw_activities (lead_id, occurred_at);
"""


def _raw_rows(file: Path, *, as_text: bool):
    """Yield one tuple per activity line (lead and asset ids from in-memory maps); None for other lines."""
    lead_ids: dict[str, int] = {}
    asset_ids: dict[str, int] = {}
    now = datetime.now(UTC)
    received = now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if as_text else now
    with file.open("rb") as f:
        for line in f:
            e = json.loads(line)
            if e.get("type") != "activity":
                yield None
                continue
            lead_id = lead_ids.setdefault(e["email"].strip().lower(), len(lead_ids) + 1)
            asset = e.get("asset")
            asset_id = asset_ids.setdefault(asset.get("url") or asset.get("title"), len(asset_ids) + 1) if asset else None
            at = datetime.fromisoformat(e["occurred_at"]).astimezone(UTC)
            if as_text:
                at = at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            props = e.get("properties")
            yield (lead_id, e["kind"], at, asset_id, e.get("campaign"), e.get("subject"), e.get("url"), e.get("form"),
                   e.get("comments"), json.dumps(props) if props is not None else None, e.get("source", "api"),
                   e["id"], received)


def run_raw_sqlite(file: Path, path: Path) -> tuple[float, float, int]:
    c0, t0 = time.process_time(), time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # the same pragmas as storage.db.make_engine
    conn.executescript(RAW_SQLITE_DDL)
    sql = (f"INSERT INTO activities ({', '.join(RAW_COLUMNS)}) VALUES ({', '.join('?' * len(RAW_COLUMNS))}) "
           "ON CONFLICT (source, source_event_id) DO NOTHING")
    batch = []
    for lines, row in enumerate(_raw_rows(file, as_text=True), start=1):
        if row is not None:
            batch.append(row)
        if lines % COMMIT_EVERY == 0:
            conn.executemany(sql, batch)
            conn.commit()
            batch.clear()
    conn.executemany(sql, batch)
    conn.commit()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = conn.execute("SELECT count(*) FROM activities").fetchone()[0]
    conn.close()
    return elapsed, cpu, rows


def run_raw_sqlite_same_rows(file: Path, path: Path) -> tuple[float, float, dict[str, int]]:
    """The target's baseline: raw sqlite3 executemany of the rows `leadbrief ingest` stores (one
    processed_events row per event, one activities row per activity, one leads row per lead, one
    content_assets row per asset) into the same tables and indexes (schema migrated before timing).
    No validation, deduplication, lead merging or qualification: only json.loads and the inserts."""
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    c0, t0 = time.process_time(), time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # the same pragmas as storage.db.make_engine

    def stamp(value: str) -> str:
        return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    received = stamp(datetime.now(UTC).isoformat())
    lead_ids: dict[str, int] = {}
    asset_ids: dict[str, int] = {}
    leads, assets, claims, acts = [], [], [], []
    sql = {
        "leads": "INSERT INTO leads (id, email, first_name, last_name, company, title, score, lifecycle_stage, "
                 "is_customer, search_text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        "assets": "INSERT INTO content_assets (id, key, title, url, type, topic) VALUES (?, ?, ?, ?, ?, ?)",
        "claims": "INSERT INTO processed_events (source, event_id, type, occurred_at, received_at) VALUES (?, ?, ?, ?, ?)",
        "acts": (f"INSERT INTO activities ({', '.join(RAW_COLUMNS)}) VALUES ({', '.join('?' * len(RAW_COLUMNS))}) "
                 "ON CONFLICT (source, source_event_id) DO NOTHING"),
    }

    def flush() -> None:
        for name, rows in (("leads", leads), ("assets", assets), ("claims", claims), ("acts", acts)):
            conn.executemany(sql[name], rows)
            rows.clear()
        conn.commit()

    with file.open("rb") as f:
        for lines, line in enumerate(f, start=1):
            e = json.loads(line)
            at = stamp(e["occurred_at"])
            source = e.get("source", "api")
            claims.append((source, e["id"], e["type"], at, received))
            fields = e["lead"] if e["type"] == "lead.upsert" else {"email": e["email"]}
            email = fields["email"].strip().lower()
            lead_id = lead_ids.get(email)
            if lead_id is None:
                lead_id = lead_ids[email] = len(lead_ids) + 1
                leads.append((lead_id, email, fields.get("first_name"), fields.get("last_name"), fields.get("company"),
                              fields.get("title"), fields.get("score"), fields.get("lifecycle_stage"), email,
                              received, received))
            if e["type"] == "activity":
                asset = e.get("asset")
                asset_id = None
                if asset:
                    key = asset.get("url") or "title:" + asset.get("title", "")
                    asset_id = asset_ids.get(key)
                    if asset_id is None:
                        asset_id = asset_ids[key] = len(asset_ids) + 1
                        assets.append((asset_id, key, asset.get("title"), asset.get("url"), asset.get("type"),
                                       asset.get("topic")))
                props = e.get("properties")
                acts.append((lead_id, e["kind"], at, asset_id, e.get("campaign"), e.get("subject"), e.get("url"),
                             e.get("form"), e.get("comments"), json.dumps(props) if props is not None else None,
                             source, e["id"], received))
            if lines % COMMIT_EVERY == 0:
                flush()
    flush()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - constant names
              for t in ("processed_events", "activities", "leads", "content_assets")}
    conn.close()
    return elapsed, cpu, counts


def _psycopg_connect(url: str):
    import psycopg

    u = make_url(url)
    kwargs = u.translate_connect_args(username="user", database="dbname")
    kwargs.update({k: v for k, v in u.query.items() if isinstance(v, str)})
    return psycopg.connect(**kwargs)


def run_raw_postgres(file: Path, url: str) -> tuple[float, float, int]:
    c0, t0 = time.process_time(), time.perf_counter()
    with _psycopg_connect(url) as conn:
        conn.execute(RAW_PG_DDL)
        conn.commit()
        sql = (f"INSERT INTO raw_activities ({', '.join(RAW_COLUMNS)}) VALUES ({', '.join(['%s'] * len(RAW_COLUMNS))}) "
               "ON CONFLICT (source, source_event_id) DO NOTHING")
        batch = []
        with conn.cursor() as cur:
            for lines, row in enumerate(_raw_rows(file, as_text=False), start=1):
                if row is not None:
                    batch.append(row)
                if lines % COMMIT_EVERY == 0:
                    cur.executemany(sql, batch)
                    conn.commit()
                    batch.clear()
            cur.executemany(sql, batch)
            conn.commit()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows = conn.execute("SELECT count(*) FROM raw_activities").fetchone()[0]
    return elapsed, cpu, rows


# -- (c) HTTP -----------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (the server runs in its own process)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_http(database_url: str, events: list[dict], batch_size: int, clients: int) -> dict:
    """`leadbrief serve` in its own process, as deployed, so the load generator does not share its GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBRIEF_", "SLACK_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "LEADBRIEF_WEBHOOK_SECRET": SECRET})
    server = subprocess.Popen([str(Path(sys.executable).parent / "leadbrief"), "serve", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("leadbrief serve did not start")
        time.sleep(0.1)

    bodies: queue.Queue[tuple[bytes, int]] = queue.Queue()
    for i in range(0, len(events), batch_size):
        bodies.put((json.dumps({"events": events[i:i + batch_size]}, ensure_ascii=False).encode(), 1))
    requests = bodies.qsize()
    statuses: dict[int, int] = {}
    counted = {"accepted": 0, "duplicates": 0}
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as c:
            while True:
                try:
                    body, attempt = bodies.get_nowait()
                except queue.Empty:
                    return
                ts = str(int(time.time()))
                t = time.perf_counter()
                try:
                    r = c.post("/webhooks/events", content=body, headers={
                        "Content-Type": "application/json", TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET, ts, body),
                    })
                except httpx.HTTPError as exc:
                    with lock:
                        failures.append(repr(exc))
                    continue
                dt = time.perf_counter() - t
                with lock:
                    latencies.append(dt)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    if r.status_code == 202:
                        data = r.json()
                        counted["accepted"] += data["accepted"]
                        counted["duplicates"] += data["duplicates"]
                        continue
                    if len(failures) < 5:
                        failures.append(f"{r.status_code}: {r.text[:200]}")
                if r.status_code == 503 and attempt < MAX_ATTEMPTS:
                    bodies.put((body, attempt + 1))  # nothing was stored: send it again, as a real sender would

    c0, t0 = _cpu_seconds(server.pid), time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - t0, _cpu_seconds(server.pid) - c0
    server.terminate()
    server.wait(30)
    return {
        "elapsed": elapsed, "cpu": cpu, "requests": requests, "statuses": statuses, "failures": failures,
        "stored": counted["accepted"] + counted["duplicates"], **counted,
        "p50": _common.percentile(latencies, 50) if latencies else float("nan"),
        "p95": _common.percentile(latencies, 95) if latencies else float("nan"),
    }


# -- PostgreSQL schemas -------------------------------------------------------------------------


def normalise_pg_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def pg_version(url: str) -> str:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()


# -- main ---------------------------------------------------------------------------------------


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} events/s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=100_000, help="events in the file (default 100000)")
    p.add_argument("--leads", type=int, default=5_000, help="distinct leads (default 5000)")
    p.add_argument("--upsert-share", type=float, default=0.05, help="share of lead.upsert events (default 0.05)")
    p.add_argument("--http-events", type=int, help="events to POST in (c) (default: --events)")
    p.add_argument("--http-batch", type=int, default=500, help="events per request (default 500)")
    p.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default 4)")
    p.add_argument("--postgres", metavar="URL", help="also run (a) and (c) against this PostgreSQL database")
    p.add_argument("--skip-sqlite", action="store_true", help="with --postgres: only the PostgreSQL runs")
    p.add_argument("--skip-http", action="store_true", help="skip (c)")
    p.add_argument("--profile", action="store_true",
                   help="afterwards, profile the SQLite CLI path with cProfile (slower; not written to RESULTS.md)")
    p.add_argument("--no-results", action="store_true", help="print only; do not touch RESULTS.md")
    p.add_argument("--results", type=Path, default=_common.RESULTS, help="results file (default benchmarks/RESULTS.md)")
    args = p.parse_args(argv)
    if args.skip_sqlite and not args.postgres:
        p.error("--skip-sqlite needs --postgres")
    http_n = args.http_events if args.http_events is not None else args.events

    with tempfile.TemporaryDirectory(prefix="leadbrief-bench-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        events = make_events(args.events, args.leads, args.upsert_share)
        file = work / "events.jsonl"
        write_jsonl(events, file)
        upserts = sum(1 for e in events if e["type"] == "lead.upsert")
        size_mb = file.stat().st_size / 1e6
        print(f"generated {file.name}: {args.events:,} events ({upserts:,} lead.upsert) for {args.leads:,} leads, "
              f"{size_mb:.1f} MB, in {time.perf_counter() - t:.1f}s")
        http_events = events[:http_n] if http_n <= len(events) else make_events(http_n, args.leads, args.upsert_share)

        if not args.skip_sqlite:
            lines = sqlite_runs(args, work, file, events, http_events, size_mb)
            if not args.no_results:
                _common.write_section("ingest-sqlite", "Ingest throughput: SQLite", lines, args.results)
        if args.postgres:
            lines = postgres_runs(args, work, file, events, http_events, size_mb)
            if not args.no_results:
                _common.write_section("ingest-postgres", "Ingest throughput: PostgreSQL", lines, args.results)
        if args.profile:
            profile_cli(file, work)
    return 0


TABLE_HEAD = ["| run | wall time | throughput | CPU / wall | notes |", "| --- | ---: | ---: | ---: | --- |"]


def row(name: str, n: int, wall: float, cpu: float, notes: str) -> str:
    return f"| {name} | {wall:.2f} s | {rate(n, wall)} | {cpu / wall:.2f} | {notes} |"


def sqlite_runs(args, work: Path, file: Path, events: list[dict], http_events: list[dict], size_mb: float) -> list[str]:
    n = len(events)
    cli_url = f"sqlite:///{work / 'cli.db'}"
    print("(a) CLI path, SQLite ...", flush=True)
    cli_s, cli_cpu = run_cli(file, cli_url, work)
    counts = count_rows(cli_url)
    print(f"    {cli_s:.2f}s  {rate(n, cli_s)}  cpu/wall {cli_cpu / cli_s:.2f}  rows: {counts}")

    t = time.perf_counter()
    engine = db.make_engine(f"sqlite:///{work / 'migrate-only.db'}")
    db.upgrade(engine)
    engine.dispose()
    migrate_s = time.perf_counter() - t

    print("(b) raw sqlite3 baseline, the same rows into the same tables ...", flush=True)
    same_s, same_cpu, same_counts = run_raw_sqlite_same_rows(file, work / "raw-same.db")
    print(f"    {same_s:.2f}s  {rate(n, same_s)}  cpu/wall {same_cpu / same_s:.2f}  rows: {same_counts}")
    ratio = same_s / cli_s
    print(f"    ours / raw = {ratio:.3f}x (target >= 0.5x): {'met' if ratio >= 0.5 else 'NOT met'}")

    print("(b') raw sqlite3 baseline, activities only (for reference) ...", flush=True)
    raw_s, raw_cpu, raw_rows = run_raw_sqlite(file, work / "raw.db")
    print(f"    {raw_s:.2f}s  {rate(n, raw_s)}  cpu/wall {raw_cpu / raw_s:.2f}  rows: {raw_rows:,}")
    strict = raw_s / cli_s
    print(f"    ours / raw activities only = {strict:.3f}x")

    lines = [
        *_common.run_header(),
        f"Input: {n:,} events ({sum(1 for e in events if e['type'] == 'lead.upsert'):,} `lead.upsert`, the rest "
        f"`activity`: web_visit 50%, email_open 25%, content_download 15%, email_click 10%) for {args.leads:,} leads; "
        f"JSON Lines, {size_mb:.1f} MB. CPU / wall is this process's CPU time over wall time (about 1.0 = one "
        "core busy the whole time; lower = waiting on disk, locks or other processes).",
        "",
        *TABLE_HEAD,
        row("(a) `leadbrief ingest FILE --quiet`, in-process", n, cli_s, cli_cpu,
            f"fresh file, includes the schema migration (~{migrate_s:.2f} s); stored {counts['activities']:,} "
            f"activities, {counts['leads']:,} leads, {counts['qualifications']:,} qualifications with their briefs"),
        row("(b) raw `sqlite3` executemany of the same rows", n, same_s, same_cpu,
            f"same file and schema (migrated before timing); json.loads per line, then executemany of what (a) "
            f"stores: {same_counts['processed_events']:,} processed_events, {same_counts['activities']:,} activities, "
            f"{same_counts['leads']:,} leads, {same_counts['content_assets']:,} content_assets rows; commit per "
            f"{COMMIT_EVERY:,} lines; no validation, dedupe, merging or qualification"),
        row("(b') raw `sqlite3`, activities only", n, raw_s, raw_cpu,
            f"for reference: one table with the columns and indexes of `activities`; stored {raw_rows:,} rows; "
            f"(a) is {strict:.2f}× this"),
    ]
    verdict = [f"- Target (a) ≥ 0.5× raw executemany of the same rows (b): ours is **{ratio:.2f}×**: "
               f"{_common.met(ratio >= 0.5)}."]
    if not args.skip_http:
        http_row, ok = http_section("SQLite", f"sqlite:///{work / 'http.db'}", args, http_events)
        lines.append(http_row)
        verdict.append(ok)
    return [*lines, "", *verdict, ""]


def http_section(label: str, url: str, args, http_events: list[dict]) -> tuple[str, str]:
    print(f"(c) HTTP, {label}: {len(http_events):,} events in batches of {args.http_batch} "
          f"from {args.clients} clients ...", flush=True)
    r = run_http(url, http_events, args.http_batch, args.clients)
    eps = r["stored"] / r["elapsed"]
    print(f"    {r['elapsed']:.2f}s  {eps:,.0f} events/s  cpu/wall {r['cpu'] / r['elapsed']:.2f}  "
          f"statuses {r['statuses']}  request p50 {r['p50'] * 1000:.0f} ms p95 {r['p95'] * 1000:.0f} ms")
    for f in r["failures"][:5]:
        print("    failure:", f)
    statuses = ", ".join(f"{k}×{v}" for k, v in sorted(r["statuses"].items()))
    text = row("(c) HTTP POST /webhooks/events", r["stored"], r["elapsed"], r["cpu"],
               f"{r['requests']} signed requests of {args.http_batch} events from {args.clients} httpx client "
               f"threads against `leadbrief serve` in its own process (CPU / wall is the server's); statuses {statuses}; request latency "
               f"p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms")
    complete = r["stored"] == len(http_events)
    ok = (f"- Target (c) ≥ 5,000 events/s over HTTP ({label}): **{eps:,.0f} events/s**: "
          f"{_common.met(eps >= 5000 and complete)}."
          + ("" if complete else f" Only {r['stored']:,} of {len(http_events):,} events were stored."))
    if r["statuses"].get(503):
        ok += (f" {r['statuses'][503]} responses were 503 (nothing stored; the client sent the batch again, "
               f"at most {MAX_ATTEMPTS} times in all).")
    return text, ok


def postgres_runs(args, work: Path, file: Path, events: list[dict], http_events: list[dict], size_mb: float) -> list[str]:
    base = normalise_pg_url(args.postgres)
    version = pg_version(base)
    n = len(events)
    print(f"PostgreSQL {version}")
    with _common.pg_schema(base) as url:
        print("(a) CLI path, PostgreSQL ...", flush=True)
        cli_s, cli_cpu = run_cli(file, url, work)
        counts = count_rows(url)
        print(f"    {cli_s:.2f}s  {rate(n, cli_s)}  cpu/wall {cli_cpu / cli_s:.2f}  rows: {counts}")
    with _common.pg_schema(base, migrate=False) as url:
        print("(b) raw psycopg baseline ...", flush=True)
        raw_s, raw_cpu, raw_rows = run_raw_postgres(file, url)
        print(f"    {raw_s:.2f}s  {rate(n, raw_s)}  cpu/wall {raw_cpu / raw_s:.2f}  rows: {raw_rows:,}")
    ratio = raw_s / cli_s
    lines = [
        *_common.run_header(version),
        f"Input: the same generator as the SQLite section: {n:,} events for {args.leads:,} leads, {size_mb:.1f} MB. "
        "Each run uses a fresh schema (via search_path), migrated with storage.db.upgrade before timing and "
        "dropped afterwards. CPU / wall counts this (client) process only, not the server.",
        "",
        *TABLE_HEAD,
        row("(a) `leadbrief ingest FILE --quiet`, in-process", n, cli_s, cli_cpu,
            f"stored {counts['activities']:,} activities, {counts['leads']:,} leads, "
            f"{counts['qualifications']:,} qualifications with their briefs"),
        row("(b) raw psycopg executemany baseline", n, raw_s, raw_cpu,
            f"same table shape, commit per {COMMIT_EVERY:,} lines; stored {raw_rows:,} rows; for reference "
            "(the 0.5× target is against raw SQLite)"),
    ]
    verdict = [f"- (a) against raw psycopg: ours is {ratio:.2f}× raw; against the SQLite section's raw baseline, "
               "see that section."]
    if not args.skip_http:
        with _common.pg_schema(base) as url:
            http_row, ok = http_section("PostgreSQL", url, args, http_events)
        lines.append(http_row)
        verdict.append(ok)
    return [*lines, "", *verdict, ""]


def profile_cli(file: Path, work: Path) -> None:
    print("\nprofiling the CLI path (SQLite) ...", flush=True)
    prof = cProfile.Profile()
    prof.enable()
    run_cli(file, f"sqlite:///{work / 'profile.db'}", work)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs()
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(25)
    print(buf.getvalue())


if __name__ == "__main__":
    sys.exit(main())
