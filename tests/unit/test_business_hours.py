"""The speed-to-lead clock's business time (briefs/sla.py): worked examples, daylight saving, properties."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from briefs.sla import (
    BusinessHours,
    add_business_minutes,
    business_minutes_between,
    human_minutes,
    next_morning,
    zone,
)

LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
HOURS = BusinessHours()


def local(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize("start,minutes,expected", [
    (local(LA, 2026, 11, 27, 16, 58), 5, local(LA, 2026, 11, 30, 9, 3)),   # Friday close -> Monday
    (local(LA, 2026, 11, 28, 11, 0), 5, local(LA, 2026, 11, 30, 9, 5)),    # Saturday -> Monday opening
    (local(LA, 2026, 11, 24, 7, 30), 60, local(LA, 2026, 11, 24, 10, 0)),  # before opening
    (local(LA, 2026, 11, 24, 17, 0), 1, local(LA, 2026, 11, 25, 9, 1)),    # exactly at closing time
    (local(LA, 2026, 11, 24, 16, 0), 60, local(LA, 2026, 11, 24, 17, 0)),  # ends exactly at closing
    (local(BERLIN, 2026, 11, 24, 10, 0), 8 * 60 + 30, local(BERLIN, 2026, 11, 25, 10, 30)),
])
def test_worked_examples(start, minutes, expected):
    tz = start.tzinfo
    assert add_business_minutes(start, minutes, tz, HOURS) == expected.astimezone(UTC)


@pytest.mark.parametrize("tz,day", [(LA, (2026, 3, 9)), (LA, (2026, 11, 2)), (BERLIN, (2026, 3, 30)),
                                    (BERLIN, (2026, 10, 26))])
def test_a_working_day_after_a_clock_change_is_still_eight_hours(tz, day):
    # The Monday after each shift: 09:00 + 8 business hours is 17:00 local, whatever the UTC offset did.
    start = local(tz, *day, 9, 0)
    assert add_business_minutes(start, 8 * 60, tz, HOURS).astimezone(tz).time() == time(17, 0)
    # And across the weekend that holds the shift: Friday 16:00 + 2 h -> Monday 10:00 local.
    friday = start - timedelta(days=3) + timedelta(hours=7)
    assert add_business_minutes(friday, 120, tz, HOURS).astimezone(tz) == local(tz, *day, 10, 0)


def test_next_morning_is_a_later_business_day_at_opening():
    assert next_morning(local(LA, 2026, 11, 24, 7, 0), LA, HOURS) == local(LA, 2026, 11, 25, 9, 0).astimezone(UTC)
    assert next_morning(local(LA, 2026, 11, 27, 15, 0), LA, HOURS) == local(LA, 2026, 11, 30, 9, 0).astimezone(UTC)


def test_round_the_clock_and_parsing():
    always = BusinessHours.parse("24/7", [])
    start = local(LA, 2026, 11, 28, 23, 0)
    assert add_business_minutes(start, 5, LA, always) == (start + timedelta(minutes=5)).astimezone(UTC)
    custom = BusinessHours.parse("08:30-18:00", ["Mon", "tuesday", "SAT"])
    assert (custom.start, custom.end, custom.days) == (time(8, 30), time(18, 0), frozenset({0, 1, 5}))
    for hours, days, words in [("9-5", ["mon"], "HH:MM-HH:MM"), ("17:00-09:00", ["mon"], "end must be after"),
                               ("09:00-17:00", ["funday"], "business_days"), ("09:00-17:00", [], "business_days")]:
        with pytest.raises(ValueError, match=words):
            BusinessHours.parse(hours, days)


def test_zone_falls_back_and_naive_times_are_refused():
    assert zone("Mars/Olympus", "Europe/Berlin") == BERLIN
    assert zone(None, "nope") == ZoneInfo("UTC")
    with pytest.raises(ValueError, match="naive"):
        add_business_minutes(datetime(2026, 11, 24, 9, 0), 5, LA, HOURS)


def test_human_minutes():
    assert [human_minutes(m) for m in (0, 0.2, 4.4, 60, 65, 24 * 60 + 61)] == [
        "0 min", "1 min", "4 min", "1 h", "1 h 5 min", "1 d 1 h"]


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)),
    minutes=st.integers(0, 5000),
    extra=st.integers(1, 600),
    tz=st.sampled_from([LA, BERLIN, ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Sydney")]),
)
def test_properties(start, minutes, extra, tz):
    due = add_business_minutes(start, minutes, tz, HOURS)
    assert abs(business_minutes_between(start, due, tz, HOURS) - minutes) < 1e-6
    assert add_business_minutes(start, minutes + extra, tz, HOURS) > due
    if minutes:
        # The clock only runs while open: the moment it runs out is inside business hours or right at closing.
        # (the clock ran through the last second before it: that second was business time).
        just_before = due - timedelta(seconds=1)
        assert abs(business_minutes_between(just_before, due, tz, HOURS) - 1 / 60) < 1e-6
    later = next_morning(start, tz, HOURS).astimezone(tz)
    assert later.date() > start.astimezone(tz).date() and later.weekday() < 5 and later.time() == time(9, 0)
