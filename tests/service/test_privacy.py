"""Personal data (DESIGN §9) on the memory adapters: export, erasure everywhere, legal hold, resuming an interrupted erasure, retention under a moved clock."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from worker import erasure, jobs, privacy
from worker.privacy import Subject

from .harness import BAHIA, Harness

MON = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)
ANA = {"email": "Ana.Souza+balcao@gmail.com", "name": "Ana Beatriz Souza",
       "phone": "(71) 99876-5432", "subject": "Inventário da avó Joana"}
BRUNO = {"email": "bruno@example.com", "name": "Bruno Lima", "phone": "(71) 98765-1111",
         "subject": "Escritura do sítio"}


def personal(who: dict[str, str]) -> list[str]:
    return [who["email"], who["name"], who["phone"], who["subject"], "Ana.Souza", "99876"]


def journal_bytes(h: Harness) -> bytes:
    path = Path(h.s.journal.path)
    out = path.read_bytes()
    for extra in (Path(f"{path}-wal"), Path(f"{path}-journal")):
        if extra.exists():
            out += extra.read_bytes()
    return out


def holds(h: Harness, text: str) -> bool:
    """True when the sheet, an event or the journal file still carries ``text``."""
    needle = text.casefold()
    cells = [str(c).casefold() for row in h.sheet.values() for c in row]
    events = [repr(e.spec).casefold() for e in h.calendar.all_events()]
    return (
        any(needle in c for c in cells) or any(needle in e for e in events)
        or text.encode() in journal_bytes(h)
    )


def booked(h: Harness, who: dict[str, str], at: datetime) -> str:
    row = h.submit(at, **who)
    h.tick()
    protocol = str(h.cell(row, "Protocolo"))
    assert h.cell(row, "Situação") == "Agendado"
    return protocol


def erase(h: Harness, *, yes: bool = True, **subject: str) -> tuple[int, str]:
    out = io.StringIO()
    code = privacy.erase(h.deps, Subject(**subject), h.now, yes=yes, out=out)
    return code, out.getvalue()


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path, MON)


def test_an_address_reaches_the_same_inbox_whatever_its_case_dots_or_tag() -> None:
    from worker.planners.retention import mailbox

    assert mailbox("Ana.Souza+balcao@GoogleMail.com") == "anasouza@gmail.com"
    assert mailbox(" ANASOUZA@gmail.com ") == "anasouza@gmail.com"
    assert mailbox("Ana.Souza+x@Cartorio.Example") == "ana.souza@cartorio.example"
    assert mailbox("ana.souza@cartorio.example") != mailbox("anasouza@cartorio.example")


def test_export_by_an_alias_of_the_address_reports_every_answer_email_event_and_audit(
    h: Harness,
) -> None:
    p = booked(h, ANA, MON - timedelta(hours=1))
    booked(h, BRUNO, MON - timedelta(minutes=30))
    doc = privacy.export(h.deps, Subject(email="anasouza@googlemail.com"), h.now)
    assert doc["subject"] == {"email": "anasouza@googlemail.com"}
    assert [r["protocol"] for r in doc["requests"]] == [p]
    req = doc["requests"][0]
    assert set(req) == {"protocol", "submitted_at", "answers", "status", "deadline",
                        "appointment", "channel", "link", "emails", "events", "audit"}
    assert req["answers"]["Nome completo"] == ANA["name"]
    assert req["answers"]["Assunto do atendimento"] == ANA["subject"]
    assert "Protocolo" not in req["answers"]
    assert req["status"] == "Agendado" and req["channel"] == "meet"
    assert [e["kind"] for e in req["emails"]] == ["confirmation"]
    assert req["events"][0]["status"] == "confirmed"
    assert any(a["event"] == "claimed" for a in req["audit"])
    json.dumps(doc, ensure_ascii=False)
    assert privacy.export(h.deps, Subject(email="ninguem@example.com"), h.now)["requests"] == []


def test_erasure_leaves_no_trace_of_the_subject_in_sheet_calendar_or_journal_bytes(
    h: Harness,
) -> None:
    p = booked(h, ANA, MON - timedelta(days=3))
    q = booked(h, BRUNO, MON - timedelta(days=3, minutes=-30))
    h.advance(days=10)  # both appointments are past
    code, text = erase(h, email="anasouza@gmail.com")
    assert code == 0 and p in text and "Sent folder" in text
    assert f"rfc822msgid:<{p.lower()}.confirmation" in text  # what to delete there by hand
    for secret in personal(ANA):
        assert not holds(h, secret), secret
    row = h.row_of(p)
    assert h.cell(row, "Nome completo") == "[removido]"
    assert h.cell(row, "Protocolo") == p and h.cell(row, "Situação") == "Agendado"
    assert isinstance(h.cell(row, "Carimbo de data/hora"), float)
    event = next(e for e in h.calendar.all_events() if e.spec.protocol == p)
    assert event.spec.summary == f"Balcão Virtual {p}" and event.status == "confirmed"
    rec = h.journal.get(p)
    assert rec is not None and (rec.email, rec.name, rec.phone, rec.fingerprint) == ("", "", "", "")
    assert rec.channel == "meet" and rec.service and rec.status == "Agendado"
    # Bruno's data is untouched.
    for kept in (BRUNO["name"], BRUNO["email"], BRUNO["subject"]):
        assert holds(h, kept)
    assert h.cell(h.row_of(q), "Nome completo") == BRUNO["name"]
    out = io.StringIO()
    privacy.register(h.journal, "America/Bahia", out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "data,motivo,protocolos,planilha,agenda,diario"
    assert lines[1] == f"2028-03-16,pedido do titular,{p},1,1,1"


def test_a_future_appointment_is_cancelled_with_the_citizen_told_before_the_address_goes(
    h: Harness,
) -> None:
    p = booked(h, ANA, MON - timedelta(hours=1))
    code, text = erase(h, protocol=p)
    assert code == 0 and "cancelled" in text
    sent = [m.spec for m in h.mailer.sent if p in m.spec.subject]
    assert [s.kind for s in sent][-1] == "cancellation"
    assert sent[-1].to == ANA["email"].casefold() or sent[-1].to == ANA["email"]
    event = next(e for e in h.calendar.all_events() if e.spec.protocol == p)
    assert event.status == "cancelled" and event.spec.summary == f"Balcão Virtual {p}"
    assert event.spec.attendee_email is None and event.spec.description == ""
    assert h.cell(h.row_of(p), "Situação") == "Cancelado"
    assert not holds(h, ANA["name"])


def test_the_dry_run_changes_nothing_and_says_what_would_go(h: Harness) -> None:
    p = booked(h, ANA, MON - timedelta(hours=1))
    before = h.sheet.values()
    code, text = erase(h, yes=False, email=ANA["email"])
    assert code == 0 and "dry run" in text and p in text and "cancelled" in text
    assert h.sheet.values() == before
    assert h.journal.privacy.eliminations() == []


def test_a_protocol_on_legal_hold_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    h = Harness(tmp_path, MON)
    p = booked(h, ANA, MON - timedelta(hours=1))
    hold = dataclasses.replace(h.s.privacy, legal_hold=(p,))
    h.deps.settings = dataclasses.replace(h.s, privacy=hold)
    before = h.sheet.values()
    code, text = erase(h, email=ANA["email"])
    assert code == 1 and "legal hold" in text
    assert h.sheet.values() == before and h.journal.privacy.eliminations() == []


def test_erasing_twice_is_harmless_and_an_erased_row_is_never_worked_on_again(
    h: Harness,
) -> None:
    p = booked(h, ANA, MON - timedelta(days=2))
    h.advance(days=5)
    assert erase(h, email=ANA["email"])[0] == 0
    assert erase(h, email=ANA["email"]) == (0, f"nothing to erase for {ANA['email']}\n")
    code, text = erase(h, protocol=p)
    assert code == 0 and "already erased" in text
    assert len(h.journal.privacy.eliminations()) == 1
    # The respondent edits the erased row in the Form: the timestamp changes in place.
    row = h.row_of(p)
    h.sheet.set_cell(row, h.col("Carimbo de data/hora"), h.cell(row, "Carimbo de data/hora") + 0.01)
    sent = len(h.mailer.sent)
    for _ in range(2):
        h.advance(minutes=1)
        h.tick()
    assert h.cell(row, "Situação") == "Agendado" and h.cell(row, "Protocolo") == p
    assert len(h.mailer.sent) == sent
    assert len({str(r[9]) for r in h.sheet.values()[1:]}) == 1  # no new protocol


def test_an_erasure_interrupted_halfway_is_completed_with_its_register_line(
    h: Harness,
) -> None:
    p = booked(h, ANA, MON - timedelta(days=2))
    h.advance(days=5)
    with h.journal.tx():  # the intent was committed, then the process died
        h.journal.privacy.begin(h.now, erasure.REASON_SUBJECT, [p])
    h.tick()  # the daemon meanwhile leaves it alone
    assert h.journal.privacy.eliminations(state="intent")
    code, text = erase(h, email=ANA["email"])
    assert code == 0 and "interrupted" in text
    [line] = h.journal.privacy.eliminations()
    assert line.state == "done" and line.protocols == (p,) and line.sheet == 1
    assert not holds(h, ANA["name"])


def test_retention_under_a_moved_clock_erases_old_finished_requests_only(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, MON, privacy__retention_days=30)
    old = booked(h, ANA, MON - timedelta(hours=2))
    h.advance(days=25)
    recent = booked(h, BRUNO, h.now - timedelta(hours=1))
    h.advance(days=10)  # Ana's appointment ended 35 days ago, Bruno's 10 days ago
    assert jobs.run_due(h.deps, h.now)
    assert not holds(h, ANA["name"]) and not holds(h, ANA["subject"])
    assert holds(h, BRUNO["name"])
    [line] = h.journal.privacy.eliminations()
    assert (line.reason, line.protocols) == ("retenção", (old,))
    rec = h.journal.get(recent)
    assert rec is not None and rec.email == BRUNO["email"]


def test_erasing_a_request_still_waiting_cancels_it_and_leaves_no_intent_open(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, MON, scheduling__mode="manual")
    row = h.submit(MON - timedelta(hours=1), **ANA)
    h.tick()
    p = str(h.cell(row, "Protocolo"))
    assert h.cell(row, "Situação") == "Recebido"  # acknowledged, waiting for staff
    code, _ = erase(h, protocol=p)
    assert code == 0
    assert [m.spec.kind for m in h.mailer.sent] == ["ack", "cancellation"]
    assert h.cell(row, "Situação") == "Cancelado"
    assert h.journal.open_intents() == []
    h.advance(minutes=5)
    h.tick()
    assert len(h.mailer.sent) == 2 and h.cell(row, "Situação") == "Cancelado"


def test_erasing_a_protocol_also_erases_its_duplicado_rows(h: Harness) -> None:
    first = h.submit(MON - timedelta(days=2, minutes=5), **ANA)
    again = h.submit(MON - timedelta(days=2, minutes=3), **ANA)
    h.tick()
    p, dup = str(h.cell(first, "Protocolo")), str(h.cell(again, "Protocolo"))
    assert h.cell(again, "Situação") == "Duplicado"
    h.advance(days=5)
    doc = privacy.export(h.deps, Subject(protocol=p.lower()), h.now)
    assert [r["protocol"] for r in doc["requests"]] == [p, dup]
    assert erase(h, protocol=p)[0] == 0
    assert h.cell(again, "Nome completo") == "[removido]"
    assert h.cell(again, "Situação") == "Duplicado"
    [line] = h.journal.privacy.eliminations()
    assert line.protocols == (p, dup) and line.sheet == 2 and line.journal == 2
    assert not holds(h, ANA["name"])


def test_a_journal_rebuilt_by_recover_keeps_erased_rows_erased(h: Harness, tmp_path: Path) -> None:
    from worker.journal import Journal
    from worker.recovery import recover_into

    p = booked(h, ANA, MON - timedelta(days=2))
    h.advance(days=5)
    assert erase(h, protocol=p)[0] == 0
    rebuilt = Journal(str(tmp_path / "rebuilt.sqlite3"))
    recover_into(rebuilt, h.s, h.sheet, h.calendar, h.mailer, now=h.now)
    rec = rebuilt.get(p)
    assert rec is not None and rec.erasure_id == 0 and rec.email == "" and rec.purged_at


def test_the_note_of_an_invalid_address_no_longer_quotes_it_after_erasure(h: Harness) -> None:
    row = h.submit(MON - timedelta(days=2), email="ana@exemplo-invalido", name=ANA["name"])
    h.tick()
    p = str(h.cell(row, "Protocolo"))
    assert h.cell(row, "Situação") == "Requer atenção"
    h.advance(days=5)
    assert erase(h, protocol=p)[0] == 0
    assert h.cell(row, "Observação") == "E-mail inválido"
    assert not holds(h, "exemplo-invalido") and not holds(h, ANA["name"])


def test_a_flagged_row_is_found_by_its_address_in_the_sheet(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1), consent="", **ANA)
    h.tick()
    p = str(h.cell(row, "Protocolo"))
    assert h.cell(row, "Situação") == "Requer atenção"
    doc = privacy.export(h.deps, Subject(email="anasouza@gmail.com"), h.now)
    assert [r["protocol"] for r in doc["requests"]] == [p]
    assert erase(h, email="anasouza@gmail.com")[0] == 0
    assert not holds(h, ANA["name"]) and not holds(h, ANA["phone"])
