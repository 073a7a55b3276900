"""When a schedule runs next: local time in Europe/Amsterdam, across both daylight-saving changes, short months,
and each administration's fixed place in the spread window."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from backups.models import BackupSchedule
from backups.schedules import next_run_after, spread_offset

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=AMS)


def schedule(**kw) -> BackupSchedule:
    return BackupSchedule(administration_id=kw.pop("administration_id", 1), **kw)


@pytest.fixture(autouse=True)
def _no_spread(settings) -> None:
    settings.SCHEDULE_SPREAD_SECONDS = 0
    settings.TIME_ZONE = "Europe/Amsterdam"


def runs(s: BackupSchedule, start: dt.datetime, count: int) -> list[dt.datetime]:
    found, moment = [], start
    for _ in range(count):
        moment = next_run_after(s, moment)
        found.append(moment)
    return found


def test_daily_at_two_is_two_on_the_clock_in_winter_and_in_summer() -> None:
    s = schedule(frequency="daily", time_of_day=dt.time(2, 0))
    assert next_run_after(s, utc(2026, 1, 10, 12)) == local(2026, 1, 11, 2, 0)
    assert next_run_after(s, utc(2026, 7, 10, 12)) == local(2026, 7, 11, 2, 0)
    assert next_run_after(s, utc(2026, 1, 10, 12)).astimezone(UTC) == utc(2026, 1, 11, 1)
    assert next_run_after(s, utc(2026, 7, 10, 12)).astimezone(UTC) == utc(2026, 7, 11, 0)


def test_spring_change_a_time_that_does_not_exist_runs_an_hour_later_once() -> None:
    # 29 March 2026, last Sunday of March: the clock jumps from 02:00 to 03:00.
    s = schedule(frequency="daily", time_of_day=dt.time(2, 30))
    found = runs(s, utc(2026, 3, 27, 12), 4)
    assert [m.astimezone(AMS).strftime("%d %H:%M %Z") for m in found] == [
        "28 02:30 CET",
        "29 03:30 CEST",
        "30 02:30 CEST",
        "31 02:30 CEST",
    ]


def test_autumn_change_a_time_that_happens_twice_runs_once_at_the_first() -> None:
    # 25 October 2026, last Sunday of October: the clock goes from 03:00 back to 02:00; 02:30 happens twice.
    s = schedule(frequency="daily", time_of_day=dt.time(2, 30))
    found = runs(s, utc(2026, 10, 23, 12), 4)
    assert [m.astimezone(UTC) for m in found] == [
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),  # the first 02:30 (CEST); the second one (01:30 UTC) is not a new run
        utc(2026, 10, 26, 1, 30),
        utc(2026, 10, 27, 1, 30),
    ]
    # Asked during the second 02:30 hour of that night, the next run is the next day, not again that night.
    assert next_run_after(s, utc(2026, 10, 25, 1, 0)) == utc(2026, 10, 26, 1, 30)


def test_weekly_on_a_day_and_monthly_on_a_day_that_short_months_lack() -> None:
    weekly = schedule(frequency="weekly", weekday=BackupSchedule.Weekday.MONDAY, time_of_day=dt.time(22, 15))
    assert [m.astimezone(AMS).strftime("%a %d %b %H:%M") for m in runs(weekly, utc(2026, 12, 2), 3)] == [
        "Mon 07 Dec 22:15",
        "Mon 14 Dec 22:15",
        "Mon 21 Dec 22:15",
    ]
    monthly = schedule(frequency="monthly", day_of_month=31, time_of_day=dt.time(3, 0))
    assert [m.astimezone(AMS).date() for m in runs(monthly, utc(2026, 1, 1), 5)] == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 31),
    ]


def test_each_administration_has_a_fixed_place_in_the_spread_window(settings) -> None:
    settings.SCHEDULE_SPREAD_SECONDS = 3600
    offsets = [spread_offset(pk) for pk in range(1, 2001)]
    assert all(dt.timedelta(0) <= o < dt.timedelta(hours=1) for o in offsets)
    assert offsets == [spread_offset(pk) for pk in range(1, 2001)]  # the same every time
    per_minute = {int(o.total_seconds()) // 60 for o in offsets}
    assert len(per_minute) == 60  # every minute of the hour gets some, not all in one second
    assert max(offsets) - min(offsets) > dt.timedelta(minutes=55)

    s = schedule(administration_id=7, frequency="daily", time_of_day=dt.time(2, 0))
    first = next_run_after(s, utc(2026, 1, 10, 12))
    assert first == local(2026, 1, 11, 2, 0) + spread_offset(7)
    # Just after its start the next one is a day later, with the same offset.
    assert next_run_after(s, first) == local(2026, 1, 12, 2, 0) + spread_offset(7)
