"""GoogleSheet through gspread with `responses`: one request per port call, the exact wire shape."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

import google.oauth2.credentials
import pytest
import responses

from worker.adapters.google_sheets import GoogleSheet
from worker.model import AdapterError
from worker.ports import CellWrite

SID = "SHEET123"
TAB = "Respostas ao formulário 1"
GOOGLE = "https://sheets.googleapis.com/v4/spreadsheets/" + SID
BASE = "http://127.0.0.1:9"
META = {
    "properties": {"timeZone": "America/Bahia", "locale": "pt_BR"},
    "sheets": [
        {"properties": {"sheetId": 0, "title": "Outra"}},
        {
            "properties": {
                "sheetId": 777,
                "title": TAB,
                "gridProperties": {"rowCount": 1000, "columnCount": 9},
            }
        },
    ],
}


def sheet(api_endpoint: str | None = None) -> GoogleSheet:
    return GoogleSheet(
        google.oauth2.credentials.Credentials(token="tok"), SID, TAB, api_endpoint=api_endpoint
    )


def query(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def body(call: responses.Call) -> dict:
    raw = call.request.body
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


@responses.activate
def test_construction_makes_no_request_and_sets_a_timeout() -> None:
    s = sheet()
    assert len(responses.calls) == 0
    assert s._http.timeout == 30.0


@responses.activate
def test_read_is_one_batch_get_with_unformatted_serials() -> None:
    responses.get(
        GOOGLE + "/values:batchGet",
        json={
            "spreadsheetId": SID,
            "valueRanges": [
                {"range": f"'{TAB}'!A1:Z1", "majorDimension": "ROWS", "values": [["Carimbo"]]},
                {"range": f"'{TAB}'!A2:A1000", "majorDimension": "ROWS"},
                {
                    "range": f"'{TAB}'!A2:Z1000",
                    "majorDimension": "ROWS",
                    "values": [[45741.6, "a@x.org"], [], [45742.1]],
                },
            ],
        },
    )
    result = sheet().read(["1:1", "A2:A", "A2:Z"])
    assert result == [[["Carimbo"]], [], [[45741.6, "a@x.org"], [], [45742.1]]]
    (call,) = responses.calls
    q = query(call)
    assert q["ranges"] == [f"'{TAB}'!1:1", f"'{TAB}'!A2:A", f"'{TAB}'!A2:Z"]
    assert q["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    assert q["dateTimeRenderOption"] == ["SERIAL_NUMBER"]
    assert q["majorDimension"] == ["ROWS"]
    assert call.request.headers["Authorization"] == "Bearer tok"


@responses.activate
def test_write_is_one_raw_batch_update_with_adjacent_cells_grouped() -> None:
    responses.post(GOOGLE + "/values:batchUpdate", json={"totalUpdatedCells": 3})
    sheet().write(
        [
            CellWrite(5, 10, "BV-2028-000001"),
            CellWrite(5, 11, "Recebido"),
            CellWrite(7, 10, 46000.5),
        ]
    )
    (call,) = responses.calls
    sent = body(call)
    assert sent["valueInputOption"] == "RAW"
    assert sent["data"] == [
        {
            "range": f"'{TAB}'!J5:K5",
            "majorDimension": "ROWS",
            "values": [["BV-2028-000001", "Recebido"]],
        },
        {"range": f"'{TAB}'!J7", "majorDimension": "ROWS", "values": [[46000.5]]},
    ]


@responses.activate
def test_empty_write_sends_nothing() -> None:
    sheet().write([])
    assert len(responses.calls) == 0


@responses.activate
def test_info_reads_the_worksheets_grid_and_the_spreadsheet_zone() -> None:
    responses.get(GOOGLE, json=META)
    info = sheet().info()
    assert (info.timezone, info.locale, info.sheet_id, info.row_count, info.column_count) == (
        "America/Bahia",
        "pt_BR",
        777,
        1000,
        9,
    )
    assert "fields" in query(responses.calls[0])


@responses.activate
def test_missing_worksheet_is_a_permanent_error_naming_the_setting() -> None:
    responses.get(GOOGLE, json={"properties": {}, "sheets": [{"properties": {"title": "Outra"}}]})
    with pytest.raises(AdapterError, match=r"form\.worksheet") as err:
        sheet().info()
    assert not err.value.transient


@responses.activate
def test_add_columns_widens_formats_and_titles_in_one_batch_update() -> None:
    responses.get(GOOGLE, json=META)
    responses.post(GOOGLE + ":batchUpdate", json={"replies": []})
    s = sheet()
    s.add_columns(["Protocolo", "Situação", "Prazo de resposta"], 9, [11])
    assert len(responses.calls) == 2
    reqs = body(responses.calls[1])["requests"]
    assert reqs[0] == {"appendDimension": {"sheetId": 777, "dimension": "COLUMNS", "length": 2}}
    assert reqs[1]["repeatCell"]["range"] == {
        "sheetId": 777,
        "startRowIndex": 1,
        "startColumnIndex": 10,
        "endColumnIndex": 11,
    }
    assert reqs[1]["repeatCell"]["cell"]["userEnteredFormat"]["numberFormat"] == {
        "type": "DATE_TIME",
        "pattern": "dd/mm/yyyy hh:mm",
    }
    assert reqs[2]["repeatCell"]["range"] == {
        "sheetId": 777,
        "startRowIndex": 0,
        "endRowIndex": 1,
        "startColumnIndex": 8,
        "endColumnIndex": 9,
    }
    titles = [r["repeatCell"]["cell"]["userEnteredValue"]["stringValue"] for r in reqs[2:]]
    assert titles == ["Protocolo", "Situação", "Prazo de resposta"]


@responses.activate
def test_status_tab_is_created_once_then_written_raw() -> None:
    responses.get(GOOGLE, json=META)
    responses.post(GOOGLE + ":batchUpdate", json={})
    responses.post(GOOGLE + "/values:batchUpdate", json={})
    s = sheet()
    s.write_status_tab("balcao", [["Último ciclo", 46000.5]])
    s.write_status_tab("balcao", [["Último ciclo", 46000.6]])
    methods = [(c.request.method, urlsplit(c.request.url).path) for c in responses.calls]
    assert methods == [
        ("GET", f"/v4/spreadsheets/{SID}"),
        ("POST", f"/v4/spreadsheets/{SID}:batchUpdate"),
        ("POST", f"/v4/spreadsheets/{SID}/values:batchUpdate"),
        ("POST", f"/v4/spreadsheets/{SID}/values:batchUpdate"),
    ]
    assert body(responses.calls[1]) == {
        "requests": [{"addSheet": {"properties": {"title": "balcao"}}}]
    }
    assert body(responses.calls[3])["data"][0]["range"] == "'balcao'!A1"


@responses.activate
def test_api_endpoint_rebases_every_request() -> None:
    responses.post(BASE + f"/v4/spreadsheets/{SID}/values:batchUpdate", json={})
    s = sheet(BASE)
    s.write([CellWrite(2, 1, "x")])
    assert unquote(responses.calls[0].request.url).startswith(BASE + "/v4/")
    assert s._http.session.trust_env is False
    assert sheet()._http.session.trust_env is True


@responses.activate
def test_quota_error_is_classified_and_never_retried() -> None:
    responses.get(
        GOOGLE + "/values:batchGet",
        status=429,
        json={"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
        headers={"Retry-After": "12"},
    )
    with pytest.raises(AdapterError) as err:
        sheet().read(["1:1"])
    assert err.value.transient and err.value.retry_after == 12.0 and err.value.status == 429
    assert len(responses.calls) == 1


@responses.activate
def test_lost_write_answer_is_outcome_unknown() -> None:
    import requests

    responses.post(
        GOOGLE + "/values:batchUpdate",
        body=requests.exceptions.ConnectionError("Connection aborted."),
    )
    with pytest.raises(AdapterError) as err:
        sheet().write([CellWrite(2, 1, "x")])
    assert err.value.transient and err.value.outcome_unknown
