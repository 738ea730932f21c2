"""Issue 18 end to end: the Contoso week over the webhook, the worker posting to the fake Slack. One brief, to
one rep, naming the three people and the security review; the other rep gets one line linking it; a later
qualification at Contoso is a reply in the brief's thread; `/lead Contoso` shows the account."""

import json
import time
import urllib.parse
from datetime import UTC, datetime, timedelta

from tests.integration.test_accounts import contoso_week
from tests.support.factories import Events
from tests.support.live import wait_for
from tests.support.signing import signed_headers, slack_headers

d = timedelta
JANE, OMAR = "jane@ourco.example", "omar@ourco.example"


def send(http, server, events) -> dict:
    body = json.dumps({"events": events}).encode()
    r = http.post(f"{server.url}/webhooks/events", content=body, headers=signed_headers(body))
    assert r.status_code == 202, r.text
    return r.json()


def _week(ev: Events) -> list[dict]:
    week = contoso_week(ev)
    for e in week:  # the Slack workspace's reps
        lead = e.get("lead", {})
        if lead.get("owner_email") == "amara.okafor@ourco.example":
            lead["owner_email"] = JANE
        elif lead.get("owner_email") == "ben.keller@ourco.example":
            lead["owner_email"] = OMAR
    return week


def _posted_brief(fake):
    """The account brief as Slack stored it (a DM's channel is the D… id Slack answered with)."""
    return next(m for m in fake.messages.values() if "people active" in json.dumps(m.get("blocks"), ensure_ascii=False)
                and not m.get("thread_ts"))


def _to(fake, user):
    return [c for c in fake.calls_to("chat.postMessage") if c["channel"] == user]


def test_contoso_one_brief_to_one_rep_the_other_told_a_later_qualification_threaded(http, slack_server,
                                                                                   fake_slack):
    now = datetime.now(UTC)
    ev = Events(now=now, prefix=f"acct{time.time_ns()}")
    week = _week(ev)
    week.pop()  # Tom's score comes later
    send(http, slack_server, week)
    brief = wait_for(lambda: _to(fake_slack, "U0JANE"))[0]
    text = json.dumps(brief["blocks"], ensure_ascii=False)
    assert "Contoso · 3 people active this week" in text
    assert "Priya Shah, CFO: pricing ×2" in text and "Tom Reyes" in text and "Dana Wu" in text
    assert "A security review is under way." in text
    assert "Who else" not in text
    # Tom qualifies for Omar while the account brief is open: a reply in its thread; Omar is told, not paged.
    later = Events(now=now, prefix=f"acct{time.time_ns()}")
    send(http, slack_server, [later.upsert("tom.reyes@contoso.co.uk", d(0), score=130)])
    reply = wait_for(lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c.get("thread_ts")])[0]
    posted = _posted_brief(fake_slack)
    assert (reply["channel"], reply["thread_ts"]) == (posted["channel"], posted["ts"])
    assert "Also at Contoso: Tom Reyes" in reply["text"]
    # Omar, whose lead Tom is, is told in one line linking the account brief: not paged with a brief.
    told = wait_for(lambda: _to(fake_slack, "U0OMAR"))
    time.sleep(0.3)
    assert len(_to(fake_slack, "U0OMAR")) == 1 and "header" not in json.dumps(told[0]["blocks"])
    assert "Tom Reyes (your lead) is part of the Contoso buying committee" in told[0]["text"]
    assert f"/archives/{posted['channel']}/p{posted['ts'].replace('.', '')}|Open the account brief>" in told[0]["text"]


def test_two_reps_in_one_batch_one_brief_and_a_notice_with_a_link(http, slack_server, fake_slack):
    ev = Events(now=datetime.now(UTC), prefix=f"acct{time.time_ns()}")
    send(http, slack_server, _week(ev))
    wait_for(lambda: _to(fake_slack, "U0JANE"))
    notice = wait_for(lambda: _to(fake_slack, "U0OMAR"))[0]
    assert len(_to(fake_slack, "U0JANE")) == 1 and len(_to(fake_slack, "U0OMAR")) == 1
    assert "Tom Reyes (your lead) is part of the Contoso buying committee" in notice["text"]
    posted = _posted_brief(fake_slack)
    assert f"/archives/{posted['channel']}/p{posted['ts'].replace('.', '')}|Open the account brief>" in notice["text"]
    assert "header" not in json.dumps(notice["blocks"])  # a line, not a second cold brief


def test_lead_account_shows_the_committee(http, slack_server, fake_slack):
    ev = Events(now=datetime.now(UTC), prefix=f"acct{time.time_ns()}")
    send(http, slack_server, _week(ev))
    wait_for(lambda: _to(fake_slack, "U0JANE"))
    body = urllib.parse.urlencode({
        "token": "legacy", "team_id": "T0FAKE", "channel_id": "C0QUEUE", "user_id": "U0MIA", "user_name": "mia",
        "command": "/lead", "text": "Contoso Ltd", "response_url": fake_slack.response_url("acct"),
        "trigger_id": "1.2.trig",
    })
    r = http.post(f"{slack_server.url}/slack/events", content=body, headers=slack_headers(body))
    assert r.status_code == 200
    reply = json.dumps(fake_slack.wait_for_responses("acct")[0], ensure_ascii=False)
    assert "Contoso · 3 people active this week" in reply and "contoso.co.uk" in reply
