"""The tick's one read of the sheet: the header, the narrow identity columns and the tail of new rows, parsed into values the planners take; no decisions beyond parsing.

Column-major narrow reads keep an idle tick on a 50,000-row sheet to a few lists; the tail
is read from the cursor row (the last row read in full), which exists even when Forms has
just grown the grid, so no metadata read is needed to find new rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from worker import intake, texts
from worker.adapters.a1 import col_letter
from worker.deps import Deps
from worker.effects import Executor
from worker.identity import ColumnCells, IdentityView
from worker.lifecycle import DROPDOWN, Problem
from worker.model import (
    AdapterError,
    ColumnCollisionError,
    ColumnTitles,
    ParsedRow,
    RowProblem,
    TickReport,
)
from worker.packed import PackedColumn
from worker.ports import CellValue, SheetInfo

log = logging.getLogger("balcao.snapshot")

# Narrow columns read in full every tick (identity), by their key in the column map.
TS, PROTOCOL, APPOINTMENT, STATUS = "timestamp", "Protocolo", "Atendimento", "Situação"


@dataclass
class Snapshot:
    """One tick's read of the sheet (rows are 1-based sheet rows)."""

    header: list[CellValue]
    ts: ColumnCells  # sheet row → the cell, non-empty cells only
    proto: ColumnCells
    appointment: ColumnCells
    status: ColumnCells
    tail: dict[int, list[CellValue]]
    tail_start: int
    hmap: intake.HeaderMap
    timezone: str = "America/Bahia"
    plan_lines: list[str] = field(default_factory=list)

    def rows_showing(self, protocols: set[str]) -> dict[str, int]:
        """The row showing each of ``protocols`` in `Protocolo` (the last, when several do);
        only those: a dict of every protocol would be megabytes at 50,000 rows."""
        rows: dict[str, int] = {}
        for r, v in self.proto.items():
            if isinstance(v, str) and v.strip() in protocols:
                rows[v.strip()] = r
        return rows

    def drop_columns(self) -> None:
        """Free the narrow columns once the tick's plans are made (the write-back reads them
        again, fresh): a few MiB at 50,000 rows that need not be held twice."""
        self.ts = self.proto = self.appointment = self.status = ColumnCells()


class SheetReader:
    """Reads the snapshot through the executor's calls (retries, auth pause)."""

    def __init__(self, deps: Deps, exe: Executor, report: TickReport, *, dry_run: bool) -> None:
        self.d = deps
        self.exe = exe
        self.report = report
        self.dry_run = dry_run

    def info(self) -> SheetInfo:
        if self.d.state.info is None:
            self.d.state.info = self.exe.call(self.d.sheet.info, "sheets info")
        return self.d.state.info

    @staticmethod
    def narrow_keys() -> list[str]:
        # `Situação` and `Atendimento` are where staff act (DESIGN §7): read every tick.
        return [TS, PROTOCOL, STATUS, APPOINTMENT]

    def _stored_columns(self) -> None:
        # A new process (a restart, or `run --once` from cron) reuses the column map the
        # journal remembers, so even its first tick reads narrow columns, not the sheet.
        if not self.d.state.columns:
            stored = self.d.journal.get_meta("columns")
            if stored:
                self.d.state.columns = {str(k): int(v) for k, v in json.loads(stored).items()}

    def read(self) -> Snapshot:
        info = self.info()
        self._stored_columns()
        if not self.d.state.columns and self.d.journal.cursor > 1:
            self._columns_from_header()
        for _attempt in range(3):
            cols = self.d.state.columns
            cursor = self.d.journal.cursor if cols else 1
            narrow = self.narrow_keys() if cols else []
            ranges = ["1:1"]
            for key in narrow:
                letter = col_letter(cols[key] + 1)
                ranges.append(f"{letter}2:{letter}")
            tail_start = cursor + 1
            if cursor > info.row_count:
                # Rows were deleted since the grid size was read: refresh it (rare).
                info = self.d.state.info = self.exe.call(self.d.sheet.info, "sheets info")
            # Forms grows the grid one row per response, so the cursor is usually the grid's
            # last row: a range starting past it would be refused ("exceeds grid limits").
            # Reading open-ended from the cursor row itself returns whatever Forms appended
            # since, with no metadata read; that first row is dropped below.
            read_from = max(1, min(tail_start, info.row_count))
            with_tail = info.row_count >= 1
            if with_tail:
                ranges.append(f"A{read_from}:{col_letter(max(info.column_count, 1))}")
            results = self._read_ranges(ranges)
            header = [col[0] if col else "" for col in results[0]]
            hmap = intake.build_header_map(
                header, self.titles(), owned_titles=self.d.settings.form.owned_columns
            )
            self._refuse_collisions(hmap, first_run=not cols)
            new_cols = {**hmap.fields, **hmap.owned}
            if hmap.missing_owned and self.dry_run:
                self.report.plan_lines.append(
                    "would create columns: " + ", ".join(hmap.missing_owned)
                )
            elif hmap.missing_owned:
                self._create_columns(hmap)
                info = self.d.state.info = self.exe.call(self.d.sheet.info, "sheets info")
                self.d.state.columns = {}
                continue
            if cols and any(new_cols.get(k) != cols.get(k) for k in narrow) and not self.dry_run:
                # Staff moved a column since the last tick: the narrow ranges read the wrong
                # cells. Read again with the new map (rare: costs one extra read).
                self.d.state.columns = new_cols
                continue
            self.d.state.columns = new_cols
            if not self.dry_run and new_cols != cols:
                with self.d.journal.tx():
                    self.d.journal.set_meta("columns", json.dumps(new_cols, sort_keys=True))
            tail_rows = rows_of(results[-1]) if with_tail else []
            return self._snapshot(
                header, hmap, new_cols, narrow, results, tail_rows, read_from, tail_start, info
            )
        raise AdapterError("the sheet's columns kept changing during the tick", True)

    def _snapshot(
        self, header: list[CellValue], hmap: intake.HeaderMap, cols: dict[str, int],
        narrow: list[str], results: list[list[Sequence[CellValue]]],
        tail_rows: list[list[CellValue]], read_from: int, tail_start: int, info: SheetInfo,
    ) -> Snapshot:
        tail = {
            read_from + i: list(row)
            for i, row in enumerate(tail_rows)
            if read_from + i >= tail_start
        }
        columns = {key: column(results[i + 1]) for i, key in enumerate(narrow)}
        ts = ColumnCells(columns.get(TS, []))
        proto = ColumnCells(columns.get(PROTOCOL, []))
        appt = ColumnCells(columns.get(APPOINTMENT, []))
        status = ColumnCells(columns.get(STATUS, []))
        # The tail read in full overrides the narrow read for its rows.
        for r, row in tail.items():
            for key, target in ((TS, ts), (PROTOCOL, proto), (APPOINTMENT, appt), (STATUS, status)):
                c = cols.get(key)
                if c is not None and c < len(row) and row[c] not in ("", None):
                    target[r] = row[c]
                else:
                    target.pop(r, None)
        return Snapshot(header, ts, proto, appt, status, tail, tail_start, hmap, info.timezone)

    def _columns_from_header(self) -> None:
        """A journal that knows rows but no column map (rebuilt by `recover`, or a map lost):
        the header alone gives the map, so even this first tick reads narrow columns and the
        rows after the cursor, not the whole sheet (a 50,000-row sheet in full is ~150 MiB)."""
        results = self._read_ranges(["1:1"])
        header = [col[0] if col else "" for col in results[0]]
        hmap = intake.build_header_map(
            header, self.titles(), owned_titles=self.d.settings.form.owned_columns
        )
        self._refuse_collisions(hmap, first_run=True)
        if hmap.missing_owned:
            return  # the usual path creates them and reads the sheet
        self.d.state.columns = {**hmap.fields, **hmap.owned}

    def _read_ranges(self, ranges: list[str]) -> list[list[Sequence[CellValue]]]:
        # Column-major: the long narrow identity columns come as one list each, not one list
        # per row (half the bytes and a fraction of the memory on a sheet of 50,000 rows).
        return self.exe.call(lambda: self.d.sheet.read(ranges, by_column=True), "sheets read")

    def dropdown(self, snap: Snapshot) -> None:
        """The `Situação` dropdown, applied once and again only when the grid grew (Forms
        adds a row per response), so staff pick a value rather than type it."""
        col = self.d.state.columns.get(STATUS)
        info = self.d.state.info
        if col is None or info is None:
            return
        rows = max(info.row_count, max(snap.tail, default=0))
        key = f"{col}:{rows}"
        if self.d.journal.get_meta("dropdown") == key:
            return
        try:
            self.exe.call(lambda: self.d.sheet.set_dropdown(col + 1, DROPDOWN, rows),
                          "sheets dropdown")
        except AdapterError as exc:  # a convenience for staff: never fatal
            log.warning("Situação dropdown not applied: %s", exc.message)
            return
        with self.d.journal.tx():
            self.d.journal.set_meta("dropdown", key)

    def titles(self) -> ColumnTitles:
        return self.d.settings.form.columns

    @staticmethod
    def _refuse_collisions(hmap: intake.HeaderMap, *, first_run: bool) -> None:
        """Before any write: a form question titled like one of balcao's columns would have
        its answers overwritten (DESIGN §3)."""
        found = intake.owned_collisions(hmap, first_run=first_run)
        if found:
            raise ColumnCollisionError(
                "form.owned_columns: " + "; ".join(found) + ": a form question has the title "
                "of one of balcao's columns, and balcao never writes into citizens' answers. "
                "To fix: rename the form question, or give balcao's column another title in "
                "form.owned_columns (then run `balcao check`)"
            )

    def _create_columns(self, hmap: intake.HeaderMap) -> None:
        first = hmap.last_column + 1
        keys = list(hmap.missing_owned)
        titles = [hmap.title_of(k) for k in keys]
        date_cols = [first + i for i, k in enumerate(keys) if k in intake.DATE_COLUMNS]
        # Not retried: appendDimension is not idempotent (a repeat would widen the grid twice).
        self.exe.call(lambda: self.d.sheet.add_columns(titles, first, date_cols), retry=False)
        log.info("created columns %s from column %s", ", ".join(titles), col_letter(first))

    # ------------------------------------------------------------- new rows

    def new_rows(
        self, snap: Snapshot, view: IdentityView, known: Mapping[str, object],
        before_go_live: set[int],
    ) -> tuple[list[ParsedRow], list[int]]:
        """Parse the tail rows without a request; return them and the unprocessed rows above
        the tail (staff sorted: those are read in full next tick)."""
        tail_rows = set(snap.tail)
        above = [r for r in view.unprocessed if r not in tail_rows]
        out: list[ParsedRow] = []
        s = self.d.settings
        secret = self.d.journal.secret
        for r in sorted(snap.tail):
            if view.row_of.holds_row(r) or r in before_go_live:
                continue
            cells = snap.tail[r]
            try:
                parsed = intake.parse_row(
                    r, cells, snap.hmap, answers=s.form.answers, sheet_tz=snap.timezone,
                    secret=secret, max_len=s.intake.max_field_length, now=self.exe.now,
                )
            except Exception as exc:  # a poison row: flag it, never crash the tick
                log.error("row %d: unexpected %s while parsing; flagged for staff", r,
                          type(exc).__name__)
                parsed = poison_row(r, snap.ts.get(r), cells, secret, snap.timezone)
            if parsed is None:
                continue
            if parsed.protocol and parsed.protocol in known:
                # A stray copy of another row's protocol: this row is still unprocessed.
                parsed = replace(parsed, protocol=None)
            out.append(parsed)
        self.report.rows_seen = len(snap.ts)
        return out, above


def poison_row(
    r: int, ts: object, cells: Sequence[CellValue], secret: bytes, tz: str
) -> ParsedRow:
    """A row that could not be parsed at all: flagged with a generic reason; its fingerprint
    is an HMAC of the raw cells, so it never matches a real request."""
    digest = hmac.new(secret, b"poison\0" + repr(list(cells)).encode(), hashlib.sha256)
    submitted = None
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        with contextlib.suppress(Exception):
            submitted = intake.serial_to_datetime(float(ts), tz)
    return ParsedRow(
        row=r, submitted=submitted, answers=None,
        problems=(RowProblem(Problem.POISON, texts.REASON_POISON),),
        fingerprint=digest.hexdigest(), protocol=None,
    )


def column(columns: Sequence[Sequence[CellValue]]) -> Sequence[CellValue]:
    """The values of a one-column range read column-major (empty when the column is),
    packed (the Sheets adapter already packs them as it decodes the answer)."""
    if not columns:
        return []
    first = columns[0]
    return first if isinstance(first, PackedColumn) else PackedColumn(first)  # type: ignore[return-value]


def rows_of(columns: Sequence[Sequence[CellValue]]) -> list[list[CellValue]]:
    """A range read column-major, back as rows (short: only the tail is read this way)."""
    height = max((len(c) for c in columns), default=0)
    return [[c[i] if i < len(c) else "" for c in columns] for i in range(height)]
