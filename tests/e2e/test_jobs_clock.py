"""End to end under a moved clock (Debian's faketime): `balcao sandbox` and `balcao run --once` in subprocesses living on Monday 6 March 2028 — the digest, one reminder per lead, a bounced confirmation flagged, and `balcao check` naming each job's last run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.fakeclock import faked, faked_env, needs_faketime

from .conftest import REPO, SandboxProcess, _env, serve_sandbox

pytestmark = needs_faketime

BAHIA_OFFSET = "-03:00"
DEAD = "morto@example.com"
STAFF = "equipe@cartorio.example"


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2028-03-06T{hhmm}:00{BAHIA_OFFSET}")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    from worker.model import ColumnTitles

    csv = tmp_path / "responses.csv"  # no sample responses: only this test's citizens
    csv.write_text(",".join(ColumnTitles().titles()) + "\n", encoding="utf-8")
    argv = [sys.executable, "-m", "worker", "sandbox", "--port", "0", "--responses", str(csv),
            "--bounce-recipient", DEAD]
    with serve_sandbox(faked(argv, at("06:50")), faked_env(_env())) as sb:
        yield sb


def balcao(tmp_path: Path, sb: SandboxProcess, when: datetime, *args: str) -> subprocess.CompletedProcess[str]:
    env = _env({
        "BALCAO__GOOGLE__API_ENDPOINT": sb.url,
        "BALCAO__GOOGLE__CREDENTIALS_FILE": "",
        "BALCAO__FORM__SPREADSHEET_ID": "sandbox-sheet",
        "BALCAO__JOURNAL__PATH": str(tmp_path / "journal.sqlite3"),
        "BALCAO__SCHEDULING__MEET_POLL_DELAY_SECONDS": "0.01",
        "BALCAO__DIGEST__RECIPIENTS": f"[{STAFF}]",
        "BALCAO__MAIL__BOUNCE_CHECK": "true",
    })
    argv = [sys.executable, "-m", "worker", *(args or ("run", "--once")), "-c",
            str(REPO / "config.yaml")]
    return subprocess.run(faked(argv, when), cwd=tmp_path, capture_output=True, text=True,
                          env=faked_env(env), timeout=90)


def submit(sb: SandboxProcess, email: str, name: str, channel: str) -> None:
    sb.call("POST", "/_sandbox/form/submit", {"at": at("06:55").isoformat(), "answers": {
        "Endereço de e-mail": email,
        "Nome completo": name,
        "Telefone com DDD (WhatsApp)": "(71) 99876-5432",
        "Como prefere ser atendido?": channel,
        "Serviço": "Certidão de nascimento",
        "Assunto do atendimento": "Segunda via",
        "Período de preferência": "Tarde (12h às 17h)",
        "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
    }})


def subjects(sb: SandboxProcess) -> list[str]:
    import base64
    import email
    import email.policy

    out = []
    for m in sb.messages():
        raw = base64.urlsafe_b64decode(m["raw"] + "=" * (-len(m["raw"]) % 4))
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if "mailer-daemon" not in str(msg.get("From", "")).lower():
            out.append(f"{msg['To']}: {msg['Subject']}")
    return out


def test_jobs_under_a_moved_clock_send_each_email_once_and_flag_the_bounce(
    tmp_path: Path, sandbox: SandboxProcess
) -> None:
    submit(sandbox, "ana.souza@example.com", "Ana Souza", "Google Meet")
    submit(sandbox, "bruno@example.com", "Bruno Lima", "Ligação de vídeo pelo WhatsApp")
    submit(sandbox, DEAD, "Carla Dias", "Google Meet")
    for when in ("07:00", "07:35", "10:05", "10:50", "10:51"):
        done = balcao(tmp_path, sandbox, at(when))
        assert done.returncode == 0, done.stderr
        if when == "07:00":
            assert subjects(sandbox) == [
                f"{to}: Balcão Virtual – Atendimento agendado para 06/03/2028 às {hhmm} – "
                f"Protocolo BV-2028-00000{i}"
                for i, (to, hhmm) in enumerate(
                    [("ana.souza@example.com", "12:00"), ("bruno@example.com", "12:45"),
                     (DEAD, "13:30")], start=1)
            ]
    assert subjects(sandbox)[3:] == [
        f"{STAFF}: Balcão Virtual – agenda de 06/03/2028",  # 07:35
        "ana.souza@example.com: Lembrete: atendimento em 06/03/2028 às 12:00 – "
        "Protocolo BV-2028-000001",  # 10:05, two hours before
        "bruno@example.com: Lembrete: atendimento em 06/03/2028 às 12:45 – "
        "Protocolo BV-2028-000002",  # 10:50; none for the dead address
    ]
    grid = sandbox.sheet()
    header = grid[0]
    dead_row = next(r for r in grid[1:] if r[1] == DEAD)
    assert dead_row[header.index("Situação")] == "Requer atenção"
    assert dead_row[header.index("Observação")] == (
        "E-mail não entregue: contatar por telefone ou WhatsApp"
    )
    check = balcao(tmp_path, sandbox, at("10:52"), "check")
    lines = check.stdout.splitlines()
    for job in ("reminders", "digest", "alerts", "bounces", "retention"):
        assert any(f"job {job}: last run 06/03/2028" in line for line in lines), check.stdout
