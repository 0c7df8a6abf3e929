"""A balcao worker process driven over stdin, for the side-by-side goals (bench/goals.py).

Each ``tick`` line runs one tick in this process, as the daemon does, and answers one JSON
line: the tick's outcome, its CPU time (this process only: the sandbox runs elsewhere), wall
time, peak RSS during the tick (VmHWM reset just before) and RSS after it (after a garbage
collection). ``quit`` or EOF ends it. The config file is ``$BENCH_CONFIG``.

The same script drives the turn-1 release (a worktree on PYTHONPATH) and the current code, so
it imports only the worker's public entry points, all in ``make_tick``: the one place to
change when the tick moves (``worker.runner.tick`` today).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def make_tick(config_path: str) -> Callable[[], dict[str, Any]]:
    """One tick of the worker as the daemon runs it (backlog accepted)."""
    from worker import bootstrap, config, runner
    from worker.journal import Journal

    settings = config.load(config_path)
    runner.setup_logging(settings)
    deps = bootstrap.deps(settings, Journal(settings.journal.path))

    def tick() -> dict[str, Any]:
        r = runner.tick(deps, settings, accept_backlog=True)
        return {"ok": r.ok, "error": r.error, "new": r.new_requests,
                "events": r.events_created, "emails": r.emails_sent, "cells": r.cells_written}

    return tick


def status_kib(field: str) -> int:
    """A ``/proc/self/status`` figure in KiB (VmHWM, VmRSS), 0 without /proc."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> int:
    tick = make_tick(os.environ["BENCH_CONFIG"])
    for line in sys.stdin:
        if line.strip() != "tick":
            break
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        try:
            out = tick()
        except Exception as exc:  # the parent reports it
            out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out["cpu_s"] = cpu_seconds() - cpu0
        out["wall_s"] = time.perf_counter() - t0
        out["hwm"] = status_kib("VmHWM") * 1024
        gc.collect()
        out["rss"] = status_kib("VmRSS") * 1024
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
