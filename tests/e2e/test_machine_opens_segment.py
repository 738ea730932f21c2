"""A week of Segment email events, replayed over HTTP into the app and the fake Slack: the dozen newsletter opens
Apple's Mail Privacy Protection logged two seconds after delivery are left out of the touches, and the posted brief
says so ("N human touches (M machine opens left out)"), and flags the gmail address the hand-raiser used; a shared
info@ inbox is flagged the same way. Built from Segment's own spec samples (tests/fixtures/segment/SOURCES.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from handlers.sources import segment
from tests.e2e.test_source_segment import SEGMENT_SECRET, fixture, post
from tests.support.blockkit import validate_message_blocks
from tests.support.live import LiveServer

APPLE_PROXY = {"userAgent": "Mozilla/5.0", "ip": "17.58.101.14"}
OUTLOOK = {"userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Microsoft Outlook 16.0.17928; Pro", "ip": "84.17.33.202"}
NEWSLETTERS = ["Ihr November-Update", "Webinar: from MQL to meeting in 5 minutes", "Nur noch 3 Plätze frei",
               "5 mitos del speed-to-lead", "Case study: Brightforge GmbH", "Le rapport routing 2026",
               "New: Slack digests", "Office hours this Thursday", "Your trial recap", "Black Friday: -20 %",
               "Roadmap Q1", "Holiday support hours"]


def stamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def track(template: str, email: str, when: datetime, n: int, user_id: str, **context) -> dict:
    """One of Segment's spec samples (spec_email_*.json: the Email spec's shape) as a track call sent `when`."""
    spec = fixture(template)
    return {"type": "track", "event": spec["event"], "messageId": f"{user_id}-{template}-{n}", "userId": user_id,
            "timestamp": stamp(when), "context": {"traits": {"email": email}, **context},
            "properties": dict(spec["properties"])}


def newsletter_week(email: str, user_id: str, now: datetime) -> list[dict]:
    messages = []
    for i, subject in enumerate(NEWSLETTERS):
        delivered = now - timedelta(days=6, hours=2) + timedelta(hours=11 * i)
        props = {"email_id": f"nl-{4100 + i}", "email_subject": subject, "campaign_id": "412",
                 "campaign_name": "Newsletter DE/EN"}
        d = track("spec_email_delivered", email, delivered, i, user_id)
        o = track("spec_email_opened", email, delivered + timedelta(seconds=2), i, user_id, **APPLE_PROXY)
        d["properties"], o["properties"] = props, dict(props)
        messages += [d, o]
    # The one they read, at the office, three hours later, and the pricing link they clicked.
    read = {"email_id": "nl-4200", "email_subject": "Pricing that scales with your team", "campaign_id": "413",
            "campaign_name": "Pricing nurture"}
    sent = now - timedelta(days=2, hours=5)
    d = track("spec_email_delivered", email, sent, 99, user_id)
    o = track("spec_email_opened", email, sent + timedelta(hours=3), 99, user_id, **OUTLOOK)
    c = track("spec_email_link_clicked", email, sent + timedelta(hours=3, minutes=1), 99, user_id, **OUTLOOK)
    d["properties"], o["properties"] = dict(read), dict(read)
    c["properties"] = {**read, "link_url": "https://ourco.example/pricing?utm_source=nurture"}
    return messages + [d, o, c]


def identify(email: str, company: str, first_name: str, when: datetime, user_id: str) -> dict:
    msg = fixture("spec_identify")
    return {"type": "identify", "messageId": f"{user_id}-identify", "userId": user_id, "timestamp": stamp(when),
            "traits": {"email": email, "company": company, "first_name": first_name}, "context": msg.get("context", {})}


def demo_request(email: str, company: str, comments: str, when: datetime, user_id: str) -> dict:
    demo = fixture("demo_requested")
    return {**demo, "messageId": f"{user_id}-demo", "userId": user_id, "timestamp": stamp(when),
            "originalTimestamp": stamp(when), "receivedAt": stamp(when), "sentAt": stamp(when),
            "context": {**demo["context"], "traits": {"email": email, "company": company, "first_name": "Jana"}},
            "properties": {"comments": comments}}


@pytest.fixture
def server(slack_settings):
    with LiveServer(segment.CONFIG.configure(slack_settings, secret=SEGMENT_SECRET)) as s:
        yield s


def _brief_text(call: dict) -> str:
    return json.dumps(call["blocks"], ensure_ascii=False)


def test_the_posted_brief_leaves_the_prefetched_opens_out_and_flags_the_gmail_address(http, server, fake_slack):
    now = datetime.now(UTC)
    email = "jana.novak.1988@gmail.com"
    week = [identify(email, "Brightforge GmbH", "Jana", now - timedelta(days=7), "usr_jana"),
            *newsletter_week(email, "usr_jana", now)]
    r = post(http, server, {"batch": week})
    assert r.status_code == 202 and r.json()["accepted"] == len(week) == 28, r.text
    form = demo_request(email, "Brightforge GmbH", "Wir evaluieren gerade Tools für 25 SDRs. Können wir diese "
                        "Woche sprechen? <script>alert(1)</script> *dringend*", now - timedelta(minutes=3), "usr_jana")
    r = post(http, server, form)
    assert r.json()["qualified"] == 1, r.text

    (call,) = fake_slack.wait_for("chat.postMessage")
    assert validate_message_blocks(call["blocks"], call.get("text")) == []
    brief = _brief_text(call)
    # The Outlook read, the click and the form: 3 human touches; the twelve prefetches left out.
    assert "3 human touches (12 machine opens left out)" in brief
    assert "Ready now: asked to talk to sales (3 human touches so far)" in brief
    assert "Personal address (gmail.com): the company, Brightforge GmbH, comes from the form and is unverified." in brief
    assert "&lt;script&gt;" in brief and "<script>" not in brief  # the lead's words are data
    # A prefetched newsletter is not listed as opened; the one they read is.
    assert "Ihr November-Update" not in brief and "Pricing that scales with your team" in brief


def test_a_shared_inbox_hand_raiser_is_briefed_and_flagged(http, server, fake_slack):
    now = datetime.now(UTC)
    email = "info@kanzlei-mueller.example"
    assert post(http, server, identify(email, "Kanzlei Müller & Partner mbB", "", now - timedelta(days=1),
                                       "usr_kanzlei")).status_code == 202
    r = post(http, server, demo_request(email, "Kanzlei Müller & Partner mbB", "Bitte um Rückruf wegen Preisen "
                                        "für 12 Anwälte.", now - timedelta(minutes=2), "usr_kanzlei"))
    assert r.json()["qualified"] == 1, r.text
    (call,) = fake_slack.wait_for("chat.postMessage")
    assert validate_message_blocks(call["blocks"], call.get("text")) == []
    brief = _brief_text(call)
    assert ("Shared inbox (info@): whoever reads it may not be the person who asked; the company, Kanzlei Müller "
            "&amp; Partner mbB, comes from the form and is unverified.") in brief
    assert "machine opens" not in brief  # none to leave out: the count says touches, as before
