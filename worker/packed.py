"""Compact tables for a 50,000-row sheet: the columns read each tick, the journal's identity
index and what balcao last showed staff; no I/O, no clock.

The daemon holds these between ticks or rebuilds them every tick. As Python objects (a str, a
float and a dict entry per row, both ways) they cost ~10 MiB per column or index at 50,000
rows, and what a tick frees stays resident, scattered among the objects it keeps. Here a row
costs a few bytes in arrays indexed by protocol number (balcao numbers protocols with one
counter across years, so the number alone finds the slot; the year is kept to check it). What
does not fit (protocols kept as typed by hand, timestamps typed as text) goes to plain dicts:
rare, and the answers are the same either way (tests compare them with plain dicts).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence

from worker.identity import NumberSlots, key_ident, protocol_for, regular_protocol

__all__ = ["IdentityIndex", "PackedColumn", "ShownCells"]

_MISSING = object()


def _as_double(ident: object) -> float | None:
    """A serial-number identity as a double, None for any other (text typed by hand)."""
    if isinstance(ident, float) or (
        isinstance(ident, int) and not isinstance(ident, bool) and -(2**53) < ident < 2**53
    ):
        return float(ident)
    return None


_EMPTY, _FLOAT, _INT, _PROTOCOL, _OTHER = range(5)


class PackedColumn(Sequence[object]):
    """One sheet column as read: a byte, a double and a code per cell instead of an object.

    Numbers, protocols as balcao writes them, and repeated texts (statuses) come back equal
    to what was read; empty cells read as "". Four columns of a 50,000-row sheet are ~10 MiB
    as decoded JSON and ~2.6 MiB packed, and the decoded lists are freed right after the read
    instead of living through the tick."""

    def __init__(self, values: Sequence[object]) -> None:
        n = len(values)
        kind = self._kind = bytearray(n)
        num = self._num = array("d", bytes(8 * n))
        code = self._code = array("I", bytes(4 * n))
        self._texts: list[object] = []
        codes: dict[str, int] = {}
        for i, v in enumerate(values):
            if isinstance(v, str):
                if not v:
                    continue
                split = regular_protocol(v)
                if split is not None and split[1] < 2**53:  # a double holds it exactly
                    kind[i], code[i], num[i] = _PROTOCOL, split[0], split[1]
                    continue
                c = codes.get(v)
                if c is None:
                    c = codes[v] = len(self._texts)
                    self._texts.append(v)
                kind[i], code[i] = _OTHER, c
            elif isinstance(v, float):
                kind[i], num[i] = _FLOAT, v
            elif isinstance(v, int) and not isinstance(v, bool) and -(2**53) < v < 2**53:
                kind[i], num[i] = _INT, v
            elif v is not None:
                kind[i], code[i] = _OTHER, len(self._texts)
                self._texts.append(v)

    def __len__(self) -> int:
        return len(self._kind)

    def __eq__(self, other: object) -> bool:
        # It stands in for the list Google sent: equal to that list.
        if isinstance(other, PackedColumn | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def filled(self) -> int:
        """How many cells are not empty."""
        return len(self._kind) - self._kind.count(_EMPTY)

    def __getitem__(self, i: int) -> object:  # type: ignore[override]
        k = self._kind[i]
        if k == _FLOAT:
            return self._num[i]
        if k == _PROTOCOL:
            return protocol_for(self._code[i], int(self._num[i]))
        if k == _OTHER:
            return self._texts[self._code[i]]
        if k == _INT:
            return int(self._num[i])
        return ""


class IdentityIndex:
    """Every journal protocol with its timestamp identity (``ts_ident``), both ways.

    A protocol as balcao writes it has a slot by number (``identity.NumberSlots``: the year
    and a double, NaN when the journal has no timestamp); the serial-number timestamps are one sorted array of doubles with their owners' numbers. A
    dict of 50,000 strings and floats both ways cost ~8 MiB; this costs ~1.4 MiB.
    ``known`` and ``by_ts`` are read-only mappings over it, as ``identity.locate`` takes them;
    ``twins`` the timestamps several requests share (two submissions in one second)."""

    def __init__(self) -> None:
        self._ts = array("d")  # by slot: the timestamp, NaN for none
        self._slots = NumberSlots(self._ts)
        self._odd: dict[str, object] = {}  # protocols kept apart → their identity
        self._odd_names: list[str] = []  # owner code -(i + 1) ↔ a protocol kept apart
        self._odd_codes: dict[str, int] = {}
        self._count = 0
        self._sorted = array("d")  # serial-number identities, sorted (twins in claim order)
        self._owner = array("q")  # the owner of each: its number, or a code kept apart
        self._text_ts: dict[object, str | list[str]] = {}  # other identities → protocol(s)
        self.twins: set[object] = set()
        self.known: Mapping[str, object] = _Known(self)
        self.by_ts: Mapping[object, str | list[str]] = _ByTs(self)

    @classmethod
    def load(cls, pairs: Iterable[tuple[str, str | None]]) -> IdentityIndex:
        """From the journal's (protocol, ts_key) pairs in claim order."""
        index = cls()
        for protocol, key in pairs:
            ident = key_ident(key)
            index._set(protocol, ident)
            d = _as_double(ident)
            if d is None:
                index._add_text(protocol, ident)
            else:
                index._sorted.append(d)
                index._owner.append(index._code(protocol))
        # One stable sort at the end (twins keep claim order), not 50,000 insertions.
        ts, owner = index._sorted, index._owner
        order = sorted(range(len(ts)), key=ts.__getitem__)
        index._sorted = array("d", (ts[i] for i in order))
        index._owner = array("q", (owner[i] for i in order))
        s = index._sorted
        index.twins.update(s[i] for i in range(1, len(s)) if s[i] == s[i - 1])
        return index

    def add(self, protocol: str, ident: object | None) -> None:
        self._set(protocol, ident)
        d = _as_double(ident)
        if d is None:
            self._add_text(protocol, ident)
            return
        i = bisect_right(self._sorted, d)
        if i and self._sorted[i - 1] == d:
            self.twins.add(d)
        self._sorted.insert(i, d)
        self._owner.insert(i, self._code(protocol))

    def move(self, protocol: str, ident: object | None) -> None:
        """A respondent's edit: the protocol's timestamp is now ``ident``."""
        old = self.known.get(protocol)
        d = _as_double(old)
        if d is not None:
            code = self._code(protocol)
            lo, hi = bisect_left(self._sorted, d), bisect_right(self._sorted, d)
            for i in range(lo, hi):
                if self._owner[i] == code:
                    del self._sorted[i], self._owner[i]
                    if hi - lo == 2:
                        self.twins.discard(d)
                    break
        elif old is not None:
            have = self._text_ts.get(old)
            rest = [p for p in ([have] if isinstance(have, str) else have or []) if p != protocol]
            if len(rest) > 1:
                self._text_ts[old] = rest
            elif rest:
                self._text_ts[old] = rest[0]
                self.twins.discard(old)
            else:
                self._text_ts.pop(old, None)
        self.add(protocol, ident)

    # ----------------------------------------------------------------- protocol → identity

    def _set(self, protocol: str, ident: object | None) -> None:
        d = _as_double(ident)
        apart = protocol in self._odd or (d is None and ident is not None)
        got = None if apart else self._slots.claim(protocol)
        if got is None:
            n = self._slots.find(protocol)  # once kept apart, a protocol stays apart
            if n is not None:
                self._slots.release(n)
                self._count -= 1
            if protocol not in self._odd:
                self._count += 1
            self._odd[protocol] = ident
            return
        n, fresh = got
        self._count += fresh
        self._ts[n] = math.nan if d is None else d

    def _get(self, protocol: str) -> object:
        if protocol in self._odd:
            return self._odd[protocol]
        n = self._slots.find(protocol)
        if n is None:
            return _MISSING
        d = self._ts[n]
        return None if math.isnan(d) else d

    def _code(self, protocol: str) -> int:
        n = None if protocol in self._odd else self._slots.find(protocol)
        if n is not None:
            return n
        code = self._odd_codes.get(protocol)
        if code is None:
            self._odd_names.append(protocol)
            code = self._odd_codes[protocol] = -len(self._odd_names)
        return code

    def _name(self, code: int) -> str:
        return self._odd_names[-code - 1] if code < 0 else protocol_for(self._slots.year[code], code)

    def _protocols(self) -> Iterator[str]:
        for _n, protocol in self._slots.held():
            yield protocol
        yield from list(self._odd)

    # ----------------------------------------------------------------- identity → protocol

    def _add_text(self, protocol: str, ident: object) -> None:
        if ident is None:
            return
        have = self._text_ts.get(ident)
        if have is None:
            self._text_ts[ident] = protocol
        else:
            self._text_ts[ident] = [have, protocol] if isinstance(have, str) else [*have, protocol]
            self.twins.add(ident)

    def _owners(self, ident: object) -> str | list[str] | None:
        d = _as_double(ident)
        if d is None:
            return self._text_ts.get(ident) if ident is not None else None
        lo = bisect_left(self._sorted, d)
        if lo == len(self._sorted) or self._sorted[lo] != d:
            return None
        if d not in self.twins:
            return self._name(self._owner[lo])
        return [self._name(self._owner[i]) for i in range(lo, bisect_right(self._sorted, d))]

    def _idents(self) -> Iterator[object]:
        last: object = _MISSING
        for d in self._sorted:
            if d != last:
                yield d
                last = d
        yield from list(self._text_ts)


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
    """What balcao last wrote in `Situação` and `Atendimento` of each request, in slots by
    protocol number (``identity.NumberSlots``): a status code and a double per request (a
    dict of 50,000 tuples would cost ~10 MiB of a small office machine's memory between
    ticks). Protocols without a slot go to a dict."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {"": 0}
        self._texts: list[str] = [""]
        self._status = array("H")
        self._appt = array("d")
        self._slots = NumberSlots(self._status, self._appt)
        self._odd: dict[str, tuple[str, float | None]] = {}

    def set(self, protocol: str, status: str, appt: float | None) -> None:
        got = self._slots.claim(protocol)
        if got is None:
            self._odd[protocol] = (status, appt)
            return
        n = got[0]
        code = self._codes.get(status)
        if code is None:
            code = self._codes[status] = len(self._texts)
            self._texts.append(status)
        self._status[n] = code
        self._appt[n] = math.nan if appt is None else appt

    def get(self, protocol: str) -> tuple[str, float | None]:
        n = self._slots.find(protocol)
        if n is None:
            return self._odd.get(protocol, ("", None))
        appt = self._appt[n]
        return self._texts[self._status[n]], None if math.isnan(appt) else appt
