"""The month's figures (DESIGN §10) against a journal counted by hand (tests/report/kit.py)."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.report.kit import BAHIA, MARCH, NOW, Expected, build, protocol, settings
from worker.journal import Journal, RequestRecord
from worker.model import ConfigError
from worker.report import Breakdown, Month, Report, compute, duration, run_report


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return build(tmp_path / "j.sqlite3")


def month_report(path: Path, now: datetime = NOW, month: str = MARCH) -> Report:
    j = Journal(str(path), readonly=True)
    try:
        return compute(j, Month.parse(month), BAHIA, now)
    finally:
        j.close()


def row(report: Report, n: int) -> Any:
    table = report.table.set_index("protocolo")
    return table.loc[protocol(n)]


def test_every_figure_of_the_month_matches_the_count_by_hand(journal: Path) -> None:
    f = month_report(journal).figures
    got = {k: getattr(f, k) for k in (
        "received", "valid", "duplicates", "attention", "in_time", "late", "pending", "held",
        "no_shows", "cancelled")}
    want = {k: getattr(Expected, k) for k in got}
    assert got == want


def test_the_share_answered_in_time_is_in_time_over_in_time_plus_late(journal: Path) -> None:
    f = month_report(journal).figures
    assert f.share == pytest.approx(4 / 6)


def test_response_time_is_the_median_and_p90_of_first_confirmation_minus_receipt(
    journal: Path,
) -> None:
    f = month_report(journal).figures
    assert f.timed == 5
    assert f.median_s == pytest.approx(Expected.median_s)
    assert f.p90_s == pytest.approx(Expected.p90_s)
    assert (duration(f.median_s), duration(f.p90_s)) == ("2 h 0 min", "1 d 1 h 12 min")


@pytest.mark.parametrize(("n", "verdict"), sorted(Expected.no_prazo.items()))
def test_each_request_is_judged_in_time_late_pending_or_not_at_all(
    journal: Path, n: int, verdict: str
) -> None:
    assert row(month_report(journal), n)["no_prazo"] == verdict


def test_the_month_is_cut_at_midnight_office_time_whatever_offset_was_stored(
    journal: Path,
) -> None:
    protocols = list(month_report(journal).table["protocolo"])
    # 10 (28 Feb 23:30 in Bahia) and 13 (1 April) are out; 11 (31 March 23:30) is in.
    assert protocols == [protocol(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12)]
    assert row(month_report(journal), 11)["recebido_em"].isoformat() == "2026-03-31T23:30:00-03:00"


def test_the_answer_is_the_first_confirmation_that_left_not_a_refused_one_nor_the_ack(
    journal: Path,
) -> None:
    report = month_report(journal)
    assert row(report, 1)["respondido_em"].isoformat() == "2026-03-02T11:00:00-03:00"
    assert row(report, 2)["respondido_em"].isoformat() == "2026-03-03T16:00:00-03:00"
    assert pd.isna(row(report, 6)["respondido_em"])


def test_a_pending_request_becomes_late_once_its_deadline_passes_unanswered(
    journal: Path,
) -> None:
    later = datetime(2026, 3, 20, 15, 0, 1, tzinfo=BAHIA)
    assert row(month_report(journal, now=later), 8)["no_prazo"] == "não"
    at_deadline = datetime(2026, 3, 20, 15, 0, tzinfo=BAHIA)
    assert row(month_report(journal, now=at_deadline), 8)["no_prazo"] == "pendente"


def test_a_row_without_a_form_timestamp_counts_in_the_month_it_was_taken_in(
    journal: Path,
) -> None:
    r = row(month_report(journal), 12)
    assert pd.isna(r["recebido_em"])  # the form gave no date
    assert r["no_prazo"] == ""


def test_figures_by_channel_name_the_channel_and_put_rows_without_one_last(
    journal: Path,
) -> None:
    assert month_report(journal).figures.by_channel == (
        Breakdown("Google Meet", received=6, in_time=4, late=1),
        Breakdown("WhatsApp", received=3, in_time=0, late=1),
        Breakdown("(não informado)", received=2, in_time=0, late=0),
    )


def test_figures_by_service_keep_erased_requests_which_keep_their_service(
    journal: Path,
) -> None:
    by_service = month_report(journal).figures.by_service
    assert by_service == (
        Breakdown("Certidão de nascimento", received=4, in_time=3, late=0),  # 9 is erased
        Breakdown("Escritura", received=3, in_time=0, late=1),
        Breakdown("Procuração", received=2, in_time=1, late=1),
        Breakdown("(não informado)", received=2, in_time=0, late=0),
    )
    assert by_service[2].share == pytest.approx(0.5)
    assert by_service[1].share == 0.0 and by_service[3].share is None


def test_each_day_counts_its_requests_and_the_share_answered_in_time(journal: Path) -> None:
    daily = month_report(journal).daily
    assert list(daily.index) == list(range(1, 32))
    assert daily["requests"].sum() == Expected.received
    picked = {d: (int(daily.at[d, "requests"]), daily.at[d, "share"]) for d in (2, 3, 10, 15, 31)}
    assert picked[2] == (2, 0.5)
    assert picked[3] == (2, 1.0)  # the duplicate counts as a request, not as judged
    assert picked[10] == (1, 0.0)
    assert picked[15][0] == 1 and pd.isna(picked[15][1])  # nothing judged that day
    assert picked[31][0] == 1
    assert int(daily.at[1, "requests"]) == 0


def test_a_cancelled_appointment_leaves_the_appointment_column_empty(journal: Path) -> None:
    report = month_report(journal)
    assert pd.isna(row(report, 5)["atendimento"])
    assert row(report, 1)["atendimento"].isoformat() == "2026-03-04T10:00:00-03:00"


def test_the_summary_prints_the_figures_and_never_writes_to_the_journal(journal: Path) -> None:
    before = hashlib.sha256(journal.read_bytes()).hexdigest()
    out = io.StringIO()
    assert run_report(settings(journal), now=NOW, month=MARCH, out=out) == 0
    assert hashlib.sha256(journal.read_bytes()).hexdigest() == before
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    assert "  received                    11   every request submitted in the month" in lines
    assert "  answered in time             4   66.7% of 6 (in time + late)" in lines
    assert "  response time: median 2 h 0 min, p90 1 d 1 h 12 min (5 answered)" in lines


def test_the_default_month_is_the_current_one_in_office_time(journal: Path) -> None:
    # 1 April 01:00 UTC is still 31 March in Bahia.
    out = io.StringIO()
    run_report(settings(journal), now=datetime.fromisoformat("2026-04-01T01:00:00+00:00"), out=out)
    assert out.getvalue().startswith("balcao report for 2026-03 (março de 2026)")


def test_the_summary_says_when_the_daily_email_cap_is_reached(journal: Path) -> None:
    out = io.StringIO()
    # Only the acknowledgement of 6 (10 March 10:01) left in the 24 h before.
    run_report(settings(journal, mail__daily_limit="1"), now=datetime(2026, 3, 10, 12, 0,
               tzinfo=BAHIA), out=out)
    assert "E-mails in the last 24 h: 1 of mail.daily_limit 1 (100%)" in out.getvalue()
    assert "the cap is reached" in out.getvalue()


def test_a_missing_journal_exits_1_naming_journal_path(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_report(settings(tmp_path / "none.sqlite3"), now=NOW, out=out) == 1
    assert "no journal at" in out.getvalue() and "(journal.path)" in out.getvalue()
    assert not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize("text", ["2026-3", "2026-13", "03/2026", "1999-12", "março"])
def test_a_month_that_is_not_yyyy_mm_is_a_usage_error_naming_the_argument(text: str) -> None:
    with pytest.raises(ConfigError, match="--month: expected YYYY-MM"):
        Month.parse(text)


def test_december_ends_at_the_first_of_january_office_time() -> None:
    start, end = Month.parse("2026-12").bounds(BAHIA)
    assert (start.isoformat(), end.isoformat()) == (
        "2026-12-01T00:00:00-03:00", "2027-01-01T00:00:00-03:00")


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 min"), (5400, "1 h 30 min"), (93784, "1 d 2 h 3 min"), (86400, "1 d 0 min"),
])
def test_durations_read_as_days_hours_and_minutes(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_the_requests_own_answer_time_counts_when_its_email_record_is_gone(tmp_path: Path) -> None:
    """``answered_at`` (kept on the request) is the record; the effects table only stands in
    for journals written before it existed."""
    path = tmp_path / "j.sqlite3"
    j = Journal(str(path))
    with j.tx():
        j.insert(RequestRecord(
            protocol=protocol(1), seq=1, fingerprint="fp1", submitted="2026-03-02T10:00:00-03:00",
            ts_key=None, received_at="2026-03-02T10:00:00-03:00",
            deadline="2026-03-03T10:00:00-03:00", status="Agendado", channel="meet",
            conf_state="sent", answered_at="2026-03-03T10:00:01-03:00",
            updated_at="2026-03-03T10:00:01-03:00"))
    j.close()
    r = row(month_report(path), 1)
    assert r["respondido_em"].isoformat() == "2026-03-03T10:00:01-03:00"
    assert r["no_prazo"] == "não"
