"""Pure pieces of the sandbox: A1 notation, serials and pt_BR parsing, discovery validation."""

from __future__ import annotations

from datetime import datetime

import pytest

from worker.sandbox import a1, schema, serial


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A1", a1.A1Range(None, 0, 0, 1, 1)),
        ("A:A", a1.A1Range(None, None, 0, None, 1)),
        ("2:5", a1.A1Range(None, 1, None, 5, None)),
        ("A1:ZZ", a1.A1Range(None, 0, 0, None, 702)),
        ("A1:1", a1.A1Range(None, 0, 0, 1, None)),
        ("'Respostas ao formulário 1'!A2:C", a1.A1Range("Respostas ao formulário 1", 1, 0, None, 3)),
        ("'It''s'!B2", a1.A1Range("It's", 1, 1, 2, 2)),
        ("Sheet1!A1:B2", a1.A1Range("Sheet1", 0, 0, 2, 2)),
        ("'Só a aba'", a1.A1Range("Só a aba", None, None, None, None)),
    ],
)
def test_a1_ranges_parse_like_sheets(text, expected):
    assert a1.parse(text) == expected


def test_a1_bare_sheet_title_is_the_whole_sheet_when_known():
    assert a1.parse("Respostas", ["Respostas"]) == a1.A1Range("Respostas", None, None, None, None)
    with pytest.raises(a1.A1Error):
        a1.parse("Outra coisa", ["Respostas"])


def test_a1_titles_are_quoted_only_when_needed():
    assert a1.quote_title("Sheet1") == "Sheet1"
    assert a1.quote_title("Respostas ao formulário 1") == "'Respostas ao formulário 1'"
    assert a1.quote_title("It's") == "'It''s'"
    assert a1.quote_title("A1") == "'A1'"
    assert a1.format_range("Sheet1", 0, 0, 1000, 26) == "Sheet1!A1:Z1000"


def test_serial_matches_the_reference_example():
    assert serial.to_serial(datetime(2025, 3, 25, 14, 30, 12)) == pytest.approx(45741.60430555556)
    assert serial.from_serial(45741.60430555556) == datetime(2025, 3, 25, 14, 30, 12)
    assert serial.to_serial(datetime(1900, 1, 1, 12)) == 2.5


@pytest.mark.parametrize(
    ("typed", "value"),
    [("1,5", 1.5), ("1.234,5", 1234.5), ("-3", -3), ("VERDADEIRO", True), ("FALSO", False),
     ("abc", "abc"), ("'=1+1", "=1+1"), ("0119999", 119999)],
)
def test_user_entered_parses_pt_br_text(typed, value):
    assert serial.user_entered(typed)[0] == value


def test_user_entered_dates_get_a_date_format():
    value, fmt = serial.user_entered("13/12/2026 10:15")
    assert value == pytest.approx(46369.427083333336)
    assert fmt == serial.TYPED_DATETIME_FORMAT
    assert serial.user_entered("13/12/2026")[1] == serial.TYPED_DATE_FORMAT
    assert serial.user_entered("10:15")[0] == pytest.approx(10.25 / 24)


def test_date_patterns_tell_minutes_from_months():
    x = serial.to_serial(datetime(2026, 12, 13, 10, 5, 9))
    assert serial.format_date_pattern(x, "dd/mm/yyyy hh:mm") == "13/12/2026 10:05"
    assert serial.format_date_pattern(x, "dd/MM/yyyy HH:mm:ss") == "13/12/2026 10:05:09"
    assert serial.render_formatted(1234.5, {"type": "NUMBER", "pattern": "#,##0.00"}) == "1.234,50"


def test_validator_walks_refs_arrays_and_maps():
    event = {"start": {"dateTime": "2026-01-01T10:00:00Z"}, "attendees": [{"email": "a@example.com"}],
             "extendedProperties": {"private": {"k": "v"}}, "description": None}
    schema.validate("calendar", "Event", event)
    with pytest.raises(schema.SchemaError) as exc:
        schema.validate("calendar", "Event", {"attendees": [{"mail": "a@example.com"}]})
    assert str(exc.value) == "Invalid JSON payload received. Unknown name \"mail\" at 'attendees[0]': Cannot find field."
    with pytest.raises(schema.SchemaError) as exc:
        schema.validate("calendar", "Event", {"extendedProperties": {"private": {"k": 1}}})
    assert str(exc.value) == "Invalid value at 'extended_properties.private[\"k\"]' (TYPE_STRING), 1"
    with pytest.raises(schema.SchemaError) as exc:
        schema.validate("sheets", "ValueRange", {"foo": 1})
    assert str(exc.value) == 'Invalid JSON payload received. Unknown name "foo": Cannot find field.'


def test_every_emulated_method_exists_in_the_discovery_documents():
    from worker.sandbox.app import HANDLERS

    for method_id in HANDLERS:
        assert schema.method_by_id(method_id).id == method_id


def test_sandbox_imports_nothing_from_the_worker_outside_itself():
    import ast
    from pathlib import Path

    root = Path(schema.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("worker") or name.startswith("worker.sandbox"), (path.name, name)
                assert not name.startswith(("googleapiclient", "gspread", "google.")), (path.name, name)
