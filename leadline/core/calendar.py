"""Business-hours arithmetic for SLAs and time-based rules.

A calendar is a time zone, working weekdays, a working window and holiday dates. All arithmetic
happens in the calendar's local time so that DST changes shift the window with the wall clock.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS_SCANNED = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    tz: str = "UTC"
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)
    always_open: bool = False

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.work_days and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.tz)
        return (
            datetime.combine(day, self.day_start, tzinfo=zone),
            datetime.combine(day, self.day_end, tzinfo=zone),
        )

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of business time after `start`."""
        if self.always_open or not self.work_days:
            return start + timedelta(minutes=minutes)
        remaining = timedelta(minutes=minutes)
        local = start.astimezone(ZoneInfo(self.tz))
        day = local.date()
        for _ in range(MAX_DAYS_SCANNED):
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(opens, local)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("the calendar has no working time in the next ten years")

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes from `start` to `end` (negative when end is earlier)."""
        if end < start:
            return -self.minutes_between(end, start)
        if self.always_open or not self.work_days:
            return (end - start).total_seconds() / 60
        zone = ZoneInfo(self.tz)
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        total = timedelta()
        day = local_start.date()
        while day <= local_end.date():
            if self.is_working_day(day):
                opens, closes = self._window(day)
                lo, hi = max(opens, local_start), min(closes, local_end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def add_days(self, start: datetime, days: int) -> datetime:
        """The same local time `days` working days later."""
        local = start.astimezone(ZoneInfo(self.tz))
        day, counted = local.date(), 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        moved = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=ZoneInfo(self.tz))
        return moved.astimezone(start.tzinfo)

    def subtract_days(self, end: datetime, days: int) -> datetime:
        """The same local time `days` working days earlier."""
        local = end.astimezone(ZoneInfo(self.tz))
        day, counted = local.date(), 0
        while counted < days:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        moved = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=ZoneInfo(self.tz))
        return moved.astimezone(end.tzinfo)
