"""The staff-visible `balcao` tab: when the service last completed a tick, whether it runs or is paused, and the counts per status; written through the sheet port."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime, timedelta

from worker import texts
from worker.deps import Deps
from worker.effects import AuthPaused
from worker.journal import JournalError
from worker.lifecycle import Status
from worker.model import AdapterError
from worker.ports import CellValue
from worker.textfmt import fmt_datetime

log = logging.getLogger("balcao.statustab")


def heartbeat(deps: Deps, now: datetime) -> None:
    """Rewrite the tab at the end of a tick when a count changed (so staff never read
    "Agendado 0" right after three bookings), when the interval passed, or when effects
    resumed after a pause; at most once per tick."""
    hb = deps.settings.heartbeat
    if not hb.enabled:
        return
    j = deps.journal
    last = j.get_meta("heartbeat_at")
    resumed = j.get_meta("heartbeat_state") == "paused"
    # A journal that never recorded the counts (an older release's) follows the interval.
    shown = j.get_meta("heartbeat_counts")
    changed = shown is not None and shown != _counts_key(deps, now)
    if (
        last
        and not resumed
        and not changed
        and now - datetime.fromisoformat(last) < timedelta(minutes=hb.interval_minutes)
    ):
        return
    write(deps, now, texts.TAB_RUNNING)


def _counts_key(deps: Deps, now: datetime) -> str:
    stats = deps.journal.stats()
    overdue = deps.journal.past_deadline_unanswered(now)
    return json.dumps([sorted(stats.items()), overdue])


def write_paused(deps: Deps, now: datetime) -> None:
    """Tell staff that effects are paused (best effort: when Google refused the sheet itself,
    nothing can be written there and the log says it all)."""
    if not deps.settings.heartbeat.enabled:
        return
    j = deps.journal
    if j.get_meta("heartbeat_state") == "paused":
        return  # already shown; written again when it resumes
    last = j.get_meta("heartbeat_at")
    with contextlib.suppress(AdapterError, AuthPaused, JournalError):
        write(
            deps, now, texts.TAB_PAUSED, state="paused",
            last_good=datetime.fromisoformat(last) if last else None,
        )


def rows(deps: Deps, now: datetime, estado: str, good: datetime | None) -> list[list[CellValue]]:
    j = deps.journal
    stats = j.stats()
    overdue = j.past_deadline_unanswered(now)
    tz = deps.settings.office.timezone
    return [
        ["balcao", texts.TAB_TITLE],
        [texts.TAB_LAST_TICK, fmt_datetime(good, tz) if good else "-"],
        [texts.TAB_STATE, estado],
        *([s.value, stats.get(s.value, 0)] for s in Status),  # type: ignore[list-item]
        [texts.TAB_PAST_DEADLINE, overdue],
    ]


def write(
    deps: Deps, now: datetime, estado: str, state: str = "running",
    last_good: datetime | None = None,
) -> None:
    good = now if state == "running" else last_good
    try:
        deps.sheet.write_status_tab(
            deps.settings.heartbeat.worksheet, rows(deps, now, estado, good)
        )
    except AdapterError as exc:
        if exc.auth:
            raise AuthPaused(exc) from None
        log.warning("heartbeat tab not written: %s", exc.message)
        return
    with deps.journal.tx():
        if state == "running":
            deps.journal.set_meta("heartbeat_at", now.isoformat())
            deps.journal.set_meta("heartbeat_counts", _counts_key(deps, now))
        deps.journal.set_meta("heartbeat_state", state)
