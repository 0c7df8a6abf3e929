"""Soak run (``make soak``, not part of ``make test``): 2,000 ticks against the sandbox with random
submissions, respondent edits, staff actions (sort, insert column, delete row, type, delete an
event) and faults (429/503 storms, lost answers, dropped connections, a refused scope, crashes
at the named crash points); prints RSS at start and end, requests processed, duplicates and lost
requests.

The sandbox runs in its own process (``balcao sandbox``), so the RSS measured is balcao's. Time
is driven by hand: ``run_once(deps, now)`` with ``now`` moving 5 minutes per tick, so 2,000 ticks
cover about a week of office time in a few minutes. A crash is emulated in-process at a named
crash point: the journal connection is dropped without a commit (like SIGKILL, nothing of the
open transaction survives and no ``finally`` can write), then the worker is rebuilt from disk.

    .venv/bin/python bench/soak.py [--ticks 2000] [--seed 6] [--no-faults]
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import gc
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from worker import bootstrap, config, crashpoints  # noqa: E402
from worker.adapters.a1 import col_letter  # noqa: E402
from worker.journal import Journal  # noqa: E402
from worker.retry import Retrier, RetryPolicy  # noqa: E402
from worker.tick import Deps, run_once  # noqa: E402

TZ = ZoneInfo("America/Bahia")
SHEET = "sandbox-sheet"
TAB = "Respostas ao formulário 1"
HEADER = [
    "Carimbo de data/hora", "Endereço de e-mail", "Nome completo", "Telefone com DDD (WhatsApp)",
    "Como prefere ser atendido?", "Serviço", "Assunto do atendimento", "Período de preferência",
    "Declaro que li e concordo com a política de privacidade",
]
PERIODS = ["Manhã (08h às 12h)", "Tarde (12h às 17h)", "Sem preferência"]
OUR_ID = re.compile(r"<(bv-\d{4}-\d{6,})\.([a-z][a-z0-9-]*)\.r(\d+)(?:\.[a-z0-9]+)*@", re.I)
PROTOCOL = re.compile(r"^BV-\d{4}-\d{6,}$")
STATUSES = {"Recebido", "Agendado", "Requer atenção", "Duplicado", "Pendente", "Cancelado",
            "Realizado", "Não compareceu"}


def rss_mb() -> float:
    """Resident set size now, after a full garbage collection (ticks leave reference cycles,
    e.g. exceptions with their frames, that Python frees at its own pace)."""
    gc.collect()
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20




class SimulatedCrash(BaseException):
    """A kill -9 at a named crash point (BaseException: no ``except Exception`` catches it)."""


class Sandbox:
    def __init__(self, workdir: Path) -> None:
        csv = workdir / "responses.csv"
        csv.write_text(",".join(HEADER) + "\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "sandbox", "--port", "0", "--responses", str(csv)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with self._opener.open(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Soak:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = workdir
        self.sb = Sandbox(workdir)
        self.sb.call("POST", "/_sandbox/config", {"rewrite_message_id": True})
        self.settings = config.load(REPO / "config.yaml", environ={
            "BALCAO__GOOGLE__API_ENDPOINT": self.sb.url,
            "BALCAO__GOOGLE__CREDENTIALS_FILE": "",
            "BALCAO__GOOGLE__TIMEOUT_SECONDS": "10",
            "BALCAO__FORM__SPREADSHEET_ID": SHEET,
            "BALCAO__JOURNAL__PATH": str(workdir / "journal.sqlite3"),
            "BALCAO__MAIL__SENT_CHECK": "true",
            "BALCAO__MAIL__DAILY_LIMIT": "2000",
            "BALCAO__SCHEDULING__MEET_POLL_DELAY_SECONDS": "0",
            "BALCAO__SCHEDULING__MAX_PER_DAY": "12",
            "BALCAO__INTAKE__MAX_OPEN_PER_EMAIL": "50",
            "BALCAO__LOG__LEVEL": "ERROR",
        })
        self.now = datetime(2030, 3, 4, 7, 30, tzinfo=TZ)  # a Monday
        self.crash_at: str | None = None
        self.crashed = False
        self.deps: Deps | None = None
        self.journal: Journal | None = None
        self.counts: Counter[str] = Counter()
        self.submitted = 0
        self.deleted_names: set[str] = set()
        self._build()

    # ---- the worker, built (again after a crash) from what is on disk

    def _build(self) -> None:
        if self.journal is not None:
            self.journal.close()
        self.journal = Journal(self.settings.journal.path)
        deps = bootstrap.deps(self.settings, self.journal)
        r = self.settings.retry
        deps.retrier = Retrier(RetryPolicy(r.attempts, r.base_delay_seconds, r.max_delay_seconds),
                               deps.stop, sleep=lambda _s: False)  # backoff not waited for
        deps.crash = self._crash
        self.deps = deps

    def _crash(self, name: str) -> None:
        crashpoints.hit(name)  # keeps the name checked against POINTS
        if self.crash_at == name:
            self.crash_at = None
            self.crashed = True
            assert self.journal is not None
            self.journal.db.close()  # no commit, no finally can write: as after SIGKILL
            raise SimulatedCrash(name)

    def tick(self) -> None:
        assert self.deps is not None
        self.crashed = False
        try:
            report = run_once(self.deps, self.now, accept_backlog=True)
        except BaseException as exc:
            if self.crashed:
                # Dead at a crash point (a ``finally`` that tried the closed journal may have
                # replaced the SimulatedCrash by its own error): restart from disk.
                self.counts["crashes"] += 1
                self._build()
                return
            if not isinstance(exc, Exception):
                raise
            # A tick failing as a whole (storm, journal), as runner.tick reports it.
            self.counts[f"failed tick: {type(exc).__name__}"] += 1
            self.deps.state.info = None
            return
        if report.paused_reason:
            self.counts["paused ticks"] += 1
        elif not report.ok:
            self.counts["failed ticks"] += 1
        self.counts["reconcile reads"] += report.reconcile_requests

    # ---- what citizens, staff and Google do between ticks

    def submit(self) -> None:
        i = self.submitted
        self.submitted += 1
        wa = self.rng.random() < 0.3
        answers = {
            "Endereço de e-mail": f"soak{i}@example.com",
            "Nome completo": f"Cidadão Soak {i}",
            "Telefone com DDD (WhatsApp)": f"(71) 9{self.rng.randrange(1000, 9999)}-{self.rng.randrange(1000, 9999)}",
            "Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp" if wa else "Google Meet",
            "Serviço": self.rng.choice(["Escritura", "Procuração", "Certidão"]),
            "Assunto do atendimento": "Atendimento de teste",
            "Período de preferência": self.rng.choice(PERIODS),
            "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
        }
        if self.rng.random() < 0.05:
            answers["Endereço de e-mail"] = "sem-arroba"  # an invalid row: flagged
        at = self.now - timedelta(seconds=self.rng.randrange(0, 240))
        self.sb.call("POST", "/_sandbox/form/submit", {"answers": answers, "at": at.isoformat()})

    def grid(self) -> list[list[Any]]:
        """The sheet as staff see it, read through the Sheets API (not the sandbox's whole
        state, whose size grows with the run and would inflate this process's RSS)."""
        assert self.deps is not None
        info = self.deps.sheet.info()
        last = col_letter(info.column_count)
        return [list(r) for r in self.deps.sheet.read([f"A1:{last}{info.row_count}"])[0]]

    def staff(self) -> None:
        from worker.model import AdapterError

        try:
            self._staff()
        except AdapterError:  # an injected fault hit the staff's own read: they try later
            self.counts["staff action skipped"] += 1

    def _staff(self) -> None:
        rng = self.rng
        grid = self.grid()
        data_rows = [r for r in range(2, len(grid) + 1) if any(c not in ("", None) for c in grid[r - 1])]
        action = rng.choice(["sort", "insert", "delete", "type", "edit", "delete_event", "choose"])
        self.counts[f"staff {action}"] += 1
        if self.args.verbose:
            print(f"  {self.now:%m-%d %H:%M} staff {action}")
        if action == "sort":
            self.sb.call("POST", "/_sandbox/sheet/sort", {
                "column": rng.choice(["Nome completo", "Carimbo de data/hora", "Situação"]),
                "descending": rng.random() < 0.5,
                **({"when": "before_next_write"} if rng.random() < 0.3 else {}),
            })
        elif action == "insert":
            self.sb.call("POST", "/_sandbox/sheet/insert_column", {
                "index": rng.randrange(2, len(grid[0]) + 1), "title": f"Anotação {self.counts['staff insert']}",
            })
        elif action == "delete" and data_rows and rng.random() < 0.3:
            r = rng.choice(data_rows)
            self.deleted_names.add(str(grid[r - 1][grid[0].index("Nome completo")]))
            self.sb.call("POST", "/_sandbox/sheet/delete_row", {"row": r})
        elif action == "type" and data_rows:
            header = grid[0]
            staff_cols = [str(t) for t in header if str(t).startswith("Anotação")]
            if staff_cols:
                self.sb.call("POST", "/_sandbox/sheet/type", {
                    "row": rng.choice(data_rows), "column": rng.choice(staff_cols), "text": "ligar amanhã",
                })
        elif action == "choose" and data_rows:
            # A staff choice in `Situação` (DESIGN §7), typed as a person would.
            self.sb.call("POST", "/_sandbox/sheet/type", {
                "row": rng.choice(data_rows), "column": "Situação",
                "text": rng.choice(["Cancelar", "Remarcar", "Realizado", "remarcar "]),
            })
        elif action == "edit" and data_rows:
            self.sb.call("POST", "/_sandbox/form/edit", {
                "row": rng.choice(data_rows), "answers": {"Assunto do atendimento": "Mudei de ideia"},
                "at": self.now.isoformat(),
            })
        elif action == "delete_event" and data_rows:
            assert self.deps is not None
            protocol = str(grid[rng.choice(data_rows) - 1][grid[0].index("Protocolo")] or "")
            events = [e for e in self.deps.calendar.find_events("primary", protocol)
                      if e.status != "cancelled"] if protocol else []
            if events:
                ev = {"id": events[0].event_id}
                req = urllib.request.Request(
                    f"{self.sb.url}/calendar/v3/calendars/primary/events/{ev['id']}", method="DELETE",
                    headers={"Authorization": "Bearer staff"})
                self.sb._opener.open(req, timeout=10).read()

    def fault(self) -> None:
        rng = self.rng
        kind = rng.choice(["429 read", "503 read storm", "lost insert", "dropped insert",
                           "lost send", "dropped write", "lost write", "scope refused", "crash"])
        self.counts[f"fault {kind}"] += 1
        if self.args.verbose:
            print(f"  {self.now:%m-%d %H:%M} fault {kind}")
        f = {"times": 1}
        if kind == "429 read":
            f |= {"path_regex": "/values:batchGet$", "status": 429, "times": rng.randrange(1, 4),
                  "headers": {"Retry-After": "0"}}
        elif kind == "503 read storm":
            f |= {"path_regex": "/values:batchGet$", "status": 503, "times": 12}
        elif kind == "lost insert":
            f |= {"path_regex": "/calendars/[^/]+/events$", "method": "POST", "status": 500, "after_effect": True}
        elif kind == "dropped insert":
            f |= {"path_regex": "/calendars/[^/]+/events$", "method": "POST", "drop": True, "after_effect": True}
        elif kind == "lost send":
            f |= {"path_regex": "/messages/send$", "method": "POST", "drop": True, "after_effect": True}
        elif kind == "dropped write":
            f |= {"path_regex": "/values:batchUpdate$", "method": "POST", "drop": True, "after_effect": True}
        elif kind == "lost write":
            f |= {"path_regex": "/values:batchUpdate$", "method": "POST", "status": 500, "times": 6}
        elif kind == "scope refused":
            f |= {"path_regex": "/messages/send$", "method": "POST", "status": 403,
                  "reason": "insufficientPermissions", "times": 2}
        else:
            self.crash_at = rng.choice(crashpoints.POINTS)
            return
        self.sb.call("POST", "/_sandbox/faults", f)

    # ---- the run

    def run(self) -> int:
        rng = self.rng
        t0 = time.monotonic()
        # Warm up (imports, discovery documents, templates, the first bookings) before the
        # start figure; these ticks count in the total.
        warm = min(100, self.args.ticks)
        rss_start = 0.0
        for n in range(self.args.ticks):
            if n == warm:
                rss_start = rss_mb()
            self.now += timedelta(minutes=5)
            if rng.random() < 0.08:
                self.submit()
            if rng.random() < 0.02:
                self.staff()
            if not self.args.no_faults and rng.random() < 0.05:
                self.fault()
            self.tick()
            if (n + 1) % 500 == 0:
                print(f"  tick {n + 1}: rss {rss_mb():.1f} MB, {self.submitted} submitted, "
                      f"{time.monotonic() - t0:.0f}s", flush=True)
        # Quiesce: no more faults, an hour of ticks to settle everything open.
        self.sb.call("DELETE", "/_sandbox/faults")
        self.crash_at = None
        for _ in range(12):
            self.now += timedelta(minutes=5)
            self.tick()
        rss_end = rss_mb()
        wall = time.monotonic() - t0
        return self.report(rss_start, rss_end, wall)

    def report(self, rss_start: float, rss_end: float, wall: float) -> int:
        state = self.sb.call("GET", "/_sandbox/state")
        values = state["spreadsheets"][SHEET]["sheets"][TAB]["values"]
        header = values[0]
        pc, sc, nc = header.index("Protocolo"), header.index("Situação"), header.index("Nome completo")
        rows = [r + [""] * (len(header) - len(r)) for r in values[1:] if any(c not in ("", None) for c in r)]
        lost = 0
        present = set()
        for r in rows:
            present.add(str(r[nc]))
            if not PROTOCOL.match(str(r[pc])) or r[sc] not in STATUSES:
                lost += 1  # a row without a protocol or status after quiescence
        # A submission whose row vanished without staff deleting it is lost too.
        for i in range(self.submitted):
            name = f"Cidadão Soak {i}"
            if name not in present and name not in self.deleted_names:
                lost += 1
        assert self.journal is not None
        recs = {r.protocol: r for r in self.journal.all()}
        sheet_protocols = {str(r[pc]) for r in rows}
        disagree = 0
        for r in rows:
            rec = recs.get(str(r[pc]))
            if rec is not None and rec.status != r[sc]:
                disagree += 1
                if self.args.verbose:
                    for a in self.journal.audit_trail(rec.protocol):
                        print(f"     {a['at']} {a['event']} {a['detail']}")
                    print(f"  disagree {rec.protocol}: sheet {r[sc]!r}, journal {rec.status!r} "
                          f"({rec.problem}, event {rec.event_state}, ack {rec.ack_state}, "
                          f"conf {rec.conf_state})")
        if self.args.verbose:
            for r in rows:
                if r[sc] == "Pendente":
                    rec = recs.get(str(r[pc]))
                    print(f"  pending {r[pc]}: {r[header.index('Observação')]!r} {rec}")
        open_intents = len(self.journal.open_intents())
        # Duplicates: an e-mail beyond one per (protocol, kind, revision) Message-ID, an
        # acknowledgement to a request booked in its intake tick, an event beyond one per request.
        mails = []
        for box in state["gmail"].values():
            for m in box["messages"]:
                raw = base64.urlsafe_b64decode(m["raw"] + "=" * (-len(m["raw"]) % 4))
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                mails.append(str(msg.get("X-Balcao-Message-ID") or msg.get("Message-ID")))
        copies = Counter(mails)
        # Extra copies: one Message-ID sent more than once (a resend after an unknown outcome;
        # mailboxes collapse them). Duplicates: two Message-IDs for one (protocol, kind,
        # revision), which no mailbox collapses: must be 0.
        extra_copies = sum(n - 1 for n in copies.values())
        per_kind = Counter(m.group(1, 2, 3) for k in copies if (m := OUR_ID.search(k)))
        dup_mails = sum(n - 1 for n in per_kind.values())
        created = {a["protocol"]: a["at"] for a in self.journal.audit_trail() if a["event"] == "event_created"}
        acked = {OUR_ID.search(k).group(1).upper() for k in copies if ".ack." in k}  # type: ignore[union-attr]
        dup_acks = sum(1 for p in acked if p in created and p in recs and created[p] == recs[p].received_at)
        per_event = Counter(e.get("extendedProperties", {}).get("private", {}).get("balcaoProtocol")
                            for c in state["calendars"].values() for e in c["events"])
        dup_events = sum(n - 1 for n in per_event.values())
        duplicates = dup_mails + dup_acks + dup_events
        statuses = Counter(r[sc] for r in rows)
        print()
        print(f"ticks            {self.args.ticks} (+12 to settle), simulated {self.now:%Y-%m-%d %H:%M}")
        print(f"wall time        {wall:.0f} s")
        print(f"RSS              start (after {min(100, self.args.ticks)} ticks) {rss_start:.1f} MB, end {rss_end:.1f} MB, growth {rss_end - rss_start:+.1f} MB")
        print(f"submitted        {self.submitted} (rows deleted by staff: {len(self.deleted_names)})")
        print(f"processed        {len(recs)} requests in the journal, {len(sheet_protocols)} in the sheet")
        print(f"statuses         {dict(statuses)}")
        print(f"e-mails          {len(mails)} sent, events {sum(per_event.values())}")
        print(f"duplicates={duplicates} (e-mails per (protocol, kind, revision) {dup_mails}, acks at intake {dup_acks}, events {dup_events})")
        print(f"extra copies={extra_copies} (one Message-ID sent again after an unknown outcome; collapsed by mailboxes)")
        print(f"lost={lost}")
        print(f"sheet/journal disagreements {disagree}, open intents {open_intents}")
        print("events:", ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())))
        return 0 if duplicates == 0 and lost == 0 else 1


def main() -> int:
    import logging

    logging.basicConfig(level=logging.CRITICAL)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=2000)
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--no-faults", action="store_true")
    p.add_argument("--verbose", action="store_true", help="explain disagreements")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="balcao-soak-") as tmp:
        soak = Soak(args, Path(tmp))
        try:
            return soak.run()
        finally:
            soak.sb.stop()
            if soak.journal is not None:
                soak.journal.close()


if __name__ == "__main__":
    threading.current_thread().name = "soak"
    sys.exit(main())
