"""Issue 18's goals, measured side by side: the turn-1 release (commit 1c7c98c, a git worktree
run with this venv and PYTHONPATH pointing at it) against the current code, in one run.

Each side runs its own code, its own config.yaml and templates, and builds its own 50,000-row
sheet and journal with its own bench/common.py; both talk to the same sandbox (this
checkout's, in its own process). Figures:

- a 600-row and a 2,400-row backlog on an empty sheet: balcao's CPU time for the ticks that
  drain it (the worker process only), peak RSS during them, and per citizen the time from
  the tick's start, and from their own event's creation, to their confirmation e-mail;
- throttling: a 200-row tick under the sandbox's quota mode with room for 50 sends, counting
  the sends attempted after Gmail's first 429;
- 50,000 rows: the first run (`balcao run --once` with a journal that has no column map yet)
  and the daemon's RSS after a working tick (10 new rows), then an idle one;
- start-up: `balcao deadline` and `balcao --help` (compiled bytecode present, as installed).

    .venv/bin/python bench/goals.py [--reps 3] [--ref 1c7c98c] [--skip-50k]
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import email.policy
import email.utils
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import common
from common import TZ, Child, Sandbox, fmt_value, run_script, table

HERE = Path(__file__).resolve().parent
REF = "1c7c98c"  # the turn-1 release
BACKLOGS = (600, 2_400)
BIG = 50_000
THROTTLE_ROWS, THROTTLE_SENDS = 200, 50
# Room for the 2,400-row backlog: 6 attendants x 12 slots a day over 56 days.
CALENDARS = [f"atendente{i}@cartorio.example" for i in range(1, 7)]


@dataclass
class Side:
    label: str
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    def env(self, url: str, journal: Path, **extra: str) -> dict[str, str]:
        env = common.bench_env(url, journal, extra={
            "PYTHONPATH": str(self.root),
            "BENCH_CONFIG": str(self.config),
            "BALCAO__SCHEDULING__CALENDARS": "[" + ", ".join(CALENDARS) + "]",
            **extra,
        })
        if not (self.root / "worker" / "privacy.py").exists():
            # The turn-1 release knows retention only as journal.retention_days.
            env["BALCAO__JOURNAL__RETENTION_DAYS"] = env.pop("BALCAO__PRIVACY__RETENTION_DAYS")
        return env


@dataclass
class Figures:
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, v: float) -> None:
        self.values.setdefault(name, []).append(v)

    def median(self, name: str) -> float:
        vs = self.values.get(name)
        return statistics.median(vs) if vs else float("nan")


class Goals:
    def __init__(self, work: Path, reps: int, sides: list[Side]) -> None:
        self.work = work
        self.reps = reps
        self.sides = sides
        self.figs: dict[str, Figures] = {s.label: Figures() for s in sides}
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)
        print(f"  CHECK FAILED: {text}", flush=True)

    # ---- a driven worker

    def _driver(self, side: Side, sb: Sandbox, journal: Path, name: str) -> Child:
        env = side.env(sb.url, journal)
        return Child.start([sys.executable, str(HERE / "drive.py")], env,
                           self.work / f"{name}.stderr", cwd=self.work, stdin=True)

    @staticmethod
    def _tick(proc: Child) -> dict[str, Any]:
        import json

        proc.send("tick")
        line = proc.readline()
        return dict(json.loads(line)) if line else {"ok": False, "error": "the worker died"}

    def _drain(self, proc: Child, label: str) -> tuple[list[dict[str, Any]], float]:
        """Ticks until one finds nothing to do (that one not counted); the wall clock of the
        first tick's start."""
        ticks: list[dict[str, Any]] = []
        started = time.time()
        for _ in range(20):
            out = self._tick(proc)
            if not out.get("ok"):
                self.problem(f"{label}: tick failed: {out.get('error')}")
                break
            if ticks and not any(out.get(k) for k in ("new", "events", "emails", "cells")):
                break
            ticks.append(out)
        return ticks, started

    # ---- backlog

    def backlog(self, sb: Sandbox, side: Side, n: int) -> None:
        f = self.figs[side.label]
        sb.reset()
        journal = self.work / f"backlog-{n}.sqlite3"
        _remove_journal(journal)
        proc = self._driver(side, sb, journal, f"backlog-{n}")
        try:
            warm = self._tick(proc)
            if not warm.get("ok"):
                self.problem(f"{side.label} backlog {n}: warm-up tick failed: {warm.get('error')}")
            base = datetime.now(TZ) - timedelta(seconds=n + 1)
            for j in range(1, n + 1):
                sb.submit(j, base + timedelta(seconds=j))
            ticks, started = self._drain(proc, f"{side.label} backlog {n}")
            proc.send("quit")
        finally:
            proc.finish()
        state = sb.state()
        events, mails = _events_and_mails(state)
        if len(events) != n or len(mails) != n:
            self.problem(f"{side.label} backlog {n}: {len(events)} events and {len(mails)} "
                         f"e-mails for {n} rows")
        f.add(f"cpu {n}", sum(t.get("cpu_s", 0.0) for t in ticks))
        f.add(f"wall {n}", sum(t.get("wall_s", 0.0) for t in ticks))
        f.add(f"hwm {n}", max((t.get("hwm", 0) for t in ticks), default=0))
        f.add(f"ticks {n}", len(ticks))
        from_start = sorted(sent - started for sent in mails.values())
        gaps = [mails[p] - events[p] for p in mails if p in events]
        if from_start:
            f.add(f"latency max {n}", from_start[-1])
            f.add(f"latency median {n}", statistics.median(from_start))
        if gaps:
            f.add(f"gap max {n}", max(gaps))

    # ---- throttling

    def throttle(self, sb: Sandbox, side: Side) -> None:
        f = self.figs[side.label]
        sb.reset()
        sb.call("POST", "/_sandbox/config", {
            "quota": True, "quota_limits": {"gmail_units_per_user": THROTTLE_SENDS * 100}})
        journal = self.work / "throttle.sqlite3"
        _remove_journal(journal)
        proc = self._driver(side, sb, journal, "throttle")
        try:
            self._tick(proc)
            start = len(sb.state()["requests"])
            base = datetime.now(TZ) - timedelta(seconds=THROTTLE_ROWS + 1)
            for j in range(1, THROTTLE_ROWS + 1):
                sb.submit(j, base + timedelta(seconds=j))
            out = self._tick(proc)
            proc.send("quit")
        finally:
            proc.finish()
        if not out.get("ok"):
            self.problem(f"{side.label} throttle: tick failed: {out.get('error')}")
        log = sb.state()["requests"][start:]
        sends = [e for e in log if e.get("method") == "gmail.users.messages.send"]
        first = next((i for i, e in enumerate(sends) if int(e["status"]) == 429), None)
        f.add("sends after 429", 0 if first is None else len(sends) - first - 1)
        f.add("sends ok", sum(1 for e in sends if 200 <= int(e["status"]) < 300))

    # ---- 50,000 rows

    def big(self, side: Side) -> None:
        f = self.figs[side.label]
        folder = self.work / f"big-{side.label.split()[0]}"
        folder.mkdir(parents=True, exist_ok=True)
        build = (
            "import sys; from pathlib import Path; from datetime import datetime\n"
            f"sys.path.insert(0, {str(side.root / 'bench')!r})\n"
            "import common\n"
            f"common.build_processed({BIG}, Path({str(folder)!r}), datetime.now(common.TZ))\n"
        )
        env = {**os.environ, "PYTHONPATH": str(side.root), "PYTHONDONTWRITEBYTECODE": "1"}
        subprocess.run([sys.executable, "-c", build], check=True, env=env, cwd=folder)
        csv_path, template = folder / f"processed-{BIG}.csv", folder / f"journal-{BIG}.sqlite3"
        with Sandbox(csv_path, folder / "sandbox.log") as sb:
            for rep in range(self.reps):
                sb.reset()
                journal = common.fresh_journal(template, folder / "first-run.sqlite3")
                code, _, peak = run_script(
                    BALCAO, ["run", "--once", "-c", str(side.config)], side.env(sb.url, journal),
                    folder / "first-run.stderr", cwd=folder,
                )
                if code != 0:
                    self.problem(f"{side.label} first run on {BIG:,} rows: exit {code}")
                f.add("first run rss", peak)
                if rep == 0:
                    primed = folder / "primed.sqlite3"
                    _remove_journal(primed)
                    shutil.copyfile(journal, primed)
            for _ in range(self.reps):
                self._daemon(sb, side, folder)

    def _daemon(self, sb: Sandbox, side: Side, folder: Path) -> None:
        f = self.figs[side.label]
        sb.reset()
        journal = common.fresh_journal(folder / "primed.sqlite3", folder / "daemon.sqlite3")
        proc = self._driver(side, sb, journal, "daemon")
        try:
            idle = self._tick(proc)
            base = datetime.now(TZ) - timedelta(seconds=11)
            for j in range(1, 11):
                sb.submit(j, base + timedelta(seconds=j))
            working = self._tick(proc)
            after = self._tick(proc)
            proc.send("quit")
        finally:
            proc.finish()
        for name, out in (("idle", idle), ("working", working), ("after", after)):
            if not out.get("ok"):
                self.problem(f"{side.label} daemon {name} tick failed: {out.get('error')}")
        if working.get("emails") != 10:
            self.problem(f"{side.label} daemon: the working tick sent {working.get('emails')}")
        for name, out in (("first", idle), ("last", after)):
            if out.get("new") or out.get("events") or out.get("emails") or out.get("cells"):
                self.problem(f"{side.label} daemon: its {name} tick was not idle ({out}): the "
                             "built sheet and journal disagree")
        f.add("daemon rss idle", idle.get("rss", 0))
        f.add("daemon hwm working", working.get("hwm", 0))
        f.add("daemon rss after", max(working.get("rss", 0), after.get("rss", 0)))

    # ---- start-up

    def startup(self) -> None:
        """Each command on both sides in turn, so a busy machine slows both alike."""
        stamps = ["2028-02-25T11:00", "25/02/2028 11:00", "2028-02-25T14:00:00Z"]
        for name in ("deadline", "help"):
            for rep in range(max(self.reps, 5) + 1):
                for side in self.sides:
                    args = ["deadline", *stamps, "-c", str(side.config)] if name == "deadline" \
                        else ["--help"]
                    # Installed code has its bytecode compiled: the first run writes it.
                    env = {k: v for k, v in side.env("http://127.0.0.1:9", self.work / "x").items()
                           if k != "PYTHONDONTWRITEBYTECODE"}
                    code, wall, cpu, peak = timed(BALCAO, args, env, self.work / f"{name}.stderr",
                                                  self.work)
                    if code != 0:
                        self.problem(f"{side.label} `balcao {name}`: exit {code}")
                    if rep:
                        f = self.figs[side.label]
                        f.add(f"{name} wall", wall)
                        f.add(f"{name} cpu", cpu)
                        f.add(f"{name} rss", peak)


BALCAO = Path(sys.executable).with_name("balcao")


def timed(script: Path, args: list[str], env: dict[str, str], stderr: Path,
          cwd: Path) -> tuple[int, float, float, int]:
    """Run a console script in a fresh interpreter: (exit code, wall seconds, CPU seconds of
    the process, its peak RSS in bytes). CPU time is much less sensitive to a busy machine."""
    peak_file = stderr.with_suffix(".peak")
    peak_file.unlink(missing_ok=True)
    argv = [sys.executable, "-c", common._PEAK_PRELUDE, str(script), *args]
    started = time.perf_counter()
    with stderr.open("w") as err:
        proc = subprocess.Popen(argv, cwd=cwd, env={**env, "BENCH_PEAK_FILE": str(peak_file)},
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        peak = int(peak_file.read_text()) * 1024
    except (OSError, ValueError):
        peak = 0
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, peak


def _remove_journal(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.lock")):
        p.unlink(missing_ok=True)


def _events_and_mails(state: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Per protocol: when its event was created, and the Date of its confirmation e-mail."""
    events: dict[str, float] = {}
    for cal in state["calendars"].values():
        for ev in cal["events"]:
            protocol = ev.get("extendedProperties", {}).get("private", {}).get("balcaoProtocol")
            if protocol:
                events[protocol] = datetime.fromisoformat(ev["created"]).timestamp()
    mails: dict[str, float] = {}
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    for box in state["gmail"].values():
        for m in box["messages"]:
            raw = base64.urlsafe_b64decode(m["raw"] + "=" * (-len(m["raw"]) % 4))
            head = parser.parsebytes(raw)
            subject = str(head["Subject"])
            protocol = next((w for w in subject.split() if w.startswith("BV-")), "")
            mails[protocol] = email.utils.parsedate_to_datetime(str(head["Date"])).timestamp()
    return events, mails


# --------------------------------------------------------------------------- the report


@dataclass
class Goal:
    goal: str
    figure: str
    key: str
    kind: str  # "s", "MiB" or "n"
    target: str
    check: Callable[[float, float], bool | None]  # (turn-1, now) -> met?


def _fmt(v: float, kind: str) -> str:
    if v != v:
        return "-"
    if kind == "n":
        return f"{v:,.0f}"
    if kind == "MiB":
        return fmt_value(v, "MiB")
    return fmt_value(v, "s")


def _ratio(then: float, now: float) -> float:
    return now / then if then and then == then and now == now else float("nan")


def report(g: Goals) -> str:
    then, now = (g.figs[s.label] for s in g.sides)
    small, large = BACKLOGS
    scale = {s.label: _ratio(g.figs[s.label].median(f"cpu {small}"),
                             g.figs[s.label].median(f"cpu {large}")) for s in g.sides}
    goals = [
        Goal("CPU per request", f"balcao CPU, {small}-row backlog tick", f"cpu {small}", "s",
             "<= 0.60x", lambda a, b: _ratio(a, b) <= 0.60),
        Goal("", f"balcao CPU, {large}-row backlog tick", f"cpu {large}", "s", "", lambda a, b: None),
        Goal("", "wall time of those ticks", f"wall {small}", "s", "", lambda a, b: None),
        Goal("Memory", f"peak RSS, {small}-row backlog tick", f"hwm {small}", "MiB", "<= 0.85x",
             lambda a, b: _ratio(a, b) <= 0.85),
        Goal("", f"{BIG:,}-row daemon RSS after a working tick", "daemon rss after", "MiB",
             "<= 80 MiB", lambda a, b: b <= 80 * 2**20),
        Goal("", "  same daemon, RSS after its idle first tick", "daemon rss idle", "MiB", "",
             lambda a, b: None),
        Goal("", "  same daemon, peak RSS of the working tick", "daemon hwm working", "MiB", "",
             lambda a, b: None),
        Goal("", f"first run on a {BIG:,}-row sheet, peak RSS", "first run rss", "MiB",
             "<= 120 MiB", lambda a, b: b <= 120 * 2**20),
        Goal("No send after a 429", f"sends attempted after Gmail's first 429 ({THROTTLE_ROWS} "
             f"rows, room for {THROTTLE_SENDS})", "sends after 429", "n", "0",
             lambda a, b: b == 0),
        Goal("Confirmation latency", f"tick start -> confirmation, median ({small} rows)",
             f"latency median {small}", "s", "", lambda a, b: None),
        Goal("", f"tick start -> confirmation, worst ({small} rows)", f"latency max {small}", "s",
             "", lambda a, b: None),
        Goal("", "own booking -> own confirmation, worst (1 s resolution)", f"gap max {small}",
             "s", "<= 2 s", lambda a, b: b <= 2.0),
        Goal("Start-up", "`balcao deadline` (3 timestamps), wall", "deadline wall", "s",
             "<= 120 ms", lambda a, b: b <= 0.120),
        Goal("", "  the same, CPU time of the process", "deadline cpu", "s", "", lambda a, b: None),
        Goal("", "`balcao --help`, wall", "help wall", "s", "<= 60 ms", lambda a, b: b <= 0.060),
        Goal("", "  the same, CPU time of the process", "help cpu", "s", "", lambda a, b: None),
        Goal("", "`balcao deadline`, peak RSS", "deadline rss", "MiB", "", lambda a, b: None),
    ]
    header = ["goal", "figure", g.sides[0].label, g.sides[1].label, "now/turn-1", "target",
              "verdict"]
    rows: list[list[str]] = []
    for goal in goals:
        a, b = then.median(goal.key), now.median(goal.key)
        if a != a and b != b:
            continue
        ok = goal.check(a, b) if b == b else None
        verdict = "" if ok is None else "MET" if ok else "MISS"
        r = _ratio(a, b)
        rows.append([goal.goal, goal.figure, _fmt(a, goal.kind), _fmt(b, goal.kind),
                     "-" if r != r else f"{r:.2f}x", goal.target, verdict])
    a, b = (scale[s.label] for s in g.sides)
    if b == b:
        rows.insert(2, ["", f"CPU scaling {large}/{small} rows", f"{a:.2f}x", f"{b:.2f}x", "",
                        "<= 4.6x", "MET" if b <= 4.6 else "MISS"])
    return (f"Issue 18 goals: median of {g.reps} runs (start-up: of {max(g.reps, 5)}); CPU is "
            "the worker process's user+sys time, the sandbox excluded.\n" + table(rows, header))


# --------------------------------------------------------------------------- main


def worktree(ref: str, work: Path) -> Path:
    path = work / f"turn1-{ref}"
    subprocess.run(["git", "-C", str(common.REPO), "worktree", "add", "--detach", "-q", str(path),
                    ref], check=True)
    return path


def remove_worktree(path: Path) -> None:
    subprocess.run(["git", "-C", str(common.REPO), "worktree", "remove", "--force", str(path)],
                   check=False)


def run_goals(reps: int, ref: str, skip_big: bool, work: Path | None = None) -> tuple[str, bool]:
    work = work or Path(tempfile.mkdtemp(prefix="balcao-goals-"))
    tree = worktree(ref, work)
    sides = [Side(f"turn-1 ({ref})", tree), Side("now", common.REPO)]
    g = Goals(work, reps, sides)
    print(f"issue 18 goals: {ref} in {tree} against {common.REPO}; scratch in {work}", flush=True)
    try:
        empty = work / "empty.csv"
        empty.write_text(",".join(common.FORM_TITLES) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        g.startup()
        print(f"  start-up: {time.perf_counter() - t0:.0f} s", flush=True)
        with Sandbox(empty, work / "sandbox-empty.log") as sb:
            for _ in range(reps):  # the sides take turns, so a busy machine slows both alike
                for side in sides:
                    t0 = time.perf_counter()
                    for n in BACKLOGS:
                        g.backlog(sb, side, n)
                    g.throttle(sb, side)
                    print(f"  backlogs and throttling, {side.label}: "
                          f"{time.perf_counter() - t0:.0f} s", flush=True)
        for side in sides if not skip_big else ():
            t0 = time.perf_counter()
            g.big(side)
            print(f"  {BIG:,} rows, {side.label}: {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        remove_worktree(tree)
    return report(g), not g.problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=3, help="runs per figure (default 3)")
    p.add_argument("--ref", default=REF, help=f"the earlier commit to compare with ({REF})")
    p.add_argument("--skip-50k", action="store_true", help="leave out the 50,000-row figures")
    args = p.parse_args(argv)
    text, ok = run_goals(args.reps, args.ref, args.skip_50k)
    print("\n" + text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
