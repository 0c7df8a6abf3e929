"""The write-back: balcao's cells placed by identity (re-read just before the one batch write) and the read cursor; the sheet side of the executor.

A record whose sheet-visible fields changed is marked ``in_sheet = 0`` in the same transaction
as the change (journal.update): that flag is the write's committed intent. The batch write is
constant values placed by identity, so repeating it after a crash or a lost answer lands
right; its outcome (``in_sheet = 1`` and the digest of what was written) is committed after it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from worker import intake
from worker.adapters.a1 import col_letter
from worker.agreement import TwinResolver
from worker.deps import Deps
from worker.effects import AuthPaused, Executor
from worker.identity import ColumnCells, IdentityView, locate
from worker.journal import JournalError
from worker.model import AdapterError, RequestRecord
from worker.packed import IdentityIndex
from worker.planners import writeback
from worker.ports import CellWrite
from worker.snapshot import APPOINTMENT, PROTOCOL, STATUS, TS, Snapshot, column

log = logging.getLogger("balcao.placement")


class Placement:
    def __init__(
        self, deps: Deps, exe: Executor, now: datetime, index: IdentityIndex, sheet_tz: str
    ) -> None:
        self.d = deps
        self.exe = exe
        self.j = deps.journal
        self.now = now
        self.index = index
        self.sheet_tz = sheet_tz
        self.forced_rows: dict[str, int] = {}  # protocol → row that must be (re)written
        self.placed: set[str] = set()
        # What the tick read in `Situação`/`Atendimento`, by row, to leave alone a row staff
        # changed between the tick's read and its write (Sheets has no conditional write).
        self.seen: tuple[Snapshot, IdentityView] | None = None
        self.before: dict[str, tuple[object, object]] = {}  # protocol → (Situação, Atendimento)
        self.resolve: TwinResolver | None = None  # rows sharing a timestamp, by their answers

    def targets(self, view: IdentityView, unwritten: set[str]) -> dict[str, RequestRecord]:
        """The records whose cells must be written: this tick's changes, values a past
        write-back could not place (written as soon as the row is seen again), repairs."""
        out: dict[str, RequestRecord] = dict(self.exe.recs)
        for protocol in unwritten:
            if protocol in view.row_of and protocol not in out:
                rec = self.exe.rec(protocol)
                if rec is not None:
                    out[protocol] = rec
        for row, protocol in view.repairs:
            rec = self.exe.rec(protocol)
            if rec is not None:
                out[protocol] = rec
                self.forced_rows[protocol] = row
        return out

    def write_back(self, view: IdentityView, unwritten: set[str]) -> None:
        targets = self.targets(view, unwritten)
        mode = self.d.settings.scheduling.mode
        pending: dict[str, writeback.OwnedValues] = {}
        clean: list[RequestRecord] = []
        for protocol, rec in targets.items():
            try:
                values = writeback.owned_values(rec, mode, self.sheet_tz)
            except Exception as exc:  # a poison request: flagged, the others are written
                self.exe.poison(rec, exc, "write-back")
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
        self.exe.stopping()  # shortens request timeouts when a stop was asked for: flush fast
        self._remember_before(pending)
        if self.seen is not None:
            # Nothing reads the tick's narrow columns past this point: freed before the re-read,
            # a 50,000-row sheet is held once at a time, not twice (~10 MiB less at the peak).
            self.seen[0].drop_columns()
        # The identity re-read and the write are retried together: constant values placed by
        # identity, so a repeat (after a lost answer, or a sort in between) lands right.
        placed = self.exe.call(lambda: self._place_and_write(pending), "sheets write-back")
        done = {p for p, _ in placed}
        with self.j.tx():
            for protocol, values in placed:
                rec = targets[protocol]
                appt = rec.shown_appt if values.appointment is None else (
                    values.appointment if isinstance(values.appointment, float) else None
                )
                self.j.update(
                    rec, in_sheet=1, written=values.digest(), shown_status=values.status,
                    shown_appt=appt,
                )
                if self.d.state.shown is not None:
                    self.d.state.shown.set(protocol, values.status, appt)
            for protocol in pending:
                if protocol not in done and targets[protocol].in_sheet:
                    self.j.update(targets[protocol], in_sheet=0)  # not placed: again later
        self.placed = done

    def _place_and_write(
        self, pending: dict[str, writeback.OwnedValues]
    ) -> list[tuple[str, writeback.OwnedValues]]:
        """Re-read the identity columns just before writing (staff may have sorted meanwhile),
        then write every owned cell in ONE values.batchUpdate (RAW)."""
        cols = self.d.state.columns
        keys = [k for k in (TS, PROTOCOL, STATUS, APPOINTMENT) if k in cols]
        if self.resolve is None and self.seen is not None:
            # Rows may have moved since the tick's read: the snapshot's cells are not used.
            self.resolve = TwinResolver(self.d, self.seen[0], self.j.secret, fresh=True)
        if self.resolve is not None and "email" in cols and self.resolve.twins_among(pending):
            keys.append("email")  # rows of one second: their inboxes tell them apart
        letters = [col_letter(cols[k] + 1) for k in keys]
        res = self.d.sheet.read([f"{c}2:{c}" for c in letters], by_column=True)
        fresh_cols = {k: ColumnCells(column(res[i])) for i, k in enumerate(keys)}
        if self.resolve is not None:
            self.resolve.emails = fresh_cols.get("email")
        ts, proto = fresh_cols[TS], fresh_cols[PROTOCOL]
        fresh = locate(ts, proto, self.index.known, self.index.by_ts, resolve=self.resolve,
                       twins=self.index.twins)
        cells: list[CellWrite] = []
        updated = intake.datetime_to_serial(self.now, self.sheet_tz)
        placed: list[tuple[str, writeback.OwnedValues]] = []
        for protocol, values in pending.items():
            row = fresh.row_of.get(protocol)
            if row is None:
                continue  # row deleted or unreadable: nothing to write; next tick looks again
            if self._changed_since_read(protocol, row, fresh_cols, values):
                log.info("%s: staff changed the row since this tick read it; written next tick",
                         protocol)
                continue
            cells.extend(writeback.cells(row, values, cols, updated))
            placed.append((protocol, values))
        if not cells:
            return []
        self.d.sheet.write(cells)
        self.d.crash("after_sheet_write")
        self.exe.report.cells_written += len(cells)
        return placed

    def _changed_since_read(
        self, protocol: str, row: int, fresh: dict[str, ColumnCells],
        values: writeback.OwnedValues,
    ) -> bool:
        """True when `Situação` or `Atendimento` now hold something that is neither what the
        tick read there nor what balcao is writing (a lost answer of our own write, retried,
        finds our values: not a change)."""
        before = self.before.get(protocol)
        if before is None:
            return False
        for key, was, ours in zip(
            (STATUS, APPOINTMENT), before, (values.status, values.appointment), strict=True
        ):
            now = fresh[key].get(row) if key in fresh else None
            if key in fresh and not _same(now, was) and not _same(now, ours):
                return True
        return False

    def _remember_before(self, pending: dict[str, writeback.OwnedValues]) -> None:
        """What the tick read in `Situação`/`Atendimento` of each row about to be written."""
        if self.seen is None:
            return
        snap, view = self.seen
        for protocol in pending:
            was = view.row_of.get(protocol, self.forced_rows.get(protocol))
            if was is not None and protocol not in self.before:
                self.before[protocol] = (snap.status.get(was), snap.appointment.get(was))

    def flush(self) -> None:
        """Statuses already decided still reach the sheet when Google pauses us mid-tick,
        so staff never see a request vanish; failures here are left for the next tick."""
        try:
            self.write_back(IdentityView(), set())
        except (AdapterError, AuthPaused, JournalError) as exc:
            log.info("flush after pause not written: %s", type(exc).__name__)

    def advance_cursor(
        self, snap: Snapshot, view: IdentityView, above: list[int], before_go_live: set[int]
    ) -> None:
        """Rows up to the cursor are done; a row that did not get its protocol written keeps
        the cursor below it, and unprocessed rows above the tail pull it back."""
        cursor = self.j.cursor
        last_done = cursor
        # One set of rows written this tick, not a scan of them per row (quadratic at 10k).
        written_rows = {r for p, r in self.forced_rows.items() if p in self.placed}
        for r in sorted(snap.tail):
            empty = all(c in ("", None) for c in snap.tail[r])
            done = empty or view.row_of.holds_row(r) or r in before_go_live or r in written_rows
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


def _same(a: object, b: object) -> bool:
    """Two cells as read hold the same value (numbers compared as numbers)."""
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-9
    return (a if a not in (None, "") else None) == (b if b not in (None, "") else None)
