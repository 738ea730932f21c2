"""Marketing feedback as a pure model (briefs.stats): groups, medians, not-a-fit reasons, CSV rows and text."""

from datetime import UTC, datetime, timedelta

import pytest

from briefs.stats import COLUMNS, StatRow, build, duration_text, reason_label, table, to_text

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
d = timedelta
THREE_DAYS = d(days=3)


def row(source: str | None = "Webinar", campaign: str | None = "Q4 launch", *, ago: timedelta = THREE_DAYS,
        claimed: timedelta | None = None, contacted: timedelta | None = None, status: str = "open",
        reason: str | None = None, posted: bool = True) -> StatRow:
    at = NOW - ago
    return StatRow(source=source, campaign=campaign, qualified_at=at, posted=posted,
                   claimed_at=at + claimed if claimed is not None else None,
                   contacted_at=at + contacted if contacted is not None else None,
                   status=status, status_reason=reason)


@pytest.mark.parametrize("stored,label", [
    ("No budget", "No budget"),
    ("No budget: they said next year", "No budget"),
    ("  Wrong person or role: the intern  ", "Wrong person or role"),
    ("No budgetary approval", "Other"),    # a label must end where the reason's words begin
    ("no budget", "Other"),                # as stored by the button: exact
    ("", "Other"),
    (None, "Other"),
])
def test_reason_label(stored, label):
    assert reason_label(stored) == label


@pytest.mark.parametrize("minutes,text", [
    (None, "-"), (0, "0 min"), (12.4, "12 min"), (89, "89 min"), (90, "1.5 h"), (47 * 60, "47.0 h"),
    (48 * 60, "2.0 days"), (10 * 24 * 60 + 720, "10.5 days"),
])
def test_duration_text(minutes, text):
    assert duration_text(None if minutes is None else d(minutes=minutes)) == text


def test_groups_medians_and_shares():
    rows = [
        row(claimed=d(minutes=10), contacted=d(minutes=40)),
        row(claimed=d(minutes=30)),
        row(" webinar ", None, status="not_a_fit", reason="No budget: next year", claimed=d(minutes=5)),
        row(None, "  ", status="not_a_fit", reason="Student, job seeker or spam", posted=False),
        row("", "Q4 launch", status="not_a_fit", reason="spam bot"),
        row("Webinar", "Q4 launch"),
    ]
    stats = build(rows, 30, NOW)
    t = stats.total
    assert (stats.since, stats.until) == (NOW - d(days=30), NOW)
    assert (t.name, t.qualified, t.posted, t.accepted, t.not_a_fit, t.open) == ("All leads", 6, 5, 2, 3, 1)
    assert t.median_to_claim == d(minutes=10)  # of the three claims: 5, 10, 30
    assert t.median_to_touch == d(minutes=40)
    assert t.reasons == (("No budget", 1), ("Other", 1), ("Student, job seeker or spam", 1))
    assert t.share(t.accepted) == pytest.approx(2 / 6)
    # Blank sources are "unknown" and blank campaigns "none"; names are trimmed, not merged by case.
    assert [(g.name, g.qualified) for g in stats.by_source] == [("Webinar", 3), ("unknown", 2), ("webinar", 1)]
    assert [(g.name, g.qualified) for g in stats.by_campaign] == [("Q4 launch", 4), ("none", 2)]


def test_an_empty_period():
    stats = build([], 7, NOW)
    assert (stats.total.qualified, stats.total.share(0), stats.by_source, stats.by_campaign) == (0, 0.0, (), ())
    assert to_text(stats) == "Lead stats, last 7 days (Nov 17, 2026 to Nov 24, 2026, UTC)\nNo leads were qualified in this period."
    assert table(stats) == [["total", "All leads", "0", "0", "0", "0.0", "0", "0.0", "0", "", "", ""]]


def test_csv_rows_match_the_columns():
    stats = build([row(claimed=d(minutes=3)), row("=SUM(A1)", status="not_a_fit", reason="No budget")], 30, NOW)
    rows = table(stats)
    assert all(len(r) == len(COLUMNS) for r in rows)
    assert rows[0] == ["total", "All leads", "2", "2", "1", "50.0", "1", "50.0", "0", "3.0", "", "No budget=1"]
    assert [r[:2] for r in rows[1:]] == [["source", "=SUM(A1)"], ["source", "Webinar"], ["campaign", "Q4 launch"]]


def test_text_report_strips_control_characters_from_names():
    stats = build([row("Expo\x1b[31m\nBerlin \u202eevil", "x" * 80)], 30, NOW)
    text = to_text(stats)
    assert "\x1b" not in text and "\u202e" not in text
    assert "  Expo[31m Berlin evil " in text
    assert "x" * 29 + "…" in text  # names are cut to their column


def test_customer_episodes_are_counted_with_their_outcomes():
    from dataclasses import replace

    from briefs.stats import to_blocks

    rows = [replace(row(claimed=d(minutes=20)), episode="at_risk"),
            replace(row(status="not_a_fit", reason="Already a customer"), episode="at_risk"),
            replace(row(contacted=d(hours=2)), episode="win_back"),
            row(), row(source="Trade show")]
    stats = build(rows, 30, NOW)
    at_risk, win_back = stats.by_episode
    assert (at_risk.name, at_risk.qualified, at_risk.accepted, at_risk.not_a_fit) == ("At-risk renewals", 2, 1, 1)
    assert (win_back.name, win_back.qualified, win_back.accepted, win_back.open) == ("Win-backs", 1, 1, 0)
    assert "  at-risk renewals           2 qualified, 2 posted · accepted 1 (50%)" in to_text(stats)
    assert table(stats)[-1][:5] == ["customer_episode", "Win-backs", "1", "1", "1"]
    customers = next(b for b in to_blocks(stats)["blocks"] if b.get("block_id") == "stats_customers")
    assert "*At-risk renewals*: 2 qualified" in customers["text"]["text"]
    assert build([row()], 30, NOW).by_episode == ()
