"""Start and stop the sandbox: a threaded werkzeug server in a daemon thread.

``start()`` is what tests, ``balcao demo`` and ``balcao sandbox`` use::

    with start(port=0) as sb:          # bundled sample responses, timestamps relative to now
        sb.url                          # "http://127.0.0.1:PORT"
        sb.app.state                    # the State, for inspection
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from worker.sandbox import sample
from worker.sandbox.app import SandboxApp
from worker.sandbox.state import (
    DEFAULT_LOCALE,
    DEFAULT_SPREADSHEET_ID,
    DEFAULT_TIMEZONE,
    DEFAULT_WORKSHEET,
    State,
)

MODES = ("meet_pending_gets", "quota", "rewrite_message_id", "search_lag_s", "bounce_recipients")


class _QuietHandler(WSGIRequestHandler):
    """No per-request log line (werkzeug's INFO log would flood test output)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def build_state(
    responses_csv: str | Path | None = None,
    spreadsheet_id: str = DEFAULT_SPREADSHEET_ID,
    worksheet: str = DEFAULT_WORKSHEET,
    now: datetime | None = None,
    locale: str = DEFAULT_LOCALE,
    time_zone: str = DEFAULT_TIMEZONE,
    **modes: Any,
) -> State:
    unknown = set(modes) - set(MODES)
    if unknown:
        raise TypeError(f"unknown sandbox mode(s): {', '.join(sorted(unknown))}")
    state = State(spreadsheet_id=spreadsheet_id, worksheet=worksheet, modes=modes, locale=locale, time_zone=time_zone)
    _, sheet = state.default_sheet()
    if responses_csv is None:
        sample.load_bundled(sheet, now or datetime.now().astimezone(), state.time_zone)
    else:
        sample.load_csv(sheet, responses_csv)
    state.snapshot_as_loaded()
    return state


class SandboxServer:
    def __init__(self, app: SandboxApp, server: BaseWSGIServer) -> None:
        self.app = app
        self.state = app.state
        self._server = server
        self.host, self.port = str(server.server_address[0]), int(server.server_address[1])
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="balcao-sandbox", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    host: str = "127.0.0.1",
    port: int = 0,
    responses_csv: str | Path | None = None,
    spreadsheet_id: str = DEFAULT_SPREADSHEET_ID,
    worksheet: str = DEFAULT_WORKSHEET,
    now: datetime | None = None,
    locale: str = DEFAULT_LOCALE,
    time_zone: str = DEFAULT_TIMEZONE,
    **modes: Any,
) -> SandboxServer:
    """Serve the sandbox on ``host:port`` (0 = a free port) until ``.stop()``."""
    state = build_state(responses_csv, spreadsheet_id, worksheet, now, locale, time_zone, **modes)
    app = SandboxApp(state)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    server.daemon_threads = True  # type: ignore[attr-defined]  # ThreadingMixIn in threaded mode
    return SandboxServer(app, server)
