"""Process-level faults: a full or corrupt journal, two instances, SIGTERM, staff deleting an event, a lost journal."""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest

from worker.runner import MAX_PAGES_ENV

from .conftest import (
    MESSAGES_SEND,
    VALUES_BATCH_GET,
    Balcao,
    Sandbox,
    check_invariants,
    wait_for,
)

pytestmark = pytest.mark.e2e

N = 3


def submit(sb: Sandbox, n: int = N, start: int = 0) -> None:
    for i in range(start, start + n):
        sb.submit(i)


# --------------------------------------------------------------------------- the journal


def test_full_journal_stops_effects_before_any_google_call(sb: Sandbox, balcao: Balcao) -> None:
    submit(sb, 1)
    assert balcao.run().returncode == 0
    # Disk full, emulated: no free page, and the journal may not grow (PRAGMA max_page_count).
    with sqlite3.connect(str(balcao.journal_path)) as conn:
        conn.execute("VACUUM")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    submit(sb, 2, start=1)
    before = len(sb.requests())
    full = balcao.run(env={MAX_PAGES_ENV: str(pages)})
    assert full.returncode == 1
    assert "database or disk is full" in full.stderr and "before any Google call" in full.stderr
    assert sb.requests()[before:] == []  # not even a read
    assert balcao.run().returncode == 0  # room again: it resumes by itself
    summary = check_invariants(sb, balcao, submitted=N)
    assert summary.statuses["Agendado"] == N and len(summary.mails) == N


def test_corrupt_journal_is_refused_at_start_with_the_recover_hint(sb: Sandbox, balcao: Balcao) -> None:
    submit(sb, 1)
    assert balcao.run().returncode == 0
    with sqlite3.connect(str(balcao.journal_path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(balcao.journal_path.read_bytes())
    page = 4096
    for i in range(page * 2, len(data), 7):  # scribble over every page but the header's
        data[i] = 0xA5
    balcao.journal_path.write_bytes(bytes(data))
    before = len(sb.requests())
    result = balcao.run()
    assert result.returncode == 1
    assert "balcao recover" in result.stderr or "malformed" in result.stderr
    assert sb.requests()[before:] == []


def test_a_second_instance_exits_3_while_the_first_runs_then_sigterm_ends_the_first(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb)
    proc, log = balcao.start()
    try:
        wait_for(lambda: "tick ok" in log.read_text(), what="the first tick")
        second = balcao.run()
        assert second.returncode == 3
        assert "another balcao instance" in second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "balcao stopped" in log.read_text()
    check_invariants(sb, balcao, submitted=N)


def test_sigterm_mid_tick_stops_sending_flushes_the_sheet_and_exits_within_10s(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb, 4)
    # Every send answers after 0.7 s: SIGTERM lands while the tick is still sending.
    sb.fault(MESSAGES_SEND, method="POST", delay_s=0.7, times=1000)
    proc, log = balcao.start()
    try:
        wait_for(lambda: sb.count("gmail.users.messages.send") >= 1, what="the first send")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "stopping: no new effects" in text and "balcao stopped" in text
    # The batch write was flushed: every row has its protocol and status, the journal agrees.
    stopped = check_invariants(sb, balcao, submitted=4, quiescent=False)
    assert 1 <= len(stopped.mails) < 4
    assert stopped.statuses["Agendado"] == len(stopped.mails)
    assert balcao.open_intents() == []  # the sends never attempted were released
    sb.clear_faults()
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=4)
    assert summary.statuses["Agendado"] == 4 and len(summary.mails) == 4


def test_a_second_sigterm_exits_at_once(sb: Sandbox, balcao: Balcao) -> None:
    submit(sb, 1)
    sb.fault(VALUES_BATCH_GET, delay_s=30, times=1)  # the first read hangs
    proc, log = balcao.start()
    try:
        wait_for(lambda: "balcao running" in log.read_text(), what="the daemon to start")
        proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "finishing the current request" in log.read_text(), what="the first signal")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 128 + signal.SIGTERM
        assert time.monotonic() - t0 < 5
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "second signal" in log.read_text()
    assert sb.messages() == []


# --------------------------------------------------------------------------- staff


def _delete_event(sb: Sandbox, event: dict[str, object]) -> None:
    from tests.clients import make_google_service

    cal = make_google_service("calendar", "v3", sb.url)
    cal.events().delete(calendarId="primary", eventId=event["id"]).execute()


def test_event_deleted_by_staff_after_booking_is_never_recreated(sb: Sandbox, balcao: Balcao) -> None:
    submit(sb, 2)
    assert balcao.run().returncode == 0
    _delete_event(sb, sb.events()[0])
    for _ in range(2):
        assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=2, staff_deleted_ok=True)
    assert len(summary.events) == 2 and sum(e["status"] == "cancelled" for e in summary.events) == 1
    # Deleted after its confirmation: the request is cancelled and the citizen told, once.
    assert summary.statuses == {"Agendado": 1, "Cancelado": 1}
    assert sorted(m.kind for m in summary.mails) == ["cancellation", "confirmation", "confirmation"]
    assert sb.count("calendar.events.insert") == 2  # and nothing booked again


def test_event_deleted_by_staff_while_its_intent_was_open_is_flagged_not_recreated(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb, 1)
    assert balcao.run(crash_at="after_event_insert").returncode == -signal.SIGKILL
    _delete_event(sb, sb.events()[0])
    assert balcao.run().returncode == 0
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=1)
    assert summary.rows[0]["status"] == "Requer atenção"
    assert "excluído" in summary.rows[0]["reason"]
    assert [e["status"] for e in summary.events] == ["cancelled"]
    assert summary.mails == []  # no confirmation of a deleted appointment
    assert sb.count("calendar.events.insert") == 1


# --------------------------------------------------------------------------- recover


def test_lost_journal_is_rebuilt_by_recover_and_nothing_is_sent_or_booked_again(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb)
    assert balcao.run().returncode == 0
    before = check_invariants(sb, balcao, submitted=N)
    for suffix in ("", "-wal", "-shm"):
        p = balcao.journal_path.with_name(balcao.journal_path.name + suffix)
        if p.exists():
            p.unlink()
    n = len(sb.requests())
    recovered = balcao.run("recover", env={"BALCAO__MAIL__SENT_CHECK": "true"})
    assert recovered.returncode == 0, recovered.stderr
    assert f"{N} requests" in recovered.stdout and "nothing was sent or booked" in recovered.stdout
    assert not {r["method"] for r in sb.requests()[n:]} & {
        "calendar.events.insert", "gmail.users.messages.send", "sheets.spreadsheets.values.batchUpdate"}
    for _ in range(2):
        assert balcao.run().returncode == 0
    after = check_invariants(sb, balcao, submitted=N)
    assert len(after.mails) == len(before.mails) and len(after.events) == len(before.events)
    assert not {r["method"] for r in sb.requests()[n:]} & {
        "calendar.events.insert", "gmail.users.messages.send"}
    # New work continues the numbering.
    submit(sb, 1, start=N)
    assert balcao.run().returncode == 0
    final = check_invariants(sb, balcao, submitted=N + 1)
    assert sorted(r["protocol"] for r in final.rows)[-1].endswith(f"{N + 1:06d}")
