"""Response sheets for the sandbox: the bundled sample (timestamps relative to ``now``) and
``--responses FILE.csv`` (timestamps ``dd/mm/aaaa HH:MM:SS`` in the sheet's zone).

Bundled timestamp specs (first column of ``data/sample_responses.csv``):
``-3d 22:15:07`` (three days before today, at that local time), ``sat 10:05:33`` / ``sun ...``
(the latest such weekday before now), ``holiday 11:20:15`` (the latest Bahia holiday within the
last 7 days, else the latest Sunday), ``+95s`` (the previous row plus 95 seconds: a double
submission), ``-40m`` / ``-3h`` (before now). Rows end up in chronological order, as Forms writes.
The bundled sample spans the last 30 hours, so most of its requests are still inside their
24-hour response deadline when the demo answers them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from worker.sandbox import serial
from worker.sandbox.state import Sheet

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def easter(year: int) -> date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def bahia_closures(year: int) -> set[date]:
    """National holidays, 2 de Julho and Carnival Monday/Tuesday (only for the sample's dates)."""
    e = easter(year)
    fixed = [(1, 1), (4, 21), (5, 1), (7, 2), (9, 7), (10, 12), (11, 2), (11, 15), (11, 20), (12, 25)]
    out = {date(year, m, d) for m, d in fixed}
    out |= {e - timedelta(days=48), e - timedelta(days=47), e - timedelta(days=2), e + timedelta(days=60)}
    return out


def resolve_spec(spec: str, now: datetime, previous: datetime | None) -> datetime:
    """Turn one bundled timestamp spec into a naive local datetime (``now`` is local, naive)."""
    spec = spec.strip()
    mo = re.fullmatch(r"\+(\d+)s", spec)
    if mo:
        if previous is None:
            raise ValueError("'+Ns' needs a previous row")
        return previous + timedelta(seconds=int(mo.group(1)))
    mo = re.fullmatch(r"-(\d+)([mh])", spec)
    if mo:
        n = int(mo.group(1))
        return now - (timedelta(minutes=n) if mo.group(2) == "m" else timedelta(hours=n))
    mo = re.fullmatch(r"(-\d+d|[a-z]{3}|holiday)\s+(\d{2}):(\d{2}):(\d{2})", spec)
    if not mo:
        raise ValueError(f"bad timestamp spec {spec!r}")
    what = mo.group(1)
    at = time(int(mo.group(2)), int(mo.group(3)), int(mo.group(4)))
    today = now.date()
    if what.startswith("-"):
        day = today - timedelta(days=int(what[1:-1]))
        dt = datetime.combine(day, at)
        return dt if dt < now else dt - timedelta(days=1)

    def latest(pred: Any) -> datetime | None:
        for back in range(0, 8):
            day = today - timedelta(days=back)
            dt = datetime.combine(day, at)
            if pred(day) and dt < now:
                return dt
        return None

    if what == "holiday":
        closures = bahia_closures(today.year) | bahia_closures(today.year - 1)
        found = latest(lambda d: d in closures)
        return found or latest(lambda d: d.weekday() == 6) or now - timedelta(days=1)
    wd = WEEKDAYS[what]
    return latest(lambda d: d.weekday() == wd) or now - timedelta(days=1)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def load_bundled(sheet: Sheet, now: datetime, time_zone: str) -> None:
    text = resources.files("worker.sandbox").joinpath("data/sample_responses.csv").read_text(encoding="utf-8")
    rows = _rows(text)
    local_now = (now if now.tzinfo else now.replace(tzinfo=ZoneInfo(time_zone))).astimezone(ZoneInfo(time_zone))
    naive_now = local_now.replace(tzinfo=None, microsecond=0)
    resolved: list[tuple[datetime, list[str]]] = []
    prev: datetime | None = None
    for row in rows[1:]:
        if not row:
            continue
        when = resolve_spec(row[0], naive_now, prev)
        prev = when
        resolved.append((when, row))
    resolved.sort(key=lambda item: item[0])
    _fill(sheet, rows[0], [[serial.to_serial(when), *row[1:]] for when, row in resolved])


_CSV_DATE = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?\s*")


def _csv_cell(cell: str, *, seconds: bool) -> Any:
    """A date-time cell becomes a serial, as Sheets' pt-BR CSV import makes it; else the text.
    ``seconds``: only ``dd/mm/aaaa HH:MM:SS`` counts (the form's timestamp column)."""
    mo = _CSV_DATE.fullmatch(cell)
    if mo is None or (seconds and mo.group(6) is None):
        return cell
    d, m, y, hh, mi, ss = (int(x or 0) for x in mo.groups())
    try:
        return serial.to_serial(datetime(y, m, d, hh, mi, ss))
    except ValueError:
        return cell


def load_csv(sheet: Sheet, path: str | Path) -> None:
    """``--responses``: header row = titles; ``dd/mm/aaaa HH:MM:SS`` first cells and
    ``dd/mm/aaaa HH:MM[:SS]`` cells of other columns (the dates balcao writes, e.g. in a
    benchmark's already processed sheet) become serials."""
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = _rows(text)
    if not rows:
        raise ValueError(f"{path}: empty CSV (a header row is needed)")
    body: list[list[Any]] = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            body.append([])  # empty rows stay empty rows
            continue
        body.append([_csv_cell(row[0], seconds=True),
                     *(_csv_cell(cell, seconds=False) for cell in row[1:])])
    _fill(sheet, rows[0], body)


def _fill(sheet: Sheet, header: list[str], body: list[list[Any]]) -> None:
    sheet.cells = []
    ncols = max([len(header)] + [len(r) for r in body])
    sheet.col_count = max(26, ncols)
    sheet.row_count = max(1000, len(body) + 1)
    for c, title in enumerate(header):
        sheet.set(0, c, title)
    for r, row in enumerate(body, start=1):
        for c, value in enumerate(row):
            sheet.set(r, c, None if value == "" else value)
    # Forms formats its timestamp column; everything else is General
    sheet.set_format((1, 0, None, 1), serial.FORM_TIMESTAMP_FORMAT)
