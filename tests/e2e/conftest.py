"""End-to-end fixtures: `balcao sandbox` in one subprocess, the `balcao` CLI in others."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients import call_json

REPO = Path(__file__).resolve().parents[2]


class SandboxProcess:
    def __init__(self, url: str, proc: subprocess.Popen[str]) -> None:
        self.url = url
        self.proc = proc

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return call_json(self.url, method, path, body)

    def state(self) -> dict[str, Any]:
        return dict(self.call("GET", "/_sandbox/state"))

    def requests(self) -> list[dict[str, Any]]:
        return list(self.state()["requests"])

    def sheet(self) -> list[list[Any]]:
        sp = self.state()["spreadsheets"]["sandbox-sheet"]
        return list(sp["sheets"]["Respostas ao formulário 1"]["values"])

    def messages(self) -> list[dict[str, Any]]:
        return [m for box in self.state()["gmail"].values() for m in box["messages"]]

    def events(self) -> list[dict[str, Any]]:
        return [e for cal in self.state()["calendars"].values() for e in cal["events"]]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("BALCAO_CRASH_AT", None)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def serve_sandbox(argv: list[str], env: dict[str, str]) -> Iterator[SandboxProcess]:
    """`balcao sandbox` (``argv``) in its own process until the block ends."""
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    try:
        yield SandboxProcess(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def sandbox_proc(tmp_path: Path) -> Iterator[SandboxProcess]:
    with serve_sandbox([sys.executable, "-m", "worker", "sandbox", "--port", "0"], _env()) as sb:
        yield sb


@pytest.fixture
def run_cli(tmp_path: Path, sandbox_proc: SandboxProcess) -> Any:
    """Run `balcao ...` against the sandbox with a journal in tmp_path."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        extra = {
            "BALCAO__GOOGLE__API_ENDPOINT": sandbox_proc.url,
            "BALCAO__GOOGLE__CREDENTIALS_FILE": "",
            "BALCAO__FORM__SPREADSHEET_ID": "sandbox-sheet",
            "BALCAO__JOURNAL__PATH": str(tmp_path / "journal.sqlite3"),
            "BALCAO__SCHEDULING__MEET_POLL_DELAY_SECONDS": "0.01",
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "worker", *args, "-c", str(REPO / "config.yaml")]
            if args and args[0] in ("run", "check", "recover", "report") else
            [sys.executable, "-m", "worker", *args],
            cwd=tmp_path, capture_output=True, text=True, env=_env(extra), timeout=timeout,
        )

    return run
