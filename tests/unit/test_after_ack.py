"""The work after a Slack ack (bot.gateway.SlackContext.after_ack): queued, bounded, never silently lost."""

from __future__ import annotations

import threading

import bot.gateway
from bot.gateway import SlackContext


def _context() -> SlackContext:
    return SlackContext(client=None, directory=None)  # type: ignore[arg-type]


def test_work_runs_after_the_ack_and_a_failure_is_logged_not_raised(caplog):
    ctx = _context()
    done = threading.Event()
    ctx.after_ack(lambda: 1 / 0, lambda: None)
    ctx.after_ack(done.set, lambda: None)
    assert done.wait(5)
    ctx.work.shutdown(wait=True)
    assert "work after an ack failed" in caplog.text and ctx._waiting == 0


def test_past_the_bound_a_request_is_told_busy_at_once(monkeypatch):
    monkeypatch.setattr(bot.gateway, "MAX_WAITING", 3)
    ctx = _context()
    release, busy = threading.Event(), []
    for _ in range(3):
        ctx.after_ack(lambda: release.wait(5), lambda: busy.append("no"))
    ctx.after_ack(lambda: None, lambda: busy.append("busy"))
    assert busy == ["busy"]
    release.set()
    ctx.work.shutdown(wait=True)
    assert ctx._waiting == 0
    ctx2 = _context()
    ctx2.work.shutdown(wait=True)  # shutting down: new work is refused, and the sender told so
    ctx2.after_ack(lambda: None, lambda: busy.append("closed"))
    assert busy == ["busy", "closed"] and ctx2._waiting == 0
