"""Identity: protocols, event ids and Message-IDs, the column view of a sheet read."""

from __future__ import annotations

import pytest

from worker.adapters.a1 import col_letter
from worker.identity import ColumnCells, event_id, mail_id, protocol_for, protocol_seq


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
    from worker.identity import ShownCells

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
