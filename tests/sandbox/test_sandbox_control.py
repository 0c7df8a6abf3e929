"""The control surface (DESIGN §3), the bundled sample, ``--responses`` CSV loading and the CLI."""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.sandbox.conftest import SID, WS
from worker.sandbox import serial, server

HEADER = ["Carimbo de data/hora", "Endereço de e-mail", "Nome completo", "Telefone com DDD (WhatsApp)",
          "Como prefere ser atendido?", "Serviço", "Assunto do atendimento", "Período de preferência",
          "Declaro que li e concordo com a política de privacidade"]
BAHIA = ZoneInfo("America/Bahia")


def test_state_has_the_documented_shape(sandbox):
    st = sandbox.state()
    assert set(st) >= {"spreadsheets", "calendars", "gmail", "requests"}
    sheet = st["spreadsheets"][SID]
    assert sheet["properties"]["title"] == "Balcão Virtual (respostas)"
    assert sheet["properties"]["locale"] == "pt_BR"
    assert sheet["properties"]["timeZone"] == "America/Bahia"
    values = sheet["sheets"][WS]["values"]
    assert values[0][: len(HEADER)] == HEADER
    assert isinstance(values[1][0], float)  # timestamps are stored as serial numbers


def test_bundled_sample_is_realistic_and_recent(sandbox):
    values = sandbox.sheet_values()
    header, rows = values[0], values[1:]
    assert header == [*HEADER, "CPF"]
    assert 25 <= len(rows) <= 30
    now = serial.to_serial(datetime.now(BAHIA))
    stamps = [r[0] for r in rows]
    assert stamps == sorted(stamps)
    assert all(now - 7.05 <= s < now for s in stamps)
    col = {t: i for i, t in enumerate(header)}

    def get(r, title):
        i = col[title]
        return r[i] if i < len(r) else ""

    assert any("@" in get(r, "Endereço de e-mail") and "." not in get(r, "Endereço de e-mail").split("@")[1] for r in rows)
    assert any(get(r, HEADER[-1]) == "" for r in rows)
    assert any(get(r, "Assunto do atendimento").startswith("=HYPERLINK(") for r in rows)
    assert any(len(get(r, "Assunto do atendimento")) > 500 for r in rows)
    assert any(get(r, "CPF") for r in rows)
    assert {get(r, "Como prefere ser atendido?") for r in rows} == {"Google Meet", "Ligação de vídeo pelo WhatsApp"}
    assert {get(r, "Período de preferência") for r in rows} == {"Manhã (08h às 12h)", "Tarde (12h às 17h)", "Sem preferência"}
    assert any(not get(r, "Telefone com DDD (WhatsApp)").startswith("(") and "WhatsApp" in get(r, "Como prefere ser atendido?")
               for r in rows)
    dups = [(a, b) for a, b in itertools.pairwise(rows) if a[1:] == b[1:] and (b[0] - a[0]) * 86400 < 120]
    assert dups
    times = [serial.from_serial(s) for s in stamps]
    assert any(t.weekday() >= 5 for t in times)
    assert any(t.hour >= 20 or t.hour < 7 for t in times)


def test_sample_timestamps_follow_now(tmp_path):
    now = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)
    with server.start(now=now) as sb, sb.state.lock:
        _, sh = sb.state.default_sheet()
        stamps = [row[0] for row in sh.cells[1 : sh.last_row()]]
    assert max(stamps) == pytest.approx(serial.to_serial(datetime(2028, 3, 6, 9, 20)))
    assert min(stamps) >= serial.to_serial(datetime(2028, 2, 28))


def test_form_submit_appends_a_row_with_a_timestamp(sandbox, ws):
    n = len(sandbox.sheet_values())
    row = sandbox.submit({"Endereço de e-mail": "nova@example.com", "Nome completo": "Nova Pessoa"},
                         at="2026-12-01T09:30:00-03:00")
    assert row == n + 1
    assert ws.row_values(row)[:3] == ["01/12/2026 09:30:00", "nova@example.com", "Nova Pessoa"]


def test_form_edit_replaces_answers_in_place_and_updates_the_timestamp(sandbox, ws):
    before = ws.row_values(2)
    sandbox.post("/_sandbox/form/edit", {"row": 2, "answers": {"Nome completo": "Nome Corrigido"}})
    after = ws.row_values(2)
    assert after[2] == "Nome Corrigido"
    assert after[1] == before[1]
    assert after[0] != before[0]


def test_sort_reorders_rows_by_a_column(sandbox):
    sandbox.post("/_sandbox/sheet/sort", {"column": "Nome completo", "descending": False})
    names = [r[2] for r in sandbox.sheet_values()[1:]]
    assert names == sorted(names, key=str.lower)
    sandbox.post("/_sandbox/sheet/sort", {"column": "Carimbo de data/hora", "descending": True})
    stamps = [r[0] for r in sandbox.sheet_values()[1:]]
    assert stamps == sorted(stamps, reverse=True)


def test_sort_armed_before_next_write_happens_between_read_and_write(sandbox, ws):
    first_email = ws.acell("B2").value
    sandbox.post("/_sandbox/sheet/sort", {"column": "Carimbo de data/hora", "descending": True,
                                          "when": "before_next_write"})
    assert ws.acell("B2").value == first_email  # reads do not trigger it
    ws.update([["BV-2026-000001"]], "K2")
    values = sandbox.sheet_values()
    assert values[1][1] != first_email
    assert values[-1][1] == first_email
    assert values[1][10] == "BV-2026-000001"  # the write landed on the row now at 2


def test_insert_column_shifts_the_following_columns(sandbox, ws):
    sandbox.post("/_sandbox/sheet/insert_column", {"index": 3, "title": "Observação da equipe"})
    header = ws.row_values(1)
    assert header[2] == "Observação da equipe"
    assert header[3] == "Nome completo"
    assert ws.col_count == 26  # the cached object; a fresh metadata read sees 27


def test_delete_row_removes_it(sandbox):
    values = sandbox.sheet_values()
    sandbox.post("/_sandbox/sheet/delete_row", {"row": 2})
    assert sandbox.sheet_values()[1] == values[2]


def test_typing_a_date_in_a_cell_stores_a_serial(sandbox, ws):
    sandbox.post("/_sandbox/sheet/type", {"row": 2, "column": "Nome completo", "text": "13/12/2026 10:15"})
    assert sandbox.sheet_values()[1][2] == pytest.approx(46369.427083333336)
    assert ws.acell("C2").value == "13/12/2026 10:15:00"


def test_reset_restores_the_loaded_responses(sandbox, cal):
    original = sandbox.sheet_values()
    sandbox.submit({"Nome completo": "X"})
    sandbox.config(quota=True)
    cal.calendars().get(calendarId="a@example.org").execute()
    sandbox.post("/_sandbox/reset")
    st = sandbox.state()
    assert st["spreadsheets"][SID]["sheets"][WS]["values"] == original
    assert st["calendars"] == {} and st["gmail"] == {} and st["requests"] == []


def test_unknown_config_key_and_unknown_control_path_are_errors(sandbox):
    with pytest.raises(urllib.error.HTTPError) as exc:
        sandbox.config(colour="red")
    assert exc.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as exc:
        sandbox.post("/_sandbox/nothing", {})
    assert exc.value.code == 404


def write_csv(path: Path, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def test_responses_csv_converts_timestamps_keeps_bad_ones_as_text_and_keeps_empty_rows(tmp_path):
    path = tmp_path / "r.csv"
    write_csv(path, [HEADER[:3], ["25/03/2025 14:30:12", "ana@example.com", "Ana"], [], ["ontem à tarde", "b@example.com", "B"]])
    with server.start(responses_csv=path, spreadsheet_id="outra", worksheet="Form Responses 1") as sb, \
            urllib.request.urlopen(sb.url + "/_sandbox/state") as resp:
        values = json.load(resp)["spreadsheets"]["outra"]["sheets"]["Form Responses 1"]["values"]
    assert values[1][0] == pytest.approx(45741.60430555556)
    assert values[2] == []
    assert values[3][0] == "ontem à tarde"


def test_responses_csv_loads_dates_in_other_columns_as_serials_like_a_sheets_import(tmp_path):
    path = tmp_path / "r.csv"
    write_csv(path, [[*HEADER[:2], "Prazo de resposta", "Observação"],
                     ["25/03/2025 14:30:12", "ana@example.com", "26/03/2025 14:30", "ligar às 14:30"]])
    with server.start(responses_csv=path, spreadsheet_id="outra", worksheet="Form Responses 1") as sb, \
            urllib.request.urlopen(sb.url + "/_sandbox/state") as resp:
        values = json.load(resp)["spreadsheets"]["outra"]["sheets"]["Form Responses 1"]["values"]
    assert values[1][2] == pytest.approx(45742.604166666664)
    assert values[1][1] == "ana@example.com" and values[1][3] == "ligar às 14:30"


def test_grid_is_at_least_26_by_1000_and_grows_with_the_csv(tmp_path):
    path = tmp_path / "wide.csv"
    write_csv(path, [[f"c{i}" for i in range(30)], ["01/01/2026 10:00:00"]])
    with server.start(responses_csv=path) as sb, sb.state.lock:
        _, sh = sb.state.default_sheet()
        assert (sh.row_count, sh.col_count) == (1000, 30)


def test_cli_prints_the_url_first_and_exits_cleanly_on_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen([sys.executable, "-m", "worker.sandbox.cli", "--port", "0", "--meet-pending-gets", "2",
                             "--quota", "--search-lag-s", "1.5", "--rewrite-message-id"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/_sandbox/state", timeout=5) as resp:
            config = json.load(resp)["config"]
        assert (config["meet_pending_gets"], config["quota"], config["search_lag_s"], config["rewrite_message_id"]) == (
            2, True, 1.5, True)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_exits_cleanly_on_sigint():
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen([sys.executable, "-m", "worker.sandbox.cli"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout.readline().startswith("http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_recent_rows_in_the_sample_are_from_the_last_hours(sandbox):
    stamps = [serial.from_serial(r[0]) for r in sandbox.sheet_values()[1:]]
    assert max(stamps) > datetime.now(BAHIA).replace(tzinfo=None) - timedelta(hours=1)
