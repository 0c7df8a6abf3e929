"""Shared helpers of the benchmarks: scenario data, the sandbox subprocess, child processes
measured with ``wait4``, the request log, statistics and the plain-text table.

Nothing here talks to a real Google host: every URL is the local sandbox's.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from worker.intake import OWNED_COLUMNS
from worker.model import ColumnTitles

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config.yaml"
SPREADSHEET_ID = "sandbox-sheet"
WORKSHEET = "Respostas ao formulário 1"
TZ = ZoneInfo("America/Bahia")

FORM_TITLES = ColumnTitles().titles()
OWNED_TITLES = list(OWNED_COLUMNS)
MEET = "Google Meet"
WHATSAPP = "Ligação de vídeo pelo WhatsApp"
PERIODS = ["Manhã (08h às 12h)", "Tarde (12h às 17h)", "Sem preferência"]
SERVICES = ["Procuração", "Reconhecimento de firma", "Escritura pública", "Ata notarial"]
# Three attendants: enough free slots inside ONE free/busy window (56 days < the adapter's
# 60-day chunk) for the 1,000-row backlog at 12 slots per attendant and day.
CALENDARS = [
    "atendente1@cartorio.example",
    "atendente2@cartorio.example",
    "atendente3@cartorio.example",
]

# Sheets and Calendar methods that only read (bytes "read" are their response bodies).
READ_METHODS = frozenset({
    "sheets.spreadsheets.get",
    "sheets.spreadsheets.values.get",
    "sheets.spreadsheets.values.batchGet",
    "sheets.spreadsheets.getByDataFilter",
    "sheets.spreadsheets.values.batchGetByDataFilter",
    "calendar.freebusy.query",
    "calendar.events.get",
    "calendar.events.list",
    "gmail.users.messages.get",
    "gmail.users.messages.list",
})
WRITE_SHEET_METHODS = frozenset({
    "sheets.spreadsheets.values.update",
    "sheets.spreadsheets.values.batchUpdate",
    "sheets.spreadsheets.values.append",
    "sheets.spreadsheets.batchUpdate",
    "sheets.spreadsheets.values.clear",
    "sheets.spreadsheets.values.batchClear",
})


def bench_env(url: str, journal: Path, *, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every worker process: the sandbox endpoint, the journal, and the
    scheduling/mail keys that let one tick book everything (the daily cap above the backlog)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("BALCAO_CRASH_AT", None)
    env.update({
        "BALCAO__GOOGLE__API_ENDPOINT": url,
        "BALCAO__GOOGLE__CREDENTIALS_FILE": "",
        "BALCAO__FORM__SPREADSHEET_ID": SPREADSHEET_ID,
        "BALCAO__JOURNAL__PATH": str(journal),
        "BALCAO__SCHEDULING__CALENDARS": "[" + ", ".join(CALENDARS) + "]",
        "BALCAO__SCHEDULING__HORIZON_DAYS": "56",
        "BALCAO__SCHEDULING__MAX_PER_DAY": "12",
        "BALCAO__SCHEDULING__MEET_POLL_DELAY_SECONDS": "0.01",
        "BALCAO__MAIL__DAILY_LIMIT": "5000",
        # The prebuilt sheets span two years: measure ticks, not a retention sweep of the
        # older year.
        "BALCAO__PRIVACY__RETENTION_DAYS": "1000",
        "BALCAO__LOG__LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------- scenario data


def new_answers(j: int) -> dict[str, str]:
    """The form answers of the j-th new citizen (unique e-mail and name: no duplicates, no
    per-address limit)."""
    return {
        "Endereço de e-mail": f"cidadao{j}@example.com",
        "Nome completo": f"Cidadã Teste {j}",
        "Telefone com DDD (WhatsApp)": f"(71) 98{j % 1000:03d}-{j % 10000:04d}",
        "Como prefere ser atendido?": MEET if j % 2 == 0 else WHATSAPP,
        "Serviço": SERVICES[j % len(SERVICES)],
        "Assunto do atendimento": f"Dúvida sobre {SERVICES[j % len(SERVICES)].lower()} ({j})",
        "Período de preferência": PERIODS[j % len(PERIODS)],
        "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
    }


@dataclass
class ProcessedSheet:
    csv_path: Path
    journal_path: Path
    n: int


def build_processed(n: int, folder: Path, now: datetime) -> ProcessedSheet:
    """A response sheet of ``n`` rows balcao already handled (protocol, `Agendado`, dates,
    link) and a journal that knows each of them (same protocol and timestamp key, event and
    confirmation done, cursor past the last row), written directly: no Google call."""
    from worker import identity
    from worker.journal import Journal, RequestRecord
    from worker.sandbox import serial

    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"processed-{n}.csv"
    journal_path = folder / f"journal-{n}.sqlite3"
    for p in (journal_path, Path(f"{journal_path}-wal"), Path(f"{journal_path}-shm")):
        p.unlink(missing_ok=True)
    # Within the year privacy.retention_days keeps (365 by default): an office's older rows
    # were erased by the daily purge long ago, and a first run must not start with a purge.
    start = (now - timedelta(days=330)).replace(microsecond=0)
    step = max(1, int(timedelta(days=320).total_seconds() // max(n, 1)))
    records: list[RequestRecord] = []
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*FORM_TITLES, *OWNED_TITLES])
        for i in range(n):
            local = (start + timedelta(seconds=i * step + 7)).astimezone(TZ).replace(tzinfo=None)
            a = new_answers(-(i + 1))
            a["Endereço de e-mail"] = f"antigo{i}@example.com"
            a["Nome completo"] = f"Pessoa Atendida {i}"
            protocol = identity.protocol_for(local.year, i + 1)
            slot = local + timedelta(days=1)
            # With seconds, as the journal has them: the sandbox loads these cells as the
            # serial numbers balcao writes, equal to what the journal remembers.
            text = "{:%d/%m/%Y %H:%M:%S}"
            meet = a["Como prefere ser atendido?"] == MEET
            w.writerow([
                f"{local:%d/%m/%Y %H:%M:%S}", *(a[t] for t in FORM_TITLES[1:]),
                protocol, "Agendado", text.format(slot), text.format(slot),
                "https://meet.google.com/abc-defg-hij" if meet else "WhatsApp",
                text.format(local), "",
            ])
            aware = local.replace(tzinfo=TZ)
            key = identity.ts_key(json.loads(json.dumps(serial.to_serial(local))))
            records.append(RequestRecord(
                protocol=protocol, seq=i + 1, fingerprint=f"bench-{i}",
                submitted=aware.isoformat(), ts_key=key, received_at=aware.isoformat(),
                deadline=(aware + timedelta(days=1)).isoformat(), status="Agendado",
                email=a["Endereço de e-mail"], name=a["Nome completo"], channel="meet" if meet else "whatsapp",
                period="any", calendar_id=CALENDARS[0], event_id=f"bench{i}",
                slot_start=(aware + timedelta(days=1)).isoformat(),
                slot_end=(aware + timedelta(days=1, minutes=30)).isoformat(),
                event_state="created", ack_state="", conf_state="sent", conf_revision=0,
                answered_at=aware.isoformat(),
                in_sheet=1, written="bench", updated_at=aware.isoformat(),
            ))
    journal = Journal(str(journal_path))
    with journal.tx():
        for rec in records:
            journal.insert(rec)
        journal.set_cursor(n + 1)
    journal.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.close()
    return ProcessedSheet(csv_path, journal_path, n)


def fresh_journal(template: Path, dest: Path) -> Path:
    """A copy of the prebuilt journal whose heartbeat was just written (the measured ticks are
    between two heartbeats, as nine ticks in ten are at the default 60 s / 10 min)."""
    for p in (dest, Path(f"{dest}-wal"), Path(f"{dest}-shm"), Path(f"{dest}.lock")):
        p.unlink(missing_ok=True)
    shutil.copyfile(template, dest)
    mark_heartbeat(dest)
    return dest


def mark_heartbeat(journal: Path) -> None:
    """Record a heartbeat tab write as of now in the journal (the next is 10 minutes away)."""
    db = sqlite3.connect(journal)
    with db:
        db.execute(
            "INSERT INTO meta(key, value) VALUES('heartbeat_at', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (datetime.now(TZ).isoformat(),),
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


# --------------------------------------------------------------------------- the sandbox


class Sandbox:
    """`balcao sandbox --port 0 --responses FILE.csv` in its own process."""

    def __init__(self, responses: Path, log: Path) -> None:
        self._log = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "sandbox", "--port", "0", "--responses", str(responses)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=self._log, text=True,
            env=bench_env("", Path("unused")),
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the sandbox did not start (see {log})")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with self._opener.open(req, timeout=300) as resp:
            return json.loads(resp.read() or b"null")

    def reset(self) -> None:
        self.call("POST", "/_sandbox/reset", {})

    def state(self) -> dict[str, Any]:
        return dict(self.call("GET", "/_sandbox/state"))

    def submit(self, j: int, at: datetime) -> None:
        self.call("POST", "/_sandbox/form/submit", {"answers": new_answers(j), "at": at.isoformat()})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- child processes


def reset_peak_rss() -> None:
    """Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM to the current RSS."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss() -> int:
    """This process's VmHWM in bytes (0 without /proc).

    Not ``ru_maxrss`` of a child from ``wait4``: Linux carries the parent's peak into the
    child's at fork/exec, so a child of a big parent would report the parent's size."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


# Runs a script as its console entry point would (sys.argv, __main__), then writes its
# VmHWM at exit: the whole-process peak RSS of that command.
_PEAK_PRELUDE = (
    "import atexit, os, runpy, sys\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            open(os.environ['BENCH_PEAK_FILE'], 'w').write(line.split()[1])\n"
    "atexit.register(_peak)\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


@dataclass
class Child:
    proc: subprocess.Popen[str]
    started: float
    stderr: TextIO

    @classmethod
    def start(cls, argv: Sequence[str], env: dict[str, str], stderr_path: Path, *,
              cwd: Path = REPO, stdin: bool = False) -> Child:
        err = stderr_path.open("w", encoding="utf-8")
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, text=True, stderr=err, stdout=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        )
        return cls(proc, started, err)

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self) -> tuple[int, float, str]:
        """(exit code, wall seconds since start, remaining stdout)."""
        rest = self.proc.stdout.read() if self.proc.stdout else ""
        code = self.proc.wait()
        wall = time.perf_counter() - self.started
        self.stderr.close()
        return code, wall, rest


def run_script(script: Path, args: Sequence[str], env: dict[str, str], stderr_path: Path,
               cwd: Path = REPO) -> tuple[int, float, int]:
    """Run ``script args...`` (a console script or a .py file) in a fresh interpreter:
    (exit code, wall seconds, peak RSS in bytes)."""
    peak_file = stderr_path.with_suffix(".peak")
    peak_file.unlink(missing_ok=True)
    env = {**env, "BENCH_PEAK_FILE": str(peak_file)}
    argv = [sys.executable, "-c", _PEAK_PRELUDE, str(script), *args]
    code, wall, _ = Child.start(argv, env, stderr_path, cwd=cwd).finish()
    try:
        peak = int(peak_file.read_text()) * 1024
    except (OSError, ValueError):
        peak = 0
    return code, wall, peak


# --------------------------------------------------------------------------- the request log


@dataclass
class LogSlice:
    entries: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return len(self.entries)

    def by_method(self) -> Counter[str]:
        return Counter(short_method(e) for e in self.entries)

    @property
    def read_bytes(self) -> int:
        return sum(int(e["bytes"]) for e in self.entries if e.get("method") in READ_METHODS)

    def count(self, *methods: str) -> int:
        return sum(1 for e in self.entries if e.get("method") in methods)

    @property
    def sheet_writes(self) -> int:
        return self.count(*WRITE_SHEET_METHODS)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if not 200 <= int(e["status"]) < 300]


def short_method(entry: dict[str, Any]) -> str:
    """`sheets.spreadsheets.values.batchGet` → `sheets values.batchGet`."""
    method = str(entry.get("method") or entry.get("path"))
    api, _, rest = method.partition(".")
    if rest.startswith("spreadsheets.values."):
        rest = rest[len("spreadsheets."):]
    elif rest.startswith("users."):
        rest = rest[len("users."):]
    return f"{api} {rest}"


# --------------------------------------------------------------------------- statistics


@dataclass
class Series:
    values: list[float] = field(default_factory=list)

    def add(self, v: float) -> None:
        self.values.append(v)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def n(self) -> int:
        return len(self.values)


def _unit(v: float, kind: str) -> tuple[float, str]:
    if kind == "s":
        return (1000.0, "ms") if v < 1 else (1.0, "s")
    if kind == "B":
        if v < 1024:
            return 1.0, "B"
        return (1 / 1024, "KiB") if v < 1024 * 1024 else (1 / 1024 / 1024, "MiB")
    return 1 / 1024 / 1024, "MiB"


def fmt_value(v: float, kind: str) -> str:
    if v != v:  # NaN
        return "-"
    scale, unit = _unit(v, kind)
    x = v * scale
    return f"{x:,.0f} {unit}" if x >= 100 or unit in ("B", "ms") else f"{x:.1f} {unit}"


def fmt_series(s: Series, kind: str) -> str:
    """``median [min–max] unit``, min and max in the median's unit; one value → just it."""
    if not s.values:
        return "-"
    if len(set(s.values)) == 1:
        return fmt_value(s.values[0], kind)
    scale, unit = _unit(s.median, kind)
    lo, hi, med = (x * scale for x in (min(s.values), max(s.values), s.median))
    digits = 0 if med >= 100 or unit in ("B", "ms") else 1 if med >= 10 else 2
    return f"{med:,.{digits}f} [{lo:,.{digits}f}–{hi:,.{digits}f}] {unit}"


def ratio(naive: float, balcao: float) -> str:
    if balcao != balcao or naive != naive:
        return "-"
    if balcao == 0:
        return "-" if naive else "1.0×"
    r = naive / balcao
    return f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×"


def table(rows: Iterable[Sequence[str]], header: Sequence[str]) -> str:
    """Plain text, columns aligned; a row of one empty string is a separator."""
    rows = [list(r) for r in rows]
    widths = [len(h) for h in header]
    for r in rows:
        if len(r) == len(header):
            widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), line]
    for r in rows:
        if len(r) != len(header):
            out.append(line)
            continue
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(out)
