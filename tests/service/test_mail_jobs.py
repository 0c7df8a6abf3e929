"""The reminder, digest, alert and bounce jobs driven with the clock as a parameter against the memory adapters."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.service.harness import BAHIA, Harness
from worker import jobs
from worker.adapters.memory import MemoryMailer
from worker.model import AdapterError, EmailSpec

FRI = datetime(2028, 3, 3, 16, 0, tzinfo=BAHIA)  # Friday afternoon: booked for Monday 08:00
STAFF = ("equipe@cartorio.example", "chefia@cartorio.example")


def drive(h: Harness, until: datetime, step: timedelta = timedelta(minutes=15)) -> dict[str, datetime]:
    """Tick and run the due jobs every ``step`` until ``until``; when each Message-ID left."""
    first: dict[str, datetime] = {}
    while h.now <= until:
        h.tick()
        assert jobs.run_due(h.deps, h.now)
        for mid in h.mailer.message_ids():
            first.setdefault(mid, h.now)
        h.now += step
    return first


def kinds(h: Harness, to: str | None = None) -> list[str]:
    return [m.spec.kind for m in h.mailer.sent if to is None or m.spec.to == to]


def sent_of(h: Harness, kind: str) -> list[EmailSpec]:
    return [m.spec for m in h.mailer.sent if m.spec.kind == kind]


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path, FRI)


# --------------------------------------------------------------------------- reminders


def test_one_reminder_per_lead_at_its_time_with_the_quiet_hours_respected(h: Harness) -> None:
    h.submit(FRI - timedelta(minutes=1))
    left = drive(h, datetime(2028, 3, 6, 9, 0, tzinfo=BAHIA))
    rec = h.journal.all()[0]
    assert rec.slot_start == "2028-03-06T08:00:00-03:00"
    reminders = sent_of(h, "reminder")
    assert len(reminders) == 2
    assert [left[r.message_id] for r in reminders] == [
        datetime(2028, 3, 5, 8, 0, tzinfo=BAHIA),  # 24 h before, on a Sunday
        datetime(2028, 3, 6, 7, 0, tzinfo=BAHIA),  # 2 h before is 06:00, quiet: at 07:00
    ]
    assert {r.subject for r in reminders} == {
        f"Lembrete: atendimento em 06/03/2028 às 08:00 – Protocolo {rec.protocol}"
    }
    assert rec.meet_link and all(rec.meet_link in r.text for r in reminders)
    assert len(set(h.mailer.message_ids())) == len(h.mailer.message_ids())


def test_a_whatsapp_reminder_names_the_number_that_will_call(h: Harness) -> None:
    h.submit(FRI - timedelta(minutes=1), channel="Ligação de vídeo pelo WhatsApp")
    drive(h, datetime(2028, 3, 5, 9, 0, tzinfo=BAHIA), step=timedelta(hours=1))
    (reminder,) = sent_of(h, "reminder")
    assert h.s.office.whatsapp in reminder.text


def test_a_rescheduled_appointment_gets_reminders_for_its_new_time_only(h: Harness) -> None:
    h.submit(FRI - timedelta(minutes=1))
    drive(h, datetime(2028, 3, 5, 9, 0, tzinfo=BAHIA), step=timedelta(hours=1))
    assert kinds(h) == ["confirmation", "reminder"]  # the 24-hour one, Sunday 08:00
    # Staff move it to Wednesday 10:00 (what the lifecycle records: a new revision).
    rec = h.journal.all()[0]
    with h.journal.tx():
        h.journal.update(rec, revision=rec.revision + 1,
                         slot_start="2028-03-08T10:00:00-03:00", slot_end="2028-03-08T10:30:00-03:00")
    drive(h, datetime(2028, 3, 8, 11, 0, tzinfo=BAHIA), step=timedelta(minutes=30))
    assert kinds(h) == ["confirmation", "reminder", "confirmation", "reminder", "reminder"]
    new = sent_of(h, "reminder")[1:]
    assert all("08/03/2028 às 10:00" in r.subject for r in new)
    assert all(f".r{rec.revision}." in r.message_id for r in new)


@pytest.mark.parametrize("status", ["Cancelado", "Realizado", "Não compareceu"])
def test_no_reminder_for_a_cancelled_done_or_no_show_row(h: Harness, status: str) -> None:
    h.submit(FRI - timedelta(minutes=1))
    h.tick()
    rec = h.journal.all()[0]
    with h.journal.tx():
        h.journal.update(rec, status=status)
    drive(h, datetime(2028, 3, 6, 9, 0, tzinfo=BAHIA), step=timedelta(hours=1))
    assert kinds(h) == ["confirmation"]


def test_reminders_never_use_the_last_tenth_of_the_daily_limit(tmp_path: Path) -> None:
    mon = datetime(2028, 3, 6, 9, 0, tzinfo=BAHIA)
    h = Harness(tmp_path, mon, mail__daily_limit=10)
    for i in range(9):
        h.submit(mon - timedelta(minutes=1), email=f"pessoa{i}@example.com", name=f"Pessoa {i}")
    h.tick()
    assert kinds(h).count("confirmation") == 9  # citizens' answers may use the whole limit
    h.now = datetime(2028, 3, 6, 15, 0, tzinfo=BAHIA)  # the 15:15 appointment's 2-hour reminder
    assert jobs.run_due(h.deps, h.now)
    assert "reminder" not in kinds(h)
    # With room above the reserved tenth they go out.
    h.deps.settings = dataclasses.replace(
        h.s, mail=dataclasses.replace(h.s.mail, daily_limit=20)
    )
    h.now += timedelta(minutes=1)
    assert jobs.run_due(h.deps, h.now)
    (reminder,) = sent_of(h, "reminder")
    assert "às 15:15" in reminder.subject


def test_a_reminder_whose_send_was_lost_is_not_sent_twice(h: Harness) -> None:
    h.submit(FRI - timedelta(minutes=1))
    h.tick()
    h.now = datetime(2028, 3, 5, 8, 0, tzinfo=BAHIA)
    lost = AdapterError("mail: connection reset", True, outcome_unknown=True)
    h.mailer.fail_next("send", lost, after_effect=True)
    assert jobs.run_due(h.deps, h.now)
    assert kinds(h) == ["confirmation", "reminder"]
    for _ in range(3):  # the open intent is looked up in sent mail, found, never resent
        h.now += timedelta(minutes=1)
        assert jobs.run_due(h.deps, h.now)
    assert kinds(h) == ["confirmation", "reminder"]
    assert h.journal.open_intents() == []


# --------------------------------------------------------------------------- digest


def test_one_digest_per_open_day_to_each_recipient_even_when_empty(tmp_path: Path) -> None:
    # The week of Carnival 2028: Monday and Tuesday closed, Ash Wednesday opens at 14:00.
    start = datetime(2028, 2, 27, 0, 0, tzinfo=BAHIA)
    h = Harness(tmp_path, start, digest__recipients=STAFF)
    drive(h, datetime(2028, 3, 4, 23, 59, tzinfo=BAHIA), step=timedelta(minutes=20))
    digests = sent_of(h, "digest")
    assert Counter(d.to for d in digests) == {STAFF[0]: 3, STAFF[1]: 3}
    assert sorted({d.subject for d in digests}) == [
        "Balcão Virtual – agenda de 01/03/2028",
        "Balcão Virtual – agenda de 02/03/2028",
        "Balcão Virtual – agenda de 03/03/2028",
    ]
    assert len({d.message_id for d in digests}) == 6


def test_the_digest_leaves_at_its_time_and_a_late_start_after_closing_skips_it(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, datetime(2028, 3, 6, 7, 0, tzinfo=BAHIA), digest__recipients=STAFF[:1])
    left = drive(h, datetime(2028, 3, 6, 8, 0, tzinfo=BAHIA), step=timedelta(minutes=10))
    assert list(left.values()) == [datetime(2028, 3, 6, 7, 30, tzinfo=BAHIA)]
    late = Harness(tmp_path / "late", datetime(2028, 3, 7, 17, 5, tzinfo=BAHIA),
                   digest__recipients=STAFF[:1])
    drive(late, datetime(2028, 3, 7, 23, 0, tzinfo=BAHIA), step=timedelta(minutes=30))
    assert kinds(late) == []


def test_the_digest_shows_the_days_agenda_and_what_needs_attention(tmp_path: Path) -> None:
    h = Harness(tmp_path, FRI, digest__recipients=STAFF[:1])
    h.submit(FRI - timedelta(minutes=1))
    h.submit(FRI - timedelta(minutes=1), email="bad-address", name="Sem E-mail")
    drive(h, datetime(2028, 3, 6, 8, 0, tzinfo=BAHIA), step=timedelta(minutes=30))
    monday = [d for d in sent_of(h, "digest") if "06/03/2028" in d.subject]
    assert len(monday) == 1
    booked = h.journal.all()[0]
    assert f"08:00  {booked.protocol}  Ana" in monday[0].text
    assert "BV-2028-000002" in monday[0].text  # the row that needs attention


def test_a_digest_held_by_the_daily_cap_goes_out_later_that_day(tmp_path: Path) -> None:
    h = Harness(tmp_path, datetime(2028, 3, 6, 7, 30, tzinfo=BAHIA),
                digest__recipients=STAFF[:1], mail__daily_limit=10)
    # Nine sends on Sunday at 12:00 (within 24 hours until Monday 12:00): the digest may not
    # use the tenth.
    with h.journal.tx():
        for i in range(9):
            h.journal.record_intent(f"<x{i}@example>", "", "ack", 0,
                                    datetime(2028, 3, 5, 12, 0, tzinfo=BAHIA))
    assert jobs.run_due(h.deps, h.now)  # deferred, not failed
    assert kinds(h) == []
    h.now += timedelta(minutes=15)
    left = drive(h, datetime(2028, 3, 6, 14, 0, tzinfo=BAHIA))
    assert kinds(h) == ["digest"]
    assert list(left.values()) == [datetime(2028, 3, 6, 12, 15, tzinfo=BAHIA)]  # the first check past 12:00


# --------------------------------------------------------------------------- alerts


def test_one_alert_per_request_and_recipient_two_office_hours_before_the_deadline(
    tmp_path: Path,
) -> None:
    mon = datetime(2028, 3, 6, 10, 15, tzinfo=BAHIA)
    h = Harness(tmp_path, mon, scheduling__mode="manual", digest__recipients=STAFF)
    h.submit(mon)
    left = drive(h, datetime(2028, 3, 7, 12, 0, tzinfo=BAHIA))
    alerts = sent_of(h, "alert")
    assert Counter(a.to for a in alerts) == {STAFF[0]: 1, STAFF[1]: 1}
    assert {left[a.message_id] for a in alerts} == {datetime(2028, 3, 7, 8, 15, tzinfo=BAHIA)}
    assert {a.subject for a in alerts} == {
        "Balcão Virtual – prazo de resposta BV-2028-000001 vence às 10:15"
    }


def test_no_alert_once_the_confirmation_went_out(tmp_path: Path) -> None:
    mon = datetime(2028, 3, 6, 10, 15, tzinfo=BAHIA)
    h = Harness(tmp_path, mon, digest__recipients=STAFF[:1])
    h.submit(mon)
    drive(h, datetime(2028, 3, 7, 12, 0, tzinfo=BAHIA))
    assert "alert" not in kinds(h)
    assert kinds(h).count("digest") == 2  # Monday's (a start at 10:15 is before closing) and Tuesday's


# --------------------------------------------------------------------------- bounces


class _Now:
    def __init__(self, h: Harness) -> None:
        self.h = h

    def now(self) -> datetime:
        return self.h.now


def bouncing(tmp_path: Path, dead: list[str], **overrides: Any) -> Harness:
    h = Harness(tmp_path, FRI, mail__bounce_check=True, **overrides)
    h.mailer = MemoryMailer(bounce_recipients=dead, clock=_Now(h))
    h.deps = dataclasses.replace(h.deps, mailer=h.mailer)
    return h


def test_a_bounced_confirmation_flags_the_row_for_staff(tmp_path: Path) -> None:
    h = bouncing(tmp_path, ["morto@example.com"])
    ok = h.submit(FRI - timedelta(minutes=1))
    dead = h.submit(FRI - timedelta(minutes=1), email="morto@example.com", name="Beto")
    drive(h, FRI + timedelta(minutes=30), step=timedelta(minutes=10))
    assert h.cell(dead, "Situação") == "Requer atenção"
    assert h.cell(dead, "Observação") == "E-mail não entregue: contatar por telefone ou WhatsApp"
    assert h.cell(ok, "Situação") == "Agendado"
    # Flagged: no reminder goes to the dead address.
    drive(h, datetime(2028, 3, 6, 9, 0, tzinfo=BAHIA), step=timedelta(hours=1))
    assert kinds(h, "morto@example.com") == ["confirmation"]
    assert kinds(h, "ana.souza@example.com") == ["confirmation", "reminder", "reminder"]


def test_a_bounce_on_a_final_row_changes_only_the_note(tmp_path: Path) -> None:
    h = bouncing(tmp_path, [])
    row = h.submit(FRI - timedelta(minutes=1))
    h.tick()
    rec = h.journal.all()[0]
    with h.journal.tx():
        h.journal.update(rec, status="Realizado")
    conf = h.mailer.message_ids()[0]
    h.now += timedelta(minutes=5)
    h.mailer.bounce(conf, rec.email, h.now)
    assert jobs.run_due(h.deps, h.now)
    h.tick()
    after = h.journal.get(rec.protocol)
    assert after is not None and after.status == "Realizado"
    assert after.reason == "E-mail não entregue: contatar por telefone ou WhatsApp"
    assert h.cell(row, "Observação") == after.reason


def test_a_bounced_staff_email_is_only_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = bouncing(tmp_path, ["equipe@cartorio.example"], digest__recipients=STAFF[:1])
    h.now = datetime(2028, 3, 6, 7, 30, tzinfo=BAHIA)
    h.submit(h.now - timedelta(minutes=1))
    drive(h, h.now + timedelta(minutes=30), step=timedelta(minutes=10))
    assert "digest" in kinds(h)
    assert any("staff e-mail (digest) was not delivered" in r.getMessage() for r in caplog.records)
    assert {r.status for r in h.journal.all()} == {"Agendado"}


def test_bounces_are_read_at_most_every_ten_minutes_and_handled_once(tmp_path: Path) -> None:
    h = bouncing(tmp_path, ["morto@example.com"])
    h.submit(FRI - timedelta(minutes=1), email="morto@example.com")
    h.tick()
    reads = h.mailer.count("find_bounces")
    for minute in range(0, 30, 2):
        jobs.run_due(h.deps, FRI + timedelta(minutes=minute))
    assert h.mailer.count("find_bounces") - reads == 3  # at 0, 10 and 20 minutes
    # Staff clear the flag: the same report read again over the overlap never re-flags.
    rec = h.journal.all()[0]
    assert rec.status == "Requer atenção"
    with h.journal.tx():
        h.journal.update(rec, problem="", status="Agendado", reason="")
    jobs.run_due(h.deps, FRI + timedelta(minutes=40))
    after = h.journal.get(rec.protocol)
    assert after is not None and after.status == "Agendado"
    assert [a["event"] for a in h.journal.audit_trail(rec.protocol)].count("bounced") == 1


def test_a_bounce_is_found_whatever_balcaos_clock_says(tmp_path: Path) -> None:
    # The mailbox's clock is two years behind balcao's (a moved clock, a skewed server): the
    # search goes by the reports' own times, never by balcao's.
    h = bouncing(tmp_path, ["morto@example.com"])
    h.mailer.clock = FixedClockAt(datetime(2026, 1, 5, 10, 0, tzinfo=BAHIA))
    first = h.submit(FRI - timedelta(minutes=1), email="morto@example.com")
    drive(h, FRI + timedelta(minutes=20), step=timedelta(minutes=10))
    assert h.cell(first, "Situação") == "Requer atenção"
    # A second report, later by the mailbox's clock, is found by the next check.
    h.mailer.clock = FixedClockAt(datetime(2026, 1, 5, 11, 0, tzinfo=BAHIA))
    second = h.submit(h.now - timedelta(minutes=1), email="morto@example.com", name="Outro Nome")
    drive(h, h.now + timedelta(minutes=30), step=timedelta(minutes=10))
    assert h.cell(second, "Situação") == "Requer atenção"


class FixedClockAt:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


# --------------------------------------------------------------------------- recovery


def test_after_a_recovery_reminders_whose_time_passed_are_not_sent_again(tmp_path: Path) -> None:
    from worker import recovery
    from worker.journal import Journal

    h = Harness(tmp_path, FRI)
    h.submit(FRI - timedelta(minutes=1))
    drive(h, datetime(2028, 3, 5, 9, 0, tzinfo=BAHIA), step=timedelta(hours=1))
    assert kinds(h) == ["confirmation", "reminder"]  # the 24-hour one, Sunday 08:00
    # The journal is lost; `balcao recover` rebuilds it from Google on Sunday at 09:00.
    rebuilt = Journal(str(tmp_path / "rebuilt.sqlite3"))
    recovery.recover_into(rebuilt, h.s, h.sheet, h.calendar, h.mailer, now=h.now)
    assert set(rebuilt.job_runs().values()) == {h.now}
    h.journal = h.deps.journal = rebuilt
    drive(h, datetime(2028, 3, 6, 9, 0, tzinfo=BAHIA), step=timedelta(hours=1))
    # Only the 2-hour reminder, at 07:00 on Monday: the 24-hour one counts as sent.
    assert kinds(h) == ["confirmation", "reminder", "reminder"]
    assert len(set(h.mailer.message_ids())) == 3


def test_a_job_email_left_open_past_its_time_is_closed_by_the_daily_housekeeping(
    h: Harness,
) -> None:
    h.submit(FRI - timedelta(minutes=1))
    h.tick()
    h.now = datetime(2028, 3, 5, 8, 0, tzinfo=BAHIA)
    lost = AdapterError("mail: connection reset", True, outcome_unknown=True)
    h.mailer.fail_next("send", lost)  # refused before acting: never sent, outcome unknown
    assert jobs.run_due(h.deps, h.now)
    # balcao stops until after the appointment: the 24-hour reminder is no longer owed.
    h.now = datetime(2028, 3, 7, 9, 0, tzinfo=BAHIA)
    assert [e.kind for e in h.journal.open_intents()] == ["reminder-24h"]
    assert jobs.run_due(h.deps, h.now)
    assert h.journal.open_intents() == []
    assert kinds(h) == ["confirmation"]
    assert [a["event"] for a in h.journal.audit_trail(h.journal.all()[0].protocol)][-1] == "expired"


# --------------------------------------------------------------------------- with the staff lifecycle


def test_a_time_typed_by_staff_moves_the_reminders_and_cancelar_stops_them(h: Harness) -> None:
    from tests.service.harness import serial

    row = h.submit(FRI - timedelta(minutes=1))
    drive(h, datetime(2028, 3, 5, 9, 0, tzinfo=BAHIA), step=timedelta(hours=1))
    assert kinds(h) == ["confirmation", "reminder"]  # Monday 08:00's 24-hour reminder
    # Sunday: staff type Wednesday 10:00 in Atendimento; a new confirmation, then the new
    # time's reminders only (none for Monday 08:00 any more).
    h.sheet.set_cell(row, h.col("Atendimento"), serial(datetime(2028, 3, 8, 10, 0, tzinfo=BAHIA)))
    drive(h, datetime(2028, 3, 8, 9, 0, tzinfo=BAHIA), step=timedelta(hours=1))
    moved = [m.spec for m in h.mailer.sent][2:]
    assert [m.kind for m in moved] == ["confirmation", "reminder", "reminder"]
    assert all("08/03/2028 às 10:00" in m.subject for m in moved)
    # A second booking, cancelled by staff before its reminders: none is sent.
    other = h.submit(h.now - timedelta(minutes=1), email="bia@example.com", name="Bia Reis")
    h.tick()
    h.sheet.set_cell(other, h.col("Situação"), "Cancelar")
    drive(h, datetime(2028, 3, 12, 9, 0, tzinfo=BAHIA), step=timedelta(hours=2))
    assert kinds(h, "bia@example.com") == ["confirmation", "cancellation"]
