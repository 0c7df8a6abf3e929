"""The sheet and the journal always agree (issue 13): lost, stale and foreign journals, recover, colliding column titles, same-second rows, abuse and odd input; `balcao` subprocesses against the sandbox."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.clients import make_google_service
from worker.intake import datetime_to_serial
from worker.journal import Journal

from .conftest import (
    BAHIA,
    VALUES_BATCH_UPDATE,
    Balcao,
    Sandbox,
    check_invariants,
    wait_for,
)

pytestmark = pytest.mark.e2e

EFFECTS = {"calendar.events.insert", "gmail.users.messages.send",
           "sheets.spreadsheets.values.batchUpdate", "sheets.spreadsheets.batchUpdate"}


def answers(i: int, **changes: str) -> dict[str, str]:
    base = {
        "Endereço de e-mail": f"pessoa{i}@example.com",
        "Nome completo": f"Pessoa Número {i}",
        "Telefone com DDD (WhatsApp)": f"(71) 99{i % 10}12-34{i % 100:02d}",
        "Como prefere ser atendido?": "Google Meet",
        "Serviço": "Escritura",
        "Assunto do atendimento": "Dúvida sobre escritura",
        "Período de preferência": "Sem preferência",
        "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
    }
    return {**base, **changes}


def submit(sb: Sandbox, i: int, at: datetime | None = None, **changes: str) -> int:
    body = {"answers": answers(i, **changes), "at": (at or datetime.now(BAHIA)).isoformat()}
    return int(sb.call("POST", "/_sandbox/form/submit", body)["row"])


def effects_since(sb: Sandbox, n: int) -> set[str]:
    return {r["method"] for r in sb.requests()[n:]} & EFFECTS


def rows_by_email(sb: Sandbox) -> dict[str, dict[str, Any]]:
    grid = sb.sheet()
    header = grid[0]
    out = {}
    for r in grid[1:]:
        cells = dict(zip(header, list(r) + [""] * (len(header) - len(r)), strict=False))
        if cells.get("Endereço de e-mail"):
            out[str(cells["Endereço de e-mail"])] = cells
    return out


def forget_journal(balcao: Balcao) -> None:
    for suffix in ("", "-wal", "-shm"):
        p = balcao.journal_path.with_name(balcao.journal_path.name + suffix)
        if p.exists():
            p.unlink()


def booked(sb: Sandbox, balcao: Balcao, n: int) -> None:
    for i in range(n):
        submit(sb, i)
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=n)
    assert summary.statuses["Agendado"] == n


# --------------------------------------------------------------------------- 1. unknown protocols


def test_a_deleted_journal_refuses_to_act_even_with_accept_backlog_and_names_recover(
    sb: Sandbox, balcao: Balcao
) -> None:
    booked(sb, balcao, 3)
    forget_journal(balcao)
    submit(sb, 3)  # a new citizen waits too: nothing may happen until the journal is rebuilt
    n = len(sb.requests())
    for args in (("run", "--once"), ("run", "--once", "--accept-backlog")):
        result = balcao.run(*args)
        assert result.returncode == 1
        assert "balcao recover" in result.stderr and "3 protocol(s)" in result.stderr
        assert effects_since(sb, n) == set()
        assert not balcao.journal_path.exists()  # a refused run leaves no journal behind
    assert len(sb.messages()) == 3 and len(sb.events()) == 3


def test_the_daemon_started_on_a_journal_that_does_not_know_the_sheet_exits_1(
    sb: Sandbox, balcao: Balcao
) -> None:
    booked(sb, balcao, 2)
    forget_journal(balcao)
    n = len(sb.requests())
    proc, log = balcao.start()
    assert proc.wait(timeout=30) == 1
    assert "REFUSING TO ACT" in log.read_text() and "balcao recover" in log.read_text()
    assert effects_since(sb, n) == set()


def test_a_journal_restored_from_an_older_backup_refuses_to_act(
    sb: Sandbox, balcao: Balcao, tmp_path: Path
) -> None:
    booked(sb, balcao, 2)
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(str(balcao.journal_path)) as conn:
        conn.execute(f"VACUUM INTO '{backup}'")
    submit(sb, 2)
    assert balcao.run().returncode == 0
    forget_journal(balcao)
    shutil.copy(backup, balcao.journal_path)
    n = len(sb.requests())
    result = balcao.run()
    assert result.returncode == 1 and "1 protocol(s)" in result.stderr
    assert "BV-" in result.stderr and "balcao recover" in result.stderr
    assert effects_since(sb, n) == set()
    assert len(sb.messages()) == 3 and len(sb.events()) == 3


def test_a_second_instance_with_its_own_journal_refuses_to_act(
    sb: Sandbox, balcao: Balcao, tmp_path: Path
) -> None:
    booked(sb, balcao, 2)
    submit(sb, 2)
    n = len(sb.requests())
    other = balcao.run(env={"BALCAO__JOURNAL__PATH": str(tmp_path / "other.sqlite3")})
    assert other.returncode == 1 and "2 protocol(s)" in other.stderr
    assert effects_since(sb, n) == set()
    assert not (tmp_path / "other.sqlite3").exists()
    assert balcao.run().returncode == 0  # the office's own instance goes on
    check_invariants(sb, balcao, submitted=3)


def test_check_reports_a_journal_that_does_not_know_the_sheet_and_creates_nothing(
    sb: Sandbox, balcao: Balcao
) -> None:
    booked(sb, balcao, 2)
    forget_journal(balcao)
    result = balcao.run("check")
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("✗ journal:"))
    assert "2 protocol(s)" in line and "balcao recover" in line
    assert not balcao.journal_path.exists()
    # The same with a journal that exists but knows none of them (another installation's).
    other = balcao.tmp / "other.sqlite3"
    Journal(str(other)).close()
    stale = balcao.run("check", env={"BALCAO__JOURNAL__PATH": str(other)})
    assert stale.returncode == 1
    assert any(x.startswith("✗ journal:") and "2 protocol(s)" in x
               for x in stale.stdout.splitlines())


def test_a_protocol_typed_by_hand_below_the_highest_only_flags_its_row(
    sb: Sandbox, balcao: Balcao
) -> None:
    booked(sb, balcao, 3)
    year = datetime.now(BAHIA).year
    # Staff delete the row of BV-…-000002; the journal is rebuilt without it.
    grid = sb.sheet()
    gone = next(i + 1 for i, r in enumerate(grid) if f"BV-{year}-000002" in r)
    sb.call("POST", "/_sandbox/sheet/delete_row", {"row": gone})
    forget_journal(balcao)
    assert balcao.run("recover").returncode == 0
    # Someone types that old number on a new response.
    row = submit(sb, 3)
    typed = f"BV-{year}-000002"
    sb.call("POST", "/_sandbox/sheet/type", {"row": row, "column": "Protocolo", "text": typed})
    mails = len(sb.messages())
    assert balcao.run().returncode == 0
    cells = rows_by_email(sb)["pessoa3@example.com"]
    assert cells["Protocolo"] == typed
    assert cells["Situação"] == "Requer atenção"
    assert cells["Observação"] == "Protocolo não reconhecido"
    assert len(sb.messages()) == mails and len(sb.events()) == 3
    # The next new request continues balcao's own numbering.
    submit(sb, 4)
    assert balcao.run().returncode == 0
    assert rows_by_email(sb)["pessoa4@example.com"]["Protocolo"] == f"BV-{year}-000004"


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_the_daemon_stops_effects_with_one_line_when_its_journal_file_is_deleted_or_replaced(
    sb: Sandbox, balcao: Balcao, tmp_path: Path, how: str
) -> None:
    submit(sb, 0)
    proc, log = balcao.start()
    try:
        wait_for(lambda: len(sb.messages()) == 1, what="the first confirmation")
        if how == "deleted":
            forget_journal(balcao)
        else:  # a copy moved over it: same content, another file
            copy = tmp_path / "copy.sqlite3"
            with sqlite3.connect(str(balcao.journal_path)) as conn:
                conn.execute(f"VACUUM INTO '{copy}'")
            os.replace(copy, balcao.journal_path)
        wait_for(lambda: "EFFECTS STOPPED" in log.read_text(), what="the operator line")
        submit(sb, 1)
        n = len(sb.requests())
        # Seven poll intervals: a daemon still acting would have booked and e-mailed by then.
        time.sleep(1.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    text = log.read_text()
    assert text.count("EFFECTS STOPPED") == 1 and f"was {how}" in text
    assert "balcao recover" in text
    assert effects_since(sb, n) == set()
    assert len(sb.messages()) == 1 and len(sb.events()) == 1


def test_the_first_backlog_message_counts_rows_never_processed(
    sb: Sandbox, balcao: Balcao
) -> None:
    for i in range(3):
        submit(sb, i)
    result = balcao.run(env={"BALCAO__INTAKE__MAX_FIRST_BACKLOG": "2"})
    assert result.returncode == 1
    assert "3 rows balcao has never processed" in result.stderr
    assert "without a protocol" not in result.stderr


# --------------------------------------------------------------------------- 2. recover


def test_recover_keeps_flags_and_staff_choices_and_nothing_is_sent_or_booked_again(
    sb: Sandbox, balcao: Balcao
) -> None:
    booked(sb, balcao, 4)
    grid = sb.sheet()
    rows = {str(r[1]): i + 1 for i, r in enumerate(grid) if i}
    # Row of pessoa0: the respondent edits it (flagged); pessoa1: staff record the meeting
    # took place; pessoa2: staff move the event an hour later (its SEQUENCE rises).
    sb.call("POST", "/_sandbox/form/edit", {"row": rows["pessoa0@example.com"],
                                             "answers": {"Serviço": "Procuração"}})
    assert balcao.run().returncode == 0
    sb.call("POST", "/_sandbox/sheet/type", {"row": rows["pessoa1@example.com"],
                                             "column": "Situação", "text": "Realizado"})
    moved = next(e for e in sb.events() if "Pessoa" in e["summary"] and "000003" in e["summary"])
    cal = next(c for c, v in sb.state()["calendars"].items()
               if any(e["id"] == moved["id"] for e in v["events"]))
    calendar = make_google_service("calendar", "v3", sb.url)
    later = {k: {"dateTime": (datetime.fromisoformat(moved[k]["dateTime"])
                              + timedelta(hours=1)).isoformat()} for k in ("start", "end")}
    calendar.events().patch(calendarId=cal, eventId=moved["id"], body=later).execute()
    assert balcao.run().returncode == 0  # the move reaches the sheet and the citizen
    before = rows_by_email(sb)
    mails, events = len(sb.messages()), len(sb.events())
    forget_journal(balcao)
    n = len(sb.requests())
    recovered = balcao.run("recover", env={"BALCAO__MAIL__SENT_CHECK": "true"})
    assert recovered.returncode == 0, recovered.stderr
    for _ in range(2):
        assert balcao.run().returncode == 0
    # Sheet writes only (balcao's cells, the dropdown): nothing sent, nothing booked.
    assert effects_since(sb, n) <= {"sheets.spreadsheets.values.batchUpdate",
                                    "sheets.spreadsheets.batchUpdate"}
    assert len(sb.messages()) == mails and len(sb.events()) == events
    after = rows_by_email(sb)
    for email, cells in before.items():
        for col in ("Protocolo", "Situação", "Observação", "Link ou canal", "Atendimento"):
            assert after[email][col] == cells[col], (email, col)
    assert after["pessoa0@example.com"]["Situação"] == "Requer atenção"
    assert after["pessoa0@example.com"]["Observação"].startswith(
        "Resposta alterada após o processamento")
    assert after["pessoa1@example.com"]["Situação"] == "Realizado"
    recs = balcao.records()
    assert recs[after["pessoa2@example.com"]["Protocolo"]]["revision"] == 1
    with balcao.db() as conn:
        jobs = {r[0] for r in conn.execute("SELECT name FROM jobs")}
    assert "retention" in jobs
    report = balcao.run("report")
    assert report.returncode == 0, report.stderr


def test_recover_after_a_move_no_tick_saw_sends_that_one_confirmation_and_shows_the_new_time(
    sb: Sandbox, balcao: Balcao
) -> None:
    booked(sb, balcao, 1)
    event = sb.events()[0]
    cal = next(iter(sb.state()["calendars"]))
    later = {k: {"dateTime": (datetime.fromisoformat(event[k]["dateTime"])
                              + timedelta(hours=1)).isoformat()} for k in ("start", "end")}
    make_google_service("calendar", "v3", sb.url).events().patch(
        calendarId=cal, eventId=event["id"], body=later).execute()
    forget_journal(balcao)  # before any tick saw the move
    assert balcao.run("recover", env={"BALCAO__MAIL__SENT_CHECK": "true"}).returncode == 0
    for _ in range(2):
        assert balcao.run().returncode == 0
    mails = sb.messages()
    assert sorted((m.kind, m.revision) for m in mails) == [("confirmation", 0),
                                                           ("confirmation", 1)]
    assert len(sb.events()) == 1
    shown = rows_by_email(sb)["pessoa0@example.com"]["Atendimento"]
    start = datetime.fromisoformat(later["start"]["dateTime"]).astimezone(BAHIA)
    assert shown == pytest.approx(datetime_to_serial(start, "America/Bahia"), abs=1e-6)
    protocol = rows_by_email(sb)["pessoa0@example.com"]["Protocolo"]
    assert balcao.records()[protocol]["slot_start"] == start.isoformat()


# --------------------------------------------------------------------------- 3. column titles


def test_a_form_question_titled_like_a_balcao_column_stops_run_before_any_write(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb, 0, **{"Observação": "Tenho pressa"})
    n = len(sb.requests())
    result = balcao.run()
    assert result.returncode == 1
    assert "form.owned_columns" in result.stderr and "'Observação'" in result.stderr
    assert effects_since(sb, n) == set()
    check = balcao.run("check")
    assert check.returncode == 1
    assert any(x.startswith("✗ column titles") and "Observação" in x
               for x in check.stdout.splitlines())


def test_renamed_balcao_columns_leave_the_citizens_answers_alone(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb, 0, **{"Observação": "Tenho pressa", "Protocolo": "BV-2026-000777"})
    env = {"BALCAO__FORM__OWNED_COLUMNS__NOTE": "Nota do balcao",
           "BALCAO__FORM__OWNED_COLUMNS__PROTOCOL": "Protocolo do balcao"}
    assert balcao.run(env=env).returncode == 0
    submit(sb, 1)
    assert balcao.run(env=env).returncode == 0
    cells = rows_by_email(sb)
    assert cells["pessoa0@example.com"]["Observação"] == "Tenho pressa"
    assert cells["pessoa0@example.com"]["Protocolo"] == "BV-2026-000777"
    mine = [cells[f"pessoa{i}@example.com"]["Protocolo do balcao"] for i in range(2)]
    assert [p[-6:] for p in mine] == ["000001", "000002"]  # the typed number moved nothing
    assert {cells[f"pessoa{i}@example.com"]["Situação"] for i in range(2)} == {"Agendado"}
    assert len(sb.messages()) == 2 and len(sb.events()) == 2


# --------------------------------------------------------------------------- 4. same second


def test_two_rows_of_one_second_keep_their_own_protocol_and_link_through_a_failed_write_and_a_sort(
    sb: Sandbox, balcao: Balcao
) -> None:
    assert balcao.run().returncode == 0  # balcao's columns exist before the write fails
    at = datetime.now(BAHIA).replace(microsecond=0) - timedelta(minutes=1)
    submit(sb, 1, at=at, **{"Endereço de e-mail": "ana@example.com", "Nome completo": "Ana"})
    submit(sb, 2, at=at, **{"Endereço de e-mail": "zeca@example.com", "Nome completo": "Zeca"})
    sb.fault(VALUES_BATCH_UPDATE, method="POST", status=500, times=1000)
    assert balcao.run().returncode == 1  # booked and confirmed, the write-back failed
    sb.clear_faults()
    sb.call("POST", "/_sandbox/sheet/sort",
            {"column": "Endereço de e-mail", "descending": True})
    for _ in range(2):
        assert balcao.run().returncode == 0
    check_invariants(sb, balcao, submitted=2)
    recs = balcao.records()
    links = {e["extendedProperties"]["private"]["balcaoProtocol"]: e.get("hangoutLink")
             for e in sb.events()}
    for email, cells in rows_by_email(sb).items():
        protocol = cells["Protocolo"]
        assert recs[protocol]["email"] == email
        assert cells["Link ou canal"] == links[protocol]
    assert len(sb.messages()) == 2 and len(sb.events()) == 2


def test_same_second_rows_sorted_above_the_rows_already_done_still_get_their_own_protocol(
    sb: Sandbox, balcao: Balcao
) -> None:
    booked(sb, balcao, 2)  # the read cursor is past these rows
    at = datetime.now(BAHIA).replace(microsecond=0) - timedelta(seconds=30)
    submit(sb, 5, at=at, **{"Endereço de e-mail": "ana@example.com", "Nome completo": "Ana"})
    submit(sb, 6, at=at, **{"Endereço de e-mail": "zeca@example.com", "Nome completo": "Zeca"})
    sb.fault(VALUES_BATCH_UPDATE, method="POST", status=500, times=1000)
    assert balcao.run().returncode == 1
    sb.clear_faults()
    # Newest first: the two rows move to the top, far from where balcao last read in full.
    sb.call("POST", "/_sandbox/sheet/sort", {"column": "Carimbo de data/hora", "descending": True})
    sb.call("POST", "/_sandbox/sheet/sort", {"column": "Endereço de e-mail", "descending": True})
    for _ in range(2):
        assert balcao.run().returncode == 0
    check_invariants(sb, balcao, submitted=4)
    recs = balcao.records()
    for email, cells in rows_by_email(sb).items():
        assert recs[cells["Protocolo"]]["email"] == email
    assert len(sb.messages()) == 4 and len(sb.events()) == 4


def test_same_second_rows_of_one_inbox_are_told_apart_by_their_other_answers(
    sb: Sandbox, balcao: Balcao
) -> None:
    booked(sb, balcao, 2)
    at = datetime.now(BAHIA).replace(microsecond=0) - timedelta(seconds=30)
    for name, service in (("Ana", "Escritura"), ("Ana Maria", "Procuração")):
        submit(sb, 7, at=at, **{"Endereço de e-mail": "ana@example.com", "Nome completo": name,
                                "Serviço": service})
    sb.fault(VALUES_BATCH_UPDATE, method="POST", status=500, times=1000)
    assert balcao.run().returncode == 1
    sb.clear_faults()
    sb.call("POST", "/_sandbox/sheet/sort", {"column": "Carimbo de data/hora", "descending": True})
    sb.call("POST", "/_sandbox/sheet/sort", {"column": "Nome completo", "descending": True})
    for _ in range(2):
        assert balcao.run().returncode == 0
    check_invariants(sb, balcao, submitted=4)
    recs = balcao.records()
    grid = sb.sheet()
    header = grid[0]
    for r in grid[1:]:
        cells = dict(zip(header, r, strict=False))
        if cells.get("Endereço de e-mail") == "ana@example.com":
            assert recs[cells["Protocolo"]]["name"] == cells["Nome completo"]
            assert recs[cells["Protocolo"]]["service"] == cells["Serviço"]


def test_an_edit_while_the_write_back_fails_never_brings_a_second_protocol_event_or_email(
    sb: Sandbox, balcao: Balcao
) -> None:
    assert balcao.run().returncode == 0
    row = submit(sb, 0)
    sb.fault(VALUES_BATCH_UPDATE, method="POST", status=500, times=1000)
    assert balcao.run().returncode == 1
    sb.call("POST", "/_sandbox/form/edit", {"row": row, "answers": {"Serviço": "Procuração"}})
    sb.clear_faults()
    for _ in range(2):
        assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=1)
    assert summary.rows[0]["status"] == "Requer atenção"
    assert summary.rows[0]["reason"].startswith("Resposta alterada após o processamento")
    assert len(balcao.records()) == 1
    assert len(sb.messages()) == 1 and len(sb.events()) == 1


# --------------------------------------------------------------------------- 5. abuse


def test_the_open_requests_limit_counts_one_gmail_inbox_once_whatever_its_aliases(
    sb: Sandbox, balcao: Balcao
) -> None:
    aliases = ["maria.silva@gmail.com", "mariasilva+1@gmail.com", "Maria.Silva@googlemail.com",
               "m.a.r.i.a.silva+x@GMAIL.com", "mariasilva@googlemail.com"]
    for i, address in enumerate(aliases):
        submit(sb, i, **{"Endereço de e-mail": address, "Serviço": f"Serviço {i}"})
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=5)
    assert summary.statuses["Agendado"] == 3 and summary.statuses["Requer atenção"] == 2
    assert len(sb.events()) == 3 and len(sb.messages()) == 3


def test_markup_and_script_links_never_reach_a_calendar_event(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb, 0, **{
        "Nome completo": '<a href="javascript:alert(1)">Maria</a> da Silva',
        "Serviço": "<b>Escritura</b> <img src=x onerror=alert(1)> JaVaScRiPt:alert(2)",
    })
    submit(sb, 1, **{"Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp",
                     "Serviço": "&lt;script&gt;alert(3)&lt;/script&gt;"})
    assert balcao.run().returncode == 0
    check_invariants(sb, balcao, submitted=2)
    events = sb.events()
    assert len(events) == 2
    for e in events:
        text = f"{e.get('summary', '')}\n{e.get('description', '')}"
        assert "<" not in text and ">" not in text
        assert "javascript" not in text.lower() and "onerror" not in text
    assert any("Maria" in e["summary"] for e in events)


def test_odd_timestamps_and_consent_are_flagged_never_booked(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb, 0, at=datetime(2099, 3, 1, 10, 0, tzinfo=BAHIA))
    submit(sb, 1, at=datetime.now(BAHIA) + timedelta(minutes=30))
    submit(sb, 2, at=datetime(2020, 6, 1, 10, 0, tzinfo=BAHIA))
    submit(sb, 3, **{"Declaro que li e concordo com a política de privacidade":
                     "Sim, concordo NÃO"})
    submit(sb, 4, at=datetime.now(BAHIA) + timedelta(minutes=2))  # a clock a bit ahead: fine
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=5)
    cells = rows_by_email(sb)
    year = datetime.now(BAHIA).year
    for i in range(4):
        assert cells[f"pessoa{i}@example.com"]["Situação"] == "Requer atenção"
        assert cells[f"pessoa{i}@example.com"]["Protocolo"].startswith(f"BV-{year}-")
    assert "Carimbo" in cells["pessoa0@example.com"]["Observação"]
    assert "aceite" in cells["pessoa3@example.com"]["Observação"]
    assert cells["pessoa4@example.com"]["Situação"] == "Agendado"
    assert len(summary.events) == 1 and len(summary.mails) == 1


def test_a_whatsapp_request_with_a_landline_is_booked_with_a_note_for_staff(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb, 0, **{"Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp",
                     "Telefone com DDD (WhatsApp)": "(71) 3322-1100"})
    submit(sb, 1, **{"Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp"})
    assert balcao.run().returncode == 0
    check_invariants(sb, balcao, submitted=2)
    cells = rows_by_email(sb)
    assert cells["pessoa0@example.com"]["Situação"] == "Agendado"
    assert cells["pessoa0@example.com"]["Observação"] == "Telefone fixo: confirme se tem WhatsApp"
    assert cells["pessoa1@example.com"]["Observação"] == ""
    assert len(sb.messages()) == 2 and len(sb.events()) == 2

