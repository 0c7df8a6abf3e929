"""End to end: the agenda balcao builds from the sample, and what staff and citizens do to the sheet."""

from __future__ import annotations

import itertools
import sqlite3
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker import bootstrap, config

from .conftest import REPO, SandboxProcess

pytestmark = pytest.mark.e2e
BAHIA = ZoneInfo("America/Bahia")


def _rows(sb: SandboxProcess) -> tuple[list[str], list[list[object]]]:
    sheet = sb.sheet()
    header = [str(h) for h in sheet[0]]
    return header, [r for r in sheet[1:] if any(c not in ("", None) for c in r)]


def _by_email(sb: SandboxProcess) -> dict[str, tuple[object, object]]:
    header, rows = _rows(sb)
    e, p, s = (header.index(t) for t in ("Endereço de e-mail", "Protocolo", "Situação"))
    return {str(r[e]): (r[p] if p < len(r) else "", r[s] if s < len(r) else "") for r in rows}


def test_sample_agenda_has_no_overlap_and_respects_hours_and_periods(
    sandbox_proc: SandboxProcess, run_cli, tmp_path: Path
) -> None:
    assert run_cli("run", "--once", "--accept-backlog").returncode == 0
    office = bootstrap.office_calendar(config.load(REPO / "config.yaml", environ={}))
    journal = sqlite3.connect(tmp_path / "journal.sqlite3")
    periods = dict(journal.execute("SELECT event_id, period FROM requests WHERE event_id IS NOT NULL"))
    per_calendar: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    calendars = sandbox_proc.state()["calendars"]
    events = [
        (cal, e) for cal, body in calendars.items() for e in body["events"]
        if e.get("status") != "cancelled"
    ]
    assert len(events) >= 15
    for cal, ev in events:
        start = datetime.fromisoformat(ev["start"]["dateTime"]).astimezone(BAHIA)
        end = datetime.fromisoformat(ev["end"]["dateTime"]).astimezone(BAHIA)
        # Inside one open interval of an open day (a reduced day's hours included).
        assert office.is_open(start) and office.is_open(end - timedelta(seconds=1)), ev["summary"]
        period = periods[ev["id"]]
        if period == "morning":
            assert start.hour < 12
        elif period == "afternoon":
            assert start.hour >= 12
        per_calendar[cal].append((start, end))
    for spans in per_calendar.values():
        spans.sort()
        for (_, end), (nxt, _) in itertools.pairwise(spans):
            assert end <= nxt
    # Each Meet event's link is the one in its confirmation.
    links = {e["hangoutLink"] for _, e in events if e.get("hangoutLink")}
    import base64
    import email
    import email.policy

    bodies = []
    for m in sandbox_proc.messages():
        msg = email.message_from_bytes(base64.urlsafe_b64decode(m["raw"] + "=="),
                                       policy=email.policy.default)
        bodies.append(msg.get_body(preferencelist=("plain",)).get_content())
    assert links and all(any(link in b for b in bodies) for link in links)


def test_staff_sort_insert_delete_type_and_a_respondent_edit_keep_every_row_right(
    sandbox_proc: SandboxProcess, run_cli
) -> None:
    assert run_cli("run", "--once", "--accept-backlog").returncode == 0
    before = _by_email(sandbox_proc)
    sent = len(sandbox_proc.messages())
    # Staff: sort by e-mail, insert a column of their own, delete a row; a sort is also armed
    # to happen between balcao's next read and its write.
    sandbox_proc.call("POST", "/_sandbox/sheet/sort", {"column": "Endereço de e-mail", "descending": True})
    sandbox_proc.call("POST", "/_sandbox/sheet/insert_column", {"index": 3, "title": "Notas da equipe"})
    header, rows = _rows(sandbox_proc)
    victim = str(rows[4][header.index("Endereço de e-mail")])
    sandbox_proc.call("POST", "/_sandbox/sheet/delete_row", {"row": 6})
    sandbox_proc.call("POST", "/_sandbox/sheet/type", {"row": 2, "column": "Notas da equipe", "text": "=1+1"})
    now = datetime.now(BAHIA)
    new = sandbox_proc.call("POST", "/_sandbox/form/submit", {"answers": {
        "Endereço de e-mail": "nova.pessoa@example.com", "Nome completo": "Nova Pessoa",
        "Telefone com DDD (WhatsApp)": "(71) 99999-1234", "Como prefere ser atendido?": "Google Meet",
        "Serviço": "Procuração", "Assunto do atendimento": "Dúvida",
        "Período de preferência": "Sem preferência",
        "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
    }, "at": now.isoformat()})
    sandbox_proc.call("POST", "/_sandbox/sheet/sort", {"column": "Carimbo de data/hora",
                                                        "when": "before_next_write"})
    for _ in range(3):
        assert run_cli("run", "--once").returncode == 0
    after = _by_email(sandbox_proc)
    for email, value in before.items():
        if email != victim:
            assert after[email] == value, email  # same protocol and status on its own row
    assert victim not in after
    protocol, status = after["nova.pessoa@example.com"]
    assert str(protocol).startswith("BV-") and status == "Agendado"
    assert new["row"] >= 2
    # A respondent edits an answered request: flagged, never re-processed.
    header, rows = _rows(sandbox_proc)
    email_col = header.index("Endereço de e-mail")
    target = next(i for i, r in enumerate(rows, start=2) if r[email_col] == "nova.pessoa@example.com")
    sandbox_proc.call("POST", "/_sandbox/form/edit", {"row": target, "answers": {
        "Assunto do atendimento": "Outro assunto"}})
    assert run_cli("run", "--once").returncode == 0
    protocol_after, status = _by_email(sandbox_proc)["nova.pessoa@example.com"]
    assert protocol_after == protocol and status == "Requer atenção"
    # Exactly one more e-mail (the new request's confirmation); no protocol twice.
    assert len(sandbox_proc.messages()) == sent + 1
    protocols = [p for p, _ in _by_email(sandbox_proc).values() if p]
    assert len(protocols) == len(set(protocols))
    assert Counter(type(p) for p in protocols) == Counter({str: len(protocols)})
