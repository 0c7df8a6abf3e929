"""The journal and the sheet must agree (DESIGN §4): protocols the journal never issued, rows sharing a timestamp, rows edited before their protocol reached the sheet; reads through the tick's ports, writes nothing.

A journal that meets protocols numbered above its highest is not the journal of this sheet
(new, lost, restored from an older backup, another instance's): acting would issue those
numbers again and book and e-mail handled requests twice, so the tick refuses before any
effect. Rows are told apart by protocol, then by timestamp and answers, never by order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from worker import intake
from worker.adapters.a1 import col_letter
from worker.deps import Deps
from worker.identity import (
    PROTOCOL_RE,
    IdentityView,
    key_ident,
    locate,
    protocol_seq,
    ts_ident,
    ts_key,
)
from worker.journal import Journal
from worker.lifecycle import Problem
from worker.model import JournalDisagreesError, ParsedRow, mailbox_key
from worker.packed import IdentityIndex
from worker.ports import CellValue
from worker.snapshot import Snapshot

log = logging.getLogger("balcao.agreement")


def unknown_above(
    cells: Iterable[object], known: Mapping[str, object], highest: Mapping[int, int]
) -> list[str]:
    """Protocols among ``cells`` that the journal does not know and whose number is above
    the journal's highest for their year (``highest``: year → number); pure."""
    out: list[str] = []
    for value in cells:
        text = value.strip() if isinstance(value, str) else ""
        m = PROTOCOL_RE.match(text)
        if m and text not in known and int(m.group(2)) > highest.get(int(m.group(1)), 0):
            out.append(text)
    return out


def disagreement_message(found: Sequence[str], journal_path: str) -> str:
    """The operator's one line: what was found, what it means, the fix."""
    shown = ", ".join(sorted(found)[:3]) + (", ..." if len(found) > 3 else "")
    return (
        f"the sheet holds {len(found)} protocol(s) this journal never issued, numbered above "
        f"its highest ({shown}): the journal {journal_path} is new, lost, restored from an "
        "older backup, or another balcao instance's. Nothing was written, sent or booked. "
        "To fix: make sure no other balcao works on this sheet, then run `balcao recover` to "
        "rebuild the journal from Google (--accept-backlog does not override this)"
    )


def refuse_unknown(
    snap: Snapshot, view: IdentityView, index: IdentityIndex,
    highest: Callable[[], Mapping[int, int]], journal_path: str = "",
) -> None:
    """Raise JournalDisagreesError when an unprocessed row shows a protocol the journal never
    issued numbered above its highest; one at or below it (typed by hand) is left to be
    flagged ("Protocolo não reconhecido"). ``highest`` is asked only when such a row exists:
    an idle tick costs no journal query."""
    cells = [v for v in (snap.proto.get(r) for r in view.unprocessed)
             if isinstance(v, str) and PROTOCOL_RE.match(v.strip())]
    if not cells:
        return
    found = unknown_above(cells, index.known, highest())
    if found:
        raise JournalDisagreesError(disagreement_message(found, journal_path))


def locate_checked(
    deps: Deps, snap: Snapshot, load_index: Callable[[], IdentityIndex], skip: set[int]
) -> tuple[IdentityIndex, IdentityView]:
    """The tick's identity view, with rows of one second told apart by their answers; raises
    JournalDisagreesError (before any effect) when the journal is not this sheet's."""
    j = deps.journal
    index = load_index()
    if len(index.known) != j.request_count():
        # The file changed under this process (a backup copied over it): trust the file.
        deps.state.identity = None
        index = load_index()
    view = locate(snap.ts, snap.proto, index.known, index.by_ts, skip,
                  resolve=TwinResolver(deps, snap, j.secret), twins=index.twins)
    refuse_unknown(snap, view, index, j.max_seq_by_year, j.path)
    return index, view


def seq_of(protocol: str, problem: str, journal: Journal) -> int:
    """The sequence number a claimed protocol takes: its own, or, for a protocol balcao
    never issued (kept as typed), a negative one that is never a number balcao issues. The
    journal alone numbers: a sheet protocol above its highest stopped the tick, and a number
    typed by hand never moves the sequence."""
    if problem == Problem.UNRECOGNISED:
        return journal.next_foreign_seq()
    return protocol_seq(protocol) or 0


class TwinResolver:
    """Rows sharing a timestamp told apart by the fingerprint of their answers (see
    ``identity.TwinResolver``). Cells come from the snapshot's tail when at hand; with
    ``must`` a row outside it is read (rare: only rows whose twin is not placed yet).
    ``fresh``: the rows may have moved since the snapshot (the write-back's re-read), so its
    cells are never used."""

    def __init__(self, deps: Deps, snap: Snapshot, secret: bytes, *, fresh: bool = False) -> None:
        self.d = deps
        self.snap = snap
        self.secret = secret
        self.fresh = fresh
        self._fps: dict[str, str] = {}
        self._boxes: dict[str, str] = {}
        # The e-mail column read with the write-back's identity re-read, when twins are among
        # the protocols to write: different inboxes tell twins apart without a row read.
        self.emails: Mapping[int, object] | None = None

    def twins_among(self, protocols: Iterable[str]) -> bool:
        """True when one of ``protocols`` shares its timestamp with another request."""
        index = self.d.state.identity
        if index is None:
            return False
        return any(index.known.get(p) in index.twins for p in protocols)

    def __call__(self, row: int, candidates: Sequence[str], *, must: bool) -> str | None:
        by_inbox = self._by_inbox(row, candidates)
        if by_inbox is not None:
            return by_inbox
        cells = None if self.fresh else self.snap.tail.get(row)
        if cells is None and must:
            cells = self._read_row(row)
        if cells is None:
            return None
        fp = self._fingerprint(row, cells)
        if fp is None:
            return None
        for protocol in candidates:
            if self._fp_of(protocol) == fp:
                return protocol
        return None

    def _by_inbox(self, row: int, candidates: Sequence[str]) -> str | None:
        address = self.emails.get(row) if self.emails is not None else None
        if not isinstance(address, str) or not address.strip():
            return None
        box = mailbox_key(address)
        mine = [p for p in candidates if self._box_of(p) == box]
        return mine[0] if len(mine) == 1 else None

    def _box_of(self, protocol: str) -> str:
        if protocol not in self._boxes:
            rec = self.d.journal.get(protocol)
            self._boxes[protocol] = rec.mailbox if rec is not None else ""
        return self._boxes[protocol]

    def _fp_of(self, protocol: str) -> str:
        if protocol not in self._fps:
            rec = self.d.journal.get(protocol)
            self._fps[protocol] = rec.fingerprint if rec is not None else ""
        return self._fps[protocol]

    def _fingerprint(self, row: int, cells: Sequence[CellValue]) -> str | None:
        s = self.d.settings
        try:
            parsed = intake.parse_row(
                row, cells, self.snap.hmap, answers=s.form.answers,
                sheet_tz=self.snap.timezone, secret=self.secret,
                max_len=s.intake.max_field_length,
            )
        except Exception:  # a poison row has no answers to compare
            return None
        return parsed.fingerprint if parsed is not None else None

    def _read_row(self, row: int) -> list[CellValue] | None:
        last = col_letter(max(self.snap.hmap.last_column, 1))
        try:
            res = self.d.sheet.read([f"A{row}:{last}{row}"])
        except Exception as exc:  # the caller falls back to claim order, as before
            log.info("row %d could not be read to tell twins apart: %s", row,
                     type(exc).__name__)
            return None
        rows = res[0] if res else []
        return list(rows[0]) if rows else None


def orphan_edits(
    rows: list[ParsedRow], view: IdentityView, snap: Snapshot,
    never_placed: Callable[[], Sequence[tuple[str, str, str | None]]],
) -> list[ParsedRow]:
    """New rows that are a respondent's edit of a request whose protocol never reached the
    sheet (the write-back kept failing): Forms rewrote its timestamp and answers in place, so
    neither matches; the inbox does. Such a row joins ``view.edited`` (flagged for staff,
    never a second protocol, event or e-mail) and leaves the new rows."""
    if not rows:
        return rows  # the journal is asked only when there are new rows
    candidates = never_placed()
    if not candidates:
        return rows
    present = {k for k in map(ts_ident, snap.ts.values()) if k is not None}
    orphans: dict[str, list[str]] = {}
    for protocol, box, key in candidates:
        if protocol in view.row_of or key_ident(key) in present:
            continue  # placed, or its row is still there under its own timestamp
        orphans.setdefault(box, []).append(protocol)
    if not orphans:
        return rows
    out: list[ParsedRow] = []
    for row in rows:
        mine = orphans.get(mailbox_key(row.raw_email)) if not row.protocol else None
        if not mine:
            out.append(row)
            continue
        protocol = mine.pop(0)
        view.edited.append((protocol, ts_key(snap.ts.get(row.row))))
        view.row_of[protocol] = row.row
        log.info("%s: row %d edited before its protocol reached the sheet: flagged", protocol,
                 row.row)
    return out
