from datetime import UTC, date, datetime, time

from leadline.core.calendar import BusinessCalendar

NY = BusinessCalendar(tz="America/New_York", day_start=time(9), day_end=time(17))


def test_it_adds_minutes_inside_the_working_day():
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
    assert NY.add_minutes(start, 5) == datetime(2026, 3, 2, 15, 5, tzinfo=UTC)


def test_it_waits_for_the_next_opening_outside_hours():
    start = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # Monday 18:00 in New York
    assert NY.add_minutes(start, 5) == datetime(2026, 3, 3, 14, 5, tzinfo=UTC)


def test_it_skips_the_weekend():
    start = datetime(2026, 3, 6, 21, 50, tzinfo=UTC)  # Friday 16:50 in New York
    # 10 minutes left on Friday, 20 more on Monday morning.
    assert NY.add_minutes(start, 30) == datetime(2026, 3, 9, 13, 20, tzinfo=UTC)


def test_it_skips_holidays():
    calendar = BusinessCalendar(tz="UTC", holidays=frozenset({date(2026, 12, 25)}))
    start = datetime(2026, 12, 24, 16, 55, tzinfo=UTC)
    assert calendar.add_minutes(start, 10) == datetime(2026, 12, 28, 9, 5, tzinfo=UTC)


def test_it_follows_the_wall_clock_across_dst():
    # New York springs forward on 2026-03-08: opening moves from 14:00 to 13:00 UTC.
    before = NY.add_minutes(datetime(2026, 3, 6, 22, 0, tzinfo=UTC), 1)
    after = NY.add_minutes(datetime(2026, 3, 9, 0, 0, tzinfo=UTC), 1)
    assert before == datetime(2026, 3, 9, 13, 1, tzinfo=UTC)
    assert after == datetime(2026, 3, 9, 13, 1, tzinfo=UTC)


def test_it_counts_business_minutes_between_two_moments():
    friday = datetime(2026, 3, 6, 21, 0, tzinfo=UTC)  # 16:00 New York
    monday = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # 10:00 New York (after DST)
    assert NY.minutes_between(friday, monday) == 60 + 60
    assert NY.minutes_between(monday, friday) == -120


def test_it_adds_working_days():
    friday = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert BusinessCalendar().add_days(friday, 2) == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
