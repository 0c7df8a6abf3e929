"""Raw Google access for `balcao check`: token refresh, sheet metadata, a header rewrite, API clients; vendor errors become AdapterError."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.requests
import requests
from gspread.client import Client
from gspread.utils import absolute_range_name

from worker.adapters.errors import classify
from worker.adapters.google_auth import authorized_http
from worker.adapters.google_sheets import http_client_class
from worker.model import AdapterError


class TokenRefused(Exception):
    """Google's token endpoint refused the credentials (``invalid_grant`` and the like)."""


class TokenUnreachable(Exception):
    """Google's token endpoint could not be reached."""


@lru_cache(maxsize=1)
def method_scopes() -> dict[str, tuple[str, ...]]:
    """method id → the scopes Google accepts for it, read from the discovery documents
    shipped in googleapiclient (``calendar.freebusy.query`` → calendar, calendar.freebusy, …)."""
    import googleapiclient

    folder = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    out: dict[str, tuple[str, ...]] = {}

    def walk(node: dict[str, Any]) -> None:
        for m in node.get("methods", {}).values():
            out[m["id"]] = tuple(m.get("scopes", ()))
        for r in node.get("resources", {}).values():
            walk(r)

    for name in ("sheets.v4", "calendar.v3", "gmail.v1"):
        walk(json.loads((folder / f"{name}.json").read_text(encoding="utf-8")))
    return out


class GoogleProbe:
    """The calls `balcao check` makes with balcao's own credentials, never retried."""

    def __init__(
        self, creds: google.auth.credentials.Credentials, *, api_endpoint: str | None,
        timeout: float,
    ) -> None:
        self.creds = creds
        self.api_endpoint = api_endpoint
        self.timeout = timeout
        self._sheets: Any = None

    def refresh(self) -> None:
        """Obtain a fresh access token; raises TokenRefused or TokenUnreachable."""
        session = requests.Session()
        session.trust_env = self.api_endpoint is None
        try:
            self.creds.refresh(google.auth.transport.requests.Request(session=session))
        except google.auth.exceptions.RefreshError as exc:
            raise TokenRefused(str(exc)) from exc
        except google.auth.exceptions.TransportError as exc:
            raise TokenUnreachable(str(exc)) from exc

    @property
    def sheets(self) -> Any:
        """gspread's HTTP client (rebased onto the sandbox when ``api_endpoint`` is set)."""
        if self._sheets is None:
            cls = http_client_class(self.api_endpoint, self.timeout)
            self._sheets = Client(auth=self.creds, http_client=cls).http_client
        return self._sheets

    @staticmethod
    def a1(worksheet: str, cells: str) -> str:
        return str(absolute_range_name(worksheet, cells))

    def call(self, operation: str, write: bool, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except AdapterError:
            raise
        except Exception as exc:
            raise classify(exc, operation=operation, write=write) from exc

    def execute(self, operation: str, write: bool, request: Any) -> Any:
        """A googleapiclient request, never retried by the library."""
        return self.call(operation, write, lambda: request.execute(num_retries=0))

    def service(self, api: str) -> Any:
        from googleapiclient.discovery import build

        ep = self.api_endpoint
        options = None
        if ep:
            base = ep.rstrip("/")
            options = {"api_endpoint": base + ("/calendar/v3/" if api == "calendar" else "/")}
        http = authorized_http(self.creds, api_endpoint=ep, timeout=self.timeout)
        version = {"calendar": "v3", "gmail": "v1"}[api]
        return build(api, version, http=http, client_options=options, static_discovery=True,
                     cache_discovery=False)
