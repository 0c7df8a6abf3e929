"""A spreadsheet's locale and time zone: how typed text is read and values are shown, as in
Google (en_US ``1.5`` and ``12/13/2026``; pt_BR ``1,5`` and ``13/12/2026``), and how the
sandbox is told which (``--locale``/``--time-zone``, ``/_sandbox/config``)."""

from __future__ import annotations

import urllib.error
from datetime import datetime

import pytest

from tests.sandbox.conftest import SID, WS
from worker.sandbox import cli, serial, server
from worker.sandbox.state import DEFAULT_SPREADSHEET_ID

DEC_13 = serial.to_serial(datetime(2026, 12, 13))


@pytest.mark.parametrize(
    ("locale", "typed", "stored"),
    [
        ("en_US", "1", 1), ("en_US", "1.5", 1.5), ("en_US", "-0.25", -0.25), ("en_US", "1,234.5", 1234.5),
        ("pt_BR", "1", 1), ("pt_BR", "1,5", 1.5), ("pt_BR", "1.234,5", 1234.5), ("en_GB", "1.5", 1.5),
    ],
)
def test_a_typed_number_stays_a_number_in_the_locales_notation(locale, typed, stored):
    value, fmt = serial.user_entered(typed, locale=locale)
    assert value == stored
    assert fmt is None or fmt["type"] == "NUMBER"


def test_a_typed_plain_number_is_never_shown_as_a_date():
    for locale, typed, shown in (("en_US", "1", "1"), ("en_US", "1.5", "1.5"), ("pt_BR", "1,5", "1,5")):
        value, fmt = serial.user_entered(typed, locale=locale)
        assert serial.render_formatted(value, fmt, locale) == shown


@pytest.mark.parametrize(
    ("locale", "typed", "shown"),
    [("en_US", "12/13/2026", "12/13/2026"), ("pt_BR", "13/12/2026", "13/12/2026"),
     ("en_GB", "13/12/2026", "13/12/2026"), ("en_US", "2026-12-13", "2026-12-13"),
     ("pt_BR", "2026-12-13", "2026-12-13")],
)
def test_a_typed_date_is_read_day_or_month_first_by_locale_and_shown_back_the_same(locale, typed, shown):
    value, fmt = serial.user_entered(typed, locale=locale)
    assert value == DEC_13
    assert serial.render_formatted(value, fmt, locale) == shown


def test_general_numbers_and_booleans_are_shown_in_the_locales_words():
    assert serial.render_formatted(0.0009765625, None, "en_US") == "0.0009765625"
    assert serial.render_formatted(0.0009765625, None, "pt_BR") == "0,0009765625"
    assert serial.render_formatted(True, None, "en_US") == "TRUE"
    assert serial.render_formatted(True, None, "pt_BR") == "VERDADEIRO"
    assert serial.render_formatted(1234.5, {"type": "NUMBER", "pattern": "#,##0.00"}, "en_US") == "1,234.50"


def test_numbers_typed_with_thousands_marks_are_shown_with_them():
    value, fmt = serial.user_entered("2,000,000.01", locale="en_US")
    assert serial.render_formatted(value, fmt, "en_US") == "2,000,000.01"


def test_config_switches_the_form_spreadsheets_locale_and_zone(sandbox, gc):
    sandbox.config(locale="en_US", time_zone="Etc/GMT")
    sh = gc.open_by_key(SID)
    assert (sh.locale, sh.timezone) == ("en_US", "Etc/GMT")
    ws = sh.worksheet(WS)
    ws.update([["1.5", "12/13/2026", "1"]], "K2:M2", value_input_option="USER_ENTERED")
    assert ws.get("K2:M2") == [["1.5", "12/13/2026", "1"]]
    assert ws.get("K2:M2", value_render_option="UNFORMATTED_VALUE") == [[1.5, DEC_13, 1]]


def test_a_form_submission_is_stamped_in_the_spreadsheets_zone(sandbox):
    sandbox.config(time_zone="Etc/GMT")
    row = sandbox.submit({"Nome completo": "Zé"}, at="2026-12-13T10:00:00-03:00")
    assert sandbox.sheet_values()[row - 1][0] == pytest.approx(serial.to_serial(datetime(2026, 12, 13, 13)))


def test_an_unknown_locale_or_zone_is_refused_naming_the_field(sandbox):
    for body, field in (({"locale": "xx_YY"}, "locale:"), ({"time_zone": "Mars/Olympus"}, "time_zone:")):
        with pytest.raises(urllib.error.HTTPError) as exc:
            sandbox.post("/_sandbox/config", body)
        assert exc.value.code == 400
        assert field in exc.value.read().decode()


def test_reset_goes_back_to_the_start_up_locale_zone_and_modes():
    state = server.build_state(locale="en_US", time_zone="Etc/GMT", meet_pending_gets=2, quota=True)
    state.set_config({"locale": "pt_BR", "time_zone": "America/Bahia", "meet_pending_gets": 0, "quota": False})
    state.reset_all()
    sp = state.spreadsheets[DEFAULT_SPREADSHEET_ID]
    assert (sp.locale, sp.time_zone) == ("en_US", "Etc/GMT")
    assert (state.config["meet_pending_gets"], state.config["quota"]) == (2, True)


def test_the_cli_takes_locale_and_zone_and_refuses_unknown_ones(capsys):
    args = cli.build_parser().parse_args(["--locale", "en_US", "--time-zone", "Etc/GMT"])
    assert (args.locale, args.time_zone) == ("en_US", "Etc/GMT")
    defaults = cli.build_parser().parse_args([])
    assert (defaults.locale, defaults.time_zone) == ("pt_BR", "America/Bahia")
    for argv in (["--locale", "xx_YY"], ["--time-zone", "Mars/Olympus"]):
        with pytest.raises(SystemExit) as exc:
            cli.build_parser().parse_args(argv)
        assert exc.value.code == 2
    assert "Mars/Olympus" in capsys.readouterr().err


def test_a_spreadsheets_own_locale_property_decides_how_it_reads_and_shows(gc, sheets_api):
    sh = gc.open_by_key(SID)
    sh.batch_update({"requests": [{"updateSpreadsheetProperties": {
        "properties": {"locale": "en_US"}, "fields": "locale"}}]})
    ws = sh.worksheet(WS)
    ws.update([["2.5", "TRUE"]], "K2:L2", value_input_option="USER_ENTERED")
    assert ws.get("K2:L2") == [["2.5", "TRUE"]]
    created = sheets_api.spreadsheets().create(body={"properties": {"title": "Outra"}}).execute()
    assert created["properties"]["locale"] == "pt_BR"  # the sandbox's default, not the other's
    assert created["sheets"][0]["properties"]["title"] == "Página1"
    english = sheets_api.spreadsheets().create(body={"properties": {"locale": "en_US"}}).execute()
    assert english["sheets"][0]["properties"]["title"] == "Sheet1"
