"""When the scheduled jobs are due and what every job's planner shares (final statuses, quiet hours); pure: time is a parameter, no I/O.

A job is due from ``now`` and its last run (kept in the journal), never from a timer, so a
restart neither repeats nor skips one and a moved clock is obeyed. A last run in the future
(the clock was moved back) makes a periodic job due at once rather than silent for days.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from worker.lifecycle import FINAL
from worker.officetime import OfficeCalendar

# Statuses after which balcao sends nothing more about a request (DESIGN §3: final).
FINAL_STATUSES: frozenset[str] = frozenset(str(s) for s in FINAL)

# No citizen e-mail leaves in [21:00, 07:00) office time (DESIGN §8).
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(7, 0)


def is_quiet(now: datetime, tz: ZoneInfo) -> bool:
    """``21:00`` and ``06:59`` are quiet, ``07:00`` and ``20:59`` are not (office time)."""
    t = now.astimezone(tz).time()
    return t >= QUIET_FROM or t < QUIET_UNTIL


def every(period: timedelta, now: datetime, last: datetime | None) -> bool:
    """Due when it never ran, ``period`` has passed since, or the clock went back."""
    return last is None or now - last >= period or now < last


def digest_due(
    now: datetime, last: datetime | None, at: time, office: OfficeCalendar
) -> bool:
    """Once per open day, from ``at`` until closing (a late start after closing skips it).

    On Mon 2028-03-06 with ``at`` 07:30: due at 07:30 and 16:59, not at 07:29 or 17:00, and
    not again once it ran that day from 07:30 on (a last run at 06:00, set by a recovery,
    still leaves it due); never on Sat 2028-03-04 or Carnival Tuesday; on Ash Wednesday (open
    14:00-17:00) due from 07:30 too."""
    local = now.astimezone(office.tz)
    day = local.date()
    interval = office.open_interval(day)
    if interval is None:
        return False
    start = datetime.combine(day, at, tzinfo=office.tz)
    if not start <= local < interval[1]:
        return False
    return last is None or not start <= last.astimezone(office.tz) < interval[1]
