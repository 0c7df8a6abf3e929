"""The sandbox against recorded real Google Sheets traffic (gspread's cassettes, MIT).

Each cassette is replayed against a fresh en_US sandbox spreadsheet; an interaction agrees when
what a client reads is the same as what Google answered (status, error status, values, ranges,
update counts, reply kinds, sheet titles, grid sizes). The README quotes the figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.sandbox import replay

CASSETTES = sorted((Path(__file__).parent / "cassettes").glob("*.json"))


@pytest.fixture(scope="module")
def result() -> tuple[replay.Report, dict[str, str]]:
    return replay.replay(CASSETTES, only_emulated=True)


def test_every_kept_cassette_is_inside_what_the_sandbox_claims_to_emulate(result):
    _report, excluded = result
    assert len(CASSETTES) == 117
    assert excluded == {}


def test_at_least_98_percent_of_replayed_google_answers_agree(result):
    report, _ = result
    print("\n" + report.format())
    assert len(report.outcomes) > 1000
    assert report.agreeing / len(report.outcomes) >= 0.98, report.format()


@pytest.mark.parametrize(
    "method",
    ["values.get", "values.update", "values.append", "values.batchUpdate", "values.batchGet",
     "values.clear", "get", "batchUpdate"],
)
def test_each_values_and_spreadsheet_method_agrees_on_at_least_98_percent(result, method):
    report, _ = result
    rows = {label: (ok, n) for label, ok, n in report.table()}
    ok, n = rows[method]
    disagreements = [f"{o.cassette} #{o.index}: google {o.expected} sandbox {o.got}"
                     for o in report.outcomes if o.method == method and not o.agree][:3]
    assert ok / n >= 0.98, disagreements


def test_a_changed_answer_is_counted_as_a_disagreement():
    # The comparison must be able to fail: a value Google never answered is caught.
    recorded = {"range": "Sheet1!A1", "majorDimension": "ROWS", "values": [["0.5"]]}
    altered = {"range": "Sheet1!A1", "majorDimension": "ROWS", "values": [["0,5"]]}
    method = "sheets.spreadsheets.values.get"
    assert replay.view(method, 200, recorded, {}) != replay.view(method, 200, altered, {})
    assert replay.view(method, 404, {"error": {"status": "NOT_FOUND"}}, {}) != replay.view(method, 200, recorded, {})
