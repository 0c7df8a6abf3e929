"""Office calendar and the R24-BA response deadline: pure date arithmetic; no I/O, never reads the clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.settingtypes import Closure, DayInfo, DayKind, RecurringHoliday

__all__ = ["SEARCH_LIMIT_DAYS", "OfficeCalendar", "easter"]

#: How far ``receipt`` and ``deadline`` look ahead for an open (or full) day before giving up.
#: A real office is never closed this long; a configuration that is, is a mistake.
SEARCH_LIMIT_DAYS = 400

SOURCE_HOLIDAYS = "holidays (BR-BA)"
SOURCE_CARNIVAL = "carnival"

CARNIVAL_MONDAY = "Carnaval (segunda-feira)"
CARNIVAL_TUESDAY = "Carnaval (terça-feira)"
ASH_WEDNESDAY = "Quarta-feira de Cinzas"

_DAY = timedelta(days=1)
_COUNT = timedelta(hours=24)


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian / Meeus-Jones-Butcher algorithm).

    ``easter(2026) == date(2026, 4, 5)``; ``easter(2028) == date(2028, 4, 16)``;
    valid for every Gregorian year (2100: 28 March).
    """
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


@dataclass(frozen=True)
class _Reason:
    """One reason a date is special. ``hours`` None = closed all day (for config entries too)."""

    name: str
    source: str
    hours: tuple[time, time] | None
    extra: bool  # a config closure: overrides every other reason on its date


class OfficeCalendar:
    """Which days and hours the office is open, and the R24-BA receipt and deadline.

    Day kinds:

    - FULL: a workday with no special reason, open ``[opens, closes)`` (08:00-17:00 by default;
      half-open, so 16:59:59 is inside and 17:00:00 is outside).
    - CLOSED: a non-workday (weekend), a ``holidays`` BR-BA holiday (national + 2 de Julho),
      Carnival Monday/Tuesday (Easter - 48/-47 days, when ``carnival_closed``), a municipal
      recurring holiday, or an extra closure without hours.
    - REDUCED: Ash Wednesday (Easter - 46) open ``[ash_wednesday_opens, closes)`` (None makes it a
      plain full day), or an extra closure with hours, open ``[open_from or opens,
      open_until or closes)``.

    An extra closure overrides everything else on its date: ``Closure(date(2026, 12, 25),
    "Plantão de Natal", time(8), time(12))`` opens Christmas 08:00-12:00 (REDUCED), and an
    extra with hours on a Saturday opens that Saturday. Several extras on one date: one without
    hours closes the day; otherwise the office is open only where all their hours overlap.

    When several reasons fall on one date, the names and sources are joined with " / " (e.g.
    "Sexta-feira Santa / Tiradentes" on 21 April 2000). Closing reasons beat Ash Wednesday's
    reduced hours.

    Instants: aware datetimes in any zone are converted to the office zone; naive ones are read
    as office time. Results are aware, in the office zone.
    """

    def __init__(
        self,
        *,
        timezone: str = "America/Bahia",
        opens: time = time(8),
        closes: time = time(17),
        workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4}),  # Monday=0
        carnival_closed: bool = True,
        ash_wednesday_opens: time | None = time(14),
        municipal: Sequence[RecurringHoliday] = (),
        extra: Sequence[Closure] = (),
    ) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "America" is a directory
            raise ValueError(f"unknown time zone {timezone!r}") from exc
        for label, value in (("opens", opens), ("closes", closes)):
            if value.tzinfo is not None:
                raise ValueError(f"{label} must be a naive office-clock time, found {value}")
        if not opens < closes:
            raise ValueError(f"closes ({closes:%H:%M}) must be after opens ({opens:%H:%M})")
        if not workdays <= frozenset(range(7)):
            raise ValueError(
                f"workdays must be weekday numbers 0-6 (Monday=0), found {sorted(workdays)}"
            )
        if ash_wednesday_opens is not None and not opens <= ash_wednesday_opens < closes:
            raise ValueError(
                f"ash_wednesday_opens ({ash_wednesday_opens:%H:%M}) must lie in "
                f"[{opens:%H:%M}, {closes:%H:%M})"
            )
        self.opens = opens
        self.closes = closes
        self.workdays = frozenset(workdays)
        self.carnival_closed = carnival_closed
        self.ash_wednesday_opens = ash_wednesday_opens
        self.municipal = tuple(municipal)
        self.extra = tuple(extra)
        for rh in self.municipal:
            fixed = rh.month is not None and rh.day is not None
            partial = (rh.month is None) != (rh.day is None)
            if partial or fixed == (rh.easter_offset is not None):
                raise ValueError(
                    f"municipal holiday {rh.name!r}: give either month and day or easter_offset"
                )
            if rh.month is not None and rh.day is not None:
                try:  # 2000 is a leap year, so 29 February is accepted (kept in leap years only)
                    date(2000, rh.month, rh.day)
                except ValueError as exc:
                    raise ValueError(
                        f"municipal holiday {rh.name!r}: no such date {rh.day}/{rh.month}"
                    ) from exc
        self._extra_by_day: dict[date, list[_Reason]] = {}
        for c in self.extra:
            self._extra_by_day.setdefault(c.day, []).append(
                _Reason(c.name, c.source, self._closure_hours(c), extra=True)
            )
        self._years: dict[int, dict[date, list[_Reason]]] = {}
        self._days: dict[date, DayInfo] = {}

    # ------------------------------------------------------------------ days

    def _closure_hours(self, c: Closure) -> tuple[time, time] | None:
        if c.open_from is None and c.open_until is None:
            return None
        start = c.open_from if c.open_from is not None else self.opens
        end = c.open_until if c.open_until is not None else self.closes
        # A REDUCED day must stay inside normal hours: the deadline keeps the receipt's clock
        # time on a FULL day, so a receipt at 18:00 on a late-opening day would have no valid
        # deadline at all.
        if not self.opens <= start < end <= self.closes:
            raise ValueError(
                f"extra closure {c.day.isoformat()} {c.name!r}: hours {start:%H:%M}-{end:%H:%M} "
                f"must be a non-empty range inside {self.opens:%H:%M}-{self.closes:%H:%M}"
            )
        return (start, end)

    def _year(self, year: int) -> dict[date, list[_Reason]]:
        """Every special reason of one year, by date (cached: ``holidays`` is slow-ish per year)."""
        table = self._years.get(year)
        if table is not None:
            return table
        table = {}

        def add(d: date, reason: _Reason) -> None:
            if d.year == year:
                table.setdefault(d, []).append(reason)

        # Loaded on first use: ticks that compute no deadline never load the library.
        from worker.brazil_holidays import brazil

        national = brazil()(subdiv="BA", language="pt_BR", years=year)
        for d, names in sorted(national.items()):
            # The library joins two holidays on one date with "; " (Good Friday on 21 April 2000).
            for name in names.split("; "):
                add(d, _Reason(name, SOURCE_HOLIDAYS, None, extra=False))
        sunday = easter(year)
        if self.carnival_closed:
            add(sunday - timedelta(days=48), _Reason(CARNIVAL_MONDAY, SOURCE_CARNIVAL, None, False))
            add(
                sunday - timedelta(days=47), _Reason(CARNIVAL_TUESDAY, SOURCE_CARNIVAL, None, False)
            )
        if self.ash_wednesday_opens is not None:
            hours = (self.ash_wednesday_opens, self.closes)
            add(sunday - timedelta(days=46), _Reason(ASH_WEDNESDAY, SOURCE_CARNIVAL, hours, False))
        for rh in self.municipal:
            if rh.easter_offset is not None:
                # A large offset can cross a year boundary either way: try the neighbours too.
                for y in (year - 1, year, year + 1):
                    add(
                        easter(y) + timedelta(days=rh.easter_offset),
                        _Reason(rh.name, rh.source, None, False),
                    )
            else:
                assert rh.month is not None and rh.day is not None
                try:
                    d = date(year, rh.month, rh.day)
                except ValueError:  # 29 February outside a leap year
                    continue
                add(d, _Reason(rh.name, rh.source, None, False))
        for d, reasons in self._extra_by_day.items():
            if d.year == year:
                table.setdefault(d, []).extend(reasons)
        self._years[year] = table
        return table

    def day_info(self, d: date) -> DayInfo:
        """How the office treats ``d``.

        ``day_info(date(2026, 2, 18))`` is REDUCED 14:00-17:00 "Quarta-feira de Cinzas";
        ``day_info(date(2026, 2, 21))`` (a plain Saturday) is CLOSED with name None;
        ``day_info(date(2026, 11, 15))`` (a Sunday) is CLOSED "Proclamação da República" with
        ``weekend=True``.
        """
        cached = self._days.get(d)
        if cached is not None:
            return cached
        reasons = self._year(d.year).get(d, [])
        weekend = d.weekday() not in self.workdays
        hours: tuple[time, time] | None
        extras = [r for r in reasons if r.extra]
        if extras:
            if any(r.hours is None for r in extras):
                kind, hours = DayKind.CLOSED, None
            else:
                start = max(r.hours[0] for r in extras if r.hours)
                end = min(r.hours[1] for r in extras if r.hours)
                kind, hours = (
                    (DayKind.REDUCED, (start, end)) if start < end else (DayKind.CLOSED, None)
                )
        elif weekend or any(r.hours is None for r in reasons):
            kind, hours = DayKind.CLOSED, None
        elif reasons:
            start = max(r.hours[0] for r in reasons if r.hours)
            end = min(r.hours[1] for r in reasons if r.hours)
            kind, hours = DayKind.REDUCED, (start, end)
        else:
            kind, hours = DayKind.FULL, (self.opens, self.closes)
        info = DayInfo(
            day=d,
            kind=kind,
            name=_join(r.name for r in reasons),
            source=_join(r.source for r in reasons),
            open_from=hours[0] if hours else None,
            open_until=hours[1] if hours else None,
            weekend=weekend,
        )
        self._days[d] = info
        return info

    def special_days(self, year: int) -> list[DayInfo]:
        """Every closed or reduced day of ``year`` that has a reason, sorted, one per date.

        Plain weekends are left out; a holiday on a weekend is listed with ``weekend=True``
        (2026-11-15, a Sunday). Ash Wednesday with ``ash_wednesday_opens=None`` is a full day
        and is not listed.
        """
        infos = (self.day_info(d) for d in sorted(self._year(year)))
        return [i for i in infos if i.kind is not DayKind.FULL]

    # ------------------------------------------------------------------ instants

    def _local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            return instant.replace(tzinfo=self.tz)
        return instant.astimezone(self.tz)

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)

    def open_interval(self, d: date) -> tuple[datetime, datetime] | None:
        """The half-open ``[start, end)`` the office is open on ``d``, or None when closed.

        ``open_interval(date(2028, 3, 1))`` (Ash Wednesday) is 14:00-17:00 in America/Bahia.
        """
        info = self.day_info(d)
        if info.open_from is None or info.open_until is None:
            return None
        return (self._at(d, info.open_from), self._at(d, info.open_until))

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Open intervals overlapping ``[start, end)``, clipped to it; empty when end <= start.

        From Fri 2028-02-25 16:00 to Thu 2028-03-02 09:00 this is Fri 16:00-17:00,
        Wed 14:00-17:00 and Thu 08:00-09:00 (Carnival and the weekend in between are closed).
        """
        lo, hi = self._local(start), self._local(end)
        result: list[tuple[datetime, datetime]] = []
        d = lo.date()
        while d <= hi.date():
            interval = self.open_interval(d)
            if interval is not None:
                s, e = max(interval[0], lo), min(interval[1], hi)
                if s < e:
                    result.append((s, e))
            d += _DAY
        return result

    def is_open(self, instant: datetime) -> bool:
        """Whether the office is open at ``instant``: 16:59:59 on a full day yes, 17:00:00 no."""
        local = self._local(instant)
        interval = self.open_interval(local.date())
        return interval is not None and interval[0] <= local < interval[1]

    def receipt(self, submitted: datetime) -> datetime:
        """R24-BA step 1: the termo inicial T0, in the office zone.

        Inside an open interval T0 is the submission itself (seconds kept); otherwise it is the
        start of the next open interval, reduced days included: Tue 2028-06-06 17:00 gives
        Wed 08:00; Mon 2028-02-28 (Carnival) 10:00 gives Ash Wednesday 2028-03-01 14:00.
        """
        local = self._local(submitted)
        d = local.date()
        for _ in range(SEARCH_LIMIT_DAYS + 1):
            interval = self.open_interval(d)
            if interval is not None and local < interval[1]:
                return max(local, interval[0])
            d += _DAY
        raise ValueError(
            f"no open interval within {SEARCH_LIMIT_DAYS} days after {local.isoformat()}: "
            "the office configuration closes every day"
        )

    def minutes_before(self, instant: datetime, minutes: int) -> datetime:
        """The instant ``minutes`` office minutes before ``instant``: only open time counts.

        With the default hours, 120 minutes before Tue 2028-03-07 10:15 is 08:15; before
        Tue 09:00 it is Mon 16:00 (60 minutes on Tuesday morning, 60 on Monday afternoon);
        before Thu 2028-03-02 08:00 it is Ash Wednesday 15:00 (Carnival is closed). Used for
        the deadline alerts: the deadline itself is counted the same way, minute by minute.
        """
        remaining = timedelta(minutes=minutes)
        local = self._local(instant)
        d = local.date()
        for _ in range(SEARCH_LIMIT_DAYS + 1):
            interval = self.open_interval(d)
            if interval is not None and interval[0] < local:
                end = min(interval[1], local)
                if end - interval[0] >= remaining:
                    return end - remaining
                remaining -= end - interval[0]
            d -= _DAY
        raise ValueError(
            f"no open time within {SEARCH_LIMIT_DAYS} days before {local.isoformat()}: "
            "the office configuration closes every day"
        )

    def deadline(self, submitted: datetime) -> datetime:
        """R24-BA: the response deadline of a request submitted at ``submitted``, in office time.

        (1) T0 = ``receipt(submitted)``; (2) N = T0 + 24 h, exactly (16:59:59 gives 16:59:59);
        (3) if N's date is a FULL day the deadline is N, else the same clock time on the next
        FULL day (closed and reduced days are skipped). Examples: Fri 2028-02-25 11:00 ->
        Thu 2028-03-02 11:00 (weekend, Carnival and Ash Wednesday skipped); Ash Wednesday
        2028-03-01 09:00 -> receipt 14:00 -> Thu 2028-03-02 14:00; Thu 2020-12-31 16:00 ->
        Mon 2021-01-04 16:00.

        The 24 h are counted on the office wall clock, so the deadline keeps T0's clock time
        and always falls in office hours. America/Bahia has had no daylight saving time since
        2012, and Brazil's past switches happened at midnight into a weekend day, so on open
        days this equals elapsed time.
        """
        t0 = self.receipt(submitted)
        n = t0.replace(tzinfo=None) + _COUNT
        d = n.date()
        for _ in range(SEARCH_LIMIT_DAYS + 1):
            if self.day_info(d).kind is DayKind.FULL:
                return datetime.combine(d, n.time(), tzinfo=self.tz)
            d += _DAY
        raise ValueError(
            f"no full office day within {SEARCH_LIMIT_DAYS} days after {n.date().isoformat()}: "
            "the office configuration has no full days"
        )


def _join(parts: Iterable[str]) -> str | None:
    """Join distinct names in order with " / "; None when there are none."""
    seen: list[str] = []
    for p in parts:
        if p not in seen:
            seen.append(p)
    return " / ".join(seen) or None
