"""The memory fakes behave as the Google services they stand for (trimming, grid, 409, Meet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from worker.adapters.memory import (
    FixedClock,
    ManualClock,
    MemoryCalendar,
    MemoryMailer,
    MemorySheet,
    parse_a1,
    trim,
)
from worker.model import AdapterError, EmailSpec, EventSpec
from worker.ports import CellWrite

BAHIA = ZoneInfo("America/Bahia")
HEADER = ["Carimbo de data/hora", "Endereço de e-mail", "Nome completo"]


def spec(event_id: str = "abc12345", *, meet: bool = True, hour: int = 9) -> EventSpec:
    start = datetime(2028, 3, 7, hour, 0, tzinfo=BAHIA)
    return EventSpec(
        event_id=event_id,
        calendar_id="agenda@example.org",
        protocol="BV-2028-000001",
        summary="Atendimento BV-2028-000001 (Ana)",
        description="",
        start=start,
        end=start + timedelta(minutes=30),
        timezone="America/Bahia",
        meet=meet,
    )


def mail(message_id: str = "<ack.1@balcao.example.org>", to: str = "ana@example.com") -> EmailSpec:
    return EmailSpec(
        to=to,
        subject="Recebemos sua solicitação",
        text="Olá",
        html="<p>Olá</p>",
        message_id=message_id,
        kind="ack",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A1", (1, 1, 1, 1)),
        ("1:1", (1, 1, 1, None)),
        ("A2:A", (2, 1, None, 1)),
        ("A120:Z", (120, 1, None, 26)),
        ("B3:AA7", (3, 2, 7, 27)),
        ("A:A", (1, 1, None, 1)),
    ],
)
def test_parse_a1_reads_open_and_closed_ranges(text: str, expected: tuple) -> None:
    assert parse_a1(text) == expected


def test_trim_drops_trailing_empties_and_keeps_inner_empty_rows() -> None:
    rows = [["a", None, "", None], [None, None], ["", "b", None], [None], []]
    assert trim(rows) == [["a"], [], ["", "b"]]


def test_sheet_read_is_ragged_like_google() -> None:
    sheet = MemorySheet([HEADER, [45741.6, "ana@example.com"], [], [45742.1, "b@x.org", "Bia"]])
    header, timestamps, tail = sheet.read(["1:1", "A2:A", "A2:C"])
    assert header == [HEADER]
    assert timestamps == [[45741.6], [], [45742.1]]
    assert tail == [[45741.6, "ana@example.com"], [], [45742.1, "b@x.org", "Bia"]]
    assert sheet.calls == [("read", ("1:1", "A2:A", "A2:C"))]


def test_sheet_has_the_grid_of_a_new_google_sheet_and_refuses_outside_it() -> None:
    sheet = MemorySheet([HEADER])
    info = sheet.info()
    assert (info.row_count, info.column_count) == (1000, 26)
    with pytest.raises(AdapterError) as err:
        sheet.write([CellWrite(2, 27, "x")])
    assert err.value.status == 400 and not err.value.transient
    assert "exceeds grid limits" in err.value.message
    with pytest.raises(AdapterError):
        sheet.read(["A1:AB"])


def test_add_columns_widens_the_grid_writes_titles_and_formats_dates() -> None:
    sheet = MemorySheet([HEADER], column_count=3)
    sheet.add_columns(["Protocolo", "Situação", "Prazo de resposta"], 4, [6])
    assert sheet.info().column_count == 6
    assert sheet.header() == [*HEADER, "Protocolo", "Situação", "Prazo de resposta"]
    assert sheet.date_columns == {6}
    sheet.write([CellWrite(2, 6, 46000.5)])
    assert sheet.cell(2, 6) == 46000.5


def test_write_is_raw_and_empty_string_clears_a_cell() -> None:
    sheet = MemorySheet([HEADER, [1.0, "a@b.org", "=HYPERLINK(1)"]])
    sheet.write([CellWrite(2, 3, "=1+1"), CellWrite(2, 2, "")])
    assert sheet.cell(2, 3) == "=1+1"
    assert sheet.read(["A2:C"]) == [[[1.0, "", "=1+1"]]]


def test_staff_sort_between_read_and_write_happens_before_the_write_applies() -> None:
    sheet = MemorySheet([HEADER, [2.0, "b@x.org"], [1.0, "a@x.org"]])
    sheet.before_next_write(lambda s: s.sort_rows(1))
    sheet.write([CellWrite(2, 3, "for b")])
    assert sheet.read(["A2:C"]) == [[[1.0, "a@x.org", "for b"], [2.0, "b@x.org"]]]


def test_insert_column_and_delete_row_move_cells_as_in_sheets() -> None:
    sheet = MemorySheet([HEADER, [1.0, "a@x.org", "Ana"], [2.0, "b@x.org", "Bia"]])
    sheet.insert_column(2, "CPF")
    assert sheet.header() == ["Carimbo de data/hora", "CPF", "Endereço de e-mail", "Nome completo"]
    assert sheet.column_of("Nome completo") == 4
    sheet.delete_row(2)
    assert sheet.values()[1] == [2.0, "", "b@x.org", "Bia"]
    assert sheet.append_row([3.0, "", "c@x.org"]) == 3


def test_fail_next_raises_once_and_after_effect_applies_first() -> None:
    sheet = MemorySheet([HEADER])
    boom = AdapterError("sheets: HTTP 500", True, status=500)
    sheet.fail_next("write", boom)
    with pytest.raises(AdapterError):
        sheet.write([CellWrite(2, 1, "x")])
    assert sheet.cell(2, 1) is None
    sheet.fail_next("write", boom, after_effect=True)
    with pytest.raises(AdapterError):
        sheet.write([CellWrite(2, 1, "x")])
    assert sheet.cell(2, 1) == "x"
    sheet.write([CellWrite(2, 1, "y")])
    assert sheet.count("write") == 3
    with pytest.raises(ValueError):
        sheet.fail_next("no_such_method", boom)


def test_status_tab_is_kept_apart_from_the_responses() -> None:
    sheet = MemorySheet([HEADER])
    sheet.write_status_tab("balcao", [["Último ciclo", 46000.5]])
    assert sheet.status_tabs == {"balcao": [["Último ciclo", 46000.5]]}
    assert sheet.values() == [HEADER]


def test_calendar_second_insert_reads_the_event_back() -> None:
    cal = MemoryCalendar()
    first = cal.create_event(spec())
    again = cal.create_event(spec())
    assert first == again
    assert first.meet_status == "success" and first.meet_link
    assert len(cal.all_events()) == 1


def test_calendar_never_recreates_an_event_staff_deleted() -> None:
    cal = MemoryCalendar()
    cal.create_event(spec())
    cal.cancel_by_staff("agenda@example.org", "abc12345")
    result = cal.create_event(spec())
    assert result.status == "cancelled"
    assert cal.busy(["agenda@example.org"], spec().start, spec().end) == {"agenda@example.org": []}
    # deleting again is done, as Google's 410
    cal.delete_event("agenda@example.org", "abc12345")


def test_calendar_meet_stays_pending_for_the_configured_reads() -> None:
    cal = MemoryCalendar(meet_pending_reads=2)
    assert cal.create_event(spec()).meet_status == "pending"
    assert cal.get_event("agenda@example.org", "abc12345").meet_status == "pending"  # type: ignore[union-attr]
    done = cal.get_event("agenda@example.org", "abc12345")
    assert done is not None and done.meet_status == "success" and done.meet_link


def test_calendar_whatsapp_event_has_no_conference_and_unknown_id_is_none() -> None:
    cal = MemoryCalendar()
    result = cal.create_event(spec("wpp12345", meet=False))
    assert (result.meet_status, result.meet_link) == (None, None)
    assert cal.get_event("agenda@example.org", "nothere1") is None


def test_calendar_busy_merges_and_clips_events_and_staff_meetings() -> None:
    cal = MemoryCalendar(calendars=["agenda@example.org"])
    cal.create_event(spec("ev0900000", hour=9))
    cal.add_busy(
        "agenda@example.org",
        datetime(2028, 3, 7, 9, 15, tzinfo=BAHIA),
        datetime(2028, 3, 7, 10, 0, tzinfo=BAHIA),
    )
    window = (datetime(2028, 3, 7, 9, 20, tzinfo=BAHIA), datetime(2028, 3, 7, 17, tzinfo=BAHIA))
    assert cal.busy(["agenda@example.org"], *window) == {
        "agenda@example.org": [(window[0], datetime(2028, 3, 7, 10, 0, tzinfo=BAHIA))]
    }
    with pytest.raises(AdapterError):
        cal.busy(["other@example.org"], *window)


def test_calendar_find_events_includes_cancelled_ones() -> None:
    cal = MemoryCalendar()
    cal.create_event(spec("aaa11111"))
    cal.create_event(spec("bbb22222"))
    cal.cancel_by_staff("agenda@example.org", "aaa11111")
    found = cal.find_events("agenda@example.org", "BV-2028-000001")
    assert sorted((e.event_id, e.status) for e in found) == [
        ("aaa11111", "cancelled"),
        ("bbb22222", "confirmed"),
    ]


def test_mailer_records_every_send_and_finds_it_by_message_id() -> None:
    mailer = MemoryMailer()
    first = mailer.send(mail())
    mailer.send(mail())
    assert mailer.message_ids() == ["<ack.1@balcao.example.org>"] * 2
    assert mailer.find_sent("<ack.1@balcao.example.org>") == first
    assert mailer.find_sent("<other@balcao.example.org>") is None
    assert mailer.sent[0].message["Auto-Submitted"] == "auto-generated"


def test_mailer_refuses_header_injection_as_a_permanent_error() -> None:
    mailer = MemoryMailer()
    with pytest.raises(AdapterError) as err:
        mailer.send(mail(to="ana@example.com\r\nBcc: x@evil.org"))
    assert not err.value.transient
    assert mailer.sent == []


def test_mailer_lost_answer_still_sends() -> None:
    mailer = MemoryMailer(can_search_sent=False)
    lost = AdapterError("gmail: connection", True, outcome_unknown=True)
    mailer.fail_next("send", lost, after_effect=True)
    with pytest.raises(AdapterError) as err:
        mailer.send(mail())
    assert err.value.outcome_unknown
    assert len(mailer.sent) == 1
    assert not mailer.can_search_sent
    with pytest.raises(AdapterError):
        mailer.find_sent("<ack.1@balcao.example.org>")


def test_clocks_are_aware_and_move_only_by_hand() -> None:
    at = datetime(2028, 3, 6, 10, 15, tzinfo=BAHIA)
    assert FixedClock(at).now() == at
    clock = ManualClock(at)
    assert clock.advance(minutes=5) == at + timedelta(minutes=5)
    clock.set(datetime(2028, 1, 1, tzinfo=UTC))
    assert clock.now().year == 2028
    with pytest.raises(ValueError):
        FixedClock(datetime(2028, 1, 1))
