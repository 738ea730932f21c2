"""Brief build latency benchmark (not a test).

Populates a migrated SQLite database with raw bulk inserts (default 100,000 leads and 1,000,000 activities,
of which a few "target" leads hold 1,000 activities each, interleaved in time with everyone else's as real
ingestion would store them), then times the full path of a lookup, over many iterations:
open a session, storage.queries.find_lead, storage.queries.brief_input, briefs.model.build_brief,
briefs.blocks.to_blocks.

    .venv/bin/python benchmarks/brief.py [--leads 100000] [--activities 1000000] [--touches 1000]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common

from briefs.blocks import to_blocks
from briefs.model import build_brief
from briefs.rules import Rules
from storage import db, queries

FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite (UTCDateTime drops the offset)
PAGES = [
    "https://www.example.com/",
    "https://www.example.com/pricing",
    "https://www.example.com/product",
    "https://www.example.com/compare/acme-vs-globex",
    "https://www.example.com/case-studies/northwind",
    "https://www.example.com/docs/api",
    "https://www.example.com/security",
] + [f"https://www.example.com/blog/post-{i}" for i in range(60)]
TOPICS = ("security", "onboarding", "pricing", "integrations", "analytics", "compliance")
ASSET_TYPES = ("whitepaper", "ebook", "case_study", "report", "checklist")
N_ASSETS = 200
CAMPAIGNS = [(f"Q{i % 4 + 1} nurture {i}", f"Subject line number {i}: what teams like yours do next") for i in range(60)]
KINDS = ("web_visit", "content_download", "email_sent", "email_open", "email_click", "webinar_registered",
         "webinar_attended", "form_submit")
KIND_WEIGHTS = (40, 12, 15, 15, 8, 4, 3, 3)
TARGET_EMAIL = "target{k}@bigco.example"

LEAD_COLS = ("id", "email", "first_name", "last_name", "title", "company", "phone", "owner_email",
             "lifecycle_stage", "score", "persona", "is_customer", "customer_since", "nps", "csat", "crm_url",
             "search_text", "profile_as_of", "created_at",
             "updated_at")
ACT_COLS = ("lead_id", "kind", "occurred_at", "asset_id", "campaign", "subject", "url", "form", "comments",
            "properties", "source", "source_event_id", "received_at")


def _insert(table: str, cols: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def target_ids(leads: int, targets: int) -> list[int]:
    return [1 + (k * leads) // targets + leads // (2 * targets) for k in range(targets)]


def populate(path: Path, leads: int, activities: int, targets: int, touches: int, chunk: int, seed: int = 7) -> None:
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()

    rnd = random.Random(seed)
    now = datetime.now(UTC).replace(tzinfo=None)
    start = now - timedelta(days=365)
    stamp = now.strftime(FMT)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    conn.execute("PRAGMA foreign_keys=OFF")

    conn.executemany(_insert("content_assets", ("id", "key", "title", "url", "type", "topic")), [
        (i, f"https://www.example.com/resources/asset-{i}.pdf", f"The {TOPICS[i % len(TOPICS)]} guide, part {i}",
         f"https://www.example.com/resources/asset-{i}.pdf", ASSET_TYPES[i % len(ASSET_TYPES)], TOPICS[i % len(TOPICS)])
        for i in range(1, N_ASSETS + 1)
    ])

    tids = target_ids(leads, targets)
    tset = set(tids)
    rows = []
    for i in range(1, leads + 1):
        is_target = i in tset
        k = tids.index(i) if is_target else None
        email = TARGET_EMAIL.format(k=k) if is_target else f"lead{i:07d}@company{i % 5000}.example"
        customer = is_target and k % 2 == 1
        rows.append((
            i, email, "Jon" if is_target else None, "Doe" if is_target else None,
            "VP Operations" if is_target else None, f"Company {i % 5000}", None, "rep@ourco.example",
            "customer" if customer else "mql", rnd.randrange(0, 150), "ops" if is_target else None,
            int(customer), "2023" if customer else None, 9 if customer else None, None,
            f"https://crm.example/leads/{i}", f"jon doe company {i % 5000} {email}",
            stamp, stamp, stamp,
        ))
    conn.executemany(_insert("leads", LEAD_COLS), rows)
    conn.commit()
    del rows

    # Every activity's owner, shuffled: rowid order is arrival order, as real ingestion would leave it.
    target_acts = min(targets * touches, activities)
    owners = [tids[j % targets] for j in range(target_acts)]
    others = [i for i in range(1, leads + 1) if i not in tset] or tids
    owners += [others[rnd.randrange(len(others))] for _ in range(activities - target_acts)]
    rnd.shuffle(owners)
    kinds = rnd.choices(KINDS, KIND_WEIGHTS, k=activities)
    span = (now - timedelta(hours=1) - start).total_seconds()
    sql = _insert("activities", ACT_COLS)
    props = json.dumps({"utm_source": "newsletter"})
    forms = ("Newsletter signup", "Request a demo", "Event registration")
    for lo in range(0, activities, chunk):
        batch = []
        for i in range(lo, min(lo + chunk, activities)):
            at = (start + timedelta(seconds=span * i / activities)).strftime(FMT)
            kind = kinds[i]
            asset = campaign = subject = url = form = comments = prop = None
            if kind == "web_visit":
                url = PAGES[i % len(PAGES)]
                prop = props if i % 3 == 0 else None
            elif kind == "content_download":
                asset = 1 + i % N_ASSETS
            elif kind.startswith("email"):
                campaign, subject = CAMPAIGNS[i % len(CAMPAIGNS)]
                url = PAGES[i % len(PAGES)] if kind == "email_click" else None
            elif kind.startswith("webinar"):
                campaign = f"Webinar {i % 20}"
            else:
                form = forms[i % len(forms)]
                comments = "We need this live by next quarter; budget is approved. Referred by Ana." if i % 2 else None
            batch.append((owners[i], kind, at, asset, campaign, subject, url, form, comments, prop, "bench",
                          f"e{i:010d}", at))
        conn.executemany(sql, batch)
        conn.commit()

    notes, quals = [], []
    for k, lead_id in enumerate(tids):
        for j in range(3):
            notes.append((lead_id, "marketer@ourco.example", f"Note {j} for target {k}: keen on the API.",
                          (now - timedelta(days=j + 1)).strftime(FMT), "bench"))
        quals.append((lead_id, "score_threshold", "lead score crossed 100 (now 120)", 120, None, "lead.upsert",
                      (now - timedelta(hours=2)).strftime(FMT), (now - timedelta(hours=2)).strftime(FMT), "open"))
    conn.executemany(_insert("handoff_notes", ("lead_id", "author", "body", "created_at", "source")), notes)
    conn.executemany(_insert("qualifications", ("lead_id", "reason", "detail", "score", "note", "trigger_event",
                                                "triggered_at", "qualified_at", "status")), quals)
    conn.commit()
    conn.execute("PRAGMA journal_mode=WAL")  # what the app uses
    conn.close()


def counts(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        return (conn.execute("SELECT max(id) FROM leads").fetchone()[0] or 0,
                conn.execute("SELECT max(id) FROM activities").fetchone()[0] or 0)
    finally:
        conn.close()


def lookup(sessions, email: str, rules: Rules, timings: list[tuple[float, float, float, float]] | None):
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    with sessions() as session:
        lead = queries.find_lead(session, email)
        data = queries.brief_input(session, lead, now)
    t1 = time.perf_counter()
    brief = build_brief(data, rules)
    t2 = time.perf_counter()
    blocks = to_blocks(brief)
    t3 = time.perf_counter()
    if timings is not None:
        timings.append((t3 - t0, t1 - t0, t2 - t1, t3 - t2))
    return data, blocks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--leads", type=int, default=100_000, help="leads in the store (default 100000)")
    p.add_argument("--activities", type=int, default=1_000_000, help="activities in the store (default 1000000)")
    p.add_argument("--touches", type=int, default=1_000, help="activities of each target lead (default 1000)")
    p.add_argument("--targets", type=int, default=4, help="target leads, looked up in turn (default 4)")
    p.add_argument("--iterations", type=int, default=200, help="timed lookups (default 200)")
    p.add_argument("--warmup", type=int, default=5, help="untimed lookups first (default 5)")
    p.add_argument("--chunk", type=int, default=100_000, help="rows per executemany/commit while loading")
    p.add_argument("--db", type=Path, help="keep the database here; reused as is if it exists (skips loading)")
    p.add_argument("--profile", action="store_true", help="also profile the lookups with cProfile (not written)")
    p.add_argument("--no-results", action="store_true", help="print only; do not touch RESULTS.md")
    p.add_argument("--results", type=Path, default=_common.RESULTS, help="results file (default benchmarks/RESULTS.md)")
    args = p.parse_args(argv)
    if args.targets * args.touches > args.activities or args.targets > args.leads:
        p.error("--targets × --touches must fit in --activities, and --targets in --leads")

    with tempfile.TemporaryDirectory(prefix="leadbrief-bench-") as tmp:
        path = args.db or Path(tmp) / "brief.db"
        if path.exists():
            load_s = None
            print(f"reusing {path}")
        else:
            print(f"loading {args.leads:,} leads and {args.activities:,} activities into {path} ...", flush=True)
            t = time.perf_counter()
            populate(path, args.leads, args.activities, args.targets, args.touches, args.chunk)
            load_s = time.perf_counter() - t
            print(f"    loaded in {load_s:.1f}s ({path.stat().st_size / 1e6:.0f} MB)")
        n_leads, n_acts = counts(path)
        return run(args, path, n_leads, n_acts, load_s)


def run(args, path: Path, n_leads: int, n_acts: int, load_s: float | None) -> int:
    engine = db.make_engine(f"sqlite:///{path}")
    sessions = db.make_sessionmaker(engine)
    rules = Rules()
    emails = [TARGET_EMAIL.format(k=k) for k in range(args.targets)]
    t = time.perf_counter()
    data, blocks = lookup(sessions, emails[0], rules, None)
    cold_ms = (time.perf_counter() - t) * 1000
    acts = len(data.activities)
    print(f"first (cold) lookup {cold_ms:.1f} ms; target lead has {acts:,} activities, "
          f"{len(blocks['blocks'])} blocks")
    for i in range(args.warmup):
        lookup(sessions, emails[i % len(emails)], rules, None)
    gc.freeze()  # as `leadbrief serve` does once it has started (bot/server.py)
    timings: list[tuple[float, float, float, float]] = []
    c0, t = time.process_time(), time.perf_counter()
    for i in range(args.iterations):
        lookup(sessions, emails[i % len(emails)], rules, timings)
    wall, cpu = time.perf_counter() - t, time.process_time() - c0

    def ms(col: int, pct: float) -> float:
        return _common.percentile([x[col] for x in timings], pct) * 1000

    p50, p95, p99 = ms(0, 50), ms(0, 95), ms(0, 99)
    print(f"{args.iterations} lookups in {wall:.2f}s: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, "
          f"max {max(x[0] for x in timings) * 1000:.1f} ms; cpu/wall {cpu / wall:.2f}")
    print(f"    median by stage: queries {ms(1, 50):.1f} ms, build_brief {ms(2, 50):.1f} ms, to_blocks {ms(3, 50):.1f} ms")
    ok = p95 <= 20
    print(f"    target p95 <= 20 ms: {'met' if ok else 'NOT met'}")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for i in range(min(args.iterations, 50)):
            lookup(sessions, emails[i % len(emails)], rules, None)
        prof.disable()
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(25)
        print(buf.getvalue())
    engine.dispose()

    if not args.no_results:
        loaded = f"loaded with raw sqlite3 executemany in {load_s:.1f} s" if load_s is not None else "reused database"
        _common.write_section("brief", "Brief build latency (SQLite)", [
            *_common.run_header(),
            f"Store: {n_leads:,} leads, {n_acts:,} activities ({loaded}, {path.stat().st_size / 1e6:.0f} MB file, "
            f"WAL); {args.targets} target leads with {args.touches:,} activities each (mixed kinds over a year, "
            "interleaved in rowid order with everyone else's), 3 notes and an open qualification each.",
            "",
            f"Path timed per lookup: session, `find_lead`, `brief_input` ({acts:,} activities loaded), `build_brief`, "
            f"`to_blocks`; {args.iterations} lookups cycling over the targets after {args.warmup} untimed ones.",
            "",
            "| p50 | p95 | p99 | max | first (cold) lookup |",
            "| ---: | ---: | ---: | ---: | ---: |",
            f"| {p50:.1f} ms | {p95:.1f} ms | {p99:.1f} ms | {max(x[0] for x in timings) * 1000:.1f} ms | {cold_ms:.1f} ms |",
            "",
            f"Median by stage: queries (session + find_lead + brief_input) {ms(1, 50):.1f} ms, build_brief "
            f"{ms(2, 50):.1f} ms, to_blocks {ms(3, 50):.1f} ms. CPU time / wall time over the timed lookups: "
            f"{cpu / wall:.2f} (about 1.0 = one core busy throughout).",
            "",
            f"- Target p95 ≤ 20 ms: **{p95:.1f} ms**: {_common.met(ok)}.",
            "",
        ], args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
