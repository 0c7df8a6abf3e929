"""Fault-suite fixtures: an in-process sandbox per test, `balcao run` subprocesses, and the invariant checker.

Every test ends with ``check_invariants``: every non-empty row has a protocol and a status, the
sheet and the journal agree, no intent is left open, at most one event per request, and exactly
the e-mails DESIGN §4 allows (at most one acknowledgement and one confirmation per request and
revision, counted by our Message-ID; a request booked in its intake tick gets only the
confirmation; a resent copy with the same Message-ID only where the audit trail says so).
No test relies on file permissions or on sleep timing: crash points are SIGKILLs at named
places, and waits poll for a condition with a deadline.
"""

from __future__ import annotations

import base64
import email
import email.policy
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.clients import call_json

REPO = Path(__file__).resolve().parents[2]
BAHIA = ZoneInfo("America/Bahia")
SHEET = "sandbox-sheet"
TAB = "Respostas ao formulário 1"
HEADER = [
    "Carimbo de data/hora", "Endereço de e-mail", "Nome completo", "Telefone com DDD (WhatsApp)",
    "Como prefere ser atendido?", "Serviço", "Assunto do atendimento", "Período de preferência",
    "Declaro que li e concordo com a política de privacidade",
]
STATUSES = {"Recebido", "Agendado", "Requer atenção", "Duplicado", "Pendente", "Cancelado",
            "Realizado", "Não compareceu"}
PROTOCOL = re.compile(r"BV-\d{4}-\d{6,}")
OUR_ID = re.compile(
    r"<(bv-\d{4}-\d{6,})\.([a-z][a-z0-9-]*)\.r(\d+)(?:\.h(\d+))?(?:\.[a-z0-9]+)*@", re.I
)
# Staff e-mails (digest, deadline alert): one per recipient, no citizen protocol in the id.
STAFF_ID = re.compile(r"<balcao\.([a-z]+)\.", re.I)

# Paths of the Google methods the faults target (the sandbox searches the decoded path).
EVENTS_INSERT = r"^/calendar/v3/calendars/[^/]+/events$"
MESSAGES_SEND = r"^/gmail/v1/users/[^/]+/messages/send$"
VALUES_BATCH_UPDATE = r"/values:batchUpdate$"
VALUES_BATCH_GET = r"/values:batchGet$"
TOKEN = r"^/token$"


class Sandbox:
    """The test's own sandbox (a thread of the pytest process) and its control surface."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url: str = server.url

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return call_json(self.url, method, path, body)

    def fault(self, path_regex: str, **spec: Any) -> None:
        self.call("POST", "/_sandbox/faults", {"path_regex": path_regex, **spec})

    def clear_faults(self) -> None:
        self.call("DELETE", "/_sandbox/faults")

    def config(self, **modes: Any) -> None:
        self.call("POST", "/_sandbox/config", modes)

    def state(self) -> dict[str, Any]:
        return dict(self.call("GET", "/_sandbox/state"))

    def sheet(self) -> list[list[Any]]:
        return list(self.state()["spreadsheets"][SHEET]["sheets"][TAB]["values"])

    def requests(self) -> list[dict[str, Any]]:
        return list(self.state()["requests"])

    def events(self) -> list[dict[str, Any]]:
        return [e for cal in self.state()["calendars"].values() for e in cal["events"]]

    def messages(self) -> list[Mail]:
        out = []
        for box in self.state()["gmail"].values():
            for m in box["messages"]:
                raw = base64.urlsafe_b64decode(m["raw"] + "=" * (-len(m["raw"]) % 4))
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                ours = str(msg.get("X-Balcao-Message-ID") or msg.get("Message-ID") or "")
                match = OUR_ID.search(ours)
                staff = STAFF_ID.search(ours)
                subject = str(msg.get("Subject", ""))
                found = PROTOCOL.search(subject)
                kind = match.group(2) if match else staff.group(1) if staff else ""
                if match and match.group(4):  # a reminder: one per lead
                    kind = f"{kind}-{match.group(4)}h"
                out.append(Mail(
                    gmail_id=m["id"], key=ours.strip(), stored_id=str(msg.get("Message-ID", "")),
                    protocol=found.group(0) if found else "",
                    kind=kind, revision=int(match.group(3)) if match else -1,
                    to=str(msg.get("To", "")),
                ))
        return out

    def submit(self, i: int, *, whatsapp: bool | None = None, at: datetime | None = None) -> int:
        """Citizen ``i`` submits the form (every third one asks for WhatsApp)."""
        wa = (i % 3 == 2) if whatsapp is None else whatsapp
        answers = {
            "Endereço de e-mail": f"cidadao{i}@example.com",
            "Nome completo": f"Cidadão Número {i}",
            "Telefone com DDD (WhatsApp)": f"(71) 99{i % 10}12-34{i % 100:02d}",
            "Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp" if wa else "Google Meet",
            "Serviço": "Escritura",
            "Assunto do atendimento": "Dúvida sobre escritura",
            "Período de preferência": "Sem preferência",
            "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
        }
        body: dict[str, Any] = {"answers": answers}
        body["at"] = (at or datetime.now(BAHIA)).isoformat()
        return int(self.call("POST", "/_sandbox/form/submit", body)["row"])

    def count(self, method: str, since: int = 0) -> int:
        return sum(1 for r in self.requests()[since:] if r["method"] == method)


@dataclass
class Mail:
    gmail_id: str
    key: str  # our Message-ID (kept in X-Balcao-Message-ID even when Gmail rewrites)
    stored_id: str
    protocol: str
    kind: str
    revision: int
    to: str


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for k in list(env):
        if k.startswith("BALCAO"):
            env.pop(k)
    env.update(extra)
    return env


class Balcao:
    """`balcao` subprocesses against the sandbox, with a journal in the test's tmp_path."""

    def __init__(self, tmp_path: Path, sb: Sandbox) -> None:
        self.tmp = tmp_path
        self.sb = sb
        self.journal_path = tmp_path / "journal.sqlite3"
        self.base_env = {
            "BALCAO__GOOGLE__API_ENDPOINT": sb.url,
            "BALCAO__GOOGLE__CREDENTIALS_FILE": "",
            "BALCAO__GOOGLE__TIMEOUT_SECONDS": "10",
            "BALCAO__FORM__SPREADSHEET_ID": SHEET,
            "BALCAO__JOURNAL__PATH": str(self.journal_path),
            "BALCAO__SCHEDULING__MEET_POLL_DELAY_SECONDS": "0.01",
            "BALCAO__HEARTBEAT__ENABLED": "false",
            # Tiny backoff: a test never waits more than a fraction of a second.
            "BALCAO__RETRY__BASE_DELAY_SECONDS": "0.01",
            "BALCAO__RETRY__MAX_DELAY_SECONDS": "0.3",
            "BALCAO__RETRY__STOP_TIMEOUT_SECONDS": "2",
            "BALCAO__POLL__INTERVAL_SECONDS": "0.2",
            "BALCAO__RETRY__FAILED_TICK_BACKOFF_MAX_SECONDS": "0.5",
        }

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "worker", *args, "-c", str(REPO / "config.yaml")]

    def env(self, env: dict[str, str] | None = None, crash_at: str | None = None) -> dict[str, str]:
        extra = {**self.base_env, **(env or {})}
        if crash_at:
            extra["BALCAO_CRASH_AT"] = crash_at
        return _env(extra)

    def run(self, *args: str, env: dict[str, str] | None = None, crash_at: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``balcao run --once`` (or ``args``); returns the finished process."""
        argv = self.command(*(args or ("run", "--once")))
        return subprocess.run(argv, cwd=self.tmp, capture_output=True, text=True,
                              env=self.env(env, crash_at), timeout=timeout)

    def start(self, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], Path]:
        """``balcao run`` as a daemon; stderr goes to a file the test can poll."""
        log = self.tmp / f"daemon-{time.monotonic_ns()}.log"
        fh = log.open("w")
        proc = subprocess.Popen(self.command(*(args or ("run",))), cwd=self.tmp, stdout=fh,
                                stderr=subprocess.STDOUT, text=True, env=self.env(env))
        fh.close()
        return proc, log

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.journal_path))
        conn.row_factory = sqlite3.Row
        return conn

    def records(self) -> dict[str, dict[str, Any]]:
        with self.db() as conn:
            return {r["protocol"]: dict(r) for r in conn.execute("SELECT * FROM requests")}

    def audit(self, event: str | None = None) -> list[dict[str, Any]]:
        with self.db() as conn:
            rows = [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY id")]
        return [r for r in rows if event is None or r["event"] == event]

    def open_intents(self) -> list[dict[str, Any]]:
        with self.db() as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM effects WHERE state = 'intent'")]


def wait_for(cond: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    """Poll ``cond`` until truthy (a deadline, not a sleep the test relies on)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    from worker.sandbox import server

    csv = tmp_path / "responses.csv"
    csv.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    srv = server.start(port=0, responses_csv=csv)
    try:
        yield Sandbox(srv)
    finally:
        srv.stop()


@pytest.fixture
def balcao(tmp_path: Path, sb: Sandbox) -> Balcao:
    return Balcao(tmp_path, sb)


@dataclass
class Summary:
    rows: list[dict[str, Any]] = field(default_factory=list)  # protocol, status, reason
    mails: list[Mail] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def status_of(self, protocol: str) -> str:
        return next(r["status"] for r in self.rows if r["protocol"] == protocol)

    def kinds(self, protocol: str) -> list[str]:
        return sorted(m.kind for m in self.mails if m.protocol == protocol)

    @property
    def statuses(self) -> Counter[str]:
        return Counter(r["status"] for r in self.rows)


def check_invariants(sb: Sandbox, balcao: Balcao, *, submitted: int | None = None,
                     resend_ok: bool = False, quiescent: bool = True,
                     staff_deleted_ok: bool = False) -> Summary:
    """Assert DESIGN §4 over the sandbox's state and the journal; return what was found.

    ``resend_ok``: a second copy with the same Message-ID is allowed where the audit trail
    records a resend (no gmail.readonly). ``quiescent``: no intent may stay open.
    ``staff_deleted_ok``: a booked request's event may have been deleted by staff since."""
    grid = sb.sheet()
    header = grid[0]
    pc, sc, oc = header.index("Protocolo"), header.index("Situação"), header.index("Observação")
    rows = []
    for r in grid[1:]:
        if not any(c not in ("", None) for c in r):
            continue
        cells = list(r) + [""] * (len(header) - len(r))
        assert PROTOCOL.fullmatch(str(cells[pc])), f"a row without a protocol: {cells[pc]!r}"
        assert cells[sc] in STATUSES, f"{cells[pc]}: status {cells[sc]!r}"
        rows.append({"protocol": cells[pc], "status": cells[sc], "reason": cells[oc] or ""})
    if submitted is not None:
        assert len(rows) == submitted, "a request was lost (or invented)"
    protocols = [r["protocol"] for r in rows]
    assert len(set(protocols)) == len(protocols), "two rows carry one protocol"

    # The journal agrees with the sheet.
    recs = balcao.records()
    assert set(recs) == set(protocols), "journal and sheet disagree on the requests"
    for r in rows:
        rec = recs[r["protocol"]]
        assert (rec["status"], rec["reason"]) == (r["status"], r["reason"]), r["protocol"]
    if quiescent:
        assert balcao.open_intents() == [], "an intent was left open"

    # Events: at most one per request, exactly one live one per booked request.
    events = sb.events()
    per_protocol = Counter(
        e.get("extendedProperties", {}).get("private", {}).get("balcaoProtocol") for e in events
    )
    assert all(n == 1 for n in per_protocol.values()), f"duplicate events: {per_protocol}"
    live = {p for p in per_protocol if any(
        e["status"] != "cancelled" and e["extendedProperties"]["private"]["balcaoProtocol"] == p
        for e in events)}

    # E-mails: each of our Message-IDs once (or collapsed copies where a resend is audited).
    mails = sb.messages()
    copies = Counter(m.key for m in mails)
    resent = {a["protocol"] for a in balcao.audit("resent")}
    resent_details = [str(a["detail"]) for a in balcao.audit("resent")]
    for key, n in copies.items():
        ours = OUR_ID.search(key)
        if n > 1:
            audited = (ours.group(1).upper() in resent if ours
                       else any(key in d for d in resent_details))
            assert resend_ok and audited, f"{key} sent {n} times"
    distinct = Counter(
        (m.protocol, m.kind, m.revision, m.to) for m in {m.key: m for m in mails}.values()
    )
    assert all(n == 1 for n in distinct.values()), f"two e-mails of one kind: {distinct}"
    created_at = {a["protocol"]: a["at"] for a in balcao.audit("event_created")}
    for r in rows:
        p = r["protocol"]
        got = sorted({m.kind for m in mails if m.protocol == p})
        if r["status"] == "Agendado":
            assert p in (per_protocol if staff_deleted_ok else live), f"{p} Agendado without an event"
            assert "confirmation" in got, f"{p} Agendado without a confirmation"
        if p in created_at and created_at[p] == recs[p]["received_at"]:
            # Booked in the tick that took it in: only the confirmation (auto mode).
            assert "ack" not in got, f"{p} booked at intake but acknowledged too"
    return Summary(rows=rows, mails=mails, events=events)
