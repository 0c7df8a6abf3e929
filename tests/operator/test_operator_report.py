"""`balcao report`: per-status counts, deadlines kept vs missed, median wait, e-mails vs the cap."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from opkit import seed_journal

from worker import config
from worker.journal import Journal
from worker.report import _duration, run_report

NOW = datetime(2026, 3, 18, 10, 0, tzinfo=ZoneInfo("America/Bahia"))


def settings(journal_path: Path, **env: str) -> Any:
    environ = {"BALCAO__JOURNAL__PATH": str(journal_path)}
    environ.update({f"BALCAO__{k.upper()}": v for k, v in env.items()})
    return config.load(None, environ=environ)


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    path = tmp_path / "j.sqlite3"
    j = Journal(str(path))
    seed_journal(j, NOW)
    j.close()
    return path


def report(s: Any, now: datetime = NOW) -> tuple[int, str]:
    out = io.StringIO()
    return run_report(s, out=out, now=now), out.getvalue()


def test_the_report_counts_statuses_deadlines_and_the_median_wait(seeded: Path) -> None:
    code, text = report(settings(seeded))
    assert code == 0
    lines = [line.rstrip() for line in text.splitlines()]
    assert "  Agendado               2" in lines
    assert "  Requer atenção         2" in lines
    assert "  total                  7" in lines
    assert "Deadlines this month (março 2026: 5 requests submitted)" in lines
    assert "  kept          1   booked on or before the deadline" in lines
    assert "  missed        3   booked late: 1; not booked and past the deadline: 2" in lines
    assert "  open          1   not booked yet, deadline ahead" in lines
    assert "  of the booked, 1 have their appointment itself after the deadline (no earlier free slot)" in lines
    # Waits of 4 h and 30 h.
    assert "  median time from submission to booking: 17 h 0 min (2 booked)" in lines
    assert "E-mails in the last 24 h: 2 of mail.daily_limit 400 (0%)" in lines


def test_the_report_says_when_the_daily_cap_is_reached(seeded: Path) -> None:
    _, text = report(settings(seeded, mail__daily_limit="2"))
    assert "E-mails in the last 24 h: 2 of mail.daily_limit 2 (100%)" in text
    assert "the cap is reached" in text


def test_requests_of_last_month_are_not_counted_in_this_months_deadlines(seeded: Path) -> None:
    _, text = report(settings(seeded), now=datetime(2026, 4, 2, 9, 0, tzinfo=ZoneInfo("America/Bahia")))
    assert "Deadlines this month (abril 2026: 0 requests submitted)" in text
    assert "no booking this month" in text


def test_the_report_never_writes_to_the_journal(seeded: Path) -> None:
    before = hashlib.sha256(seeded.read_bytes()).hexdigest()
    assert report(settings(seeded))[0] == 0
    assert hashlib.sha256(seeded.read_bytes()).hexdigest() == before


def test_a_missing_journal_exits_1_naming_journal_path(tmp_path: Path) -> None:
    code, text = report(settings(tmp_path / "none.sqlite3"))
    assert code == 1
    assert "no journal at" in text and "(journal.path)" in text
    assert not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 min"), (5400, "1 h 30 min"), (93784, "1 d 2 h 3 min"), (86400, "1 d 0 min"),
])
def test_durations_read_as_days_hours_and_minutes(seconds: float, text: str) -> None:
    assert _duration(seconds) == text


def test_importing_the_report_does_not_import_pandas() -> None:
    code = "import sys, worker.report, worker.cli; assert 'pandas' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
