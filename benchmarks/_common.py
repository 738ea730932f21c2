"""Shared helpers for the benchmark scripts: machine description, percentiles, RESULTS.md sections.

Not a test module and not part of the package: the scripts import it as a sibling file.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import platform
import re
import sqlite3
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
HEADER = """# Benchmark results

Written by the scripts in this folder (see README.md); each script rewrites only its own section.
Figures are from one run on the machine described in each section; they are not asserted anywhere.
"""


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return m.group(1).strip() if m else (platform.processor() or "unknown")


def ram_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    m = re.search(r"^MemTotal:\s*(\d+) kB", text, re.M)
    return int(m.group(1)) / (1024 * 1024) if m else None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_lines(postgres_version: str | None = None) -> list[str]:
    ram = ram_gib()
    lines = [
        f"- CPU: {cpu_model()}; {usable_cores()} usable cores (os.cpu_count() = {os.cpu_count()})",
        f"- RAM: {ram:.1f} GiB" if ram else "- RAM: unknown",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), SQLite {sqlite3.sqlite_version}",
    ]
    if postgres_version:
        lines.append(f"- PostgreSQL {postgres_version}")
    with contextlib.suppress(OSError):
        lines.append("- Load average (1/5/15 min) when the run started: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
                     + " (other work on the machine makes the figures noisier)")
    return lines


def run_header(postgres_version: str | None = None) -> list[str]:
    command = "python " + " ".join([os.path.relpath(sys.argv[0], HERE.parent), *sys.argv[1:]])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [f"Run {stamp}: `{command}`", "", *machine_lines(postgres_version), ""]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def met(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def write_section(name: str, title: str, body: list[str], path: Path = RESULTS) -> None:
    """Replace (or append) the block between this section's markers; other sections are kept."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = "\n".join([begin, f"## {title}", "", *body, end])
    path.touch(exist_ok=True)
    with path.open("r+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        text = f.read() or HEADER
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _m: block, text)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        f.seek(0)
        f.truncate()
        f.write(text)
    print(f"wrote section '{name}' of {path}")


@contextlib.contextmanager
def chdir(path: Path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def pg_schema(base_url: str, *, migrate: bool = True):
    """A fresh schema, migrated to head unless told not to; yields a URL whose connections use it; dropped
    afterwards."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage import db

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
    try:
        if migrate:
            engine = db.make_engine(url)
            db.upgrade(engine)
            engine.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
