"""After the booking (DESIGN §7): every staff choice in the sheet and every change in Google Calendar reaches the calendar, the citizen and the sheet once; a further tick changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.service.harness import BAHIA, Harness, serial
from worker import texts

MON = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)  # a Monday


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path, MON)


def booked(h: Harness, **kw: object) -> tuple[int, str]:
    row = h.submit(MON - timedelta(minutes=30), **kw)  # type: ignore[arg-type]
    h.tick()
    assert h.cell(row, "Situação") == "Agendado"
    return row, str(h.cell(row, "Protocolo"))


def staff_choose(h: Harness, row: int, value: str, column: str = "Situação") -> None:
    h.sheet.set_cell(row, h.col(column), value)


def kinds(h: Harness) -> list[str]:
    return [m.spec.kind for m in h.mailer.sent]


def settle(h: Harness) -> None:
    """A further tick changes nothing: no e-mail, no event change, no write."""
    sent, events = len(h.mailer.sent), [(e.spec.start, e.status) for e in h.calendar.all_events()]
    h.advance(minutes=1)
    h.tick()
    h.sheet.calls.clear()
    h.advance(minutes=1)
    h.tick()
    assert len(h.mailer.sent) == sent
    assert [(e.spec.start, e.status) for e in h.calendar.all_events()] == events
    assert [c[0] for c in h.sheet.calls] == ["read"]


def test_cancelar_deletes_the_event_tells_the_citizen_once_and_is_final(h: Harness) -> None:
    row, protocol = booked(h)
    staff_choose(h, row, "cancelar ")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Cancelado"
    assert [e.status for e in h.calendar.all_events()] == ["cancelled"]
    assert kinds(h) == ["confirmation", "cancellation"]
    cancel = h.mailer.sent[-1].spec
    assert cancel.subject == f"Balcão Virtual – Atendimento cancelado – Protocolo {protocol}"
    ics = cancel.attachments[0].data.decode()
    assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics
    settle(h)
    # Cancelado is final: a new time or Remarcar is refused, nothing is booked again.
    staff_choose(h, row, "Remarcar")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Cancelado"
    assert h.cell(row, "Observação") == texts.REASON_CANCELLED_FINAL
    assert len(h.calendar.all_events()) == 1 and kinds(h)[-1] == "cancellation"


def test_cancelar_before_any_email_tells_nobody(h: Harness) -> None:
    h.calendar.add_busy("primary", MON, MON + timedelta(days=30))  # no slot: flagged, ack sent
    row = h.submit(MON - timedelta(minutes=30), email="x@example.com")
    h.tick()
    assert kinds(h) == ["ack"]
    staff_choose(h, row, "Cancelar")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Cancelado"
    assert kinds(h) == ["ack", "cancellation"]  # the acknowledgement went out: told


def test_remarcar_in_automatic_mode_patches_the_same_event_and_sends_one_new_confirmation(
    h: Harness,
) -> None:
    row, protocol = booked(h)
    event = h.calendar.all_events()[0]
    old_start, link = event.spec.start, event.meet_link
    staff_choose(h, row, "Remarcar")
    h.advance(minutes=1)
    h.tick()
    events = h.calendar.all_events()
    assert len(events) == 1 and events[0].spec.start != old_start
    assert events[0].meet_link == link  # the Meet link is kept
    assert h.cell(row, "Situação") == "Agendado"
    assert h.cell(row, "Atendimento") == pytest.approx(serial(events[0].spec.start))
    assert kinds(h) == ["confirmation", "confirmation"]
    new = h.mailer.sent[-1].spec
    assert "remarcado" in new.subject and protocol in new.subject
    assert new.message_id != h.mailer.sent[0].spec.message_id
    first_ics, second_ics = (m.spec.attachments[0].data.decode() for m in h.mailer.sent)
    uid = next(line for line in first_ics.splitlines() if line.startswith("UID"))
    assert uid in second_ics and "SEQUENCE:2" in second_ics
    settle(h)


def test_remarcar_in_manual_mode_asks_for_the_new_time(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON, scheduling__mode="manual")
    row = h.submit(MON - timedelta(minutes=30))
    h.tick()
    h.sheet.set_cell(row, h.col("Atendimento"), serial(datetime(2028, 3, 8, 14, 0, tzinfo=BAHIA)))
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado"
    staff_choose(h, row, "Remarcar")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado"
    assert h.cell(row, "Observação") == texts.REASON_TYPE_NEW_TIME
    assert kinds(h) == ["ack", "confirmation"]


def test_a_time_typed_in_atendimento_moves_a_booked_appointment(h: Harness) -> None:
    row, _ = booked(h)
    new = datetime(2028, 3, 8, 15, 0, tzinfo=BAHIA)  # Wednesday 15:00
    h.sheet.set_cell(row, h.col("Atendimento"), serial(new))
    h.advance(minutes=1)
    h.tick()
    assert [e.spec.start for e in h.calendar.all_events()] == [new]
    assert h.cell(row, "Situação") == "Agendado" and kinds(h) == ["confirmation", "confirmation"]
    settle(h)


def test_an_invalid_typed_time_moves_nothing_and_says_why(h: Harness) -> None:
    row, _ = booked(h)
    before = h.cell(row, "Atendimento")
    sunday = datetime(2028, 3, 12, 10, 0, tzinfo=BAHIA)
    h.sheet.set_cell(row, h.col("Atendimento"), serial(sunday))
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Atendimento") == pytest.approx(before)  # the time in force again
    assert str(h.cell(row, "Observação")).endswith(": 12/03/2028 10:00")
    assert kinds(h) == ["confirmation"]
    settle(h)


def test_realizado_is_recorded_and_final(h: Harness) -> None:
    row, _ = booked(h)
    staff_choose(h, row, "realizado")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Realizado" and kinds(h) == ["confirmation"]
    settle(h)


def test_nao_compareceu_after_the_start_invites_the_citizen_to_book_again(h: Harness) -> None:
    row, protocol = booked(h)
    start = h.calendar.all_events()[0].spec.start
    h.now = start + timedelta(minutes=40)
    staff_choose(h, row, "Nao compareceu")
    h.tick()
    assert h.cell(row, "Situação") == "Não compareceu"
    assert kinds(h) == ["confirmation", "no-show"]
    assert h.mailer.sent[-1].spec.subject == (
        f"Balcão Virtual – Atendimento não realizado – Protocolo {protocol}")
    settle(h)


def test_nao_compareceu_before_the_start_is_refused(h: Harness) -> None:
    row, _ = booked(h)
    staff_choose(h, row, "Não compareceu")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado"
    assert h.cell(row, "Observação") == "Ação não aplicável: solicitação Agendado"
    assert kinds(h) == ["confirmation"]


def test_any_action_on_a_duplicate_is_refused(h: Harness) -> None:
    booked(h)
    dup = h.submit(MON - timedelta(minutes=20))
    h.tick()
    assert h.cell(dup, "Situação") == "Duplicado"
    staff_choose(h, dup, "Cancelar")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(dup, "Situação") == "Duplicado"
    assert h.cell(dup, "Observação") == "Ação não aplicável: solicitação Duplicado"


def test_an_event_moved_in_google_calendar_reaches_the_sheet_and_the_citizen(h: Harness) -> None:
    row, _ = booked(h)
    ev = h.calendar.all_events()[0]
    new = datetime(2028, 3, 9, 9, 0, tzinfo=BAHIA)
    h.calendar.reschedule_by_staff("primary", ev.spec.event_id, new, new + timedelta(minutes=30))
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Atendimento") == pytest.approx(serial(new))
    assert h.cell(row, "Situação") == "Agendado"
    assert kinds(h) == ["confirmation", "confirmation"]
    settle(h)


def test_an_event_deleted_in_google_calendar_after_the_confirmation_cancels(h: Harness) -> None:
    row, _ = booked(h)
    ev = h.calendar.all_events()[0]
    h.calendar.cancel_by_staff("primary", ev.spec.event_id)
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Cancelado"
    assert kinds(h) == ["confirmation", "cancellation"]
    settle(h)


def test_a_retitled_event_changes_nothing(h: Harness) -> None:
    row, _ = booked(h)
    ev = h.calendar.all_events()[0]
    h.calendar.retitle_by_staff("primary", ev.spec.event_id, "Reunião")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado" and kinds(h) == ["confirmation"]


def test_an_idle_tick_reads_the_sheet_once_and_each_calendar_once(h: Harness) -> None:
    booked(h)
    h.advance(minutes=1)
    h.tick()
    h.sheet.calls.clear()
    h.advance(minutes=1)
    h.tick()
    assert [c[0] for c in h.sheet.calls] == ["read"]


def test_a_row_staff_change_between_the_read_and_the_write_is_not_overwritten(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = booked(h)
    row = h.submit(MON - timedelta(minutes=10), email="bruno@example.com", name="Bruno")
    real_busy = h.calendar.busy

    def busy(*args: object, **kw: object) -> object:
        # Staff choose Cancelar on the new row after balcao read the sheet, before it writes.
        h.sheet.set_cell(row, h.col("Situação"), "Cancelar")
        monkeypatch.setattr(h.calendar, "busy", real_busy)
        return real_busy(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(h.calendar, "busy", busy)
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Cancelar"  # staff's choice is not overwritten
    assert h.cell(first, "Situação") == "Agendado"
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Cancelado"
    assert kinds(h).count("cancellation") == 1
    settle(h)


def test_an_event_moved_to_another_attendant_calendar_is_recorded_and_nothing_is_sent(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, MON, scheduling__calendars=["primary", "atendente2"])
    row, protocol = booked(h)
    ev = h.calendar.all_events()[0]
    h.calendar.move_by_staff(ev.spec.calendar_id, ev.spec.event_id, "atendente2")
    h.advance(minutes=1)
    h.tick()
    rec = h.journal.get(protocol)
    assert rec is not None and rec.calendar_id == "atendente2"
    assert h.cell(row, "Situação") == "Agendado" and kinds(h) == ["confirmation"]
    # Later changes are read from its new calendar: a cancel deletes it there.
    staff_choose(h, row, "Cancelar")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Cancelado" and kinds(h) == ["confirmation", "cancellation"]


def test_an_appointment_on_a_day_that_became_closed_is_flagged_once(h: Harness) -> None:
    from worker.model import Closure
    from worker.officetime import OfficeCalendar

    row, _ = booked(h)
    day = h.calendar.all_events()[0].spec.start.date()
    h.deps.office = OfficeCalendar(extra=[Closure(day, "Luto oficial")])
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Requer atenção"
    assert h.cell(row, "Observação") == texts.REASON_CLOSED_DAY
    assert len(h.calendar.all_events()) == 1 and kinds(h) == ["confirmation"]  # nothing moves
    staff_choose(h, row, "Agendado")  # staff keep it: their last word
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado"
    settle(h)
