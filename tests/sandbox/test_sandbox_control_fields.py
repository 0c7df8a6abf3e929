"""Every /_sandbox control path refuses a body with a missing, unknown or mistyped field with a
400 that names the field, and changes nothing (DESIGN §3)."""

from __future__ import annotations

import json
import urllib.error
from typing import Any

import pytest

from tests.sandbox.conftest import WS

GOOD = {
    "/_sandbox/form/submit": {"answers": {"Nome completo": "Ana"}},
    "/_sandbox/form/edit": {"row": 2, "answers": {"Nome completo": "Ana"}},
    "/_sandbox/sheet/sort": {"column": "Nome completo"},
    "/_sandbox/sheet/insert_column": {"index": 3, "title": "Nova"},
    "/_sandbox/sheet/delete_row": {"row": 2},
    "/_sandbox/sheet/type": {"row": 2, "column": "Nome completo", "text": "x"},
    "/_sandbox/faults": {"path_regex": "values", "status": 500},
    "/_sandbox/config": {"quota": False},
}
REQUIRED = [(path, field) for path in GOOD for field in GOOD[path]
            if path not in ("/_sandbox/config",) and field not in ("title", "status")]


def refused(sandbox: Any, path: str, body: Any) -> str:
    with pytest.raises(urllib.error.HTTPError) as exc:
        sandbox.post(path, body)
    assert exc.value.code == 400
    return str(json.loads(exc.value.read())["error"])


def test_the_good_bodies_are_accepted(sandbox):
    for path, body in GOOD.items():
        sandbox.post(path, body)


@pytest.mark.parametrize(("path", "field"), REQUIRED)
def test_a_missing_field_is_named_and_nothing_changes(sandbox, path, field):
    before = sandbox.state()["spreadsheets"]
    body = {k: v for k, v in GOOD[path].items() if k != field}
    assert f"'{field}'" in refused(sandbox, path, body)
    assert sandbox.state()["spreadsheets"] == before


@pytest.mark.parametrize("path", sorted(GOOD))
def test_an_unknown_field_is_named_and_nothing_changes(sandbox, path):
    before = sandbox.state()["spreadsheets"]
    assert "'colour'" in refused(sandbox, path, {**GOOD[path], "colour": "red"})
    assert sandbox.state()["spreadsheets"] == before


def test_a_misspelt_answers_adds_no_blank_row(sandbox):
    rows = len(sandbox.sheet_values())
    message = refused(sandbox, "/_sandbox/form/submit", {"answer": {"Nome completo": "Ana"}})
    assert "'answer'" in message
    assert len(sandbox.sheet_values()) == rows


def test_a_submission_without_answers_adds_no_row(sandbox):
    rows = len(sandbox.sheet_values())
    assert "'answers'" in refused(sandbox, "/_sandbox/form/submit", {"answers": {}})
    assert len(sandbox.sheet_values()) == rows


def test_typing_without_a_column_names_the_field_instead_of_failing(sandbox):
    assert "missing field 'column'" in refused(sandbox, "/_sandbox/sheet/type", {"row": 2, "text": "x"})


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/_sandbox/form/submit", {"answers": ["Ana"]}, "'answers'"),
        ("/_sandbox/form/submit", {"answers": {"Nome completo": "Ana"}, "at": "ontem"}, "'at'"),
        ("/_sandbox/form/edit", {"row": "2", "answers": {"Nome completo": "Ana"}}, "'row'"),
        ("/_sandbox/form/edit", {"row": 2, "answers": {"Sem coluna": "x"}}, "'column'"),
        ("/_sandbox/sheet/sort", {"column": "Nome completo", "when": "later"}, "'when'"),
        ("/_sandbox/sheet/sort", {"column": "Sem coluna"}, "'column'"),
        ("/_sandbox/sheet/type", {"row": 0, "column": "Nome completo", "text": "x"}, "'row'"),
        ("/_sandbox/sheet/type", {"row": 2, "column": "Nome completo", "text": 5}, "'text'"),
        ("/_sandbox/sheet/delete_row", {"row": True}, "'row'"),
        ("/_sandbox/sheet/insert_column", {"index": 0}, "'index'"),
        ("/_sandbox/form/submit", {"answers": {"Nome completo": "Ana"}, "worksheet": "Outra"}, "'worksheet'"),
        ("/_sandbox/config", {"meet_pending_gets": "many"}, "'meet_pending_gets'"),
        ("/_sandbox/config", {"quota_limits": {"sheets_reads": 5}}, "'sheets_reads'"),
        ("/_sandbox/reset", {"keep": True}, "'keep'"),
    ],
)
def test_a_wrong_value_is_refused_naming_its_field(sandbox, path, body, field):
    before = sandbox.state()["spreadsheets"]
    assert field.strip("'") in refused(sandbox, path, body)
    assert sandbox.state()["spreadsheets"] == before


def test_a_fault_of_the_wrong_type_names_the_field(sandbox):
    assert "'times'" in refused(sandbox, "/_sandbox/faults", {"path_regex": "x", "status": 500, "times": "twice"})


def test_the_form_edit_with_one_unknown_title_changes_no_answer(sandbox):
    before = sandbox.sheet_values()
    refused(sandbox, "/_sandbox/form/edit", {"row": 2, "answers": {"Nome completo": "Outro", "Sem coluna": "x"}})
    assert sandbox.sheet_values() == before
    assert WS in sandbox.state()["spreadsheets"]["sandbox-sheet"]["sheets"]
