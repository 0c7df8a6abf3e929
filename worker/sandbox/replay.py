"""Replay recorded real Sheets v4 traffic (gspread's VCR cassettes) against the sandbox and
measure how often the sandbox answers what Google answered; no network, the app is called
in-process.

Each cassette gets a fresh sandbox (en_US, time zone Etc/GMT, one ``Sheet1`` of 1000 x 26, as
the recording's account had). Drive calls are not replayed, but the ones that shape a
spreadsheet are mirrored: a Drive create makes a fresh spreadsheet under the recorded id and
title, a Drive copy copies it. Sheet ids Google chose for added sheets are mapped to the
sandbox's in later requests. An interaction agrees when the two answers read the same to a
client (``view``): status, error status, values, ranges, update counts, reply kinds, sheet
titles, grid sizes.

``python -m worker.sandbox.replay DIR_OR_FILES...`` prints the per-method table
(``--emulated``: only the cassettes the sandbox claims to emulate, and why the others are left
out; ``--copy-to DIR``: write those cassettes without their HTTP headers, as the tests keep
them).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from werkzeug.test import EnvironBuilder, run_wsgi_app

from worker.sandbox import schema
from worker.sandbox.app import SandboxApp
from worker.sandbox.sheets import HANDLERS
from worker.sandbox.state import Spreadsheet, State

SHEETS_HOST = "sheets.googleapis.com"
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"

# The batchUpdate request kinds the sandbox claims to emulate (README, "The sandbox").
EMULATED_KINDS = frozenset({
    "appendDimension", "insertDimension", "deleteDimension", "repeatCell", "setDataValidation",
    "addSheet", "deleteSheet", "updateSheetProperties", "updateSpreadsheetProperties", "sortRange",
    "copyPaste", "cutPaste", "addNamedRange", "updateNamedRange", "deleteNamedRange", "addProtectedRange",
    "deleteProtectedRange", "addDimensionGroup", "deleteDimensionGroup", "mergeCells", "unmergeCells",
    "setBasicFilter", "clearBasicFilter", "updateCells",
})
# Drive calls whose effect on a spreadsheet the replay cannot mirror (content comes from Drive).
UNMIRRORED_DRIVE = ("/copy", "/upload/", "/export", "/comments")


@dataclass
class Outcome:
    cassette: str
    index: int
    method: str  # discovery id without the "sheets.spreadsheets." prefix, e.g. "values.get"
    kinds: tuple[str, ...]  # batchUpdate request kinds (empty for other methods)
    agree: bool
    expected: Any = None
    got: Any = None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def table(self) -> list[tuple[str, int, int]]:
        """(label, agreeing, total) per method, then per batchUpdate request kind."""
        totals: Counter[str] = Counter()
        good: Counter[str] = Counter()
        for o in self.outcomes:
            labels = [o.method] + [f"batchUpdate[{k}]" for k in sorted(set(o.kinds))]
            for label in labels:
                totals[label] += 1
                good[label] += o.agree
        order = sorted(totals, key=lambda k: (k.startswith("batchUpdate["), -totals[k], k))
        return [(k, good[k], totals[k]) for k in order]

    @property
    def agreeing(self) -> int:
        return sum(o.agree for o in self.outcomes)

    def format(self) -> str:
        lines = [f"{'method':<42} {'agree':>7} {'total':>7} {'%':>7}"]
        for label, ok, n in self.table():
            lines.append(f"{label:<42} {ok:>7} {n:>7} {100 * ok / n:>6.1f}%")
        n = len(self.outcomes)
        if n:
            lines.append(f"{'all Sheets interactions':<42} {self.agreeing:>7} {n:>7} {100 * self.agreeing / n:>6.1f}%")
        return "\n".join(lines)


# -- cassettes -------------------------------------------------------------------------------
def load(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["interactions"])


def _response_json(it: dict[str, Any]) -> Any:
    text = (it["response"].get("body") or {}).get("string") or ""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _sheets_method(it: dict[str, Any]) -> str | None:
    parts = urlsplit(it["request"]["uri"])
    if parts.netloc != SHEETS_HOST:
        return None
    method, _groups = schema.match(it["request"]["method"], parts.path)
    return method.id if method else None


def _request_kinds(it: dict[str, Any]) -> tuple[str, ...]:
    try:
        body = json.loads(it["request"].get("body") or "{}")
    except json.JSONDecodeError:
        return ()
    return tuple(next(iter(r)) for r in body.get("requests") or [] if isinstance(r, dict) and r)


def emulated(interactions: list[dict[str, Any]]) -> tuple[bool, str]:
    """Whether every Sheets call of a cassette is one the sandbox claims to emulate, and why not."""
    for it in interactions:
        uri = it["request"]["uri"]
        if urlsplit(uri).netloc != SHEETS_HOST:
            if any(p in urlsplit(uri).path for p in UNMIRRORED_DRIVE):
                return False, "uses Drive for content (copy, import, export, comments), which the replay does not mirror"
            continue
        mid = _sheets_method(it)
        if mid not in HANDLERS:
            return False, f"method {mid} is not emulated"
        if it["response"]["status"]["code"] == 403:
            return False, "sharing and permissions are not emulated"
        if mid == "sheets.spreadsheets.batchUpdate":
            other = sorted(set(_request_kinds(it)) - EMULATED_KINDS)
            if other:
                return False, f"request kind {', '.join(other)} is not emulated"
        query = parse_qs(urlsplit(uri).query)
        wanted = ",".join(query.get("fields", []))
        if "columnMetadata" in wanted:
            return False, f"fields={wanted} reads what is not emulated"
    return True, ""


# -- replay ----------------------------------------------------------------------------------
class Replayer:
    """One cassette against one fresh sandbox."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = State(spreadsheet_id="replay-unused", worksheet="Sheet1", time_zone="Etc/GMT", locale="en_US")
        self.state.spreadsheets.clear()
        self.app = SandboxApp(self.state)
        # ids Google chose (sheetId, namedRangeId, protectedRangeId) -> the sandbox's
        self.ids: dict[str, dict[Any, Any]] = {"sheetId": {}, "namedRangeId": {}, "protectedRangeId": {}}

    def new_spreadsheet(self, sid: str, title: str) -> None:
        sp = Spreadsheet(sid, title=title, locale="en_US", time_zone="Etc/GMT")
        sp.add_sheet("Sheet1", 1000, 26, 0)
        self.state.spreadsheets[sid] = sp

    def drive(self, it: dict[str, Any]) -> None:
        req = it["request"]
        path = urlsplit(req["uri"]).path
        got = _response_json(it)
        if req["method"] == "POST" and path == "/drive/v3/files" and isinstance(got, dict) and got.get("id"):
            body = json.loads(req.get("body") or "{}")
            if body.get("mimeType") == SPREADSHEET_MIME:
                self.new_spreadsheet(got["id"], body.get("name") or got.get("name") or "Untitled spreadsheet")
        elif req["method"] == "GET" and path == "/drive/v3/files" and isinstance(got, dict):
            for f in got.get("files") or []:  # spreadsheets the account already held
                if f.get("id") and f["id"] not in self.state.spreadsheets:
                    self.new_spreadsheet(f["id"], f.get("name") or "Untitled spreadsheet")
        elif req["method"] == "POST" and path.endswith("/copy") and isinstance(got, dict) and got.get("id"):
            source = self.state.spreadsheets.get(path.split("/")[-2])
            if source is not None:
                sp = copy.deepcopy(source)
                sp.spreadsheet_id = got["id"]
                sp.title = got.get("name") or sp.title
                self.state.spreadsheets[got["id"]] = sp

    @property
    def sheet_ids(self) -> dict[Any, Any]:
        return self.ids["sheetId"]

    def _map_ids(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (self.ids[k].get(v, v) if k in self.ids and not isinstance(v, (dict, list)) else self._map_ids(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._map_ids(v) for v in value]
        return value

    def call(self, it: dict[str, Any]) -> tuple[int, Any]:
        req = it["request"]
        parts = urlsplit(req["uri"])
        raw_path = parts.path
        for old, new in self.sheet_ids.items():
            raw_path = raw_path.replace(f"/sheets/{old}:", f"/sheets/{new}:")
        body = req.get("body") or ""
        if body:
            with contextlib.suppress(json.JSONDecodeError):
                body = json.dumps(self._map_ids(json.loads(body)))
        headers = [("Authorization", "Bearer replay"), ("Content-Type", "application/json")]
        builder = EnvironBuilder(
            method=req["method"], path=unquote(raw_path), query_string=parts.query,
            data=body.encode("utf-8") if body else None,
            headers=headers,
        )
        environ = builder.get_environ()
        environ["RAW_URI"] = raw_path + ("?" + parts.query if parts.query else "")
        app_iter, status, _headers = run_wsgi_app(self.app, environ)
        data = b"".join(app_iter)
        code = int(status.split()[0])
        try:
            return code, json.loads(data) if data.strip() else None
        except json.JSONDecodeError:
            return code, data.decode("utf-8", "replace")

    def learn_ids(self, expected: Any, got: Any) -> None:
        """Map the ids Google chose in addSheet/duplicateSheet/addNamedRange/addProtectedRange
        replies to the ones the sandbox chose."""
        if not (isinstance(expected, dict) and isinstance(got, dict)):
            return
        where = {"addSheet": ("properties", "sheetId"), "duplicateSheet": ("properties", "sheetId"),
                 "addNamedRange": ("namedRange", "namedRangeId"),
                 "addProtectedRange": ("protectedRange", "protectedRangeId")}
        for e, g in zip(expected.get("replies") or [], got.get("replies") or [], strict=False):
            for kind, (part, key) in where.items():
                ep = ((e or {}).get(kind) or {}).get(part) or {}
                gp = ((g or {}).get(kind) or {}).get(part) or {}
                if key in ep and key in gp:
                    self.ids[key][ep[key]] = gp[key]

    def run(self, interactions: list[dict[str, Any]]) -> list[Outcome]:
        out = []
        for i, it in enumerate(interactions):
            mid = _sheets_method(it)
            if urlsplit(it["request"]["uri"]).netloc != SHEETS_HOST:
                self.drive(it)
                continue
            expected_code, expected = it["response"]["status"]["code"], _response_json(it)
            code, got = self.call(it)
            if mid == "sheets.spreadsheets.batchUpdate":
                self.learn_ids(expected, got)
            e_view = view(mid, expected_code, expected, self.sheet_ids)
            g_view = view(mid, code, got, {})
            short = (mid or "unknown").removeprefix("sheets.spreadsheets.")
            kinds = _request_kinds(it) if mid == "sheets.spreadsheets.batchUpdate" else ()
            out.append(Outcome(self.name, i, short, kinds, e_view == g_view, e_view, g_view))
        return out


# -- what a client reads ---------------------------------------------------------------------
def _pick(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: body[k] for k in keys if k in body}


def _value_range(vr: dict[str, Any]) -> dict[str, Any]:
    return {"range": vr.get("range"), "majorDimension": vr.get("majorDimension", "ROWS"),
            "values": vr.get("values", [])}


def _update(res: dict[str, Any]) -> dict[str, Any]:
    out = _pick(res, "updatedRange", "updatedRows", "updatedColumns", "updatedCells")
    if "updatedData" in res:
        out["updatedData"] = _value_range(res["updatedData"])
    return out


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    out = _pick(cell, "userEnteredValue", "effectiveValue", "formattedValue", "dataValidation", "note")
    nf = (cell.get("userEnteredFormat") or {}).get("numberFormat")
    if nf:
        out["numberFormat"] = nf
    return out


def _sheet(sheet: dict[str, Any]) -> dict[str, Any]:
    props = sheet.get("properties") or {}
    grid = props.get("gridProperties") or {}
    out: dict[str, Any] = {
        **_pick(props, "title", "index", "hidden", "tabColor", "tabColorStyle", "rightToLeft"),
        **_pick(grid, "rowCount", "columnCount", "frozenRowCount", "frozenColumnCount"),
    }
    for key in ("protectedRanges", "rowGroups", "columnGroups"):
        if sheet.get(key):
            out[key] = [_no_ids(item, "protectedRangeId") for item in sheet[key]]
    if sheet.get("basicFilter"):
        out["basicFilter"] = _no_ids(sheet["basicFilter"], "")
    if sheet.get("merges"):
        out["merges"] = [{k: v for k, v in m.items() if k != "sheetId"} for m in sheet["merges"]]
    if "data" in sheet:
        out["data"] = [
            {**_pick(d, "startRow", "startColumn"),
             "rows": _trim_rows([[_cell(c) for c in (r.get("values") or [])] for r in d.get("rowData") or []])}
            for d in sheet["data"]
        ]
    return out


def _no_ids(item: dict[str, Any], id_key: str) -> dict[str, Any]:
    """An item without what each side chose on its own: its id, the range's sheetId, and the
    accounts named as editors (Google's test account is not the sandbox's)."""
    out: dict[str, Any] = {k: (sorted(v) if k == "editors" else v) for k, v in item.items() if k != id_key}
    rng = out.get("range")
    if isinstance(rng, dict):
        out["range"] = {k: v for k, v in rng.items() if k != "sheetId"}
    return out


def _trim_rows(rows: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Empty trailing cells and rows say nothing a client reads."""
    out = []
    for row in rows:
        while row and not row[-1]:
            row = row[:-1]
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def view(method: str | None, code: int, body: Any, sheet_ids: dict[int, int]) -> Any:
    """The part of an answer a client reads, for comparing Google's with the sandbox's."""
    if code >= 300 or not isinstance(body, dict):
        err = body.get("error") if isinstance(body, dict) else None
        return {"status": code, "error": err.get("status") if isinstance(err, dict) else None}
    short = (method or "").removeprefix("sheets.spreadsheets.")
    if short == "values.get":
        return _value_range(body)
    if short == "values.batchGet":
        return [_value_range(vr) for vr in body.get("valueRanges") or []]
    if short == "values.update":
        return _update(body)
    if short == "values.batchUpdate":
        return {**_pick(body, "totalUpdatedRows", "totalUpdatedColumns", "totalUpdatedCells", "totalUpdatedSheets"),
                "responses": [_update(r) for r in body.get("responses") or []]}
    if short == "values.append":
        return {**_pick(body, "tableRange"), "updates": _update(body.get("updates") or {})}
    if short == "values.clear":
        return _pick(body, "clearedRange")
    if short == "values.batchClear":
        return _pick(body, "clearedRanges")
    if short == "batchUpdate":
        replies = []
        for r in body.get("replies") or []:
            entry: dict[str, Any] = {"kinds": sorted(r or {})}
            for kind in ("addSheet", "duplicateSheet"):
                if kind in (r or {}):
                    entry[kind] = _sheet(r[kind])
            for kind, part, id_key in (("addNamedRange", "namedRange", "namedRangeId"),
                                       ("addProtectedRange", "protectedRange", "protectedRangeId")):
                if kind in (r or {}):
                    entry[kind] = _no_ids(r[kind].get(part) or {}, id_key)
            for kind in ("addDimensionGroup", "deleteDimensionGroup"):
                if kind in (r or {}):
                    entry[kind] = [_no_ids(g, "") for g in r[kind].get("dimensionGroups") or []]
            replies.append(entry)
        out: dict[str, Any] = {"replies": replies}
        if "updatedSpreadsheet" in body:
            out["updatedSpreadsheet"] = view("sheets.spreadsheets.get", code, body["updatedSpreadsheet"], sheet_ids)
        return out
    if short == "get":
        props = body.get("properties") or {}
        out = _pick(props, "title", "locale", "timeZone")
        if "sheets" in body:
            out["sheets"] = [_sheet(s) for s in body["sheets"]]
        if "namedRanges" in body:
            out["namedRanges"] = [_no_ids(nr, "namedRangeId") for nr in body["namedRanges"]]
        return out
    return body


# -- entry points ----------------------------------------------------------------------------
def replay(paths: Iterable[Path], only_emulated: bool = False) -> tuple[Report, dict[str, str]]:
    """Replay each cassette; returns the report and the cassettes left out with the reason."""
    report = Report()
    excluded: dict[str, str] = {}
    for path in sorted(paths):
        interactions = load(path)
        if only_emulated:
            ok, why = emulated(interactions)
            if not ok:
                excluded[path.name] = why
                continue
        report.outcomes.extend(Replayer(path.stem).run(interactions))
    return report, excluded


def slim(interactions: list[dict[str, Any]]) -> dict[str, Any]:
    """A cassette without HTTP headers (nothing compared reads them; a third of the size)."""
    return {"version": 1, "interactions": [
        {"request": {k: it["request"].get(k) for k in ("method", "uri", "body")},
         "response": {"status": it["response"]["status"], "body": {"string": it["response"]["body"]["string"]}}}
        for it in interactions
    ]}


def _paths(args: list[str]) -> list[Path]:
    out: list[Path] = []
    for arg in args:
        p = Path(arg)
        out.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.sandbox.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="cassette files or folders")
    parser.add_argument("--emulated", action="store_true", help="only the cassettes the sandbox claims to emulate")
    parser.add_argument("--show", type=int, default=0, metavar="N", help="print the first N disagreements")
    parser.add_argument("--copy-to", metavar="DIR", help="write the emulated cassettes there, headers dropped")
    args = parser.parse_args(argv)
    if args.copy_to:
        for path in _paths(args.paths):
            interactions = load(path)
            if emulated(interactions)[0]:
                text = json.dumps(slim(interactions), ensure_ascii=False, indent=1) + "\n"
                (Path(args.copy_to) / path.name).write_text(text, encoding="utf-8")
        return 0
    report, excluded = replay(_paths(args.paths), only_emulated=args.emulated)
    print(report.format())
    if args.emulated:
        print(f"\n{len(excluded)} cassettes excluded:")
        for name, why in sorted(excluded.items()):
            print(f"  {name}: {why}")
    for o in [o for o in report.outcomes if not o.agree][: args.show]:
        print(f"\n{o.cassette} #{o.index} {o.method} {o.kinds}\n  google : {json.dumps(o.expected)[:600]}\n  sandbox: {json.dumps(o.got)[:600]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
