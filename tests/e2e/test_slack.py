"""Slack end to end: webhooks in, briefs posted to the fake Slack; signed commands and clicks in."""

import json
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.server import delivery_sink
from bot.worker import DeliveryWorker
from storage.models import Delivery, HandoffNote, Lead, Qualification
from tests.support.factories import Events, researcher_history
from tests.support.live import LiveServer, wait_for
from tests.support.signing import signed_headers, slack_headers
from tests.support.team import QUEUE

d = timedelta


def events_now():
    return Events(now=datetime.now(UTC), prefix=f"s{time.time_ns()}")


def send_webhook(http, server, events) -> dict:
    body = json.dumps({"events": events}).encode()
    r = http.post(f"{server.url}/webhooks/events", content=body, headers=signed_headers(body))
    assert r.status_code == 202, r.text
    return r.json()


def hand_raiser(ev, email="sam@globex.example", owner="jane@ourco.example", **lead):
    # The company is the address's (kim@hooli.example works at Hooli): two people at one company are one account.
    lead.setdefault("company", email.split("@")[1].split(".")[0].capitalize())
    return [
        ev.upsert(email, d(days=1), first_name="Sam", last_name="Rivera", owner_email=owner, **lead),
        ev.form(email, "Contact Sales", "Pat Lee referred me. We need widgets for 40 plants this quarter."),
    ]


def slash(http, server, fake, text, user="U0JANE", name="cmd"):
    body = urllib.parse.urlencode({
        "token": "legacy", "team_id": "T0FAKE", "channel_id": "C0JANE", "user_id": user, "user_name": "jane",
        "command": "/lead", "text": text, "response_url": fake.response_url(name), "trigger_id": "1.2.trig",
    })
    return http.post(f"{server.url}/slack/events", content=body, headers=slack_headers(body))


def click(http, server, fake, action_id, value, user="U0JANE", channel=QUEUE, ts="1.0", name="click"):
    payload = {
        "type": "block_actions", "user": {"id": user, "username": "x"}, "api_app_id": "A0", "token": "legacy",
        "team": {"id": "T0FAKE"}, "trigger_id": "2.3.trig", "channel": {"id": channel}, "message": {"ts": ts},
        "container": {"type": "message", "channel_id": channel, "message_ts": ts},
        "response_url": fake.response_url(name),
        "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button", "action_ts": "1"}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return http.post(f"{server.url}/slack/events", content=body, headers=slack_headers(body))


def posted_text(call: dict) -> str:
    return json.dumps(call["blocks"], ensure_ascii=False)


def test_brief_goes_to_the_owner_as_a_dm_exactly_once(http, slack_server, fake_slack):
    ev = events_now()
    events = researcher_history(ev)
    events[0]["lead"]["owner_email"] = "jane@ourco.example"
    assert send_webhook(http, slack_server, events)["qualified"] == 1
    post = fake_slack.wait_for("chat.postMessage")[0]
    assert post["channel"] == "U0JANE"
    assert "I saw you downloaded _The Lifecycle of a Widget_" in posted_text(post)
    assert "lead_claim" in posted_text(post) and "Unassigned" not in posted_text(post)
    # Replayed webhook: no second post.
    assert send_webhook(http, slack_server, events)["duplicates"] == 9
    slack_server.delivery_idle()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    with slack_server.services.sessions() as s:
        delivery = s.scalars(select(Delivery)).one()
        assert (delivery.status, delivery.channel, delivery.ts) == ("sent", "D0JANE", fake_slack_ts(fake_slack))


def fake_slack_ts(fake):
    return next(iter(fake.messages))[1]


def wait_brief_recorded(server: LiveServer) -> None:
    """Slack has the brief before the worker stores its ts; a note sent in between has no thread to go to."""
    def recorded():
        with server.services.sessions() as s:
            return s.scalars(select(Delivery).where(Delivery.ts.is_not(None))).first() is not None
    wait_for(recorded, timeout=10, interval=0.05)


@pytest.mark.parametrize("owner,reason", [
    (None, "no owner in the CRM"),
    ("ghost@ourco.example", "owner ghost@ourco.example is not in this Slack workspace"),
])
def test_unroutable_briefs_go_to_the_team_queue_with_the_reason(http, slack_server, fake_slack, owner, reason):
    ev = events_now()
    send_webhook(http, slack_server, hand_raiser(ev, owner=owner) if owner else hand_raiser(ev, owner=None))
    post = fake_slack.wait_for("chat.postMessage")[0]
    assert post["channel"] == QUEUE
    assert f"Unassigned queue:* {reason}" in posted_text(post)
    assert '"action_id": "lead_claim"' in posted_text(post)


def test_rep_route_wins_and_a_broken_route_falls_back_to_the_queue(http, slack_server, fake_slack):
    r = slash(http, slack_server, fake_slack, "route <#C0JANE|jane-leads>", name="route")
    assert r.status_code == 200
    assert "will go to <#C0JANE>" in fake_slack.wait_for_responses("route")[0]["text"]
    slash(http, slack_server, fake_slack, "route", name="show")
    assert "go to <#C0JANE>" in fake_slack.wait_for_responses("show")[0]["text"]
    ev = events_now()
    send_webhook(http, slack_server, hand_raiser(ev))
    assert fake_slack.wait_for("chat.postMessage")[0]["channel"] == "C0JANE"
    # The channel is gone: the next brief still arrives, in the queue, saying why.
    fake_slack.fail("chat.postMessage", "channel_not_found")
    send_webhook(http, slack_server, hand_raiser(ev, email="kim@hooli.example"))
    posts = fake_slack.wait_for("chat.postMessage", 3)
    assert posts[2]["channel"] == QUEUE
    assert "could not post to the rep" in posted_text(posts[2]) and "channel_not_found" in posted_text(posts[2])


@pytest.fixture
def manual(slack_settings):
    """The app with delivery driven by the test, on a clock the test moves."""
    with LiveServer(slack_settings, run_worker=False) as server:
        clock = [datetime.now(UTC)]
        server.services.clock = lambda: clock[0]  # ingestion, the worker and channel pacing all on it
        server.deliver = DeliveryWorker(server.services.sessions, delivery_sink(server.services),
                                        clock=lambda: clock[0]).run_once
        server.clock = clock
        yield server


def _delivery(server) -> Delivery:
    with server.services.sessions() as s:
        return s.scalars(select(Delivery)).one()


def test_rate_limit_is_waited_out_and_posted_once(http, manual, fake_slack):
    send_webhook(http, manual, hand_raiser(events_now()))
    manual.clock[0] = datetime.now(UTC)
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=7)
    assert manual.deliver() == 0
    d1 = _delivery(manual)
    assert d1.status == "pending" and d1.attempts == 0
    assert d1.next_attempt_at >= manual.clock[0] + d(seconds=6)
    manual.clock[0] += d(seconds=8)
    assert manual.deliver() == 1
    assert _delivery(manual).status == "sent"
    assert len([c for c in fake_slack.calls if c.method == "chat.postMessage"]) == 2  # one 429, one post
    assert manual.deliver() == 0


def test_server_errors_are_retried_with_backoff_and_posted_once(http, manual, fake_slack):
    send_webhook(http, manual, hand_raiser(events_now()))
    manual.clock[0] = datetime.now(UTC)
    fake_slack.server_error("chat.postMessage", times=4, status=503)
    # The client never reposts by itself (a 5xx may come after the post went through): the outbox backs off,
    # and each retry first looks for the earlier post: Jane's brief is a DM, and as no DM with her exists yet
    # (the posts failed), finding none among the bot's DMs settles it without reading any history.
    for attempt in range(1, 5):
        assert manual.deliver() == 0
        failed = _delivery(manual)
        assert (failed.status, failed.attempts, failed.last_error) == ("pending", attempt, "Slack error: HTTP 503")
        assert len(fake_slack.calls_to("chat.postMessage")) == attempt
        assert len(fake_slack.calls_to("users.conversations")) == attempt - 1
        assert fake_slack.calls_to("conversations.history") == []
        manual.clock[0] = failed.next_attempt_at + d(seconds=1)
    assert manual.deliver() == 1
    assert _delivery(manual).status == "sent"
    oks = [c for c in fake_slack.calls if c.method == "chat.postMessage"]
    assert len(oks) == 5 and len(fake_slack.messages) == 1


def test_permanent_errors_dead_letter_with_the_reason(http, manual, fake_slack):
    send_webhook(http, manual, hand_raiser(events_now()))
    manual.clock[0] = datetime.now(UTC)
    fake_slack.fail("chat.postMessage", "invalid_blocks")
    manual.deliver()
    failed = _delivery(manual)
    assert failed.status == "failed" and "invalid_blocks" in failed.last_error
    from storage import outbox

    with manual.services.sessions.begin() as s:
        assert outbox.retry(s, failed.id, manual.clock[0]) == 1
    manual.clock[0] += d(seconds=2)  # the failed call used the channel's posting slot
    assert manual.deliver() == 1 and _delivery(manual).status == "sent"


def test_lead_lookup_search_and_help(http, slack_server, fake_slack):
    ev = events_now()
    history = researcher_history(ev)
    history[0]["lead"].update(first_name="José", company="Acme Widgets")
    send_webhook(http, slack_server, history)
    send_webhook(http, slack_server, hand_raiser(ev))
    r = slash(http, slack_server, fake_slack, "<mailto:jon.doe@acme.example|jon.doe@acme.example>", name="lookup")
    assert r.status_code == 200 and r.text == ""
    reply = fake_slack.wait_for_responses("lookup")[0]
    assert reply["response_type"] == "ephemeral"
    assert reply["blocks"][0]["text"]["text"].startswith("🔥 José Doe")
    for query, name in (("jose", "s1"), ("ACME widgts", "s2"), ("Doe", "s3")):
        slash(http, slack_server, fake_slack, query, name=name)
        found = fake_slack.wait_for_responses(name)[0]
        assert "José Doe" in json.dumps(found, ensure_ascii=False), query
        assert next(b for b in found["blocks"] if "accessory" in b)["accessory"]["action_id"] == "lead_open"
    slash(http, slack_server, fake_slack, "zzqxj", name="none")
    assert "No lead matches “zzqxj”" in fake_slack.wait_for_responses("none")[0]["text"]
    slash(http, slack_server, fake_slack, "nobody@acme.example", name="unknown")
    assert "No lead with the email nobody@acme.example" in fake_slack.wait_for_responses("unknown")[0]["text"]
    slash(http, slack_server, fake_slack, "note", name="bad")
    assert "Usage: `/lead note EMAIL TEXT`" in fake_slack.wait_for_responses("bad")[0]["text"]
    slash(http, slack_server, fake_slack, "help", name="help")
    assert "/lead route #my-leads" in fake_slack.wait_for_responses("help")[0]["text"]
    # "Open brief" from a search result:
    click(http, slack_server, fake_slack, "lead_open", "jon.doe@acme.example", name="open")
    assert fake_slack.wait_for_responses("open")[0]["blocks"][0]["text"]["text"].startswith("🔥 José Doe")


def test_lead_search_puts_the_asking_reps_own_lead_first_among_names_spelt_alike(http, slack_server, fake_slack):
    """"/lead Lea Beres" is one letter off three leads alike: each rep sees their own first (their email read
    from Slack's users.info), Mia in marketing owns none and sees the one active most recently."""
    ev = events_now()
    send_webhook(http, slack_server, [
        ev.upsert("lea.beris@summit.example", first_name="Lea", last_name="Beris", company="Summit Vertex",
                  owner_email="omar@ourco.example"),
        ev.upsert("lea.berez@helios.example", first_name="Léa", last_name="Berez", company="Helios",
                  owner_email="Jane@OurCo.example"),
        ev.upsert("lea@orion.example", first_name="Lea", last_name="Beren", company="Orion Labs",
                  owner_email="li@ourco.example"),
        ev.visit("lea@orion.example", "https://ourco.example/pricing", timedelta(minutes=20)),
    ])
    firsts = {}
    for user in ("U0OMAR", "U0JANE", "U0MIA"):
        slash(http, slack_server, fake_slack, "Lea Beres", user=user, name=f"beres-{user}")
        blocks = fake_slack.wait_for_responses(f"beres-{user}")[0]["blocks"]
        firsts[user] = next(b for b in blocks if "accessory" in b)["accessory"]["value"]
    assert firsts == {"U0OMAR": "lea.beris@summit.example", "U0JANE": "lea.berez@helios.example",
                      "U0MIA": "lea@orion.example"}


def test_lead_search_answers_when_slack_will_not_say_who_is_asking(http, slack_server, fake_slack):
    """users.info failing (an error, then a 503) costs the search its "your own first" order, not its answer."""
    ev = events_now()
    send_webhook(http, slack_server, [
        ev.upsert("lea.beris@summit.example", first_name="Lea", last_name="Beris", company="Summit Vertex",
                  owner_email="mia@ourco.example")])
    fake_slack.fail("users.info", "fatal_error", times=1)
    slash(http, slack_server, fake_slack, "Lea Beres", user="U0MIA", name="err")
    fake_slack.server_error("users.info", times=10)
    slash(http, slack_server, fake_slack, "Lea Beris", user="U0OMAR", name="503")
    for name in ("err", "503"):
        blocks = fake_slack.wait_for_responses(name)[0]["blocks"]
        assert next(b for b in blocks if "accessory" in b)["accessory"]["value"] == "lea.beris@summit.example"


def _blocked_searches(monkeypatch):
    """Every /lead search waits until the returned event is set (the work after the ack, held)."""
    from bot.usecases import lookup

    release, started = threading.Event(), threading.Semaphore(0)
    real = lookup.search

    def held(*args, **kwargs):
        started.release()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(lookup, "search", held)
    return release, started


def test_lead_is_acknowledged_while_earlier_searches_still_work(http, slack_server, fake_slack, monkeypatch):
    """40 searches at once while the work after each ack is held: every one is acknowledged (Bolt's 32 listener
    threads are let go at their ack, not kept until the search is done), then every one is answered."""
    release, _started = _blocked_searches(monkeypatch)
    users = [f"U0BUSY{i:02d}" for i in range(40)]
    for i, user in enumerate(users):
        fake_slack.add_user(f"busy{i}@ourco.example", user, f"busy{i}")
    fake_slack.set_members(QUEUE, ["U0JANE", "U0OMAR", "U0MIA", *users])
    with httpx.Client(timeout=8) as client, ThreadPoolExecutor(40) as pool:
        acked = list(pool.map(lambda u: slash(client, slack_server, fake_slack, "acme", user=u, name=f"busy-{u}"),
                              users))
    assert [r.status_code for r in acked] == [200] * 40
    assert not any(f"busy-{u}" in fake_slack.response_at for u in users)  # acked, none answered yet
    release.set()
    for u in users:
        assert "No lead matches" in fake_slack.wait_for_responses(f"busy-{u}", timeout=20)[0]["text"]


def test_lead_says_busy_at_once_when_too_many_wait(http, slack_server, fake_slack, monkeypatch):
    import bot.gateway

    monkeypatch.setattr(bot.gateway, "MAX_WAITING", 3)
    release, started = _blocked_searches(monkeypatch)
    for k in range(3):
        slash(http, slack_server, fake_slack, "acme", name=f"q{k}")
    assert started.acquire(timeout=10) and started.acquire(timeout=10)  # two at work, one waiting
    slash(http, slack_server, fake_slack, "acme", name="over")
    assert fake_slack.wait_for_responses("over")[0]["text"] == "Leadbrief is very busy right now. Please try " \
        "again in a minute."
    release.set()
    for k in range(3):
        assert "No lead matches" in fake_slack.wait_for_responses(f"q{k}")[0]["text"]


def test_note_is_saved_threaded_under_the_brief_and_shown_later(http, slack_server, fake_slack):
    ev = events_now()
    send_webhook(http, slack_server, hand_raiser(ev))
    brief = fake_slack.wait_for("chat.postMessage")[0]
    ts = fake_slack_ts(fake_slack)
    wait_brief_recorded(slack_server)
    slash(http, slack_server, fake_slack, "note sam@globex.example Met at the expo <!channel> & co", user="U0MIA", name="note")
    assert "posted in the brief's thread" in fake_slack.wait_for_responses("note")[0]["text"]
    thread = fake_slack.wait_for("chat.postMessage", 2)[1]
    assert brief["channel"] == "U0JANE"
    assert (thread["channel"], thread["thread_ts"]) == ("D0JANE", ts)
    assert "Met at the expo &lt;!channel&gt; &amp; co" in thread["text"]
    with slack_server.services.sessions() as s:
        note = s.scalars(select(HandoffNote)).one()
        assert (note.author, note.body) == ("Mia Marketing", "Met at the expo <!channel> & co")
    slash(http, slack_server, fake_slack, "sam@globex.example", name="after")
    assert "Mia Marketing" in json.dumps(fake_slack.wait_for_responses("after")[0])


def test_mine_lists_my_open_leads(http, slack_server, fake_slack):
    send_webhook(http, slack_server, hand_raiser(events_now()))
    slash(http, slack_server, fake_slack, "mine", name="mine")
    assert "Sam Rivera" in json.dumps(fake_slack.wait_for_responses("mine")[0])
    slash(http, slack_server, fake_slack, "mine", user="U0OMAR", name="omar")
    assert fake_slack.wait_for_responses("omar")[0]["text"] == "You have no open leads right now."


def test_claim_contacted_and_not_a_fit_update_the_message(http, slack_server, fake_slack):
    send_webhook(http, slack_server, hand_raiser(events_now(), owner=None))
    fake_slack.wait_for("chat.postMessage")
    with slack_server.services.sessions() as s:
        q = s.scalars(select(Qualification)).one()
    qid = str(q.id)
    assert click(http, slack_server, fake_slack, "lead_claim", qid, user="U0OMAR", name="claim").status_code == 200
    assert fake_slack.wait_for_responses("claim")[0]["text"].startswith("It's yours")
    update = fake_slack.wait_for("chat.update")[0]
    text = json.dumps(update["blocks"])
    assert "Claimed by <@U0OMAR>" in text and '"lead_claim"' not in text and '"lead_contacted"' in text
    click(http, slack_server, fake_slack, "lead_claim", qid, user="U0JANE", name="again")
    assert "Already claimed by <@U0OMAR>" in fake_slack.wait_for_responses("again")[0]["text"]
    with slack_server.services.sessions() as s:
        lead = s.scalars(select(Lead).where(Lead.email == "sam@globex.example")).one()
        assert lead.owner_email == "omar@ourco.example"

    click(http, slack_server, fake_slack, "lead_contacted", qid, user="U0OMAR", name="contacted")
    fake_slack.wait_for_responses("contacted")
    assert "Contacted by <@U0OMAR>" in json.dumps(fake_slack.wait_for("chat.update", 2)[1]["blocks"])

    click(http, slack_server, fake_slack, "lead_not_a_fit", qid, user="U0OMAR", name="naf")
    view = fake_slack.wait_for("views.open")[0]
    assert view["trigger_id"] == "2.3.trig" and view["view"]["callback_id"] == "not_a_fit_view"
    submission = {
        "type": "view_submission", "user": {"id": "U0OMAR"}, "team": {"id": "T0FAKE"}, "api_app_id": "A0",
        "token": "legacy", "trigger_id": "3.4.trig",
        "view": {**view["view"], "id": "V1", "state": {"values": {
            "reason": {"value": {"type": "static_select", "selected_option": {"value": "no_budget"}}},
            "detail": {"value": {"type": "plain_text_input", "value": "Next fiscal year"}},
        }}},
    }
    body = urllib.parse.urlencode({"payload": json.dumps(submission)})
    r = http.post(f"{slack_server.url}/slack/events", content=body, headers=slack_headers(body))
    assert r.status_code == 200
    final = json.dumps(fake_slack.wait_for("chat.update", 3)[2]["blocks"])
    assert "Not a fit (No budget: Next fiscal year)" in final and '"lead_not_a_fit"' not in final
    with slack_server.services.sessions() as s:
        q = s.get(Qualification, q.id)
        assert (q.status, q.status_reason, q.claimed_by) == ("not_a_fit", "No budget: Next fiscal year", "U0OMAR")
        assert q.contacted_at is not None


def test_not_a_fit_without_a_reason_is_refused_in_the_modal(http, slack_server, fake_slack):
    submission = {"type": "view_submission", "user": {"id": "U0OMAR"}, "team": {"id": "T0FAKE"}, "api_app_id": "A0",
                  "token": "legacy", "view": {"id": "V1", "type": "modal", "callback_id": "not_a_fit_view", "private_metadata": "{\"q\": 1}",
                                              "state": {"values": {}}}}
    body = urllib.parse.urlencode({"payload": json.dumps(submission)})
    r = http.post(f"{slack_server.url}/slack/events", content=body, headers=slack_headers(body))
    assert r.json() == {"response_action": "errors", "errors": {"reason": "Pick a reason from the list."}}


def test_unsigned_or_stale_slack_requests_are_refused(http, slack_server, fake_slack):
    body = urllib.parse.urlencode({"command": "/lead", "text": "help", "user_id": "U0JANE",
                                   "response_url": fake_slack.response_url("x")})
    bad = slack_headers(body, secret="not-the-secret")
    assert http.post(f"{slack_server.url}/slack/events", content=body, headers=bad).status_code == 401
    stale = slack_headers(body, timestamp=int(time.time()) - 600)
    assert http.post(f"{slack_server.url}/slack/events", content=body, headers=stale).status_code == 401
    # A signed command after them is answered: by then the refused ones would have been too.
    assert slash(http, slack_server, fake_slack, "help", name="after").status_code == 200
    fake_slack.wait_for_responses("after")
    assert [name for name, _ in fake_slack.responses] == ["after"]


def test_slack_retries_of_an_event_act_once(http, slack_server, fake_slack):
    event = {"type": "event_callback", "team_id": "T0FAKE", "api_app_id": "A0", "event_id": "Ev123", "event_time": 1,
             "event": {"type": "app_home_opened", "user": "U0JANE", "channel": "D0JANE", "tab": "home"}}
    body = json.dumps(event)
    for retry in (None, "1", "2"):
        headers = slack_headers(body, content_type="application/json")
        if retry:
            headers |= {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        assert http.post(f"{slack_server.url}/slack/events", content=body, headers=headers).status_code == 200
    fake_slack.wait_for("views.publish")
    # Another event after the retries is acted on: by then a retry acted on would have published too.
    other = json.dumps({**event, "event_id": "Ev124", "event": {**event["event"], "user": "U0OMAR"}})
    assert http.post(f"{slack_server.url}/slack/events", content=other,
                     headers=slack_headers(other, content_type="application/json")).status_code == 200
    wait_for(lambda: any(c["user_id"] == "U0OMAR" for c in fake_slack.calls_to("views.publish")))
    assert [c["user_id"] for c in fake_slack.calls_to("views.publish")] == ["U0JANE", "U0OMAR"]


def test_twenty_concurrent_lookups_are_all_acknowledged_in_time(http, slack_server, fake_slack):
    send_webhook(http, slack_server, researcher_history(events_now()))

    def one(i):
        started = time.monotonic()
        r = slash(http, slack_server, fake_slack, "jon.doe@acme.example", name=f"c{i}")
        return r.status_code, time.monotonic() - started

    def burst(k):
        ev = events_now()
        events = [ev.visit(f"b{k}-{i}@burst.example", "https://ourco.example/pricing", d(minutes=1)) for i in range(500)]
        body = json.dumps({"events": events}).encode()
        with httpx.Client(timeout=30) as client:
            return client.post(f"{slack_server.url}/webhooks/events", content=body, headers=signed_headers(body)).status_code

    # A webhook burst is being ingested while twenty people look leads up.
    with ThreadPoolExecutor(24) as pool:
        bursts = [pool.submit(burst, k) for k in range(4)]
        results = list(pool.map(one, range(20)))
        assert [b.result() for b in bursts] == [202] * 4
    assert all(code == 200 for code, _ in results)
    # Slack's hard limit for an acknowledgement is 3 seconds (a protocol rule, not a speed goal).
    assert max(t for _, t in results) < 3.0
    for i in range(20):
        assert fake_slack.wait_for_responses(f"c{i}")[0]["blocks"]


def test_a_rejected_bot_token_stops_startup_with_a_clear_error(slack_settings):
    from bot.config import ConfigError
    from bot.server import build

    fake_slack_tokens = replace(slack_settings, slack_bot_token="xoxp-not-a-bot-token")
    with pytest.raises(ConfigError, match=r"SLACK_BOT_TOKEN was refused by Slack \(invalid_auth\)"):
        build(fake_slack_tokens)


def test_slack_unreachable_is_retried_later_not_dead_lettered(http, manual, fake_slack):
    from dataclasses import replace

    from bot.gateway import web_client
    from bot.usecases.deliver import SlackSink
    from tests.support.live import free_port

    send_webhook(http, manual, hand_raiser(events_now()))
    manual.clock[0] = datetime.now(UTC)
    closed = replace(manual.services.settings, slack_api_url=f"http://127.0.0.1:{free_port()}/api/")
    sink = SlackSink(manual.services, web_client(closed, interactive=False), manual.services.slack.directory)
    assert DeliveryWorker(manual.services.sessions, sink, clock=lambda: manual.clock[0]).run_once() == 0
    d1 = _delivery(manual)
    assert (d1.status, d1.attempts, d1.lease_owner) == ("pending", 1, None)
    assert d1.last_error.startswith("Slack unreachable")
    assert d1.next_attempt_at > manual.clock[0]
    # Slack is back: the brief goes out on the next attempt.
    manual.clock[0] = d1.next_attempt_at + d(seconds=1)
    assert manual.deliver() == 1 and _delivery(manual).status == "sent"
