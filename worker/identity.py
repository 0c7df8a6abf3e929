"""Locating rows by identity (protocol, then timestamp and answers; never row numbers), the identity index, and the deterministic ids of effects; no I/O, no clock."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Container, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

PROTOCOL_RE = re.compile(r"^BV-(\d{4})-(\d{6,})$")
_MISSING = object()


def protocol_for(year: int, seq: int) -> str:
    """``protocol_for(2026, 13)`` → ``"BV-2026-000013"``."""
    return f"BV-{year:04d}-{seq:06d}"


def protocol_seq(text: object) -> int | None:
    """The sequence number of a protocol cell, None when the cell holds none."""
    if not isinstance(text, str):
        return None
    m = PROTOCOL_RE.match(text.strip())
    return int(m.group(2)) if m else None


def regular_protocol(text: str) -> tuple[int, int] | None:
    """(year, number) of a protocol exactly as balcao writes it (``protocol_for``), None for
    any other text (a protocol kept as typed). Slicing, not a regex: ``locate`` asks this of
    every row of the sheet."""
    if len(text) == 14:
        if text[:3] == "BV-" and text[7] == "-" and text.isascii():
            year, number = text[3:7], text[8:]
            if year.isdigit() and number.isdigit():
                return int(year), int(number)
        return None
    m = PROTOCOL_RE.match(text) if len(text) > 14 else None
    if m is None or m.group(2)[0] == "0" or not text.isascii():
        return None  # leading zeros past six digits: not how balcao writes it
    return int(m.group(1)), int(m.group(2))


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


_EMPTY, _FLOAT, _INT, _PROTOCOL, _OTHER = range(5)


class PackedColumn(Sequence[object]):
    """One sheet column as read, packed: a byte, a double and a code per cell instead of a
    Python object (numbers, protocols as balcao writes them, and repeated texts such as the
    statuses are rebuilt on access). The daemon reads four columns of every row each tick; a
    50,000-row sheet's cells as objects are ~10 MiB, and the allocator keeps what they free
    scattered among the tick's other objects. Packed, they are ~0.7 MiB in four blocks and
    the decoded JSON lists are freed at once, right after the read. Empty cells read as ""."""

    def __init__(self, values: Sequence[object]) -> None:
        n = len(values)
        kind = self._kind = bytearray(n)
        num = self._num = array("d", bytes(8 * n))
        code = self._code = array("I", bytes(4 * n))
        self._texts: list[object] = []
        codes: dict[object, int] = {}
        for i, v in enumerate(values):
            if isinstance(v, float):
                kind[i], num[i] = _FLOAT, v
            elif isinstance(v, int) and not isinstance(v, bool) and -(2**53) < v < 2**53:
                kind[i], num[i] = _INT, v
            elif v == "" or v is None:
                continue
            else:
                split = regular_protocol(v) if isinstance(v, str) else None
                if split is not None:
                    kind[i], num[i] = _PROTOCOL, split[0] * 1e12 + split[1]
                    continue
                c = codes.get(v) if isinstance(v, str) else None
                if c is None:
                    c = len(self._texts)
                    self._texts.append(v)
                    if isinstance(v, str):
                        codes[v] = c
                kind[i], code[i] = _OTHER, c

    def __len__(self) -> int:
        return len(self._kind)

    def __getitem__(self, i: int) -> object:  # type: ignore[override]
        k = self._kind[i]
        if k == _EMPTY:
            return ""
        if k == _FLOAT:
            return self._num[i]
        if k == _INT:
            return int(self._num[i])
        if k == _PROTOCOL:
            year, number = divmod(int(self._num[i]), 10**12)
            return protocol_for(year, number)
        return self._texts[self._code[i]]


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

    def __setitem__(self, row: int, value: object) -> None:
        self._extra[row] = value

    def __delitem__(self, row: int) -> None:
        found = self._extra.pop(row, None) is not None
        if self._base(row) is not None:
            self._removed.add(row)
            found = True
        if not found:
            raise KeyError(row)

    def __iter__(self) -> Iterator[int]:
        for i, v in enumerate(self._values):
            row = self._first + i
            if v is None or v == "" or row in self._extra or row in self._removed:
                continue
            yield row
        yield from self._extra

    def __len__(self) -> int:
        return sum(1 for _ in self)


def ts_ident(value: object) -> object | None:
    """A timestamp cell as an in-memory identity: the value as read (a serial number, or text
    typed by hand), None when empty. Equal to what ``key_ident(ts_key(value))`` gives back."""
    if value is None or value == "":
        return None
    return value


def key_ident(key: str | None) -> object | None:
    """The identity value of a journal ``ts_key`` (JSON of the cell as read)."""
    return None if key is None else json.loads(key)


class RowMap(MutableMapping[str, int]):
    """protocol → the sheet row where it belongs, for every request of a 50,000-row sheet on
    each tick: 4 bytes a request in its year's array (as ``IdentityIndex``) instead of a dict
    of strings and ints, plus a byte per row to answer "is this row placed?" without a set.
    Protocols kept as typed go to a plain dict."""

    def __init__(self) -> None:
        self._years: dict[int, array[int]] = {}
        self._odd: dict[str, int] = {}
        self._on_row = bytearray()  # how many protocols are placed on each row
        self._len = 0

    def _find(self, protocol: object) -> tuple[array[int], int] | None:
        split = regular_protocol(protocol) if type(protocol) is str else None
        if split is None:
            return None
        rows = self._years.get(split[0])
        return None if rows is None or split[1] >= len(rows) else (rows, split[1])

    def get(self, protocol: object, default: int | None = None) -> int | None:  # type: ignore[override]
        found = self._find(protocol)
        if found is None:
            return self._odd.get(protocol, default) if isinstance(protocol, str) else default
        row = found[0][found[1]]
        return row if row else default

    def __getitem__(self, protocol: str) -> int:
        row = self.get(protocol)
        if row is None:
            raise KeyError(protocol)
        return row

    def __contains__(self, protocol: object) -> bool:
        return self.get(protocol) is not None

    def __setitem__(self, protocol: str, row: int) -> None:
        if protocol in self:
            del self[protocol]
        split = regular_protocol(protocol)
        if split is None or split[1] >= _MAX_GAP + len(self._years.get(split[0], ())) or row < 1:
            self._odd[protocol] = row
        else:
            rows = self._years.setdefault(split[0], array("i"))
            if split[1] >= len(rows):
                rows.extend(bytes(4 * (split[1] + 1 - len(rows))))
            rows[split[1]] = row
        if row >= len(self._on_row):
            self._on_row.extend(bytes(row + 1 - len(self._on_row)))
        if row >= 0:
            self._on_row[row] = min(self._on_row[row] + 1, 255)
        self._len += 1

    def __delitem__(self, protocol: str) -> None:
        found = self._find(protocol)
        if found is not None and found[0][found[1]]:
            row = found[0][found[1]]
            found[0][found[1]] = 0
        elif protocol in self._odd:
            row = self._odd.pop(protocol)
        else:
            raise KeyError(protocol)
        if 0 <= row < len(self._on_row) and self._on_row[row]:
            self._on_row[row] -= 1
        self._len -= 1

    def __iter__(self) -> Iterator[str]:
        for year, rows in sorted(self._years.items()):
            for number, row in enumerate(rows):
                if row:
                    yield protocol_for(year, number)
        yield from list(self._odd)

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
    the other way round (a protocol, or a list of them when several share one timestamp);
    plain values, not objects, because a sheet holds tens of thousands.

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
    keys_hi = max(max(ts_cells, default=0), max(protocol_cells, default=0))
    keys_lo = min(min(ts_cells, default=keys_hi), min(protocol_cells, default=keys_hi))
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


def _cell_str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


_YEAR = 10**12  # a regular protocol's code: year * _YEAR + number
_MAX_GAP = 1_000_000  # a number this far past the year's highest is kept apart, not indexed


def _as_double(ident: object) -> float | None:
    """A serial-number identity as a double, None for any other (text typed by hand)."""
    if type(ident) is float or (type(ident) is int and -(2**53) < ident < 2**53):
        return float(ident)
    return None


class IdentityIndex:
    """Every journal protocol with its timestamp identity (``ts_ident``), both ways.

    Compact, because a sheet holds tens of thousands of rows and the daemon keeps this between
    ticks: a regular protocol (``BV-YYYY-NNNNNN``) is a slot of its year's arrays (a byte and a
    double), serial-number timestamps are one sorted array of doubles with their owners'
    codes. A dict of 50,000 strings and floats both ways cost ~8 MiB; this costs ~1.3 MiB.
    Protocols kept as typed and timestamps typed as text (rare) are kept in plain dicts.
    ``known`` and ``by_ts`` are read-only mappings over it, as ``locate`` takes them."""

    def __init__(self) -> None:
        self._years: dict[int, tuple[bytearray, array[float]]] = {}  # state, ts by number
        self._odd: dict[str, object] = {}  # protocols kept as typed → their identity
        self._odd_names: list[str] = []  # code -(i + 1) ↔ an odd protocol
        self._odd_codes: dict[str, int] = {}
        self._count = 0
        self._ts = array("d")  # serial-number identities, sorted (twins in claim order)
        self._owner = array("q")  # the protocol code of each
        self._text_ts: dict[object, str | list[str]] = {}  # other identities → protocol(s)
        self._twins: set[object] = set()  # identities shared by more than one protocol
        self.known: Mapping[str, object] = _Known(self)
        self.by_ts: Mapping[object, str | list[str]] = _ByTs(self)

    @classmethod
    def load(cls, pairs: Iterable[tuple[str, str | None]]) -> IdentityIndex:
        index = cls()
        ts, owner = index._ts, index._owner
        for protocol, key in pairs:
            ident = key_ident(key)
            index._set(protocol, ident)
            d = _as_double(ident)
            if d is None:
                index._add_text(protocol, ident)
            else:
                ts.append(d)
                owner.append(index._code(protocol))
        # One sort at the end (stable: twins keep claim order), not 50,000 insertions.
        order = sorted(range(len(ts)), key=ts.__getitem__)
        index._ts = array("d", (ts[i] for i in order))
        index._owner = array("q", (owner[i] for i in order))
        index._twins.update(
            index._ts[i] for i in range(1, len(index._ts)) if index._ts[i] == index._ts[i - 1]
        )
        return index

    @property
    def twins(self) -> set[object]:
        """Identities that more than one protocol shares (two submissions in one second)."""
        return self._twins

    def add(self, protocol: str, ident: object | None) -> None:
        self._set(protocol, ident)
        d = _as_double(ident)
        if d is None:
            self._add_text(protocol, ident)
            return
        i = bisect_right(self._ts, d)
        if i and self._ts[i - 1] == d:
            self._twins.add(d)
        self._ts.insert(i, d)
        self._owner.insert(i, self._code(protocol))

    def move(self, protocol: str, ident: object | None) -> None:
        old = self.known.get(protocol)
        d = _as_double(old)
        if d is not None:
            code = self._code(protocol)
            lo, hi = bisect_left(self._ts, d), bisect_right(self._ts, d)
            for i in range(lo, hi):
                if self._owner[i] == code:
                    del self._ts[i], self._owner[i]
                    if hi - lo == 2:
                        self._twins.discard(d)
                    break
        elif old is not None:
            have = self._text_ts.get(old)
            rest = [p for p in ([have] if isinstance(have, str) else have or []) if p != protocol]
            if len(rest) > 1:
                self._text_ts[old] = rest
            elif rest:
                self._text_ts[old] = rest[0]
                self._twins.discard(old)
            else:
                self._text_ts.pop(old, None)
        self.add(protocol, ident)

    # ----------------------------------------------------------------- storage

    def _slot(self, protocol: str) -> tuple[bytearray, array[float], int] | None:
        split = regular_protocol(protocol)
        if split is None:
            return None
        year, number = split
        have = self._years.get(year)
        if have is None:
            return (bytearray(), array("d"), number) if number < _MAX_GAP else None
        return (*have, number) if number < len(have[0]) + _MAX_GAP else None

    def _set(self, protocol: str, ident: object | None) -> None:
        d = _as_double(ident)
        odd = protocol in self._odd or (d is None and ident is not None)
        slot = None if odd else self._slot(protocol)
        if slot is None:
            self._clear(protocol)  # once kept apart, a protocol stays apart
            if protocol not in self._odd:
                self._count += 1
            self._odd[protocol] = ident
            return
        state, ts, number = slot
        self._years[int(protocol[3:7])] = (state, ts)  # the year of a regular protocol
        if number >= len(state):
            grow = number + 1 - len(state)
            state.extend(bytes(grow))
            ts.extend([math.nan] * grow)
        if not state[number]:
            self._count += 1
        state[number] = 1 if d is None else 2  # 1: known, without a timestamp
        ts[number] = math.nan if d is None else d

    def _clear(self, protocol: str) -> None:
        slot = self._slot(protocol)
        if slot is not None and slot[2] < len(slot[0]) and slot[0][slot[2]]:
            slot[0][slot[2]] = 0
            self._count -= 1

    def _get(self, protocol: str, default: object = _MISSING) -> object:
        # The hot path of ``locate`` (every row of the sheet): no regex, no allocation.
        if protocol in self._odd:
            return self._odd[protocol]
        split = regular_protocol(protocol)
        have = self._years.get(split[0]) if split is not None else None
        if have is None or split is None or split[1] >= len(have[0]):
            return default
        state = have[0][split[1]]
        return default if not state else None if state == 1 else have[1][split[1]]

    def _code(self, protocol: str) -> int:
        split = None if protocol in self._odd else regular_protocol(protocol)
        if split is not None:
            return split[0] * _YEAR + split[1]
        code = self._odd_codes.get(protocol)
        if code is None:
            self._odd_names.append(protocol)
            code = self._odd_codes[protocol] = -len(self._odd_names)
        return code

    def _name(self, code: int) -> str:
        if code < 0:
            return self._odd_names[-code - 1]
        return protocol_for(code // _YEAR, code % _YEAR)

    def _add_text(self, protocol: str, ident: object) -> None:
        if ident is None:
            return
        have = self._text_ts.get(ident)
        if have is None:
            self._text_ts[ident] = protocol
        else:
            self._text_ts[ident] = [have, protocol] if isinstance(have, str) else [*have, protocol]
            self._twins.add(ident)

    def _owners(self, ident: object) -> str | list[str] | None:
        d = _as_double(ident)
        if d is None:
            return self._text_ts.get(ident) if ident is not None else None
        lo = bisect_left(self._ts, d)
        if lo == len(self._ts) or self._ts[lo] != d:
            return None
        if d not in self._twins:
            return self._name(self._owner[lo])
        return [self._name(self._owner[i]) for i in range(lo, bisect_right(self._ts, d))]

    def _protocols(self) -> Iterator[str]:
        for year, (state, _ts) in sorted(self._years.items()):
            for number, s in enumerate(state):
                if s:
                    yield protocol_for(year, number)
        yield from self._odd

    def _idents(self) -> Iterator[object]:
        last: object = _MISSING
        for d in self._ts:
            if d != last:
                yield d
                last = d
        yield from self._text_ts


class _Known(Mapping[str, object]):
    """protocol → its timestamp identity (None when the journal has none)."""

    def __init__(self, index: IdentityIndex) -> None:
        self._ix = index

    def __getitem__(self, protocol: str) -> object:
        v = self._ix._get(protocol)
        if v is _MISSING:
            raise KeyError(protocol)
        return v

    def get(self, protocol: str, default: object = None) -> object:  # type: ignore[override]
        v = self._ix._get(protocol)
        return default if v is _MISSING else v

    def __contains__(self, protocol: object) -> bool:
        return isinstance(protocol, str) and self._ix._get(protocol) is not _MISSING

    def __iter__(self) -> Iterator[str]:
        return self._ix._protocols()

    def __len__(self) -> int:
        return self._ix._count


class _ByTs(Mapping[object, "str | list[str]"]):
    """timestamp identity → its protocol, or the list of them (claim order) for twins."""

    def __init__(self, index: IdentityIndex) -> None:
        self._ix = index

    def __getitem__(self, ident: object) -> str | list[str]:
        v = self._ix._owners(ident)
        if v is None:
            raise KeyError(ident)
        return v

    def get(self, ident: object, default: object = None) -> object:  # type: ignore[override]
        v = self._ix._owners(ident)
        return default if v is None else v

    def __contains__(self, ident: object) -> bool:
        return self._ix._owners(ident) is not None

    def __iter__(self) -> Iterator[object]:
        return self._ix._idents()

    def __len__(self) -> int:
        return sum(1 for _ in self._ix._idents())


class ShownCells:
    """What balcao last wrote in `Situação` and `Atendimento` of each request, by protocol
    number: a byte and a double per request (a dict of 50,000 tuples would cost ~10 MiB of a
    small office machine's memory between ticks)."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {"": 0}
        self._texts: list[str] = [""]
        self._status = bytearray()
        self._appt = array("d")

    def _slot(self, protocol: str) -> int | None:
        seq = protocol_seq(protocol)
        if seq is None:
            return None
        if seq >= len(self._status):
            grow = seq + 1 - len(self._status)
            self._status.extend(bytes(grow))
            self._appt.extend([math.nan] * grow)
        return seq

    def set(self, protocol: str, status: str, appt: float | None) -> None:
        i = self._slot(protocol)
        if i is None:
            return
        code = self._codes.get(status)
        if code is None and len(self._texts) < 255:
            code = self._codes[status] = len(self._texts)
            self._texts.append(status)
        self._status[i] = code or 0
        self._appt[i] = math.nan if appt is None else appt

    def get(self, protocol: str) -> tuple[str, float | None]:
        seq = protocol_seq(protocol)
        if seq is None or seq >= len(self._status):
            return "", None
        appt = self._appt[seq]
        return self._texts[self._status[seq]], None if math.isnan(appt) else appt
