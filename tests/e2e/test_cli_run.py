"""The `balcao` CLI in a subprocess against `balcao sandbox` in another (DESIGN §5 end-to-end)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .conftest import REPO, SandboxProcess

pytestmark = pytest.mark.e2e

BAHIA = ZoneInfo("America/Bahia")
PROTOCOL = re.compile(r"^BV-\d{4}-\d{6}$")


def methods(log: list[dict]) -> Counter[str]:
    return Counter(entry["method"] for entry in log)


def test_run_once_processes_the_sample_and_a_second_run_changes_nothing(
    sandbox_proc: SandboxProcess, run_cli
) -> None:
    first = run_cli("run", "--once", "--accept-backlog")
    assert first.returncode == 0, first.stderr
    sheet = sandbox_proc.sheet()
    header = sheet[0]
    pc, sc = header.index("Protocolo"), header.index("Situação")
    rows = [r for r in sheet[1:] if any(c not in ("", None) for c in r)]
    assert rows and all(PROTOCOL.match(str(r[pc])) for r in rows)
    statuses = Counter(r[sc] for r in rows)
    assert statuses["Agendado"] >= 15 and statuses["Requer atenção"] >= 2
    sent = len(sandbox_proc.messages())
    events = len(sandbox_proc.events())
    assert sent == statuses["Agendado"] == events

    before = len(sandbox_proc.requests())
    second = run_cli("run", "--once")
    assert second.returncode == 0, second.stderr
    log = sandbox_proc.requests()[before:]
    # Idle tick: one metadata read (a new process), one values read and one events.list per
    # attendant calendar (staff changes in Google Calendar); nothing written.
    assert methods(log) == Counter(
        {"sheets.spreadsheets.get": 1, "sheets.spreadsheets.values.batchGet": 1,
         "calendar.events.list": 1}
    )
    assert len(sandbox_proc.messages()) == sent and len(sandbox_proc.events()) == events
    assert sandbox_proc.sheet() == sheet
    # Even a fresh process reads only the header and narrow identity columns when idle.
    (read,) = [e for e in log if e["method"].endswith("batchGet")]
    ranges = read["query"]["ranges"]
    ranges = ranges if isinstance(ranges, list) else [ranges]
    assert not any(re.fullmatch(r".*!A2:([B-Z]|[A-Z]{2,})", r) for r in ranges), ranges
    first_read = next(e for e in sandbox_proc.requests() if e["method"].endswith("batchGet"))
    assert read["bytes"] < first_read["bytes"] / 2


def test_tick_with_new_rows_costs_one_read_one_freebusy_one_reread_one_write(
    sandbox_proc: SandboxProcess, run_cli
) -> None:
    assert run_cli("run", "--once", "--accept-backlog").returncode == 0
    now = datetime.now(BAHIA)
    for i in range(3):
        sandbox_proc.call("POST", "/_sandbox/form/submit", {"answers": {
            "Endereço de e-mail": f"novo{i}@example.com", "Nome completo": f"Novo Cidadão {i}",
            "Telefone com DDD (WhatsApp)": "(71) 99999-000" + str(i),
            "Como prefere ser atendido?": "Google Meet", "Serviço": "Escritura",
            "Assunto do atendimento": "Dúvida", "Período de preferência": "Sem preferência",
            "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
        }, "at": now.isoformat()})
    before = len(sandbox_proc.requests())
    result = run_cli("run", "--once")
    assert result.returncode == 0, result.stderr
    counts = methods(sandbox_proc.requests()[before:])
    assert counts["sheets.spreadsheets.values.batchGet"] == 2  # the read + identity re-read
    # The write-back, and the status tab rewritten because its counts changed (staff never
    # read "Agendado 0" right after bookings).
    assert counts["sheets.spreadsheets.values.batchUpdate"] == 2
    assert counts["calendar.freebusy.query"] == 1
    assert counts["calendar.events.insert"] == 3
    assert counts["gmail.users.messages.send"] == 3


def test_dry_run_writes_nothing_and_masks_personal_data(
    sandbox_proc: SandboxProcess, run_cli, tmp_path: Path
) -> None:
    result = run_cli("run", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "nothing written" in result.stdout
    assert "BV-" in result.stdout
    assert "@example" not in result.stdout
    # Reads only: the sheet, and one free/busy query to show the slot each request would get.
    log = sandbox_proc.requests()
    assert all(e["method"].endswith(("get", "batchGet", "freebusy.query")) for e in log)
    assert re.search(r"→ book and confirm at \d\d/\d\d/\d{4} \d\d:\d\d \(primary\)", result.stdout)
    assert not (tmp_path / "journal.sqlite3").exists()


def test_missing_required_header_exits_1_and_writes_nothing(
    sandbox_proc: SandboxProcess, run_cli
) -> None:
    result = run_cli("run", "--once", "--accept-backlog",
                     env={"BALCAO__FORM__COLUMNS__NAME": "Nome do requerente"})
    assert result.returncode == 1
    assert "Nome do requerente" in result.stderr
    assert not any(e["method"].endswith(("batchUpdate", "send", "insert"))
                   for e in sandbox_proc.requests())


def test_large_first_backlog_is_refused_with_exit_1(sandbox_proc: SandboxProcess, run_cli) -> None:
    result = run_cli("run", "--once", env={"BALCAO__INTAKE__MAX_FIRST_BACKLOG": "5"})
    assert result.returncode == 1
    assert "--accept-backlog" in result.stderr and "process_since" in result.stderr
    assert sandbox_proc.messages() == []


def test_second_instance_exits_3(sandbox_proc: SandboxProcess, run_cli, tmp_path: Path) -> None:
    import fcntl
    import os

    lock = os.open(str(tmp_path / "journal.sqlite3.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        result = run_cli("run", "--once")
    finally:
        os.close(lock)
    assert result.returncode == 3
    assert "another balcao instance" in result.stderr


def test_bad_config_value_exits_2_naming_the_key(run_cli) -> None:
    result = run_cli("run", "--once", env={"BALCAO__OFFICE__CLOSES": "07:00"})
    assert result.returncode == 2
    assert "office.closes" in result.stderr and "07:00" in result.stderr
    assert "Traceback" not in result.stderr


def test_deadline_and_calendar_commands_match_the_issue() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "worker", "deadline", "2028-02-25T11:00", "25/02/2028 11:00",
         "2028-02-25T14:00:00Z"], cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert out == ["2028-03-02T11:00:00-03:00"] * 3
    cal = subprocess.run(
        [sys.executable, "-m", "worker", "calendar", "2026"], cwd=REPO, capture_output=True,
        text=True, check=True,
    ).stdout
    assert re.search(r"^2026-02-16 .*Carnaval.*closed", cal, re.M)
    assert re.search(r"^2026-02-17 .*Carnaval.*closed", cal, re.M)
    assert re.search(r"^2026-02-18 .*Cinzas.*open 14:00-17:00", cal, re.M)
    assert re.search(r"^2026-07-02 .*Bahia.*closed", cal, re.M)
    assert re.search(r"^2026-11-20 .*Consciência Negra.*closed", cal, re.M)
    assert re.search(r"^2026-11-15 .*closed \(weekend\)", cal, re.M)
    assert not re.search(r"^2026-01-03 ", cal, re.M)  # plain Saturdays are not listed


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["deadline", "31/02/2028 10:00"], "timestamp"),
        (["deadline", "tomorrow"], "timestamp"),
        (["calendar", "1800"], "1900"),
        (["calendar", "abc"], "YEAR"),
        (["run", "-c", "/nonexistent/config.yaml"], "cannot read config"),
    ],
)
def test_bad_cli_input_exits_2_with_a_message_and_no_traceback(args: list[str], needle: str) -> None:
    result = subprocess.run([sys.executable, "-m", "worker", *args], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_has_help() -> None:
    for cmd in ("run", "demo", "deadline", "calendar", "sandbox", "check", "auth", "recover", "report"):
        result = subprocess.run([sys.executable, "-m", "worker", cmd, "--help"], cwd=REPO,
                                capture_output=True, text=True)
        assert result.returncode == 0, (cmd, result.stderr)
        assert "usage:" in result.stdout.lower()


def test_demo_exits_0_and_writes_one_email_per_booked_request(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    result = subprocess.run(
        [sys.executable, "-m", "worker", "demo", "--out", str(out)], cwd=REPO,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    first, _, after = result.stdout.partition("Staff act")
    booked = sum(1 for line in first.splitlines()
                 if line.startswith("BV-") and " Agendado " in line)
    assert booked >= 15
    # Then staff cancel one, reschedule one in the sheet and move one in Google Calendar:
    # one cancellation and two new confirmations (same UID, higher SEQUENCE).
    assert "Situação ← Cancelar" in after and "Situação ← Remarcar" in after
    final = {line.split()[0]: line for line in after.splitlines() if line.startswith("BV-")}
    assert sum(" Cancelado " in line for line in final.values()) == 1
    names = sorted(p.name for p in out.glob("*.eml"))
    assert len(names) == booked + 3
    assert sum("-cancellation" in n for n in names) == 1
    assert sum("-confirmation-r1" in n for n in names) == 2
    assert len(list(out.glob("*.html"))) == len(names)
    # Every confirmation carries its .ics, the cancellation too (METHOD:CANCEL).
    assert len(list(out.glob("*.ics"))) == booked + 3
