"""In-memory fakes of every port (sheet, calendar, mailer, clocks) with fault hooks; no I/O, no vendor libs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from worker.adapters.a1 import col_letter, col_number, parse_a1
from worker.adapters.memory_base import FaultHooks, merge_spans, require_aware
from worker.adapters.memory_calendar import MemoryCalendar, StoredEvent, meet_link_for
from worker.adapters.mime import build_message
from worker.model import AdapterError, Bounce, EmailSpec
from worker.ports import CellValue, CellWrite, Clock, SheetInfo

Grid = list[list[CellValue | None]]
# The calendar fake lives in memory_calendar.py and the shared hooks in memory_base.py (this
# module stays under the size limit); everything is still importable from here.
_Faults = FaultHooks


# --------------------------------------------------------------------------- sheet

def _empty(value: CellValue | None) -> bool:
    return value is None or value == ""


def _displayed(value: CellValue) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
        self.dropdowns: dict[int, tuple[tuple[str, ...], int]] = {}  # column → (values, rows)
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
    ) -> list[list[Sequence[CellValue]]]:
        fault = self._enter("read", tuple(ranges))
        rows = [self._read_one(r) for r in ranges]
        out: list[list[Sequence[CellValue]]] = (
            [list(_columns_of(r)) for r in rows] if by_column else [list(r) for r in rows]
        )
        self._exit(fault)
        return out

    def read_displayed(self, ranges: Sequence[str]) -> list[list[list[str]]]:
        """As ``read``, each cell as text (the fake has no number formats: ``str``)."""
        fault = self._enter("read_displayed", tuple(ranges))
        out = [[[_displayed(v) for v in row] for row in self._read_one(r)] for r in ranges]
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

    def set_dropdown(self, column: int, values: Sequence[str], rows: int) -> None:
        fault = self._enter("set_dropdown", (column, tuple(values), rows))
        self.dropdowns[column] = (tuple(values), rows)
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


# --------------------------------------------------------------------------- mailer


@dataclass(frozen=True)
class SentMail:
    spec: EmailSpec
    provider_id: str
    message: EmailMessage = field(compare=False)


class MemoryMailer(_Faults):
    """The Mailer port in memory: every send is recorded (duplicates too, so tests can count
    them) after building the real MIME message, so unsafe headers fail here as in production.
    ``find_sent`` finds a recorded Message-ID when ``can_search_sent``.

    Bounces as the sandbox's ``bounce_recipients``: a send to one of ``bounce_recipients`` is
    followed by a failed-delivery report received at ``clock.now()`` (or ``date``);
    ``bounce(...)`` records any report (``action="delayed"`` ones are never returned).
    ``can_read_bounces`` follows ``can_search_sent`` (both need gmail.readonly) unless given."""

    def __init__(
        self,
        *,
        can_search_sent: bool = True,
        sender: str = "Cartório de Teste <balcao@example.org>",
        date: datetime = datetime(2028, 1, 1, tzinfo=UTC),
        can_read_bounces: bool | None = None,
        bounce_recipients: Sequence[str] = (),
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self._can_search_sent = can_search_sent
        self._can_read_bounces = can_search_sent if can_read_bounces is None else can_read_bounces
        self.sender = sender
        self.date = date
        self.clock = clock
        self.bounce_recipients = {a.lower() for a in bounce_recipients}
        self.sent: list[SentMail] = []
        self.bounces: list[Bounce] = []

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
        if spec.to.lower() in self.bounce_recipients:
            self.bounce(spec.message_id, spec.to, self.clock.now() if self.clock else self.date)
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

    @property
    def can_read_bounces(self) -> bool:
        return self._can_read_bounces

    def find_bounces(self, since: datetime) -> list[Bounce]:
        fault = self._enter("find_bounces", since)
        require_aware(since)
        if not self._can_read_bounces:
            raise AdapterError("mail: bounces cannot be read", False, reason="searchDisabled")
        found = [b for b in self.bounces if b.action == "failed" and b.received_at >= since]
        self._exit(fault)
        return found

    def bounce(self, message_id: str, recipient: str, received_at: datetime, action: str = "failed") -> Bounce:
        """A delivery report arrives for ``message_id`` (as a remote server would send it)."""
        require_aware(received_at)
        report = Bounce(message_id, recipient, action, received_at, f"dsn{len(self.bounces) + 1:06d}")
        self.bounces.append(report)
        return report

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
