"""Which requests get a deadline alert to staff now (once per request, N office minutes before the response deadline with no confirmation sent); pure, no I/O.

DESIGN §8: the alert is due at deadline − N office minutes (open time only, as the deadline
itself is counted) when no confirmation has gone out; it is no longer sent once the deadline
has passed (the morning digest lists those).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from worker.officetime import OfficeCalendar


@dataclass(frozen=True)
class Unanswered:
    """A request no confirmation has gone out for: its `Situação` and `Observação` too."""

    protocol: str
    deadline: datetime
    status: str = ""
    note: str = ""


def alert_at(deadline: datetime, minutes: int, office: OfficeCalendar) -> datetime:
    """``minutes`` office minutes before ``deadline``: 120 before Tue 2028-03-07 10:15 is
    08:15; 120 before Tue 09:00 is Mon 16:00."""
    return office.minutes_before(deadline, minutes)


def due(
    requests: Sequence[Unanswered], minutes: int, now: datetime, office: OfficeCalendar
) -> list[Unanswered]:
    """The requests whose alert time has come and whose deadline has not passed, in
    deadline order (whether an alert already went out is the executor's)."""
    out = [
        r for r in requests
        if r.deadline > now and alert_at(r.deadline, minutes, office) <= now
    ]
    return sorted(out, key=lambda r: (r.deadline, r.protocol))
