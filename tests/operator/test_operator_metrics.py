"""worker/metrics.py: the Prometheus endpoint on a random loopback port, fed by ticks and the journal."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from opkit import seed_journal

from worker.journal import Journal
from worker.metrics import Metrics
from worker.model import TickReport

NOW = datetime(2026, 3, 18, 10, 0, tzinfo=ZoneInfo("America/Bahia"))


def scrape(port: int) -> dict[str, float]:
    session = requests.Session()
    session.trust_env = False
    text = session.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(str(tmp_path / "j.sqlite3"))
    seed_journal(j, NOW)
    return j


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    m = Metrics()
    yield m
    m.stop()


def test_a_scrape_shows_requests_by_status_late_requests_and_the_oldest_pending(
    metrics: Metrics, journal: Journal,
) -> None:
    port = metrics.start(0)
    report = TickReport(started=NOW - timedelta(seconds=2), emails_sent=2, events_created=1)
    metrics.observe(report, journal, NOW)
    got = scrape(port)
    assert got['balcao_requests{status="Agendado"}'] == 2
    assert got['balcao_requests{status="Requer atenção"}'] == 2
    assert got['balcao_requests{status="Recebido"}'] == 1
    # Pendente (6 h late) and the valid flagged one; not the duplicate nor the invalid row.
    assert got["balcao_requests_past_deadline"] == 2
    assert got["balcao_oldest_pending_age_seconds"] == 30 * 3600  # the Pendente row
    assert got["balcao_emails_sent_total"] == 2
    assert got["balcao_events_created_total"] == 1
    assert got['balcao_ticks_total{result="ok"}'] == 1
    assert got["balcao_tick_duration_seconds_count"] == 1
    assert got["balcao_tick_duration_seconds_sum"] == 2.0
    assert got["balcao_last_good_tick_timestamp_seconds"] == (NOW - timedelta(seconds=2)).timestamp()
    assert got["balcao_paused"] == 0


def test_counters_add_up_over_ticks_and_a_failed_tick_counts_its_api_error(
    metrics: Metrics, journal: Journal,
) -> None:
    port = metrics.start(0, "127.0.0.1")
    metrics.observe(TickReport(started=NOW, emails_sent=1), journal, NOW, duration=0.3)
    failed = TickReport(started=NOW, ok=False,
                        error="sheets values.batchGet: HTTP 429 RESOURCE_EXHAUSTED: quota")
    metrics.observe(failed, journal, NOW + timedelta(minutes=1), duration=0.1)
    metrics.record_error("calendar", 403)
    got = scrape(port)
    assert got["balcao_emails_sent_total"] == 1
    assert got['balcao_ticks_total{result="failed"}'] == 1
    assert got['balcao_api_errors_total{api="sheets",code="429"}'] == 1
    assert got['balcao_api_errors_total{api="calendar",code="403"}'] == 1
    assert got["balcao_last_good_tick_timestamp_seconds"] == NOW.timestamp()


def test_a_paused_tick_sets_the_paused_gauge(metrics: Metrics, journal: Journal) -> None:
    paused = TickReport(started=NOW, paused_reason="gmail users.messages.send: HTTP 401 authError")
    metrics.observe(paused, journal, NOW)
    assert "balcao_paused 1.0" in metrics.text()
    assert 'balcao_api_errors_total{api="gmail",code="401"} 1.0' in metrics.text()


def test_an_empty_journal_reports_zeros_for_every_status(metrics: Metrics, tmp_path: Path) -> None:
    metrics.observe_journal(Journal(str(tmp_path / "empty.sqlite3")), NOW)
    text = metrics.text()
    for status in ("Recebido", "Agendado", "Requer atenção", "Duplicado", "Pendente"):
        assert f'balcao_requests{{status="{status}"}} 0.0' in text
    assert "balcao_oldest_pending_age_seconds 0.0" in text


def test_two_metrics_objects_do_not_share_a_registry() -> None:
    a, b = Metrics(), Metrics()
    a.emails.inc(3)
    assert "balcao_emails_sent_total 0.0" in b.text()


def test_metrics_are_off_by_default_and_prometheus_is_not_imported_at_start_up() -> None:
    code = (
        "import sys; from worker import config, metrics, cli; "
        "s = config.load(None, environ={}); "
        "assert metrics.from_settings(s) is None; "
        "assert 'prometheus_client' not in sys.modules, 'imported'; "
        "assert s.metrics.host == '127.0.0.1'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_from_settings_serves_on_the_configured_loopback_port() -> None:
    import dataclasses

    from worker import config
    from worker.metrics import from_settings

    s = config.load(None, environ={})
    s = dataclasses.replace(s, metrics=dataclasses.replace(s.metrics, enabled=True, port=0))
    m = from_settings(s)
    assert m is not None
    try:
        assert m._server.server_address[0] == "127.0.0.1"
        assert scrape(m._server.server_port)["balcao_paused"] == 0
    finally:
        m.stop()
