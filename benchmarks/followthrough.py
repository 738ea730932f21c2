"""Follow-through worker cost (not a test).

Loads a migrated database (SQLite, and PostgreSQL with --postgres) with a realistic history: --leads leads,
each qualified once, of which --open are still open with their brief posted (the rest claimed, contacted
or not a fit), and --activities activities spread over the year before. Then it times
`bot.usecases.followthrough.FollowThrough.run_once` against the fake Slack from tests/support/fake_slack.py:

- idle: nothing due and nobody engaging, --iterations passes. The worker makes such a pass at most once a
  second while webhooks arrive, so this is its steady cost on the database; and the full scan of every
  open brief of the last 30 days that it makes once a minute instead;
- reminders: --due open leads past their SLA in one pass (a threaded reminder and a chat.update each);
- updates: --engaged open leads each with a new pricing-page visit in one pass (a threaded update each).

    .venv/bin/python benchmarks/followthrough.py [--leads 50000] [--open 5000] [--activities 500000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import met, percentile, pg_schema, run_header, write_section  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.usecases.deps import Services  # noqa: E402
from bot.usecases.followthrough import FollowThrough  # noqa: E402
from briefs.followthrough import FollowUpPolicy  # noqa: E402
from briefs.sla import BusinessHours  # noqa: E402
from storage import db  # noqa: E402
from storage.models import Activity, Delivery, Lead, Qualification  # noqa: E402
from tests.support.fake_slack import FakeSlack  # noqa: E402

# Only ever shown to the loopback fake Slack.
BOT_TOKEN = "xoxb-bench-token"  # noqa: S105
QUEUE = "C0QUEUE"
REPS = [f"C0REP{k:02d}" for k in range(20)]
KINDS = ("web_visit", "content_download", "email_open", "email_click", "email_sent", "webinar_attended")
IDLE_TARGET_MS = 20.0  # a pass a second while webhooks arrive must leave the database mostly free
FULL_TARGET_MS = 250.0  # once a minute


def payload(i: int) -> dict:
    return {"text": f"Brief: Buyer {i}", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": f"Buyer {i}, Company {i}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Why now:* lead score crossed 100"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Leadbrief"}]},
    ]}


def seed(services: Services, args, now: datetime, rnd: random.Random) -> list[int]:
    """Returns the ids of the open, posted qualifications."""
    year = now - timedelta(days=365)
    with services.engine.begin() as conn:
        conn.execute(insert(Lead), [{
            "id": i, "email": f"buyer{i:06d}@company{i % 5000}.example", "first_name": "Buyer", "last_name": f"{i}",
            "company": f"Company {i % 5000}", "owner_email": f"rep{i % len(REPS):02d}@ourco.example",
            "search_text": f"buyer {i}", "created_at": year, "updated_at": now, "is_customer": False,
        } for i in range(1, args.leads + 1)])
        for lo in range(0, args.activities, 50_000):
            rows = []
            for j in range(lo, min(lo + 50_000, args.activities)):
                at = year + timedelta(seconds=(now - timedelta(days=1) - year).total_seconds() * j / args.activities)
                rows.append({"lead_id": rnd.randint(1, args.leads), "kind": KINDS[j % len(KINDS)], "occurred_at": at,
                             "url": "https://www.example.com/blog", "source": "bench", "source_event_id": f"e{j}",
                             "received_at": at})
            conn.execute(insert(Activity), rows)
        max_act = conn.scalar(select(func.max(Activity.id))) or 0
        open_ids = set(rnd.sample(range(1, args.leads + 1), args.open))
        quals, deliveries = [], []
        for i in range(1, args.leads + 1):
            at = now - timedelta(hours=2) if i in open_ids else year + timedelta(days=rnd.randint(1, 360))
            status = "open" if i in open_ids else rnd.choice(("claimed", "contacted", "not_a_fit"))
            quals.append({"id": i, "lead_id": i, "reason": "score_threshold", "detail": "lead score crossed 100",
                          "triggered_at": at, "qualified_at": at, "status": status,
                          "rep_user": f"U0REP{i % len(REPS):02d}", "seen_activity_id": max_act,
                          "sla_state": "met" if i not in open_ids else "running",
                          "sla_due_at": at + timedelta(hours=1),
                          # open ones are snoozed far ahead: nothing is due until a scenario makes it so
                          "nudge_at": now + timedelta(days=30) if i in open_ids else None})
            deliveries.append({"qualification_id": i, "lead_id": i, "payload": payload(i), "text": f"Brief {i}",
                               "status": "sent", "attempts": 1, "next_attempt_at": at, "created_at": at,
                               "sent_at": at, "channel": REPS[i % len(REPS)], "ts": f"{1700000000 + i}.000100"})
        conn.execute(insert(Qualification), quals)
        conn.execute(insert(Delivery), deliveries)
    return sorted(open_ids)


def post_parents(client: WebClient, services: Services, ids: list[int]) -> None:
    """Post these leads' briefs to the fake Slack for real, so replies and updates have a message to go to."""
    with services.engine.begin() as conn:
        for i in ids:
            p = payload(i)
            r = client.chat_postMessage(channel=REPS[i % len(REPS)], text=p["text"], blocks=p["blocks"])
            conn.execute(update(Delivery).where(Delivery.qualification_id == i).values(channel=r["channel"], ts=r["ts"]))


def timed(fn) -> tuple[float, int]:
    t = time.perf_counter()
    n = fn()
    return (time.perf_counter() - t) * 1000, n


def run(args, url: str, label: str) -> tuple[list[str], float]:
    rnd = random.Random(11)
    policy = FollowUpPolicy(hours=BusinessHours(always=True))
    with FakeSlack() as fake:
        fake.add_channel(QUEUE, "leads-queue")
        for k, c in enumerate(REPS):
            fake.add_channel(c, f"rep-{k:02d}")
        settings = Settings(database_url=url, slack_bot_token=BOT_TOKEN, slack_api_url=fake.url,
                            slack_default_channel=QUEUE, follow_up=policy)
        services = Services.from_settings(settings)
        db.upgrade(services.engine)
        now = datetime.now(UTC).replace(microsecond=0)
        services.clock = lambda: now
        t = time.perf_counter()
        open_ids = seed(services, args, now, rnd)
        print(f"{label}: {args.leads:,} leads, {args.open:,} open, {args.activities:,} activities seeded in "
              f"{time.perf_counter() - t:.1f}s", flush=True)
        client = WebClient(token=BOT_TOKEN, base_url=fake.url)
        worker = FollowThrough(services, client)

        if "postgresql" in url:
            with services.engine.begin() as conn:
                conn.execute(text("ANALYZE"))  # as autovacuum would have, on a database in use
        for _ in range(3):
            worker.run_once()
        idle, full = [], []
        for i in range(args.iterations):
            ms, n = timed(worker.run_once)
            assert n == 0, f"an idle pass posted {n} messages"
            idle.append(ms)
            if i % 5 == 0:
                worker._scanned = None  # the next pass is the once-a-minute full scan
                ms, n = timed(worker.run_once)
                assert n == 0, f"a full scan posted {n} messages"
                full.append(ms)
        p50, p95 = percentile(idle, 50), percentile(idle, 95)
        f50, f95 = percentile(full, 50), percentile(full, 95)
        print(f"    idle pass: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {args.iterations}; full scan: p50 {f50:.1f} ms, "
              f"p95 {f95:.1f} ms over {len(full)}", flush=True)

        picked = rnd.sample(open_ids, args.due + args.engaged)
        due_ids, engaged_ids = picked[:args.due], picked[args.due:]
        post_parents(client, services, picked)
        with services.engine.begin() as conn:
            conn.execute(update(Qualification).where(Qualification.id.in_(due_ids))
                         .values(nudge_at=now - timedelta(minutes=1), sla_due_at=now - timedelta(minutes=1)))
        posts_before = sum(c.method == "chat.postMessage" for c in fake.calls)
        reminded = 0
        remind_ms = 0.0
        while True:  # a pass takes at most 50 due steps
            ms, n = timed(worker.run_once)
            remind_ms += ms
            reminded += n
            if n == 0:
                break
        print(f"    {reminded} reminders in {remind_ms:.0f} ms ({remind_ms / max(1, reminded):.1f} ms each)", flush=True)

        with services.engine.begin() as conn:
            conn.execute(insert(Activity), [{
                "lead_id": i, "kind": "web_visit", "occurred_at": now - timedelta(seconds=30),
                "url": "https://www.example.com/pricing", "source": "bench", "source_event_id": f"new{i}",
                "received_at": now} for i in engaged_ids])
        updated = 0
        update_ms = 0.0
        while True:
            ms, n = timed(worker.run_once)
            update_ms += ms
            updated += n
            if n == 0:
                break
        print(f"    {updated} thread updates in {update_ms:.0f} ms ({update_ms / max(1, updated):.1f} ms each)",
              flush=True)
        posts = sum(c.method == "chat.postMessage" for c in fake.calls) - posts_before
        services.engine.dispose()
    ok = reminded == args.due and updated == args.engaged and posts == args.due + args.engaged
    if not ok:
        print(f"    UNEXPECTED: {reminded} reminded (want {args.due}), {updated} updated (want {args.engaged}), "
              f"{posts} posts", flush=True)
    row = (f"| {label} | {p50:.1f} / {p95:.1f} ms | {f50:.1f} / {f95:.1f} ms | {reminded} in {remind_ms:.0f} ms "
           f"({remind_ms / max(1, reminded):.1f} ms each) | {updated} in {update_ms:.0f} ms "
           f"({update_ms / max(1, updated):.1f} ms each) |")
    return [row], (p95, f95) if ok else (float("inf"), float("inf"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--leads", type=int, default=50_000, help="leads, each qualified once (default 50000)")
    p.add_argument("--open", type=int, default=5_000, help="of which open with a posted brief (default 5000)")
    p.add_argument("--activities", type=int, default=500_000, help="activities (default 500000)")
    p.add_argument("--iterations", type=int, default=50, help="idle passes timed (default 50)")
    p.add_argument("--due", type=int, default=200, help="leads past their SLA at once (default 200)")
    p.add_argument("--engaged", type=int, default=200, help="leads engaging at once (default 200)")
    p.add_argument("--postgres", metavar="URL", help="also run against this PostgreSQL database (fresh schema)")
    p.add_argument("--no-results", action="store_true", help="print only; do not touch RESULTS.md")
    args = p.parse_args(argv)
    if args.open > args.leads or args.due + args.engaged > args.open:
        p.error("need --due + --engaged <= --open <= --leads")

    rows, verdicts = [], []
    with tempfile.TemporaryDirectory(prefix="leadbrief-ft-") as tmp:
        r, p95s = run(args, f"sqlite:///{Path(tmp) / 'ft.db'}", "SQLite")
        rows += r
        verdicts.append(("SQLite", p95s))
    if args.postgres:
        with pg_schema(args.postgres) as url:
            r, p95s = run(args, url, "PostgreSQL")
        rows += r
        verdicts.append(("PostgreSQL", p95s))
    if not args.no_results:
        write_section("followthrough", "Follow-through worker (benchmarks/followthrough.py)", [
            *run_header(),
            f"{args.leads:,} leads each qualified once, {args.open:,} of them open with a posted brief, "
            f"{args.activities:,} activities over the year before. `FollowThrough.run_once` against the fake "
            "Slack: an idle pass (nothing due, nobody engaging; made at most once a second while webhooks "
            "arrive; it looks only at leads with activity since the last pass), the full scan of every open "
            f"brief of the last 30 days that replaces it once a minute, then {args.due} leads past their SLA "
            f"at once, then {args.engaged} leads with a new pricing-page visit at once. PostgreSQL is analyzed "
            "after loading, as autovacuum would have.",
            "",
            "| database | idle pass p50 / p95 | full scan p50 / p95 | reminders | thread updates |",
            "| --- | ---: | ---: | --- | --- |",
            *rows,
            "",
            *[f"- {name}: idle pass p95 ≤ {IDLE_TARGET_MS:.0f} ms and full scan p95 ≤ {FULL_TARGET_MS:.0f} ms, "
              f"every reminder and update posted once: {met(p95 <= IDLE_TARGET_MS and f95 <= FULL_TARGET_MS)}"
              for name, (p95, f95) in verdicts],
            "",
        ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
