"""Identity: protocols, event ids and Message-IDs, the column view of a sheet read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.adapters.a1 import col_letter
from worker.identity import (
    ColumnCells,
    RowMap,
    event_id,
    key_ident,
    mail_id,
    protocol_for,
    protocol_seq,
    ts_key,
)
from worker.packed import IdentityIndex, PackedColumn


def test_column_cells_show_only_non_empty_cells_by_sheet_row() -> None:
    col = ColumnCells([46818.5, "", "BV-2028-000002", None], first_row=2)
    assert dict(col) == {2: 46818.5, 4: "BV-2028-000002"}
    assert col.get(3) is None and 3 not in col and 6 not in col
    col[3] = "typed"  # the tail read in full overrides the narrow read
    del col[4]
    assert dict(col) == {2: 46818.5, 3: "typed"}
    assert len(col) == 2
    with pytest.raises(KeyError):
        del col[9]


@pytest.mark.parametrize(("n", "letters"), [(1, "A"), (26, "Z"), (27, "AA"), (52, "AZ"), (703, "AAA")])
def test_column_letters_follow_the_sheets_ui(n: int, letters: str) -> None:
    assert col_letter(n) == letters


def test_protocols_and_event_ids_are_stable_and_valid() -> None:
    assert protocol_for(2026, 13) == "BV-2026-000013"
    assert protocol_seq(" BV-2026-000013 ") == 13 and protocol_seq("BV-26-1") is None
    eid = event_id("sheet-a", "BV-2026-000013")
    assert eid == event_id("sheet-a", "BV-2026-000013") != event_id("sheet-a", "BV-2026-000014")
    # Two offices sharing a default domain never collide.
    assert eid != event_id("sheet-b", "BV-2026-000013")
    assert 5 <= len(eid) <= 1024 and set(eid) <= set("0123456789abcdefghijklmnopqrstuv")


def test_message_ids_carry_kind_revision_lead_and_office() -> None:
    a = mail_id("sheet-a", "BV-2026-000013", "confirmation", 2, "Balcao.Example")
    assert a.startswith("<bv-2026-000013.confirmation.r2.") and a.endswith("@balcao.example>")
    assert a != mail_id("sheet-b", "BV-2026-000013", "confirmation", 2, "balcao.example")
    reminder = mail_id("sheet-a", "BV-2026-000013", "reminder", 1, "balcao.example", hours=24)
    assert ".reminder.r1.h24." in reminder


def test_shown_cells_remember_status_and_appointment_by_protocol_number() -> None:
    from worker.packed import ShownCells

    shown = ShownCells()
    assert shown.get("BV-2026-000007") == ("", None)
    shown.set("BV-2026-000007", "Agendado", 46818.5)
    shown.set("BV-2027-000009", "Requer atenção", None)
    assert shown.get("BV-2026-000007") == ("Agendado", 46818.5)
    assert shown.get("BV-2027-000009") == ("Requer atenção", None)
    assert shown.get("BV-2026-000008") == ("", None)  # never written
    shown.set("BV-2026-000007", "Cancelado", None)
    assert shown.get("BV-2026-000007") == ("Cancelado", None)
    assert shown.get("not a protocol") == ("", None)


# ----------------------------------------------------------------- the compact identity index


class _PlainIndex:
    """The identity index as it was before it was made compact: two dicts. The reference
    the compact one must agree with, whatever the sequence of claims and edits."""

    def __init__(self) -> None:
        self.known: dict[str, object] = {}
        self.by_ts: dict[object, list[str]] = {}

    def add(self, protocol: str, ident: object) -> None:
        self.known[protocol] = ident
        if ident is not None:
            self.by_ts.setdefault(ident, []).append(protocol)

    def move(self, protocol: str, ident: object) -> None:
        old = self.known.get(protocol)
        if old is not None:
            rest = [p for p in self.by_ts[old] if p != protocol]
            if rest:
                self.by_ts[old] = rest
            else:
                del self.by_ts[old]
        self.add(protocol, ident)

    def owners(self, ident: object) -> object:
        have = self.by_ts.get(ident)
        return None if have is None else have[0] if len(have) == 1 else have


_PROTOCOLS = st.one_of(
    st.builds(protocol_for, st.sampled_from([2025, 2026]), st.integers(1, 40)),
    st.sampled_from([
        "BV-2026-0000007", "typed by hand", "BV-26-1", "BV-2026-999999999",
        "BV-2026-123456789012345678901",
    ]),
)
# Serial numbers (float or int, as JSON gives them back), text typed by hand, no timestamp.
_IDENTS = st.one_of(
    st.none(), st.sampled_from([46000.5, 46000.25, 46001.0]), st.just(46000),
    st.sampled_from(["07/12/2026 10:00", "ontem"]), st.just(True),
)


def _agree(compact: IdentityIndex, plain: _PlainIndex) -> None:
    assert len(compact.known) == len(plain.known)
    assert sorted(compact.known) == sorted(plain.known)
    for p, ident in plain.known.items():
        assert p in compact.known and compact.known[p] == ident
        assert compact.known.get(p, "absent") == ident
    for ident in {*plain.by_ts, 46000.5, 46002.0, "nunca"}:
        assert compact.by_ts.get(ident) == plain.owners(ident), ident
    assert len(compact.by_ts) == len(plain.by_ts)
    assert compact.twins == {k for k, v in plain.by_ts.items() if len(v) > 1}
    assert "BV-2027-000001" not in compact.known and compact.known.get("BV-2027-000001") is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _PROTOCOLS, _IDENTS), max_size=40))
def test_compact_identity_index_agrees_with_plain_dicts(steps: list[tuple[bool, str, object]]) -> None:
    """Claims (add), respondents' edits (move) and a reload from the journal's pairs give
    the same answers as two plain dicts: twins in claim order, odd protocols and text."""
    compact, plain = IdentityIndex(), _PlainIndex()
    pairs: dict[str, str | None] = {}
    for is_move, protocol, ident in steps:
        if is_move and protocol in plain.known:
            compact.move(protocol, ident)
            plain.move(protocol, ident)
        elif protocol not in plain.known:
            compact.add(protocol, ident)
            plain.add(protocol, ident)
        else:
            continue
        pairs[protocol] = ts_key(ident)
        _agree(compact, plain)
    # The journal gives (protocol, ts_key) in claim order; a reload keeps twins in that order
    # only for claims never moved, so compare the reload with a plain reload.
    reloaded, plain_reloaded = IdentityIndex.load(pairs.items()), _PlainIndex()
    for protocol, key in pairs.items():
        plain_reloaded.add(protocol, key_ident(key))
    _agree(reloaded, plain_reloaded)


def test_identity_index_of_50000_requests_is_small() -> None:
    """The daemon keeps the index between ticks: about 25 bytes a request, not ~160."""
    import tracemalloc

    pairs = [(protocol_for(2026, n), ts_key(46000.0 + n / 1440)) for n in range(1, 50_001)]
    tracemalloc.start()
    try:
        index = IdentityIndex.load(iter(pairs))
        size, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(index.known) == 50_000
    assert index.by_ts[46000.0 + 7 / 1440] == "BV-2026-000007"
    assert size < 50_000 * 40, f"{size / 2**20:.1f} MiB"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _PROTOCOLS, st.integers(1, 60)), max_size=40))
def test_row_map_agrees_with_a_dict(steps: list[tuple[bool, str, int]]) -> None:
    """Where each protocol sits: placing, moving and removing give a dict's answers, and a
    row is "placed" exactly while some protocol sits on it (another year's protocol of the
    same number included)."""
    rows, plain = RowMap(), dict[str, int]()
    for remove, protocol, row in steps:
        if remove and protocol in plain:
            del rows[protocol], plain[protocol]
        elif not remove:
            rows[protocol] = row
            plain[protocol] = row
        assert len(rows) == len(plain)
        assert dict(rows.items()) == plain and sorted(rows) == sorted(plain)
        for p in plain:
            assert p in rows and rows[p] == plain[p] and rows.get(p) == plain[p]
        assert rows.get("BV-2031-000001") is None and "BV-2031-000001" not in rows
        for r in range(0, 62):
            assert rows.holds_row(r) == (r in plain.values()), r


@given(st.lists(st.one_of(
    st.none(), st.just(""), st.floats(allow_nan=False), st.integers(-(2**60), 2**60),
    st.booleans(), _PROTOCOLS, st.sampled_from(["Confirmado", "CANCELAR", " BV-2026-000001"]),
)))
def test_packed_column_gives_back_what_was_read(values: list[object]) -> None:
    """Every cell reads back equal and of the same type (an int stays an int: the journal's
    timestamp keys are the JSON of the cell as read); empty cells read as ""."""
    packed = PackedColumn(values)
    assert len(packed) == len(values)
    assert packed == ["" if v is None else v for v in values]
    for i, v in enumerate(values):
        got = packed[i]
        want = "" if v is None else v
        assert got == want and type(got) is type(want), (i, v, got)


@given(
    st.lists(st.one_of(st.just(""), st.none(), st.floats(0, 1e6), _PROTOCOLS, st.just("Confirmado"))),
    st.lists(st.tuples(st.booleans(), st.integers(0, 30), st.sampled_from([1.5, "x", ""]))),
)
def test_column_cells_over_a_packed_column_answer_as_over_the_list(
    values: list[object], changes: list[tuple[bool, int, object]]
) -> None:
    """The tick's columns are packed; with the tail's cells set over them and rows deleted,
    every answer (get, in, iteration, len) is the one the plain list gives."""
    plain, packed = ColumnCells(list(values)), ColumnCells(PackedColumn(values))
    for delete, row, value in changes:
        for cells in (plain, packed):
            if delete:
                cells.pop(row, None)
            else:
                cells[row] = value
        assert dict(packed) == dict(plain) and len(packed) == len(plain)
        assert all(packed.get(r, "-") == plain.get(r, "-") for r in range(0, 35))
