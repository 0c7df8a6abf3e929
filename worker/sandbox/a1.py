"""A1 notation: parse and print ranges as Sheets does (quoted titles, open ends, whole rows/cols).

Indices are 0-based and end-exclusive internally; ``None`` means "open" (to the grid's edge).
Examples: ``'Respostas ao formulário 1'!A1:ZZ`` → cols 0..702, rows open;
``2:5`` → rows 1..5, cols open; ``A:A`` → col 0..1; ``Sheet1`` → whole sheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class A1Error(ValueError):
    pass


def col_to_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def index_to_col(index: int) -> str:
    n = index + 1
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass(frozen=True)
class A1Range:
    sheet: str | None
    row0: int | None  # first row (0-based) or None = from row 0
    col0: int | None
    row1: int | None  # end row (exclusive) or None = to the grid's edge
    col1: int | None

    def resolved(self, rows: int, cols: int) -> tuple[int, int, int, int]:
        return (
            self.row0 or 0,
            self.col0 or 0,
            rows if self.row1 is None else self.row1,
            cols if self.col1 is None else self.col1,
        )


_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


def quote_title(title: str) -> str:
    """``Sheet1`` stays bare; titles with spaces or punctuation are quoted, quotes doubled."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(
        r"[A-Za-z]{1,3}\d+|[RrCc]\d*([Cc]\d*)?", title
    ):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_sheet(text: str) -> tuple[str | None, str]:
    """Split ``'It''s'!A1:B2`` into ``("It's", "A1:B2")``; no ``!`` → (None, text) or a bare title."""
    text = text.strip()
    if text.startswith("'"):
        i = 1
        title = ""
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title += "'"
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return title, ""
                if rest.startswith("!"):
                    return title, rest[1:]
                raise A1Error(text)
            title += ch
            i += 1
        raise A1Error(text)
    if "!" in text:
        title, _, rest = text.rpartition("!")
        return title, rest
    return None, text


def _parse_cell(part: str) -> tuple[int | None, int | None]:
    mo = _CELL.match(part)
    if not mo or (not mo.group(1) and not mo.group(2)):
        raise A1Error(part)
    letters, digits = mo.groups()
    col = col_to_index(letters) if letters else None
    row = int(digits) - 1 if digits else None
    if row is not None and row < 0:
        raise A1Error(part)
    return row, col


def parse(text: str, known_titles: list[str] | None = None) -> A1Range:
    """Parse an A1 range. A text that is a known sheet title is the whole sheet."""
    if known_titles is not None and text in known_titles:
        return A1Range(text, None, None, None, None)
    sheet, cells = split_sheet(text)
    if sheet is not None and cells == "":
        return A1Range(sheet, None, None, None, None)
    if sheet is None and known_titles is not None and cells not in known_titles and not _looks_like_cells(cells):
        raise A1Error(text)
    try:
        if ":" in cells:
            a, b = cells.split(":", 1)
            r0, c0 = _parse_cell(a)
            r1, c1 = _parse_cell(b)
            # A1:B or A:B2 etc.; a lone row or column on one side opens that dimension
            if r0 is not None and c0 is None and r1 is not None and c1 is None:  # 2:5
                lo, hi = sorted((r0, r1))
                return A1Range(sheet, lo, None, hi + 1, None)
            if c0 is not None and r0 is None and c1 is not None and r1 is None:  # A:C
                lo, hi = sorted((c0, c1))
                return A1Range(sheet, None, lo, None, hi + 1)
            if c0 is not None and r0 is not None and c1 is None and r1 is not None:  # A1:1
                return A1Range(sheet, min(r0, r1), c0, max(r0, r1) + 1, None)
            if c0 is None or c1 is None:
                raise A1Error(text)
            row0 = r0 if r0 is not None else None
            row1 = r1 + 1 if r1 is not None else None
            col0, col1 = min(c0, c1), max(c0, c1) + 1
            if row0 is not None and row1 is not None and row1 <= row0:
                row0, row1 = row1 - 1, row0 + 1
            if r0 is None and r1 is not None:  # A:B5 (Sheets reads it as A1:B5)
                row0 = 0
            return A1Range(sheet, row0, col0, row1, col1)
        r, c = _parse_cell(cells)
        if r is None or c is None:
            raise A1Error(text)
        return A1Range(sheet, r, c, r + 1, c + 1)
    except A1Error:
        raise A1Error(text) from None


def _looks_like_cells(cells: str) -> bool:
    return re.fullmatch(r"[A-Za-z]*\d*(:[A-Za-z]*\d*)?", cells) is not None and cells != ""


def cell_name(row: int, col: int) -> str:
    return f"{index_to_col(col)}{row + 1}"


def format_range(title: str, row0: int, col0: int, row1: int, col1: int) -> str:
    """0-based end-exclusive box → ``'Title'!A1:B2`` (a single cell prints as ``'Title'!A1``)."""
    start = cell_name(row0, col0)
    end = cell_name(row1 - 1, col1 - 1)
    body = start if start == end else f"{start}:{end}"
    return f"{quote_title(title)}!{body}"


def format_requested(rng: A1Range, title: str) -> str:
    """The range as the client wrote it, normalised (used in error messages): ``'T'!A1:ZZ``."""
    def side(r: int | None, c: int | None) -> str:
        return (index_to_col(c) if c is not None else "") + (str(r + 1) if r is not None else "")

    if rng.row0 is None and rng.col0 is None and rng.row1 is None and rng.col1 is None:
        return quote_title(title)
    a = side(rng.row0, rng.col0)
    b = side(None if rng.row1 is None else rng.row1 - 1, None if rng.col1 is None else rng.col1 - 1)
    single = rng.row1 is not None and rng.col1 is not None and rng.row0 == rng.row1 - 1 and rng.col0 == rng.col1 - 1
    return f"{quote_title(title)}!{a if single else a + ':' + b}"
