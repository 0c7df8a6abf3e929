"""Service tests of intake and booking with the memory adapters, time driven by hand."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from worker.identity import PROTOCOL_RE
from worker.model import AdapterError, BacklogRefusedError, HeadersMissingError

from .harness import BAHIA, HEADER, Harness, answers, serial

MON = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)  # a full Monday


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path, MON)


def statuses(h: Harness) -> list[str]:
    col = h.col("Situação")
    return [h.sheet.cell(r, col) for r in range(2, len(h.sheet.grid) + 1)]


def test_valid_request_is_booked_and_confirmed_with_one_email(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1))
    report = h.tick()
    assert report.ok and report.new_requests == 1 and report.events_created == 1
    assert len(h.mailer.sent) == 1
    spec = h.mailer.sent[0].spec
    assert spec.kind == "confirmation" and spec.to == "ana.souza@example.com"
    assert PROTOCOL_RE.match(h.cell(row, "Protocolo"))
    assert h.cell(row, "Situação") == "Agendado"
    event = h.calendar.all_events()[0]
    assert h.cell(row, "Link ou canal") == h.calendar._read(event).meet_link
    assert h.cell(row, "Link ou canal") in spec.text
    # The deadline is Tuesday 09:00 (Monday 09:00 + 24 h), written as a date serial.
    assert h.cell(row, "Prazo de resposta") == pytest.approx(
        serial(datetime(2028, 3, 7, 9, 0, tzinfo=BAHIA))
    )


def test_a_second_tick_sends_nothing_and_writes_nothing(h: Harness) -> None:
    h.submit(MON - timedelta(hours=1))
    h.submit(MON - timedelta(minutes=50), email="bruno@example.org", name="Bruno Lima")
    h.tick()
    grid_before = [list(r) for r in h.sheet.grid]
    h.advance(minutes=5)
    report = h.tick()
    assert report.new_requests == 0 and report.cells_written == 0
    assert len(h.mailer.sent) == 2 and len(h.calendar.all_events()) == 2
    assert h.sheet.grid == grid_before


def test_whatsapp_request_gets_no_conference_and_shows_whatsapp(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1), channel="Ligação de vídeo pelo WhatsApp")
    h.tick()
    assert h.cell(row, "Link ou canal") == "WhatsApp"
    event = h.calendar.all_events()[0]
    assert not event.spec.meet
    assert "wa.me/5571998765432" in event.spec.description
    assert "+55 71 9 8823-0376" in h.mailer.sent[0].spec.text


def test_invalid_rows_are_flagged_with_reasons_and_get_no_email(h: Harness) -> None:
    bad_mail = h.submit(MON - timedelta(hours=1), email="maria.silva@gmail")
    no_consent = h.submit(MON - timedelta(minutes=59), email="c@example.com", consent="")
    no_ddd = h.submit(
        MON - timedelta(minutes=58), email="d@example.com",
        channel="Ligação de vídeo pelo WhatsApp", phone="98823-0376",
    )
    h.tick()
    assert h.mailer.sent == []
    assert h.calendar.all_events() == []
    for row in (bad_mail, no_consent, no_ddd):
        assert h.cell(row, "Situação") == "Requer atenção"
        assert PROTOCOL_RE.match(h.cell(row, "Protocolo"))
    assert h.cell(bad_mail, "Observação").startswith("E-mail inválido")
    assert h.cell(no_consent, "Observação") == "Falta o aceite da política de privacidade"
    assert "Telefone" in h.cell(no_ddd, "Observação")


def test_hand_typed_row_with_text_timestamp_is_flagged_not_lost(h: Harness) -> None:
    row = h.sheet.append_row(["ontem à tarde", *answers()])
    h.tick()
    assert h.cell(row, "Situação") == "Requer atenção"
    assert "Carimbo" in h.cell(row, "Observação")
    assert PROTOCOL_RE.match(h.cell(row, "Protocolo"))


def test_double_submission_becomes_duplicate_with_no_email(h: Harness) -> None:
    first = h.submit(MON - timedelta(hours=1))
    second = h.submit(MON - timedelta(hours=1) + timedelta(minutes=2))
    h.tick()
    assert h.cell(second, "Situação") == "Duplicado"
    assert h.cell(first, "Protocolo") in h.cell(second, "Observação")
    assert len(h.mailer.sent) == 1


def test_more_open_requests_than_allowed_per_address_get_no_email(h: Harness) -> None:
    rows = [
        h.submit(MON - timedelta(hours=2) + timedelta(minutes=15 * i), subject=f"assunto {i}")
        for i in range(5)
    ]
    h.tick()
    assert [h.cell(r, "Situação") for r in rows].count("Agendado") == 3
    assert [h.cell(r, "Situação") for r in rows[3:]] == ["Requer atenção", "Requer atenção"]
    assert len(h.mailer.sent) == 3


def test_formula_looking_text_never_reaches_the_sheet_as_a_formula(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1), email='=HYPERLINK("http://x")')
    h.tick()
    for title in ("Protocolo", "Situação", "Link ou canal", "Observação"):
        value = h.cell(row, title)
        assert not (isinstance(value, str) and value[:1] in "=+-@"), (title, value)


def test_sort_by_staff_keeps_statuses_on_their_own_rows(h: Harness) -> None:
    for i in range(4):
        h.submit(MON - timedelta(hours=2) + timedelta(minutes=10 * i), email=f"p{i}@example.com",
                 name=f"Pessoa {i}")
    h.tick()
    before = {h.cell(r, "Endereço de e-mail"): h.cell(r, "Protocolo") for r in range(2, 6)}
    h.sheet.sort_rows(h.col("Endereço de e-mail"), descending=True)
    h.submit(MON - timedelta(minutes=5), email="new@example.com", name="Nova")
    h.advance(minutes=1)
    h.tick()
    after = {h.cell(r, "Endereço de e-mail"): h.cell(r, "Protocolo") for r in range(2, 7)}
    assert {k: after[k] for k in before} == before
    assert PROTOCOL_RE.match(after["new@example.com"])
    assert len(set(after.values())) == 5


def test_sort_between_read_and_write_is_repaired_next_tick(h: Harness) -> None:
    for i in range(3):
        h.submit(MON - timedelta(hours=2) + timedelta(minutes=10 * i), email=f"p{i}@example.com")
    h.sheet.before_next_write(lambda s: s.sort_rows(2, descending=True))
    h.tick()
    h.advance(minutes=1)
    h.tick()
    h.advance(minutes=1)
    h.tick()
    protocols = {h.cell(r, "Endereço de e-mail"): h.cell(r, "Protocolo") for r in range(2, 5)}
    journal = {rec.email: rec.protocol for rec in h.journal.all()}
    assert protocols == journal
    assert len(h.mailer.sent) == 3  # the race never causes a second e-mail


def test_inserted_column_does_not_shift_balcao_writes(h: Harness) -> None:
    h.submit(MON - timedelta(hours=1))
    h.tick()
    h.sheet.insert_column(3, "Anotações da equipe")
    row = h.submit(MON - timedelta(minutes=30), email="bruno@example.org", name="Bruno")
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado", h.cell(row, "Observação")
    assert h.cell(row, "Anotações da equipe") in (None, "")


def test_respondent_edit_after_processing_is_flagged_not_reprocessed(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1))
    h.tick()
    h.sheet.set_cell(row, 1, serial(MON + timedelta(minutes=3)))  # Forms rewrites the timestamp
    h.sheet.set_cell(row, 7, "Outro assunto")
    h.advance(minutes=5)
    h.tick()
    assert h.cell(row, "Situação") == "Requer atenção"
    assert "alterada" in h.cell(row, "Observação")
    assert len(h.mailer.sent) == 1 and len(h.calendar.all_events()) == 1


def test_deleted_row_never_disturbs_other_rows(h: Harness) -> None:
    for i in range(3):
        h.submit(MON - timedelta(hours=2) + timedelta(minutes=10 * i), email=f"p{i}@example.com")
    h.tick()
    h.sheet.delete_row(2)
    new = h.submit(MON - timedelta(minutes=5), email="late@example.com")
    h.advance(minutes=1)
    h.tick()  # the new row landed above the read cursor: seen, read in full next tick
    h.advance(minutes=1)
    h.tick()
    protocols = {h.cell(r, "Endereço de e-mail"): h.cell(r, "Protocolo") for r in range(2, 5)}
    journal = {rec.email: rec.protocol for rec in h.journal.all()}
    assert all(journal[e] == p for e, p in protocols.items())
    assert h.cell(new, "Situação") == "Agendado"


def test_going_live_never_touches_rows_before_process_since(tmp_path: Path) -> None:
    since = MON - timedelta(hours=1)
    h = Harness(tmp_path, MON, form__process_since=since)
    for i in range(200):
        h.submit(since - timedelta(days=30) + timedelta(hours=i), email=f"old{i}@example.com")
    fresh = h.submit(MON - timedelta(minutes=30), email="fresh@example.com")
    h.tick()
    assert len(h.mailer.sent) == 1 and h.mailer.sent[0].spec.to == "fresh@example.com"
    assert h.cell(fresh, "Situação") == "Agendado"
    assert all(h.cell(r, "Protocolo") in (None, "") for r in range(2, 202))


def test_large_first_backlog_is_refused_without_accept_backlog(h: Harness) -> None:
    for i in range(60):
        h.submit(MON - timedelta(days=3) + timedelta(minutes=i), email=f"x{i}@example.com")
    with pytest.raises(BacklogRefusedError, match="60 rows"):
        h.tick()
    assert h.mailer.sent == [] and h.journal.is_empty()
    report = h.tick(accept_backlog=True)
    assert report.new_requests == 60


def test_missing_required_header_processes_nothing(h: Harness) -> None:
    h.sheet.grid[0][2] = "Nome"  # staff renamed a mapped header
    h.submit(MON - timedelta(hours=1))
    with pytest.raises(HeadersMissingError, match="Nome completo"):
        h.tick()
    assert h.mailer.sent == [] and h.sheet.column_of("Protocolo") is None


def test_unmapped_cpf_column_never_reaches_journal_email_or_logs(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.sheet.grid[0].append("CPF")
    h.sheet.append_row([serial(MON - timedelta(hours=1)), *answers(), "123.456.789-09"])
    with caplog.at_level(logging.DEBUG):
        h.tick()
    dump = "\n".join(h.journal.db.iterdump())
    assert "123.456.789-09" not in dump and "12345678909" not in dump
    assert all("123.456.789" not in m.spec.text + m.spec.html for m in h.mailer.sent)
    assert "123.456.789" not in caplog.text


def test_logs_hold_no_email_address_or_phone_in_clear(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.submit(MON - timedelta(hours=1), email="joana.prado@example.com", phone="(71) 99123-4567",
             channel="Ligação de vídeo pelo WhatsApp", name="Joana Prado")
    h.submit(MON - timedelta(minutes=50), email="bad@@example.com", name="Carlos Bento")
    with caplog.at_level(logging.DEBUG):
        h.tick()
        h.tick()
    assert caplog.text  # something was logged
    for secret in ("joana.prado@example.com", "99123-4567", "991234567", "Joana Prado",
                   "bad@@example.com", "Carlos Bento"):
        assert secret not in caplog.text


def test_lost_protocol_after_crash_is_matched_back_not_renumbered(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1))
    for _ in range(h.s.retry.attempts):  # the write-back and every retry of it fail
        h.sheet.fail_next("write", AdapterError("lost", True, outcome_unknown=True))
    with pytest.raises(AdapterError):
        h.tick()  # the tick fails as a whole; the e-mail already went out
    assert h.cell(row, "Protocolo") in (None, "")
    claimed = [r.protocol for r in h.journal.all()]
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Protocolo") == claimed[0]
    assert [r.protocol for r in h.journal.all()] == claimed
    assert len(h.mailer.sent) == 1


def test_sending_cap_makes_requests_wait_with_a_reason(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON, mail__daily_limit=1)
    a = h.submit(MON - timedelta(hours=1), email="a@example.com")
    b = h.submit(MON - timedelta(minutes=50), email="b@example.com")
    h.tick()
    assert len(h.mailer.sent) == 1
    assert h.cell(a, "Situação") == "Agendado"
    assert h.cell(b, "Situação") == "Pendente"
    assert "Limite diário" in h.cell(b, "Observação")
    h.advance(hours=25)
    h.tick()
    assert h.cell(b, "Situação") == "Agendado" and len(h.mailer.sent) == 2


def test_journal_uses_wal_and_full_sync(h: Harness) -> None:
    assert h.journal.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert h.journal.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    con = sqlite3.connect(h.s.journal.path)
    assert con.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_header_only_sheet_is_an_idle_tick(h: Harness) -> None:
    assert h.sheet.grid == [HEADER]
    report = h.tick()
    assert report.ok and report.new_requests == 0 and h.mailer.sent == []


def test_a_full_grid_grown_by_forms_costs_no_metadata_read_per_tick(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON)
    for i in range(3):
        h.submit(MON - timedelta(hours=2) + timedelta(minutes=i), email=f"p{i}@example.com")
    h.sheet.row_count = len(h.sheet.grid)  # no spare rows: Forms grows the grid per response
    h.tick()
    h.sheet.calls.clear()
    h.advance(minutes=1)
    h.tick()  # idle, with the cursor on the grid's last row
    assert [c[0] for c in h.sheet.calls] == ["read"]
    new = h.submit(MON, email="late@example.com")  # the grid grows by one row
    h.advance(minutes=1)
    h.tick()
    assert h.cell(new, "Situação") == "Agendado"
    assert [c[0] for c in h.sheet.calls].count("info") == 0


def test_status_tab_shows_a_pause_to_staff_and_running_again_once_resumed(h: Harness) -> None:
    h.submit(MON - timedelta(hours=1))
    h.tick()
    tab = dict((str(r[0]), r[1]) for r in h.sheet.status_tabs["balcao"])
    assert tab["Estado"] == "em execução" and tab["Agendado"] == 1
    h.submit(MON - timedelta(minutes=30), email="bruno@example.org", name="Bruno")
    h.calendar.fail_next("busy", AdapterError("invalid_grant", False, auth=True))
    h.advance(minutes=1)
    report = h.tick()
    assert report.paused_reason
    tab = dict((str(r[0]), r[1]) for r in h.sheet.status_tabs["balcao"])
    assert str(tab["Estado"]).startswith("pausado")
    assert tab["Último ciclo concluído"] == "06/03/2028 10:00"  # the last good tick, not now
    h.advance(minutes=1)  # well inside the 10-minute heartbeat interval
    h.tick()
    tab = dict((str(r[0]), r[1]) for r in h.sheet.status_tabs["balcao"])
    assert tab["Estado"] == "em execução" and tab["Último ciclo concluído"] == "06/03/2028 10:02"
