"""Raw Google access for `balcao check`: token refresh, sheet metadata, a header rewrite, API clients; vendor errors become AdapterError."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
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

    # ----------------------------------------------------------------- the checks' requests

    def spreadsheet_meta(self, spreadsheet_id: str) -> tuple[str, list[str]]:
        """(title, worksheet titles) of a spreadsheet (spreadsheets.get)."""
        meta = self.call("sheets spreadsheets.get", False, lambda: self.sheets.fetch_sheet_metadata(
            spreadsheet_id, params={"fields": "properties(title,timeZone),sheets(properties(title))"}))
        title = str(meta.get("properties", {}).get("title", spreadsheet_id))
        tabs = [str(t.get("properties", {}).get("title", "")) for t in meta.get("sheets", ())]
        return title, tabs

    def header_row(self, spreadsheet_id: str, worksheet: str) -> list[Any]:
        """Row 1 of a worksheet as stored (values.batchGet, unformatted)."""
        body = self.call("sheets values.batchGet", False, lambda: self.sheets.values_batch_get(
            spreadsheet_id, [self.a1(worksheet, "1:1")],
            params={"valueRenderOption": "UNFORMATTED_VALUE"}))
        rows = (body.get("valueRanges") or [{}])[0].get("values") or [[]]
        return list(rows[0])

    def rewrite_cell(self, spreadsheet_id: str, worksheet: str, cell: str, value: Any) -> None:
        """Write ``value`` RAW into one cell (the check rewrites A1 with its own value)."""
        data = [{"range": self.a1(worksheet, cell), "majorDimension": "ROWS", "values": [[value]]}]
        self.call("sheets values.batchUpdate", True, lambda: self.sheets.values_batch_update(
            spreadsheet_id, body={"valueInputOption": "RAW", "data": data}))

    def calendar_errors(self, calendar_id: str, now: datetime) -> list[str]:
        """Free/busy reasons Google gives for a calendar it cannot read ([] = readable), then
        one events.list: raises AdapterError when either is refused."""
        cal = self.service("calendar")
        body = {"timeMin": now.isoformat(), "timeMax": (now + timedelta(minutes=1)).isoformat(),
                "items": [{"id": calendar_id}]}
        fb = self.execute("calendar freebusy.query", False, cal.freebusy().query(body=body))
        errors = fb.get("calendars", {}).get(calendar_id, {}).get("errors") or []
        if errors:
            return [str(e.get("reason", "error")) for e in errors]
        self.execute("calendar events.list", False, cal.events().list(
            calendarId=calendar_id, maxResults=1, timeMin=now.isoformat()))
        return []

    def meet_test(self, calendar_id: str, start: datetime, tz: str) -> tuple[str, str | None, bool, bool]:
        """Create a 15-minute test event with a Meet link, then delete it: (event id, the
        conference status, whether a Meet link came back, whether it was deleted)."""
        cal = self.service("calendar")
        event_id = "balcaocheck" + "".join(
            secrets.choice("0123456789abcdefghijklmnopqrstuv") for _ in range(16))
        body = {
            "id": event_id,
            "summary": "balcao check (teste, será apagado)",
            "start": {"dateTime": start.isoformat(), "timeZone": tz},
            "end": {"dateTime": (start + timedelta(minutes=15)).isoformat(), "timeZone": tz},
            "conferenceData": {"createRequest": {
                "requestId": event_id, "conferenceSolutionKey": {"type": "hangoutsMeet"}}},
        }
        ev = self.execute("calendar events.insert", True, cal.events().insert(
            calendarId=calendar_id, body=body, conferenceDataVersion=1, sendUpdates="none"))
        status = (ev.get("conferenceData", {}).get("createRequest", {})
                  .get("status", {}).get("statusCode"))
        try:
            self.call("calendar events.delete", False, lambda: cal.events().delete(
                calendarId=calendar_id, eventId=event_id, sendUpdates="none"
            ).execute(num_retries=0))
            deleted = True
        except AdapterError as exc:
            deleted = exc.status == 410
        return event_id, status, bool(ev.get("hangoutLink")), deleted

    def gmail_address(self, user: str) -> str:
        """The mailbox's address (users.getProfile: needs a read scope)."""
        gmail = self.service("gmail")
        prof = self.call("gmail users.getProfile", False, lambda: gmail.users()
                         .getProfile(userId=user).execute(num_retries=0))
        return str(prof.get("emailAddress", user))

    def gmail_send_without_recipient(self, user: str, sender: str) -> None:
        """Ask Gmail to send a message without a recipient: refused with 400 when sending is
        allowed (nothing is delivered either way)."""
        gmail = self.service("gmail")
        raw = base64.urlsafe_b64encode(
            f"From: {sender}\r\nSubject: balcao check (never delivered: no recipient)\r\n\r\n."
            .encode()).decode()
        self.call("gmail users.messages.send", True, lambda: gmail.users().messages()
                  .send(userId=user, body={"raw": raw}).execute(num_retries=0))
