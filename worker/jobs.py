"""Named jobs besides the tick (retention, reminders, digest, deadline alerts, bounces; the tick writes the status tab itself): when each is due from ``now`` and its last run kept in the journal, and running the due ones; `schedule` only paces the loop that asks.

A job's last run is committed after it succeeds, so a restart neither repeats nor skips one,
and a moved clock (libfaketime in tests) is obeyed. ``run --once`` runs every due job after
its tick, so a cron-driven installation behaves like the daemon. A job's e-mails go through
the executor (worker.mailjobs): a kill between two jobs, or inside one, sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from worker import mailjobs
from worker.config import Settings
from worker.deps import Deps
from worker.effects import AuthPaused
from worker.journal import Journal, JournalError
from worker.mailjobs import Deferred
from worker.model import AdapterError
from worker.officetime import OfficeCalendar
from worker.planners import schedule
from worker.textfmt import fmt_datetime

log = logging.getLogger("balcao.jobs")

DueRule = Callable[[Deps, datetime, datetime | None], bool]

# Reminders and alerts are planned again at every check (cheap journal reads); bounces cost a
# Gmail search, so at most every 10 minutes (DESIGN §8).
PLAN_PERIOD = timedelta(seconds=20)
BOUNCE_PERIOD = timedelta(minutes=10)


@dataclass(frozen=True)
class Job:
    name: str
    due: DueRule
    run: Callable[[Deps, datetime], None]
    enabled: Callable[[Settings], bool] = lambda s: True


def daily(deps: Deps, now: datetime, last: datetime | None) -> bool:
    """Once per office-time calendar day."""
    if last is None:
        return True
    tz = ZoneInfo(deps.settings.office.timezone)
    return now.astimezone(tz).date() > last.astimezone(tz).date()


def _retention_due(deps: Deps, now: datetime, last: datetime | None) -> bool:
    """Once per office day, and again at once while old requests remain beyond one batch."""
    return daily(deps, now, last) or deps.journal.get_meta("retention_more") == "1"


def run_retention(deps: Deps, now: datetime) -> None:
    """DESIGN §9: old finished requests erased from the sheet, the calendar and the journal."""
    from worker.erasure import run_retention as erase_old

    erase_old(deps, now)
    stale = mailjobs.expire_stale_intents(deps.journal, now)
    if stale:
        log.warning("%d job e-mails whose outcome stayed unknown for a day are no longer due",
                    stale)


def _reminders_on(s: Settings) -> bool:
    return bool(s.reminders.hours_before)


def _staff_on(s: Settings) -> bool:
    return bool(s.digest.recipients)


def _bounces_on(s: Settings) -> bool:
    return s.mail.bounce_check


def _periodic(period: timedelta, on: Callable[[Settings], bool]) -> DueRule:
    return lambda deps, now, last: on(deps.settings) and schedule.every(period, now, last)


def _digest_due(deps: Deps, now: datetime, last: datetime | None) -> bool:
    s = deps.settings
    return _staff_on(s) and schedule.digest_due(now, last, s.digest.at, deps.office)


JOBS: tuple[Job, ...] = (
    Job("retention", _retention_due, run_retention),
    Job("reminders", _periodic(PLAN_PERIOD, _reminders_on), mailjobs.run_reminders, _reminders_on),
    Job("digest", _digest_due, mailjobs.run_digest, _staff_on),
    Job("alerts", _periodic(PLAN_PERIOD, _staff_on), mailjobs.run_alerts, _staff_on),
    Job("bounces", _periodic(BOUNCE_PERIOD, _bounces_on), mailjobs.run_bounces, _bounces_on),
)


def due(deps: Deps, now: datetime, jobs: Sequence[Job] = JOBS) -> list[Job]:
    last = deps.journal.job_runs()
    return [job for job in jobs if job.due(deps, now, last.get(job.name))]


def run_due(deps: Deps, now: datetime, jobs: Sequence[Job] = JOBS) -> bool:
    """Run every due job; False when one failed (it stays due and runs again next time).
    A job deferred by the mail cap stays due too, but is no failure."""
    ok = True
    for job in due(deps, now, jobs):
        if deps.stop.is_set():
            break
        try:
            job.run(deps, now)
            deps.crash("after_job")
            with deps.journal.tx():
                deps.journal.set_job_run(job.name, now)
        except Deferred as exc:
            log.info("job %s deferred: %s; it runs again at the next check", job.name, exc)
        except (AdapterError, AuthPaused, JournalError) as exc:
            log.error("job %s failed: %s; it runs again when next due", job.name,
                      getattr(exc, "message", None) or type(exc).__name__)
            ok = False
        except Exception as exc:  # a bug in one job never stops the others or the loop
            log.error("job %s failed: unexpected %s", job.name, type(exc).__name__)
            ok = False
    return ok


def settle_after_recovery(
    journal: Journal, s: Settings, office: OfficeCalendar, now: datetime
) -> None:
    """After `balcao recover` (DESIGN §4): reminders and alerts whose time has passed count
    as sent, and each job's last run is the recovery's (a digest already sent today is not
    sent again; one not yet due today still is)."""
    with journal.tx():
        n = mailjobs.settle_recovered(journal, s, office, now)
        for job in JOBS:
            journal.set_job_run(job.name, now)
    if n:
        log.info("recovery: %d reminders and alerts whose time has passed count as sent", n)


def last_runs(s: Settings, journal: Journal, jobs: Sequence[Job] = JOBS) -> list[tuple[str, str]]:
    """(job, its last run in words) for ``balcao check``: ``"last run 06/03/2028 07:30"``,
    ``"never run"``, or why it is off."""
    runs = journal.job_runs()
    tz = s.office.timezone
    out: list[tuple[str, str]] = []
    for job in jobs:
        at = runs.get(job.name)
        text = f"last run {fmt_datetime(at, tz)} ({tz})" if at else "never run"
        if not job.enabled(s):
            text = f"off ({OFF_BECAUSE[job.name]}); {text}"
        out.append((job.name, text))
    return out


OFF_BECAUSE = {
    "reminders": "reminders.hours_before is empty",
    "digest": "digest.recipients is empty",
    "alerts": "digest.recipients is empty",
    "bounces": "mail.bounce_check is false",
}
