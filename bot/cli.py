"""The `leadbrief` command."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import OperationalError

from bot.config import ConfigError, Settings, load_settings
from bot.usecases.ingest import IngestResult, ingest
from briefs.blocks import to_blocks
from briefs.events import MAX_BATCH
from briefs.text import to_text_brief
from storage import db

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

# Above this size `ingest` shows a progress bar.
PROGRESS_BYTES = 1 << 20
MAX_REJECTS_SHOWN = 50


def _services(settings: Settings, *, auto_upgrade: bool = True):
    from bot.usecases.deps import Services

    services = Services.from_settings(settings)
    if auto_upgrade:
        db.ensure_schema(services.engine)
    return services


def cmd_db(args, settings: Settings) -> int:
    engine = db.make_engine(settings.database_url)
    if args.action == "upgrade":
        before = db.current_revision(engine)
        db.upgrade(engine)
        after = db.current_revision(engine)
        out.print(f"database at revision {after}" + (" (already current)" if before == after else f" (was {before or 'empty'})"))
    else:
        current = db.current_revision(engine)
        head = db.head_revision()
        out.print(f"database at revision {current or 'none'}; this version needs {head}")
        return 0 if current == head else 1
    return 0


def _chunks(read, progress) -> Iterator[tuple[list, list[str], int]]:
    """Validated events in batches of MAX_BATCH, with the rejected lines and skipped count met on the way."""
    batch: list = []
    rejects: list[str] = []
    skipped = 0
    try:
        for item in read(progress):
            if item.errors:
                rejects.append(f"line {item.line}: " + "; ".join(f"{e.field}: {e.message}" for e in item.errors))
            elif item.event is None:
                skipped += 1
            else:
                batch.append(item.event)
                if len(batch) >= MAX_BATCH:
                    yield batch, rejects, skipped
                    batch, rejects, skipped = [], [], 0
    except Exception:
        yield batch, rejects, skipped  # what came before a broken spot is still stored
        raise
    yield batch, rejects, skipped


def _load(settings: Settings, path: Path, read, quiet: bool) -> int:
    """Feed validated items from `read(progress)` to ingestion in batches; print counts and rejected lines."""
    from handlers.files import FileError

    services = _services(settings)
    # Modules and settings live as long as the run: spare the collector from scanning them every batch.
    gc.freeze()
    total = IngestResult()
    rejects: list[str] = []
    skipped = 0

    size = path.stat().st_size if path.is_file() else 0
    show = size >= PROGRESS_BYTES and not quiet
    with Progress(TextColumn("loading"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=err, disable=not show, transient=True) as progress:
        task = progress.add_task("load", total=size)
        advance = (lambda n: progress.advance(task, n)) if show else None
        try:
            for batch, bad, skip in _chunks(read, advance):
                rejects += bad
                skipped += skip
                if batch:
                    total.add(ingest(services.sessions, batch, settings.rules, triage_policy=settings.triage.policy,
                                     accounts=settings.accounts))
        except FileError as exc:
            # Everything before the broken spot was stored (_chunks hands over the partial batch first).
            err.print(f"error: {exc}", markup=False)
            rejects.append(str(exc))
    out.print(
        f"accepted {total.accepted}, duplicates {total.duplicates}, rejected {len(rejects)}"
        + (f", skipped {skipped} (types not used)" if skipped else "")
        + (f", new qualified leads {len(total.qualifications)}" if total.qualifications else "")
    )
    for line in rejects[:MAX_REJECTS_SHOWN]:
        err.print(f"  rejected {line}", markup=False)
    if len(rejects) > MAX_REJECTS_SHOWN:
        err.print(f"  …and {len(rejects) - MAX_REJECTS_SHOWN} more rejected lines")
    if total.qualifications and not settings.slack_enabled:
        out.print("Run `leadbrief serve` (or `leadbrief brief EMAIL`) to see the new briefs.")
    return 1 if rejects else 0


def cmd_ingest(args, settings: Settings) -> int:
    from handlers.files import read_events

    path = Path(args.file)
    return _load(settings, path, lambda progress: read_events(path, progress), args.quiet)


def cmd_import(args, settings: Settings) -> int:
    from handlers.csv_import import PARDOT_KINDS, Owners, parse_mapping, read_csv
    from handlers.files import FileError

    path = Path(args.file)
    try:
        mapping = parse_mapping(args.map or [], args.kind)
    except FileError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    kind_map = PARDOT_KINDS if args.types == "pardot" else None
    owners = Owners(settings.owners)
    rc = _load(settings, path, lambda progress: read_csv(path, args.kind, mapping, kind_map=kind_map,
                                                         source=args.source, progress=progress, owners=owners),
               args.quiet)
    # One line per name, not per row: the rows were imported, only without an owner.
    for name, rows in sorted(owners.unresolved.values()):
        err.print(f"warning: owner {name!r} is not an email address nor a name in [owners] of leadbrief.toml; "
                  f"{rows} row(s) imported without an owner", markup=False)
    return rc


def cmd_sync(args, settings: Settings) -> int:
    """Pull a source's activity log over its API (Marketo for now)."""
    from handlers.sources.marketo_sync import SyncError, sync

    try:
        since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
    except ValueError:
        err.print(f"error: --since {args.since!r} is not a date (expected e.g. 2026-11-01 or 2026-11-01T09:00:00Z)",
                  markup=False)
        return 2
    services = _services(settings)

    def report(r) -> str:
        return (f"accepted {r.accepted}, duplicates {r.duplicates}, ignored {r.ignored}, pages {r.pages}"
                + (f", skipped {r.skipped} unreadable (see the log)" if r.skipped else "")
                + (f", new qualified leads {r.qualified}" if r.qualified else ""))

    try:
        result = sync(settings, services.sessions, settings.rules, since, page_token=args.resume,
                      progress=None if args.quiet else lambda r: err.print(f"  {report(r)}", markup=False))
    except SyncError as exc:
        err.print(f"error: {exc}", markup=False)
        if exc.result is not None:
            out.print(report(exc.result), markup=False)
            if exc.result.next_page_token:
                out.print(f"resume with: leadbrief sync marketo --since {args.since} --resume {exc.result.next_page_token}",
                          markup=False)
        return 1
    out.print(report(result), markup=False)
    return 0


def cmd_brief(args, settings: Settings) -> int:
    from bot.usecases.lookup import read_brief
    from storage.audit import cli_actor

    brief = read_brief(_services(settings), args.email, cli_actor())
    if brief is None:
        err.print(f"no lead with email {args.email.strip().lower()!r}", markup=False)
        return 1
    if args.format == "blocks":
        out.print(json.dumps(to_blocks(brief), indent=2, ensure_ascii=False), markup=False)
    else:
        out.print(to_text_brief(brief), markup=False, emoji=False)
    return 0


class DemoSink:
    """`leadbrief demo`: each brief (or triage notice) under its own numbered header, named by its first line."""

    def __init__(self, console, total: int):
        self.console, self.total, self.shown = console, total, 0

    def __call__(self, item):
        from rich.rule import Rule

        from bot.usecases.outcomes import Sent

        first = (item.text or "").strip().splitlines()[:1]
        if item.kind in ("copy", "rep_notice"):  # beside a brief, not one of the qualified leads: no number
            title = "Copy for the owner" if item.kind == "copy" else "Notice for the lead's rep"
        else:
            self.shown += 1
            title = f"{'Triage notice' if item.kind == 'notice' else 'Brief'} {self.shown} of {self.total}"
        self.console.print(Rule(title + (f": {first[0]}" if first else "")))
        self.console.print(item.text, markup=False, emoji=False)
        self.console.print()
        return Sent("terminal")


def cmd_demo(args, settings: Settings) -> int:
    from bot.demo import DEMO_EMAILS, demo_events
    from bot.usecases.deps import Services
    from bot.worker import DeliveryWorker
    from briefs.events import parse_batch

    now = datetime.now(UTC)
    events = demo_events(now)
    if args.export:
        Path(args.export).write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        out.print(f"wrote {len(events)} sample events to {args.export} (JSON Lines); try `leadbrief ingest {args.export}`")
        return 0
    with tempfile.TemporaryDirectory(prefix="leadbrief-demo-") as tmp:
        demo_settings = Settings(database_url=f"sqlite:///{tmp}/demo.db", rules=settings.rules)
        services = Services.from_settings(demo_settings)
        db.upgrade(services.engine)
        result = ingest(services.sessions, parse_batch({"events": events}), settings.rules, now,
                        triage_policy=settings.triage.policy, accounts=settings.accounts)
        out.print(
            f"Loaded {result.accepted} sample events for {len(DEMO_EMAILS)} leads into a temporary SQLite database; "
            f"{len(result.qualifications)} qualified. Their briefs, as a rep would get them:\n"
        )
        # One at a time, in the order they qualified: each brief printed whole under its own header.
        DeliveryWorker(services.sessions, DemoSink(out, len(result.qualifications)), clock=lambda: now,
                       concurrency=1, batch=100).run_once()
        services.engine.dispose()
    out.print("Next: `leadbrief demo --export sample.jsonl`, `leadbrief ingest sample.jsonl`, "
              "`leadbrief brief jon.doe@acme.example`, or `leadbrief serve`.")
    return 0


def cmd_serve(args, settings: Settings) -> int:
    from bot.server import serve

    settings.require_webhook_secret()
    port = args.port or settings.port
    return serve(settings, port=port, host=args.host, worker=not args.no_worker)


def cmd_worker(args, settings: Settings) -> int:
    """Deliver briefs from the outbox without serving HTTP."""
    import signal
    import threading

    from bot.server import attach_slack, delivery_sink, follow_through
    from bot.worker import DeliveryWorker

    services = _services(settings)
    if settings.slack_enabled:
        attach_slack(services)
    follow = follow_through(services)
    worker = DeliveryWorker(services.sessions, delivery_sink(services, out), clock=services.clock,
                            poll_seconds=args.poll, lease=timedelta(seconds=args.lease), batch=args.batch,
                            concurrency=args.concurrency,
                            retry_horizon=timedelta(hours=settings.delivery_retry_hours))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    err.print(f"worker {worker.worker_id} delivering to {'Slack' if settings.slack_enabled else 'the terminal'}; "
              "Ctrl-C to stop")
    if args.metrics_port:
        from prometheus_client import start_http_server

        from bot import metrics

        start_http_server(args.metrics_port, registry=metrics.REGISTRY)
        err.print(f"metrics on http://0.0.0.0:{args.metrics_port}/metrics")
    worker.start()
    if follow is not None:
        follow.start()
    while not stop.wait(0.5):
        pass
    # SIGTERM: the post in flight is finished and recorded, the rest of the claimed batch handed back.
    worker.stop(timeout=60)
    if follow is not None:
        follow.stop()
    err.print("worker stopped")
    return 0


def cmd_outbox(args, settings: Settings) -> int:
    from bot.usecases.stats import outbox_listing, retry_failed

    services = _services(settings)
    if args.action == "retry":
        n = retry_failed(services, None if args.id == "all" else int(args.id))
        out.print(f"{n} failed deliver{'y' if n == 1 else 'ies'} queued again")
        return 0 if n else 1
    listing = outbox_listing(services, None if args.status == "all" else args.status, args.limit)
    out.print(" · ".join(f"{k}: {v}" for k, v in sorted(listing.counts.items())) or "the outbox is empty")
    for d in listing.rows:
        where = f"{d.channel}/{d.ts}" if d.ts else (d.channel or "-")
        line = f"#{d.id} {d.status:<8} lead {d.lead_id} attempts {d.attempts} next {d.next_attempt_at:%Y-%m-%d %H:%M:%S} {where}"
        if d.queue_reason:
            line += f" queue: {d.queue_reason}"
        if d.last_error:
            line += f" error: {d.last_error}"
        out.print(line, markup=False)
    return 0


def cmd_forget(args, settings: Settings) -> int:
    """Erase one lead: database rows now, then the briefs already posted in Slack (chat.update)."""
    from bot.usecases import privacy
    from storage.audit import cli_actor

    services = _services(settings)
    email = args.email.strip().lower()
    found = privacy.preview(services, email)
    if found is None:
        err.print(f"no lead with email {email!r} (never stored, or already forgotten); nothing removed", markup=False)
        return 1
    if not args.yes:
        if not sys.stdin.isatty():
            err.print("error: forget cannot ask for confirmation without a terminal; add --yes", markup=False)
            return 2
        out.print(f"{email}: {found.activities} activities, {found.notes} notes, {found.qualifications} "
                  f"qualifications, {found.visitor_links} visitor ids, {found.pending_activities} activities "
                  f"waiting for a visitor id, {len(found.posted)} briefs posted in Slack.", markup=False)
        answer = out.input("Forget this lead for good? This cannot be undone. [y/N] ", markup=False)
        if answer.strip().lower() not in ("y", "yes"):
            err.print("not confirmed; nothing removed")
            return 1
    actor = cli_actor()
    done = privacy.forget(services, email, actor)
    if done is None:
        err.print(f"no lead with email {email!r} (forgotten meanwhile); nothing removed", markup=False)
        return 1
    out.print(f"forgot {email}: removed {done.activities} activities, {done.notes} notes, {done.qualifications} "
              f"qualifications, {done.deliveries} deliveries, {done.processed_events} processed events, "
              f"{done.visitor_links} visitor ids, {done.pending_activities} waiting activities; "
              f"{done.audit_entries} audit entries now say {done.lead_ref}", markup=False)
    total = len(done.posted)
    if not total:
        return 0
    errors = privacy.redact_forgotten(services, done, actor)
    redacted = total - len(errors)
    out.print(f"redacted {redacted} of {total} brief{'' if total == 1 else 's'} posted in Slack")
    if errors:
        err.print(f"warning: {len(errors)} posted brief{'' if len(errors) == 1 else 's'} still show the lead; "
                  "delete them in Slack by hand (channel ts: reason):", markup=False)
        for line in errors:
            err.print(f"  {line}", markup=False)
        return 4
    return 0


def cmd_audit(args, settings: Settings) -> int:
    import csv

    from bot.usecases.privacy import audit_trail

    rows = audit_trail(_services(settings), lead_ref=args.lead, actor=args.user, limit=args.limit)
    if args.format == "csv":
        def cell(value) -> str:
            text_ = "" if value is None else str(value)
            # A spreadsheet would run a cell starting like a formula.
            return "'" + text_ if text_[:1] in ("=", "+", "-", "@", "\t", "\r") else text_

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["at", "actor", "action", "lead_id", "lead_ref", "detail"])
        for e in rows:
            writer.writerow([e.at.isoformat().replace("+00:00", "Z"), cell(e.actor), cell(e.action), cell(e.lead_id),
                             cell(e.lead_ref), cell(e.detail)])
        return 0
    if not rows:
        out.print("no audit entries" + (" for that lead" if args.lead else "") + (" by that user" if args.user else ""))
        return 0
    for e in rows:
        out.print(f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.actor}  {e.action}  {e.lead_ref or '-'}"
                  + (f"  {e.detail}" if e.detail else ""), markup=False)
    return 0


def cmd_purge(args, settings: Settings) -> int:
    from bot.usecases.privacy import purge
    from storage.audit import cli_actor

    days = settings.retention_days
    if days is None:
        err.print("error: no retention period is set: add [privacy] retention_days = N to leadbrief.toml "
                  "(or the file LEADBRIEF_CONFIG names)", markup=False)
        return 2
    purged = purge(_services(settings), days, cli_actor(), dry_run=args.dry_run)
    n = purged.count
    verb = "would delete" if args.dry_run else "deleted"
    out.print(f"{verb} {n} activit{'y' if n == 1 else 'ies'} older than {purged.cutoff:%Y-%m-%d %H:%M} UTC "
              f"(retention {days} days)")
    return 0


def cmd_accounts(args, settings: Settings) -> int:
    """Accounts (issue 18, docs/accounts.md): find, show, match every lead, merge, split, domains, owner."""
    from bot.usecases import accounts
    from storage.audit import cli_actor

    services = _services(settings)
    now, actor = services.clock(), cli_actor()
    try:
        if args.action == "match":
            n = accounts.rematch(services.sessions, settings.accounts, now)
            out.print(f"{n} leads are at an account")
        elif args.action in ("list", "show"):
            found = accounts.find(services.sessions, " ".join(args.args) or "", 1 if args.action == "show" else 20)
            if not found:
                err.print("no account matches", markup=False)
                return 1
            for a in found:
                out.print(f"#{a.id} {a.name} · {a.people} people · owner {a.owner_email or '-'}"
                          f"{f' ({a.owner_by})' if a.owner_by else ''} · {', '.join(a.domains) or 'no domain'}"
                          f"{f' · CRM {a.crm_id}' if a.crm_id else ''}", markup=False)
        elif args.action == "merge":
            ids = [int(x) for x in args.args]
            n = accounts.admin_merge(services.sessions, ids[0], ids[1:], actor, now)
            out.print(f"merged into #{ids[0]}: {n} leads moved")
        elif args.action == "split":
            account_id, emails = int(args.args[0]), args.args[1:]
            new_id = accounts.admin_split(services.sessions, account_id, emails, args.name, actor, now)
            out.print(f"new account #{new_id} with {len(emails)} leads")
        elif args.action == "domains":
            n = accounts.admin_domains(services.sessions, int(args.args[0]), args.args[1:], actor, now)
            out.print(f"{len(args.args) - 1} domains now belong to #{args.args[0]}: {n} leads moved")
        elif args.action == "owner":
            owner = args.args[1].strip().lower() if len(args.args) > 1 and args.args[1] != "-" else None
            accounts.admin_owner(services.sessions, int(args.args[0]), owner, actor, now)
            out.print(f"#{args.args[0]} owner: {owner or 'none (the owner rule decides)'}")
    except (LookupError, ValueError, IndexError) as exc:
        err.print(f"error: {exc or 'missing arguments'}", markup=False)
        return 2
    return 0


def cmd_report(args, settings: Settings) -> int:
    """Marketing feedback: what happened to the leads qualified in the last --days (the data behind /lead stats)."""
    import csv

    from bot.usecases.stats import report as stats_report
    from briefs import stats as stats_model
    from storage.audit import cli_actor

    if not 1 <= args.days <= 3650:
        err.print("error: --days must be between 1 and 3650", markup=False)
        return 2
    report = stats_report(_services(settings), args.days, cli_actor(), args.format)
    if args.format == "csv":
        def cell(value: str) -> str:
            # A spreadsheet would run a cell starting like a formula.
            return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(stats_model.COLUMNS)
        for row in stats_model.table(report):
            writer.writerow([cell(v) for v in row])
        return 0
    out.print(stats_model.to_text(report), markup=False, emoji=False)
    from bot.usecases.accounts import counts as account_counts

    at, briefs = account_counts(_services(settings).sessions, args.days, datetime.now(UTC))
    out.print(f"Accounts: {at} with a qualified lead, {briefs} account brief{'' if briefs == 1 else 's'}",
              markup=False, emoji=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leadbrief", description="Talk-track briefs for qualified leads.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the HTTP app (webhooks, health) and deliver briefs")
    s.add_argument("--port", type=int, help="port (default: PORT or 3000)")
    s.add_argument("--host", default="0.0.0.0", help="interface to listen on (default 0.0.0.0)")  # noqa: S104
    s.add_argument("--no-worker", action="store_true", help="do not deliver briefs here (run `leadbrief worker`)")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("worker", help="deliver briefs from the outbox (when serve runs with --no-worker)")
    s.add_argument("--poll", type=float, default=1.0, help="longest wait between outbox checks (default 1)")
    s.add_argument("--lease", type=float, default=6.0,
                   help="seconds a claimed delivery stays this worker's without a heartbeat (renewed every third "
                        "of it); a dead worker's are taken over after it (default 6)")
    s.add_argument("--batch", type=int, default=10, help="deliveries claimed at a time (default 10)")
    s.add_argument("--concurrency", type=int, default=4,
                   help="posts to different channels sent side by side (default 4)")
    s.add_argument("--metrics-port", type=int, help="serve this worker's Prometheus /metrics on this port")
    s.set_defaults(func=cmd_worker)

    s = sub.add_parser("outbox", help="show deliveries, or retry failed ones")
    s.add_argument("action", nargs="?", choices=("list", "retry"), default="list")
    s.add_argument("id", nargs="?", default="all", help="with retry: a delivery id, or all (default)")
    s.add_argument("--status", choices=("pending", "sent", "failed", "all"), default="all")
    s.add_argument("--limit", type=int, default=50)
    s.set_defaults(func=cmd_outbox)

    s = sub.add_parser("ingest", help="load events from a JSON Lines or JSON array file")
    s.add_argument("file")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("import", help="load leads or activities from a CSV file (re-runs are idempotent)")
    s.add_argument("file")
    s.add_argument("--kind", choices=("leads", "activities"), default="leads", help="what the rows are (default leads)")
    s.add_argument("--map", action="append", metavar="HEADER=FIELD",
                   help="map a column to a field, e.g. --map \"E-mail=email\" (repeatable)")
    s.add_argument("--types", choices=("ours", "pardot"), default="ours",
                   help="activity type values: our kinds, or Account Engagement (Pardot) type codes")
    s.add_argument("--source", default="csv", help="source name for idempotency (default csv)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("sync", help="pull a source's activity log over its API")
    s.add_argument("source", choices=("marketo",))
    s.add_argument("--since", required=True, help="start date, e.g. 2026-11-01 or 2026-11-01T09:00:00Z (UTC if no offset)")
    s.add_argument("--resume", metavar="TOKEN", help="continue from a page token printed by an interrupted sync")
    s.add_argument("--quiet", action="store_true", help="no per-page progress")
    s.set_defaults(func=cmd_sync)

    s = sub.add_parser("brief", help="print the brief for a lead")
    s.add_argument("email")
    s.add_argument("--format", choices=("text", "blocks"), default="text")
    s.set_defaults(func=cmd_brief)

    s = sub.add_parser("accounts", help="accounts: list/show NAME, match (every lead), merge ID ID.., "
                                        "split ID EMAIL.. [--name], domains ID DOMAIN.., owner ID EMAIL|-")
    s.add_argument("action", choices=("list", "show", "match", "merge", "split", "domains", "owner"))
    s.add_argument("args", nargs="*")
    s.add_argument("--name", help="split: the new account's name")
    s.set_defaults(func=cmd_accounts)

    s = sub.add_parser("demo", help="load sample leads into a temporary database and print their briefs")
    s.add_argument("--export", metavar="FILE", help="only write the sample events to FILE as JSON Lines")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("db", help="database schema")
    s.add_argument("action", choices=("upgrade", "current"))
    s.set_defaults(func=cmd_db)

    s = sub.add_parser("forget", help="erase a lead (data, notes, briefs posted in Slack); audited")
    s.add_argument("email")
    s.add_argument("--yes", action="store_true", help="do not ask for confirmation (required without a terminal)")
    s.set_defaults(func=cmd_forget)

    s = sub.add_parser("audit", help="show who looked at or changed which lead, newest first")
    s.add_argument("--lead", metavar="EMAIL", help="entries about this lead (also after it was forgotten)")
    s.add_argument("--user", metavar="ID", help="entries by this Slack user id (U0123...) or cli:<name>")
    s.add_argument("--limit", type=int, default=200, help="at most this many entries (default 200)")
    s.add_argument("--format", choices=("text", "csv"), default="text")
    s.set_defaults(func=cmd_audit)

    s = sub.add_parser("report", help="leads qualified, time to claim and first touch, accepted vs not a fit, "
                                      "by source and campaign")
    s.add_argument("--days", type=int, default=30, help="the last N days (default 30)")
    s.add_argument("--format", choices=("text", "csv"), default="text")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("purge", help="delete activities older than [privacy] retention_days; audited")
    s.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    s.set_defaults(func=cmd_purge)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot import logs  # structured logs: request ids, secrets masked, LEADBRIEF_LOG_FORMAT=json

    logs.setup_from_env(logging.WARNING)
    try:
        settings = load_settings()
        return args.func(args, settings)
    except ConfigError as exc:
        err.print(f"configuration error: {exc}", markup=False)
        return 2
    except db.SchemaOutOfDate as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    except OperationalError as exc:
        err.print(f"error: cannot use the database ({exc.orig.__class__.__name__}: {str(exc.orig).strip()})", markup=False)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
