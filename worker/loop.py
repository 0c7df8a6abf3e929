"""The daemon's loop: the tick every ``poll.interval_seconds`` with backoff after failures, the due jobs between ticks, signals, and systemd's READY/STATUS/WATCHDOG; `schedule` paces it.

Signal handlers only set a ``threading.Event`` (a second signal exits at once); the loop
sleeps with ``stop.wait`` so a signal ends it within a second, and systemd's watchdog is fed
also while it waits or backs off.
"""

from __future__ import annotations

import logging
import random
import signal
import sys
import threading
import time
from datetime import datetime
from types import FrameType
from typing import Any

from worker import jobs
from worker.config import Settings
from worker.runner import EXIT_FAIL, EXIT_OK, _now, tick
from worker.sdnotify import Notifier

log = logging.getLogger("balcao")

# How often the loop asks which jobs are due (their due time comes from the journal).
JOB_CHECK_SECONDS = 30


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
        scheduler.every(JOB_CHECK_SECONDS).seconds.do(self._jobs)
        self._jobs()
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
                if self.deps.state.refused:
                    break  # a journal that is not this sheet's: refuse, as `run --once` does
            scheduler.run_pending()
            self.stop.wait(min(1.0, max(0.0, next_tick - time.monotonic())))
        self.notifier.stopping()
        if self.metrics is not None:
            self.metrics.stop()
        log.info("balcao stopped")
        return EXIT_FAIL if self.deps.state.refused else EXIT_OK

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

    def _jobs(self) -> None:
        """Run the jobs that are due (never while effects are paused)."""
        if self.deps.state.paused or self.deps.state.stopped:
            return
        from worker.journal import JournalReplacedError

        try:
            self.deps.journal.check_same_file()
        except JournalReplacedError as exc:
            log.error("EFFECTS STOPPED: %s", exc)
            self.deps.state.stopped = str(exc)
            return
        jobs.run_due(self.deps, _now(self.s))
