"""The service: the systemd unit's keys, the loop under a fake NOTIFY_SOCKET, the Dockerfile."""

from __future__ import annotations

import dataclasses
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from opkit import REPO

from worker.cli import EXIT_LOCKED, EXIT_USAGE, build_parser
from worker.loop import Loop
from worker.model import AdapterError
from worker.sdnotify import Notifier

UNIT = REPO / "deploy" / "balcao.service"


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd's INI dialect: repeated keys accumulate, '#'/';' comments, no interpolation."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"key outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, str]:
    parsed = parse_unit(UNIT)
    assert set(parsed) == {"Unit", "Service", "Install"}
    return {k: v[-1] for k, v in parsed["Service"].items()} | {
        f"Install.{k}": v[-1] for k, v in parsed["Install"].items()
    } | {f"Unit.{k}": v[-1] for k, v in parsed["Unit"].items()}


def test_the_unit_is_a_notify_service_with_a_watchdog(unit: dict[str, str]) -> None:
    assert unit["Type"] == "notify"
    assert unit["NotifyAccess"] == "main"
    assert unit["WatchdogSec"] == "120"
    assert unit["Install.WantedBy"] == "multi-user.target"
    assert unit["Unit.After"].split()[0] == "network-online.target"


def test_the_unit_runs_balcao_as_its_own_user_from_the_venv(unit: dict[str, str]) -> None:
    assert unit["User"] == "balcao" and unit["Group"] == "balcao"
    argv = shlex.split(unit["ExecStart"])
    assert argv[0] == "/opt/balcao/.venv/bin/balcao"
    args = build_parser().parse_args(argv[1:])  # the flags exist in the CLI
    assert (args.command, args.config, args.once) == ("run", "/etc/balcao/config.yaml", False)
    assert unit["EnvironmentFile"] == "-/etc/balcao/balcao.env"


def test_the_unit_restarts_on_failure_but_not_on_a_config_error_or_a_held_lock(unit: dict[str, str]) -> None:
    assert unit["Restart"] == "on-failure"
    assert unit["RestartSec"] == "30"
    assert {int(c) for c in unit["RestartPreventExitStatus"].split()} == {EXIT_USAGE, EXIT_LOCKED}
    assert unit["KillSignal"] == "SIGTERM"
    assert unit["TimeoutStopSec"] == "15"


def test_the_unit_is_hardened_and_can_write_only_its_state_folder(unit: dict[str, str]) -> None:
    expected = {
        "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/balcao", "StateDirectory": "balcao",
        "NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectHome": "yes",
        "ProtectKernelTunables": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "UMask": "0077",
    }
    assert {k: unit.get(k) for k in expected} == expected


def test_the_env_example_holds_only_comments_or_balcao_variables() -> None:
    for line in (REPO / "deploy" / "balcao.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert line.split("=", 1)[0].startswith("BALCAO"), line


# ---------------------------------------------------------------------------- notify socket


@pytest.fixture
def notify_socket() -> Iterator[tuple[str, socket.socket]]:
    folder = tempfile.mkdtemp(prefix="bn")  # short: AF_UNIX paths are limited to 108 bytes
    path = str(Path(folder) / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.5)
    yield path, sock
    sock.close()
    Path(path).unlink(missing_ok=True)
    Path(folder).rmdir()


def received(sock: socket.socket) -> list[dict[str, str]]:
    out = []
    sock.setblocking(False)
    while True:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return out
        out.append(dict(line.split("=", 1) for line in data.decode().splitlines()))


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_the_loop_says_ready_then_keeps_the_watchdog_fed_while_backing_off(
    tmp_path: Path, notify_socket: tuple[str, socket.socket], keep_signal_handlers: None,
) -> None:
    from tests.service.harness import Harness

    h = Harness(tmp_path, datetime(2026, 3, 18, 10, 0, tzinfo=ZoneInfo("America/Bahia")))
    s = dataclasses.replace(h.s, poll=dataclasses.replace(h.s.poll, interval_seconds=0.05))
    # A permanent error (no retry inside the tick): the tick fails and the loop backs off.
    h.sheet.fail_next("info", AdapterError("sheets spreadsheets.get: HTTP 404 notFound", False,
                                           status=404, reason="notFound"))
    address, sock = notify_socket
    loop = Loop(h.deps, s, threading.Event(), notifier=Notifier(address), max_ticks=2)
    assert loop.run() == 0
    messages = received(sock)
    assert messages[0]["READY"] == "1"
    statuses = [i for i, m in enumerate(messages) if "STATUS" in m and "READY" not in m]
    assert len(statuses) == 2, messages
    backing_off, recovered = statuses
    assert messages[backing_off]["STATUS"].startswith("paused/backing off")
    assert "notFound" in messages[backing_off]["STATUS"]
    # While it waited out the backoff, the loop kept telling systemd it is alive.
    assert any(m.get("WATCHDOG") == "1" for m in messages[backing_off + 1:recovered])
    assert messages[recovered]["STATUS"].startswith("last good tick")
    assert messages[-1] == {"STOPPING": "1"}


def test_the_notifier_is_silent_without_notify_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled
    n.ready("x")  # no error, nothing sent


# ---------------------------------------------------------------------------- Docker


def test_the_dockerfile_runs_as_a_non_root_user_with_a_journal_volume_and_no_secrets() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.split(None, 1) for line in text.splitlines()
                    if line and not line.startswith((" ", "#"))]
    keys = [i[0] for i in instructions]
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    user = [i[1] for i in instructions if i[0] == "USER"]
    assert user == ["balcao"] and keys.index("USER") > keys.index("RUN")
    assert ["VOLUME", '["/var/lib/balcao"]'] in instructions
    assert instructions[-1] == ["CMD", '["balcao", "run", "-c", "/etc/balcao/config.yaml"]']
    assert "pip install -r requirements.lock" in text and "pip install --no-deps ." in text
    copied = " ".join(i[1] for i in instructions if i[0] in ("COPY", "ADD"))
    for secret in ("credentials", "token", "service-account", ".env", "config.yaml"):
        assert secret not in copied
    ignore = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".venv", "credentials.json", "token.json", "service-account*.json", "*.sqlite3"):
        assert entry in ignore


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point it at this checkout's entry point.
    here = Path(sys.executable).parent / "balcao"
    text = UNIT.read_text(encoding="utf-8").replace(
        "/opt/balcao/.venv/bin/balcao", str(here if here.exists() else sys.executable))
    copy = tmp_path / "balcao.service"
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "balcao.service" not in result.stderr, result.stderr


def test_the_watchdog_is_fed_while_a_request_is_retried_inside_a_tick(
    tmp_path: Path, notify_socket: tuple[str, socket.socket], keep_signal_handlers: None,
) -> None:
    from tests.service.harness import Harness

    h = Harness(tmp_path, datetime(2026, 3, 18, 10, 0, tzinfo=ZoneInfo("America/Bahia")))
    s = dataclasses.replace(
        h.s, poll=dataclasses.replace(h.s.poll, interval_seconds=0.05),
        retry=dataclasses.replace(h.s.retry, attempts=2, base_delay_seconds=1.5,
                                  max_delay_seconds=1.5),
    )
    # A transient error with Retry-After: the retry waits 1.5 s inside the tick.
    h.sheet.fail_next("info", AdapterError("sheets: HTTP 503", True, status=503, retry_after=1.5))
    address, sock = notify_socket
    loop = Loop(h.deps, s, threading.Event(), notifier=Notifier(address), max_ticks=1)
    assert loop.run() == 0
    messages = received(sock)
    ready = next(i for i, m in enumerate(messages) if m.get("READY") == "1")
    first_status = next(i for i, m in enumerate(messages) if "STATUS" in m and i > ready)
    # At least two pings during the 1.5 s wait, before the tick's status arrived.
    pings = [m for m in messages[ready + 1:first_status] if m.get("WATCHDOG") == "1"]
    assert len(pings) >= 2, messages
    assert messages[first_status]["STATUS"].startswith("last good tick")


def test_the_loop_serves_metrics_when_enabled(
    tmp_path: Path, keep_signal_handlers: None,
) -> None:
    import urllib.request

    from tests.service.harness import Harness

    h = Harness(tmp_path, datetime(2026, 3, 18, 10, 0, tzinfo=ZoneInfo("America/Bahia")))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s = dataclasses.replace(
        h.s, poll=dataclasses.replace(h.s.poll, interval_seconds=0.05),
        metrics=dataclasses.replace(h.s.metrics, enabled=True, port=port),
    )
    loop = Loop(h.deps, s, threading.Event(), notifier=Notifier(""), max_ticks=2)
    scraped: list[str] = []
    real_tick_end = loop.notifier.status

    def scrape_then_status(text: str) -> None:
        if not scraped:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://127.0.0.1:{port}/metrics", timeout=5
            ) as resp:
                scraped.append(resp.read().decode())
        real_tick_end(text)

    loop.notifier.status = scrape_then_status  # type: ignore[method-assign]
    assert loop.run() == 0
    assert scraped and 'balcao_ticks_total{result="ok"} 1.0' in scraped[0]
