"""Property tests of receipt() and deadline() over 2020-2035, aimed at the calendar's edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.model import Closure, DayKind, RecurringHoliday
from worker.officetime import OfficeCalendar, easter

BAHIA = ZoneInfo("America/Bahia")
YEARS = range(2020, 2036)

DEFAULT = OfficeCalendar()
# Salvador's municipal days plus a few config closures make more reduced and closed runs.
SALVADOR = OfficeCalendar(
    municipal=(
        RecurringHoliday("Corpus Christi", easter_offset=60),
        RecurringHoliday("São João", month=6, day=24),
        RecurringHoliday("Nossa Senhora da Conceição da Praia", month=12, day=8),
    ),
    extra=(
        Closure(date(2026, 12, 24), "Véspera de Natal", None, time(13)),
        Closure(date(2026, 12, 31), "Véspera de Ano Novo", None, time(13)),
        Closure(date(2027, 1, 2), "Mutirão de sábado", time(8), time(12)),
        Closure(date(2028, 3, 2), "Dedetização"),  # the Thursday after Ash Wednesday
    ),
)
CALENDARS = st.sampled_from([DEFAULT, SALVADOR])


def _edge_days() -> list[date]:
    """Days where the rule changes: around Carnival, Easter, holidays, New Year, leap days."""
    days: set[date] = set()
    for year in YEARS:
        sunday = easter(year)
        days.update(sunday + timedelta(days=k) for k in range(-52, -43))  # Thu before .. Thu after
        days.update(sunday + timedelta(days=k) for k in (-4, -3, -2, -1, 1, 59, 60, 61))
        for d in holidays.country_holidays("BR", subdiv="BA", years=year):
            days.update(d + timedelta(days=k) for k in (-1, 0, 1))
        days.update(date(year, 12, 31) - timedelta(days=k) for k in range(4))
        days.update(date(year, 1, 1) + timedelta(days=k) for k in range(4))
        days.update((date(year, 6, 23), date(year, 6, 24), date(year, 12, 8)))
    days.update(date(y, 2, 29) for y in YEARS if y % 4 == 0)
    days.update(date(2026, 12, d) for d in (23, 24, 30, 31))
    return sorted(d for d in days if d.year in YEARS)


EDGE_DAYS = _edge_days()
EDGE_TIMES = [
    time(0),
    time(7, 59),
    time(7, 59, 59),
    time(8),
    time(8, 0, 1),
    time(12, 59, 59),
    time(13),
    time(13, 59),
    time(13, 59, 59),
    time(14),
    time(16, 59),
    time(16, 59, 59),
    time(17),
    time(17, 0, 1),
    time(23, 59, 59),
]

uniform_days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
fridays = uniform_days.map(lambda d: d + timedelta(days=(4 - d.weekday()) % 7)).filter(
    lambda d: d.year in YEARS
)
days = st.one_of(st.sampled_from(EDGE_DAYS), fridays, uniform_days)
clock_times = st.one_of(st.sampled_from(EDGE_TIMES), st.times())

# Naive office-time instants: half aimed at edges, the rest uniform.
instants = st.one_of(
    st.builds(datetime.combine, days, clock_times),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31, 23, 59, 59)),
)
# Small steps that cross an edge, and large ones that cross days.
steps = st.one_of(
    st.sampled_from([timedelta(0), timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)]),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
)
# How the caller spells the instant: naive office time, or aware in another zone.
zones = st.sampled_from([None, BAHIA, UTC, ZoneInfo("America/Sao_Paulo"), ZoneInfo("Asia/Tokyo")])

SETTINGS = settings(deadline=None, max_examples=300)


def spelled(naive: datetime, zone: ZoneInfo | None) -> datetime:
    aware = naive.replace(tzinfo=BAHIA)
    return naive if zone is None else aware.astimezone(zone)


@SETTINGS
@given(cal=CALENDARS, naive=instants, step=steps, zone_a=zones, zone_b=zones)
def test_receipt_never_moves_earlier_when_the_submission_moves_later(
    cal: OfficeCalendar,
    naive: datetime,
    step: timedelta,
    zone_a: ZoneInfo | None,
    zone_b: ZoneInfo | None,
) -> None:
    earlier = spelled(naive, zone_a)
    later = spelled(naive + step, zone_b)
    assert cal.receipt(earlier) <= cal.receipt(later)


@SETTINGS
@given(cal=CALENDARS, naive=instants, zone=zones)
def test_receipt_is_at_or_after_the_submission_and_inside_an_open_interval(
    cal: OfficeCalendar, naive: datetime, zone: ZoneInfo | None
) -> None:
    submitted = spelled(naive, zone)
    t0 = cal.receipt(submitted)
    assert t0 >= naive.replace(tzinfo=BAHIA)
    assert cal.is_open(t0)
    assert t0.tzinfo == cal.tz
    # An open submission is its own receipt; a closed one moves to an opening exactly.
    if cal.is_open(submitted):
        assert t0 == naive.replace(tzinfo=BAHIA)
    else:
        info = cal.day_info(t0.date())
        assert t0.timetz().replace(tzinfo=None) == info.open_from
        # No open interval was skipped between the submission and the receipt.
        assert cal.open_intervals(submitted, t0) == []


@SETTINGS
@given(cal=CALENDARS, naive=instants, zone=zones)
def test_deadline_lies_inside_an_open_interval_of_a_full_day(
    cal: OfficeCalendar, naive: datetime, zone: ZoneInfo | None
) -> None:
    deadline = cal.deadline(spelled(naive, zone))
    assert cal.day_info(deadline.date()).kind is DayKind.FULL
    assert cal.is_open(deadline)
    assert deadline.tzinfo == cal.tz


@SETTINGS
@given(cal=CALENDARS, naive=instants, zone=zones)
def test_deadline_is_at_least_24_hours_after_receipt_with_the_same_clock_time(
    cal: OfficeCalendar, naive: datetime, zone: ZoneInfo | None
) -> None:
    submitted = spelled(naive, zone)
    t0 = cal.receipt(submitted)
    deadline = cal.deadline(submitted)
    # Compare in UTC: subtracting datetimes that share a tzinfo ignores their offsets.
    assert deadline.astimezone(UTC) - t0.astimezone(UTC) >= timedelta(hours=24)
    assert deadline.time() == t0.time()
    # The deadline is the first full day on or after the day 24 h after receipt.
    n_day = (t0 + timedelta(hours=24)).date()
    assert deadline.date() >= n_day
    between = (n_day + timedelta(days=k) for k in range((deadline.date() - n_day).days))
    assert all(cal.day_info(d).kind is not DayKind.FULL for d in between)
