"""Slack latency: qualifying webhook -> chat.postMessage, and /lead acknowledgement under 20 concurrent users.

Runs the real app (uvicorn on loopback) against the fake Slack Web API from tests/fake_slack.py, with a
fresh SQLite database. Targets (issue #3): webhook -> post p99 <= 2 s when Slack is not throttling;
/lead ack p99 <= 300 ms with 20 concurrent requests.

    python benchmarks/slack.py [--webhooks 100] [--rate 5] [--users 20] [--lookups 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import met, percentile, run_header, write_section  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from handlers.webhooks import sign  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
SIGNING_SECRET = "bench-slack-signing-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp: str, fake: FakeSlack) -> tuple[subprocess.Popen, str]:
    """`leadbrief serve` in its own process, as deployed: the load generator does not share its GIL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBRIEF_", "SLACK_", "DATABASE_URL"))}
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp}/bench.db", "LEADBRIEF_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.url,
        "LEADBRIEF_DEFAULT_CHANNEL": "C0Q",
    })
    proc = subprocess.Popen([str(Path(sys.executable).parent / "leadbrief"), "serve", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("leadbrief serve did not start")


def hand_raiser(i: int, now: datetime) -> list[dict]:
    email = f"lead{i}@bench.example"
    at = now.isoformat().replace("+00:00", "Z")
    return [
        {"type": "lead.upsert", "id": f"u{i}", "occurred_at": at,
         "lead": {"email": email, "first_name": f"Lead{i}", "company": "Bench Co", "owner_email": f"rep{i % 20}@ourco.example"}},
        {"type": "activity", "id": f"f{i}", "occurred_at": at, "email": email, "kind": "form_submit",
         "form": "Contact Sales", "comments": "We need widgets for 40 plants this quarter."},
    ]


def webhook_to_post(http: httpx.Client, url: str, fake: FakeSlack, n: int, rate: float) -> list[float]:
    sent: dict[str, float] = {}
    for i in range(n):
        body = json.dumps({"events": hand_raiser(i, datetime.now(UTC))}).encode()
        ts = str(int(time.time()))
        sent[f"Lead{i}"] = time.time()
        r = http.post(f"{url}/webhooks/events", content=body, headers={
            "Content-Type": "application/json", "X-Leadbrief-Timestamp": ts,
            "X-Leadbrief-Signature": sign(WEBHOOK_SECRET, ts, body)})
        assert r.status_code == 202 and r.json()["qualified"] == 1, r.text
        time.sleep(1 / rate)
    fake.wait_for("chat.postMessage", n, timeout=120)
    latencies = []
    for call in [c for c in fake.calls if c.method == "chat.postMessage"]:
        name = call.params["text"].split(" ")[1]
        latencies.append(call.at - sent[name])
    return latencies


def ack_latency(url: str, fake: FakeSlack, users: int, per_user: int) -> list[float]:
    verifier = SignatureVerifier(SIGNING_SECRET)

    def one_user(u: int) -> list[float]:
        out = []
        with httpx.Client(timeout=10) as client:
            for k in range(per_user):
                body = urllib.parse.urlencode({
                    "command": "/lead", "text": f"lead{(u * per_user + k) % 50}@bench.example", "user_id": f"U{u:04d}",
                    "team_id": "T0FAKE", "channel_id": "C0Q", "response_url": fake.response_url(f"a{u}-{k}"),
                    "trigger_id": "t"})
                ts = str(int(time.time()))
                headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                           "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body)}
                started = time.perf_counter()
                r = client.post(f"{url}/slack/events", content=body, headers=headers)
                out.append(time.perf_counter() - started)
                assert r.status_code == 200, r.text
        return out

    with ThreadPoolExecutor(users) as pool:
        results = [t for batch in pool.map(one_user, range(users)) for t in batch]
    for u in range(users):
        for k in range(per_user):
            fake.wait_for_responses(f"a{u}-{k}", timeout=60)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--webhooks", type=int, default=100)
    p.add_argument("--rate", type=float, default=5.0, help="qualifying webhooks per second")
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--lookups", type=int, default=10, help="lookups per concurrent user")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake:
        fake.add_channel("C0Q", "leads-queue")
        for r in range(20):
            fake.add_user(f"rep{r}@ourco.example", f"U0REP{r:02d}", f"rep{r}")
        proc, url = start(tmp, fake)
        try:
            with httpx.Client(timeout=30) as http:
                post = webhook_to_post(http, url, fake, args.webhooks, args.rate)
            ack_latency(url, fake, args.users, 1)  # warm-up: imports, connection pools
            acks = ack_latency(url, fake, args.users, args.lookups)
        finally:
            proc.terminate()
            proc.wait(15)

    post_p = {q: percentile(post, q) for q in (50, 95, 99)}
    ack_p = {q: percentile(acks, q) * 1000 for q in (50, 95, 99)}
    print(f"webhook -> chat.postMessage: p50 {post_p[50]:.3f}s p95 {post_p[95]:.3f}s p99 {post_p[99]:.3f}s")
    print(f"/lead ack, {args.users} concurrent: p50 {ack_p[50]:.0f} ms p95 {ack_p[95]:.0f} ms p99 {ack_p[99]:.0f} ms")
    body = run_header() + [
        f"Webhook to `chat.postMessage`: {len(post)} qualifying webhooks at {args.rate:g}/s over 20 reps (DMs), "
        f"fake Slack not throttling.",
        "",
        "| | p50 | p95 | p99 | target |",
        "| --- | --- | --- | --- | --- |",
        f"| webhook → chat.postMessage | {post_p[50]:.3f} s | {post_p[95]:.3f} s | {post_p[99]:.3f} s | p99 ≤ 2 s: {met(post_p[99] <= 2)} |",
        f"| `/lead EMAIL` ack, {args.users} concurrent × {args.lookups} | {ack_p[50]:.0f} ms | {ack_p[95]:.0f} ms | "
        f"{ack_p[99]:.0f} ms | p99 ≤ 300 ms: {met(ack_p[99] <= 300)} |",
    ]
    write_section("slack", "Slack latency (benchmarks/slack.py)", body)


if __name__ == "__main__":
    main()
