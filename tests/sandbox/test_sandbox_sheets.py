"""Sheets v4 conformance: the real gspread (and googleapiclient) against the sandbox."""

from __future__ import annotations

import re

import gspread
import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import SID, WS, check_response, error_body

Q = "'Respostas ao formulário 1'"


def test_metadata_has_title_locale_time_zone_and_grid(gc):
    sh = gc.open_by_key(SID)
    assert sh.title == "Balcão Virtual (respostas)"
    assert sh.locale == "pt_BR"
    assert sh.timezone == "America/Bahia"
    ws = sh.worksheet(WS)
    assert (ws.row_count, ws.col_count) == (1000, 26)


def test_metadata_response_matches_discovery_schema(sheets_api):
    body = sheets_api.spreadsheets().get(spreadsheetId=SID).execute()
    check_response("sheets.spreadsheets.get", body)
    assert body["sheets"][0]["properties"]["gridProperties"] == {"rowCount": 1000, "columnCount": 26}


def test_fields_parameter_gives_a_partial_response(gc):
    meta = gc.open_by_key(SID).fetch_sheet_metadata(params={"fields": "properties(timeZone,locale),sheets.properties(title)"})
    assert meta == {"properties": {"locale": "pt_BR", "timeZone": "America/Bahia"},
                    "sheets": [{"properties": {"title": WS}}]}


def test_unknown_spreadsheet_is_not_found(gc):
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key("nope")


def test_form_timestamp_reads_formatted_in_pt_br_and_as_serial_unformatted(ws, sandbox):
    row = sandbox.submit({"Endereço de e-mail": "ana@example.com"}, at="2025-03-25T14:30:12-03:00")
    assert ws.get(f"A{row}")[0][0] == "25/03/2025 14:30:12"
    serial = ws.get(f"A{row}", value_render_option="UNFORMATTED_VALUE")[0][0]
    assert serial == pytest.approx(45741.60430555556)
    formatted = ws.get(f"A{row}", value_render_option="UNFORMATTED_VALUE", date_time_render_option="FORMATTED_STRING")
    assert formatted[0][0] == "25/03/2025 14:30:12"


def test_value_range_always_has_range_and_major_dimension_and_omits_empty_values(sheets_api):
    body = sheets_api.spreadsheets().values().get(spreadsheetId=SID, range=f"{Q}!X900:Z901").execute()
    check_response("sheets.spreadsheets.values.get", body)
    assert body == {"range": f"{Q}!X900:Z901", "majorDimension": "ROWS"}


def test_open_ended_range_is_clipped_to_the_grid_in_the_answer(sheets_api):
    body = sheets_api.spreadsheets().values().get(spreadsheetId=SID, range=f"{Q}!A1:Z").execute()
    assert body["range"] == f"{Q}!A1:Z1000"
    whole = sheets_api.spreadsheets().values().get(spreadsheetId=SID, range=Q).execute()
    assert whole["range"] == f"{Q}!A1:Z1000"
    assert whole["values"][0][0] == "Carimbo de data/hora"


def test_trailing_empty_cells_and_rows_are_trimmed(ws):
    ws.update([["a", "", ""], ["", "", ""]], "K2:M3")
    assert ws.get("K2:M3") == [["a"]]
    ws.update([["", "", "c"]], "K2:M2")
    assert ws.get("K2:M3") == [["", "", "c"]]


def test_columns_major_dimension_reads_and_writes_transposed(sheets_api):
    values = sheets_api.spreadsheets().values()
    values.update(spreadsheetId=SID, range=f"{Q}!K2:L3", valueInputOption="RAW",
                  body={"majorDimension": "COLUMNS", "values": [["k2", "k3"], ["l2", "l3"]]}).execute()
    rows = values.get(spreadsheetId=SID, range=f"{Q}!K2:L3").execute()["values"]
    assert rows == [["k2", "l2"], ["k3", "l3"]]
    cols = values.get(spreadsheetId=SID, range=f"{Q}!K2:L3", majorDimension="COLUMNS").execute()["values"]
    assert cols == [["k2", "k3"], ["l2", "l3"]]


@pytest.mark.parametrize("text", ["A1", "A:A", "2:5", "A1:ZZ", "A2:C", f"{Q}!B2", "'It''s'!A1"])
def test_a1_notation_forms_are_understood(sheets_api, text):
    values = sheets_api.spreadsheets().values()
    if "It''s" in text:
        sheets_api.spreadsheets().batchUpdate(spreadsheetId=SID, body={"requests": [
            {"addSheet": {"properties": {"title": "It's"}}}]}).execute()
    if text == "A1:ZZ":
        with pytest.raises(HttpError) as exc:
            values.get(spreadsheetId=SID, range=text).execute()
        assert exc.value.status_code == 400
        assert exc.value.reason == f"Range ({Q}!A1:ZZ) exceeds grid limits. Max rows: 1000, max columns: 26"
        return
    body = values.get(spreadsheetId=SID, range=text).execute()
    assert body["majorDimension"] == "ROWS"
    expected = {"A1": f"{Q}!A1", "A:A": f"{Q}!A1:A1000", "2:5": f"{Q}!A2:Z5", "A2:C": f"{Q}!A2:C1000",
                f"{Q}!B2": f"{Q}!B2", "'It''s'!A1": "'It''s'!A1"}[text]
    assert body["range"] == expected


def test_unknown_sheet_title_gives_unable_to_parse_range(sheets_api):
    with pytest.raises(HttpError) as exc:
        sheets_api.spreadsheets().values().get(spreadsheetId=SID, range="'Outra aba'!A1").execute()
    assert exc.value.status_code == 400
    assert exc.value.reason == "Unable to parse range: 'Outra aba'!A1"


def test_write_past_the_last_column_gives_google_grid_limit_error(ws):
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.update([["x"]], "AB1")
    assert exc.value.code == 400
    err = exc.value.error
    assert err["message"] == f"Range ({Q}!AB1) exceeds grid limits. Max rows: 1000, max columns: 26"
    assert err["status"] == "INVALID_ARGUMENT"


def test_write_that_spills_past_the_grid_from_an_anchor_cell_is_refused(ws):
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.update([["a", "b", "c"]], "Y2")
    assert "exceeds grid limits" in exc.value.error["message"]


def test_write_past_the_last_row_is_refused(ws):
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.update([["x"]], "A1001")
    assert exc.value.error["message"] == f"Range ({Q}!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"


def test_append_dimension_widens_the_grid_so_the_write_succeeds(gc, ws):
    sh = gc.open_by_key(SID)
    sh.batch_update({"requests": [{"appendDimension": {"sheetId": ws.id, "dimension": "COLUMNS", "length": 7}}]})
    ws.update([["Protocolo"]], "AG1")
    assert ws.get("AG1") == [["Protocolo"]]
    assert sh.worksheet(WS).col_count == 33


def test_data_larger_than_the_range_is_refused(ws):
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.update([["a", "b", "c"]], "K2:L2")
    assert exc.value.error["message"] == f"Requested writing within range [{Q}!K2:L2], but tried writing to column [M]"


def test_raw_keeps_text_as_is_and_user_entered_parses_pt_br(ws):
    ws.update([["13/12/2026 10:15", "1,5", "=1+1", "0119999"]], "K2:N2", raw=True)
    ws.update([["13/12/2026 10:15", "1,5", "=1+1", "'0119999"]], "K3:N3", raw=False)
    unformatted = ws.get("K2:N3", value_render_option="UNFORMATTED_VALUE")
    assert unformatted[0] == ["13/12/2026 10:15", "1,5", "=1+1", "0119999"]
    assert unformatted[1][0] == pytest.approx(46369.427083333336)
    assert unformatted[1][1:] == [1.5, 2, "0119999"]
    assert ws.get("K3:N3", value_render_option="FORMULA")[0][2] == "=1+1"
    assert ws.get("K3:N3")[0] == ["13/12/2026 10:15:00", "1,5", "2", "0119999"]


def test_formula_text_written_raw_is_never_a_formula(ws):
    junk = '=HYPERLINK("http://example.com";"clique")'
    ws.update([[junk]], "K2", raw=True)
    ws.update([[junk]], "K3", raw=False)
    assert ws.get("K2:K3") == [[junk], ["clique"]]
    assert ws.get("K2:K3", value_render_option="FORMULA") == [[junk], [junk]]


def test_repeat_cell_number_format_makes_dates_readable(gc, ws):
    sh = gc.open_by_key(SID)
    sh.batch_update({"requests": [{"repeatCell": {
        "range": {"sheetId": ws.id, "startRowIndex": 1, "startColumnIndex": 10, "endColumnIndex": 11},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE_TIME", "pattern": "dd/mm/yyyy hh:mm"}}},
        "fields": "userEnteredFormat.numberFormat"}}]})
    ws.update([[46369.427083333336]], "K2")
    assert ws.get("K2") == [["13/12/2026 10:15"]]
    assert ws.get("K2", value_render_option="UNFORMATTED_VALUE") == [[pytest.approx(46369.427083333336)]]


def test_numbers_in_general_format_use_a_decimal_comma(ws):
    ws.update([[1.5, 45741, True]], "K2:M2")
    assert ws.get("K2:M2") == [["1,5", "45741", "VERDADEIRO"]]


def test_batch_get_returns_one_value_range_per_range(ws, sheets_api):
    got = ws.batch_get(["A1:B1", "C1"])
    assert [list(v) for v in got] == [[["Carimbo de data/hora", "Endereço de e-mail"]], [["Nome completo"]]]
    body = sheets_api.spreadsheets().values().batchGet(spreadsheetId=SID, ranges=[f"{Q}!A1", f"{Q}!X999"]).execute()
    check_response("sheets.spreadsheets.values.batchGet", body)
    assert body["valueRanges"][1] == {"range": f"{Q}!X999", "majorDimension": "ROWS"}


def test_batch_update_values_reports_totals_and_is_all_or_nothing(ws, sheets_api):
    body = sheets_api.spreadsheets().values().batchUpdate(spreadsheetId=SID, body={
        "valueInputOption": "RAW",
        "data": [{"range": f"{Q}!K2", "values": [["a"]]}, {"range": f"{Q}!K3:L3", "values": [["b", "c"]]}],
    }).execute()
    check_response("sheets.spreadsheets.values.batchUpdate", body)
    assert (body["totalUpdatedCells"], body["totalUpdatedRows"], body["totalUpdatedSheets"]) == (3, 2, 1)
    with pytest.raises(HttpError):
        sheets_api.spreadsheets().values().batchUpdate(spreadsheetId=SID, body={
            "valueInputOption": "RAW",
            "data": [{"range": f"{Q}!K4", "values": [["kept?"]]}, {"range": f"{Q}!AB1", "values": [["x"]]}],
        }).execute()
    assert ws.acell("K4").value is None


def test_value_input_option_is_required(sheets_api):
    with pytest.raises(HttpError) as exc:
        sheets_api.spreadsheets().values().batchUpdate(spreadsheetId=SID, body={
            "data": [{"range": f"{Q}!K2", "values": [["a"]]}]}).execute()
    assert exc.value.reason == "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED"


def test_null_cells_in_a_write_leave_the_cell_unchanged_and_empty_string_clears(ws):
    ws.update([["a", "b", "c"]], "K2:M2")
    ws.batch_update([{"range": "K2:M2", "values": [[None, "", "z"]]}])
    assert ws.get("K2:M2") == [["a", "", "z"]]


def test_append_writes_after_the_table_and_grows_the_sheet(ws, sandbox):
    before = len(sandbox.sheet_values())
    res = ws.append_row(["x@example.com"], table_range="B1")
    assert res["updates"]["updatedRange"] == f"{Q}!B{before + 1}"
    assert res["tableRange"].startswith(f"{Q}!B1:")
    check_response("sheets.spreadsheets.values.append", res)


def test_append_beyond_the_last_row_adds_rows(gc, ws, sandbox):
    sh = gc.open_by_key(SID)
    sh.batch_update({"requests": [{"updateSheetProperties": {
        "properties": {"sheetId": ws.id, "gridProperties": {"rowCount": len(sandbox.sheet_values())}},
        "fields": "gridProperties.rowCount"}}]})
    ws.append_rows([["a"], ["b"]], table_range="A1")
    assert sh.worksheet(WS).row_count == len(sandbox.sheet_values())


def test_insert_dimension_shifts_data_and_formats(gc, ws):
    sh = gc.open_by_key(SID)
    header = ws.row_values(1)
    sh.batch_update({"requests": [{"insertDimension": {
        "range": {"sheetId": ws.id, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}}}]})
    assert ws.row_values(1) == ["", *header]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", ws.get("B2")[0][0])


def test_update_sheet_and_spreadsheet_properties_change_titles(gc, ws):
    sh = gc.open_by_key(SID)
    sh.batch_update({"requests": [
        {"updateSheetProperties": {"properties": {"sheetId": ws.id, "title": "Respostas"}, "fields": "title"}},
        {"updateSpreadsheetProperties": {"properties": {"title": "Outro"}, "fields": "title"}},
        {"autoResizeDimensions": {"dimensions": {"sheetId": ws.id, "dimension": "COLUMNS"}}},
    ]})
    sh = gc.open_by_key(SID)
    assert sh.title == "Outro"
    assert [w.title for w in sh.worksheets()] == ["Respostas"]


def test_batch_update_with_an_unknown_grid_id_is_refused(sheets_api):
    with pytest.raises(HttpError) as exc:
        sheets_api.spreadsheets().batchUpdate(spreadsheetId=SID, body={"requests": [
            {"appendDimension": {"sheetId": 99, "dimension": "ROWS", "length": 1}}]}).execute()
    assert exc.value.reason == "Invalid requests[0].appendDimension: No grid with id: 99"


def test_unknown_field_in_a_body_gives_google_invalid_payload_message(gc):
    with pytest.raises(gspread.exceptions.APIError) as exc:
        gc.http_client.values_batch_update(SID, body={"valueInputOption": "RAW", "data": [
            {"range": f"{Q}!K2", "values": [["a"]], "colour": "red"}]})
    assert exc.value.code == 400
    assert exc.value.error["message"] == (
        "Invalid JSON payload received. Unknown name \"colour\" at 'data[0]': Cannot find field.")


def test_wrong_json_type_in_a_body_is_refused_and_null_is_accepted(gc):
    with pytest.raises(gspread.exceptions.APIError) as exc:
        gc.http_client.values_batch_update(SID, body={"valueInputOption": "RAW", "data": [
            {"range": 7, "values": [["a"]]}]})
    assert exc.value.error["message"] == "Invalid value at 'data[0].range' (TYPE_STRING), 7"
    gc.http_client.values_batch_update(SID, body={"valueInputOption": "RAW", "includeValuesInResponse": None,
                                                  "data": [{"range": f"{Q}!K2", "values": [["a"]], "majorDimension": None}]})


def test_invalid_enum_and_unknown_query_parameter_are_refused(gc):
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{SID}/values/A1"
    with pytest.raises(gspread.exceptions.APIError) as exc:
        gc.http_client.request("get", url, params={"valueRenderOption": "PRETTY"})
    assert exc.value.error["message"] == "Invalid value at 'value_render_option' (TYPE_ENUM), \"PRETTY\""
    with pytest.raises(gspread.exceptions.APIError) as exc:
        gc.http_client.request("get", url, params={"renderOption": "FORMULA"})
    assert exc.value.error["message"].startswith('Invalid JSON payload received. Unknown name "renderOption"')


def test_typed_error_body_matches_the_reference_shape(ws):
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.update([["x"]], "AB1")
    err = error_body(exc.value)
    assert set(err) >= {"code", "message", "status", "errors"}
    assert err["errors"][0] == {"message": err["message"], "domain": "global", "reason": "badRequest"}


def test_write_responses_match_the_discovery_schemas(sheets_api):
    values = sheets_api.spreadsheets().values()
    res = values.update(spreadsheetId=SID, range=f"{Q}!K2:L2", valueInputOption="USER_ENTERED",
                        includeValuesInResponse=True, body={"values": [["1,5", "=2*3"]]}).execute()
    check_response("sheets.spreadsheets.values.update", res)
    assert res["updatedData"] == {"range": f"{Q}!K2:L2", "majorDimension": "ROWS", "values": [["1,5", "6"]]}
    res = sheets_api.spreadsheets().batchUpdate(spreadsheetId=SID, body={"requests": [
        {"addSheet": {"properties": {"title": "Registro"}}}]}).execute()
    check_response("sheets.spreadsheets.batchUpdate", res)
    assert res["replies"][0]["addSheet"]["properties"]["title"] == "Registro"
    res = values.clear(spreadsheetId=SID, range=f"{Q}!K2:L2", body={}).execute()
    check_response("sheets.spreadsheets.values.clear", res)
