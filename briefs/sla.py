"""Business time for the speed-to-lead clock: minutes counted only inside a rep's working hours, in their own
time zone (Slack's users.info tz). Pure: no I/O. Working days are walked one local day at a time, so a
daylight-saving change is handled by zoneinfo and a day of 8 wall-clock hours stays 8 hours."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from briefs.callback import CallbackWindow
from briefs.followup import LATE, SlaState

DAY_NAMES = {
    "mon": 0, "monday": 0, "tue": 1, "tuesday": 1, "wed": 2, "wednesday": 2, "thu": 3, "thursday": 3,
    "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}
MAX_DAYS = 3660  # how far the clock may look ahead: ten years of working days, whatever the settings


@dataclass(frozen=True)
class BusinessHours:
    start: time = time(9, 0)
    end: time = time(17, 0)
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    always: bool = False  # a 24/7 team: the clock never stops

    @classmethod
    def parse(cls, hours: str, days: list[str]) -> BusinessHours:
        if not isinstance(hours, str):
            raise ValueError(f"business_hours {hours!r}: expected HH:MM-HH:MM, e.g. 09:00-17:00, or 24/7")
        if hours.strip().lower() in ("24/7", "always"):
            return cls(always=True)
        try:
            a, b = (time.fromisoformat(part.strip()) for part in hours.split("-"))
        except ValueError:
            raise ValueError(f"business_hours {hours!r}: expected HH:MM-HH:MM, e.g. 09:00-17:00, or 24/7") from None
        if b <= a:
            raise ValueError(f"business_hours {hours!r}: the end must be after the start (overnight shifts: use 24/7)")
        if not isinstance(days, list) or not days or not all(isinstance(d, str) and d.strip().lower() in DAY_NAMES
                                                             for d in days):
            raise ValueError(f"business_days {days!r}: expected a non-empty list of day names, e.g. "
                             '["mon", "tue", "wed", "thu", "fri"]')
        return cls(start=a, end=b, days=frozenset(DAY_NAMES[d.strip().lower()] for d in days))


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the business-hours clock")
    return at


def _runs_always(hours: BusinessHours) -> bool:
    return hours.always or not hours.days


def _window(day: date, tz: ZoneInfo, hours: BusinessHours) -> tuple[datetime, datetime] | None:
    """That local day's working hours in UTC, or None when it is not a working day."""
    if day.weekday() not in hours.days:
        return None
    opens = datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)
    closes = datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC)
    return (opens, closes) if closes > opens else None


def _windows(at: datetime, tz: ZoneInfo, hours: BusinessHours) -> Iterator[tuple[datetime, datetime]]:
    """Working windows that end after `at`, in order, starting with the local day of `at`."""
    day = at.astimezone(tz).date() - timedelta(days=1)  # a window may straddle midnight UTC; never local
    for i in range(MAX_DAYS):
        w = _window(day + timedelta(days=i), tz, hours)
        if w and w[1] > at:
            yield w


def add_business_minutes(start: datetime, minutes: float, tz: ZoneInfo, hours: BusinessHours) -> datetime:
    start = _aware(start).astimezone(UTC)
    if _runs_always(hours):
        return start + timedelta(minutes=minutes)
    left = timedelta(minutes=max(0.0, minutes))
    for opens, closes in _windows(start, tz, hours):
        begin = max(opens, start)
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
    return start + timedelta(minutes=minutes)  # pragma: no cover


def business_minutes_between(a: datetime, b: datetime, tz: ZoneInfo, hours: BusinessHours) -> float:
    a, b = _aware(a).astimezone(UTC), _aware(b).astimezone(UTC)
    if b <= a:
        return 0.0
    if _runs_always(hours):
        return (b - a).total_seconds() / 60
    total = 0.0
    for opens, closes in _windows(a, tz, hours):
        if opens >= b:
            break
        total += (min(closes, b) - max(opens, a)).total_seconds()
    return total / 60


def next_working_day_at(now: datetime, tz: ZoneInfo, hours: BusinessHours, at: time, *,
                        after_today: bool = False) -> datetime:
    """The first local time `at` later than `now` on a working day (any day for a 24/7 team), in UTC.
    `after_today`: on a working day after `now`'s local day, even if today's `at` is still ahead."""
    local = _aware(now).astimezone(tz)
    first = 1 if after_today else 0
    # Eight days in a row hold every weekday, and a later `at` on today's: any working day is among them.
    for offset in range(first, first + 8):
        day = local.date() + timedelta(days=offset)
        candidate = datetime.combine(day, at, tzinfo=tz)
        if candidate > local and (_runs_always(hours) or day.weekday() in hours.days):
            return candidate.astimezone(UTC)
    raise ValueError(f"no working day in {sorted(hours.days)} (Monday = 0)")


def next_morning(now: datetime, tz: ZoneInfo, hours: BusinessHours) -> datetime:
    """'Tomorrow morning': opening time on the first working day after today (local)."""
    return next_working_day_at(now, tz, hours, hours.start, after_today=True)


def human_minutes(minutes: float) -> str:
    if minutes <= 0:
        return "0 min"
    m = max(1, round(minutes))
    if m < 60:
        return f"{m} min"
    h, rest = divmod(m, 60)
    if h < 24:
        return f"{h} h" + (f" {rest} min" if rest else "")
    d, h = divmod(h, 24)
    return f"{d} d" + (f" {h} h" if h else "")


def sla_label(due: datetime | None, state: str | None, snoozed_until: datetime | None, now: datetime,
              handled: bool = False) -> str:
    """A lead's speed-to-lead timer in one line (mrkdwn, our own text only). `handled`: claimed or called."""
    if snoozed_until and snoozed_until > now:
        return f"😴 snoozed until {_clock(snoozed_until)}"
    if state == SlaState.MET:
        return "✅ called in time" if due is None else "✅ SLA met"
    if due is None:
        return ""
    if handled:
        return "🟠 picked up after the SLA" if state in LATE else ""
    left = (due - now).total_seconds() / 60
    if left > 0:
        return f"⏱️ call within {human_minutes(left)} (by {_clock(due)})"
    return f"🔴 overdue by {human_minutes(-left)}"


def _clock(when: datetime) -> str:
    """Shown in the reader's own time zone by Slack; the fallback is UTC."""
    return f"<!date^{int(when.timestamp())}^{{time}}|{when:%H:%M} UTC>"


# --- Urgency: what the brief says about when to call -------------------------------------------------------


@dataclass(frozen=True)
class BriefClock:
    """What the brief needs of [follow_up] to say when to call: the team's business hours and time zone, and the
    hand-raiser's SLA in business minutes (FollowUpPolicy.brief_clock builds it from the settings)."""

    hours: BusinessHours = BusinessHours()
    timezone: str = "UTC"
    minutes: int = 5


def in_business_hours(at: datetime, tz: ZoneInfo, hours: BusinessHours) -> bool:
    if _runs_always(hours):
        return True
    local = _aware(at).astimezone(tz)
    w = _window(local.date(), tz, hours)
    return w is not None and w[0] <= at.astimezone(UTC) < w[1]


def honour_window(due: datetime, window: CallbackWindow | None, minutes: float) -> datetime:
    """The SLA's due time when the lead asked to be called in a window: never before it opens (a call then is
    one they asked not to get), `minutes` into it at most; a window that ends before the usual due time (or
    is malformed) changes nothing."""
    if window is None or window.ends <= window.starts or window.ends <= due:
        return due
    if due >= window.starts:
        return due
    return min(window.starts + timedelta(minutes=max(0.0, minutes)), window.ends)


def _when(at: datetime, tz: ZoneInfo, now: datetime) -> str:
    local = at.astimezone(tz)
    if abs((at - now).total_seconds()) > 6 * 86400:
        return f"{local:%a} {local.day} {local:%b %H:%M}"
    return f"{local:%a %H:%M}"


def window_words(window: CallbackWindow, now: datetime) -> str:
    """"Mon 09:00–11:00 CET", in the zone the lead meant."""
    tz = zone(window.zone, "UTC")
    a, b = window.starts.astimezone(tz), window.ends.astimezone(tz)
    end = f"{b:%H:%M}" if a.date() == b.date() else _when(window.ends, tz, now)
    return f"{_when(window.starts, tz, now)}–{end} {a.tzname() or window.zone}"


def part_of_day(window: CallbackWindow) -> str:
    hour = window.starts.astimezone(zone(window.zone, "UTC")).hour
    return "mornings" if hour < 12 else "afternoons" if hour < 17 else "evenings"


def call_urgency(arrived: datetime, now: datetime, clock: BriefClock, window: CallbackWindow | None = None,
                 who: str = "They") -> str | None:
    """See _urgency; None when the times are out of range (a form dated 9999-12-31): the brief says nothing."""
    try:
        return _urgency(arrived, now, clock, window, who)
    except (OverflowError, ValueError):
        return None


def _urgency(arrived: datetime, now: datetime, clock: BriefClock, window: CallbackWindow | None,
             who: str) -> str:
    """"Call now: …" only while the speed-to-lead clock runs, in business hours, and the lead has not asked
    for a later time; otherwise when to call and why: "Came in Fri 23:04; due Mon 09:05 CET; Pierre asked
    for Mon 09:00–11:00 CET." Times in the team's zone (the brief is posted once, for everyone)."""
    tz = zone(clock.timezone)
    due = honour_window(add_business_minutes(arrived, clock.minutes, tz, clock.hours), window, clock.minutes)
    asked = ""
    if window is not None and window.ends > now:
        asked = f"{who} asked for {window_words(window, now)}"
    waiting_for_window = window is not None and window.starts > now and window.ends > due
    in_window = window is not None and window.starts <= now < window.ends
    if in_business_hours(now, tz, clock.hours) and not waiting_for_window and (now < due or in_window):
        if in_window:
            return f"Call now: {asked[:1].lower() + asked[1:] if who == 'They' else asked}, and that is now."
        return "Call now: a call within 5 minutes converts many times better than one within 30."
    zone_name = due.astimezone(tz).tzname() or clock.timezone
    lead = ("Wait for their window" if waiting_for_window
            else "Outside business hours" if not in_business_hours(now, tz, clock.hours) else "Late")
    overdue = " (overdue)" if due <= now else ""
    parts = [f"{lead}: came in {_when(arrived, tz, now)}", f"due {_when(due, tz, now)} {zone_name}{overdue}"]
    if asked:
        parts.append(asked)
    return "; ".join(parts) + "."
