"""Pure decisions of a tick: protocols, event ids, the column view of a sheet read."""

from __future__ import annotations

import pytest

from worker.plan import ColumnCells, col_letter, event_id, protocol_for, protocol_seq


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
    eid = event_id("BV-2026-000013", 0)
    assert eid == event_id("BV-2026-000013", 0) != event_id("BV-2026-000013", 1)
    assert 5 <= len(eid) <= 1024 and set(eid) <= set("0123456789abcdefghijklmnopqrstuv")
