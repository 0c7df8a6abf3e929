"""The executor's side of the staff lifecycle (DESIGN §7): cancelling, moving and closing appointments, each effect journalled as intent → call → outcome; no decisions.

Event deletes and patches are safe to repeat (a repeat deletes nothing more, and patches to
the same time), so an intent left open by a crash is settled by reading the event back
(``Reconciler``) or by the staff choice that is still in the sheet on the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from worker import identity
from worker.effects import AuthPaused, Executor
from worker.lifecycle import EventState, MailKind, MailState, Problem, Status
from worker.model import AdapterError, EmailSpec, RequestRecord, Slot
from worker.planners import staff

log = logging.getLogger("balcao.staff")

Render = Callable[[RequestRecord, str], EmailSpec]


class StaffEffects:
    def __init__(self, exe: Executor, render: Render) -> None:
        self.exe = exe
        self.j = exe.j
        self.d = exe.d
        self.render = render

    @property
    def _send_updates(self) -> str:
        # With the citizen invited, Google tells them of every change; otherwise our e-mails do.
        return "all" if self.d.settings.scheduling.invite_citizen else "none"

    def _mail(self, rec: RequestRecord, kind: str) -> None:
        key = identity.mail_id(
            self.d.office_key, rec.protocol, kind, rec.revision,
            self.d.settings.mail.message_id_domain,
        )
        self.exe.send_once(rec.protocol, kind, rec.revision, key,
                           lambda: self.render(rec, kind))

    def _call_effect(self, rec: RequestRecord, what: str, fn: Callable[[], object]) -> bool:
        """A delete or patch with retries; False when it failed (left for the next tick)."""
        try:
            self.exe.retry(what, fn)
        except AdapterError as exc:
            if exc.auth:
                raise AuthPaused(exc) from None
            if exc.status in (404, 410) and "delete" in what:
                return True  # already gone
            log.warning("%s: %s failed (%s); the staff choice is carried out next tick",
                        rec.protocol, what, exc.status or exc.reason or "error")
            return False
        return True

    # ------------------------------------------------------------- cancel

    def cancel(self, rec: RequestRecord, plan: staff.Cancel) -> None:
        had_event = rec.event_state in (EventState.CREATED, EventState.PENDING, EventState.INTENT)
        key = f"{rec.event_id}#delete"
        if had_event and rec.event_id and rec.calendar_id:
            cal, eid = rec.calendar_id, rec.event_id
            with self.j.tx():
                self.j.record_intent(key, rec.protocol, "event-delete", rec.revision,
                                     self.exe.now)
            done = self._call_effect(
                rec, "calendar events.delete",
                lambda: self.d.calendar.delete_event(cal, eid, send_updates=self._send_updates),
            )
            if not done:
                with self.j.tx():
                    self.j.record_failed(key, self.exe.now)
                return
            self.d.crash("after_event_delete")
        self._close(rec, Status.CANCELLED, plan.seen,
                    event_state=EventState.DELETED if had_event else None)
        if had_event:
            with self.j.tx():
                self.j.record_done(key, key, self.exe.now)
                self.j.audit(self.exe.now, rec.protocol, "event_deleted", "cancelled by staff")
        if plan.notify:
            self._mail(rec, MailKind.CANCELLATION)

    def deleted_in_calendar(self, rec: RequestRecord, plan: staff.Deleted) -> None:
        """Staff deleted the event in Google Calendar: never recreated. Before any
        confirmation the row is flagged; after one the request is cancelled, the citizen
        told."""
        if not plan.confirmed:
            with self.j.tx():
                self.exe.commit(rec, event_state=EventState.CANCELLED.value,
                                problem=Problem.EVENT_DELETED.value)
                self.j.audit(self.exe.now, rec.protocol, "event_cancelled", "deleted by staff")
            return
        self._close(rec, Status.CANCELLED, None, event_state=EventState.CANCELLED)
        with self.j.tx():
            self.j.audit(self.exe.now, rec.protocol, "event_cancelled", "deleted by staff")
        self._mail(rec, MailKind.CANCELLATION)

    def _close(
        self, rec: RequestRecord, status: Status, seen: str | None,
        event_state: EventState | None = None,
    ) -> None:
        changes: dict[str, object] = {
            "status": status.value, "reason": "", "problem": "",
            "updated_at": self.exe.now.isoformat(),
        }
        if seen is not None:
            changes["staff_seen"] = seen
        if event_state is not None:
            changes["event_state"] = event_state.value
        # Unsent e-mails are dropped: a final request is never e-mailed but for its closing note.
        for field in ("ack_state", "conf_state"):
            if getattr(rec, field) == MailState.INTENT:
                changes[field] = MailState.NONE.value
        with self.j.tx():
            self.j.update(rec, **changes)
            self.j.audit(self.exe.now, rec.protocol, "status", f"{status.value}: staff")
        log.info("%s → %s (staff)", rec.protocol, status.value)

    # ------------------------------------------------------------- move and reschedule

    def move(
        self, rec: RequestRecord, slot: Slot, *, patch: bool, serial: float | None = None,
        seen: str | None = None,
    ) -> None:
        """Give the appointment a new time: the same event patched (its Meet link kept), a
        new revision, and so one new confirmation."""
        assert rec.event_id and rec.calendar_id
        cal, eid = rec.calendar_id, rec.event_id
        revision = rec.revision + 1
        key = f"{eid}#r{revision}"
        with self.j.tx():
            self.j.record_intent(key, rec.protocol, "event-patch", revision, self.exe.now)
        if patch:
            ok = self._call_effect(rec, "calendar events.patch", lambda: self.d.calendar.patch_event(
                cal, eid, start=slot.start, end=slot.end, send_updates=self._send_updates))
            if not ok:
                with self.j.tx():
                    self.j.record_failed(key, self.exe.now)
                return
            self.d.crash("after_event_patch")
        changes: dict[str, object] = {
            "slot_start": slot.start.isoformat(), "slot_end": slot.end.isoformat(),
            "revision": revision, "conf_state": MailState.NONE.value, "problem": "",
            "updated_at": self.exe.now.isoformat(),
        }
        if serial is not None:
            changes["staff_serial"] = serial
        if seen is not None:
            changes["staff_seen"] = seen
        with self.j.tx():
            self.exe.commit(rec, **changes)
            self.j.record_done(key, key, self.exe.now)
            self.j.audit(self.exe.now, rec.protocol, "moved",
                         f"revision {revision} {'patched' if patch else 'moved in Calendar'}")

    # ------------------------------------------------------------- small choices

    def finish(self, rec: RequestRecord, plan: staff.Finish) -> None:
        self._close(rec, plan.status, plan.seen)
        if plan.notify:
            self._mail(rec, MailKind.NO_SHOW)

    def note(self, rec: RequestRecord, plan: staff.Note) -> None:
        changes: dict[str, object] = {"problem": Problem.STAFF_NOTE.value, "reason": plan.reason}
        if plan.seen is not None:
            changes["staff_seen"] = plan.seen
        if plan.serial is not None:
            changes["staff_serial"] = plan.serial
        with self.j.tx():
            self.exe.commit(rec, **changes)

    def no_slot(self, rec: RequestRecord, seen: str | None, reason: str) -> None:
        changes: dict[str, object] = {"problem": Problem.NO_SLOT_RESCHEDULE.value, "reason": reason}
        if seen is not None:
            changes["staff_seen"] = seen
        with self.j.tx():
            self.exe.commit(rec, **changes)

    def clear_flag(self, rec: RequestRecord, plan: staff.ClearFlag) -> None:
        with self.j.tx():
            self.exe.commit(rec, problem="", staff_seen=plan.seen)
            self.j.audit(self.exe.now, rec.protocol, "flag_cleared", "staff chose Agendado")

    def switch_calendar(self, rec: RequestRecord, plan: staff.CalendarSwitch) -> None:
        with self.j.tx():
            self.exe.commit(rec, calendar_id=plan.calendar_id)
            self.j.audit(self.exe.now, rec.protocol, "calendar_switched", plan.calendar_id)
