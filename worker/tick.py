"""One tick, ``run_once(deps, now)``: read a snapshot of the sheet, ask the pure planners what to do, hand each action to the executor, write back by identity; no decision of its own beyond sequencing.

Each request's effects run one after the other (its event, then its e-mail), so a citizen's
confirmation leaves right after their own booking, whatever the backlog; each effect is
journalled by the executor before the next one starts.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from worker import agreement, identity, intake, slots, statustab, texts
from worker.deps import Deps, TickState
from worker.effects import AuthPaused, Executor
from worker.identity import IdentityView
from worker.lifecycle import FLAGGED as FLAGGED_PROBLEMS
from worker.lifecycle import EventState, MailKind, Problem, Status, is_open_work
from worker.model import (
    BacklogRefusedError,
    Channel,
    EmailSpec,
    EventSpec,
    ParsedRow,
    RequestRecord,
    Slot,
    TickReport,
    mailbox_key,
)
from worker.packed import IdentityIndex
from worker.placement import Placement
from worker.plaintext import plain_text
from worker.planners import booking, claims
from worker.planners.actions import Book, Flag
from worker.planners.mail import mails_due
from worker.snapshot import SheetReader, Snapshot
from worker.staffstep import StaffStep
from worker.textfmt import fmt_datetime, mask_email

__all__ = ["Deps", "TickState", "run_once"]

log = logging.getLogger("balcao.tick")


def run_once(
    deps: Deps, now: datetime, *, dry_run: bool = False, accept_backlog: bool = False
) -> TickReport:
    """One tick. Raises HeadersMissingError, BacklogRefusedError, JournalError and
    AdapterError for failures of the tick as a whole; per-request failures never raise."""
    report = TickReport(started=now)
    tick = Tick(deps, now, report, dry_run=dry_run, accept_backlog=accept_backlog)
    try:
        tick.run()
    except AuthPaused as paused:
        deps.state.paused = paused.error.message
        report.paused_reason = paused.error.message
        report.ok = False
        report.error = paused.error.message
        if not dry_run:
            if tick.placement is not None:
                tick.placement.flush()
            statustab.write_paused(deps, now)
        deps.state.identity = deps.state.shown = None
        return report
    except BaseException:
        # The in-memory identity map may hold claims whose transaction never committed.
        deps.state.identity = deps.state.shown = None
        raise
    if deps.state.paused and not dry_run:
        log.warning("Google accepts the credentials again: effects resumed")
        deps.state.paused = None
    return report


class Tick:
    def __init__(
        self, deps: Deps, now: datetime, report: TickReport, *, dry_run: bool, accept_backlog: bool
    ) -> None:
        self.d = deps
        self.s = deps.settings
        self.j = deps.journal
        self.now = now
        self.report = report
        self.dry_run = dry_run
        self.accept_backlog = accept_backlog
        self.exe = Executor(deps, now, report)
        self.reader = SheetReader(deps, self.exe, report, dry_run=dry_run)
        self.placement: Placement | None = None

    def run(self) -> None:
        if not self.dry_run:
            # A journal that cannot take a write (or whose file was deleted or replaced under
            # us) must stop us before any Google call.
            self.j.check_same_file()
            self.j.probe_writable()
        snap = self.reader.read()
        skip = self._before_go_live(snap)
        # Refuses before any effect (open intents included) when the journal is not this sheet's.
        index, view = agreement.locate_checked(self.d, snap, self._index, skip)
        if not self.dry_run:
            # Intents left open by a crash or a lost answer are settled before new work.
            self.exe.reconcile()
        unwritten = self.j.unwritten()
        new_rows, above = self.reader.new_rows(snap, view, index.known, skip)
        new_rows = agreement.orphan_edits(new_rows, view, snap, self.j.never_placed)
        decisions = self._classify(snap, new_rows)
        if self.dry_run:
            self._print_plan(snap, decisions, view)
            return
        self.placement = Placement(self.d, self.exe, self.now, index, snap.timezone)
        self.placement.seen = (snap, view)
        self.reader.dropdown(snap)
        self._claim(snap, decisions, index)
        self.d.crash("after_claim")
        self._apply_edits(view, index)
        step = StaffStep(self.d, self.exe, self.now, self._render, self._rules())
        step.sheet(snap, view)
        self.placement.forced_rows.update(step.touched_rows)
        step.calendar()
        step.closed_days()
        self._work(snap)
        self.placement.write_back(view, unwritten)
        self.placement.advance_cursor(snap, view, above, skip)
        statustab.heartbeat(self.d, self.now)

    # ------------------------------------------------------------- identity and new rows

    def _index(self) -> IdentityIndex:
        """The journal's protocol ↔ timestamp map, loaded once per process and kept up to date
        by this tick's claims and edits (the lock makes balcao the journal's only writer)."""
        if self.d.state.identity is None:
            self.d.state.identity = IdentityIndex.load(self.j.identity_pairs())
        return self.d.state.identity

    def _before_go_live(self, snap: Snapshot) -> set[int]:
        """Rows submitted before ``form.process_since``: never touched."""
        since = self.s.form.process_since
        if since is None:
            return set()
        out: set[int] = set()
        for r, v in snap.ts.items():
            if (
                isinstance(v, int | float)
                and not isinstance(v, bool)
                and intake.serial_to_datetime(float(v), snap.timezone) < since
            ):
                out.add(r)
        return out

    def _classify(self, snap: Snapshot, rows: list[ParsedRow]) -> list[claims.NewDecision]:
        if not rows:
            return []
        if self.j.is_empty() and len(rows) > self.s.intake.max_first_backlog and not (
            self.accept_backlog
        ):
            raise BacklogRefusedError(
                f"first run found {len(rows)} rows balcao has never processed (more than "
                f"intake.max_first_backlog = {self.s.intake.max_first_backlog}); balcao would "
                "e-mail all of them. If staff already answered them by hand, set "
                "form.process_since to the go-live instant; to act on all of them, run once "
                "with --accept-backlog"
            )
        window = timedelta(minutes=self.s.intake.duplicate_window_minutes)
        ctx = claims.IntakeContext(
            next_seq=self.j.max_seq() + 1,  # the journal alone numbers (agreement.py)
            duplicate_window=window,
            max_open_per_email=self.s.intake.max_open_per_email,
        )
        for row in rows:
            box = mailbox_key(row.raw_email)
            if row.raw_email and box not in ctx.open_per_email:
                ctx.open_per_email[box] = self.j.open_for_mailbox(box, self.now)
            for rec in self.j.by_fingerprint(row.fingerprint):
                sub = rec.submitted_dt
                if sub is not None and row.submitted is not None and abs(
                    row.submitted - sub
                ) <= window:
                    ctx.priors.append(claims.Prior(rec.protocol, rec.fingerprint, sub))
        return claims.classify_new(rows, ctx, self.now)

    def _claim(
        self, snap: Snapshot, decisions: Sequence[claims.NewDecision], index: IdentityIndex
    ) -> None:
        """Protocols claimed in the journal, with the row's fingerprint, before any effect."""
        if not decisions:
            return
        assert self.placement is not None
        poisoned: list[tuple[RequestRecord, Exception]] = []
        with self.j.tx():
            for dec in decisions:
                rec, poison = self._record(snap, dec)
                self.j.insert(rec)
                self.j.audit(self.now, dec.protocol, "claimed", f"row {dec.row.row} {dec.status}")
                if poison is not None:
                    poisoned.append((rec, poison))
                self.exe.recs[dec.protocol] = rec
                self.placement.forced_rows[dec.protocol] = dec.row.row
                index.add(dec.protocol, identity.key_ident(rec.ts_key))
                self.report.new_requests += 1
                if not dec.actionable:
                    self.report.flagged += 1
                    log.info("%s row %d %s: %s", dec.protocol, dec.row.row, dec.status,
                             dec.problem)
        for rec, exc in poisoned:
            self.exe.poison(rec, exc, "intake")

    def _record(
        self, snap: Snapshot, dec: claims.NewDecision
    ) -> tuple[RequestRecord, Exception | None]:
        row, a = dec.row, dec.row.answers
        poison: Exception | None = None
        try:
            deadline = self.d.office.deadline(row.submitted) if row.submitted else None
        except Exception as exc:  # e.g. a timestamp far outside any calendar
            deadline, poison = None, exc
        rec = RequestRecord(
            protocol=dec.protocol,
            seq=agreement.seq_of(dec.protocol, dec.problem, self.j),
            fingerprint=row.fingerprint,
            submitted=row.submitted.isoformat() if row.submitted else None,
            ts_key=identity.ts_key(snap.ts.get(row.row)),
            received_at=self.now.isoformat(),
            deadline=deadline.isoformat() if deadline and dec.actionable else None,
            status=dec.status.value,
            reason=dec.reason,
            problem=dec.problem,
            email=a.email if a else "",
            name=a.name if a else "",
            phone=a.phone if a else "",
            channel=a.channel.value if a and a.channel else "",
            period=a.period.value if a else "",
            service=a.service if a else "",
            valid=1 if dec.actionable else 0,
            duplicate_of=dec.duplicate_of,
            updated_at=self.now.isoformat(),
            mailbox=mailbox_key(a.email if a else row.raw_email),
            staff_note=row.note,
        )
        return rec, poison

    def _apply_edits(self, view: IdentityView, index: IdentityIndex) -> None:
        if not view.edited:
            return
        with self.j.tx():
            for protocol, new_key in view.edited:
                rec = self.exe.rec(protocol)
                if rec is None:
                    continue
                if rec.erasure_id is not None:
                    # Erased (DESIGN §9): only its identity follows the row, never a flag.
                    self.j.update(rec, ts_key=new_key)
                    index.move(protocol, identity.key_ident(new_key))
                    continue
                self.j.update(
                    rec, ts_key=new_key, status=Status.ATTENTION.value,
                    reason=texts.REASON_EDITED, problem=Problem.EDITED.value,
                    updated_at=self.now.isoformat(),
                )
                self.j.audit(self.now, protocol, "edited", "respondent changed the answers")
                log.info("%s edited by the respondent after processing: flagged", protocol)
                # The write-back's identity re-read must find the row under its new timestamp.
                index.move(protocol, identity.key_ident(new_key))
                self.report.flagged += 1

    # ------------------------------------------------------------- open work

    def _open_work(self) -> list[RequestRecord]:
        """Requests that still need an event, a Meet link or an e-mail, in receipt order."""
        work: list[RequestRecord] = []
        for protocol in self.j.open_work(sorted(FLAGGED_PROBLEMS)):
            rec = self.exe.rec(protocol)
            # An erased request is never booked or e-mailed again (DESIGN §9).
            if rec is not None and rec.erasure_id is None and is_open_work(rec):
                work.append(rec)
        work.sort(key=lambda r: (r.submitted or r.received_at, r.seq))
        return work

    def _work(self, snap: Snapshot) -> None:
        work = self._open_work()
        if not work:
            return
        bookings = self._plan_bookings(snap, work)
        for rec in work:
            if self.exe.stopping():
                break
            try:
                self._effects_of(rec, bookings.get(rec.protocol))
            except AuthPaused:
                raise
            except Exception as exc:  # a poison request never blocks the others
                self.exe.poison(rec, exc, "effects")

    def _effects_of(self, rec: RequestRecord, action: Book | Flag | None) -> None:
        """One request's effects, in order: its event, then the e-mails it is then owed."""
        if isinstance(action, Flag):
            self.exe.flag(action)
        elif isinstance(action, Book):
            self.exe.book(rec, action, self._event_spec)
        elif rec.event_state == EventState.INTENT:
            self.exe.insert_event(rec, self._event_spec)
        elif rec.event_state == EventState.PENDING:
            self.exe.poll_meet(rec, self._event_spec)
        for kind in mails_due(rec):
            self.exe.send(rec, kind, functools.partial(self._render, rec, kind))

    def _plan_bookings(self, snap: Snapshot, work: list[RequestRecord]) -> dict[str, Book | Flag]:
        sc = self.s.scheduling
        unbooked = [r for r in work if r.event_state == EventState.NONE]
        if not unbooked:
            return {}
        to_choose: list[RequestRecord] = []
        manual: dict[str, booking.StaffTime] = {}
        # A time staff typed in `Atendimento` books the request like a manual booking, in
        # either mode; in automatic mode the others get a slot chosen.
        rows = snap.rows_showing({rec.protocol for rec in unbooked})
        rows.update({p: r for p, r in self.placement_rows().items() if p not in rows})
        for rec in unbooked:
            row = rows.get(rec.protocol)
            cell = snap.appointment.get(row) if row is not None else None
            typed = booking.staff_time(rec, cell, snap.timezone)
            if typed is not None:
                manual[rec.protocol] = typed
            elif sc.mode == "auto":
                to_choose.append(rec)
        if not to_choose and all(t.error is not None for t in manual.values()):
            return {a.protocol: a for a in self._flags_only(manual)}  # no calendar read
        rules = self._rules()
        start, end = slots.horizon(self.now, rules)
        busy = self.exe.call(
            lambda: self.d.calendar.busy(sc.calendars, start, end), "calendar busy"
        )
        agenda = slots.Agenda(
            busy={c: list(v) for c, v in busy.items()},
            booked_per_day=self.j.bookings_per_day(ZoneInfo(self.s.office.timezone)),
        )
        actions = booking.plan_booking(
            to_choose, manual, agenda, office=self.d.office, rules=rules,
            calendars=sc.calendars, now=self.now,
        )
        return {a.protocol: a for a in actions}

    @staticmethod
    def _flags_only(manual: dict[str, booking.StaffTime]) -> list[Flag]:
        return [
            Flag(p, Problem.MANUAL_INVALID, t.error, t.serial) for p, t in manual.items()
        ]

    def placement_rows(self) -> dict[str, int]:
        return dict(self.placement.forced_rows) if self.placement else {}

    def _rules(self) -> slots.SlotRules:
        sc = self.s.scheduling
        return slots.SlotRules(
            slot_minutes=sc.slot_minutes, buffer_minutes=sc.buffer_minutes,
            lead_minutes=sc.lead_minutes, max_per_day=sc.max_per_day,
            horizon_days=sc.horizon_days, granularity_minutes=sc.granularity_minutes,
        )

    # ------------------------------------------------------------- what effects carry

    def _event_spec(self, rec: RequestRecord) -> EventSpec:
        assert rec.slot_start and rec.slot_end and rec.calendar_id and rec.event_id
        meet = rec.channel == Channel.MEET.value
        # Event text is plain: Google renders a description's markup and links.
        first = intake.first_name(plain_text(rec.name)) or texts.EVENT_CITIZEN_FALLBACK
        lines = [
            texts.EVENT_PROTOCOL.format(protocol=rec.protocol),
            texts.EVENT_SERVICE.format(service=plain_text(rec.service) or "-"),
            texts.EVENT_AUTO,
        ]
        if not meet:
            digits = re.sub(r"\D", "", rec.phone)
            lines += [
                texts.EVENT_WHATSAPP,
                texts.EVENT_PHONE.format(phone=plain_text(rec.phone)),
                texts.EVENT_WA_LINK.format(digits=digits),
            ]
        return EventSpec(
            event_id=rec.event_id,
            calendar_id=rec.calendar_id,
            protocol=rec.protocol,
            summary=texts.EVENT_SUMMARY.format(protocol=rec.protocol, first_name=first)
            + (texts.EVENT_SUMMARY_WHATSAPP if not meet else ""),
            description="\n".join(lines),
            start=datetime.fromisoformat(rec.slot_start),
            end=datetime.fromisoformat(rec.slot_end),
            timezone=self.s.office.timezone,
            meet=meet,
            attendee_email=rec.email if self.s.scheduling.invite_citizen else None,
        )

    def _render(self, rec: RequestRecord, kind: str) -> EmailSpec:
        """Render one citizen e-mail. The renderer counts appointment revisions from 1 (the
        .ics SEQUENCE; "remarcado" above 1), the journal from 0."""
        domain = self.s.mail.message_id_domain
        r = self.d.renderer
        common: dict[str, Any] = {
            "office": self.d.office_info, "protocol": rec.protocol, "name": rec.name,
            "to": rec.email, "sender_domain": domain,
        }
        if kind == MailKind.ACK:
            return r.render_ack(**common, deadline=rec.deadline_dt or self.now,
                                revision=rec.revision, now=self.now)
        start, end = rec.slot_start_dt, rec.slot_end_dt
        if kind == MailKind.CANCELLATION:
            has = rec.conf_state == "sent" and start is not None and end is not None
            return r.render_cancellation(
                **common, revision=rec.revision + 1, start=start if has else None,
                end=end if has else None, channel=Channel(rec.channel) if has else None,
                stamp=self.now,
            )
        assert start is not None and end is not None
        if kind == MailKind.NO_SHOW:
            return r.render_no_show(**common, start=start, revision=rec.revision + 1)
        return r.render_confirmation(
            **common, start=start, end=end, channel=Channel(rec.channel),
            meet_link=rec.meet_link, revision=rec.revision + 1, stamp=self.now,
            service=rec.service, phone=rec.phone,
        )

    # ------------------------------------------------------------- dry run

    def _print_plan(
        self, snap: Snapshot, decisions: Sequence[claims.NewDecision], view: IdentityView
    ) -> None:
        lines = self.report.plan_lines
        tz = self.s.office.timezone
        slot_of = self._dry_slots(decisions)
        for dec in decisions:
            r = dec.row
            what = "book and confirm" if dec.actionable else "flag, no e-mail"
            if dec.actionable and self.s.scheduling.mode == "manual":
                what = "acknowledge, wait for staff"
            deadline = (
                self.d.office.deadline(r.submitted) if r.submitted and dec.actionable else None
            )
            slot = slot_of.get(dec.protocol)
            lines.append(
                f"row {r.row}: {dec.protocol}  {mask_email(r.raw_email) or '-'}  {dec.status}"
                + (f"  prazo {fmt_datetime(deadline, tz)}" if deadline else "")
                + f"  → {what}"
                + (f" at {fmt_datetime(slot.start, tz)} ({slot.calendar_id})" if slot else "")
                + (f"  ({dec.reason})" if dec.reason else "")
            )
        for protocol, _ in view.edited:
            lines.append(f"{protocol}: answers edited after processing → flag")
        for row, protocol in view.repairs:
            lines.append(f"row {row}: {protocol} misplaced or missing in the sheet → rewrite")
        if not lines:
            lines.append("nothing to do")

    def _dry_slots(self, decisions: Sequence[claims.NewDecision]) -> dict[str, Slot]:
        """The slot each new request would get (automatic mode), from one free/busy read."""
        wanted = [d for d in decisions if d.actionable and d.row.submitted is not None]
        if self.s.scheduling.mode != "auto" or not wanted:
            return {}
        recs = []
        for dec in wanted:
            assert dec.row.submitted is not None and dec.row.answers is not None
            recs.append(RequestRecord(
                protocol=dec.protocol, seq=0, fingerprint="", submitted=dec.row.submitted.isoformat(),
                ts_key=None, received_at=self.now.isoformat(),
                deadline=self.d.office.deadline(dec.row.submitted).isoformat(), status="",
                period=dec.row.answers.period.value,
            ))
        sc = self.s.scheduling
        rules = self._rules()
        start, end = slots.horizon(self.now, rules)
        busy = self.exe.call(lambda: self.d.calendar.busy(sc.calendars, start, end), "busy")
        agenda = slots.Agenda(busy={c: list(v) for c, v in busy.items()},
                              booked_per_day=self.j.bookings_per_day(ZoneInfo(self.s.office.timezone)))
        actions = booking.plan_booking(recs, {}, agenda, office=self.d.office, rules=rules,
                                       calendars=sc.calendars, now=self.now)
        return {a.protocol: a.slot for a in actions if isinstance(a, Book)}
