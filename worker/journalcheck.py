"""`balcao check`'s journal lines: the journal writable (never created by a check), its column titles free of collisions, and the journal agreeing with the sheet's protocols; operator tooling.

A check must leave no trace: an absent journal is reported, not created (an empty one would
then look like the office's journal to the next `run`, which refuses it anyway).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker import intake
from worker.adapters.a1 import col_letter
from worker.agreement import disagreement_message, unknown_above
from worker.config import Settings
from worker.journal import InstanceLock, Journal, JournalError
from worker.model import AdapterError, LockHeldError

OK, FAIL = "✓", "✗"


@dataclass
class JournalFacts:
    """What the journal knows, for comparing with the sheet."""

    exists: bool = False
    known: set[str] = field(default_factory=set)
    highest: dict[int, int] = field(default_factory=dict)
    has_columns: bool = False  # balcao has recorded where its columns are


def _writable_folder(path: Path) -> Path | None:
    """The nearest existing folder of ``path``, when balcao could create the journal there."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


def journal_line(s: Settings) -> tuple[str, str, JournalFacts]:
    """(mark, text, facts) of the "journal" line."""
    path = s.journal.path
    facts = JournalFacts()
    if not Path(path).exists():
        folder = _writable_folder(Path(path))
        if folder is None:
            return FAIL, (f"{path} does not exist and its folder is not writable by "
                          "balcao's user: create the folder or fix its permissions"), facts
        return OK, (f"{path} not created yet: the first `balcao run` creates it (the folder "
                    "is writable)"), facts
    try:
        journal = Journal(path)
    except JournalError as exc:
        return FAIL, (f"{exc}: check that the folder exists, is writable by balcao's user and "
                      "the disk has space"), facts
    try:
        journal.probe_writable()
        facts.exists = True
        facts.known = {p for p, _ in journal.identity_pairs()}
        facts.highest = journal.max_seq_by_year()
        facts.has_columns = bool(journal.get_meta("columns"))
    except JournalError as exc:
        return FAIL, f"{exc}: free disk space or fix the folder's permissions", facts
    finally:
        journal.close()
    running = ""
    lock = InstanceLock(path)
    try:
        lock.acquire()
        lock.release()
    except LockHeldError:
        running = " (a running balcao holds its lock: fine)"
    return OK, f"{path} writable{running}", facts


def collisions_line(s: Settings, header: Sequence[Any], facts: JournalFacts) -> tuple[str, str]:
    """(mark, text) of the "column titles" line: no form question titled like balcao's."""
    try:
        hmap = intake.build_header_map(
            header, s.form.columns, owned_titles=s.form.owned_columns
        )
    except Exception as exc:  # missing headers are the "headers" line's business
        return OK, f"not compared ({type(exc).__name__})"
    found = intake.owned_collisions(hmap, first_run=not facts.has_columns)
    if found:
        return FAIL, ("; ".join(found) + ": a form question has the title of one of balcao's "
                      "columns and its answers would be overwritten: rename the question, or "
                      "give balcao's column another title in form.owned_columns")
    return OK, "no form question has the title of one of balcao's columns"


def agreement_line(
    s: Settings, header: Sequence[Any], facts: JournalFacts, sheet: Any
) -> tuple[str, str]:
    """(mark, text): does the journal know every protocol the sheet shows? One read of the
    protocol column; the words of `run`'s refusal when it does not."""
    hmap = None
    with contextlib.suppress(Exception):
        hmap = intake.build_header_map(
            header, s.form.columns, owned_titles=s.form.owned_columns
        )
    col = hmap.owned.get("Protocolo") if hmap is not None else None
    if col is None:
        return OK, "the sheet has no protocol column yet: nothing to compare"
    letter = col_letter(col + 1)
    try:
        res = sheet.read([f"{letter}2:{letter}"], by_column=True)
    except AdapterError as exc:
        return FAIL, f"the protocol column cannot be read: {exc.message}"
    cells = res[0][0] if res and res[0] else []
    found = unknown_above(cells, dict.fromkeys(facts.known), facts.highest)
    if found:
        return FAIL, disagreement_message(found, s.journal.path)
    n = sum(1 for c in cells if isinstance(c, str) and c.strip())
    return OK, f"the journal knows every protocol the sheet shows ({n})"
