"""Slot choice from busy intervals, office hours and scheduling rules; pure: no I/O, never reads the clock."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from worker.model import Period, Slot
from worker.officetime import OfficeCalendar

__all__ = [
    "Agenda",
    "SlotRequest",
    "SlotRules",
    "after_deadline",
    "book_slot",
    "check_manual_slot",
    "choose_slots",
    "horizon",
]

NOON = time(12)

# pt-BR reasons of the manual check, written by the caller into `Observação`.
REASON_OUTSIDE_HOURS = "Fora do horário de atendimento"
REASON_PAST = "Data/hora no passado"
REASON_CONFLICT = "Conflita com outro compromisso"
REASON_DAILY_LIMIT = "Limite diário de atendimentos atingido"

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class SlotRules:
    """The scheduling keys (``scheduling.*`` in config.yaml), in minutes unless named otherwise.

    ``buffer_minutes`` is the least gap between the end of one appointment (or any busy
    interval) and the start of the next on the same calendar, and the other way round.
    ``max_per_day`` counts balcao's own bookings per calendar and local date, because
    free/busy cannot tell them from staff meetings. ``granularity_minutes`` aligns slot
    starts to a grid counted from the start of each open interval (08:00, 08:15, ...;
    14:00, 14:15, ... on Ash Wednesday).
    """

    slot_minutes: int = 30
    buffer_minutes: int = 10
    lead_minutes: int = 60
    max_per_day: int = 8
    horizon_days: int = 10
    granularity_minutes: int = 15

    def __post_init__(self) -> None:
        for name in ("slot_minutes", "granularity_minutes"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"{name}: expected a positive integer, found {getattr(self, name)!r}"
                )
        for name in ("buffer_minutes", "lead_minutes", "max_per_day", "horizon_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected zero or more, found {getattr(self, name)!r}")

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)

    @property
    def lead(self) -> timedelta:
        return timedelta(minutes=self.lead_minutes)

    @property
    def granularity(self) -> timedelta:
        return timedelta(minutes=self.granularity_minutes)


@dataclass(frozen=True)
class SlotRequest:
    """One request waiting for a slot.

    ``receipt`` orders service (ties by ``key``); a slot starting before ``deadline`` is
    preferred. ``period``: MORNING = the slot STARTS before 12:00 (it may run past noon:
    11:45–12:15 is a Manhã slot); AFTERNOON = it starts at 12:00 or later; ANY = either.
    The period is a hard constraint, never relaxed.
    """

    key: str
    receipt: datetime
    deadline: datetime
    period: Period = Period.ANY


@dataclass
class Agenda:
    """The mutable booking state of one tick.

    ``busy``: per calendar id, the free/busy intervals from Google (staff meetings AND
    balcao's own earlier events), in any order, possibly overlapping. ``booked_per_day``:
    per (calendar id, local date), balcao's own bookings as counted by the journal.
    :func:`choose_slots` and :func:`check_manual_slot` append what they book to both.
    """

    busy: dict[str, list[Interval]] = field(default_factory=dict)
    booked_per_day: dict[tuple[str, date], int] = field(default_factory=dict)


def horizon(now: datetime, rules: SlotRules) -> tuple[datetime, datetime]:
    """The ONE free/busy window of a tick: ``[now, now + horizon_days]``.

    ``horizon(2028-03-06 10:00-03:00, SlotRules())`` → ``(2028-03-06 10:00, 2028-03-16 10:00)``.
    """
    _require_aware(now, "now")
    return now, now + timedelta(days=rules.horizon_days)


def after_deadline(slot: Slot, request: SlotRequest) -> bool:
    """True when the slot does not start before the request's deadline (the service flags it)."""
    return slot.start >= request.deadline


def choose_slots(
    requests: Sequence[SlotRequest],
    calendars: Sequence[str],
    agenda: Agenda,
    office: OfficeCalendar,
    rules: SlotRules,
    now: datetime,
) -> dict[str, Slot | None]:
    """Pick the earliest free slot for each request, booking each into ``agenda`` as it goes.

    Requests are served in (receipt, key) order, whatever order they are listed in. Each
    gets the earliest start that:
    - lies on the granularity grid of an open interval of the office (a full day or a
      reduced day's hours), with the whole slot ending by closing time;
    - is at least ``lead_minutes`` after ``now``;
    - honours the period (Manhã starts before 12:00, Tarde at 12:00 or later);
    - keeps ``buffer_minutes`` clear of every busy interval of the calendar, including
      slots booked earlier in this call (so no two slots of one calendar overlap);
    - leaves the calendar at most ``max_per_day`` balcao bookings on that local date;
    - ends, buffer included, by the end of :func:`horizon` (free/busy knows nothing after).

    Earliest-first makes the deadline preference automatic: when any slot starts before
    the deadline, the earliest one does; otherwise the earliest slot after it is returned
    (see :func:`after_deadline`). When several calendars are free at that start, the least
    loaded wins: fewest bookings that day, then fewest in the whole agenda, then the order
    of ``calendars``. No slot within the horizon → ``None``.

    Keys must be unique (``ValueError`` otherwise). Slots are in the office time zone.
    Cost: O(requests × calendars × log busy + (open days + busy intervals) × calendars
    × periods): each calendar's search for a period resumes where it last found a slot.
    """
    _require_aware(now, "now")
    seen: set[str] = set()
    for r in requests:
        if r.key in seen:
            raise ValueError(f"duplicate request key {r.key!r}")
        seen.add(r.key)
    tz = office.tz
    now = now.astimezone(tz)
    _, window_end = horizon(now, rules)
    limit = window_end - rules.buffer  # the latest end of a slot
    earliest = now + rules.lead
    days = _open_days(office, now, window_end)
    state = _State(calendars, agenda, tz)
    # Booking only removes candidates, so the earliest start of a (calendar, period) never
    # moves back during one call: each search resumes where the previous one found its slot
    # instead of rescanning the horizon from its first day (linear in the backlog, not
    # quadratic). A calendar with nothing left for a period stays without.
    resume: dict[tuple[str, Period], datetime | None] = {}
    closes = [d.closes for d in days]

    result: dict[str, Slot | None] = {}
    for req in sorted(requests, key=lambda r: (r.receipt, r.key)):
        best: tuple[datetime, int, int, int, str] | None = None
        for order, cal in enumerate(calendars):
            key = (cal, req.period)
            if key in resume and resume[key] is None:
                continue
            since = max(earliest, resume.get(key) or earliest)
            first = bisect.bisect_right(closes, since)  # the days closing by then are past
            start = _earliest_on(state, cal, days, since, limit, req.period, rules, first)
            resume[key] = start
            if start is None:
                continue
            day = start.date()
            rank = (start, state.count(cal, day), state.total(cal), order, cal)
            if best is None or rank < best:
                best = rank
        if best is None:
            result[req.key] = None
            continue
        start, cal = best[0], best[4]
        slot = Slot(start=start, end=start + rules.slot, calendar_id=cal)
        state.book(slot)
        result[req.key] = slot
    return result


def check_manual_slot(
    start: datetime,
    calendars: Sequence[str],
    agenda: Agenda,
    office: OfficeCalendar,
    rules: SlotRules,
    now: datetime,
    *,
    book: bool = True,
) -> Slot | str:
    """Check a time typed by staff (manual mode); the Slot, or the pt-BR reason for `Observação`.

    Checks, in this order: the start is not before ``now`` ("Data/hora no passado"); the
    whole slot lies in one open interval ("Fora do horário de atendimento"; the grid and the
    lead time do not apply: staff chose the time); some calendar is clear of busy intervals
    ± buffer ("Conflita com outro compromisso"); some clear calendar is under ``max_per_day``
    ("Limite diário de atendimentos atingido"). The least loaded clear calendar is taken
    (bookings that day, then overall, then calendar order). With ``book`` (the default) the
    slot is booked into ``agenda`` so a second entry in the same tick sees it.

    Busy intervals only cover the tick's free/busy window; a time beyond it is checked
    against balcao's own bookings and whatever the caller put in ``agenda.busy``.
    """
    _require_aware(start, "start")
    _require_aware(now, "now")
    tz = office.tz
    start = start.astimezone(tz)
    end = start + rules.slot
    if start < now:
        return REASON_PAST
    midnight = datetime.combine(start.date(), time(0), tz)
    intervals = office.open_intervals(midnight, midnight + timedelta(days=1))
    if not any(_as_tz(a, tz) <= start and end <= _as_tz(b, tz) for a, b in intervals):
        return REASON_OUTSIDE_HOURS
    state = _State(calendars, agenda, tz)
    day = start.date()
    clear = [
        (state.count(cal, day), state.total(cal), order, cal)
        for order, cal in enumerate(calendars)
        if state.conflict_end(cal, start, end, rules.buffer) is None
    ]
    if not clear:
        return REASON_CONFLICT
    under = [c for c in clear if c[0] < rules.max_per_day]
    if not under:
        return REASON_DAILY_LIMIT
    slot = Slot(start=start, end=end, calendar_id=min(under)[3])
    if book:
        state.book(slot)
    return slot


def book_slot(agenda: Agenda, slot: Slot, office: OfficeCalendar) -> None:
    """Record a booking made elsewhere (e.g. an event found from an earlier run) in ``agenda``."""
    _State([slot.calendar_id], agenda, office.tz).book(slot)


# --------------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Day:
    """One open interval of the office (at most one per local date)."""

    day: date
    opens: datetime
    closes: datetime
    noon: datetime


class _Timeline:
    """Disjoint busy intervals of one calendar, sorted; starts and ends in parallel lists.

    Because the intervals are disjoint, ``ends`` is sorted too, so the first interval that
    could touch a slot is found by bisection.
    """

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        for s, e in sorted(intervals):
            if e <= s:
                continue
            if self.ends and s <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], e)
            else:
                self.starts.append(s)
                self.ends.append(e)

    def conflict_end(self, start: datetime, end: datetime, buffer: timedelta) -> datetime | None:
        """The end of the first busy interval within ``buffer`` of ``[start, end)``, or None.

        Busy 10:00–10:30 with a 10-minute buffer blocks ``[09:50, 10:40)``: a slot may end
        at 09:50 or start at 10:40.
        """
        i = bisect.bisect_right(self.ends, start - buffer)
        if i < len(self.starts) and self.starts[i] - buffer < end:
            return self.ends[i]
        return None

    def add(self, start: datetime, end: datetime) -> None:
        """Insert ``[start, end)``, merging any interval it overlaps or touches."""
        i = bisect.bisect_left(self.ends, start)
        j = bisect.bisect_right(self.starts, end)
        if i < j:
            start = min(start, self.starts[i])
            end = max(end, self.ends[j - 1])
        self.starts[i:j] = [start]
        self.ends[i:j] = [end]


class _State:
    """Indexes over an Agenda for one call; every booking goes to both the index and the Agenda."""

    def __init__(self, calendars: Sequence[str], agenda: Agenda, tz: tzinfo) -> None:
        self.agenda = agenda
        self.tz = tz
        self.timelines: dict[str, _Timeline] = {}
        self.totals: dict[str, int] = {}
        for (cal, _day), n in agenda.booked_per_day.items():
            self.totals[cal] = self.totals.get(cal, 0) + n
        for cal in calendars:
            intervals = agenda.busy.get(cal, [])
            for s, e in intervals:
                _require_aware(s, f"busy start of {cal}")
                _require_aware(e, f"busy end of {cal}")
            self.timelines[cal] = _Timeline(intervals)

    def timeline(self, cal: str) -> _Timeline:
        if cal not in self.timelines:
            self.timelines[cal] = _Timeline(self.agenda.busy.get(cal, []))
        return self.timelines[cal]

    def count(self, cal: str, day: date) -> int:
        return self.agenda.booked_per_day.get((cal, day), 0)

    def total(self, cal: str) -> int:
        return self.totals.get(cal, 0)

    def conflict_end(
        self, cal: str, start: datetime, end: datetime, buffer: timedelta
    ) -> datetime | None:
        return self.timeline(cal).conflict_end(start, end, buffer)

    def book(self, slot: Slot) -> None:
        cal = slot.calendar_id
        self.timeline(cal).add(slot.start, slot.end)
        self.agenda.busy.setdefault(cal, []).append((slot.start, slot.end))
        key = (cal, slot.start.astimezone(self.tz).date())
        self.agenda.booked_per_day[key] = self.agenda.booked_per_day.get(key, 0) + 1
        self.totals[cal] = self.totals.get(cal, 0) + 1


def _earliest_on(
    state: _State,
    cal: str,
    days: Sequence[_Day],
    earliest: datetime,
    limit: datetime,
    period: Period,
    rules: SlotRules,
    first: int = 0,
) -> datetime | None:
    """The earliest valid start at or after ``earliest`` on one calendar, looking from
    ``days[first]`` on, or None within the horizon. A search that resumes passes the start
    it found last time as ``earliest``: a grid point, so the grid is unchanged."""
    timeline = state.timeline(cal)
    step, length, buffer = rules.granularity, rules.slot, rules.buffer
    for i in range(first, len(days)):
        d = days[i]
        if d.closes <= earliest:
            continue
        if d.opens + length > limit:
            break
        if state.count(cal, d.day) >= rules.max_per_day:
            continue
        lo = max(earliest, d.noon) if period is Period.AFTERNOON else earliest
        last = min(d.closes, limit) - length  # the latest start by closing time / horizon
        if period is Period.MORNING:
            last = min(last, d.noon - timedelta(microseconds=1))
        start = _align_up(lo, d.opens, step)
        while start <= last:
            blocker = timeline.conflict_end(start, start + length, buffer)
            if blocker is None:
                return start
            start = _align_up(blocker + buffer, d.opens, step)
    return None


def _align_up(t: datetime, origin: datetime, step: timedelta) -> datetime:
    """The first grid point ``origin + k·step`` (k ≥ 0) at or after ``t``."""
    if t <= origin:
        return origin
    return origin - ((origin - t) // step) * step


def _open_days(office: OfficeCalendar, now: datetime, end: datetime) -> list[_Day]:
    """The office's open intervals from the start of ``now``'s local day, unclipped at the start.

    Asking from midnight keeps the first interval's true opening time, which anchors the grid.
    """
    tz = office.tz
    midnight = datetime.combine(now.date(), time(0), tz)
    days = []
    for a, b in office.open_intervals(midnight, end):
        a, b = _as_tz(a, tz), _as_tz(b, tz)
        days.append(
            _Day(day=a.date(), opens=a, closes=b, noon=datetime.combine(a.date(), NOON, tz))
        )
    return days


def _as_tz(t: datetime, tz: tzinfo) -> datetime:
    return t.astimezone(tz)


def _require_aware(t: datetime, what: str) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what}: expected an aware datetime, found naive {t.isoformat()}")
