"""Marketing feedback: /lead stats and `leadbrief report` over real qualifications, claims and not-a-fits."""

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.usecases import followup as workflow
from bot.usecases.ingest import ingest
from briefs import commands
from briefs import stats as model
from briefs.blocks import MAX_BLOCKS, MAX_SECTION
from storage import stats as stats_store
from storage.models import AuditEntry, Delivery
from tests.e2e.test_slack import slash
from tests.support.factories import NOW, Events, parsed
from tests.support.live import LiveServer

d = timedelta
SPICY = "Expo <!here> *VIP*"  # a campaign name that must not format or ping in Slack
FORMULA = "=SUM(A1)"  # a lead source that must not run in a spreadsheet


def _qualify(services, rules, email, at, source=None, campaigns=()) -> int:
    """A lead qualified at `at`; campaigns: (name, how long before `at`) activities (negative: after)."""
    ev = Events(now=at, prefix=f"st{time.time_ns()}")
    # Six companies: each lead its own account, so that every qualification gets its own brief.
    company = {"a": "Alpine Logistics", "b": "Brightwater Foods", "c": "Cobalt Mining", "d": "Delta Pharma",
               "e": "Evergreen Retail", "f": "Falcon Aero"}.get(email[0], "Co")
    lead = {"first_name": "Test", "company": company}
    if source:
        lead["lead_source"] = source
    events = [ev.upsert(email, d(days=3), **lead)]
    events += [ev.activity(email, "email_open", ago, subject="News", campaign=name) for name, ago in campaigns if ago >= d(0)]
    events.append(ev.qualified(email, "manual", d(0)))
    result = ingest(services.sessions, parsed(events), rules, at)
    assert len(result.qualifications) == 1
    later = [ev.activity(email, "email_open", ago, subject="Later", campaign=name) for name, ago in campaigns if ago < d(0)]
    if later:
        ingest(services.sessions, parsed(later), rules, at - min(ago for _, ago in campaigns))
    return result.qualifications[0]


def seed(services, rules, now: datetime) -> dict[str, int]:
    """Six leads, 2 to 100 days old: see the expected numbers in the tests below."""
    q = {}
    q["a"] = _qualify(services, rules, "a@a-corp.example", now - d(days=2), "Web", [("ROI", d(hours=2))])
    q["b"] = _qualify(services, rules, "b@b-corp.example", now - d(days=5), "Web", [("Expo", d(days=2)), ("ROI", d(hours=1))])
    q["c"] = _qualify(services, rules, "c@c-corp.example", now - d(days=10), "Trade Show", [(SPICY, d(hours=1))])
    q["d"] = _qualify(services, rules, "d@d-corp.example", now - d(days=20), FORMULA)
    # e's ROI email came after it qualified: its campaign is still the spicy one.
    q["e"] = _qualify(services, rules, "e@e-corp.example", now - d(days=40), None, [(SPICY, d(days=1)), ("ROI", -d(hours=5))])
    q["f"] = _qualify(services, rules, "f@f-corp.example", now - d(days=100), "Web", [("ROI", d(hours=1))])

    def at(key, days, minutes):
        return now - d(days=days) + d(minutes=minutes)

    with services.sessions.begin() as s:
        workflow.claim(s, q["a"], "U0JANE", "jane@ourco.example", at("a", 2, 10))
        workflow.contacted(s, q["a"], "U0JANE", at("a", 2, 30))
        workflow.claim(s, q["b"], "U0OMAR", "omar@ourco.example", at("b", 5, 20))
        workflow.claim(s, q["c"], "U0JANE", "jane@ourco.example", at("c", 10, 15))
        workflow.not_a_fit(s, q["c"], "U0JANE", "No budget: next year maybe", at("c", 10, 60))
        workflow.contacted(s, q["d"], "U0OMAR", at("d", 20, 90))  # contacted without a claim: claimed then too
        workflow.not_a_fit(s, q["e"], "U0JANE", "Student, job seeker or spam", at("e", 40, 5))
        workflow.claim(s, q["f"], "U0JANE", "jane@ourco.example", at("f", 100, 1))
        s.execute(update(Delivery).where(Delivery.qualification_id.in_([q["a"], q["b"], q["c"], q["f"]]))
                  .values(status="sent", sent_at=now))
    return q


def _stats(services, days, now) -> model.Stats:
    with services.sessions() as s:
        return model.build(stats_store.rows(s, days, now), days, now)


def _by_name(groups) -> dict[str, model.Group]:
    return {g.name: g for g in groups}


def test_seven_days(services, rules):
    seed(services, rules, NOW)
    st = _stats(services, 7, NOW)
    t = st.total
    assert (t.qualified, t.posted, t.accepted, t.not_a_fit, t.open) == (2, 2, 2, 0, 0)
    assert t.median_to_claim == d(minutes=15)  # 10 and 20
    assert t.median_to_touch == d(minutes=30)
    assert [(g.name, g.qualified) for g in st.by_source] == [("Web", 2)]
    # b had an Expo email before the ROI one: the latest before qualifying counts.
    assert [(g.name, g.qualified) for g in st.by_campaign] == [("ROI", 2)]


def test_thirty_days(services, rules):
    seed(services, rules, NOW)
    st = _stats(services, 30, NOW)
    t = st.total
    # c was claimed, then found not a fit: not accepted, but its claim time counts.
    assert (t.qualified, t.posted, t.accepted, t.not_a_fit, t.open) == (4, 3, 3, 1, 0)
    assert t.median_to_claim == d(minutes=17.5)  # 10, 15, 20, 90
    assert t.median_to_touch == d(minutes=60)  # 30, 90
    assert t.reasons == (("No budget", 1),)
    assert (t.share(t.accepted), t.share(t.not_a_fit)) == (0.75, 0.25)
    assert [(g.name, g.qualified) for g in st.by_source] == [("Web", 2), (FORMULA, 1), ("Trade Show", 1)]
    show = _by_name(st.by_source)["Trade Show"]
    assert (show.accepted, show.not_a_fit, show.reasons, show.median_to_claim) == (0, 1, (("No budget", 1),), d(minutes=15))
    assert [(g.name, g.qualified) for g in st.by_campaign] == [("ROI", 2), (SPICY, 1), ("none", 1)]
    assert _by_name(st.by_campaign)["none"].median_to_touch == d(minutes=90)


def test_ninety_days_and_the_window_edges(services, rules):
    seed(services, rules, NOW)
    st = _stats(services, 90, NOW)
    t = st.total
    assert (t.qualified, t.accepted, t.not_a_fit) == (5, 3, 2)  # f, 100 days old, is out
    assert t.reasons == (("No budget", 1), ("Student, job seeker or spam", 1))
    assert t.median_to_claim == d(minutes=17.5)
    assert [(g.name, g.qualified) for g in st.by_source] == [("Web", 2), (FORMULA, 1), ("Trade Show", 1), ("unknown", 1)]
    campaigns = _by_name(st.by_campaign)
    assert (campaigns[SPICY].qualified, campaigns[SPICY].not_a_fit) == (2, 2)
    assert campaigns["ROI"].qualified == 2
    # Exactly 20 days old is inside a 20-day window; a second more is out. Nothing in the future counts.
    assert _stats(services, 20, NOW).total.qualified == 4
    assert _stats(services, 20, NOW + d(seconds=1)).total.qualified == 3
    week = _stats(services, 7, NOW - d(days=4))  # b and c (10 days old, on the edge); a is in its future
    assert (week.total.qualified, week.total.not_a_fit) == (2, 1)


def test_own_leads_only_scopes_the_rows(services, rules):
    seed(services, rules, NOW)
    with services.sessions() as s:
        jane = stats_store.rows(s, 90, NOW, owner="JANE@ourco.example")
    assert sorted(r.source for r in jane) == ["Trade Show", "Web"]  # a and c: claimed by Jane (f is too old)


def test_parse_stats_periods():
    assert commands.parse("stats") == commands.Command("stats", days=30)
    assert commands.parse("stats 7d").days == 7
    assert commands.parse("STATS 90").days == 90
    assert commands.parse("stats 30 days").days == 30
    bad = commands.parse("stats 14d")
    assert bad.action == "invalid" and "/lead stats 7d" in bad.error
    assert "`/lead stats`" in commands.HELP


def test_slack_blocks_stay_within_limits_with_many_sources():
    rows = [model.StatRow(source=f"source {i} " + "x*_<&" * 120, campaign=None, qualified_at=NOW - d(days=1),
                          posted=True, claimed_at=None, contacted_at=None, status="not_a_fit",
                          status_reason="Other: " + "y" * 900)
            for i in range(200)]
    reply = model.to_blocks(model.build(rows, 30, NOW))
    assert len(reply["blocks"]) <= MAX_BLOCKS
    for block in reply["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= MAX_SECTION
    by_source = next(b for b in reply["blocks"] if b.get("text", {}).get("text", "").startswith("*By source*"))
    assert "more" in by_source["text"]["text"] and "<&" not in by_source["text"]["text"]
    assert model.to_blocks(model.build([], 7, NOW))["text"].startswith("No leads were qualified in the last 7 days")


@pytest.fixture
def slack_server(slack_settings):
    """The app without its delivery worker: a running one could post the seeded pending briefs mid-seed."""
    with LiveServer(slack_settings, run_worker=False) as server:
        yield server


def test_slash_stats_replies_privately_with_escaped_names(http, slack_server, fake_slack, rules):
    now = datetime.now(UTC)
    seed(slack_server.services, rules, now)
    assert slash(http, slack_server, fake_slack, "stats", name="stats").status_code == 200
    reply = fake_slack.wait_for_responses("stats")[0]
    body = json.dumps(reply["blocks"], ensure_ascii=False)
    assert reply["response_type"] == "ephemeral"
    assert "Lead stats, last 30 days" in body
    assert "*Leads qualified*\\n4 (3 posted)" in body
    assert "*Accepted*\\n3 (75%)" in body and "*Not a fit*\\n1 (25%)" in body
    assert "*Median time to claim*\\n18 min" in body and "*Median time to first touch*\\n60 min" in body
    assert "No budget 1" in body
    assert "Expo &lt;!here&gt; \u2217VIP\u2217" in body and "<!here>" not in body
    slash(http, slack_server, fake_slack, "stats 7d", name="week")
    week = json.dumps(fake_slack.wait_for_responses("week")[0]["blocks"], ensure_ascii=False)
    assert "*Leads qualified*\\n2 (2 posted)" in week and "Trade Show" not in week
    slash(http, slack_server, fake_slack, "stats 14d", name="bad")
    assert "Usage: `/lead stats`" in fake_slack.wait_for_responses("bad")[0]["text"]
    with slack_server.services.sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "stats").order_by(AuditEntry.id)).all()
    assert [(e.actor, e.detail) for e in entries] == [("U0JANE", "30d"), ("U0JANE", "7d")]


@pytest.fixture
def seeded(services, rules):
    seed(services, rules, datetime.now(UTC) - d(minutes=1))


def test_report_text(seeded, run):
    text = run("report", check_rc=0).stdout
    assert "Lead stats, last 30 days" in text
    assert "leads qualified            4 (3 posted)" in text
    assert "median time to claim       18 min" in text
    assert "median time to first touch 60 min" in text
    assert "not a fit, why             No budget 1" in text
    assert "Trade Show" in text and "By campaign" in text
    ninety = run("report", "--days", "90", check_rc=0).stdout
    assert "leads qualified            5 (3 posted)" in ninety and "unknown" in ninety
    assert "must be between" in run("report", "--days", "0", check_rc=2).stderr


def test_report_csv_is_spreadsheet_safe(seeded, run):
    rows = list(csv.reader(io.StringIO(run("report", "--format", "csv", check_rc=0).stdout)))
    assert rows[0] == list(model.COLUMNS)
    assert rows[1] == ["total", "All leads", "4", "3", "3", "75.0", "1", "25.0", "0", "17.5", "60.0", "No budget=1"]
    sources = {r[1]: r for r in rows if r[0] == "source"}
    assert set(sources) == {"Web", "'" + FORMULA, "Trade Show"}
    assert sources["Web"][2:11] == ["2", "2", "2", "100.0", "0", "0.0", "0", "15.0", "30.0"]
    campaigns = {r[1]: r[2] for r in rows if r[0] == "campaign"}
    assert campaigns == {"ROI": "2", SPICY: "1", "none": "1"}
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)
