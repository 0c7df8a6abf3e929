"""Shared test fixtures: a loopback-only network guard and the in-process sandbox.

Fixtures: ``sandbox_server`` (session: one sandbox on a random port) and ``sandbox`` (per test:
reset state, faults and fidelity modes; has ``.url`` and small helpers). Client factories live
in ``tests/clients.py``.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients import call_json

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # so that `from tests.clients import ...` works however pytest is started
    sys.path.insert(0, _ROOT)

LOOPBACK = {"127.0.0.1", "localhost", "::1", None}


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any test that resolves a host other than loopback; no proxies from the environment."""
    attempts: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            attempts.append(str(name))
            raise OSError(f"network guard: test tried to resolve non-loopback host {name!r}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    for key in list(os.environ):
        if key.lower().endswith("_proxy"):
            monkeypatch.delenv(key, raising=False)
    yield attempts
    assert not attempts, f"non-loopback hosts were resolved: {attempts}"


class SandboxHandle:
    """Test-side view of a running sandbox: ``.url`` plus helpers for the control surface."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url: str = server.url
        self.app = server.app

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return call_json(self.url, method, path, body)

    def post(self, path: str, json: Any = None) -> Any:
        return self._call("POST", path, json if json is not None else {})

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def state(self) -> dict[str, Any]:
        return self.get("/_sandbox/state")

    def requests_log(self) -> list[dict[str, Any]]:
        return self.state()["requests"]

    def fault(self, **spec: Any) -> Any:
        return self.post("/_sandbox/faults", spec)

    def clear_faults(self) -> Any:
        return self._call("DELETE", "/_sandbox/faults")

    def config(self, **modes: Any) -> Any:
        return self.post("/_sandbox/config", modes)

    def reset(self) -> None:
        self.post("/_sandbox/reset")
        self.clear_faults()
        self.config(meet_pending_gets=0, quota=False, rewrite_message_id=False, search_lag_s=0)

    def submit(self, answers: dict[str, Any], at: str | None = None) -> int:
        body: dict[str, Any] = {"answers": answers}
        if at is not None:
            body["at"] = at
        return int(self.post("/_sandbox/form/submit", body)["row"])

    def sheet_values(self, spreadsheet_id: str = "sandbox-sheet", title: str = "Respostas ao formulário 1") -> list[list[Any]]:
        return self.state()["spreadsheets"][spreadsheet_id]["sheets"][title]["values"]


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    from worker.sandbox import server

    sb = server.start(port=0)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def sandbox(sandbox_server: Any) -> Iterator[SandboxHandle]:
    handle = SandboxHandle(sandbox_server)
    handle.reset()
    yield handle
