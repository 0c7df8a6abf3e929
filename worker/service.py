"""One tick: read the sheet once, plan, apply effects through ports with journal intents, write back in one batch.

Only ports, the journal and pure modules are used here; no vendor library, no clock (``now``
is an argument). Crash points mark every effect boundary (see worker.crashpoints).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from worker import crashpoints, intake, plan, slots
from worker.config import Settings
from worker.journal import Journal, JournalError, RequestRecord
from worker.messages import OfficeInfo, Renderer
from worker.model import (
    AdapterError,
    AnswerTexts,
    BacklogRefusedError,
    Channel,
    ColumnTitles,
    EmailSpec,
    EventSpec,
    ParsedRow,
    Period,
    RowProblem,
    Status,
    TickReport,
)
from worker.officetime import OfficeCalendar
from worker.ports import Calendar, CellValue, CellWrite, Mailer, ResponseSheet, SheetInfo
from worker.retry import Retrier, RetryPolicy
from worker.textfmt import fmt_datetime, mask_email

log = logging.getLogger("balcao.service")
_T = TypeVar("_T")

EVENT_DONE_STATES = ("created", "cancelled", "failed")

# Problems that take a request out of automatic work: staff must act.
FLAGGED_PROBLEMS = ("edited", "event_deleted", "meet_failed", "permanent", "mail_failed", "poison")

# A row or request that raised an unexpected exception (a bug or an input nobody foresaw): it
# is flagged so that staff handle it, and every other request goes on.
REASON_POISON = "Erro inesperado ao processar esta solicitação; atenda manualmente"


class AuthPaused(Exception):
    """Raised inside a tick when Google refuses the credentials: every effect stops."""

    def __init__(self, error: AdapterError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class IdentityIndex:
    """Every journal protocol with its timestamp identity (``plan.ts_ident``), both ways."""

    known: dict[str, object] = field(default_factory=dict)
    by_ts: dict[object, str | list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, journal: Journal) -> IdentityIndex:
        index = cls()
        for protocol, key in journal.db.execute(
            "SELECT protocol, ts_key FROM requests ORDER BY seq"
        ):
            index.add(protocol, plan.key_ident(key))
        return index

    def add(self, protocol: str, ident: object | None) -> None:
        self.known[protocol] = ident
        if ident is None:
            return
        # A bare str for the usual single protocol: a list per row would cost megabytes.
        have = self.by_ts.get(ident)
        if have is None:
            self.by_ts[ident] = protocol
        elif isinstance(have, str):
            self.by_ts[ident] = [have, protocol]
        else:
            have.append(protocol)

    def move(self, protocol: str, ident: object | None) -> None:
        old = self.known.get(protocol)
        have = self.by_ts.get(old) if old is not None else None
        if isinstance(have, str):
            if have == protocol:
                del self.by_ts[old]
        elif have is not None:
            rest = [p for p in have if p != protocol]
            if len(rest) > 1:
                self.by_ts[old] = rest
            elif rest:
                self.by_ts[old] = rest[0]
            else:
                del self.by_ts[old]
        self.add(protocol, ident)


@dataclass
class TickState:
    """What survives between ticks in memory (the journal holds everything that must survive
    a restart)."""

    info: SheetInfo | None = None
    columns: dict[str, int] = field(default_factory=dict)  # field/owned title → 0-based index
    identity: IdentityIndex | None = None  # dropped whenever a tick fails, reloaded next tick
    paused: str | None = None
    # Reconciliation reads (open intents checked against Google) since start, counted apart
    # from the tick budget; the last tick's figure is in TickReport.reconcile_requests.
    reconcile_requests: int = 0
    timeouts_shortened: bool = False
    pause_logged: str | None = None  # the pause the operator was already told about


@dataclass
class Deps:
    settings: Settings
    sheet: ResponseSheet
    calendar: Calendar
    mailer: Mailer
    journal: Journal
    office: OfficeCalendar
    renderer: Renderer
    office_info: OfficeInfo
    stop: threading.Event = field(default_factory=threading.Event)
    crash: Callable[[str], None] = crashpoints.hit
    state: TickState = field(default_factory=TickState)
    # The one retry loop (worker.retry), built from ``settings.retry`` and ``stop`` when None.
    # Tests pass ``sleep`` (seconds → True when interrupted) so that no test really waits.
    retrier: Retrier | None = None
    sleep: Callable[[float], bool] | None = None

    def __post_init__(self) -> None:
        if self.retrier is None:
            r = self.settings.retry
            self.retrier = Retrier(
                RetryPolicy(r.attempts, r.base_delay_seconds, r.max_delay_seconds),
                self.stop, sleep=self.sleep,
            )


# --------------------------------------------------------------------------- the tick


def run_once(
    deps: Deps, now: datetime, *, dry_run: bool = False, accept_backlog: bool = False
) -> TickReport:
    """One tick. Raises HeadersMissingError, BacklogRefusedError, JournalError and
    AdapterError for failures of the tick as a whole; per-request failures never raise."""
    report = TickReport(started=now)
    tick = _Tick(deps, now, report, dry_run=dry_run, accept_backlog=accept_backlog)
    try:
        tick.run()
    except AuthPaused as paused:
        deps.state.paused = paused.error.message
        report.paused_reason = paused.error.message
        report.ok = False
        report.error = paused.error.message
        tick.flush_after_pause()
        tick.write_paused_status()
        deps.state.identity = None
        return report
    except BaseException:
        # The in-memory identity map may hold claims whose transaction never committed.
        deps.state.identity = None
        raise
    if deps.state.paused and not dry_run:
        log.warning("Google accepts the credentials again: effects resumed")
        deps.state.paused = None
    return report


@dataclass
class _Read:
    header: list[CellValue]
    ts: plan.ColumnCells  # sheet row → the cell, non-empty cells only
    proto: plan.ColumnCells
    appointment: plan.ColumnCells
    tail: dict[int, list[CellValue]]
    tail_start: int
    hmap: intake.HeaderMap


class _Tick:
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
        self.touched: dict[str, RequestRecord] = {}
        self.forced_rows: dict[str, int] = {}  # protocol → row that must be rewritten
        self.tz = ZoneInfo(self.s.office.timezone)
        # Message-IDs of open mail intents that this tick's reconciliation looked up in sent
        # mail and did not find: only those are resent (same Message-ID) when search is on.
        self.unsent: set[str] = set()
        # Requests whose intents reconciliation settled: their status is derived again.
        self.reconciled: dict[str, RequestRecord] = {}

    # ------------------------------------------------------------- orchestration

    def run(self) -> None:
        if not self.dry_run:
            # A journal that cannot take a write must stop us before any Google call.
            self.j.probe_writable()
            # Intents left open by a crash or a lost answer are settled before new work.
            self._reconcile()
        info = self._info()
        read = self._read(info)
        self.sheet_tz = info.timezone
        self.read = read
        known = self._known()
        view = self._identity(read, known)
        new_rows, unhandled = self._new_rows(read, view)
        decisions = self._classify(new_rows)
        if self.dry_run:
            self._print_plan(decisions, view)
            return
        self._claim(decisions)
        self.d.crash("after_claim")
        self._apply_edits(view)
        work = self._open_work(decisions)
        self._book(work)
        self._mail(work)
        in_work = {r.protocol for r in work}
        settled = [r for r in self.reconciled.values() if r.protocol not in in_work]
        self._finish_statuses([*work, *settled])
        self._write_back(view)
        self._advance_cursor(read, view, unhandled)
        self._heartbeat()

    def flush_after_pause(self) -> None:
        """Statuses already decided still reach the sheet when Google pauses us mid-tick,
        so staff never see a request vanish; failures here are left for the next tick."""
        if self.dry_run or not hasattr(self, "read"):
            return
        with contextlib.suppress(AdapterError, AuthPaused, JournalError):
            self._write_back(plan.IdentityView())

    # ------------------------------------------------------------- reading

    def _info(self) -> SheetInfo:
        if self.d.state.info is None:
            self.d.state.info = self._call(self.d.sheet.info, "sheets info")
        return self.d.state.info

    def _read(self, info: SheetInfo) -> _Read:
        if not self.d.state.columns:
            # A new process (a restart, or `run --once` from cron) reuses the column map the
            # journal remembers, so even its first tick reads narrow columns, not the sheet.
            stored = self.j.get_meta("columns")
            if stored:
                self.d.state.columns = {str(k): int(v) for k, v in json.loads(stored).items()}
        for _attempt in range(3):
            cols = self.d.state.columns
            cursor = self.j.cursor if cols else 1
            last = plan.col_letter(max(info.column_count, 1))
            ranges = ["1:1"]
            narrow: list[str] = []
            if cols:
                narrow = ["timestamp", "Protocolo"]
                if self.s.scheduling.mode == "manual":
                    narrow.append("Atendimento")
                for key in narrow:
                    letter = plan.col_letter(cols[key] + 1)
                    ranges.append(f"{letter}2:{letter}")
            tail_start = cursor + 1
            if cursor > info.row_count:
                # Rows were deleted since the grid size was read: refresh it (rare).
                info = self.d.state.info = self._call(self.d.sheet.info, "sheets info")
            # Forms grows the grid one row per response, so the cursor is usually the grid's
            # last row: a range starting past it would be refused ("exceeds grid limits").
            # Reading open-ended from the cursor row itself, which exists, returns whatever
            # Forms appended since, with no metadata read; that first row is dropped below.
            read_from = max(1, min(tail_start, info.row_count))
            with_tail = info.row_count >= 1
            if with_tail:
                ranges.append(f"A{read_from}:{last}")
            results = self._read_ranges(ranges)
            header = [col[0] if col else "" for col in results[0]]
            hmap = intake.build_header_map(header, self._titles())
            new_cols = self._column_index(hmap)
            if hmap.missing_owned and self.dry_run:
                self.report.plan_lines.append(
                    "would create columns: " + ", ".join(hmap.missing_owned)
                )
            elif hmap.missing_owned:
                self._create_columns(hmap)
                info = self.d.state.info = self._call(self.d.sheet.info, "sheets info")
                self.d.state.columns = {}
                continue
            if cols and any(new_cols.get(k) != cols.get(k) for k in narrow) and not self.dry_run:
                # Staff moved a column since the last tick: the narrow ranges read the wrong
                # cells. Read again with the new map (rare: costs one extra read).
                self.d.state.columns = new_cols
                continue
            self.d.state.columns = new_cols
            if not self.dry_run and new_cols != cols:
                with self.j.tx():
                    self.j.set_meta("columns", json.dumps(new_cols, sort_keys=True))
            tail_rows = _rows_of(results[-1]) if with_tail else []
            tail = {
                read_from + i: list(row)
                for i, row in enumerate(tail_rows)
                if read_from + i >= tail_start
            }
            columns = {key: _column(results[i + 1]) for i, key in enumerate(narrow)}
            ts = plan.ColumnCells(columns.get("timestamp", []))
            proto = plan.ColumnCells(columns.get("Protocolo", []))
            appt = plan.ColumnCells(columns.get("Atendimento", []))
            for r, row in tail.items():
                for key, target in (("timestamp", ts), ("Protocolo", proto), ("Atendimento", appt)):
                    c = new_cols.get(key)
                    if c is not None and c < len(row) and row[c] not in ("", None):
                        target[r] = row[c]
                    else:
                        target.pop(r, None)
            return _Read(header, ts, proto, appt, tail, tail_start, hmap)
        raise AdapterError("the sheet's columns kept changing during the tick", True)

    def _read_ranges(self, ranges: list[str]) -> list[list[list[CellValue]]]:
        # Column-major: the long narrow identity columns come as one list each, not one list
        # per row (half the bytes and a fraction of the memory on a sheet of 50,000 rows).
        return self._call(lambda: self.d.sheet.read(ranges, by_column=True), "sheets read")

    def _titles(self) -> ColumnTitles:
        return self.s.form.columns

    def _answers(self) -> AnswerTexts:
        return self.s.form.answers

    @staticmethod
    def _column_index(hmap: intake.HeaderMap) -> dict[str, int]:
        out = dict(hmap.fields)
        out.update(hmap.owned)
        return out

    def _create_columns(self, hmap: intake.HeaderMap) -> None:
        first = hmap.last_column + 1
        titles = list(hmap.missing_owned)
        date_cols = [first + i for i, t in enumerate(titles) if t in intake.DATE_COLUMNS]
        # Not retried: appendDimension is not idempotent (a repeat would widen the grid twice).
        self._call(lambda: self.d.sheet.add_columns(titles, first, date_cols), retry=False)
        log.info("created columns %s from column %s", ", ".join(titles), plan.col_letter(first))

    # ------------------------------------------------------------- identity

    def _known(self) -> IdentityIndex:
        """The journal's protocol ↔ timestamp map, loaded once per process and kept up to date
        by this tick's claims and edits (the lock makes balcao the journal's only writer)."""
        if self.d.state.identity is None:
            self.d.state.identity = IdentityIndex.load(self.j)
        self.unwritten = {
            p for (p,) in self.j.db.execute("SELECT protocol FROM requests WHERE in_sheet = 0")
        }
        return self.d.state.identity

    def _identity(self, read: _Read, index: IdentityIndex) -> plan.IdentityView:
        self.known, self.by_ts = index.known, index.by_ts
        self.index = index
        skip = [r for r, v in read.ts.items() if self._before_go_live(v)]
        return plan.locate(read.ts, read.proto, index.known, index.by_ts, skip)

    def _before_go_live(self, ts_value: object) -> bool:
        since = self.s.form.process_since
        if since is None or not isinstance(ts_value, int | float) or isinstance(ts_value, bool):
            return False
        return intake.serial_to_datetime(float(ts_value), self.sheet_tz) < since

    def _new_rows(
        self, read: _Read, view: plan.IdentityView
    ) -> tuple[list[ParsedRow], list[int]]:
        """Parse the tail rows without a request; return them and the unprocessed rows above
        the tail (staff sorted: those are read in full next tick)."""
        placed_rows = set(view.row_of.values())
        out: list[ParsedRow] = []
        above: list[int] = []
        tail_rows = set(read.tail)
        for r in view.unprocessed:
            if r not in tail_rows:
                above.append(r)
        for r in sorted(read.tail):
            if r in placed_rows:
                continue
            if self._before_go_live(read.ts.get(r)):
                continue
            cells = read.tail[r]
            try:
                parsed = intake.parse_row(
                    r, cells, read.hmap, answers=self._answers(), sheet_tz=self.sheet_tz,
                    secret=self.j.secret, max_len=self.s.intake.max_field_length,
                )
            except Exception as exc:  # a poison row: flag it, never crash the tick
                log.error("row %d: unexpected %s while parsing; flagged for staff", r,
                          type(exc).__name__)
                parsed = _poison_row(r, read.ts.get(r), cells, self.j.secret, self.sheet_tz)
            if parsed is None:
                continue
            if parsed.protocol and parsed.protocol in self.known:
                # A stray copy of another row's protocol: this row is still unprocessed.
                parsed = _without_protocol(parsed)
            out.append(parsed)
        self.report.rows_seen = len(read.ts)
        return out, above

    def _classify(self, rows: list[ParsedRow]) -> list[plan.NewDecision]:
        if not rows:
            return []
        if (
            self.j.is_empty()
            and len(rows) > self.s.intake.max_first_backlog
            and not self.accept_backlog
        ):
            raise BacklogRefusedError(
                f"first run found {len(rows)} rows without a protocol (more than "
                f"intake.max_first_backlog = {self.s.intake.max_first_backlog}); balcao would "
                "e-mail all of them. If staff already answered them by hand, set "
                "form.process_since to the go-live instant; to act on all of them, run once "
                "with --accept-backlog"
            )
        sheet_max = max((plan.protocol_seq(v) or 0 for v in self.read.proto.values()), default=0)
        ctx = plan.IntakeContext(
            next_seq=max(self.j.max_seq(), sheet_max) + 1,
            duplicate_window=timedelta(minutes=self.s.intake.duplicate_window_minutes),
            max_open_per_email=self.s.intake.max_open_per_email,
        )
        window = timedelta(minutes=self.s.intake.duplicate_window_minutes)
        for row in rows:
            if row.raw_email and row.raw_email not in ctx.open_per_email:
                ctx.open_per_email[row.raw_email] = self.j.open_for_email(row.raw_email, self.now)
            for rec in self.j.by_fingerprint(row.fingerprint):
                sub = rec.submitted_dt
                if sub is not None and row.submitted is not None and abs(
                    row.submitted - sub
                ) <= window:
                    ctx.priors.append(plan.Prior(rec.protocol, rec.fingerprint, sub))
        return plan.classify_new(rows, ctx, self.now)

    # ------------------------------------------------------------- claiming

    def _claim(self, decisions: Sequence[plan.NewDecision]) -> None:
        if not decisions:
            return
        with self.j.tx():
            for dec in decisions:
                row = dec.row
                a = row.answers
                poison: Exception | None = None
                try:
                    deadline = self.d.office.deadline(row.submitted) if row.submitted else None
                except Exception as exc:  # e.g. a timestamp far outside any calendar
                    deadline, poison = None, exc
                rec = RequestRecord(
                    protocol=dec.protocol,
                    seq=plan.protocol_seq(dec.protocol) or 0,
                    fingerprint=row.fingerprint,
                    submitted=row.submitted.isoformat() if row.submitted else None,
                    ts_key=plan.ts_key(self.read.ts.get(row.row)),
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
                )
                self.j.insert(rec)
                self.j.audit(self.now, dec.protocol, "claimed", f"row {row.row} {dec.status.value}")
                if poison is not None:
                    self._poison(rec, poison, "intake")
                self.touched[dec.protocol] = rec
                self.forced_rows[dec.protocol] = row.row
                self.index.add(dec.protocol, plan.key_ident(rec.ts_key))
                self.report.new_requests += 1
                if not dec.actionable:
                    self.report.flagged += 1
                    log.info(
                        "%s row %d %s: %s", dec.protocol, row.row, dec.status.value,
                        dec.problem,
                    )

    def _apply_edits(self, view: plan.IdentityView) -> None:
        if not view.edited:
            return
        with self.j.tx():
            for protocol, new_key in view.edited:
                rec = self._rec(protocol)
                if rec is None:
                    continue
                self.j.update(
                    rec, ts_key=new_key, status=Status.ATTENTION.value,
                    reason=plan.REASON_EDITED, problem="edited", updated_at=self.now.isoformat(),
                )
                self.j.audit(self.now, protocol, "edited", "respondent changed the answers")
                log.info("%s edited by the respondent after processing: flagged", protocol)
                # The write-back's identity re-read must find the row under its new timestamp.
                self.index.move(protocol, plan.key_ident(new_key))
                self.report.flagged += 1

    def _rec(self, protocol: str) -> RequestRecord | None:
        rec = self.touched.get(protocol)
        if rec is None:
            rec = self.j.get(protocol)
            if rec is not None:
                self.touched[protocol] = rec
        return rec

    # ------------------------------------------------------------- work

    def _open_work(self, decisions: Sequence[plan.NewDecision]) -> list[RequestRecord]:
        """Requests that still need an event, a Meet link or an e-mail, in receipt order."""
        marks = ", ".join("?" for _ in FLAGGED_PROBLEMS)
        rows = self.j.db.execute(
            "SELECT protocol FROM requests WHERE valid = 1 AND duplicate_of IS NULL "
            f"AND problem NOT IN ({marks}) AND (event_state NOT IN ('created', 'cancelled', "
            "'failed') OR conf_state != 'sent' OR ack_state = 'intent') ORDER BY seq",
            FLAGGED_PROBLEMS,
        ).fetchall()
        work: list[RequestRecord] = []
        for (protocol,) in rows:
            rec = self._rec(protocol)
            if rec is None:
                continue
            if rec.event_state == "created" and rec.conf_state == "sent" and (
                rec.conf_revision == rec.revision
            ):
                continue
            work.append(rec)
        work.sort(key=lambda r: (r.submitted or r.received_at, r.seq))
        return work

    def _staff_time(self, rec: RequestRecord) -> datetime | str | None:
        """Manual mode: the time staff typed into `Atendimento` for this request, a pt-BR reason
        when the cell holds something that is not a date, or None when there is nothing new."""
        row = self._row_of(rec.protocol)
        if row is None:
            return None
        value = self.read.appointment.get(row)
        if value in (None, ""):
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            if rec.reason == "Data/hora não reconhecida: digite dd/mm/aaaa hh:mm":
                return None
            return "Data/hora não reconhecida: digite dd/mm/aaaa hh:mm"
        serial = float(value)
        if rec.manual_serial is not None and abs(serial - rec.manual_serial) < 1e-9:
            return None  # balcao's own value
        if rec.staff_serial is not None and abs(serial - rec.staff_serial) < 1e-9:
            return None  # already judged
        return intake.serial_to_datetime(serial, self.sheet_tz)

    def _row_of(self, protocol: str) -> int | None:
        for r, v in self.read.proto.items():
            if isinstance(v, str) and v.strip() == protocol:
                return r
        return self.forced_rows.get(protocol)

    def _book(self, work: list[RequestRecord]) -> None:
        sc = self.s.scheduling
        rules = slots.SlotRules(
            slot_minutes=sc.slot_minutes, buffer_minutes=sc.buffer_minutes,
            lead_minutes=sc.lead_minutes, max_per_day=sc.max_per_day,
            horizon_days=sc.horizon_days, granularity_minutes=sc.granularity_minutes,
        )
        to_choose: list[RequestRecord] = []
        manual: list[tuple[RequestRecord, datetime]] = []
        retry: list[RequestRecord] = []
        pending: list[RequestRecord] = []
        for rec in work:
            if rec.event_state == "intent":
                retry.append(rec)
            elif rec.event_state == "pending":
                pending.append(rec)
            elif rec.event_state == "":
                if sc.mode == "auto":
                    to_choose.append(rec)
                else:
                    staff = self._staff_time(rec)
                    if isinstance(staff, str):
                        with self.j.tx():
                            self.j.update(
                                rec, problem="manual_invalid", reason=staff,
                                updated_at=self.now.isoformat(),
                            )
                    elif staff is not None:
                        manual.append((rec, staff))
        chosen: dict[str, slots.Slot | None] = {}
        if to_choose or manual:
            start, end = slots.horizon(self.now, rules)
            busy = self._call(
                lambda: self.d.calendar.busy(sc.calendars, start, end), "calendar busy"
            )
            agenda = slots.Agenda(
                busy={c: list(v) for c, v in busy.items()},
                booked_per_day=self.j.bookings_per_day(self.tz),
            )
            for rec, start_at in manual:
                result = slots.check_manual_slot(
                    start_at, sc.calendars, agenda, self.d.office, rules, self.now
                )
                value = plan.ts_key(self.read.appointment.get(self._row_of(rec.protocol) or 0))
                serial = float(value) if value is not None else None
                if isinstance(result, str):
                    with self.j.tx():
                        self.j.update(
                            rec, problem="manual_invalid", reason=result, staff_serial=serial,
                            updated_at=self.now.isoformat(),
                        )
                    self.j.audit(self.now, rec.protocol, "manual_rejected", result)
                else:
                    chosen[rec.protocol] = result  # check_manual_slot booked it in the agenda
                    rec.staff_serial = serial
            requests = [
                slots.SlotRequest(
                    key=rec.protocol,
                    receipt=self.d.office.receipt(rec.submitted_dt or self.now),
                    deadline=rec.deadline_dt or self.now,
                    period=Period(rec.period or "any"),
                )
                for rec in to_choose
            ]
            chosen.update(
                slots.choose_slots(requests, sc.calendars, agenda, self.d.office, rules, self.now)
            )
        # Record every event intent of the tick in one transaction, before any insert.
        creating: list[RequestRecord] = []
        with self.j.tx():
            for rec in [*to_choose, *(m[0] for m in manual)]:
                slot = chosen.get(rec.protocol)
                if slot is None:
                    if rec in to_choose:
                        self.j.update(rec, problem="no_slot", updated_at=self.now.isoformat())
                    continue
                eid = plan.event_id(rec.protocol, rec.revision)
                self.j.update(
                    rec, calendar_id=slot.calendar_id, event_id=eid,
                    slot_start=slot.start.isoformat(), slot_end=slot.end.isoformat(),
                    event_state="intent", problem="", staff_serial=rec.staff_serial,
                    updated_at=self.now.isoformat(),
                )
                self.j.record_intent(eid, rec.protocol, "event", rec.revision, self.now)
                creating.append(rec)
        self.d.crash("after_event_intent")
        results: dict[str, tuple[str, str | None, str | None]] = {}
        poisoned: list[tuple[RequestRecord, Exception]] = []
        try:
            for rec in [*retry, *creating]:
                if self._stopping():
                    break
                try:
                    results[rec.protocol] = self._create_event(rec)
                except AuthPaused:
                    raise
                except Exception as exc:  # a poison request never blocks the others
                    poisoned.append((rec, exc))
                    continue
                self.d.crash("after_event_insert")
            for rec in pending:
                if self._stopping():
                    break
                try:
                    results[rec.protocol] = self._poll_meet(rec)
                except AuthPaused:
                    raise
                except Exception as exc:
                    poisoned.append((rec, exc))
        finally:
            # Also when Google pauses us mid-way: what was created is recorded now.
            with self.j.tx():
                for protocol, outcome in results.items():
                    found = self._rec(protocol)
                    assert found is not None
                    self._apply_event_result(found, *outcome)
                for bad, error in poisoned:
                    self._poison(bad, error, "booking")

    def _apply_event_result(
        self, rec: RequestRecord, state: str, link: str | None, problem: str | None
    ) -> None:
        """Record one event outcome (inside the caller's transaction)."""
        changes: dict[str, object] = {"updated_at": self.now.isoformat()}
        if state:
            changes["event_state"] = state
        if link:
            changes["meet_link"] = link
        changes["problem"] = problem or ""
        self.j.update(rec, **changes)
        if state in ("created", "pending", "cancelled") and rec.event_id:
            self.j.record_done(rec.event_id, rec.event_id, self.now)
        elif state == "failed" and rec.event_id:
            self.j.record_failed(rec.event_id, self.now)
        if state == "created":
            self.report.events_created += 1
            self.j.audit(self.now, rec.protocol, "event_created", rec.event_id or "")
        elif state in ("cancelled", "failed"):
            self.j.audit(self.now, rec.protocol, f"event_{state}", problem or "")

    def _event_spec(self, rec: RequestRecord) -> EventSpec:
        assert rec.slot_start and rec.slot_end and rec.calendar_id and rec.event_id
        meet = rec.channel == Channel.MEET.value
        first = intake.first_name(rec.name) or "cidadão"
        lines = [
            f"Protocolo: {rec.protocol}",
            f"Serviço: {rec.service or '-'}",
            "Atendimento pelo Balcão Virtual, agendado automaticamente pelo balcao.",
        ]
        if not meet:
            digits = re.sub(r"\D", "", rec.phone)
            lines += [
                "Canal: chamada de vídeo pelo WhatsApp, a partir do número do cartório.",
                f"Telefone do cidadão: {rec.phone}",
                f"Abrir conversa: https://wa.me/{digits}",
            ]
        return EventSpec(
            event_id=rec.event_id,
            calendar_id=rec.calendar_id,
            protocol=rec.protocol,
            summary=f"Balcão Virtual {rec.protocol} – {first}"
            + (" (WhatsApp)" if not meet else ""),
            description="\n".join(lines),
            start=datetime.fromisoformat(rec.slot_start),
            end=datetime.fromisoformat(rec.slot_end),
            timezone=self.s.office.timezone,
            meet=meet,
            attendee_email=rec.email if self.s.scheduling.invite_citizen else None,
        )

    def _create_event(self, rec: RequestRecord) -> tuple[str, str | None, str | None]:
        """(event_state, meet_link, problem) after one insert (409 = it exists)."""
        spec = self._event_spec(rec)
        try:
            # Safe to repeat: the id is deterministic, a repeat answers 409 and is read back.
            res = self._retry("calendar events.insert", lambda: self.d.calendar.create_event(spec))
        except AdapterError as exc:
            return self._effect_error(rec, exc, "Google Agenda", keep_state="intent")
        return self._event_outcome(rec, res.status, res.meet_status, res.meet_link)

    def _poll_meet(self, rec: RequestRecord) -> tuple[str, str | None, str | None]:
        assert rec.calendar_id and rec.event_id
        cal, eid = rec.calendar_id, rec.event_id
        try:
            res = self._retry("calendar events.get", lambda: self.d.calendar.get_event(cal, eid))
        except AdapterError as exc:
            return self._effect_error(rec, exc, "Google Agenda", keep_state="pending")
        if res is None:
            # Gone without a trace: create it again with the same id.
            return self._create_event(rec)
        return self._event_outcome(rec, res.status, res.meet_status, res.meet_link)

    def _event_outcome(
        self, rec: RequestRecord, status: str, meet_status: str | None, link: str | None
    ) -> tuple[str, str | None, str | None]:
        if status == "cancelled":
            log.warning("%s: event deleted by staff; it is never recreated", rec.protocol)
            return "cancelled", None, "event_deleted"
        if rec.channel == Channel.MEET.value:
            if meet_status == "failure":
                return "failed", None, "meet_failed"
            if meet_status == "pending" or not link:
                return "pending", None, "meet_pending"
            return "created", link, None
        return "created", None, None

    def _effect_error(
        self, rec: RequestRecord, exc: AdapterError, what: str, keep_state: str
    ) -> tuple[str, str | None, str | None]:
        if exc.auth:
            raise AuthPaused(exc)
        if exc.transient:
            log.warning("%s: %s temporarily failed (%s); retrying next tick", rec.protocol, what,
                        exc.status or exc.reason or "error")
            return keep_state, None, "transient"
        log.error("%s: %s refused the request: %s", rec.protocol, what, exc.message)
        self.j.audit(self.now, rec.protocol, "permanent_error", f"{what}: {exc.message}")
        return "failed", None, "permanent"

    # ------------------------------------------------------------- mail

    def _mail(self, work: list[RequestRecord]) -> None:
        outbox: list[tuple[RequestRecord, str]] = []
        for rec in work:
            if rec.problem in FLAGGED_PROBLEMS:
                continue
            if rec.event_state in ("cancelled", "failed"):
                continue
            if rec.ack_state == "intent":
                outbox.append((rec, "ack"))
            ready = rec.event_state == "created"
            if (ready and rec.conf_state in ("", "intent")) or (
                ready and rec.conf_state == "sent" and rec.conf_revision != rec.revision
            ):
                outbox.append((rec, "confirmation"))
            elif not ready and rec.ack_state == "" and rec.conf_state == "":
                outbox.append((rec, "ack"))
        if not outbox:
            return
        limit = self.s.mail.daily_limit
        used = self.j.mails_since(self.now - timedelta(hours=24))
        plan_send: list[tuple[RequestRecord, str, EmailSpec, bool]] = []
        with self.j.tx():
            for rec, kind in outbox:
                state_field = "ack_state" if kind == "ack" else "conf_state"
                unknown = getattr(rec, state_field) == "intent"
                if not unknown and used >= limit:
                    self.j.update(rec, problem="mail_cap", updated_at=self.now.isoformat())
                    continue
                try:
                    spec = self._render(rec, kind)
                except Exception as exc:  # a poison request never blocks the others
                    self._poison(rec, exc, f"{kind} e-mail")
                    continue
                if unknown and self.d.mailer.can_search_sent and spec.message_id not in self.unsent:
                    # Its sent-mail lookup failed this tick: look again next tick, never resend
                    # blind while a search is possible.
                    continue
                if unknown:
                    # Outcome unknown and not found (or no gmail.readonly): resend with the same
                    # Message-ID, which mailboxes collapse; recorded before the attempt.
                    self.j.audit(
                        self.now, rec.protocol, "resent",
                        f"{kind} {spec.message_id}: outcome unknown, same Message-ID",
                    )
                if not unknown:
                    used += 1
                    changes: dict[str, object] = {state_field: "intent"}
                    if kind == "confirmation":
                        changes["conf_revision"] = rec.revision
                    self.j.update(rec, **changes)
                    self.j.record_intent(spec.message_id, rec.protocol, kind, rec.revision, self.now)
                plan_send.append((rec, kind, spec, unknown))
        self.d.crash("after_mail_intent")
        results: list[tuple[RequestRecord, str, EmailSpec, str | None, str | None]] = []
        done = 0  # plan_send[:done] were attempted
        try:
            for rec, kind, spec, _unknown in plan_send:
                if self._stopping():
                    break
                try:
                    # Never retried here or in any library: a lost answer is settled by the
                    # intent (sent-mail search, or a resend with the same Message-ID), DESIGN §4.
                    provider_id = self.d.mailer.send(spec)
                except AdapterError as exc:
                    if exc.auth:  # refused before acting: this one was not sent either
                        raise AuthPaused(exc) from None
                    done += 1
                    if exc.outcome_unknown:
                        results.append((rec, kind, spec, None, "unknown"))
                    elif exc.transient:
                        results.append((rec, kind, spec, None, "transient"))
                    else:
                        log.error("%s: %s e-mail refused: %s", rec.protocol, kind, exc.message)
                        results.append((rec, kind, spec, None, "mail_failed"))
                    continue
                done += 1
                results.append((rec, kind, spec, provider_id, None))
                self.d.crash("after_send")
        finally:
            # Stopped or paused: intents never attempted are released (certainly not sent), so
            # the next start neither searches for them nor "resends" them; older unknown ones
            # stay open.
            for rec, kind, spec, unknown in plan_send[done:]:
                results.append((rec, kind, spec, None, "unknown" if unknown else "not_attempted"))
            self._record_mail(results)

    def _record_mail(
        self, results: list[tuple[RequestRecord, str, EmailSpec, str | None, str | None]]
    ) -> None:
        with self.j.tx():
            for rec, kind, spec, provider_id, problem in results:
                state_field = "ack_state" if kind == "ack" else "conf_state"
                if problem is None:
                    # Only the mail's own waiting reasons end here: "no slot" and the like stay.
                    # A transient problem of the event (still to be created) stays too.
                    cleared = rec.problem if rec.problem not in ("mail_cap", "transient") or (
                        rec.problem == "transient" and rec.event_state == "intent"
                    ) else ""
                    self.j.update(rec, **{state_field: "sent"}, problem=cleared)
                    self.j.record_done(spec.message_id, provider_id or "", self.now)
                    self.j.audit(self.now, rec.protocol, f"{kind}_sent", spec.message_id)
                    self.report.emails_sent += 1
                elif problem == "unknown":
                    # Outcome unknown: the intent stays open; next tick looks it up or resends
                    # it with the same Message-ID.
                    self.j.update(rec, problem="transient")
                elif problem == "transient":
                    self.j.update(rec, **{state_field: ""}, problem="transient")
                    self.j.record_failed(spec.message_id, self.now)
                elif problem == "not_attempted":
                    self.j.update(rec, **{state_field: ""})
                    self.j.record_failed(spec.message_id, self.now)
                else:
                    self.j.update(rec, **{state_field: "failed"}, problem="mail_failed")
                    self.j.record_failed(spec.message_id, self.now)
        results.clear()

    def _render(self, rec: RequestRecord, kind: str) -> EmailSpec:
        domain = self.s.mail.message_id_domain
        if kind == "ack":
            return self.d.renderer.render_ack(
                office=self.d.office_info, protocol=rec.protocol, name=rec.name, to=rec.email,
                deadline=rec.deadline_dt or self.now, sender_domain=domain,
                revision=rec.revision,
            )
        assert rec.slot_start and rec.slot_end
        return self.d.renderer.render_confirmation(
            office=self.d.office_info, protocol=rec.protocol, name=rec.name, to=rec.email,
            start=datetime.fromisoformat(rec.slot_start),
            end=datetime.fromisoformat(rec.slot_end), channel=Channel(rec.channel),
            meet_link=rec.meet_link, sender_domain=domain, revision=rec.revision,
            stamp=self.now,
        )

    # ------------------------------------------------------------- statuses

    def _finish_statuses(self, work: list[RequestRecord]) -> None:
        with self.j.tx():
            for rec in work:
                status, reason = derive_status(rec, self.s.scheduling.mode)
                if status.value != rec.status or reason != rec.reason:
                    self.j.update(
                        rec, status=status.value, reason=reason, updated_at=self.now.isoformat()
                    )
                    self.j.audit(self.now, rec.protocol, "status", f"{status.value}: {reason}")
                    log.info(
                        "%s %s → %s%s", rec.protocol, mask_email(rec.email), status.value,
                        f" ({reason})" if reason else "",
                    )

    # ------------------------------------------------------------- write-back

    def _owned_values(self, rec: RequestRecord) -> plan.OwnedValues:
        tz = self.sheet_tz
        deadline: float | str = (
            intake.datetime_to_serial(rec.deadline_dt, tz) if rec.deadline_dt else ""
        )
        appointment: float | str | None
        if rec.slot_start and rec.event_state in ("created", "pending", "intent"):
            appointment = intake.datetime_to_serial(datetime.fromisoformat(rec.slot_start), tz)
        elif self.s.scheduling.mode == "manual":
            appointment = None  # staff type here: never overwrite their value
        else:
            appointment = ""
        if rec.event_state == "created":
            link = rec.meet_link or ("WhatsApp" if rec.channel == Channel.WHATSAPP.value else "")
        else:
            link = ""
        return plan.OwnedValues(
            protocol=rec.protocol, status=rec.status, deadline=deadline,
            appointment=appointment, link=intake.safe_cell(link),
            note=intake.safe_cell(rec.reason),
        )

    def _write_back(self, view: plan.IdentityView) -> None:
        targets: dict[str, RequestRecord] = dict(self.touched)
        # Values a past write-back could not place (the row was not found at that moment)
        # are written as soon as the row is seen again.
        for protocol in getattr(self, "unwritten", ()):
            if protocol in view.row_of and protocol not in targets:
                rec = self._rec(protocol)
                if rec is not None:
                    targets[protocol] = rec
        for _row, protocol in view.repairs:
            rec = self._rec(protocol)
            if rec is not None:
                targets[protocol] = rec
                self.forced_rows[protocol] = _row
        pending: dict[str, plan.OwnedValues] = {}
        clean: list[RequestRecord] = []
        for protocol, rec in targets.items():
            try:
                values = self._owned_values(rec)
            except Exception as exc:  # a poison request: flagged, the others are written
                with self.j.tx():
                    self._poison(rec, exc, "write-back")
                continue
            if values.digest() == rec.written and protocol not in self.forced_rows:
                if not rec.in_sheet:
                    clean.append(rec)  # changed and changed back: the sheet already shows it
                continue
            pending[protocol] = values
        if clean:
            with self.j.tx():
                for rec in clean:
                    self.j.update(rec, in_sheet=1)
        if not pending:
            return
        self._stopping()  # shortens request timeouts when a stop was asked for: flush fast
        # The identity re-read and the write are retried together: constant values placed by
        # identity, so a repeat (after a lost answer, or a sort in between) lands right.
        placed = self._call(lambda: self._place_and_write(pending), "sheets write-back")
        done = {p for p, _ in placed}
        with self.j.tx():
            for protocol, values in placed:
                rec = targets[protocol]
                self.j.update(rec, in_sheet=1, written=values.digest())
            for protocol in pending:
                if protocol not in done and targets[protocol].in_sheet:
                    self.j.update(targets[protocol], in_sheet=0)  # not placed: again later
        self.placed = {p for p, _ in placed}

    def _place_and_write(
        self, pending: dict[str, plan.OwnedValues]
    ) -> list[tuple[str, plan.OwnedValues]]:
        """Re-read the identity columns just before writing (staff may have sorted meanwhile),
        then write every owned cell in ONE values.batchUpdate (RAW)."""
        cols = self.d.state.columns
        ts_l, p_l = plan.col_letter(cols["timestamp"] + 1), plan.col_letter(cols["Protocolo"] + 1)
        res = self.d.sheet.read([f"{ts_l}2:{ts_l}", f"{p_l}2:{p_l}"], by_column=True)
        ts, proto = plan.ColumnCells(_column(res[0])), plan.ColumnCells(_column(res[1]))
        fresh = plan.locate(ts, proto, self.known, self.by_ts)
        cells: list[CellWrite] = []
        updated = intake.datetime_to_serial(self.now, self.sheet_tz)
        placed: list[tuple[str, plan.OwnedValues]] = []
        for protocol, values in pending.items():
            row = fresh.row_of.get(protocol)
            if row is None:
                continue  # row deleted or unreadable: nothing to write; next tick looks again
            cells.extend(self._cells(row, values, updated))
            placed.append((protocol, values))
        if not cells:
            return []
        self.d.sheet.write(cells)
        self.d.crash("after_sheet_write")
        self.report.cells_written += len(cells)
        return placed

    def _cells(self, row: int, v: plan.OwnedValues, updated: float) -> Iterable[CellWrite]:
        cols = self.d.state.columns
        pairs: list[tuple[str, CellValue | None]] = [
            ("Protocolo", v.protocol),
            ("Situação", v.status),
            ("Prazo de resposta", v.deadline),
            ("Atendimento", v.appointment),
            ("Link ou canal", v.link),
            ("Atualizado em", updated),
            ("Observação", v.note),
        ]
        for title, value in pairs:
            c = cols.get(title)
            if c is None or value is None:
                continue
            yield CellWrite(row, c + 1, value)

    def _advance_cursor(self, read: _Read, view: plan.IdentityView, above: list[int]) -> None:
        """Rows up to the cursor are done; a row that did not get its protocol written keeps
        the cursor below it, and unprocessed rows above the tail pull it back."""
        placed: set[str] = getattr(self, "placed", set())
        cursor = self.j.cursor
        last_done = cursor
        in_place = set(view.row_of.values())
        for r in sorted(read.tail):
            cells = read.tail[r]
            empty = all(c in ("", None) for c in cells)
            done = (
                empty
                or r in in_place
                or self._before_go_live(read.ts.get(r))
                or any(self.forced_rows.get(p) == r for p in placed)
            )
            if not done:
                break
            if not empty:
                last_done = r
        new_cursor = last_done
        if above:
            new_cursor = min(new_cursor, min(above) - 1)
        if new_cursor != cursor:
            with self.j.tx():
                self.j.set_cursor(new_cursor)

    # ------------------------------------------------------------- heartbeat

    def _heartbeat(self) -> None:
        hb = self.s.heartbeat
        if not hb.enabled:
            return
        last = self.j.get_meta("heartbeat_at")
        resumed = self.j.get_meta("heartbeat_state") == "paused"
        if (
            last
            and not resumed
            and self.now - datetime.fromisoformat(last) < timedelta(minutes=hb.interval_minutes)
        ):
            return
        self._write_status_tab("em execução")

    def write_paused_status(self) -> None:
        """Tell staff in the status tab that effects are paused (best effort: when Google
        refused the sheet itself, nothing can be written there and the log says it all)."""
        if not self.s.heartbeat.enabled or self.dry_run:
            return
        if self.j.get_meta("heartbeat_state") == "paused":
            return  # already shown; written again when it resumes
        last = self.j.get_meta("heartbeat_at")
        with contextlib.suppress(AdapterError, AuthPaused, JournalError):
            self._write_status_tab(
                "pausado: a conta do Google usada pelo balcao precisa de atenção do operador "
                "(credenciais ou permissões); nenhuma solicitação foi perdida",
                state="paused",
                last_good=datetime.fromisoformat(last) if last else None,
            )

    def _write_status_tab(
        self, estado: str, state: str = "running", last_good: datetime | None = None
    ) -> None:
        hb = self.s.heartbeat
        good = self.now if state == "running" else last_good
        stats = self.j.stats()
        overdue = self.j.db.execute(
            "SELECT COUNT(*) FROM requests WHERE valid = 1 AND duplicate_of IS NULL "
            "AND deadline IS NOT NULL AND deadline < ? AND status NOT IN (?, ?)",
            (self.now.isoformat(), Status.BOOKED.value, Status.DUPLICATE.value),
        ).fetchone()[0]
        rows: list[list[CellValue]] = [
            ["balcao", "Situação do serviço (atualizado automaticamente)"],
            ["Último ciclo concluído",
             fmt_datetime(good, self.s.office.timezone) if good else "-"],
            ["Estado", estado],
            *([s.value, stats.get(s.value, 0)] for s in Status),  # type: ignore[list-item]
            ["Fora do prazo sem agendamento", int(overdue)],
        ]
        try:
            self.d.sheet.write_status_tab(hb.worksheet, rows)
        except AdapterError as exc:
            if exc.auth:
                raise AuthPaused(exc) from None
            log.warning("heartbeat tab not written: %s", exc.message)
            return
        with self.j.tx():
            if state == "running":
                self.j.set_meta("heartbeat_at", self.now.isoformat())
            self.j.set_meta("heartbeat_state", state)

    # ------------------------------------------------------------- dry run

    def _print_plan(self, decisions: Sequence[plan.NewDecision], view: plan.IdentityView) -> None:
        lines = self.report.plan_lines
        for dec in decisions:
            r = dec.row
            what = "book and confirm" if dec.actionable else "flag, no e-mail"
            if dec.actionable and self.s.scheduling.mode == "manual":
                what = "acknowledge, wait for staff"
            deadline = self.d.office.deadline(r.submitted) if r.submitted and dec.actionable else None
            lines.append(
                f"row {r.row}: {dec.protocol}  {mask_email(r.raw_email) or '-'}  "
                f"{dec.status.value}"
                + (f"  prazo {fmt_datetime(deadline, self.s.office.timezone)}" if deadline else "")
                + f"  → {what}"
                + (f"  ({dec.reason})" if dec.reason else "")
            )
        for protocol, _ in view.edited:
            lines.append(f"{protocol}: answers edited after processing → flag")
        for row, protocol in view.repairs:
            lines.append(f"row {row}: {protocol} misplaced or missing in the sheet → rewrite")
        if not lines:
            lines.append("nothing to do")

    # ------------------------------------------------------------- helpers

    def _call(self, fn: Callable[[], _T], what: str = "google", *, retry: bool = True) -> _T:
        """One Google request of the tick (retried when ``retry``: only for requests safe to
        repeat); an authorisation error pauses every effect (AuthPaused)."""
        try:
            return self._retry(what, fn) if retry else fn()
        except AdapterError as exc:
            if exc.auth:
                raise AuthPaused(exc) from None
            raise

    def _retry(self, what: str, fn: Callable[[], _T]) -> _T:
        assert self.d.retrier is not None
        return self.d.retrier.call(what, fn)

    def _stopping(self) -> bool:
        """True once a stop was asked for (SIGTERM): no new request starts, and the requests
        still needed to flush the tick (the write-back) run with short timeouts."""
        if not self.d.stop.is_set():
            return False
        if not self.d.state.timeouts_shortened:
            self.d.state.timeouts_shortened = True
            t = self.s.retry.stop_timeout_seconds
            for adapter in (self.d.sheet, self.d.calendar, self.d.mailer):
                shorten = getattr(adapter, "set_timeout", None)
                if callable(shorten):
                    shorten(t)
            log.info("stopping: no new effects; flushing the sheet with %gs timeouts", t)
        return True

    def _poison(self, rec: RequestRecord, exc: BaseException, where: str) -> None:
        """Flag a request whose processing raised something unexpected (inside a transaction);
        logged with its protocol and the exception type only (no personal data)."""
        log.error("%s: unexpected %s during %s; flagged for staff", rec.protocol,
                  type(exc).__name__, where)
        self.j.update(
            rec, problem="poison", status=Status.ATTENTION.value, reason=REASON_POISON,
            updated_at=self.now.isoformat(),
        )
        self.j.audit(self.now, rec.protocol, "poison", f"{where}: {type(exc).__name__}")

    # ------------------------------------------------------------- reconciliation

    def _reconcile(self) -> None:
        """Settle the intents a crash or a lost answer left open, before any new work.

        An event is read by its id: missing → still to create (booking inserts it with the
        same id); found → recorded as created/pending; ``cancelled`` → staff deleted it: the
        request is flagged and the event never recreated. A message is looked up by its
        Message-ID when sent mail can be searched (found → sent; not found → resent with the
        same Message-ID this tick); without that scope it is resent with the same Message-ID
        (mailboxes collapse the copies) and the audit trail says so. These reads are counted
        in ``report.reconcile_requests``, apart from the tick's own requests; none happen when
        no intent is open."""
        for eff in self.j.open_intents():
            if self._stopping():
                return
            rec = self._rec(eff.protocol)
            if rec is None:
                continue
            self.reconciled[rec.protocol] = rec
            try:
                if eff.kind == "event":
                    self._reconcile_event(rec, eff.key)
                else:
                    self._reconcile_mail(rec, eff.key, eff.kind)
            except AdapterError as exc:
                log.warning("%s: open %s intent not checked (%s); again next tick",
                            rec.protocol, eff.kind, exc.status or exc.reason or "error")

    def _reconcile_read(self, what: str, fn: Callable[[], _T]) -> _T:
        self.report.reconcile_requests += 1
        self.d.state.reconcile_requests += 1
        return self._call(fn, what)

    def _reconcile_event(self, rec: RequestRecord, key: str) -> None:
        if rec.event_id != key:
            # An intent of an older revision: superseded, nothing to settle.
            with self.j.tx():
                self.j.record_failed(key, self.now)
            return
        if rec.event_state in ("created", "pending", "cancelled"):
            with self.j.tx():  # the request knows; only the effect row lagged
                self.j.record_done(key, key, self.now)
            return
        if rec.event_state != "intent" or not rec.calendar_id:
            return
        cal = rec.calendar_id
        found = self._reconcile_read(
            "calendar events.get", lambda: self.d.calendar.get_event(cal, key)
        )
        if found is None:
            return  # never created: booking inserts it with the same id
        outcome = self._event_outcome(rec, found.status, found.meet_status, found.meet_link)
        with self.j.tx():
            self._apply_event_result(rec, *outcome)
            self.j.audit(self.now, rec.protocol, "reconciled", f"event {outcome[0]}")

    def _reconcile_mail(self, rec: RequestRecord, key: str, kind: str) -> None:
        state_field = "ack_state" if kind == "ack" else "conf_state"
        flagged = rec.problem in FLAGGED_PROBLEMS or not rec.valid
        if getattr(rec, state_field) != "intent":
            with self.j.tx():  # the request moved on (sent, or reset after a refusal)
                if getattr(rec, state_field) == "sent":
                    self.j.record_done(key, None, self.now)
                else:
                    self.j.record_failed(key, self.now)
            return
        found: str | None = None
        if self.d.mailer.can_search_sent:
            found = self._reconcile_read(
                "mail find_sent", lambda: self.d.mailer.find_sent(key)
            )
        if found:
            with self.j.tx():
                keep = rec.problem != "transient" or rec.event_state == "intent"
                self.j.update(
                    rec, **{state_field: "sent"}, problem=rec.problem if keep else "",
                    updated_at=self.now.isoformat(),
                )
                self.j.record_done(key, found, self.now)
                self.j.audit(self.now, rec.protocol, f"{kind}_sent", f"{key} found in sent mail")
            return
        if flagged:
            # Staff took the request over: an unknown outcome is never resent for it.
            with self.j.tx():
                self.j.update(rec, **{state_field: ""})
                self.j.record_failed(key, self.now)
                self.j.audit(self.now, rec.protocol, f"{kind}_unknown",
                             f"{key}: outcome unknown, request flagged, not resent")
            return
        self.unsent.add(key)



def _poison_row(
    r: int, ts: object, cells: Sequence[CellValue], secret: bytes, tz: str
) -> ParsedRow:
    """A row that could not be parsed at all: flagged with a generic reason; its fingerprint
    is an HMAC of the raw cells, so it never matches a real request."""
    import hashlib
    import hmac

    digest = hmac.new(secret, b"poison\0" + repr(list(cells)).encode(), hashlib.sha256)
    submitted = None
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        with contextlib.suppress(Exception):
            submitted = intake.serial_to_datetime(float(ts), tz)
    return ParsedRow(
        row=r, submitted=submitted, answers=None,
        problems=(RowProblem("poison", REASON_POISON),), fingerprint=digest.hexdigest(),
        protocol=None,
    )


def _without_protocol(row: ParsedRow) -> ParsedRow:
    from dataclasses import replace

    return replace(row, protocol=None)


def _column(columns: list[list[CellValue]]) -> list[CellValue]:
    """The values of a one-column range read column-major (empty when the column is)."""
    return columns[0] if columns else []


def _rows_of(columns: list[list[CellValue]]) -> list[list[CellValue]]:
    """A range read column-major, back as rows (short: only the tail is read this way)."""
    height = max((len(c) for c in columns), default=0)
    return [[c[i] if i < len(c) else "" for c in columns] for i in range(height)]


def derive_status(rec: RequestRecord, mode: str) -> tuple[Status, str]:
    """What staff see for an open request, from its effect states.

    >>> # booked and confirmed → Agendado; booked after the deadline keeps a note
    """
    problem = rec.problem
    if problem == "poison":
        return Status.ATTENTION, REASON_POISON
    if problem == "edited":
        return Status.ATTENTION, plan.REASON_EDITED
    if rec.event_state == "cancelled":
        return Status.ATTENTION, plan.REASON_EVENT_DELETED
    if problem == "meet_failed" or (rec.event_state == "failed" and problem == "meet_failed"):
        return Status.ATTENTION, plan.REASON_MEET_FAILED
    if problem == "permanent":
        return Status.ATTENTION, "Erro ao criar o evento na agenda; agende manualmente"
    if problem == "mail_failed":
        return Status.ATTENTION, "Falha no envio do e-mail ao cidadão; contate-o por telefone"
    if rec.event_state == "created":
        if rec.conf_state == "sent" and rec.conf_revision == rec.revision:
            late = (
                rec.slot_start is not None
                and rec.deadline is not None
                and rec.slot_start >= rec.deadline
            )
            return Status.BOOKED, plan.REASON_AFTER_DEADLINE if late else ""
        return Status.PENDING, _waiting_reason(problem) or "Confirmação aguardando envio"
    if problem == "no_slot":
        return Status.ATTENTION, plan.REASON_NO_SLOT
    if problem == "manual_invalid":
        return Status.ATTENTION, rec.reason
    if rec.event_state == "pending" or problem == "meet_pending":
        return Status.PENDING, plan.REASON_MEET_PENDING
    if rec.ack_state != "sent":
        return Status.PENDING, _waiting_reason(problem) or "Aviso de recebimento aguardando envio"
    if problem == "transient":
        return Status.PENDING, plan.REASON_TRANSIENT.format(what="Agenda")
    if mode == "manual":
        return Status.RECEIVED, ""
    return Status.RECEIVED, ""


def _waiting_reason(problem: str) -> str:
    if problem == "mail_cap":
        return plan.REASON_MAIL_CAP
    if problem == "transient":
        return plan.REASON_TRANSIENT.format(what="envio")
    if problem == "meet_pending":
        return plan.REASON_MEET_PENDING
    return ""
