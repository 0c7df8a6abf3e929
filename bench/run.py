"""`make bench`: balcao against the naive baseline (bench/naive.py), side by side, on the
sandbox in its own process; prints ONE plain-text table at the end.

Scenarios: sheets of N = 1,000, 10,000 and 50,000 rows balcao already processed (built
directly, sheet and journal agreeing), k = 0, 10 and 200 new rows in a tick, and a backlog
of 1,000 new rows on the 1,000-row sheet (the daily sending cap set above it).

How one tick is measured: a fresh worker process (sandbox reset, fresh copy of the journal)
runs a warm-up tick on the idle sheet, which pays the start-up metadata; then the new rows
are submitted through the sandbox's form, and the measured tick runs in the same process,
as in the daemon. Requests and bytes come from the sandbox's request log (the slice of that
tick); the tick time is measured inside the worker; the peak RSS of the worker process comes
from ``wait4``. Whole-process figures run the real commands: ``balcao --help`` and
``balcao run --once`` (naive: ``python bench/naive.py --help`` / ``--once``).

Then issue 18's goals, the turn-1 release against the current code side by side (goals.py).

Usage: ``python bench/run.py [--reps 5] [--sizes 1000,10000,50000] [--backlog-naive-reps 1]
[--goals-only | --skip-goals] [--goals-reps 3] [--ref 1c7c98c]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import common
import goals
from common import (
    TZ,
    Child,
    LogSlice,
    Sandbox,
    Series,
    build_processed,
    fmt_series,
    fmt_value,
    fresh_journal,
    peak_rss,
    ratio,
    reset_peak_rss,
    run_script,
    table,
)

HERE = Path(__file__).resolve().parent
SIZES = (1_000, 10_000, 50_000)
KS = (0, 10, 200)
BACKLOG = 1_000
BACKLOG_N = 1_000
WORKERS = ("balcao", "naive")


# --------------------------------------------------------------------------- child side


def child(kind: str) -> int:
    """A worker process driven over stdin: each `tick` line runs one tick and answers one
    JSON line; `quit` or EOF ends it."""
    from worker import config

    s = config.load(common.CONFIG)
    if kind == "balcao":
        from worker import bootstrap, runner
        from worker.journal import Journal

        runner.setup_logging(s)
        journal = Journal(s.journal.path)
        deps = bootstrap.deps(s, journal)

        def tick() -> dict[str, Any]:
            r = runner.tick(deps, s, accept_backlog=True)
            return {"ok": r.ok, "error": r.error, "new": r.new_requests,
                    "events": r.events_created, "emails": r.emails_sent,
                    "cells": r.cells_written}
    else:
        import naive

        worker = naive.NaiveWorker(s)

        def tick() -> dict[str, Any]:
            return {"ok": True, "error": None, **worker.tick()}

    process_peak = 0
    for line in sys.stdin:
        if line.strip() != "tick":
            break
        process_peak = max(process_peak, peak_rss())
        reset_peak_rss()
        t0 = time.perf_counter()
        try:
            out = tick()
        except Exception as exc:  # the parent reports it; the benchmark goes on
            out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out["tick_s"] = time.perf_counter() - t0
        out["hwm"] = peak_rss()
        print(json.dumps(out), flush=True)
    print(json.dumps({"process_peak": max(process_peak, peak_rss())}), flush=True)
    return 0


# --------------------------------------------------------------------------- measurements


@dataclass
class Figures:
    """One worker in one scenario, over the repetitions."""

    requests: Series = field(default_factory=Series)
    methods: list[Counter[str]] = field(default_factory=list)
    read_bytes: Series = field(default_factory=Series)
    tick_s: Series = field(default_factory=Series)
    rss: Series = field(default_factory=Series)
    tick_rss: Series = field(default_factory=Series)
    ticks: Series = field(default_factory=Series)

    def method_counts(self) -> dict[str, float]:
        names = {m for c in self.methods for m in c}
        return {m: Series([float(c.get(m, 0)) for c in self.methods]).median for m in names}


class Bench:
    def __init__(self, work: Path, reps: int, backlog_naive_reps: int) -> None:
        self.work = work
        self.reps = reps
        self.backlog_naive_reps = backlog_naive_reps
        self.results: dict[tuple[str, str], Figures] = {}
        self.problems: list[str] = []
        self.python = sys.executable

    def fig(self, scenario: str, worker: str) -> Figures:
        return self.results.setdefault((scenario, worker), Figures())

    def problem(self, text: str) -> None:
        self.problems.append(text)
        print(f"  CHECK FAILED: {text}", flush=True)

    # ---- one measured tick (or a backlog drained tick after tick)

    def measure(self, sb: Sandbox, sheet: common.ProcessedSheet, worker: str, k: int,
                scenario: str, *, backlog: bool = False) -> None:
        sb.reset()
        journal = fresh_journal(sheet.journal_path, self.work / f"journal-{worker}.sqlite3")
        env = common.bench_env(sb.url, journal)
        stderr = self.work / f"{worker}-{sheet.n}-{k}.stderr"
        proc = Child.start([self.python, str(HERE / "run.py"), "--child", worker], env, stderr,
                           stdin=True)
        ticks: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        state: dict[str, Any] = {}
        try:
            warm = self._tick(proc)
            state = sb.state()
            start = len(state["requests"])
            warm_log = LogSlice(state["requests"])
            if not warm.get("ok"):
                self.problem(f"{scenario} {worker}: warm-up tick failed: {warm.get('error')}")
            if warm_log.sheet_writes:
                self.problem(f"{scenario} {worker}: the warm-up tick on the processed sheet "
                             f"wrote to the sheet ({warm_log.by_method()}): not idle")
            base = datetime.now(TZ) - timedelta(seconds=k + 1)
            for j in range(1, k + 1):
                sb.submit(j, base + timedelta(seconds=j))
            while True:
                out = self._tick(proc)
                state = sb.state()
                new_entries = state["requests"][start:]
                start = len(state["requests"])
                idle = not any(out.get(x) for x in ("new", "events", "emails", "cells"))
                if backlog and ticks and idle:
                    break  # the check tick that found nothing left: not counted
                ticks.append(out)
                entries.extend(new_entries)
                if not out.get("ok"):
                    self.problem(f"{scenario} {worker}: tick failed: {out.get('error')}")
                    break
                if not backlog or len(ticks) >= 20:
                    break
            proc.send("quit")
        finally:
            code, _wall, rest = proc.finish()
        rss = 0
        with contextlib.suppress(ValueError, IndexError):
            rss = int(json.loads(rest.strip().splitlines()[-1])["process_peak"])
        if code != 0:
            self.problem(f"{scenario} {worker}: worker exited {code} (see {stderr})")
        log = LogSlice(entries)
        self._verify(scenario, worker, sheet.n, k, state, log)
        f = self.fig(scenario, worker)
        f.requests.add(log.total)
        f.methods.append(log.by_method())
        f.read_bytes.add(log.read_bytes)
        f.tick_s.add(sum(t.get("tick_s", 0.0) for t in ticks))
        f.rss.add(rss)
        f.tick_rss.add(max((t.get("hwm", 0) for t in ticks), default=0))
        f.ticks.add(len(ticks))

    @staticmethod
    def _tick(proc: Child) -> dict[str, Any]:
        proc.send("tick")
        line = proc.readline()
        if not line:
            return {"ok": False, "error": "the worker process died"}
        return dict(json.loads(line))

    def _verify(self, scenario: str, worker: str, n: int, k: int, state: dict[str, Any],
                log: LogSlice) -> None:
        """The job was really done: one event and one e-mail per new row, each new row with
        its protocol and `Agendado`; an idle tick wrote nothing; no Google error."""
        if log.errors:
            self.problem(f"{scenario} {worker}: {len(log.errors)} Google errors, first "
                         f"{log.errors[0]}")
        if k == 0:
            if log.sheet_writes:
                self.problem(f"{scenario} {worker}: the idle tick wrote to the sheet")
            return
        events = sum(len(c["events"]) for c in state["calendars"].values())
        mails = sum(len(b["messages"]) for b in state["gmail"].values())
        if events != k or mails != k:
            self.problem(f"{scenario} {worker}: {events} events and {mails} e-mails for {k} "
                         "new rows")
        sp = state["spreadsheets"][common.SPREADSHEET_ID]
        values = sp["sheets"][common.WORKSHEET]["values"]
        header = values[0]
        p_col, s_col = header.index("Protocolo"), header.index("Situação")
        bad = 0
        for row in values[n + 1 : n + 1 + k]:
            cells = row + [""] * (len(header) - len(row))
            if not str(cells[p_col]).startswith("BV-") or cells[s_col] != "Agendado":
                bad += 1
        if bad or len(values) < n + 1 + k:
            self.problem(f"{scenario} {worker}: {bad} of {k} new rows lack a protocol or "
                         "`Agendado`")

    def prime(self, sb: Sandbox, sheet: common.ProcessedSheet) -> None:
        """One `balcao run --once` over the processed sheet with the prebuilt journal, kept as
        the template: the journal is then what balcao itself leaves after a tick (whatever it
        remembers between runs), and the tick must have found nothing to do."""
        sb.reset()
        common.mark_heartbeat(sheet.journal_path)
        env = common.bench_env(sb.url, sheet.journal_path)
        stderr = self.work / f"prime-{sheet.n}.stderr"
        code, _, _ = run_script(BALCAO, ["run", "--once", "-c", str(common.CONFIG)], env,
                                stderr, cwd=self.work)
        log = LogSlice(sb.state()["requests"])
        if code != 0 or log.errors:
            self.problem(f"N={sheet.n:,}: priming tick failed (exit {code}, see {stderr})")
        if log.count("sheets.spreadsheets.values.batchUpdate", "calendar.events.insert",
                     "gmail.users.messages.send"):
            self.problem(f"N={sheet.n:,}: the priming tick acted on the processed sheet "
                         f"({dict(log.by_method())}): sheet and journal disagree")

    # ---- whole processes

    def process_times(self, label: str, argv: dict[str, list[str]], env: dict[str, str],
                      sb: Sandbox | None = None, sheet: common.ProcessedSheet | None = None) -> None:
        for worker in WORKERS:
            f = self.fig(label, worker)
            for _ in range(self.reps):
                if sb is not None and sheet is not None:
                    sb.reset()
                    env = common.bench_env(
                        sb.url, fresh_journal(sheet.journal_path, self.work / "journal-cli.sqlite3")
                    )
                stderr = self.work / f"{worker}-process.stderr"
                script, *rest = argv[worker]
                code, wall, rss = run_script(Path(script), rest, env, stderr, cwd=self.work)
                if code != 0:
                    self.problem(f"{label} {worker}: exit {code} (see {stderr})")
                f.tick_s.add(wall)
                f.rss.add(rss)
                if sb is not None:
                    log = LogSlice(sb.state()["requests"])
                    f.requests.add(log.total)
                    f.methods.append(log.by_method())
                    f.read_bytes.add(log.read_bytes)
                    if log.sheet_writes:
                        self.problem(f"{label} {worker}: wrote to the sheet on an idle sheet")


# The console script `make setup` installs beside the interpreter (`balcao --help` is what
# an operator types); its code is `from worker.cli import main; sys.exit(main())`.
BALCAO = Path(sys.executable).with_name("balcao")


def run_all(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="balcao-bench-"))
    bench = Bench(work, args.reps, args.backlog_naive_reps)
    now = datetime.now(TZ)
    print(f"balcao benchmarks: {args.reps} runs per figure; scratch files in {work}", flush=True)

    print("start-up: --help", flush=True)
    env0 = common.bench_env("http://127.0.0.1:9", work / "unused.sqlite3")
    bench.process_times("`--help` start-up", {
        "balcao": [str(BALCAO), "--help"],
        "naive": [str(HERE / "naive.py"), "--help"],
    }, env0)

    for n in args.sizes:
        t0 = time.perf_counter()
        sheet = build_processed(n, work, now)
        with Sandbox(sheet.csv_path, work / f"sandbox-{n}.log") as sb:
            bench.prime(sb, sheet)
            print(f"N={n:,}: sheet and journal built in {time.perf_counter() - t0:.1f} s; "
                  f"sandbox at {sb.url}", flush=True)
            for k in KS:
                scenario = f"N={n:,} k={k}"
                for worker in WORKERS:
                    t1 = time.perf_counter()
                    for _ in range(args.reps):
                        bench.measure(sb, sheet, worker, k, scenario)
                    print(f"  {scenario} {worker}: {time.perf_counter() - t1:.1f} s", flush=True)
            label = f"`run --once` idle, N={n:,}"
            t1 = time.perf_counter()
            bench.process_times(label, {
                "balcao": [str(BALCAO), "run", "--once", "-c", str(common.CONFIG)],
                "naive": [str(HERE / "naive.py"), "--once", "-c", str(common.CONFIG)],
            }, {}, sb, sheet)
            print(f"  {label}: {time.perf_counter() - t1:.1f} s", flush=True)
            if n == BACKLOG_N and not args.skip_backlog:
                scenario = f"backlog {BACKLOG:,} on N={n:,}"
                for worker in WORKERS:
                    t1 = time.perf_counter()
                    reps = args.reps if worker == "balcao" else bench.backlog_naive_reps
                    for _ in range(reps):
                        bench.measure(sb, sheet, worker, BACKLOG, scenario, backlog=True)
                    print(f"  {scenario} {worker}: {time.perf_counter() - t1:.1f} s", flush=True)

    print(f"\nfinished in {time.perf_counter() - t_start:.0f} s, "
          f"{datetime.now(TZ):%Y-%m-%d %H:%M %Z}\n", flush=True)
    print(render(bench))
    print("\n" + targets(bench, args))
    if bench.problems:
        print("\nCHECKS FAILED:\n" + "\n".join(f"- {p}" for p in bench.problems))
        return 1
    return 0


# --------------------------------------------------------------------------- the table


def _count(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:,.1f}"


def render(bench: Bench) -> str:
    header = ["scenario", "figure", "balcao", "naive", "naive/balcao", "runs b/n"]
    rows: list[list[str]] = []
    scenarios = list(dict.fromkeys(scenario for scenario, _ in bench.results))

    def add(name: str, figure: str, bv: str, nv: str, r: str, runs: str = "") -> None:
        rows.append([name if not any(x[0] == name for x in rows if len(x) > 1) else "",
                     figure, bv, nv, r, runs])

    for scenario in scenarios:
        b, nv = bench.fig(scenario, "balcao"), bench.fig(scenario, "naive")
        runs = f"{b.tick_s.n}/{nv.tick_s.n}"
        rows.append([""])
        whole = scenario.startswith("`")
        backlog = scenario.startswith("backlog")
        if b.requests.n:
            label = "Google requests" + (" (all ticks)" if backlog else "" if whole else " per tick")
            add(scenario, label, _count(b.requests.median), _count(nv.requests.median),
                ratio(nv.requests.median, b.requests.median))
            bm, nm = b.method_counts(), nv.method_counts()
            for m in sorted(set(bm) | set(nm)):
                bc, nc = bm.get(m, 0), nm.get(m, 0)
                add(scenario, f"  {m}", _count(bc), _count(nc), ratio(nc, bc) if bc and nc else "")
            add(scenario, "bytes read" + ("" if whole or backlog else " per tick"),
                fmt_value(b.read_bytes.median, "B"), fmt_value(nv.read_bytes.median, "B"),
                ratio(nv.read_bytes.median, b.read_bytes.median))
        if backlog:
            add(scenario, "ticks until all done", _count(b.ticks.median), _count(nv.ticks.median), "")
        time_label = ("wall time of the process" if whole else
                      "time until all done" if backlog else "tick wall time")
        add(scenario, time_label, fmt_series(b.tick_s, "s"), fmt_series(nv.tick_s, "s"),
            ratio(nv.tick_s.median, b.tick_s.median), runs)
        if b.tick_rss.n:
            add(scenario, "peak RSS during the tick" + ("s" if backlog else ""),
                fmt_series(b.tick_rss, "MiB"), fmt_series(nv.tick_rss, "MiB"),
                ratio(nv.tick_rss.median, b.tick_rss.median), runs)
        add(scenario, "peak RSS of the process", fmt_series(b.rss, "MiB"),
            fmt_series(nv.rss, "MiB"), ratio(nv.rss.median, b.rss.median), runs)
    return (
        "Times and RSS: median [min–max] over the runs (runs b/n: balcao/naive). Requests and "
        "bytes: per run, from the sandbox request log.\n" + table(rows[1:], header)
    )


SHEETS_OTHER = ("sheets spreadsheets.get", "sheets values.get", "sheets values.update")


def targets(bench: Bench, args: argparse.Namespace) -> str:
    """The issue's targets, judged on balcao's medians above."""
    out: list[str] = ["Targets (balcao):"]

    def line(ok: bool | None, text: str) -> None:
        mark = "n/a " if ok is None else "MET " if ok else "MISS"
        out.append(f"  [{mark}] {text}")

    def get(scenario: str) -> Figures | None:
        return bench.results.get((scenario, "balcao"))

    idle: list[tuple[int, Figures]] = []
    for n in args.sizes:
        fig = get(f"N={n:,} k=0")
        if fig is not None and fig.requests.n:
            idle.append((n, fig))
    if idle:
        worst = max(f.requests.median for _, f in idle)
        per_row = ", ".join(f"{f.read_bytes.median / n:.0f} B/row at N={n:,}" for n, f in idle)
        # DESIGN §7: 1 Sheets values read + 1 events.list per attendant calendar, no write.
        budget = 1 + len(common.CALENDARS)
        line(worst <= budget, f"idle tick <= 1 values read + 1 events.list per calendar "
             f"({budget} requests): at most {_count(worst)}; bytes read {per_row}")
    over: dict[str, list[str]] = {}
    for n in args.sizes:
        for k in KS[1:]:
            f = get(f"N={n:,} k={k}")
            if f is None or not f.methods:
                continue
            m = f.method_counts()
            # The Situação dropdown is applied again when Forms grew the grid (DESIGN §7).
            allowed = {"sheets values.batchGet": 2, "calendar freebusy.query": 1,
                       "sheets values.batchUpdate": 1, "sheets spreadsheets.batchUpdate": 1}
            for method, count in m.items():
                counted = method.startswith("sheets") or "freebusy" in method
                if counted and count > allowed.get(method, 0):
                    over.setdefault(f"{method} {_count(count)}", []).append(f"N={n:,} k={k}")
    seen = ", ".join(f"{what} (in {len(where)} scenarios: {where[0]} … {where[-1]})"
                     for what, where in over.items())
    line(not over, "per tick <= 1 values read + 1 identity re-read + 1 freebusy + 1 batch write "
         "(+ the dropdown when the grid grew), whatever k" + (f"; also {seen}" if over else ""))
    f = get(f"backlog {BACKLOG:,} on N={BACKLOG_N:,}")
    if f is not None and f.tick_s.n:
        line(f.tick_s.median < 60, f"backlog of {BACKLOG:,} done in < 60 s: "
             f"{fmt_series(f.tick_s, 's')} in {_count(f.ticks.median)} tick(s)")
    big = max(args.sizes)
    peaks = [(label, x) for label, x in ((f"`run --once` idle, N={big:,}", "process"),
                                         (f"N={big:,} k=0", "tick"))
             if get(label) is not None]
    if peaks:
        texts, worst_rss = [], 0.0
        for label, _ in peaks:
            fig = get(label)
            assert fig is not None
            worst_rss = max(worst_rss, fig.rss.median)
            texts.append(f"{label}: {fmt_series(fig.rss, 'MiB')}")
        line(worst_rss < 80e6 if big >= 50_000 else None,
             f"RSS < 80 MB at N = {big:,}: " + "; ".join(texts))
    f = get("`--help` start-up")
    if f is not None:
        line(f.tick_s.median < 0.3, f"`balcao --help` < 300 ms: {fmt_series(f.tick_s, 's')}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", choices=WORKERS, help=argparse.SUPPRESS)
    p.add_argument("--reps", type=int, default=5, help="runs per figure (default 5)")
    p.add_argument("--sizes", default=",".join(str(n) for n in SIZES),
                   help="processed-row counts N, comma-separated (default 1000,10000,50000)")
    p.add_argument("--backlog-naive-reps", type=int, default=1,
                   help="runs of the naive worker on the 1,000-row backlog (default 1: ~1 min each)")
    p.add_argument("--skip-backlog", action="store_true", help="leave out the backlog scenario")
    p.add_argument("--goals-only", action="store_true",
                   help="only issue 18's goals, turn-1 release against now (bench/goals.py)")
    p.add_argument("--skip-goals", action="store_true", help="leave out issue 18's goals")
    p.add_argument("--goals-reps", type=int, default=3, help="runs per goal figure (default 3)")
    p.add_argument("--ref", default=goals.REF, help=f"the earlier commit ({goals.REF})")
    args = p.parse_args(argv)
    if args.child:
        return child(args.child)
    args.sizes = [int(x) for x in str(args.sizes).split(",") if x.strip()]
    code = 0 if args.goals_only else run_all(args)
    if not args.skip_goals:
        text, ok = goals.run_goals(args.goals_reps, args.ref, skip_big=False)
        print("\n" + text, flush=True)
        code = code or (0 if ok else 1)
    return code


if __name__ == "__main__":
    sys.exit(main())
