"""Touches in the re-engagement window: read from its first midnight, plus the last engagement before it."""

from datetime import UTC, datetime, timedelta, timezone

from briefs.signals import window_rows_start, window_touches

PRICING = "https://www.acme.example/pricing?utm_source=newsletter"


def test_the_window_is_read_from_its_first_midnight_in_utc():
    start = datetime(2026, 11, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC on the 3rd
    assert window_rows_start(start) == datetime(2026, 11, 3, tzinfo=UTC)


def test_views_of_one_page_on_the_window_day_are_one_touch_and_the_last_one_before_counts_alone():
    day = datetime(2026, 11, 3, tzinfo=UTC)
    rows = [("web_visit", day + timedelta(hours=1), PRICING),
            ("web_visit", day + timedelta(hours=9), PRICING.replace("newsletter", "linkedin")),
            ("email_click", day + timedelta(hours=2), None),
            ("email_delivered", day + timedelta(hours=3), None)]  # delivered is not an engagement
    before = day - timedelta(days=2)
    times = window_touches(rows, before)
    assert sorted(times) == [before, day + timedelta(hours=2), day + timedelta(hours=9)]
    assert window_touches([], None) == []
    assert window_touches([], before) == [before]
