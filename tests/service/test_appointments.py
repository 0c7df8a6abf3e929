"""Service tests of appointments: Meet pending, 409, staff deletions, manual mode, no slot."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from worker.adapters.memory import MemoryCalendar
from worker.identity import event_id

from .harness import BAHIA, Harness, serial

MON = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)


def kinds(h: Harness, protocol: str) -> list[str]:
    return [m.spec.kind for m in h.mailer.sent if protocol in m.spec.subject]


def test_meet_pending_for_several_reads_sends_ack_then_confirmation_with_the_link(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, MON, scheduling__meet_poll_gets=0)
    h.calendar = h.deps.calendar = MemoryCalendar(meet_pending_reads=3)
    row = h.submit(MON - timedelta(hours=1))
    h.tick()
    protocol = h.cell(row, "Protocolo")
    assert h.cell(row, "Situação") == "Pendente"
    assert "Meet" in h.cell(row, "Observação")
    assert kinds(h, protocol) == ["ack"]  # it waits past the tick: acknowledged once
    for _ in range(5):
        h.advance(minutes=1)
        h.tick()
    assert h.cell(row, "Situação") == "Agendado"
    assert kinds(h, protocol) == ["ack", "confirmation"]
    link = h.cell(row, "Link ou canal")
    assert link.startswith("https://meet.google.com/")
    assert link in h.mailer.sent[-1].spec.text
    assert len(h.calendar.all_events()) == 1


def test_meet_failure_is_flagged_for_staff_without_a_confirmation(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON)
    h.calendar = h.deps.calendar = MemoryCalendar(meet_pending_reads=1, meet_outcome="failure")
    row = h.submit(MON - timedelta(hours=1))
    h.tick()
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Requer atenção"
    assert "Meet" in h.cell(row, "Observação")
    assert all(m.spec.kind != "confirmation" for m in h.mailer.sent)


def test_event_that_already_exists_409_counts_as_created(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON)
    row = h.submit(MON - timedelta(hours=1))
    # A crash after Google created the event: the journal never learnt it. The same
    # deterministic id makes the retried insert a 409 that is read back.
    for _ in range(h.s.retry.attempts):  # every retry of the write-back fails too
        h.sheet.fail_next("write", __import__("worker.model", fromlist=["AdapterError"]).AdapterError(
            "lost", True, outcome_unknown=True))
    with pytest.raises(Exception):  # noqa: B017 - the tick fails as a whole at the write
        h.tick()
    protocol = h.journal.all()[0].protocol
    assert len(h.calendar.all_events()) == 1
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Protocolo") == protocol
    assert len(h.calendar.all_events()) == 1
    assert kinds(h, protocol) == ["confirmation"]
    assert h.calendar.all_events()[0].spec.event_id == event_id(h.s.form.spreadsheet_id, protocol)


def test_event_deleted_by_staff_is_flagged_and_never_recreated(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON, scheduling__meet_poll_gets=0)
    h.calendar = h.deps.calendar = MemoryCalendar(meet_pending_reads=2)
    row = h.submit(MON - timedelta(hours=1))
    h.tick()
    rec = h.journal.all()[0]
    assert rec.event_id is not None and rec.calendar_id is not None
    h.calendar.cancel_by_staff(rec.calendar_id, rec.event_id)
    for _ in range(3):
        h.advance(minutes=1)
        h.tick()
    assert h.cell(row, "Situação") == "Requer atenção"
    assert "excluído" in h.cell(row, "Observação")
    assert len(h.calendar.all_events()) == 1
    assert all(m.spec.kind != "confirmation" for m in h.mailer.sent)


def test_no_slot_within_the_horizon_flags_and_acknowledges(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON, scheduling__horizon_days=2)
    cal = h.s.scheduling.calendars[0]
    h.calendar.add_busy(cal, MON, MON + timedelta(days=3))
    row = h.submit(MON - timedelta(hours=1))
    h.tick()
    assert h.cell(row, "Situação") == "Requer atenção"
    assert h.cell(row, "Observação") == "Sem horário disponível"
    protocol = h.cell(row, "Protocolo")
    assert kinds(h, protocol) == ["ack"]
    # Capacity frees up later: balcao books it by itself, confirmation only.
    h.calendar.busy_extra[cal].clear()
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado"
    assert kinds(h, protocol) == ["ack", "confirmation"]


def test_slots_never_fall_on_carnival_or_before_ash_wednesday_afternoon(tmp_path: Path) -> None:
    fri = datetime(2028, 2, 25, 16, 0, tzinfo=BAHIA)
    h = Harness(tmp_path, fri, scheduling__max_per_day=2)
    rows = [h.submit(fri - timedelta(minutes=30 - i), email=f"p{i}@example.com") for i in range(4)]
    h.tick()
    starts = sorted(
        datetime.fromisoformat(r.slot_start).astimezone(BAHIA)
        for r in h.journal.all() if r.slot_start
    )
    assert len(starts) == len(rows)
    for start in starts:
        assert start.date() not in (datetime(2028, 2, 28).date(), datetime(2028, 2, 29).date())
        if start.date() == datetime(2028, 3, 1).date():
            assert start.time() >= time(14, 0)


def test_two_attendants_share_the_load(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON, scheduling__calendars=("ana@cartorio.example", "bia@cartorio.example"))
    for i in range(4):
        h.submit(MON - timedelta(minutes=40 - i), email=f"p{i}@example.com")
    h.tick()
    per_cal: dict[str, int] = {}
    for ev in h.calendar.all_events():
        per_cal[ev.spec.calendar_id] = per_cal.get(ev.spec.calendar_id, 0) + 1
    assert per_cal == {"ana@cartorio.example": 2, "bia@cartorio.example": 2}


def test_manual_mode_acknowledges_then_books_the_time_staff_typed(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON, scheduling__mode="manual")
    row = h.submit(MON - timedelta(hours=1))
    h.tick()
    protocol = h.cell(row, "Protocolo")
    assert h.cell(row, "Situação") == "Recebido"
    assert kinds(h, protocol) == ["ack"] and h.calendar.all_events() == []
    wanted = datetime(2028, 3, 7, 10, 15, tzinfo=BAHIA)
    h.sheet.set_cell(row, h.col("Atendimento"), serial(wanted))  # staff type 07/03/2028 10:15
    h.advance(minutes=2)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado"
    assert kinds(h, protocol) == ["ack", "confirmation"]
    event = h.calendar.all_events()[0]
    assert event.spec.start == wanted
    assert "07/03/2028" in h.mailer.sent[-1].spec.text and "10:15" in h.mailer.sent[-1].spec.text


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        (datetime(2028, 3, 7, 18, 0, tzinfo=BAHIA), "Fora do horário"),
        (datetime(2028, 4, 14, 10, 0, tzinfo=BAHIA), "Fora do horário"),  # Good Friday
        (datetime(2028, 3, 11, 10, 0, tzinfo=BAHIA), "Fora do horário"),  # a Saturday
        (datetime(2028, 3, 6, 8, 0, tzinfo=BAHIA), "passado"),
        ("amanhã às 10h", "não reconhecida"),
    ],
)
def test_manual_mode_rejects_a_bad_entry_with_its_reason(
    tmp_path: Path, typed: object, reason: str
) -> None:
    h = Harness(tmp_path, MON, scheduling__mode="manual")
    row = h.submit(MON - timedelta(hours=1))
    h.tick()
    value = serial(typed) if isinstance(typed, datetime) else typed
    h.sheet.set_cell(row, h.col("Atendimento"), value)
    h.advance(minutes=2)
    h.tick()
    assert h.cell(row, "Situação") == "Requer atenção"
    assert reason in h.cell(row, "Observação")
    assert h.calendar.all_events() == []
    assert h.cell(row, "Atendimento") == value  # the staff's entry is never overwritten
