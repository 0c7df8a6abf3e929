"""Planner of what staff did: a choice in `Situação` or a time typed in `Atendimento` (DESIGN §7), and the changes staff made to events in Google Calendar; pure.

A cell counts as staff's only when it differs from what balcao last wrote there (``shown``),
so a write-back that is late is never mistaken for a choice, and a choice already carried out
is not carried out again while the sheet still shows it (``rec.staff_seen``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from worker import intake, texts
from worker.lifecycle import (
    FINAL,
    FLAGGED,
    EventState,
    MailState,
    Problem,
    StaffAction,
    Status,
    fold,
    staff_action,
)
from worker.model import EventChange, RequestRecord

LIVE = (EventState.CREATED, EventState.PENDING)


@dataclass(frozen=True)
class Cancel:
    """Delete the event (if any) and tell the citizen if they were e-mailed before."""

    protocol: str
    notify: bool
    seen: str | None = None


@dataclass(frozen=True)
class Reschedule:
    """Automatic mode: the next free slot of the event's calendar that is not the current one."""

    protocol: str
    seen: str | None = None


@dataclass(frozen=True)
class Move:
    """Patch the event to ``at`` (a time staff typed, or moved in Google Calendar)."""

    protocol: str
    at: datetime
    end: datetime | None = None  # None: keep the duration
    serial: float | None = None  # the typed `Atendimento` value (judged once)
    checked: bool = True  # staff typed it: checked like a manual booking; a calendar move is not
    patch: bool = True  # False when Google already holds the new time (a move in Calendar)


@dataclass(frozen=True)
class Finish:
    """A final status chosen by staff (`Realizado`, `Não compareceu`)."""

    protocol: str
    status: Status
    notify: bool
    seen: str | None = None


@dataclass(frozen=True)
class Note:
    """Nothing moves; `Observação` tells staff why (the status is derived as before)."""

    protocol: str
    reason: str
    seen: str | None = None
    serial: float | None = None
    status: Status | None = None  # a status to show besides the note (manual Remarcar)


@dataclass(frozen=True)
class ClearFlag:
    protocol: str
    seen: str | None = None


@dataclass(frozen=True)
class CalendarSwitch:
    """Staff moved the event to another attendant calendar: recorded, nothing else."""

    protocol: str
    calendar_id: str


@dataclass(frozen=True)
class Deleted:
    """Staff deleted the event in Google Calendar: never recreated."""

    protocol: str
    confirmed: bool  # a confirmation was sent: the request is cancelled, the citizen told


StaffPlan = Cancel | Reschedule | Move | Finish | Note | ClearFlag | CalendarSwitch | Deleted


def seen_key(cell: str, shown: str | None) -> str:
    """What identifies one staff choice: its text and what balcao showed before it."""
    return f"{fold(cell)}@{shown or ''}"


def plan_sheet(
    rec: RequestRecord, status_cell: object, appt_cell: object, *, now: datetime,
    mode: str, sheet_tz: str, no_show_email: bool,
) -> StaffPlan | None:
    """What staff asked for in this request's row, or None.

    ``plan_sheet(rec_agendado, "Cancelar", ...)`` → ``Cancel(protocol, notify=True)``;
    ``"Não compareceu"`` before the start → a Note "Ação não aplicável: solicitação Agendado".
    """
    if rec.erasure_id is not None:
        return None  # erased (DESIGN §9): never acted on again
    shown = rec.shown_status or rec.status
    action = staff_action(status_cell)
    if action is not None and isinstance(status_cell, str):
        seen = seen_key(status_cell, shown)
        if fold(status_cell) != fold(shown) and seen != rec.staff_seen:
            return _status_choice(rec, action, seen, now=now, mode=mode,
                                  no_show_email=no_show_email)
    return _typed_time(rec, appt_cell, sheet_tz)


def _refusal(rec: RequestRecord, seen: str | None, serial: float | None = None) -> Note:
    if rec.status == Status.CANCELLED:
        return Note(rec.protocol, texts.REASON_CANCELLED_FINAL, seen, serial)
    status = Status.DUPLICATE.value if rec.duplicate_of else rec.status
    return Note(rec.protocol, texts.REASON_NOT_APPLICABLE.format(status=status), seen, serial)


def _status_choice(
    rec: RequestRecord, action: StaffAction, seen: str, *, now: datetime, mode: str,
    no_show_email: bool,
) -> StaffPlan | None:
    target = {StaffAction.CANCEL: Status.CANCELLED, StaffAction.CANCELLED: Status.CANCELLED,
              StaffAction.DONE: Status.DONE, StaffAction.NO_SHOW: Status.NO_SHOW,
              StaffAction.BOOKED: Status.BOOKED}.get(action)
    if target is not None and rec.status == target:
        return None  # already so: the write-back shows it again
    if rec.duplicate_of or rec.status in FINAL or not rec.valid:
        return _refusal(rec, seen)
    live = rec.event_state in LIVE
    emailed = MailState.SENT in (rec.ack_state, rec.conf_state)
    if action in (StaffAction.CANCEL, StaffAction.CANCELLED):
        return Cancel(rec.protocol, notify=emailed, seen=seen)
    if action == StaffAction.RESCHEDULE:
        if not live:
            return _refusal(rec, seen)
        if mode == "manual":
            return Note(rec.protocol, texts.REASON_TYPE_NEW_TIME, seen, status=Status.BOOKED)
        return Reschedule(rec.protocol, seen)
    if action == StaffAction.DONE:
        return Finish(rec.protocol, Status.DONE, notify=False, seen=seen)
    if action == StaffAction.NO_SHOW:
        start = rec.slot_start_dt
        if not live or start is None or now < start:
            return _refusal(rec, seen)
        notify = no_show_email and rec.conf_state == MailState.SENT
        return Finish(rec.protocol, Status.NO_SHOW, notify=notify, seen=seen)
    # Agendado: clears a flag on a row whose event lives; otherwise nothing to do.
    if rec.event_state == EventState.CREATED and rec.problem in (
        *FLAGGED, Problem.STAFF_NOTE, Problem.CLOSED_DAY, Problem.NO_SLOT_RESCHEDULE,
    ):
        return ClearFlag(rec.protocol, seen)
    return None


def _typed_time(rec: RequestRecord, cell: object, sheet_tz: str) -> StaffPlan | None:
    """A time typed in `Atendimento` of a row that has an appointment (a row without one is
    booked like a manual booking by the booking planner)."""
    if cell in (None, "") or rec.event_state not in LIVE:
        return None
    if isinstance(cell, bool) or not isinstance(cell, int | float):
        text = str(cell).strip()
        note = texts.REASON_TYPED.format(reason=texts.REASON_BAD_STAFF_TIME, value=text)
        return None if rec.reason == note else Note(rec.protocol, note)
    serial = float(cell)
    for known in (rec.shown_appt, rec.manual_serial, rec.staff_serial):
        if known is not None and abs(serial - known) < 1e-6:
            return None
    if rec.shown_appt is None and rec.slot_start_dt is not None:
        own = intake.datetime_to_serial(rec.slot_start_dt, sheet_tz)
        if abs(serial - own) < 1e-6:
            return None  # balcao's own value, written before the journal recorded it
    if rec.status in FINAL or rec.duplicate_of:
        return _refusal(rec, None, serial)
    return Move(rec.protocol, intake.serial_to_datetime(serial, sheet_tz), serial=serial)


def plan_calendar(
    rec: RequestRecord, change: EventChange, *, found_elsewhere: str | None
) -> StaffPlan | None:
    """What a change read from Google Calendar means for the request owning the event.

    balcao's own writes are never taken for staff's: a time equal to the journal's is no
    move, and an event balcao deleted itself is no deletion."""
    if rec.event_state not in LIVE or rec.status in FINAL or rec.erasure_id is not None:
        return None
    if change.status == "cancelled":
        if found_elsewhere is not None:
            if found_elsewhere == rec.calendar_id:
                return None
            return CalendarSwitch(rec.protocol, found_elsewhere)
        return Deleted(rec.protocol, confirmed=rec.conf_state == MailState.SENT)
    if change.start is None or rec.slot_start_dt is None:
        return None
    if change.start == rec.slot_start_dt and change.end == rec.slot_end_dt:
        return None
    return Move(rec.protocol, change.start, change.end, checked=False, patch=False)
