"""End to end, each row of DESIGN §7's table: `balcao sandbox` and `balcao run --once` in subprocesses, staff acting through the sheet and the Calendar API; calendar, mailbox and sheet checked, and a further run changes nothing."""

from __future__ import annotations

import base64
import email
import email.policy
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.clients import call_json
from tests.fakeclock import faked, faked_env, needs_faketime

from .conftest import REPO, SandboxProcess, _env

pytestmark = pytest.mark.e2e


class Office:
    """The sample office after its first run, and what staff can do to it."""

    def __init__(self, sb: SandboxProcess, run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
        self.sb = sb
        self.run = run

    def once(self, **env: str) -> None:
        result = self.run("run", "--once", env=env or None)
        assert result.returncode == 0, result.stderr

    def rows(self) -> dict[str, dict[str, Any]]:
        sheet = self.sb.sheet()
        header = [str(h) for h in sheet[0]]
        out = {}
        for i, r in enumerate(sheet[1:], start=2):
            cells = dict(zip(header, list(r) + [""] * (len(header) - len(r)), strict=False))
            if cells.get("Protocolo"):
                out[str(cells["Protocolo"])] = {**cells, "_row": i}
        return out

    def booked(self, n: int = 0, *, meet: bool | None = None) -> str:
        found = [p for p, r in sorted(self.rows().items()) if r["Situação"] == "Agendado"
                 and (meet is None or (str(r["Link ou canal"]).startswith("https")) == meet)]
        return found[n]

    def event(self, protocol: str) -> dict[str, Any]:
        return next(e for e in self.sb.events()
                    if e.get("extendedProperties", {}).get("private", {}).get("balcaoProtocol")
                    == protocol)

    def mails(self, protocol: str) -> list[str]:
        kinds = []
        for m in self.sb.messages():
            raw = base64.urlsafe_b64decode(m["raw"] + "=" * (-len(m["raw"]) % 4))
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            if protocol in str(msg["Subject"]):
                kinds.append(str(msg["Subject"]))
        return kinds

    def choose(self, protocol: str, text: str, column: str = "Situação") -> None:
        row = self.rows()[protocol]["_row"]
        self.sb.call("POST", "/_sandbox/sheet/type", {"row": row, "column": column, "text": text})

    def staff_patch(self, protocol: str, body: dict[str, Any]) -> None:
        ev = self.event(protocol)
        cal = "primary"  # the shipped config's attendant calendar
        call_json(self.sb.url, "PATCH",
                  f"/calendar/v3/calendars/{quote(cal, safe='')}/events/{ev['id']}", body,
                  token="staff")

    def still(self) -> None:
        """A further run writes, sends and books nothing."""
        before = len(self.sb.requests())
        self.once()
        methods = {r["method"] for r in self.sb.requests()[before:]}
        assert not methods & {"calendar.events.insert", "calendar.events.patch",
                              "calendar.events.delete", "gmail.users.messages.send",
                              "sheets.spreadsheets.values.batchUpdate"}, methods


@pytest.fixture
def office(sandbox_proc: SandboxProcess, run_cli: Any) -> Office:
    o = Office(sandbox_proc, run_cli)
    result = run_cli("run", "--once", "--accept-backlog")
    assert result.returncode == 0, result.stderr
    return o


def test_cancelar_deletes_the_event_and_sends_one_cancellation(office: Office) -> None:
    p = office.booked()
    office.choose(p, "cancelar")
    office.once()
    assert office.rows()[p]["Situação"] == "Cancelado"
    assert office.event(p)["status"] == "cancelled"
    assert [s for s in office.mails(p) if "cancelado" in s] == [
        f"Balcão Virtual – Atendimento cancelado – Protocolo {p}"]
    office.still()


def test_remarcar_moves_the_same_event_and_sends_one_new_confirmation(office: Office) -> None:
    p = office.booked(meet=True)
    before = office.event(p)
    office.choose(p, "Remarcar")
    office.once()
    after = office.event(p)
    assert after["id"] == before["id"] and after["start"] != before["start"]
    assert after.get("hangoutLink") == before.get("hangoutLink")
    assert office.rows()[p]["Situação"] == "Agendado"
    assert sum("remarcado" in s for s in office.mails(p)) == 1
    office.still()


def test_a_time_typed_in_atendimento_moves_the_appointment(office: Office) -> None:
    p = office.booked()
    start = datetime.fromisoformat(office.event(p)["start"]["dateTime"])
    new = (start + timedelta(days=7)).replace(hour=16, minute=15)
    office.choose(p, f"{new:%d/%m/%Y %H:%M}", column="Atendimento")
    office.once()
    assert datetime.fromisoformat(office.event(p)["start"]["dateTime"]) == new
    assert sum("remarcado" in s for s in office.mails(p)) == 1
    office.still()


def test_an_invalid_typed_time_is_refused_with_the_reason(office: Office) -> None:
    p = office.booked()
    start = office.event(p)["start"]
    office.choose(p, "25/12/2030 10:00", column="Atendimento")  # Christmas: closed
    office.once()
    row = office.rows()[p]
    assert office.event(p)["start"] == start
    assert str(row["Observação"]).endswith(": 25/12/2030 10:00")
    assert row["Situação"] == "Agendado"
    office.still()


def test_realizado_is_kept_and_nothing_is_sent(office: Office) -> None:
    p = office.booked()
    sent = len(office.mails(p))
    office.choose(p, "Realizado")
    office.once()
    assert office.rows()[p]["Situação"] == "Realizado" and len(office.mails(p)) == sent
    office.still()


def test_nao_compareceu_before_the_start_is_refused(office: Office) -> None:
    p = office.booked()
    office.choose(p, "Não compareceu")
    office.once()
    row = office.rows()[p]
    assert row["Situação"] == "Agendado"
    assert row["Observação"] == "Ação não aplicável: solicitação Agendado"


@needs_faketime
def test_nao_compareceu_after_the_start_invites_to_book_again(
    office: Office, sandbox_proc: SandboxProcess, tmp_path: Path
) -> None:
    p = office.booked()
    start = datetime.fromisoformat(office.event(p)["start"]["dateTime"])
    office.choose(p, "nao compareceu")
    env = {
        "BALCAO__GOOGLE__API_ENDPOINT": sandbox_proc.url, "BALCAO__GOOGLE__CREDENTIALS_FILE": "",
        "BALCAO__FORM__SPREADSHEET_ID": "sandbox-sheet",
        "BALCAO__JOURNAL__PATH": str(tmp_path / "journal.sqlite3"),
    }
    argv = [sys.executable, "-m", "worker", "run", "--once", "-c", str(REPO / "config.yaml")]
    result = subprocess.run(faked(argv, start + timedelta(hours=1)), cwd=tmp_path,
                            capture_output=True, text=True, env=faked_env(_env(env)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert office.rows()[p]["Situação"] == "Não compareceu"
    assert [s for s in office.mails(p) if "não realizado" in s] == [
        f"Balcão Virtual – Atendimento não realizado – Protocolo {p}"]


def test_any_action_on_a_duplicate_is_refused(office: Office) -> None:
    dup = next(p for p, r in office.rows().items() if r["Situação"] == "Duplicado")
    office.choose(dup, "Cancelar")
    office.once()
    row = office.rows()[dup]
    assert row["Situação"] == "Duplicado"
    assert row["Observação"] == "Ação não aplicável: solicitação Duplicado"
    assert office.mails(dup) == []


def test_agendado_clears_the_flag_of_a_row_whose_event_lives(office: Office) -> None:
    p = office.booked()
    row = office.rows()[p]["_row"]
    office.sb.call("POST", "/_sandbox/form/edit",
                   {"row": row, "answers": {"Assunto do atendimento": "Mudei de ideia"}})
    office.once()
    assert office.rows()[p]["Situação"] == "Requer atenção"
    office.choose(p, "Agendado")
    office.once()
    row_now = office.rows()[p]
    assert row_now["Situação"] == "Agendado" and row_now["Observação"] == ""
    office.still()


def test_an_event_moved_in_google_calendar_gets_one_new_confirmation(office: Office) -> None:
    p = office.booked(meet=True)
    ev = office.event(p)
    start = datetime.fromisoformat(ev["start"]["dateTime"]) + timedelta(days=1)
    end = datetime.fromisoformat(ev["end"]["dateTime"]) + timedelta(days=1)
    office.staff_patch(p, {"start": {"dateTime": start.isoformat()},
                           "end": {"dateTime": end.isoformat()}})
    office.once()
    assert sum("remarcado" in s for s in office.mails(p)) == 1
    assert office.rows()[p]["Situação"] == "Agendado"
    office.still()


def test_an_event_deleted_in_google_calendar_after_the_confirmation_cancels(office: Office) -> None:
    p = office.booked()
    ev = office.event(p)
    call_json(office.sb.url, "DELETE", f"/calendar/v3/calendars/primary/events/{ev['id']}",
              token="staff")
    office.once()
    assert office.rows()[p]["Situação"] == "Cancelado"
    assert sum("cancelado" in s for s in office.mails(p)) == 1
    assert len([e for e in office.sb.events() if e["id"] == ev["id"]]) == 1  # never recreated
    office.still()


def test_a_retitled_event_changes_nothing(office: Office) -> None:
    p = office.booked()
    sent = len(office.mails(p))
    office.staff_patch(p, {"summary": "Reunião interna"})
    office.once()
    assert office.rows()[p]["Situação"] == "Agendado" and len(office.mails(p)) == sent
    office.still()
