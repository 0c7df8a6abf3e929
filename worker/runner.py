"""`balcao run` and `balcao recover`: logging, the instance lock, the journal, one tick with its failures reported; the imperative shell (the daemon's loop is worker.loop)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from datetime import datetime
from typing import Any

from worker.config import Settings
from worker.journal import InstanceLock, Journal, JournalError, JournalReplacedError
from worker.model import (
    AdapterError,
    BacklogRefusedError,
    HeadersMissingError,
    JournalDisagreesError,
    TickReport,
)

log = logging.getLogger("balcao")

EXIT_OK, EXIT_FAIL = 0, 1

# Test hook, not configuration: caps the journal at this many SQLite pages (PRAGMA
# max_page_count) so the fault suite can emulate a full disk in a subprocess without touching
# the file system. Documented in README.md ("Failure model"); never set it in production.
MAX_PAGES_ENV = "BALCAO_TEST_JOURNAL_MAX_PAGES"


def operator_action(reason: str) -> str:
    """What the operator must do for an error that stops effects, from its (vendor-free) text.

    The text starts with the operation (``"sheets values.batchGet: HTTP 403 ..."``), so a
    missing scope is named: ``…/auth/spreadsheets`` for sheets, ``calendar.events`` or
    ``calendar.freebusy`` for calendar, ``gmail.send`` for sending.
    """
    if "invalid_grant" in reason or "refreshError" in reason:
        return (
            "the token was revoked or expired (or the service-account key was deleted): run "
            "`balcao auth` again (or install a new service-account key), then `balcao check`"
        )
    if "SCOPE" in reason or "insufficientPermissions" in reason:
        scope = _scope_named(reason)
        need = f"the scope {scope}" if scope else "a permission balcao needs"
        return (
            f"the token lacks {need} (revoked or never granted): run `balcao auth` again and "
            "grant every scope asked for (OAuth), or authorise it for the service account's "
            "client id in the Admin console (domain-wide delegation); then `balcao check`"
        )
    if "form.spreadsheet_id" in reason or "form.worksheet" in reason:
        return "correct the config key named above, then `balcao check`; balcao keeps retrying"
    return (
        "Google refused balcao's account: run `balcao check` to see which permission is missing "
        "(sheet or calendar sharing, domain-wide delegation, an API not enabled)"
    )


def _scope_named(reason: str) -> str | None:
    # The scopes of adapters.google_auth.SCOPES, by the operation that needs them.
    for prefix, scope in (
        ("sheets", "spreadsheets"),
        ("calendar freebusy", "calendar.freebusy"),
        ("calendar", "calendar.events"),
        ("gmail users.messages.send", "gmail.send"),
        ("gmail", "gmail.readonly"),
    ):
        if reason.startswith(prefix):
            return "https://www.googleapis.com/auth/" + scope
    return None


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
    state = deps.state
    if getattr(state, "stopped", None):
        # Told once already; nothing may act until the operator restarts balcao.
        return TickReport(started=now, ok=False, error=state.stopped)
    try:
        report = run_once(deps, now, dry_run=dry_run, accept_backlog=accept_backlog)
    except (HeadersMissingError, BacklogRefusedError) as exc:
        log.error("%s", exc)
        report = TickReport(started=now, ok=False, error=str(exc))
    except JournalDisagreesError as exc:
        log.error("REFUSING TO ACT: %s", exc)
        state.stopped = str(exc)
        state.refused = True
        report = TickReport(started=now, ok=False, error=str(exc))
    except JournalReplacedError as exc:
        log.error("EFFECTS STOPPED: %s", exc)
        state.stopped = str(exc)
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
    if report.new_requests or report.emails_sent or report.cells_written:
        # A working tick freed large buffers (the tail read, rendered e-mails): hand the
        # heap's free pages back, so a small office machine does not keep them between ticks.
        from worker.adapters.heap import release_free_memory

        release_free_memory()
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
    existed = os.path.exists(s.journal.path)
    refused = False
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
            try:
                if once:
                    return run_once_and_jobs(deps, s, accept_backlog=accept_backlog)
                from worker.loop import Loop

                return Loop(deps, s, stop, accept_backlog=accept_backlog).run()
            finally:
                refused = deps.state.refused
        finally:
            journal.close()
            if refused and not existed:
                _forget_new_journal(s.journal.path)
    finally:
        lock.release()


def _forget_new_journal(path: str) -> None:
    """A journal this run created only to find that the sheet is another journal's: removed,
    so a refused run leaves nothing behind (the operator's next step is `balcao recover`)."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.unlink(path + suffix)


def run_once_and_jobs(deps: Any, s: Settings, *, accept_backlog: bool = False) -> int:
    """`run --once`: one tick, then every job that is due (retention, reminders, ...), so a
    cron-driven installation behaves like the daemon; 1 when the tick or a due job failed."""
    from worker import jobs

    report = tick(deps, s, accept_backlog=accept_backlog)
    if deps.state.stopped:
        return EXIT_FAIL  # nothing may act: no job either
    jobs_ok = jobs.run_due(deps, _now(s)) if not report.paused_reason else True
    return EXIT_OK if report.ok and jobs_ok else EXIT_FAIL


def _journal_for_dry_run(s: Settings) -> Journal:
    from pathlib import Path

    if Path(s.journal.path).exists():
        return Journal(s.journal.path, readonly=True)
    return Journal(":memory:")


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
