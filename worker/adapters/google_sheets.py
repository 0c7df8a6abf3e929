"""GoogleSheet: the ResponseSheet port over gspread 6 (one request per port call, RAW writes); no retries here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, TypeVar

import google.auth.credentials
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from gspread.client import Client
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_VALUES_BATCH_URL
from gspread.utils import absolute_range_name, rowcol_to_a1

from worker.adapters.errors import classify, for_response_sheet
from worker.model import AdapterError
from worker.packed import PackedColumn
from worker.ports import CellValue, CellWrite, SheetInfo

T = TypeVar("T")

GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
DATE_PATTERN = "dd/mm/yyyy hh:mm"
_META_FIELDS = (
    "properties(timeZone,locale),"
    "sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)))"
)


def http_client_class(api_endpoint: str | None, timeout: float) -> type[HTTPClient]:
    """A gspread HTTPClient class bound to this endpoint and timeout (no module global).

    It is the plain HTTPClient, never BackOffHTTPClient (which retries forever in 6.2.1), with
    a timeout always set (gspread's default is none). With ``api_endpoint`` the Google hosts
    are rebased onto it and the environment's proxies are ignored: a proxy must never see (or
    break) traffic meant for the local sandbox; production keeps the environment's proxy."""
    base = api_endpoint.rstrip("/") if api_endpoint else None

    class _HTTPClient(HTTPClient):
        def __init__(
            self,
            auth: google.auth.credentials.Credentials,
            session: requests.Session | None = None,
        ) -> None:
            if session is None:
                plain = requests.Session()
                plain.trust_env = base is None
                # The token refresh uses its own session: give it the same proxy rule.
                session = AuthorizedSession(auth, auth_request=Request(session=plain))
                session.trust_env = base is None
            super().__init__(auth, session)
            self.auth = auth  # gspread only sets it when it builds the session itself
            self.set_timeout(timeout)

        def request(
            self,
            method: str,
            endpoint: str,
            *args: Any,
            **kwargs: Any,
        ) -> requests.Response:
            if base:
                for host in GOOGLE_HOSTS:
                    if endpoint.startswith(host):
                        endpoint = base + endpoint[len(host) :]
                        break
            return super().request(method, endpoint, *args, **kwargs)

    return _HTTPClient


def _packed_columns(obj: dict[str, Any]) -> dict[str, Any]:
    """``json`` object hook: a ValueRange read column-major, its columns packed the moment it
    is decoded (before the next range is), each cell read back as Google sent it."""
    values = obj.get("values")
    if obj.get("majorDimension") == "COLUMNS" and isinstance(values, list):
        obj["values"] = [PackedColumn(col) if isinstance(col, list) else col for col in values]
    return obj


class GoogleSheet:
    """The form's response worksheet through gspread.

    Construction makes no request; ``info()`` is one metadata GET (cached for the sheet id and
    grid size), ``read`` one values.batchGet, ``write`` one values.batchUpdate (RAW),
    ``add_columns`` one metadata GET plus one spreadsheets.batchUpdate. Every vendor error is
    raised as AdapterError (errors.classify)."""

    def __init__(
        self,
        creds: google.auth.credentials.Credentials,
        spreadsheet_id: str,
        worksheet: str,
        *,
        api_endpoint: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet
        self._client = Client(auth=creds, http_client=http_client_class(api_endpoint, timeout))
        self._http = self._client.http_client
        self._info: SheetInfo | None = None
        self._tabs_known: set[str] = set()

    def set_timeout(self, seconds: float) -> None:
        """Shorter request timeouts from now on (the worker is stopping: flush, then exit)."""
        self._http.set_timeout(seconds)

    # ---- port

    def info(self) -> SheetInfo:
        meta = self._sheet_call(
            "sheets spreadsheets.get",
            False,
            lambda: self._http.fetch_sheet_metadata(
                self.spreadsheet_id, params={"fields": _META_FIELDS}
            ),
        )
        self._tabs_known = {
            s.get("properties", {}).get("title", "") for s in meta.get("sheets", ())
        }
        props = _find_sheet(meta, self.worksheet)
        grid = props.get("gridProperties", {})
        spreadsheet = meta.get("properties", {})
        self._info = SheetInfo(
            timezone=str(spreadsheet.get("timeZone", "")),
            locale=str(spreadsheet.get("locale", "")),
            sheet_id=int(props.get("sheetId", 0)),
            row_count=int(grid.get("rowCount", 0)),
            column_count=int(grid.get("columnCount", 0)),
        )
        return self._info

    def read(
        self, ranges: Sequence[str], *, by_column: bool = False
    ) -> list[list[Sequence[CellValue]]]:
        if not ranges:
            return []
        absolute = [absolute_range_name(self.worksheet, r) for r in ranges]
        params: dict[str, Any] = {
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "COLUMNS" if by_column else "ROWS",
            "ranges": absolute,
        }

        def batch_get() -> Any:
            # gspread's values_batch_get with a hook: column-major ranges are packed as each
            # is decoded, so a 50,000-row read never holds more than one column as objects.
            r = self._http.request("get", SPREADSHEET_VALUES_BATCH_URL % self.spreadsheet_id,
                                   params=params)
            return r.json(object_hook=_packed_columns if by_column else None)

        body = self._sheet_call("sheets values.batchGet", False, batch_get)
        value_ranges = body.get("valueRanges", [])
        if len(value_ranges) != len(ranges):
            raise AdapterError(
                f"sheets values.batchGet: asked {len(ranges)} ranges, got {len(value_ranges)}",
                True,
                reason="badResponse",
            )
        # The decoded JSON lists as they are: copying 50,000 rows would double the peak memory.
        return [vr.get("values", []) for vr in value_ranges]

    def read_displayed(self, ranges: Sequence[str]) -> list[list[list[str]]]:
        if not ranges:
            return []
        absolute = [absolute_range_name(self.worksheet, r) for r in ranges]
        body = self._call(
            "sheets values.batchGet",
            False,
            lambda: self._http.values_batch_get(
                self.spreadsheet_id, absolute,
                params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"},
            ),
        )
        value_ranges = body.get("valueRanges", [])
        if len(value_ranges) != len(ranges):
            raise AdapterError(
                f"sheets values.batchGet: asked {len(ranges)} ranges, got {len(value_ranges)}",
                True,
                reason="badResponse",
            )
        return [
            [[str(v) for v in row] for row in vr.get("values", [])] for vr in value_ranges
        ]

    def write(self, cells: Sequence[CellWrite]) -> None:
        if not cells:
            return
        data = [
            {
                "range": absolute_range_name(self.worksheet, a1),
                "majorDimension": "ROWS",
                "values": [values],
            }
            for a1, values in group_cells(cells)
        ]
        self._sheet_call(
            "sheets values.batchUpdate",
            True,
            lambda: self._http.values_batch_update(
                self.spreadsheet_id, body={"valueInputOption": "RAW", "data": data}
            ),
        )

    def add_columns(
        self, titles: Sequence[str], first_column: int, date_columns: Sequence[int]
    ) -> None:
        # Fresh metadata: staff may have inserted columns since the last info().
        info = self.info()
        needed = max([first_column + len(titles) - 1, *date_columns])
        requests_: list[dict[str, Any]] = []
        if needed > info.column_count:
            # Google refuses writes past the last column: widen the grid first.
            requests_.append(
                {
                    "appendDimension": {
                        "sheetId": info.sheet_id,
                        "dimension": "COLUMNS",
                        "length": needed - info.column_count,
                    }
                }
            )
        for column in date_columns:
            requests_.append(
                {
                    "repeatCell": {
                        "range": {
                            "sheetId": info.sheet_id,
                            "startRowIndex": 1,
                            "startColumnIndex": column - 1,
                            "endColumnIndex": column,
                        },
                        "cell": {
                            "userEnteredFormat": {
                                "numberFormat": {"type": "DATE_TIME", "pattern": DATE_PATTERN}
                            }
                        },
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            )
        for offset, title in enumerate(titles):
            # One repeatCell per header cell (a one-cell range); stringValue is stored as typed
            # (RAW), so a title can never become a formula. updateCells would do the same, but
            # the sandbox ignores it, and this stays one HTTP request either way.
            column = first_column - 1 + offset
            requests_.append(
                {
                    "repeatCell": {
                        "range": {
                            "sheetId": info.sheet_id,
                            "startRowIndex": 0,
                            "endRowIndex": 1,
                            "startColumnIndex": column,
                            "endColumnIndex": column + 1,
                        },
                        "cell": {"userEnteredValue": {"stringValue": title}},
                        "fields": "userEnteredValue",
                    }
                }
            )
        if not requests_:
            return
        self._call(
            "sheets spreadsheets.batchUpdate",
            True,
            lambda: self._http.batch_update(self.spreadsheet_id, {"requests": requests_}),
        )
        self._info = SheetInfo(
            timezone=info.timezone,
            locale=info.locale,
            sheet_id=info.sheet_id,
            row_count=info.row_count,
            column_count=max(info.column_count, needed),
        )

    def set_dropdown(self, column: int, values: Sequence[str], rows: int) -> None:
        """A non-strict list validation (a dropdown staff pick from, anything else still
        accepted) on rows 2..``rows`` of a 1-based column."""
        info = self._info or self.info()  # only the sheet id is needed: no metadata read
        rule = {
            "condition": {
                "type": "ONE_OF_LIST",
                "values": [{"userEnteredValue": v} for v in values],
            },
            "strict": False,
            "showCustomUi": True,
        }
        request = {
            "setDataValidation": {
                "range": {
                    "sheetId": info.sheet_id, "startRowIndex": 1, "endRowIndex": rows,
                    "startColumnIndex": column - 1, "endColumnIndex": column,
                },
                "rule": rule,
            }
        }
        self._call(
            "sheets spreadsheets.batchUpdate",
            True,
            lambda: self._http.batch_update(self.spreadsheet_id, {"requests": [request]}),
        )

    def write_status_tab(self, title: str, rows: Sequence[Sequence[CellValue]]) -> None:
        if title not in self._tabs_known:
            self._ensure_tab(title)
        try:
            self._write_tab(title, rows)
        except AdapterError as exc:
            if exc.status != 400:
                raise
            # Staff may have deleted the tab since: create it again, once.
            self._tabs_known.discard(title)
            self._ensure_tab(title)
            self._write_tab(title, rows)

    # ---- internals

    def _ensure_tab(self, title: str) -> None:
        meta = self._call(
            "sheets spreadsheets.get",
            False,
            lambda: self._http.fetch_sheet_metadata(
                self.spreadsheet_id, params={"fields": "sheets(properties(title))"}
            ),
        )
        titles = {s.get("properties", {}).get("title") for s in meta.get("sheets", ())}
        if title not in titles:
            self._call(
                "sheets spreadsheets.batchUpdate",
                True,
                lambda: self._http.batch_update(
                    self.spreadsheet_id,
                    {"requests": [{"addSheet": {"properties": {"title": title}}}]},
                ),
            )
        self._tabs_known.add(title)

    def _write_tab(self, title: str, rows: Sequence[Sequence[CellValue]]) -> None:
        data = [
            {
                "range": absolute_range_name(title, "A1"),
                "majorDimension": "ROWS",
                "values": [list(r) for r in rows],
            }
        ]
        self._call(
            "sheets values.batchUpdate",
            True,
            lambda: self._http.values_batch_update(
                self.spreadsheet_id, body={"valueInputOption": "RAW", "data": data}
            ),
        )

    def _sheet_call(self, operation: str, write: bool, fn: Callable[[], T]) -> T:
        """A call on the response worksheet: its errors name form.spreadsheet_id/worksheet."""
        try:
            return self._call(operation, write, fn)
        except AdapterError as exc:
            raise for_response_sheet(exc, self.spreadsheet_id, self.worksheet) from exc

    @staticmethod
    def _call(operation: str, write: bool, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except AdapterError:
            raise
        except Exception as exc:  # every vendor error is translated here, at the edge
            raise classify(exc, operation=operation, write=write) from exc


def _find_sheet(meta: Mapping[str, Any], title: str) -> MutableMapping[str, Any]:
    tabs = []
    for sheet in meta.get("sheets", ()):
        props = sheet.get("properties", {})
        if props.get("title") == title:
            return dict(props)
        tabs.append(repr(str(props.get("title", ""))))
    raise AdapterError(
        f"sheets: worksheet form.worksheet = {title!r} not found in the spreadsheet (its tabs: "
        f"{', '.join(tabs) or 'none'}): set form.worksheet to the name of the tab that receives "
        "the form's responses, then run `balcao check`",
        False,
        status=404,
        reason="worksheetNotFound",
    )


def group_cells(cells: Sequence[CellWrite]) -> list[tuple[str, list[CellValue]]]:
    """Adjacent cells of a row become one range: cells (2,3), (2,4), (5,1) →
    ``[("C2:D2", [v, v]), ("A5", [v])]``. A cell written twice keeps its last value."""
    last: dict[tuple[int, int], CellValue] = {}
    for c in cells:
        if c.row < 1 or c.column < 1:
            raise ValueError(f"cell out of the sheet: row {c.row}, column {c.column}")
        last[(c.row, c.column)] = c.value
    out: list[tuple[str, list[CellValue]]] = []
    run: list[CellValue] = []
    start: tuple[int, int] | None = None
    prev: tuple[int, int] | None = None
    for key in sorted(last):
        if start is not None and prev is not None and key == (prev[0], prev[1] + 1):
            run.append(last[key])
        else:
            if start is not None:
                out.append((_a1_span(start, len(run)), run))
            start, run = key, [last[key]]
        prev = key
    if start is not None:
        out.append((_a1_span(start, len(run)), run))
    return out


def _a1_span(start: tuple[int, int], width: int) -> str:
    first = rowcol_to_a1(*start)
    if width == 1:
        return first
    return f"{first}:{rowcol_to_a1(start[0], start[1] + width - 1)}"


__all__ = ["DATE_PATTERN", "GoogleSheet", "group_cells", "http_client_class"]
