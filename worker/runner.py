"""`balcao run` and `balcao recover`: logging, the instance lock, the journal, the loop; the imperative shell.

The loop repeats ticks with `schedule`, sleeps with ``stop.wait`` so a signal ends it within a
second, backs off after failed ticks, purges old personal data daily and keeps systemd informed
(READY, STATUS, WATCHDOG) also while it waits or backs off.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import threading
import time
from datetime import datetime
from types import FrameType
from typing import Any

from worker.config import Settings
from worker.journal import InstanceLock, Journal, JournalError
from worker.model import (
    AdapterError,
    BacklogRefusedError,
    HeadersMissingError,
    TickReport,
)
from worker.sdnotify import Notifier

log = logging.getLogger("balcao")

EXIT_OK, EXIT_FAIL = 0, 1

# Test hook, not configuration: caps the journal at this many SQLite pages (PRAGMA
# max_page_count) so the fault suite can emulate a full disk in a subprocess without touching
# the file system. Documented in README.md ("Failure model"); never set it in production.
MAX_PAGES_ENV = "BALCAO_TEST_JOURNAL_MAX_PAGES"


def operator_action(reason: str) -> str:
    """What the operator must do for an authorisation error, from its (vendor-free) text."""
    if "invalid_grant" in reason or "refreshError" in reason:
        return (
            "the token was revoked or expired (or the service-account key was deleted): run "
            "`balcao auth` again (or install a new service-account key), then `balcao check`"
        )
    if "SCOPE" in reason or "insufficientPermissions" in reason:
        return (
            "the token lacks a permission balcao needs: run `balcao auth` again and grant every "
            "scope asked for, then `balcao check`"
        )
    return (
        "Google refused balcao's account: run `balcao check` to see which permission is missing "
        "(sheet or calendar sharing, domain-wide delegation, an API not enabled)"
    )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created).astimezone().isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(s: Settings) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    if s.log.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(s.log.level)
    # Vendor libraries log URLs with sheet ids at DEBUG/INFO; keep them quiet.
    for noisy in ("googleapiclient", "google", "urllib3", "werkzeug", "schedule"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _now(s: Settings) -> datetime:
    from zoneinfo import ZoneInfo

    from worker.adapters.system import SystemClock

    return SystemClock().now().astimezone(ZoneInfo(s.office.timezone))


def summary(report: TickReport) -> str:
    return (
        f"tick {'ok' if report.ok else 'FAILED'}: rows={report.rows_seen} "
        f"new={report.new_requests} events={report.events_created} "
        f"emails={report.emails_sent} cells={report.cells_written} flagged={report.flagged}"
        + (f" paused: {report.paused_reason}" if report.paused_reason else "")
        + (f" error: {report.error}" if report.error and not report.paused_reason else "")
    )


def tick(deps: Any, s: Settings, *, dry_run: bool = False, accept_backlog: bool = False) -> TickReport:
    """One tick with every failure of the tick as a whole turned into a failed report."""
    from worker.tick import run_once

    now = _now(s)
    try:
        report = run_once(deps, now, dry_run=dry_run, accept_backlog=accept_backlog)
    except (HeadersMissingError, BacklogRefusedError) as exc:
        log.error("%s", exc)
        report = TickReport(started=now, ok=False, error=str(exc))
    except JournalError as exc:
        log.error(
            "journal: %s; effects stopped before any Google call. To fix: free disk space or "
            "make the journal writable; balcao resumes by itself", exc,
        )
        report = TickReport(started=now, ok=False, error=str(exc))
    except AdapterError as exc:
        log.error("Google error, tick abandoned: %s", exc.message)
        deps.state.info = None  # re-read metadata next time (the sheet may have changed)
        report = TickReport(started=now, ok=False, error=exc.message)
    except Exception as exc:  # a bug must not end the daemon: the next tick starts clean
        log.error("unexpected %s, tick abandoned (requests stay pending)", type(exc).__name__,
                  exc_info=log.isEnabledFor(logging.DEBUG))
        deps.state.info = None
        report = TickReport(started=now, ok=False, error=f"unexpected {type(exc).__name__}")
    state = deps.state
    if report.paused_reason:
        # One clear line per pause (not one per tick): what happened and what to do.
        if getattr(state, "pause_logged", None) != report.paused_reason:
            log.error(
                "EFFECTS PAUSED, nothing is sent, booked or marked failed: %s. To fix: %s; "
                "balcao retries with growing intervals and resumes by itself",
                report.paused_reason, operator_action(report.paused_reason),
            )
            state.pause_logged = report.paused_reason
    elif report.ok:
        state.pause_logged = None
    log.info("%s", summary(report))
    return report


def run(s: Settings, *, once: bool, dry_run: bool, accept_backlog: bool) -> int:
    setup_logging(s)
    from worker import bootstrap

    if dry_run:
        journal = _journal_for_dry_run(s)
        deps = bootstrap.deps(s, journal)
        report = tick(deps, s, dry_run=True)
        print("dry run: nothing written, nothing sent")
        for line in report.plan_lines:
            print(line)
        return EXIT_OK if report.ok else EXIT_FAIL
    lock = InstanceLock(s.journal.path)
    lock.acquire()
    try:
        try:
            max_pages = os.environ.get(MAX_PAGES_ENV)
            journal = Journal(
                s.journal.path, max_page_count=int(max_pages) if max_pages else None
            )
        except JournalError as exc:
            log.error("%s", exc)
            return EXIT_FAIL
        try:
            stop = threading.Event()
            deps = bootstrap.deps(s, journal, stop=stop)
            if once:
                return EXIT_OK if tick(deps, s, accept_backlog=accept_backlog).ok else EXIT_FAIL
            return Loop(deps, s, stop, accept_backlog=accept_backlog).run()
        finally:
            journal.close()
    finally:
        lock.release()


def _journal_for_dry_run(s: Settings) -> Journal:
    from pathlib import Path

    if Path(s.journal.path).exists():
        return Journal(s.journal.path, readonly=True)
    return Journal(":memory:")


class Loop:
    """Ticks every ``poll.interval_seconds`` until SIGTERM/SIGINT (a second signal exits at once)."""

    def __init__(
        self, deps: Any, s: Settings, stop: threading.Event, *, accept_backlog: bool = False,
        notifier: Notifier | None = None, max_ticks: int | None = None,
    ) -> None:
        self.deps = deps
        self.s = s
        self.stop = stop
        self.accept_backlog = accept_backlog
        self.notifier = notifier or Notifier()
        self.failures = 0
        self.max_ticks = max_ticks
        self.ticks = 0
        self.last_good: datetime | None = None
        self.metrics: Any = None

    def _signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop.is_set():
            log.warning("second signal: exiting at once")
            sys.exit(128 + signum)
        log.info("signal %d: finishing the current request, then stopping", signum)
        self.stop.set()

    def install_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._signal)
            signal.signal(signal.SIGINT, self._signal)

    def backoff(self) -> float:
        """Seconds before the next tick after ``failures`` failed ticks in a row: truncated
        exponential with jitter, never shorter than the poll interval."""
        base = self.s.poll.interval_seconds
        cap = max(base, self.s.retry.failed_tick_backoff_max_seconds)
        delay = min(cap, base * (2 ** min(self.failures, 16)))
        return float(min(cap, delay * (0.75 + random.random() * 0.5)))

    def run(self) -> int:
        import schedule

        from worker import metrics as metrics_mod
        from worker.retry import Retrier, RetryPolicy

        self.install_signals()
        # Retry waits inside a tick keep systemd's watchdog fed: a long backoff is not a hang.
        r = self.s.retry
        self.deps.retrier = Retrier(
            RetryPolicy(r.attempts, r.base_delay_seconds, r.max_delay_seconds),
            self.stop, sleep=self._watchful_sleep,
        )
        self.metrics = metrics_mod.from_settings(self.s)
        scheduler = schedule.Scheduler()
        scheduler.every(1).days.do(self._purge)
        self._purge()
        self.notifier.ready("balcao started")
        log.info(
            "balcao running: every %ss on sheet %s", self.s.poll.interval_seconds,
            self.s.form.spreadsheet_id,
        )
        next_tick = time.monotonic()
        while not self.stop.is_set():
            self.notifier.watchdog()
            if time.monotonic() >= next_tick:
                started = time.monotonic()
                report = tick(self.deps, self.s, accept_backlog=self.accept_backlog)
                self.ticks += 1
                if self.metrics is not None:
                    self.metrics.observe(
                        report, self.deps.journal, _now(self.s),
                        duration=time.monotonic() - started,
                    )
                if report.ok:
                    self.failures = 0
                    self.last_good = report.started
                    wait = self.s.poll.interval_seconds
                    self.notifier.status(
                        f"last good tick {report.started:%d/%m %H:%M}; "
                        f"{report.new_requests} new, {report.emails_sent} e-mails"
                    )
                else:
                    self.failures += 1
                    wait = self.backoff()
                    why = report.paused_reason or report.error or "error"
                    self.notifier.status(f"paused/backing off {wait:.0f}s: {why}"[:200])
                next_tick = time.monotonic() + wait
                if self.max_ticks is not None and self.ticks >= self.max_ticks:
                    break
            scheduler.run_pending()
            self.stop.wait(min(1.0, max(0.0, next_tick - time.monotonic())))
        self.notifier.stopping()
        if self.metrics is not None:
            self.metrics.stop()
        log.info("balcao stopped")
        return EXIT_OK

    def _watchful_sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds`` in slices of at most 1 s, feeding the watchdog; True when
        a stop was requested meanwhile."""
        end = time.monotonic() + seconds
        while True:
            self.notifier.watchdog()
            left = end - time.monotonic()
            if left <= 0:
                return self.stop.is_set()
            if self.stop.wait(min(1.0, left)):
                return True

    def _purge(self) -> None:
        try:
            with self.deps.journal.tx():
                n = self.deps.journal.purge_personal_data(
                    _now(self.s), self.s.journal.retention_days
                )
            if n:
                log.info("retention: personal data of %d old requests erased", n)
        except JournalError as exc:
            log.error("retention purge failed: %s", exc)


def recover(s: Settings) -> int:
    """Rebuild the journal from Google (the sheet's protocols, events by private property,
    messages by Message-ID where the scope allows) without sending or booking anything."""
    setup_logging(s)
    from worker.recovery import rebuild

    lock = InstanceLock(s.journal.path)
    lock.acquire()
    try:
        return rebuild(s)
    finally:
        lock.release()
