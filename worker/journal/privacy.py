"""The journal's side of personal data (DESIGN §9): matching, the erasure intent and its register line, scrubbing, compaction; SQL stays inside the journal package."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from worker.model import Elimination, RequestRecord

if TYPE_CHECKING:
    from worker.journal import Effect, Journal


class PrivacyStore:
    """The journal's side of personal data (DESIGN §9): matching, the erasure intent and its
    register line, scrubbing the records, and the compaction that leaves no freed copy."""

    def __init__(self, journal: Journal) -> None:
        self.j = journal

    def addresses(self) -> list[tuple[str, str]]:
        """(protocol, e-mail) of every request that still holds an address."""
        rows = self.j._exec("SELECT protocol, email FROM requests WHERE email != '' ORDER BY seq")
        return [(str(p), str(e)) for p, e in rows]

    def duplicates_of(self, protocols: Sequence[str]) -> list[str]:
        marks = ", ".join("?" for _ in protocols) or "''"
        rows = self.j._exec(
            f"SELECT protocol FROM requests WHERE duplicate_of IN ({marks}) ORDER BY seq",
            list(protocols),
        )
        return [str(p) for (p,) in rows]

    def effects_of(self, protocol: str) -> list[Effect]:
        rows = self.j._exec(
            "SELECT * FROM effects WHERE protocol = ? ORDER BY created_at", (protocol,)
        )
        from worker.journal import Effect

        return [Effect(**dict(r)) for r in rows]

    def idle_before(self, cutoff: datetime) -> list[RequestRecord]:
        """Requests not erased whose last change and appointment end look older than
        ``cutoff`` (widened by a day: stored offsets vary; the caller decides exactly)."""
        bound = (cutoff + timedelta(days=1)).isoformat()
        rows = self.j._exec(
            "SELECT * FROM requests WHERE erasure_id IS NULL AND updated_at < ? "
            "AND (slot_end IS NULL OR slot_end < ?) ORDER BY seq",
            (bound, bound),
        )
        return [self.j._as_record(r) for r in rows]

    def begin(self, at: datetime, reason: str, protocols: Sequence[str]) -> int:
        """Commit the erasure intent (inside the caller's transaction): the register line as
        'intent' and every request marked, before anything is erased anywhere."""
        cur = self.j._exec(
            "INSERT INTO eliminations(at, reason, protocols, state) VALUES(?, ?, ?, 'intent')",
            (at.isoformat(), reason, " ".join(protocols)),
        )
        eid = int(cur.lastrowid or 0)
        marks = ", ".join("?" for _ in protocols) or "''"
        self.j._exec(
            f"UPDATE requests SET erasure_id = ? WHERE protocol IN ({marks})",
            [eid, *protocols],
        )
        return eid

    def eliminations(self, *, state: str | None = None) -> list[Elimination]:
        rows = self.j._exec(
            "SELECT * FROM eliminations WHERE ? IS NULL OR state = ? ORDER BY id", (state, state)
        )
        return [Elimination(**{**dict(r), "protocols": tuple(str(r["protocols"]).split())})
                for r in rows]

    def drop_intents(self, protocol: str, at: datetime) -> None:
        """Effects of an erased request still open are dropped: nothing is sent for it."""
        self.j._exec(
            "UPDATE effects SET state = 'failed', done_at = ? WHERE protocol = ? "
            "AND state = 'intent'",
            (at.isoformat(), protocol),
        )

    def scrub(self, protocols: Sequence[str], at: datetime) -> int:
        """Blank every personal field of these requests and their audit details (protocol,
        dates, statuses, channel and service stay: DESIGN §9); returns how many records."""
        marks = ", ".join("?" for _ in protocols) or "''"
        cur = self.j._exec(
            "UPDATE requests SET email = '', mailbox = '', name = '', phone = '', fingerprint = '', "
            f"period = '', purged_at = COALESCE(purged_at, ?) WHERE protocol IN ({marks})",
            [at.isoformat(), *protocols],
        )
        self.j._exec(f"UPDATE audit SET detail = '' WHERE protocol IN ({marks})", list(protocols))
        return cur.rowcount

    def finish(self, eid: int, sheet: int, calendar: int, journal: int) -> None:
        self.j._exec(
            "UPDATE eliminations SET sheet = ?, calendar = ?, journal = ?, state = 'done' "
            "WHERE id = ?",
            (sheet, calendar, journal, eid),
        )

    def compact(self) -> None:
        """Rewrite the file and empty the WAL, so no page freed before secure_delete (or
        an old frame of the WAL) still holds what was erased. Outside any transaction."""
        try:
            self.j.db.execute("VACUUM")
            self.j.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            from worker.journal import JournalError

            raise JournalError(f"journal {self.j.path}: cannot compact: {exc}") from None
