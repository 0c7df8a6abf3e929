"""A1 notation of the Sheets UI (columns as letters, ranges as text), shared by the Sheets adapters, the memory fake and the tick's range building; pure."""

from __future__ import annotations

import re

from worker.model import AdapterError

__all__ = ["col_letter", "col_number", "parse_a1"]


def col_letter(n: int) -> str:
    """A 1-based column number in A1 letters: 1 → ``A``, 26 → ``Z``, 27 → ``AA``."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


_A1 = re.compile(r"^([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?$")


def col_number(letters: str) -> int:
    """Letters → 1-based column number: ``AA`` → 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def parse_a1(text: str) -> tuple[int, int, int | None, int | None]:
    """An A1 range inside one sheet → 1-based inclusive ``(row0, col0, row1, col1)``, None for
    an open end: ``"A2:A"`` → (2, 1, None, 1); ``"1:1"`` → (1, 1, 1, None); ``"B3"`` → (3, 2, 3, 2)."""
    m = _A1.match(text.strip())
    if not m or not (m.group(1) or m.group(2)):
        raise AdapterError(f"Unable to parse range: {text}", False, status=400, reason="badRequest")
    c0, r0, c1, r1 = m.groups()
    if ":" not in text:  # a single cell
        c1, r1 = c0, r0
    row0 = int(r0) if r0 else 1
    col0 = col_number(c0) if c0 else 1
    row1 = int(r1) if r1 else None
    col1 = col_number(c1) if c1 else None
    return row0, col0, row1, col1
