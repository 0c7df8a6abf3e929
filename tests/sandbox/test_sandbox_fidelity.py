"""Sheets behaviours the recorded real traffic (tests/replay) showed the sandbox had wrong, each
pinned by the case Google answered: update counts, append's table, field masks, data
validation, grid sizes after dimension changes."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import SID, WS, check_response

Q = "'Respostas ao formulário 1'"


def _batch(gc, *requests):
    return gc.open_by_key(SID).batch_update({"requests": list(requests)})


def _grid(gc):
    ws = gc.open_by_key(SID).worksheet(WS)
    return ws.row_count, ws.col_count


def test_cells_sent_as_null_are_not_counted_as_updated(ws):
    values = [["top left", None, None, None]] + [[None] * 4] * 4 + [[None, None, None, "bottom right"]]
    res = ws.update(values, "K1:N6")
    assert (res["updatedRange"], res["updatedRows"], res["updatedColumns"], res["updatedCells"]) == (
        f"{Q}!K1:N6", 2, 2, 2)


def test_batch_totals_count_distinct_rows_and_columns(sheets_api):
    body = sheets_api.spreadsheets().values().batchUpdate(spreadsheetId=SID, body={
        "valueInputOption": "RAW",
        "data": [{"range": f"{Q}!K2:N2", "values": [list("abcd")]}, {"range": f"{Q}!K5:N5", "values": [list("efgh")]}],
    }).execute()
    check_response("sheets.spreadsheets.values.batchUpdate", body)
    assert (body["totalUpdatedRows"], body["totalUpdatedColumns"], body["totalUpdatedCells"]) == (2, 4, 8)


def test_append_finds_the_table_where_the_data_is(gc, sheets_api):
    gc.open_by_key(SID).add_worksheet("vazia", 10, 10)
    api = sheets_api.spreadsheets().values()
    row = {"values": [["x", "", "z"]]}
    first = api.append(spreadsheetId=SID, range="vazia", valueInputOption="RAW", body=row).execute()
    assert "tableRange" not in first and first["updates"]["updatedRange"] == "vazia!A1:C1"
    # A1 and C1 hold data, B1 is empty: Google picks the last block, C1, and appends under it.
    second = api.append(spreadsheetId=SID, range="vazia", valueInputOption="RAW", body=row).execute()
    assert (second["tableRange"], second["updates"]["updatedRange"]) == ("vazia!C1", "vazia!C2:E2")


def test_append_to_an_empty_cell_writes_there_even_with_data_below(gc, sheets_api):
    ws = gc.open_by_key(SID).add_worksheet("abaixo", 10, 10)
    ws.update([["a"], [None], ["c"], ["d"]], "A1:A4")
    res = sheets_api.spreadsheets().values().append(
        spreadsheetId=SID, range="abaixo!A2", valueInputOption="RAW", body={"values": [["b"]]}).execute()
    assert "tableRange" not in res and res["updates"]["updatedRange"] == "abaixo!A2"


def test_a_field_mask_may_separate_names_with_slashes(gc, ws):
    _batch(gc, {"updateSheetProperties": {
        "properties": {"sheetId": ws.id, "gridProperties": {"rowCount": 40, "columnCount": 20}},
        "fields": "gridProperties/rowCount,gridProperties/columnCount"}})
    assert _grid(gc) == (40, 20)


def test_grid_sizes_follow_every_dimension_change(gc, ws):
    _batch(gc, {"appendDimension": {"sheetId": ws.id, "dimension": "COLUMNS", "length": 4}})
    assert _grid(gc) == (1000, 30)
    _batch(gc, {"insertDimension": {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 1, "endIndex": 3}}})
    assert _grid(gc) == (1002, 30)
    _batch(gc, {"deleteDimension": {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 1, "endIndex": 6}}})
    assert _grid(gc) == (997, 30)
    _batch(gc, {"deleteDimension": {"range": {"sheetId": ws.id, "dimension": "COLUMNS", "startIndex": 26, "endIndex": 30}}})
    assert _grid(gc) == (997, 26)
    added = _batch(gc, {"addSheet": {"properties": {"title": "nova", "gridProperties": {"rowCount": 5, "columnCount": 3}}}})
    assert added["replies"][0]["addSheet"]["properties"]["gridProperties"] == {"rowCount": 5, "columnCount": 3}


def test_deleting_every_row_or_hiding_every_sheet_is_refused(gc, ws):
    with pytest.raises(Exception, match="delete all the rows"):
        _batch(gc, {"deleteDimension": {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 0, "endIndex": 1000}}})
    with pytest.raises(Exception, match="hide all the sheets"):
        _batch(gc, {"updateSheetProperties": {"properties": {"sheetId": ws.id, "hidden": True}, "fields": "hidden"}})


DROPDOWN = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "Agendado"},
                                                             {"userEnteredValue": "Cancelar"}]},
            "showCustomUi": True, "strict": False}


def test_set_data_validation_is_returned_per_cell_with_grid_data(gc, ws, sheets_api):
    _batch(gc, {"setDataValidation": {
        "range": {"sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 3, "startColumnIndex": 10, "endColumnIndex": 11},
        "rule": DROPDOWN}})
    body = sheets_api.spreadsheets().get(spreadsheetId=SID, ranges=[f"{Q}!J2:K4"], includeGridData=True).execute()
    rows = body["sheets"][0]["data"][0]["rowData"]
    kept = {"condition": DROPDOWN["condition"], "showCustomUi": True}  # Google's JSON drops false
    assert [[c.get("dataValidation") for c in r["values"]] for r in rows[:2]] == [[None, kept], [None, kept]]
    assert all("dataValidation" not in c for r in rows[2:] for c in r.get("values", []))


def test_a_validation_follows_inserted_rows_and_a_rule_less_request_clears_it(gc, ws, sheets_api):
    rng = {"sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 10, "endColumnIndex": 11}
    _batch(gc, {"setDataValidation": {"range": rng, "rule": DROPDOWN}},
           {"insertDimension": {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 0, "endIndex": 1}}})

    def rule_at(a1: str):
        body = sheets_api.spreadsheets().get(spreadsheetId=SID, ranges=[f"{Q}!{a1}"], includeGridData=True).execute()
        rows = body["sheets"][0]["data"][0].get("rowData") or [{}]
        return ((rows[0].get("values") or [{}])[0]).get("dataValidation")

    assert rule_at("K2") is None and rule_at("K3") is not None
    _batch(gc, {"setDataValidation": {"range": {**rng, "startRowIndex": 2, "endRowIndex": 3}}})
    assert rule_at("K3") is None


def test_a_list_validation_without_values_is_refused(gc, ws):
    with pytest.raises(Exception, match="setDataValidation"):
        _batch(gc, {"setDataValidation": {
            "range": {"sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 10, "endColumnIndex": 11},
            "rule": {"condition": {"type": "ONE_OF_LIST"}}}})


def test_sort_range_orders_rows_by_a_column_with_empty_cells_last(gc):
    ws = gc.open_by_key(SID).add_worksheet("ordem", 10, 3)
    ws.update([["b", 2], ["", 9], ["a", 1], ["c", 3]], "A1:B4")
    _batch(gc, {"sortRange": {"range": {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 4},
                              "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING"}]}})
    assert ws.get_values("A1:B4") == [["c", "3"], ["b", "2"], ["a", "1"], ["", "9"]]


def test_whole_number_values_come_back_without_a_fraction(ws, sheets_api):
    ws.update([[43831.0]], "K2")
    body = sheets_api.spreadsheets().values().get(
        spreadsheetId=SID, range=f"{Q}!K2", valueRenderOption="UNFORMATTED_VALUE").execute()
    assert body["values"] == [[43831]]


def test_a_spreadsheet_that_does_not_exist_is_404_for_every_method(sheets_api):
    calls = [
        sheets_api.spreadsheets().get(spreadsheetId="nope"),
        sheets_api.spreadsheets().values().get(spreadsheetId="nope", range="A1"),
        sheets_api.spreadsheets().values().update(spreadsheetId="nope", range="A1", valueInputOption="RAW",
                                                  body={"values": [["x"]]}),
        sheets_api.spreadsheets().batchUpdate(spreadsheetId="nope", body={"requests": [{"addSheet": {}}]}),
    ]
    for call in calls:
        with pytest.raises(HttpError) as exc:
            call.execute()
        assert exc.value.status_code == 404


def test_grid_data_follows_the_field_mask_when_one_is_given(sheets_api, gc, ws):
    get = sheets_api.spreadsheets().get
    masked = get(spreadsheetId=SID, ranges=[f"{Q}!A1:B2"], fields="sheets(data(rowData(values(formattedValue))))").execute()
    assert masked["sheets"][0]["data"][0]["rowData"][0]["values"][0] == {"formattedValue": "Carimbo de data/hora"}
    ignored = get(spreadsheetId=SID, includeGridData=True, fields="sheets.properties.title").execute()
    assert ignored == {"sheets": [{"properties": {"title": WS}}]}
    plain = get(spreadsheetId=SID, ranges=[f"{Q}!A1"], includeGridData=True).execute()
    assert plain["sheets"][0]["data"][0]["rowData"][0]["values"][0]["formattedValue"] == "Carimbo de data/hora"


def test_a_named_range_is_kept_listed_and_readable_by_name(gc, ws, sheets_api):
    rng = {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 1, "endColumnIndex": 3}
    reply = _batch(gc, {"addNamedRange": {"namedRange": {"name": "Cabecalho", "range": rng}}})
    created = reply["replies"][0]["addNamedRange"]["namedRange"]
    assert created["range"] == {k: v for k, v in rng.items() if k != "sheetId"}  # sheetId 0 left out
    body = sheets_api.spreadsheets().values().get(spreadsheetId=SID, range=f"{Q}!Cabecalho").execute()
    assert body["range"] == f"{Q}!B1:C2"
    assert body["values"][0] == ["Endereço de e-mail", "Nome completo"]
    listed = sheets_api.spreadsheets().get(spreadsheetId=SID, fields="namedRanges").execute()
    assert [n["name"] for n in listed["namedRanges"]] == ["Cabecalho"]
    _batch(gc, {"deleteNamedRange": {"namedRangeId": created["namedRangeId"]}})
    assert sheets_api.spreadsheets().get(spreadsheetId=SID, fields="namedRanges").execute() == {}


def test_protected_ranges_and_groups_are_kept_as_sheet_metadata(gc, ws, sheets_api):
    rng = {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 1}
    added = _batch(gc, {"addProtectedRange": {"protectedRange": {"range": rng, "warningOnly": True}}},
                   {"addDimensionGroup": {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 1, "endIndex": 5}}})
    protected = added["replies"][0]["addProtectedRange"]["protectedRange"]
    assert (protected["warningOnly"], protected["requestingUserCanEdit"]) == (True, True)
    assert added["replies"][1]["addDimensionGroup"]["dimensionGroups"] == [
        {"range": {"dimension": "ROWS", "startIndex": 1, "endIndex": 5}, "depth": 1}]
    sheet = sheets_api.spreadsheets().get(spreadsheetId=SID).execute()["sheets"][0]
    assert len(sheet["protectedRanges"]) == 1 and len(sheet["rowGroups"]) == 1
    removed = _batch(gc, {"deleteProtectedRange": {"protectedRangeId": protected["protectedRangeId"]}},
                     {"deleteDimensionGroup": {"range": {"sheetId": ws.id, "dimension": "ROWS", "startIndex": 1, "endIndex": 5}}})
    assert removed["replies"] == [{}, {"deleteDimensionGroup": {}}]
    assert "protectedRanges" not in sheets_api.spreadsheets().get(spreadsheetId=SID).execute()["sheets"][0]


def test_notes_written_with_update_cells_are_read_back_through_the_field_mask(gc, ws, sheets_api):
    _batch(gc, {"updateCells": {
        "range": {"sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 1, "endColumnIndex": 2},
        "rows": [{"values": [{"note": "ligar antes"}]}], "fields": "note"}})
    body = sheets_api.spreadsheets().get(spreadsheetId=SID, ranges=[f"{Q}!A1:C3"],
                                         fields="sheets.data.rowData.values.note").execute()
    notes = [[c.get("note") for c in row.get("values", [])] for row in body["sheets"][0]["data"][0]["rowData"]]
    assert notes[:2] == [[None, None, None], [None, "ligar antes", None]]
    assert all(n is None for row in notes[2:] for n in row)
    assert ws.get("B2")[0][0] != ""  # the cell's value is untouched


def test_merges_are_listed_per_merge_type_and_removed_by_unmerge(gc, sheets_api):
    ws = gc.open_by_key(SID).add_worksheet("juntas", 4, 4)
    rng = {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2}

    def merges():
        sheets = sheets_api.spreadsheets().get(spreadsheetId=SID, fields="sheets(merges)").execute()["sheets"]
        return [m for s in sheets for m in s.get("merges", [])]

    _batch(gc, {"mergeCells": {"range": rng, "mergeType": "MERGE_ROWS"}})
    assert len(merges()) == 2
    _batch(gc, {"mergeCells": {"range": rng, "mergeType": "MERGE_ALL"}})  # replaces both, as Google did
    assert merges() == [rng]
    _batch(gc, {"unmergeCells": {"range": rng}})
    assert merges() == []


def test_a_basic_filter_reads_back_closed_to_the_grid_and_is_cleared(gc, sheets_api):
    ws = gc.open_by_key(SID).add_worksheet("filtro", 20, 20)
    _batch(gc, {"setBasicFilter": {"filter": {"range": {"sheetId": ws.id}}}})
    sheet = sheets_api.spreadsheets().get(spreadsheetId=SID, ranges=["filtro"]).execute()["sheets"][0]
    assert sheet["basicFilter"]["range"] == {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 20,
                                             "startColumnIndex": 0, "endColumnIndex": 20}
    _batch(gc, {"clearBasicFilter": {"sheetId": ws.id}})
    assert "basicFilter" not in sheets_api.spreadsheets().get(spreadsheetId=SID, ranges=["filtro"]).execute()["sheets"][0]


def test_a_tab_colour_is_kept_at_eight_bits_a_channel_and_null_clears_it(gc, ws, sheets_api):
    def tab():
        return sheets_api.spreadsheets().get(spreadsheetId=SID).execute()["sheets"][0]["properties"].get("tabColorStyle")

    _batch(gc, {"updateSheetProperties": {"properties": {"sheetId": ws.id, "tabColorStyle": {
        "rgbColor": {"red": 1, "green": 0, "blue": 0.5}}}, "fields": "tabColorStyle"}})
    assert tab() == {"rgbColor": {"red": 1, "blue": 0.49803922}}  # as Google answered
    _batch(gc, {"updateSheetProperties": {"properties": {"sheetId": ws.id, "tabColorStyle": {"rgbColor": None}},
                                          "fields": "tabColorStyle"}})
    assert tab() is None


def test_a_failing_batch_update_leaves_named_ranges_and_metadata_as_they_were(gc, ws, sheets_api):
    rng = {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 1}
    with pytest.raises(Exception, match="No grid with id"):
        _batch(gc, {"addNamedRange": {"namedRange": {"name": "Perdido", "range": rng}}},
               {"mergeCells": {"range": {**rng, "endColumnIndex": 2}}},
               {"deleteSheet": {"sheetId": 987654}})
    body = sheets_api.spreadsheets().get(spreadsheetId=SID).execute()
    assert "namedRanges" not in body and "merges" not in body["sheets"][0]
