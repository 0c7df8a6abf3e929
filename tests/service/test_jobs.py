"""Named jobs: due from now and the last run the journal keeps; retention never erases open work; the journal is private."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.service.harness import BAHIA, Harness
from worker import jobs
from worker.journal import Journal

MON = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path, MON, privacy__retention_days=30)


def test_retention_runs_once_per_office_day_and_a_restart_neither_repeats_nor_skips_it(
    h: Harness,
) -> None:
    def daily(now: datetime) -> list[str]:  # reminders are planned at every check besides
        return [j.name for j in jobs.due(h.deps, now) if j.name != "reminders"]

    assert daily(MON) == ["retention"]
    assert jobs.run_due(h.deps, MON)
    assert daily(MON + timedelta(hours=13)) == []  # 23:00, same office day
    # The last run is in the journal: a new process on it sees the same, and the next
    # office day makes the job due again.
    reopened = Journal(h.s.journal.path)
    assert reopened.job_runs()["retention"] == MON
    reopened.close()
    assert daily(MON + timedelta(hours=14)) == ["retention"]


def test_retention_erases_finished_requests_but_never_open_work(h: Harness) -> None:
    done = h.submit(MON - timedelta(hours=2), email="ana@example.com")
    waiting = h.submit(MON - timedelta(hours=1), email="bruno@example.com", name="Bruno")
    h.tick()
    p_done, p_wait = h.cell(done, "Protocolo"), h.cell(waiting, "Protocolo")
    # The second one still owes its confirmation (the send failed for now).
    rec = h.journal.get(p_wait)
    assert rec is not None
    with h.journal.tx():
        h.journal.update(rec, conf_state="", status="Pendente", problem="transient")
    later = MON + timedelta(days=60)
    assert jobs.run_due(h.deps, later)
    gone, kept = h.journal.get(p_done), h.journal.get(p_wait)
    assert gone is not None and gone.email == "" and gone.name == "" and gone.purged_at
    assert kept is not None and kept.email == "bruno@example.com" and kept.purged_at is None


def test_a_failing_job_stays_due_and_does_not_stop_the_others(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []

    def boom(deps: object, now: datetime) -> None:
        raise RuntimeError("bug")

    custom = (jobs.Job("first", jobs.daily, boom),
              jobs.Job("second", jobs.daily, lambda d, n: ran.append("second")))
    assert not jobs.run_due(h.deps, MON, custom)
    assert ran == ["second"]
    assert [j.name for j in jobs.due(h.deps, MON, custom)] == ["first"]


def test_the_journal_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        j = Journal(str(tmp_path / "j.sqlite3"))
        with j.tx():
            j.set_meta("x", "1")
        j.close()
    finally:
        os.umask(old)
    for name in ("j.sqlite3", "j.sqlite3-wal"):
        p = tmp_path / name
        if p.exists():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, name


def test_retention_erases_a_large_backlog_in_bounded_batches_and_stays_due_until_done(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker import erasure

    monkeypatch.setattr(erasure, "RETENTION_BATCH", 2)
    for i in range(3):
        h.submit(MON - timedelta(hours=3 - i), email=f"p{i}@example.com", name=f"Pessoa {i}")
    h.tick()
    later = MON + timedelta(days=60)
    assert jobs.run_due(h.deps, later)
    left = [r for r in h.journal.all() if r.email]
    assert len(left) == 1  # one batch of two
    assert "retention" in [j.name for j in jobs.due(h.deps, later + timedelta(minutes=1))]
    assert jobs.run_due(h.deps, later + timedelta(minutes=1))
    assert [r for r in h.journal.all() if r.email] == []
    assert "retention" not in [j.name for j in jobs.due(h.deps, later + timedelta(minutes=2))]
