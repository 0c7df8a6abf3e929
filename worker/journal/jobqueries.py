"""The scheduled jobs' reads (reminders, digest, alerts, bounces), apart from ``Journal`` so that neither class outgrows DESIGN §2's sizes; SQL stays inside the journal package."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from worker.model import RequestRecord

if TYPE_CHECKING:
    from worker.journal import Journal


class JobQueries:
    """Read queries of the jobs over one open journal.

    Times are stored as ISO strings; a bound compared as text is widened by a day, so a value
    written with another offset is never missed, and the caller judges each record exactly."""

    def __init__(self, journal: Journal) -> None:
        self.j = journal

    def _records(self, sql: str, params: Sequence[Any]) -> list[RequestRecord]:
        return [self.j._as_record(r) for r in self.j._exec(sql, params)]

    def confirmed_appointments(
        self, since: datetime, until: datetime, final: Sequence[str], problems: Sequence[str]
    ) -> list[tuple[RequestRecord, str | None]]:
        """Requests with a live event whose confirmation of the current revision was sent,
        starting about in ``[since, until]``, not in a ``final`` status nor with one of
        ``problems``; each with when that confirmation was sent (None when unknown)."""
        rows = self.j._exec(
            "SELECT r.*, (SELECT MAX(e.done_at) FROM effects e WHERE e.protocol = r.protocol "
            "AND e.kind = 'confirmation' AND e.revision = r.revision AND e.state = 'done') "
            "AS confirmed_at FROM requests r WHERE r.valid = 1 AND r.duplicate_of IS NULL "
            "AND r.purged_at IS NULL AND r.event_state = 'created' AND r.conf_state = 'sent' "
            "AND r.conf_revision = r.revision AND r.slot_start > ? AND r.slot_start < ? "
            f"AND {_not_in('r.status', final)} AND {_not_in('r.problem', problems)} "
            "ORDER BY r.slot_start",
            [_iso(since, -1), _iso(until, 1), *final, *problems],
        )
        out = []
        for r in rows:
            fields = {k: r[k] for k in r.keys() if k != "confirmed_at"}  # noqa: SIM118
            out.append((RequestRecord(**fields), r["confirmed_at"]))
        return out

    def day_records(self, lo: datetime, hi: datetime, final: Sequence[str]) -> list[RequestRecord]:
        """What a day's digest may list: appointments about in ``[lo, hi)``, rows that need
        attention, and unanswered requests whose deadline is about before ``hi``."""
        return self._records(
            "SELECT * FROM requests WHERE duplicate_of IS NULL AND purged_at IS NULL AND ("
            "(slot_start >= ? AND slot_start < ?) OR status = 'Requer atenção' OR "
            "(answered_at IS NULL AND deadline IS NOT NULL AND deadline < ? "
            f"AND {_not_in('status', final)})) ORDER BY seq",
            [_iso(lo, -1), _iso(hi, 1), _iso(hi, 1), *final],
        )

    def unanswered(self, after: datetime, final: Sequence[str]) -> list[RequestRecord]:
        """Valid requests no confirmation went out for, deadline about after ``after``."""
        return self._records(
            "SELECT * FROM requests WHERE valid = 1 AND duplicate_of IS NULL "
            "AND purged_at IS NULL AND answered_at IS NULL AND deadline > ? "
            f"AND {_not_in('status', final)} ORDER BY deadline",
            [_iso(after, -1), *final],
        )

    def sent_mail(self, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Message-ID → (protocol, kind) for those of ``keys`` balcao sent or tried to."""
        if not keys:
            return {}
        rows = self.j._exec(
            f"SELECT key, protocol, kind FROM effects WHERE key IN ({_marks(keys)}) "
            "AND kind != 'event'",
            list(keys),
        )
        return {str(r["key"]): (str(r["protocol"]), str(r["kind"])) for r in rows}

    def handled_bounces(self, keys: Sequence[str], events: Sequence[str]) -> set[str]:
        """Those of ``keys`` whose bounce was already handled (audited as one of ``events``)."""
        if not keys or not events:
            return set()
        rows = self.j._exec(
            f"SELECT detail FROM audit WHERE event IN ({_marks(events)}) "
            f"AND detail IN ({_marks(keys)})",
            [*events, *keys],
        )
        return {str(r[0]) for r in rows}


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _not_in(column: str, values: Sequence[Any]) -> str:
    """``column NOT IN (?, ...)``; true for every row when ``values`` is empty."""
    return f"{column} NOT IN ({_marks(values)})" if values else "1"


def _iso(at: datetime, days: int) -> str:
    return (at + timedelta(days=days)).isoformat()
