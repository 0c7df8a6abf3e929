"""The tick's staff step: finds what staff changed in the sheet (`Situação`, `Atendimento`) and in Google Calendar (one events.list with a sync token per attendant calendar), asks the staff planner what it means and hands it to the executor.

An idle tick costs nothing here beyond the one events.list per calendar: rows are compared
with what balcao last wrote (kept in memory), and records are loaded only for rows that differ.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from worker import intake, slots, texts
from worker.deps import Deps
from worker.effects import Executor
from worker.identity import IdentityView
from worker.lifecycle import FLAGGED, Problem, StaffAction, fold, staff_action
from worker.model import ChangeSet, EmailSpec, RequestRecord, Slot
from worker.packed import ShownCells
from worker.planners import booking, staff
from worker.snapshot import Snapshot
from worker.staffops import StaffEffects
from worker.textfmt import fmt_datetime

log = logging.getLogger("balcao.staff")


class StaffStep:
    def __init__(
        self, deps: Deps, exe: Executor, now: datetime,
        render: Callable[[RequestRecord, str], EmailSpec], rules: slots.SlotRules,
    ) -> None:
        self.d = deps
        self.exe = exe
        self.now = now
        self.ops = StaffEffects(exe, render)
        self.rules = rules
        self._agenda: slots.Agenda | None = None
        # Rows where staff wrote something: rewritten this tick whatever the result, so the
        # sheet never keeps showing a choice already carried out (or refused).
        self.touched_rows: dict[str, int] = {}

    # ------------------------------------------------------------- the sheet

    def _shown(self) -> ShownCells:
        state = self.d.state
        if state.shown is None:
            tz = self.d.settings.office.timezone
            shown = ShownCells()
            for protocol, status, appt, start in self.d.journal.shown_cells():
                if appt is None and start:
                    # Written before the journal remembered it: what balcao writes for it.
                    appt = intake.datetime_to_serial(datetime.fromisoformat(start), tz)
                shown.set(protocol, status, appt)
            state.shown = shown
        return state.shown

    def candidates(self, snap: Snapshot, view: IdentityView) -> list[str]:
        """Protocols whose `Situação` or `Atendimento` differ from what balcao wrote."""
        shown = self._shown()
        out: list[str] = []
        for protocol, row in view.row_of.items():
            status_cell = snap.status.get(row)
            appt_cell = snap.appointment.get(row)
            was_status, was_appt = shown.get(protocol)
            action = staff_action(status_cell)
            if (action is not None and fold(str(status_cell)) != fold(was_status)) or (appt_cell not in (None, "") and (
                not isinstance(appt_cell, int | float) or was_appt is None
                or abs(float(appt_cell) - was_appt) > 1e-6
            )):
                out.append(protocol)
        return out

    def sheet(self, snap: Snapshot, view: IdentityView) -> None:
        s = self.d.settings
        for protocol in self.candidates(snap, view):
            if self.exe.stopping():
                return
            rec = self.exe.rec(protocol)
            row = view.row_of[protocol]
            if rec is None:
                continue
            self.touched_rows[protocol] = row
            plan = staff.plan_sheet(
                rec, snap.status.get(row), snap.appointment.get(row), now=self.now,
                mode=s.scheduling.mode, sheet_tz=snap.timezone,
                no_show_email=s.lifecycle.no_show_email,
            )
            if plan is not None:
                log.info("%s: staff %s", protocol, type(plan).__name__.lower())
                self.apply(rec, plan)

    def closed_days(self) -> None:
        """Appointments booked on a day that became closed (a closure added to the config, a
        holiday): flagged for staff once; nothing moves by itself (DESIGN §7)."""
        for found in self.d.journal.future_appointments(self.now):
            rec = self.exe.rec(found.protocol) or found
            start = rec.slot_start_dt
            if start is None or rec.erasure_id is not None or rec.problem in (
                Problem.CLOSED_DAY, *FLAGGED
            ):
                continue
            if (rec.staff_seen or "").startswith("agendado@"):
                continue  # staff saw the flag and chose Agendado: their last word
            if not self.d.office.is_open(start):
                log.warning("%s: its appointment falls on a day or hour the office is now "
                            "closed; flagged for staff", rec.protocol)
                with self.d.journal.tx():
                    self.exe.commit(rec, problem=Problem.CLOSED_DAY.value)

    # ------------------------------------------------------------- Google Calendar

    def calendar(self) -> None:
        """Each attendant calendar's changes since the last tick (its sync token)."""
        cals = list(self.d.settings.scheduling.calendars)
        for cal in cals:
            if self.exe.stopping():
                return
            changes = self._changes(cal)
            for item in changes.items:
                rec = self.d.journal.by_event_id(item.event_id)
                if rec is None:
                    continue
                rec = self.exe.rec(rec.protocol) or rec
                plan = self._calendar_plan(rec, item, cal, cals)
                if plan is not None:
                    log.info("%s: staff changed the event in Google Calendar (%s)",
                             rec.protocol, type(plan).__name__.lower())
                    self.apply(rec, plan)
            with self.d.journal.tx():
                self.d.journal.set_meta(f"sync:{cal}", changes.next_sync_token)

    def _changes(self, cal: str) -> ChangeSet:
        token = self.d.journal.get_meta(f"sync:{cal}")
        since = self.now - timedelta(days=1)
        return self.exe.call(
            lambda: self.d.calendar.changes(cal, token, since), "calendar events.list"
        )

    def _calendar_plan(
        self, rec: RequestRecord, item: object, cal: str, cals: list[str]
    ) -> staff.StaffPlan | None:
        from worker.model import EventChange

        assert isinstance(item, EventChange)
        if item.status != "cancelled" and rec.calendar_id and cal != rec.calendar_id:
            return staff.CalendarSwitch(rec.protocol, cal)
        found: str | None = None
        if item.status == "cancelled":
            # Gone from this calendar: moved to another attendant, or deleted.
            for other in cals:
                if other == cal:
                    continue
                ev = self.exe.call(
                    lambda other=other: self.d.calendar.get_event(other, item.event_id),  # type: ignore[misc]
                    "calendar events.get",
                )
                if ev is not None and ev.status != "cancelled":
                    found = other
                    break
            if found is None and rec.calendar_id and rec.calendar_id != cal:
                return None  # a stale item of a calendar the event already left
        return staff.plan_calendar(rec, item, found_elsewhere=found)

    # ------------------------------------------------------------- carrying plans out

    def _agenda_now(self) -> slots.Agenda:
        if self._agenda is None:
            sc = self.d.settings.scheduling
            start, end = slots.horizon(self.now, self.rules)
            busy = self.exe.call(
                lambda: self.d.calendar.busy(sc.calendars, start, end), "calendar busy"
            )
            self._agenda = slots.Agenda(
                busy={c: list(v) for c, v in busy.items()},
                booked_per_day=self.d.journal.bookings_per_day(
                    ZoneInfo(self.d.settings.office.timezone)),
            )
        return self._agenda

    def apply(self, rec: RequestRecord, plan: staff.StaffPlan) -> None:
        ops = self.ops
        carry_out: dict[type, Callable[[RequestRecord, Any], None]] = {
            staff.Cancel: ops.cancel, staff.Finish: ops.finish, staff.Note: ops.note,
            staff.ClearFlag: ops.clear_flag, staff.CalendarSwitch: ops.switch_calendar,
            staff.Deleted: ops.deleted_in_calendar, staff.Reschedule: self._reschedule,
            staff.Move: self._move,
        }
        carry_out[type(plan)](rec, plan)

    def _reschedule(self, rec: RequestRecord, plan: staff.Reschedule) -> None:
        slot = booking.plan_reschedule(
            rec, self._agenda_now(), office=self.d.office, rules=self.rules, now=self.now
        )
        if slot is None:
            ops_reason = texts.REASON_NO_SLOT_RESCHEDULE
            self.ops.no_slot(rec, plan.seen, ops_reason)
            return
        self._book_in_agenda(slot)
        self.ops.move(rec, slot, patch=True, seen=plan.seen)

    def _move(self, rec: RequestRecord, plan: staff.Move) -> None:
        if not plan.checked:  # moved in Google Calendar: staff have the last word
            end = plan.end or plan.at + (
                (rec.slot_end_dt - rec.slot_start_dt)
                if rec.slot_end_dt and rec.slot_start_dt else timedelta(minutes=30)
            )
            assert rec.calendar_id
            self.ops.move(rec, Slot(plan.at, end, rec.calendar_id), patch=False)
            return
        result = booking.plan_move(
            rec, plan.at, self._agenda_now(), office=self.d.office, rules=self.rules,
            now=self.now,
        )
        if isinstance(result, str):
            typed = fmt_datetime(plan.at, self.d.settings.office.timezone)
            reason = texts.REASON_TYPED.format(reason=result, value=typed)
            self.ops.note(rec, staff.Note(rec.protocol, reason, serial=plan.serial))
            return
        self._book_in_agenda(result)
        self.ops.move(rec, result, patch=True, serial=plan.serial)

    def _book_in_agenda(self, slot: Slot) -> None:
        if self._agenda is not None:
            slots.book_slot(self._agenda, slot, self.d.office)


__all__ = ["StaffAction", "StaffStep"]
