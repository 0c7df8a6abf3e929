"""Which reminder each confirmed appointment is owed now (one per lead and appointment time); pure: time is a parameter, no I/O.

DESIGN §8: a reminder of lead h is due at start − h; never in quiet hours [21:00, 07:00)
office time (it then leaves at 07:00 if that is still before the start); dropped once the
appointment started; skipped when the confirmation of that appointment time was sent less
than h before the start. When several leads are due at once (balcao was stopped, or the mail
cap held them) only the shortest is sent: the citizen gets one reminder, the one that names
the nearest time, and the longer leads are never sent afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from worker.planners.schedule import is_quiet


@dataclass(frozen=True)
class Appointment:
    """A live, confirmed appointment: ``revision`` is the appointment time's revision and
    ``confirmed_at`` when its confirmation was sent (None when unknown, e.g. recovered)."""

    protocol: str
    revision: int
    start: datetime
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class Reminder:
    protocol: str
    revision: int
    hours: int


def lead_due(
    start: datetime, confirmed_at: datetime | None, hours: int, now: datetime
) -> bool:
    """Lead ``hours`` has come (start − h <= now < start) and was not skipped by a late
    confirmation. Quiet hours and the other leads are the caller's (``due``)."""
    due_at = start - timedelta(hours=hours)
    if not due_at <= now < start:
        return False
    return confirmed_at is None or confirmed_at <= due_at


def owed(appt: Appointment, leads: Iterable[int], now: datetime, tz: ZoneInfo) -> int | None:
    """The lead (hours) of the reminder ``appt`` is owed at ``now``, or None.

    Start Tue 2028-03-07 10:00, confirmed Mon 08:00, leads (24, 2): Mon 10:00 → 24;
    Tue 08:00 → 2; Tue 10:00 → None (started). Confirmed Mon 11:00 instead: Mon 12:00 → None
    (24 skipped), Tue 08:00 → 2. Start Tue 08:00: its 2-hour reminder falls at 06:00, in
    quiet hours, and leaves at 07:00."""
    if is_quiet(now, tz):
        return None
    due = [h for h in leads if lead_due(appt.start, appt.confirmed_at, h, now)]
    return min(due) if due else None


def due(
    appointments: Sequence[Appointment], leads: Iterable[int], now: datetime, tz: ZoneInfo
) -> list[Reminder]:
    """Every reminder owed at ``now``, in start order (whether one already went out is the
    executor's: each (protocol, lead, revision) is sent once)."""
    hours = tuple(leads)
    out: list[Reminder] = []
    for appt in sorted(appointments, key=lambda a: (a.start, a.protocol)):
        h = owed(appt, hours, now, tz)
        if h is not None:
            out.append(Reminder(appt.protocol, appt.revision, h))
    return out
