"""`balcao privacy` as the operator runs it, against the sandbox with the real Google clients: export, erase (nothing of the subject left in any cell, event field or journal byte, CPF included), register, record; retention under a moved clock (libfaketime)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import BAHIA, HEADER, Balcao, Sandbox

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
CPF = "CPF"
ANA = {"Endereço de e-mail": "Ana.Souza+balcao@gmail.com", "Nome completo": "Ana Beatriz Souza",
       "Telefone com DDD (WhatsApp)": "(71) 99876-5432", "Assunto do atendimento":
       "Inventário da avó Joana", CPF: "123.456.789-09"}
BRUNO = {"Endereço de e-mail": "bruno@example.com", "Nome completo": "Bruno Lima",
         "Telefone com DDD (WhatsApp)": "(71) 98765-1111",
         "Assunto do atendimento": "Escritura do sítio", CPF: "987.654.321-00"}


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    """The sandbox with a form that also asks for a CPF (a column balcao never reads)."""
    from worker.sandbox import server

    csv = tmp_path / "responses.csv"
    csv.write_text(",".join([*HEADER, CPF]) + "\n", encoding="utf-8")
    srv = server.start(port=0, responses_csv=csv)
    try:
        yield Sandbox(srv)
    finally:
        srv.stop()


@pytest.fixture
def balcao(tmp_path: Path, sb: Sandbox) -> Balcao:
    return Balcao(tmp_path, sb)


def submit(sb: Sandbox, who: dict[str, str], at: datetime) -> int:
    answers = {
        "Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp",
        "Serviço": "Escritura",
        "Período de preferência": "Sem preferência",
        "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
        **who,
    }
    return int(sb.call("POST", "/_sandbox/form/submit",
                       {"answers": answers, "at": at.isoformat()})["row"])


def secrets_of(who: dict[str, str]) -> list[str]:
    return [*who.values(), "Ana.Souza", "99876", "123.456.789"] if who is ANA else list(who.values())


def leftovers(sb: Sandbox, balcao: Balcao, who: dict[str, str]) -> list[str]:
    """Every place outside the sender's Sent folder that still holds one of the subject's
    answers: sheet cells, event fields, journal bytes (-wal included)."""
    state = sb.state()
    sheets = json.dumps(state["spreadsheets"], ensure_ascii=False).casefold()
    events = json.dumps(state["calendars"], ensure_ascii=False).casefold()
    raw = b""
    for suffix in ("", "-wal", "-journal"):
        path = Path(f"{balcao.journal_path}{suffix}")
        if path.exists():
            raw += path.read_bytes()
    found = []
    for secret in secrets_of(who):
        for where, text in (("sheet", sheets), ("calendar", events)):
            if secret.casefold() in text:
                found.append(f"{where}: {secret}")
        if secret.encode() in raw or secret.casefold().encode() in raw:
            found.append(f"journal: {secret}")
    return found


def row_of(sb: Sandbox, protocol: str) -> dict[str, Any]:
    grid = sb.sheet()
    header = grid[0]
    for r in grid[1:]:
        cells = list(r) + [""] * (len(header) - len(r))
        if protocol in cells:
            return dict(zip(header, cells, strict=True))
    raise AssertionError(protocol)


def test_export_erase_register_and_record_against_the_sandbox(
    sb: Sandbox, balcao: Balcao, tmp_path: Path
) -> None:
    now = datetime.now(BAHIA)
    submit(sb, ANA, now - timedelta(minutes=30))
    submit(sb, BRUNO, now - timedelta(minutes=20))
    assert balcao.run().returncode == 0
    protocols = {r["protocol"]: r for r in balcao.records().values()}
    ana = next(p for p, r in protocols.items() if r["name"] == ANA["Nome completo"])

    out = tmp_path / "ana.json"
    done = balcao.run("privacy", "export", "--email", "anasouza@googlemail.com", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "15 dias" in done.stderr and ana in done.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    [req] = doc["requests"]
    assert req["protocol"] == ana and req["answers"][CPF] == ANA[CPF]
    assert req["answers"]["Carimbo de data/hora"].count("/") == 2  # as displayed
    nobody = balcao.run("privacy", "export", "--email", "ninguem@example.com")
    assert nobody.returncode == 1 and "Nenhum" in nobody.stderr

    dry = balcao.run("privacy", "erase", "--email", ANA["Endereço de e-mail"])
    assert dry.returncode == 0 and "dry run" in dry.stdout
    assert row_of(sb, ana)[CPF] == ANA[CPF]

    gone = balcao.run("privacy", "erase", "--email", "ANASOUZA@gmail.com", "--yes")
    assert gone.returncode == 0, gone.stderr + gone.stdout
    assert "Form" in gone.stdout and "Sent" in gone.stdout
    assert leftovers(sb, balcao, ANA) == []
    assert leftovers(sb, balcao, BRUNO) != []  # Bruno's data is untouched
    row = row_of(sb, ana)
    assert row[CPF] == "[removido]" and row["Situação"] == "Cancelado"
    cancelled = [m for m in sb.messages() if m.protocol == ana and m.kind == "cancellation"]
    assert len(cancelled) == 1  # told before the address was erased

    register = balcao.run("privacy", "register")
    assert register.returncode == 0
    lines = register.stdout.splitlines()
    assert lines[0] == "data,motivo,protocolos,planilha,agenda,diario"
    assert lines[1].split(",")[1:] == ["pedido do titular", ana, "1", "1", "1"]

    sent = len(sb.messages())
    assert balcao.run().returncode == 0
    assert len(sb.messages()) == sent and row_of(sb, ana)["Situação"] == "Cancelado"
    again = balcao.run("privacy", "erase", "--protocol", ana, "--yes")
    assert again.returncode == 0 and "already erased" in again.stdout

    record = balcao.run("privacy", "record")
    assert record.returncode == 0 and "## Encarregado" in record.stdout
    assert "não lidos pelo balcao" in record.stdout


def test_a_protocol_on_legal_hold_is_refused_from_the_command_line(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb, ANA, datetime.now(BAHIA) - timedelta(minutes=30))
    assert balcao.run().returncode == 0
    [p] = list(balcao.records())
    held = balcao.run("privacy", "erase", "--protocol", p, "--yes",
                      env={"BALCAO__PRIVACY__LEGAL_HOLD": f"[{p}]"})
    assert held.returncode == 1 and "legal hold" in held.stdout
    assert row_of(sb, p)[CPF] == ANA[CPF]


@pytest.mark.skipif(not LIBFAKETIME.exists(), reason="libfaketime is not installed")
def test_retention_under_a_moved_clock_erases_the_old_request_everywhere(
    sb: Sandbox, balcao: Balcao
) -> None:
    now = datetime.now(BAHIA)
    submit(sb, ANA, now - timedelta(minutes=30))
    assert balcao.run().returncode == 0
    [p] = list(balcao.records())
    moved = {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": "+400d",
             "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_DONT_RESET": "1"}
    later = balcao.run("run", "--once", env=moved)
    assert later.returncode == 0, later.stderr
    assert leftovers(sb, balcao, ANA) == []
    register = balcao.run("privacy", "register")
    assert register.stdout.splitlines()[1].split(",")[1:3] == ["retenção", p]
    assert os.path.exists(balcao.journal_path)


@pytest.mark.parametrize(
    "point", ["after_erasure_intent", "after_erasure_calendar", "after_erasure_sheet"]
)
def test_an_erasure_killed_halfway_is_completed_by_the_next_one_with_its_register_line(
    sb: Sandbox, balcao: Balcao, point: str
) -> None:
    submit(sb, ANA, datetime.now(BAHIA) - timedelta(minutes=30))
    assert balcao.run().returncode == 0
    [p] = list(balcao.records())
    killed = balcao.run("privacy", "erase", "--protocol", p, "--yes", crash_at=point)
    assert killed.returncode == -9
    sent = len(sb.messages())
    assert balcao.run().returncode == 0  # the daemon meanwhile never works on it
    assert len(sb.messages()) == sent
    again = balcao.run("privacy", "erase", "--protocol", p, "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert leftovers(sb, balcao, ANA) == []
    lines = balcao.run("privacy", "register").stdout.splitlines()
    assert len(lines) == 2 and lines[1].split(",")[1:] == ["pedido do titular", p, "1", "1", "1"]
    assert [m.kind for m in sb.messages() if m.protocol == p].count("cancellation") == 1


def test_erasing_while_the_service_holds_the_journal_is_refused_with_exit_3(
    sb: Sandbox, balcao: Balcao
) -> None:
    from worker.journal import InstanceLock

    submit(sb, ANA, datetime.now(BAHIA) - timedelta(minutes=30))
    assert balcao.run().returncode == 0
    [p] = list(balcao.records())
    with InstanceLock(str(balcao.journal_path)):
        busy = balcao.run("privacy", "erase", "--protocol", p, "--yes")
    assert busy.returncode == 3 and "stop it first" in busy.stderr
    assert row_of(sb, p)[CPF] == ANA[CPF]
