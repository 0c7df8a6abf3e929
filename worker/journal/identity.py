"""The journal's side of "the journal and the sheet must agree" (DESIGN §4): the highest protocols, the mailboxes, the never-written requests (a mixin of ``Journal``), the file's identity; SQL stays inside the journal package."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from worker.model import mailbox_key


def file_id(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None for memory or a missing file."""
    if path == ":memory:":
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class IdentityQueries:
    """``Journal`` provides ``tx`` and ``_exec``."""

    @contextlib.contextmanager
    def tx(self) -> Iterator[None]:
        raise NotImplementedError
        yield

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        raise NotImplementedError

    def backfill_mailboxes(self) -> None:
        """Requests taken in before the mailbox column get theirs, so the limit counts them."""
        with self.tx():
            rows = self._exec("SELECT protocol, email FROM requests WHERE mailbox = ''")
            for protocol, email in rows.fetchall():
                self._exec(
                    "UPDATE requests SET mailbox = ? WHERE protocol = ?",
                    (mailbox_key(str(email or "")), protocol),
                )

    def open_for_mailbox(self, mailbox: str, now: datetime) -> int:
        """Open requests of one inbox (``mailbox_key``), every alias counted once: valid, not
        a duplicate, not yet past their appointment."""
        row = self._exec(
            "SELECT COUNT(*) FROM requests WHERE mailbox = ? AND valid = 1 "
            "AND duplicate_of IS NULL AND (slot_end IS NULL OR slot_end > ?)",
            (mailbox, now.isoformat()),
        ).fetchone()
        return int(row[0])

    def max_seq_by_year(self) -> dict[int, int]:
        """The highest protocol number the journal issued for each year of ``BV-AAAA-``."""
        rows = self._exec(
            "SELECT CAST(substr(protocol, 4, 4) AS INTEGER) AS y, MAX(seq) FROM requests "
            "WHERE protocol LIKE 'BV-____-%' AND seq > 0 GROUP BY y"
        )
        return {int(y): int(m) for y, m in rows}

    def request_count(self) -> int:
        row = self._exec("SELECT COUNT(*) FROM requests").fetchone()
        return int(row[0])

    def next_foreign_seq(self) -> int:
        """A sequence number for a protocol balcao did not issue (typed by hand and kept as
        staff typed it): negative, so it never takes a number balcao will issue."""
        row = self._exec("SELECT MIN(seq) FROM requests").fetchone()
        return min(0, int(row[0] or 0)) - 1

    def record_recovered_effect(
        self, key: str, protocol: str, kind: str, revision: int, created_at: datetime
    ) -> None:
        """An effect `balcao recover` found done: when it happened is unknown (``done_at``
        stays empty, so the report does not judge it); ``created_at`` places it for the
        daily sending cap."""
        self._exec(
            "INSERT INTO effects(key, protocol, kind, revision, state, created_at) "
            "VALUES(?, ?, ?, ?, 'done', ?) ON CONFLICT(key) DO NOTHING",
            (key, protocol, kind, revision, created_at.isoformat()),
        )

    def never_placed(self) -> list[tuple[str, str, str | None]]:
        """(protocol, mailbox, ts_key) of requests whose cells never reached the sheet (the
        write-back failed since their claim): a row showing none of them may be theirs."""
        rows = self._exec(
            "SELECT protocol, mailbox, ts_key FROM requests WHERE written = '' AND seq > 0 "
            "ORDER BY seq"
        )
        return [(str(p), str(m), k) for p, m, k in rows]
