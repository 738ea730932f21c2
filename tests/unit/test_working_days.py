"""The one business-day walk (briefs.sla.next_working_day_at): digests at a set local time, 'tomorrow morning'
for a snooze, across weekends, daylight saving, one-day weeks and 24/7 teams."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from briefs.sla import BusinessHours, next_morning, next_working_day_at

NY = ZoneInfo("America/New_York")
KATHMANDU = ZoneInfo("Asia/Kathmandu")  # UTC+05:45: a quarter-hour offset
WEEKDAYS = BusinessHours()


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize("now,at,expected", [
    # Tuesday 08:00: today's 08:30 is still ahead.
    (local(NY, 2026, 11, 24, 8, 0), time(8, 30), local(NY, 2026, 11, 24, 8, 30)),
    # Exactly at the time: the next one, tomorrow.
    (local(NY, 2026, 11, 24, 8, 30), time(8, 30), local(NY, 2026, 11, 25, 8, 30)),
    # Friday noon: Monday (Saturday and Sunday are skipped).
    (local(NY, 2026, 11, 27, 12, 0), time(9, 0), local(NY, 2026, 11, 30, 9, 0)),
    # Saturday late at night: Monday.
    (local(NY, 2026, 11, 28, 23, 59), time(0, 0), local(NY, 2026, 11, 30, 0, 0)),
    # Sunday 8 March 2026, 01:30 EST: 09:00 that day is EDT, but Sunday is no working day.
    (local(NY, 2026, 3, 8, 1, 30), time(9, 0), local(NY, 2026, 3, 9, 9, 0)),
    # Quarter-hour zone.
    (local(KATHMANDU, 2026, 11, 24, 10, 0), time(9, 0), local(KATHMANDU, 2026, 11, 25, 9, 0)),
])
def test_next_local_time_on_a_working_day(now, at, expected):
    got = next_working_day_at(now, now.tzinfo, WEEKDAYS, at)
    assert got == expected
    assert got.tzinfo is UTC


def test_any_clock_reading_the_same_instant_gives_the_same_answer():
    tuesday_8_ny = local(NY, 2026, 11, 24, 8, 0)
    assert next_working_day_at(tuesday_8_ny.astimezone(UTC), NY, WEEKDAYS, time(8, 30)) == \
        next_working_day_at(tuesday_8_ny, NY, WEEKDAYS, time(8, 30))


def test_after_today_skips_today_even_when_its_time_is_ahead():
    monday_7 = local(NY, 2026, 11, 23, 7, 0)
    assert next_working_day_at(monday_7, NY, WEEKDAYS, time(9, 0), after_today=True) == local(NY, 2026, 11, 24, 9, 0)
    friday_7 = local(NY, 2026, 11, 27, 7, 0)
    assert next_working_day_at(friday_7, NY, WEEKDAYS, time(9, 0), after_today=True) == local(NY, 2026, 11, 30, 9, 0)


def test_a_one_day_week_waits_a_whole_week():
    wednesdays = BusinessHours(days=frozenset({2}))
    wednesday_10 = local(NY, 2026, 11, 25, 10, 0)
    assert next_working_day_at(wednesday_10, NY, wednesdays, time(9, 0)) == local(NY, 2026, 12, 2, 9, 0)
    assert next_working_day_at(wednesday_10, NY, wednesdays, time(11, 0)) == local(NY, 2026, 11, 25, 11, 0)
    assert next_working_day_at(wednesday_10, NY, wednesdays, time(11, 0), after_today=True) == \
        local(NY, 2026, 12, 2, 11, 0)


@pytest.mark.parametrize("hours", [BusinessHours(always=True), BusinessHours(days=frozenset())])
def test_a_team_that_never_stops_works_on_weekends(hours):
    saturday_10 = local(NY, 2026, 11, 28, 10, 0)
    assert next_working_day_at(saturday_10, NY, hours, time(9, 0)) == local(NY, 2026, 11, 29, 9, 0)
    assert next_working_day_at(saturday_10, NY, hours, time(11, 0)) == local(NY, 2026, 11, 28, 11, 0)


def test_next_morning_is_opening_time_on_the_next_working_day():
    late_opening = BusinessHours(start=time(10, 30), end=time(18, 0))
    friday_6 = local(NY, 2026, 11, 27, 6, 0)
    assert next_morning(friday_6, NY, late_opening) == local(NY, 2026, 11, 30, 10, 30)
    assert next_morning(friday_6, NY, late_opening) == \
        next_working_day_at(friday_6, NY, late_opening, time(10, 30), after_today=True)


def test_every_hour_of_a_fortnight_lands_on_a_working_day_within_a_week():
    start = local(NY, 2026, 10, 26, 0, 0)  # the fortnight spans the end of daylight saving (1 November)
    for hour in range(14 * 24):
        now = start + timedelta(hours=hour)
        got = next_working_day_at(now, NY, WEEKDAYS, time(9, 0)).astimezone(NY)
        assert got > now
        assert got.weekday() < 5 and (got.hour, got.minute) == (9, 0)
        assert got - now <= timedelta(days=3, hours=1)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="naive"):
        next_working_day_at(datetime(2026, 11, 24, 8, 0), NY, WEEKDAYS, time(9, 0))
