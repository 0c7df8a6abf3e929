"""Planner of bookings: which slot each request gets (automatic mode) or whether the time staff typed is acceptable (manual mode); pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from worker import intake, slots, texts
from worker.lifecycle import Problem
from worker.model import Period, RequestRecord
from worker.officetime import OfficeCalendar
from worker.planners.actions import Action, Book, Flag


@dataclass(frozen=True)
class StaffTime:
    """A time staff typed in `Atendimento` (``at``), or why the cell is not one (``error``)."""

    serial: float | None
    at: datetime | None = None
    error: str | None = None


def staff_time(rec: RequestRecord, cell: object, sheet_tz: str) -> StaffTime | None:
    """Read the `Atendimento` cell of a request in manual mode; None when there is nothing
    new: empty, the value balcao itself wrote, or one already judged.

    ``staff_time(rec, "amanhã", tz)`` → ``StaffTime(None, error="Data/hora não reconhecida…")``
    (once: the same text is not judged again while the note already says so)."""
    if cell in (None, ""):
        return None
    if isinstance(cell, bool) or not isinstance(cell, int | float):
        if rec.reason == texts.REASON_BAD_STAFF_TIME:
            return None
        return StaffTime(None, error=texts.REASON_BAD_STAFF_TIME)
    serial = float(cell)
    for known in (rec.manual_serial, rec.staff_serial):
        if known is not None and abs(serial - known) < 1e-9:
            return None
    return StaffTime(serial, at=intake.serial_to_datetime(serial, sheet_tz))


def plan_booking(
    to_choose: Sequence[RequestRecord],
    manual: Mapping[str, StaffTime],
    agenda: slots.Agenda,
    *,
    office: OfficeCalendar,
    rules: slots.SlotRules,
    calendars: Sequence[str],
    now: datetime,
) -> list[Action]:
    """Slots for requests without an event: staff-typed times first (checked like a manual
    booking: open hours, not past, no overlap, daily limit), then the automatic choice for
    ``to_choose`` in receipt order. ``agenda`` is updated as slots are taken."""
    out: list[Action] = []
    for protocol, typed in manual.items():
        if typed.error is not None or typed.at is None:
            out.append(Flag(protocol, Problem.MANUAL_INVALID, typed.error, typed.serial))
            continue
        result = slots.check_manual_slot(typed.at, calendars, agenda, office, rules, now)
        if isinstance(result, str):
            out.append(
                Flag(protocol, Problem.MANUAL_INVALID, result, typed.serial, "manual_rejected")
            )
        else:
            out.append(Book(protocol, result, typed.serial))
    requests = [
        slots.SlotRequest(
            key=rec.protocol,
            receipt=office.receipt(rec.submitted_dt or now),
            deadline=rec.deadline_dt or now,
            period=Period(rec.period or "any"),
        )
        for rec in to_choose
    ]
    chosen = slots.choose_slots(requests, calendars, agenda, office, rules, now) if requests else {}
    for rec in to_choose:
        slot = chosen.get(rec.protocol)
        out.append(Book(rec.protocol, slot) if slot else Flag(rec.protocol, Problem.NO_SLOT))
    return out


def without_own(agenda: slots.Agenda, rec: RequestRecord, tz: ZoneInfo) -> slots.Agenda:
    """The agenda as if the request's own appointment were not there: its interval is free
    and it does not count toward ``max_per_day`` (a move is checked against the others)."""
    start, end, cal = rec.slot_start_dt, rec.slot_end_dt, rec.calendar_id
    busy = {c: list(v) for c, v in agenda.busy.items()}
    per_day = dict(agenda.booked_per_day)
    if start is not None and end is not None and cal is not None:
        busy[cal] = [iv for iv in busy.get(cal, []) if not (iv[0] == start and iv[1] == end)]
        day = (cal, start.astimezone(tz).date())
        if per_day.get(day):
            per_day[day] -= 1
    return slots.Agenda(busy=busy, booked_per_day=per_day)


def plan_move(
    rec: RequestRecord, at: datetime, agenda: slots.Agenda, *, office: OfficeCalendar,
    rules: slots.SlotRules, now: datetime,
) -> slots.Slot | str:
    """A time staff typed for a booked request, checked like a manual booking (open hours,
    not past, no overlap, daily limit) on the event's own calendar, without counting the
    request itself: the new slot, or the pt-BR reason it is refused."""
    assert rec.calendar_id
    free = without_own(agenda, rec, office.tz)
    return slots.check_manual_slot(at, [rec.calendar_id], free, office, rules, now)


def plan_reschedule(
    rec: RequestRecord, agenda: slots.Agenda, *, office: OfficeCalendar,
    rules: slots.SlotRules, now: datetime,
) -> slots.Slot | None:
    """`Remarcar` in automatic mode: the next free slot after now + lead on the event's
    current calendar that is not the current one (its own appointment stays busy, but does
    not count toward ``max_per_day``); None when there is none."""
    assert rec.calendar_id
    per_day = dict(agenda.booked_per_day)
    if rec.slot_start_dt is not None:
        day = (rec.calendar_id, rec.slot_start_dt.astimezone(office.tz).date())
        if per_day.get(day):
            per_day[day] -= 1
    busy = {c: list(v) for c, v in agenda.busy.items()}
    if rec.slot_start_dt is not None and rec.slot_end_dt is not None:
        # Never the current one, even when Google no longer shows it busy.
        busy.setdefault(rec.calendar_id, []).append((rec.slot_start_dt, rec.slot_end_dt))
    view = slots.Agenda(busy=busy, booked_per_day=per_day)
    request = slots.SlotRequest(
        key=rec.protocol, receipt=now, deadline=now, period=Period(rec.period or "any")
    )
    chosen = slots.choose_slots([request], [rec.calendar_id], view, office, rules, now)
    return chosen.get(rec.protocol)
