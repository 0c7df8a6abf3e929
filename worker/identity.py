"""Locating rows by identity (protocol, then timestamp and answers; never row numbers), the identity index, and the deterministic ids of effects; no I/O, no clock."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from array import array
from collections.abc import Container, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

PROTOCOL_RE = re.compile(r"^BV-(\d{4})-(\d{6,})$")
_MISSING = object()
_MAX_GAP = 1_000_000  # a protocol number this far past the highest seen is not indexed


def protocol_for(year: int, seq: int) -> str:
    """``protocol_for(2026, 13)`` → ``"BV-2026-000013"``."""
    return f"BV-{year:04d}-{seq:06d}"


def protocol_seq(text: object) -> int | None:
    """The sequence number of a protocol cell, None when the cell holds none."""
    if not isinstance(text, str):
        return None
    m = PROTOCOL_RE.match(text.strip())
    return int(m.group(2)) if m else None


class _LastParsed:
    # ``locate`` asks about the same cell's text two or three times in a row (placed? known?
    # place it): the last answer, kept with the very object asked about. One tuple, swapped
    # whole, so a reader never pairs one text with another's answer.
    pair: tuple[object, tuple[int, int] | None] = (None, None)


def regular_protocol(text: str) -> tuple[int, int] | None:
    """(year, number) of a protocol exactly as balcao writes it (``protocol_for``), None for
    any other text (a protocol kept as typed). Slicing, not a regex: ``locate`` asks this of
    every row of the sheet."""
    last = _LastParsed.pair
    if last[0] is text:
        return last[1]
    out: tuple[int, int] | None = None
    if len(text) == 14:
        if text[:3] == "BV-" and text[7] == "-" and text.isascii():
            year, number = text[3:7], text[8:]
            if year.isdigit() and number.isdigit():
                out = int(year), int(number)
    elif len(text) > 14:
        m = PROTOCOL_RE.match(text)
        # Leading zeros past six digits: not how balcao writes it.
        if m is not None and m.group(2)[0] != "0" and text.isascii():
            out = int(m.group(1)), int(m.group(2))
    _LastParsed.pair = (text, out)
    return out


def ts_key(value: object) -> str | None:
    """The identity key of a timestamp cell as read (a serial number, or text typed by hand)."""
    if value is None or value == "":
        return None
    return json.dumps(value)


def event_id(office_key: str, protocol: str) -> str:
    """Deterministic Calendar event id: base32hex (a–v, 0–9) of a hash of the office key
    (``form.spreadsheet_id``) and the protocol, so a retried insert after a crash gets 409
    instead of a second event and two offices never share an id. A change of time is a patch
    of this event, never a new one. The id is stored with the intent and never computed again.
    """
    digest = hashlib.sha256(f"balcao:{office_key}:{protocol}".encode()).digest()
    return base64.b32hexencode(digest).decode().lower().rstrip("=")[:40]


def office_tag(office_key: str) -> str:
    """A short, stable, header-safe tag of the office key for Message-IDs."""
    return hashlib.sha256(office_key.encode()).hexdigest()[:8]


def mail_id(
    office_key: str, protocol: str, kind: str, revision: int, domain: str, hours: int | None = None
) -> str:
    """Deterministic Message-ID of one e-mail to a citizen: ``<bv-2026-000123.ack.r0.1a2b3c4d@domain>``
    (``.h24`` added for the 24-hour reminder). Stored with the intent, never computed again."""
    lead = f".h{hours}" if hours is not None else ""
    return f"<{protocol.lower()}.{kind}.r{revision}{lead}.{office_tag(office_key)}@{domain.lower()}>"


def staff_mail_id(office_key: str, kind: str, key: str, domain: str) -> str:
    """Message-ID of a staff e-mail: (office, "digest", date) or (office, "alerta", protocol)."""
    return f"<balcao.{kind}.{key.lower()}.{office_tag(office_key)}@{domain.lower()}>"


# --------------------------------------------------------------------------- locating rows


class ColumnCells(MutableMapping[int, object]):
    """One sheet column as read (a single list), seen as {sheet row: value} for its non-empty
    cells. A dict of 50,000 rows costs megabytes per tick; this costs the list Google sent.
    Rows set or deleted afterwards (the tail read in full overrides the narrow read) are kept
    apart. Iteration order: the column's rows, then the rows set afterwards."""

    def __init__(self, values: Sequence[object] = (), first_row: int = 2) -> None:
        self._values = values
        self._first = first_row
        self._extra: dict[int, object] = {}
        self._removed: set[int] = set()

    def _base(self, row: int) -> object | None:
        i = row - self._first
        if 0 <= i < len(self._values) and row not in self._removed:
            v = self._values[i]
            if v is not None and v != "":
                return v
        return None

    def __getitem__(self, row: int) -> object:
        if row in self._extra:
            return self._extra[row]
        v = self._base(row)
        if v is None:
            raise KeyError(row)
        return v

    def get(self, row: int, default: object = None) -> object:  # type: ignore[override]
        # Mapping.get goes through a KeyError for every empty cell, and ``locate`` asks this
        # of every row of the sheet: the lookup written out.
        if self._extra and row in self._extra:
            return self._extra[row]
        i = row - self._first
        if 0 <= i < len(self._values) and (not self._removed or row not in self._removed):
            v = self._values[i]
            if v is not None and v != "":
                return v
        return default

    def __setitem__(self, row: int, value: object) -> None:
        self._extra[row] = value

    def __delitem__(self, row: int) -> None:
        found = self._extra.pop(row, None) is not None
        if self._base(row) is not None:
            self._removed.add(row)
            found = True
        if not found:
            raise KeyError(row)

    def span(self) -> tuple[int, int] | None:
        """The first and last rows that may hold a cell (empty ones at the ends included)."""
        rows = [*self._extra, *((self._first, self._first + len(self._values) - 1)
                                if self._values else ())]
        return (min(rows), max(rows)) if rows else None

    def __iter__(self) -> Iterator[int]:
        for i, v in enumerate(self._values):
            row = self._first + i
            if v is None or v == "" or row in self._extra or row in self._removed:
                continue
            yield row
        yield from self._extra

    def __len__(self) -> int:
        filled = getattr(self._values, "filled", None)  # a PackedColumn counts in C
        if filled is None:
            return sum(1 for _ in self)
        shadowed = {r for r in (*self._extra, *self._removed) if self._read(r) is not None}
        return int(filled()) - len(shadowed) + len(self._extra)

    def _read(self, row: int) -> object | None:
        """The cell as read, whatever was set or deleted since."""
        i = row - self._first
        v = self._values[i] if 0 <= i < len(self._values) else None
        return None if v is None or v == "" else v


def ts_ident(value: object) -> object | None:
    """A timestamp cell as an in-memory identity: the value as read (a serial number, or text
    typed by hand), None when empty. Equal to what ``key_ident(ts_key(value))`` gives back."""
    if value is None or value == "":
        return None
    return value


def key_ident(key: str | None) -> object | None:
    """The identity value of a journal ``ts_key`` (JSON of the cell as read)."""
    return None if key is None else json.loads(key)


class NumberSlots:
    """Slots by protocol number for tables kept per request (``RowMap`` here, the identity
    index and the shown cells in worker.packed): balcao numbers protocols with one counter
    across years, so the number alone finds a slot, and the year kept in it says whose it is
    (0: free). A protocol gets none (the caller keeps it apart, in a dict) when it is not
    written as balcao writes it, when another year's protocol holds its number, or when its
    number is far past the highest (a typed ``BV-2026-900000000`` must not allocate 900 M
    slots). ``columns``: the caller's arrays, one value per slot, grown with the years."""

    def __init__(self, *columns: array[Any]) -> None:
        self.year = array("H")
        self._columns = columns

    def find(self, protocol: object) -> int | None:
        """The slot this very protocol holds, if any."""
        split = regular_protocol(protocol) if isinstance(protocol, str) else None
        if split is None or split[1] >= len(self.year) or self.year[split[1]] != split[0]:
            return None
        return split[1]

    def claim(self, protocol: str) -> tuple[int, bool] | None:
        """(the slot the protocol holds or now takes, True when it was free), or None."""
        split = regular_protocol(protocol)
        if split is None:
            return None
        year, n = split
        if n >= len(self.year):
            if n >= len(self.year) + _MAX_GAP:
                return None
            grow = max(n + 1, 2 * len(self.year)) - len(self.year)  # doubling: few copies
            for col in (self.year, *self._columns):
                col.frombytes(bytes(col.itemsize * grow))
        have = self.year[n]
        if have and have != year:
            return None
        self.year[n] = year
        return n, not have

    def release(self, n: int) -> None:
        self.year[n] = 0

    def held(self) -> Iterator[tuple[int, str]]:
        """(slot, protocol) of every slot held, by number."""
        for n, year in enumerate(self.year):
            if year:
                yield n, protocol_for(year, n)


class RowMap(MutableMapping[str, int]):
    """protocol → the sheet row where it belongs, for every request of the sheet on each tick:
    4 bytes a request in a slot by protocol number (``NumberSlots``) instead of a dict of
    strings and ints, plus a byte per row to answer "is this row placed?" without a set.
    Protocols kept as typed, or whose number another year's protocol holds, go to a dict."""

    def __init__(self) -> None:
        self._rows = array("i")  # by slot: the row
        self._slots = NumberSlots(self._rows)
        self._odd: dict[str, int] = {}
        self._on_row = bytearray()  # by row: how many protocols are placed on it
        self._len = 0

    def get(self, protocol: object, default: int | None = None) -> int | None:  # type: ignore[override]
        n = self._slots.find(protocol)
        if n is not None:
            return self._rows[n]
        return self._odd.get(protocol, default) if isinstance(protocol, str) else default

    def __getitem__(self, protocol: str) -> int:
        row = self.get(protocol)
        if row is None:
            raise KeyError(protocol)
        return row

    def __contains__(self, protocol: object) -> bool:
        return self.get(protocol) is not None

    def __setitem__(self, protocol: str, row: int) -> None:
        if self._odd and protocol in self._odd:
            self._unplace(self._odd.pop(protocol))
        got = self._slots.claim(protocol) if row >= 1 else None
        if got is None:
            self.pop(protocol, None)  # a row below 1 is kept apart: no slot left behind
            self._odd[protocol] = row
        else:
            n, fresh = got
            if not fresh:
                self._unplace(self._rows[n])
            self._rows[n] = row
        if row >= len(self._on_row):
            self._on_row.extend(bytes(max(row + 1, 2 * len(self._on_row)) - len(self._on_row)))
        if row >= 0:
            self._on_row[row] = min(self._on_row[row] + 1, 255)
        self._len += 1

    def _unplace(self, row: int) -> None:
        if 0 <= row < len(self._on_row) and self._on_row[row]:
            self._on_row[row] -= 1
        self._len -= 1

    def __delitem__(self, protocol: str) -> None:
        if protocol in self._odd:
            self._unplace(self._odd.pop(protocol))
            return
        n = self._slots.find(protocol)
        if n is None:
            raise KeyError(protocol)
        self._unplace(self._rows[n])
        self._slots.release(n)

    def __iter__(self) -> Iterator[str]:
        for protocol, _row in self.items():
            yield protocol

    def items(self) -> Iterator[tuple[str, int]]:  # type: ignore[override]
        """(protocol, row) pairs without parsing each protocol back (as Mapping's would)."""
        for n, protocol in self._slots.held():
            yield protocol, self._rows[n]
        yield from list(self._odd.items())

    def values(self) -> Iterator[int]:  # type: ignore[override]
        for _protocol, row in self.items():
            yield row

    def __len__(self) -> int:
        return self._len

    def holds_row(self, row: int) -> bool:
        """True when some protocol is placed on ``row``."""
        return 0 <= row < len(self._on_row) and self._on_row[row] > 0


@dataclass
class IdentityView:
    """Where each known protocol sits in the sheet this tick, and what looks wrong."""

    row_of: RowMap = field(default_factory=RowMap)  # protocol → row where it belongs
    repairs: list[tuple[int, str]] = field(default_factory=list)  # (row, protocol) to rewrite
    edited: list[tuple[str, str | None]] = field(default_factory=list)  # (protocol, new ts_key)
    unprocessed: list[int] = field(default_factory=list)  # non-empty rows without a request
    foreign: list[int] = field(default_factory=list)  # rows showing a protocol not theirs


class TwinResolver(Protocol):
    """Tells apart rows that share a timestamp (two submissions in the same second) by the
    fingerprint of their answers: the candidate protocol whose answers the row holds, or
    None when it cannot tell. ``must``: read the row if its cells are not at hand."""

    def __call__(self, row: int, candidates: Sequence[str], *, must: bool) -> str | None: ...


def locate(
    ts_cells: Mapping[int, object],
    protocol_cells: Mapping[int, object],
    known: Mapping[str, object],
    by_ts: Mapping[object, str | Sequence[str]],
    skip_rows: Iterable[int] = (),
    resolve: TwinResolver | None = None,
    twins: Container[object] | None = None,
) -> IdentityView:
    """Match sheet rows to known requests by protocol and timestamp, never by row number.

    ``known`` maps each journal protocol to its timestamp identity (``ts_ident``), ``by_ts``
    the other way round (a protocol, or a list of them when several share one timestamp):
    ``worker.packed.IdentityIndex``'s compact mappings, or plain dicts.

    - A row whose protocol cell names a known request with the same timestamp is in place.
    - A row whose timestamp belongs to a known request but shows another or no protocol lost
      its cells (crash before the write, a sort between re-read and write): it is repaired.
    - A known protocol on a row with a different timestamp, when its own timestamp appears
      nowhere in the sheet, is a respondent's edit (Forms rewrites the timestamp in place).
    - Any other non-empty row is unprocessed (``skip_rows``: rows the caller ignores, such as
      those before ``form.process_since``).
    - Rows sharing a timestamp are told apart by ``resolve`` (their answers), never by order.
      ``twins``: the timestamps shared by several requests (``IdentityIndex.twins``); worked
      out from ``by_ts`` when not given.
    """
    view = IdentityView()
    skip = set(skip_rows)
    # Flat structures, not sets of 50,000 rows: the idle tick of a large sheet runs this
    # every minute, and its peak memory is what a small office machine must hold.
    spans = [s for s in (_span(ts_cells), _span(protocol_cells)) if s is not None]
    keys_lo = min((lo for lo, _ in spans), default=0)
    keys_hi = max((hi for _, hi in spans), default=0)
    rows = range(keys_lo, keys_hi + 1) if keys_hi else range(0)
    claimed = bytearray(keys_hi + 1)
    placed = view.row_of  # protocol → row: a protocol is placed once it has a row
    if twins is not None:
        shared = twins
    else:
        shared = {k for k, v in by_ts.items() if not isinstance(v, str)} if resolve else set()
    # Pass 1: rows already carrying the right protocol.
    for r in rows:
        p = _cell_str(protocol_cells.get(r))
        own = known.get(p, _MISSING) if p and p not in placed else _MISSING
        if own is not _MISSING and own == ts_ident(ts_cells.get(r)):
            if resolve is not None and own in shared:
                # Same second as another request: the answers say whose row this is.
                got = resolve(r, list(by_ts[own]), must=False)
                if got is not None and got != p:
                    continue
            placed[p] = r
            claimed[r] = 1
    # Pass 2: rows whose timestamp belongs to a request not yet placed.
    _place_by_timestamp(rows, ts_cells, by_ts, claimed, view, resolve)
    # Pass 3: known protocols on rows with another timestamp: edits or stray cells.
    ts_present: set[object] | None = None  # built only when a candidate edit needs it
    for r in rows:
        if claimed[r]:
            continue
        ts_value = ts_cells.get(r)
        p = _cell_str(protocol_cells.get(r))
        if not p and ts_ident(ts_value) is None:
            continue  # an empty row
        if p in known and p not in placed:
            own = known[p]
            if own is not None and ts_present is None:
                ts_present = {k for k in map(ts_ident, ts_cells.values()) if k is not None}
            if own is None or (ts_present is not None and own not in ts_present):
                placed[p] = r
                view.edited.append((p, ts_key(ts_value)))
                claimed[r] = 1
                continue
        if r in skip:
            continue
        if p and p in known:
            view.foreign.append(r)
        view.unprocessed.append(r)
    return view


def _place_by_timestamp(
    rows: range, ts_cells: Mapping[int, object], by_ts: Mapping[object, str | Sequence[str]],
    claimed: bytearray, view: IdentityView, resolve: TwinResolver | None,
) -> None:
    """Rows whose timestamp belongs to a request not yet placed lost their cells (a crash
    before the write, a sort between re-read and write): repaired. Twins of one second go
    by their answers."""
    placed = view.row_of
    for r in rows:
        if claimed[r]:
            continue
        k = ts_ident(ts_cells.get(r))
        if k is None:
            continue
        found = by_ts.get(k, ())
        # One protocol per timestamp is the rule (a str); a list only when two share it.
        free = [p for p in ((found,) if isinstance(found, str) else found) if p not in placed]
        if not free:
            continue
        p = free[0]
        if len(free) > 1 and resolve is not None:
            got = resolve(r, free, must=True)
            p = got if got in free else p
        placed[p] = r
        view.repairs.append((r, p))
        claimed[r] = 1


def _span(cells: Mapping[int, object]) -> tuple[int, int] | None:
    """The first and last rows that may hold a cell (a column read: without scanning it)."""
    if isinstance(cells, ColumnCells):
        return cells.span()
    return (min(cells), max(cells)) if cells else None


def _cell_str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
