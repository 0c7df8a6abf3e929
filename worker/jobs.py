"""Named jobs besides the tick (retention, and the reminders and digest to come; the tick writes the status tab itself): when each is due from ``now`` and its last run kept in the journal, and running the due ones; `schedule` only paces the loop that asks.

A job's last run is committed after it succeeds, so a restart neither repeats nor skips one,
and a moved clock (libfaketime in tests) is obeyed. ``run --once`` runs every due job after
its tick, so a cron-driven installation behaves like the daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from worker.deps import Deps
from worker.effects import AuthPaused
from worker.journal import JournalError
from worker.model import AdapterError

log = logging.getLogger("balcao.jobs")

DueRule = Callable[[Deps, datetime, datetime | None], bool]


@dataclass(frozen=True)
class Job:
    name: str
    due: DueRule
    run: Callable[[Deps, datetime], None]


def daily(deps: Deps, now: datetime, last: datetime | None) -> bool:
    """Once per office-time calendar day."""
    if last is None:
        return True
    tz = ZoneInfo(deps.settings.office.timezone)
    return now.astimezone(tz).date() > last.astimezone(tz).date()


def run_retention(deps: Deps, now: datetime) -> None:
    """DESIGN §9: old finished requests erased from the sheet, the calendar and the journal."""
    from worker.erasure import run_retention as erase_old

    erase_old(deps, now)


JOBS: tuple[Job, ...] = (
    Job("retention", daily, run_retention),
)


def due(deps: Deps, now: datetime, jobs: Sequence[Job] = JOBS) -> list[Job]:
    last = deps.journal.job_runs()
    return [job for job in jobs if job.due(deps, now, last.get(job.name))]


def run_due(deps: Deps, now: datetime, jobs: Sequence[Job] = JOBS) -> bool:
    """Run every due job; False when one failed (it stays due and runs again next time)."""
    ok = True
    for job in due(deps, now, jobs):
        if deps.stop.is_set():
            break
        try:
            job.run(deps, now)
            with deps.journal.tx():
                deps.journal.set_job_run(job.name, now)
        except (AdapterError, AuthPaused, JournalError) as exc:
            log.error("job %s failed: %s; it runs again when next due", job.name,
                      getattr(exc, "message", None) or type(exc).__name__)
            ok = False
        except Exception as exc:  # a bug in one job never stops the others or the loop
            log.error("job %s failed: unexpected %s", job.name, type(exc).__name__)
            ok = False
    return ok
