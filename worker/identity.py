"""Locating rows by identity (protocol, then timestamp and answers; never row numbers), the identity index, and the deterministic ids of effects; no I/O, no clock."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

PROTOCOL_RE = re.compile(r"^BV-(\d{4})-(\d{6,})$")


def protocol_for(year: int, seq: int) -> str:
    """``protocol_for(2026, 13)`` → ``"BV-2026-000013"``."""
    return f"BV-{year:04d}-{seq:06d}"


def protocol_seq(text: object) -> int | None:
    """The sequence number of a protocol cell, None when the cell holds none."""
    if not isinstance(text, str):
        return None
    m = PROTOCOL_RE.match(text.strip())
    return int(m.group(2)) if m else None


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


@dataclass
class IdentityView:
    """Where each known protocol sits in the sheet this tick, and what looks wrong."""

    row_of: dict[str, int] = field(default_factory=dict)  # protocol → row where it belongs
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
    # Pass 1: rows already carrying the right protocol.
    for r in rows:
        p = _cell_str(protocol_cells.get(r))
        if p and p not in placed and p in known and known[p] == ts_ident(ts_cells.get(r)):
            twins = by_ts.get(known[p])
            if resolve is not None and isinstance(twins, list):
                # Same second as another request: the answers say whose row this is.
                got = resolve(r, twins, must=False)
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


@dataclass
class IdentityIndex:
    """Every journal protocol with its timestamp identity (``ts_ident``), both ways; plain
    values, because a sheet holds tens of thousands of rows."""

    known: dict[str, object] = field(default_factory=dict)
    by_ts: dict[object, str | list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, pairs: Iterable[tuple[str, str | None]]) -> IdentityIndex:
        index = cls()
        for protocol, key in pairs:
            index.add(protocol, key_ident(key))
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
