"""The journal's read queries for the tick, the jobs, the status tab, metrics and the report (a mixin of ``Journal``); SQL stays inside the journal package."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from worker.model import RequestRecord


class JournalQueries:
    """Typed read queries; ``Journal`` provides ``_exec`` and ``_record``."""

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        raise NotImplementedError

    @staticmethod
    def _as_record(row: sqlite3.Row) -> RequestRecord:
        return RequestRecord(**{k: row[k] for k in row.keys()})  # noqa: SIM118

    # ----------------------------------------------------------------- tick queries

    def identity_pairs(self) -> Iterator[tuple[str, str | None]]:
        """Every (protocol, ts_key), in claim order (the identity index)."""
        for protocol, key in self._exec("SELECT protocol, ts_key FROM requests ORDER BY seq"):
            yield str(protocol), key

    def unwritten(self) -> set[str]:
        """Protocols whose sheet cells are not known to show the journal's values."""
        return {str(p) for (p,) in self._exec("SELECT protocol FROM requests WHERE in_sheet = 0")}

    def open_work(self, flagged: Sequence[str]) -> list[str]:
        """Protocols that may still owe an event, a Meet link or an e-mail (a superset: the
        caller decides with ``lifecycle.is_open_work``), in claim order."""
        marks = ", ".join("?" for _ in flagged) or "''"
        rows = self._exec(
            "SELECT protocol FROM requests WHERE valid = 1 AND duplicate_of IS NULL "
            f"AND problem NOT IN ({marks}) AND (event_state NOT IN ('created', 'cancelled', "
            "'failed') OR conf_state != 'sent' OR ack_state = 'intent' "
            "OR conf_revision IS NOT revision) ORDER BY seq",
            list(flagged),
        )
        return [str(p) for (p,) in rows]

    def past_deadline_unanswered(self, now: datetime) -> int:
        """Valid, non-duplicate requests whose response deadline passed without an answer
        (no confirmation sent): the report's `não` without `respondido_em`. Parsed, not
        compared as text: stored offsets may differ."""
        rows = self._exec(
            "SELECT deadline FROM requests WHERE valid = 1 AND duplicate_of IS NULL "
            "AND deadline IS NOT NULL AND answered_at IS NULL"
        )
        return sum(1 for (d,) in rows if datetime.fromisoformat(d) < now)

    def open_deadlines(self, exclude: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
        """(status, deadline, submitted or received) of valid requests not in ``exclude``."""
        marks = ", ".join("?" for _ in exclude) or "''"
        rows = self._exec(
            "SELECT status, deadline, COALESCE(submitted, received_at) FROM requests "
            f"WHERE valid = 1 AND duplicate_of IS NULL AND status NOT IN ({marks})",
            list(exclude),
        )
        return [(str(r[0]), r[1], r[2]) for r in rows]

    def by_event_id(self, event_id: str) -> RequestRecord | None:
        row = self._exec("SELECT * FROM requests WHERE event_id = ?", (event_id,)).fetchone()
        return None if row is None else self._as_record(row)

    def shown_cells(self) -> Iterator[tuple[str, str, float | None, str | None]]:
        """(protocol, the `Situação` balcao last wrote (else its status), the `Atendimento`
        serial it last wrote, slot start) of every request: what staff changes are told from."""
        rows = self._exec(
            "SELECT protocol, COALESCE(shown_status, status), shown_appt, slot_start "
            "FROM requests ORDER BY seq"
        )
        for r in rows:
            yield str(r[0]), str(r[1]), r[2], r[3]

    def future_appointments(self, now: datetime) -> list[RequestRecord]:
        """Requests with a live event starting after ``now`` that are not final (the bound is
        widened by a day in SQL, as stored offsets may differ, and applied exactly after)."""
        rows = self._exec(
            "SELECT * FROM requests WHERE event_state IN ('created', 'pending') "
            "AND slot_start > ? AND status NOT IN ('Cancelado', 'Realizado', "
            "'Não compareceu')",
            ((now - timedelta(days=1)).isoformat(),),
        )
        recs = [self._as_record(r) for r in rows]
        return [r for r in recs if r.slot_start_dt is not None and r.slot_start_dt > now]

    def effect_key(self, protocol: str, kind: str, revision: int) -> str | None:
        """The key (event id or Message-ID) stored with an earlier intent of this effect:
        ids are stored when the intent is committed and never computed again."""
        row = self._exec(
            "SELECT key FROM effects WHERE protocol = ? AND kind = ? AND revision = ? "
            "ORDER BY created_at DESC LIMIT 1",
            (protocol, kind, revision),
        ).fetchone()
        return None if row is None else str(row[0])

    # ----------------------------------------------------------------- jobs

    def job_runs(self) -> dict[str, datetime]:
        return {
            str(r["name"]): datetime.fromisoformat(r["last_run"])
            for r in self._exec("SELECT name, last_run FROM jobs")
        }

    def set_job_run(self, name: str, at: datetime) -> None:
        self._exec(
            "INSERT INTO jobs(name, last_run) VALUES(?, ?) "
            "ON CONFLICT(name) DO UPDATE SET last_run = excluded.last_run",
            (name, at.isoformat()),
        )

    # ----------------------------------------------------------------- report queries

    def report_rows(
        self, since: datetime, until: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The month's report (DESIGN §10): the requests submitted (else taken in) around
        [since, until), without name, e-mail, phone or subject, and every confirmation sent
        for them (protocol, sent_at), which journals from before ``answered_at`` rely on.
        Stored offsets vary, so the strings do not order exactly:
        the bounds are widened by a day and the report cuts the month after parsing."""
        day = timedelta(days=1)
        bounds = ((since - day).isoformat(), (until + day).isoformat())
        since_sql = "COALESCE(r.submitted, r.received_at)"
        where = f"{since_sql} >= ? AND {since_sql} < ?"
        requests = self._exec(
            "SELECT protocol, submitted, received_at, deadline, status, channel, service, valid, "
            f"duplicate_of, slot_start, event_state, conf_state, answered_at FROM requests r "
            f"WHERE {where} "
            "ORDER BY seq", bounds)
        sent = self._exec(
            "SELECT e.protocol, e.done_at AS sent_at FROM effects e JOIN requests r USING "
            "(protocol) WHERE e.kind = 'confirmation' AND e.state = 'done' AND e.done_at IS NOT "
            f"NULL AND {where}", bounds)
        return [dict(r) for r in requests], [dict(r) for r in sent]
