"""In-memory fakes of every port (sheet, calendar, mailer, clocks) with fault hooks; no I/O, no vendor libs."""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from worker.adapters.a1 import col_letter, col_number, parse_a1
from worker.adapters.mime import build_message
from worker.model import AdapterError, EmailSpec, EventResult, EventSpec
from worker.ports import CellValue, CellWrite, SheetInfo

Grid = list[list[CellValue | None]]


# --------------------------------------------------------------------------- faults


@dataclass
class _Fault:
    error: AdapterError
    after_effect: bool


class _Faults:
    """``fail_next(method, error)``: the next call of ``method`` raises ``error``.

    With ``after_effect=True`` the call takes effect first and only its answer is lost (as with
    a dropped connection after Google acted). Faults queue per method, first in first out."""

    def __init__(self) -> None:
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self.calls: list[tuple[str, Any]] = []

    def fail_next(self, method: str, error: AdapterError, *, after_effect: bool = False) -> None:
        if not callable(getattr(self, method, None)):
            raise ValueError(f"{type(self).__name__} has no method {method!r}")
        self._faults[method].append(_Fault(error, after_effect))

    def _enter(self, method: str, detail: Any = None) -> _Fault | None:
        """Log the call; raise a queued fault now unless it is an after-effect one."""
        self.calls.append((method, detail))
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue.popleft()
        if not fault.after_effect:
            raise fault.error
        return fault

    @staticmethod
    def _exit(fault: _Fault | None) -> None:
        if fault is not None:
            raise fault.error

    def count(self, method: str) -> int:
        """How many times ``method`` was called (faulted calls included)."""
        return sum(1 for m, _ in self.calls if m == method)


# --------------------------------------------------------------------------- sheet

def _empty(value: CellValue | None) -> bool:
    return value is None or value == ""


def _columns_of(rows: list[list[CellValue]]) -> list[list[CellValue]]:
    """Rows (trimmed) → columns, as Google answers majorDimension=COLUMNS: each column
    trimmed of its trailing empty cells, trailing empty columns dropped."""
    width = max((len(r) for r in rows), default=0)
    cols = [[r[c] if c < len(r) else "" for r in rows] for c in range(width)]
    return trim(cols)


def trim(rows: Sequence[Sequence[CellValue | None]]) -> list[list[CellValue]]:
    """Trim as Google does: trailing empty cells of each row and trailing empty rows go;
    empty cells inside a row read as ``""``; an empty row inside the range reads as ``[]``."""
    out: list[list[CellValue]] = []
    for row in rows:
        cells = list(row)
        while cells and _empty(cells[-1]):
            cells.pop()
        out.append(["" if c is None else c for c in cells])
    while out and not out[-1]:
        out.pop()
    return out


class MemorySheet(_Faults):
    """The ResponseSheet port over a 2-D grid (row 1 = header), with Google's semantics:
    reads trimmed and ragged, writes RAW, the grid as large as a new Google sheet
    (max(26, columns) × max(1000, rows)) and 400 "exceeds grid limits" outside it.

    Staff and respondents are simulated with ``append_row``, ``set_cell``, ``sort_rows``,
    ``insert_column``, ``delete_row`` and ``before_next_write`` (e.g. a sort between read and write).
    """

    def __init__(
        self,
        rows: Sequence[Sequence[CellValue | None]] = (),
        *,
        timezone: str = "America/Bahia",
        locale: str = "pt_BR",
        sheet_id: int = 0,
        row_count: int | None = None,
        column_count: int | None = None,
    ) -> None:
        super().__init__()
        self.grid: Grid = [list(r) for r in rows]
        width = max((len(r) for r in self.grid), default=0)
        self.timezone = timezone
        self.locale = locale
        self.sheet_id = sheet_id
        self.row_count = row_count if row_count is not None else max(1000, len(self.grid))
        self.column_count = column_count if column_count is not None else max(26, width)
        self.date_columns: set[int] = set()  # formatted as dd/mm/yyyy hh:mm by add_columns
        self.status_tabs: dict[str, list[list[CellValue]]] = {}
        self._before_write: list[Callable[[MemorySheet], None]] = []

    # ---- port

    def info(self) -> SheetInfo:
        fault = self._enter("info")
        result = SheetInfo(
            timezone=self.timezone,
            locale=self.locale,
            sheet_id=self.sheet_id,
            row_count=self.row_count,
            column_count=self.column_count,
        )
        self._exit(fault)
        return result

    def read(
        self, ranges: Sequence[str], *, by_column: bool = False
    ) -> list[list[list[CellValue]]]:
        fault = self._enter("read", tuple(ranges))
        out = [self._read_one(r) for r in ranges]
        if by_column:
            out = [_columns_of(rows) for rows in out]
        self._exit(fault)
        return out

    def write(self, cells: Sequence[CellWrite]) -> None:
        fault = self._enter("write", tuple(cells))
        hooks, self._before_write = self._before_write, []
        for hook in hooks:
            hook(self)
        for cell in cells:
            self._check_inside(cell.row, cell.column)
        for cell in cells:
            self._put(cell.row, cell.column, cell.value)
        self._exit(fault)

    def add_columns(
        self, titles: Sequence[str], first_column: int, date_columns: Sequence[int]
    ) -> None:
        fault = self._enter("add_columns", (tuple(titles), first_column, tuple(date_columns)))
        last = max([first_column + len(titles) - 1, *date_columns])
        self.column_count = max(self.column_count, last)
        for i, title in enumerate(titles):
            self._put(1, first_column + i, title)
        self.date_columns.update(date_columns)
        self._exit(fault)

    def write_status_tab(self, title: str, rows: Sequence[Sequence[CellValue]]) -> None:
        fault = self._enter("write_status_tab", title)
        self.status_tabs[title] = [list(r) for r in rows]
        self._exit(fault)

    # ---- what people do to the sheet (not logged as calls)

    def append_row(self, values: Sequence[CellValue | None]) -> int:
        """A form submission: a row after the last non-empty one; returns its 1-based number."""
        last = len(trim(self.grid))
        row = last + 1
        for i, v in enumerate(values, start=1):
            self._put(row, i, v, grow=True)
        return row

    def set_cell(self, row: int, column: int, value: CellValue | None) -> None:
        """A person types into a cell (the value is stored as given; no parsing)."""
        self._put(row, column, value, grow=True)

    def cell(self, row: int, column: int) -> CellValue | None:
        if row - 1 < len(self.grid) and column - 1 < len(self.grid[row - 1]):
            value = self.grid[row - 1][column - 1]
            return None if _empty(value) else value
        return None

    def header(self) -> list[CellValue]:
        return trim(self.grid[:1])[0] if trim(self.grid[:1]) else []

    def column_of(self, title: str) -> int | None:
        """1-based column whose header is ``title``."""
        for i, v in enumerate(self.header(), start=1):
            if v == title:
                return i
        return None

    def values(self) -> list[list[CellValue]]:
        """The whole sheet as Google would return it (trimmed)."""
        return trim(self.grid)

    def sort_rows(self, column: int, *, descending: bool = False) -> None:
        """Staff sort the data rows (2..) by a column; empty cells last, as Sheets does."""
        data = self.grid[1:]

        def key(row: list[CellValue | None]) -> tuple[int, int, Any]:
            v = row[column - 1] if column - 1 < len(row) else None
            if _empty(v):
                return (1, 0, "")
            # numbers before text, as in Sheets
            return (0, 0, v) if isinstance(v, (int, float)) else (0, 1, str(v))

        filled = [r for r in data if key(r)[0] == 0]
        empty = [r for r in data if key(r)[0] == 1]
        filled.sort(key=key, reverse=descending)
        self.grid[1:] = filled + empty

    def insert_column(self, index: int, title: str) -> None:
        """Staff insert a column that becomes column ``index`` (1-based)."""
        for row in self.grid:
            while len(row) < index - 1:
                row.append(None)
            row.insert(index - 1, None)
        if not self.grid:
            self.grid.append([])
        self._put(1, index, title, grow=True)
        self.column_count += 1

    def delete_row(self, row: int) -> None:
        if row - 1 < len(self.grid):
            del self.grid[row - 1]

    def before_next_write(self, hook: Callable[[MemorySheet], None]) -> None:
        """Run ``hook(sheet)`` inside the next ``write`` before it applies (staff racing balcao)."""
        self._before_write.append(hook)

    # ---- internals

    def _grid_error(self, text: str) -> AdapterError:
        return AdapterError(
            f"Range ({text}) exceeds grid limits. Max rows: {self.row_count}, "
            f"max columns: {self.column_count}",
            False,
            status=400,
            reason="badRequest",
        )

    def _check_inside(self, row: int, column: int) -> None:
        if row < 1 or column < 1 or row > self.row_count or column > self.column_count:
            raise self._grid_error(f"{col_letter(max(column, 1))}{row}")

    def _read_one(self, text: str) -> list[list[CellValue]]:
        row0, col0, row1, col1 = parse_a1(text)
        if row0 > self.row_count or col0 > self.column_count:
            raise self._grid_error(text)
        if (row1 is not None and row1 > self.row_count) or (
            col1 is not None and col1 > self.column_count
        ):
            raise self._grid_error(text)
        r1 = row1 if row1 is not None else self.row_count
        c1 = col1 if col1 is not None else self.column_count
        block = [
            [row[c] if c < len(row) else None for c in range(col0 - 1, c1)]
            for row in self.grid[row0 - 1 : r1]
        ]
        return trim(block)

    def _put(self, row: int, column: int, value: CellValue | None, *, grow: bool = False) -> None:
        if grow:
            self.row_count = max(self.row_count, row)
            self.column_count = max(self.column_count, column)
        while len(self.grid) < row:
            self.grid.append([])
        cells = self.grid[row - 1]
        while len(cells) < column:
            cells.append(None)
        cells[column - 1] = value


# --------------------------------------------------------------------------- calendar


@dataclass
class StoredEvent:
    spec: EventSpec
    status: str = "confirmed"
    meet_status: str | None = None
    meet_link: str | None = None
    pending_reads: int = 0  # reads that still report the Meet as pending


def meet_link_for(event_id: str) -> str:
    """A deterministic Meet-like link, ``https://meet.google.com/abc-defg-hij``."""
    digest = hashlib.sha256(event_id.encode()).digest()
    letters = "".join(chr(97 + b % 26) for b in digest[:10])
    return f"https://meet.google.com/{letters[:3]}-{letters[3:7]}-{letters[7:10]}"


class MemoryCalendar(_Faults):
    """The Calendar port in memory, with Google's id semantics: a second insert of an id is a
    409 read back (a cancelled event stays cancelled, never recreated); delete marks it
    ``cancelled`` and a second delete is fine (410 counts as done).

    ``meet_pending_reads=N`` makes a new Meet report ``pending`` on its first N reads (the insert
    counts as one), then ``meet_outcome`` (``success`` or ``failure``). ``calendars`` lists the
    readable calendars (None: any id is readable). ``busy_extra`` holds staff meetings."""

    def __init__(
        self,
        calendars: Sequence[str] | None = None,
        *,
        meet_pending_reads: int = 0,
        meet_outcome: str = "success",
    ) -> None:
        super().__init__()
        self.calendars = set(calendars) if calendars is not None else None
        self.meet_pending_reads = meet_pending_reads
        self.meet_outcome = meet_outcome
        self.events: dict[str, dict[str, StoredEvent]] = defaultdict(dict)
        self.busy_extra: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)

    # ---- port

    def busy(
        self, calendar_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, datetime]]]:
        fault = self._enter("busy", (tuple(calendar_ids), start, end))
        require_aware(start, end)
        out: dict[str, list[tuple[datetime, datetime]]] = {}
        for cal in calendar_ids:
            self._check_calendar(cal)
            spans = [
                (e.spec.start, e.spec.end)
                for e in self.events[cal].values()
                if e.status != "cancelled"
            ] + list(self.busy_extra[cal])
            out[cal] = merge_spans(
                [(max(s, start), min(e, end)) for s, e in spans if s < end and e > start]
            )
        self._exit(fault)
        return out

    def create_event(self, spec: EventSpec) -> EventResult:
        fault = self._enter("create_event", spec.event_id)
        require_aware(spec.start, spec.end)
        self._check_calendar(spec.calendar_id)
        cal = self.events[spec.calendar_id]
        stored = cal.get(spec.event_id)
        if stored is None:
            stored = StoredEvent(spec=spec)
            if spec.meet:
                stored.pending_reads = self.meet_pending_reads
                stored.meet_status = "pending"
            cal[spec.event_id] = stored
        result = self._read(stored)
        self._exit(fault)
        return result

    def get_event(self, calendar_id: str, event_id: str) -> EventResult | None:
        fault = self._enter("get_event", event_id)
        self._check_calendar(calendar_id)
        stored = self.events[calendar_id].get(event_id)
        result = self._read(stored) if stored is not None else None
        self._exit(fault)
        return result

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        fault = self._enter("delete_event", event_id)
        self._check_calendar(calendar_id)
        stored = self.events[calendar_id].get(event_id)
        if stored is None:
            raise AdapterError(
                "calendar events.delete: HTTP 404 notFound", False, status=404, reason="notFound"
            )
        stored.status = "cancelled"
        self._exit(fault)

    def find_events(self, calendar_id: str, protocol: str) -> list[EventResult]:
        fault = self._enter("find_events", protocol)
        self._check_calendar(calendar_id)
        out = [
            self._snapshot(e)
            for e in self.events[calendar_id].values()
            if e.spec.protocol == protocol
        ]
        self._exit(fault)
        return out

    # ---- what staff do

    def cancel_by_staff(self, calendar_id: str, event_id: str) -> None:
        """Staff delete the event in the Calendar UI: it stays, ``cancelled``."""
        self.events[calendar_id][event_id].status = "cancelled"

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        """A staff meeting that free/busy reports as busy."""
        require_aware(start, end)
        self.busy_extra[calendar_id].append((start, end))

    def all_events(self) -> list[StoredEvent]:
        return [e for cal in self.events.values() for e in cal.values()]

    # ---- internals

    def _check_calendar(self, calendar_id: str) -> None:
        if self.calendars is not None and calendar_id not in self.calendars:
            raise AdapterError("calendar: HTTP 404 notFound", False, status=404, reason="notFound")

    def _read(self, stored: StoredEvent) -> EventResult:
        """A read that advances a pending Meet."""
        if stored.meet_status == "pending":
            if stored.pending_reads > 0:
                stored.pending_reads -= 1
            else:
                stored.meet_status = self.meet_outcome
                if self.meet_outcome == "success":
                    stored.meet_link = meet_link_for(stored.spec.event_id)
        return self._snapshot(stored)

    @staticmethod
    def _snapshot(stored: StoredEvent) -> EventResult:
        return EventResult(
            event_id=stored.spec.event_id,
            status=stored.status,
            meet_status=stored.meet_status,
            meet_link=stored.meet_link,
            html_link=f"https://calendar.example/event?eid={stored.spec.event_id}",
            start=stored.spec.start,
            end=stored.spec.end,
        )


def require_aware(*values: datetime) -> None:
    """Raise ValueError for a naive datetime (balcao's times always carry their zone)."""
    for v in values:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("expected aware datetimes")


def merge_spans(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sort and merge overlapping or touching intervals."""
    out: list[tuple[datetime, datetime]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


# --------------------------------------------------------------------------- mailer


@dataclass(frozen=True)
class SentMail:
    spec: EmailSpec
    provider_id: str
    message: EmailMessage = field(compare=False)


class MemoryMailer(_Faults):
    """The Mailer port in memory: every send is recorded (duplicates too, so tests can count
    them) after building the real MIME message, so unsafe headers fail here as in production.
    ``find_sent`` finds a recorded Message-ID when ``can_search_sent``."""

    def __init__(
        self,
        *,
        can_search_sent: bool = True,
        sender: str = "Cartório de Teste <balcao@example.org>",
        date: datetime = datetime(2028, 1, 1, tzinfo=UTC),
    ) -> None:
        super().__init__()
        self._can_search_sent = can_search_sent
        self.sender = sender
        self.date = date
        self.sent: list[SentMail] = []

    @property
    def can_search_sent(self) -> bool:
        return self._can_search_sent

    def send(self, spec: EmailSpec) -> str:
        fault = self._enter("send", spec.message_id)
        try:
            message = build_message(spec, sender=self.sender, date=self.date)
        except ValueError as exc:
            raise AdapterError(f"mail: {exc}", False, reason="invalidMessage") from exc
        provider_id = f"mem{len(self.sent) + 1:06d}"
        self.sent.append(SentMail(spec, provider_id, message))
        self._exit(fault)
        return provider_id

    def find_sent(self, message_id: str) -> str | None:
        fault = self._enter("find_sent", message_id)
        if not self._can_search_sent:
            raise AdapterError(
                "mail: sent-mail search is not enabled", False, reason="searchDisabled"
            )
        found = next((m.provider_id for m in self.sent if m.spec.message_id == message_id), None)
        self._exit(fault)
        return found

    def sent_to(self, address: str) -> list[EmailSpec]:
        return [m.spec for m in self.sent if m.spec.to == address]

    def message_ids(self) -> list[str]:
        return [m.spec.message_id for m in self.sent]


# --------------------------------------------------------------------------- clocks


class FixedClock:
    """A clock that always says ``at`` (aware)."""

    def __init__(self, at: datetime) -> None:
        require_aware(at)
        self.at = at

    def now(self) -> datetime:
        return self.at


class ManualClock:
    """A clock moved by hand: ``advance(minutes=5)``, ``set(at)``."""

    def __init__(self, start: datetime) -> None:
        require_aware(start)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now = self._now + (delta if delta is not None else timedelta(**kwargs))
        return self._now

    def set(self, at: datetime) -> None:
        require_aware(at)
        self._now = at


__all__ = [
    "FixedClock",
    "ManualClock",
    "MemoryCalendar",
    "MemoryMailer",
    "MemorySheet",
    "SentMail",
    "StoredEvent",
    "col_number",
    "meet_link_for",
    "merge_spans",
    "parse_a1",
    "require_aware",
    "trim",
]
