"""Everything the sandbox remembers, behind one lock: sheets, calendars, mailboxes, tokens,
faults, fidelity modes, quota windows and the request log.

Grid coordinates are 0-based here (row 0 is the header row, column 0 is A); the control
surface speaks in the Sheets UI's 1-based numbers and converts at its edge.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from worker.sandbox import serial

DEFAULT_SPREADSHEET_ID = "sandbox-sheet"
DEFAULT_TITLE = "Balcão Virtual (respostas)"
DEFAULT_WORKSHEET = "Respostas ao formulário 1"
DEFAULT_TIMEZONE = "America/Bahia"
DEFAULT_LOCALE = "pt_BR"
DEFAULT_USER_EMAIL = "balcao.sandbox@example.org"

DEFAULT_CONFIG: dict[str, Any] = {
    "meet_pending_gets": 0,
    "quota": False,
    "rewrite_message_id": False,
    "search_lag_s": 0,
    # extras (not in DESIGN's list, all optional)
    "quota_limits": {
        "sheets_read_per_user": 60,
        "sheets_write_per_user": 60,
        "sheets_read_per_project": 300,
        "sheets_write_per_project": 300,
        "calendar_per_user": 600,
        "gmail_units_per_user": 15000,
    },
    "unshared_calendars": [],
    # Gmail delivery-status notifications (turn 2): a message sent to one of these addresses is
    # followed by a DSN in the sender's mailbox, ``Action: failed`` / ``Action: delayed``.
    "bounce_recipients": [],
    "delayed_recipients": [],
    # the form spreadsheet's (and new spreadsheets') locale and time zone
    "locale": DEFAULT_LOCALE,
    "time_zone": DEFAULT_TIMEZONE,
}

QUOTA_LIMIT_KEYS = frozenset(DEFAULT_CONFIG["quota_limits"])

Box = tuple[int, int, int | None, int | None]  # row0, col0, row1 (excl, None=open), col1


@dataclass
class Sheet:
    sheet_id: int
    title: str
    index: int
    row_count: int = 1000
    col_count: int = 26
    frozen_row_count: int = 0
    frozen_column_count: int = 0
    cells: list[list[Any]] = field(default_factory=list)  # ragged; None = empty
    formats: list[tuple[Box, dict[str, Any]]] = field(default_factory=list)  # later wins
    validations: list[tuple[Box, dict[str, Any] | None]] = field(default_factory=list)  # later wins; None clears
    extra_properties: dict[str, Any] = field(default_factory=dict)
    # Sheet-resource parts kept as metadata, by their API key: "merges", "protectedRanges",
    # "rowGroups", "columnGroups", "basicFilter" (not moved by later row or column changes).
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) -> note; not moved either
    # While a value write runs (sheets._atomic_values): (row, col, old value, rows before,
    # row length before or -1) per ``set``, so a failed write is undone without deep-copying
    # the whole sheet first.
    undo: list[tuple[int, int, Any, int, int]] | None = field(default=None, repr=False, compare=False)

    # -- cells -----------------------------------------------------------------------------
    def get(self, r: int, c: int) -> Any:
        if r < len(self.cells) and c < len(self.cells[r]):
            return self.cells[r][c]
        return None

    def set(self, r: int, c: int, value: Any) -> None:
        if value == "":
            value = None
        if self.undo is not None:
            had_row = r < len(self.cells)
            self.undo.append((r, c, self.get(r, c), len(self.cells), len(self.cells[r]) if had_row else -1))
        while len(self.cells) <= r:
            self.cells.append([])
        row = self.cells[r]
        if value is None and c >= len(row):
            return
        while len(row) <= c:
            row.append(None)
        row[c] = value

    def rollback(self, undo: list[tuple[int, int, Any, int, int]]) -> None:
        """Undo the ``set`` calls logged in ``undo`` (latest first), lengths included."""
        for r, c, old, n_rows, row_len in reversed(undo):
            if row_len >= 0:
                row = self.cells[r]
                if c < len(row):
                    row[c] = old
                del row[row_len:]
            del self.cells[n_rows:]

    def last_row(self) -> int:
        """Number of rows up to the last non-empty one (0 when empty)."""
        for r in range(len(self.cells) - 1, -1, -1):
            if any(v is not None for v in self.cells[r]):
                return r + 1
        return 0

    def last_col(self) -> int:
        return max((max((c + 1 for c, v in enumerate(row) if v is not None), default=0) for row in self.cells), default=0)

    def number_format(self, r: int, c: int) -> dict[str, Any] | None:
        for (r0, c0, r1, c1), fmt in reversed(self.formats):
            if r0 <= r and (r1 is None or r < r1) and c0 <= c and (c1 is None or c < c1):
                return fmt
        return None

    def set_format(self, box: Box, fmt: dict[str, Any]) -> None:
        self.formats = [(b, f) for (b, f) in self.formats if b != box]
        self.formats.append((box, dict(fmt)))

    def validation(self, r: int, c: int) -> dict[str, Any] | None:
        for (r0, c0, r1, c1), rule in reversed(self.validations):
            if r0 <= r and (r1 is None or r < r1) and c0 <= c and (c1 is None or c < c1):
                return rule
        return None

    def set_validation(self, box: Box, rule: dict[str, Any] | None) -> None:
        self.validations = [(b, v) for (b, v) in self.validations if b != box]
        self.validations.append((box, rule))

    def header_index(self, title: str) -> int | None:
        header = self.cells[0] if self.cells else []
        for i, v in enumerate(header):
            if v == title:
                return i
        return None

    # -- dimension changes (formats follow, as in Sheets) ----------------------------------
    def insert_rows(self, at: int, n: int) -> None:
        while len(self.cells) < at:
            self.cells.append([])
        self.cells[at:at] = [[] for _ in range(n)]
        self.row_count += n
        self.formats = [(_shift(b, 0, at, n), f) for b, f in self.formats]
        self.validations = [(_shift(b, 0, at, n), f) for b, f in self.validations]

    def delete_rows(self, at: int, n: int) -> None:
        del self.cells[at : at + n]
        self.row_count = max(1, self.row_count - n)
        self.formats = [(_shift(b, 0, at + n, -n, lo=at), f) for b, f in self.formats]
        self.formats = [(b, f) for b, f in self.formats if b[2] is None or b[2] > b[0]]
        self.validations = [(_shift(b, 0, at + n, -n, lo=at), f) for b, f in self.validations]
        self.validations = [(b, f) for b, f in self.validations if b[2] is None or b[2] > b[0]]

    def insert_cols(self, at: int, n: int) -> None:
        for row in self.cells:
            if len(row) > at:
                row[at:at] = [None] * n
        self.col_count += n
        self.formats = [(_shift(b, 1, at, n), f) for b, f in self.formats]
        self.validations = [(_shift(b, 1, at, n), f) for b, f in self.validations]

    def delete_cols(self, at: int, n: int) -> None:
        for row in self.cells:
            del row[at : at + n]
        self.col_count = max(1, self.col_count - n)
        self.formats = [(_shift(b, 1, at + n, -n, lo=at), f) for b, f in self.formats]
        self.formats = [(b, f) for b, f in self.formats if b[3] is None or b[3] > b[1]]
        self.validations = [(_shift(b, 1, at + n, -n, lo=at), f) for b, f in self.validations]
        self.validations = [(b, f) for b, f in self.validations if b[3] is None or b[3] > b[1]]

    def trimmed_values(self) -> list[list[Any]]:
        out = []
        for row in self.cells[: self.last_row()]:
            vals = list(row)
            while vals and vals[-1] is None:
                vals.pop()
            out.append(["" if v is None else v for v in vals])
        return out

    def properties(self) -> dict[str, Any]:
        grid: dict[str, Any] = {"rowCount": self.row_count, "columnCount": self.col_count}
        if self.frozen_row_count:
            grid["frozenRowCount"] = self.frozen_row_count
        if self.frozen_column_count:
            grid["frozenColumnCount"] = self.frozen_column_count
        props = {"sheetId": self.sheet_id, "title": self.title, "index": self.index,
                 "sheetType": "GRID", "gridProperties": grid}
        props.update(self.extra_properties)
        return props


def _shift(box: Box, axis: int, at: int, n: int, lo: int | None = None) -> Box:
    """Move the box edges at or after ``at`` by ``n`` along rows (axis 0) or columns (axis 1)."""
    b = list(box)
    start, end = (0, 2) if axis == 0 else (1, 3)
    s, e = b[start], b[end]
    assert s is not None
    if n > 0:
        if s >= at:
            s += n
        if e is not None and e > at:
            e += n
    else:
        low = lo if lo is not None else at + n
        def mv(x: int) -> int:
            if x >= at:
                return x + n
            if x > low:
                return low
            return x
        s = mv(s)
        e = mv(e) if e is not None else None
    b[start], b[end] = s, e
    return (b[0], b[1], b[2], b[3])  # type: ignore[return-value]


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    title: str = DEFAULT_TITLE
    locale: str = DEFAULT_LOCALE
    time_zone: str = DEFAULT_TIMEZONE
    sheets: list[Sheet] = field(default_factory=list)
    next_sheet_id: int = 1
    named_ranges: list[dict[str, Any]] = field(default_factory=list)  # NamedRange resources

    def sheet_by_title(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title == title:
                return s
        return None

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        return None

    def add_sheet(self, title: str, rows: int = 1000, cols: int = 26, sheet_id: int | None = None) -> Sheet:
        sid = sheet_id if sheet_id is not None else (0 if not self.sheets else self.next_sheet_id)
        self.next_sheet_id = max(self.next_sheet_id, sid + 1)
        sh = Sheet(sheet_id=sid, title=title, index=len(self.sheets), row_count=rows, col_count=cols)
        self.sheets.append(sh)
        return sh

    def properties(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "locale": self.locale,
            "autoRecalc": "ON_CHANGE",
            "timeZone": self.time_zone,
            "defaultFormat": {
                "backgroundColor": {"red": 1, "green": 1, "blue": 1},
                "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
                "verticalAlignment": "BOTTOM",
                "wrapStrategy": "OVERFLOW_CELL",
                "textFormat": {"fontFamily": "arial,sans,sans-serif", "fontSize": 10,
                               "bold": False, "italic": False, "strikethrough": False, "underline": False},
            },
        }


@dataclass
class StoredEvent:
    body: dict[str, Any]
    conference: dict[str, Any] | None = None  # {"createRequest": ..., "code": "abc-defg-hij"} or given data
    answers: int = 0  # insert/get answers served (for meet_pending_gets)
    start_utc: datetime | None = None
    end_utc: datetime | None = None
    version: int = 0  # State.cal_version at the event's last change (what a syncToken compares)
    moved_to: str | None = None  # set on the cancelled stub an events.move leaves behind


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    label_ids: list[str]
    raw: bytes
    sent_at: float  # monotonic
    visible_after: float  # monotonic; search lag
    internal_date_ms: int
    history_id: int


class State:
    """All sandbox state. Every access goes through ``lock`` (an RLock)."""

    def __init__(
        self,
        spreadsheet_id: str = DEFAULT_SPREADSHEET_ID,
        worksheet: str = DEFAULT_WORKSHEET,
        time_zone: str = DEFAULT_TIMEZONE,
        modes: dict[str, Any] | None = None,
        locale: str = DEFAULT_LOCALE,
    ) -> None:
        self.lock = threading.RLock()
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet
        self.time_zone = time_zone
        self.locale = locale
        # what /_sandbox/reset goes back to: start-up locale, zone and fidelity modes
        self.startup_modes = {"locale": locale, "time_zone": time_zone, **(modes or {})}
        self.loaded: dict[str, Spreadsheet] = {}
        self.monotonic = time.monotonic
        self.clock = lambda: datetime.now().astimezone()
        # Bumped by every reset (and by /_sandbox/calendar/expire_sync_tokens): a syncToken of
        # an earlier epoch answers 410, as Google does for a token it no longer honours.
        self.sync_epoch = 0
        self.reset_all()

    # -- lifecycle -------------------------------------------------------------------------
    def reset_all(self) -> None:
        with self.lock:
            self.spreadsheets: dict[str, Spreadsheet] = copy.deepcopy(self.loaded)
            if not self.spreadsheets:
                sp = Spreadsheet(self.spreadsheet_id, locale=self.locale, time_zone=self.time_zone)
                sp.add_sheet(self.worksheet)
                self.spreadsheets[self.spreadsheet_id] = sp
            self.calendars: dict[str, dict[str, StoredEvent]] = {}
            self.cal_version = 0
            self.sync_epoch += 1
            self.mailboxes: dict[str, list[StoredMessage]] = {}
            self.tokens: dict[str, dict[str, Any]] = {}
            self.refresh_tokens: dict[str, dict[str, Any]] = {}
            self.codes: dict[str, dict[str, Any]] = {}
            self.faults: list[dict[str, Any]] = []
            self.config: dict[str, Any] = copy.deepcopy(DEFAULT_CONFIG)
            self.set_config(self.startup_modes)
            self.requests: list[dict[str, Any]] = []
            self.quota_windows: dict[tuple[str, ...], deque[tuple[float, int]]] = {}
            self.armed_sorts: list[dict[str, Any]] = []
            self.counter = 0

    def snapshot_as_loaded(self) -> None:
        """Remember the current spreadsheets as "the loaded responses" that reset restores."""
        with self.lock:
            self.loaded = copy.deepcopy(self.spreadsheets)

    def next_number(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def set_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply fidelity modes all or nothing: a bad key or value changes none of them."""
        with self.lock:
            config = copy.deepcopy(self.config)
            for key, value in changes.items():
                if key not in DEFAULT_CONFIG:
                    raise KeyError(key)
                if key == "quota_limits":
                    config["quota_limits"].update(_quota_limits(value))
                elif key in ("bounce_recipients", "delayed_recipients", "unshared_calendars"):
                    config[key] = _address_list(key, value)
                elif key in ("locale", "time_zone"):
                    config[key] = _sheet_setting(key, value)
                elif key in ("meet_pending_gets", "search_lag_s"):
                    try:
                        config[key] = int(value) if key == "meet_pending_gets" else float(value)
                    except (TypeError, ValueError):
                        raise ValueError(f"{key}: expected a number, found {value!r}") from None
                elif key in ("quota", "rewrite_message_id"):
                    config[key] = bool(value)
                else:
                    config[key] = value
            self.config = config
            if "locale" in changes or "time_zone" in changes:
                # the form spreadsheet follows, and new spreadsheets take them
                self.locale, self.time_zone = config["locale"], config["time_zone"]
                sp = self.spreadsheets.get(self.spreadsheet_id)
                if sp is not None:
                    sp.locale, sp.time_zone = self.locale, self.time_zone
            return copy.deepcopy(self.config)

    # -- helpers ---------------------------------------------------------------------------
    def touch(self, ev: StoredEvent) -> None:
        """Record a change of ``ev`` for incremental sync (events.list with syncToken)."""
        self.cal_version += 1
        ev.version = self.cal_version

    def default_sheet(self) -> tuple[Spreadsheet, Sheet]:
        sp = self.spreadsheets[self.spreadsheet_id]
        sh = sp.sheet_by_title(self.worksheet) or sp.sheets[0]
        return sp, sh

    def calendar(self, cal_id: str) -> dict[str, StoredEvent]:
        """Calendars come into being on first use, under whatever id the client names."""
        return self.calendars.setdefault(cal_id, {})

    def mailbox_owner(self, user_id: str) -> str:
        """The address behind a userId or calendar id (``me``/``primary`` → the sandbox user)."""
        return user_id if "@" in user_id else DEFAULT_USER_EMAIL

    def mailbox(self, user_id: str) -> list[StoredMessage]:
        return self.mailboxes.setdefault(user_id, [])

    def now_serial(self, sp: Spreadsheet, at: datetime | None = None) -> float:
        from zoneinfo import ZoneInfo

        dt = at or self.clock()
        if dt.tzinfo is not None:
            dt = dt.astimezone(ZoneInfo(sp.time_zone))
        return serial.to_serial(dt)


def _quota_limits(value: Any) -> dict[str, int]:
    """``{"gmail_units_per_user": 300}`` → checked limits; a misspelt name is an error, not a no-op."""
    if not isinstance(value, dict):
        raise ValueError("quota_limits: expected an object of limit names to numbers")
    out = {}
    for name, limit in value.items():
        if name not in QUOTA_LIMIT_KEYS:
            raise KeyError(f"quota_limits.{name}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"quota_limits.{name}: expected a whole number >= 0, found {limit!r}")
        out[name] = limit
    return out


def _sheet_setting(key: str, value: Any) -> str:
    """``locale`` one the sandbox knows, ``time_zone`` an IANA zone; anything else an error."""
    if key == "locale" and value not in serial.LOCALES:
        raise ValueError(f"locale: expected one of {', '.join(sorted(serial.LOCALES))}, found {value!r}")
    if key == "time_zone":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time_zone: expected an IANA time zone such as America/Bahia, found {value!r}") from None
    return str(value)


def _address_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: expected a list of strings")
    return list(value)
