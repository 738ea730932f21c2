"""Event builders for tests: realistic payloads in the public contract's shape."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from briefs.events import parse_batch

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


class Events:
    """Builds events with unique ids, timed relative to `now`."""

    _ids = itertools.count(1)

    def __init__(self, now: datetime = NOW, prefix: str = "t"):
        self.now = now
        self.prefix = prefix

    def _event(self, type_: str, ago: timedelta, **body) -> dict:
        return {"type": type_, "id": f"{self.prefix}-{next(self._ids)}", "occurred_at": iso(self.now - ago), **body}

    def upsert(self, email: str, ago: timedelta = timedelta(0), **lead) -> dict:
        return self._event("lead.upsert", ago, lead={"email": email, **lead})

    def activity(self, email: str, kind: str, ago: timedelta = timedelta(0), **body) -> dict:
        return self._event("activity", ago, email=email, kind=kind, **body)

    def download(self, email: str, title: str, ago: timedelta, type_: str = "white paper", topic: str | None = None,
                 **body) -> dict:
        asset = {"title": title, "type": type_}
        if topic:
            asset["topic"] = topic
        return self.activity(email, "content_download", ago, asset=asset, **body)

    def visit(self, email: str, url: str, ago: timedelta) -> dict:
        return self.activity(email, "web_visit", ago, url=url)

    def form(self, email: str, form: str, comments: str | None = None, ago: timedelta = timedelta(minutes=1)) -> dict:
        body = {"form": form}
        if comments is not None:
            body["comments"] = comments
        return self.activity(email, "form_submit", ago, **body)

    def qualified(self, email: str, reason: str, ago: timedelta = timedelta(0), **body) -> dict:
        return self._event("lead.qualified", ago, email=email, reason=reason, **body)

    def note(self, email: str, author: str, text: str, ago: timedelta = timedelta(0)) -> dict:
        return self._event("lead.note", ago, email=email, author=author, text=text)


def researcher_history(ev: Events, email: str = "jon.doe@acme.example") -> list[dict]:
    """Seven touches over nine days and a score that crosses 100 two minutes ago."""
    d = timedelta
    return [
        ev.upsert(email, d(days=10), first_name="Jon", last_name="Doe", title="Director of Operations",
                  company="Acme Widgets", owner_email="jane@ourco.example", score=40),
        ev.visit(email, "https://ourco.example/solutions/widgets", d(days=9)),
        ev.download(email, "10 Tips for Improving your Widget ROI", d(days=8), topic="widget ROI", campaign="ROI"),
        ev.activity(email, "email_open", d(days=6), subject="Your widget ROI checklist", campaign="ROI"),
        ev.activity(email, "email_click", d(days=6), subject="Your widget ROI checklist", campaign="ROI"),
        ev.visit(email, "https://ourco.example/blog/widgets-101", d(days=4)),
        ev.visit(email, "https://ourco.example/pricing", d(days=2)),
        ev.download(email, "The Lifecycle of a Widget", d(days=1), type_="infographic", topic="the widget lifecycle",
                    campaign="ROI"),
        ev.upsert(email, d(minutes=2), score=110),
    ]


def parsed(events: list[dict]):
    return parse_batch({"events": events})


# The same pricing page as browsers and trackers report it: one page by the touch rule's page key.
PRICING_URLS = ("https://ourco.example/pricing", "https://ourco.example/pricing/", "https://OURCO.example/Pricing",
                "https://ourco.example/pricing?utm_source=newsletter", "http://www.ourco.example/PRICING/#plans")


def downloads_and_pricing_views(ev: Events, email: str) -> list[dict]:
    """Issue 14's example: 300 recent downloads (every 10 minutes over the last 50 hours) and, before them,
    100 views of the pricing page, 10 a day over 10 days. By the touch rule: 300 + 10 = 310 touches."""
    d = timedelta
    downloads = [ev.download(email, f"Paper {i}", d(minutes=10 * i)) for i in range(300)]
    start_of_today = ev.now.replace(hour=0, minute=0, second=0, microsecond=0)
    views = [
        ev.visit(email, PRICING_URLS[(day + n) % len(PRICING_URLS)],
                 ev.now - (start_of_today - d(days=day) + d(hours=8, minutes=30 * n)))
        for day in range(3, 13) for n in range(10)
    ]
    return downloads + views
