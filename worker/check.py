"""`balcao check [--probe]`: one line per set-up check, ✓ or ✗ with the fix in plain words; operator tooling.

Checks, in order: configuration; credentials file (present, mode 0600, known type); token
refreshable; spreadsheet reachable; worksheet present; mapped headers present; sheet writable
(a header cell rewritten with its own value, RAW); each calendar reachable (a one-minute
free/busy plus a one-event list); Meet creation (``--probe``: an event far in the future with a
Meet request, deleted at once); attendees (only with ``scheduling.invite_citizen``); sending
(Gmail or SMTP); scopes sufficient for every Google method balcao calls; journal writable.
Exit 0 only when no check failed ("–" marks a check skipped by choice or because an earlier
one failed).

The raw Google access only ``check`` needs (token refresh, sheet metadata, a header rewrite,
API clients for a one-minute free/busy, a recipient-less send and a probe event) goes through
``worker.adapters.google_probe``, built on the adapters' transports (``http_client_class``,
``authorized_http``) so the same endpoint, proxy and timeout rules apply; this module holds
the checks and the advice, and imports no vendor library.

Sending is proved without sending anything: with ``gmail.readonly`` granted, users.getProfile;
with only ``gmail.send`` (the least-privilege default, which getProfile does not accept),
a messages.send of a message without any recipient, which Gmail refuses with 400 "Recipient
address required" only after authorising the caller, so a 400 proves the right to send while
401/403/failedPrecondition prove its absence.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from worker.config import Settings
from worker.model import AdapterError, ConfigError

EXIT_OK, EXIT_FAIL = 0, 1
OK, FAIL, SKIP, WARN = "✓", "✗", "–", "!"

SCOPE_REASONS = ("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficientPermissions")

# Every Google method balcao calls (adapters and this module), by discovery id.
SHEETS_METHODS = (
    "sheets.spreadsheets.get",
    "sheets.spreadsheets.values.batchGet",
    "sheets.spreadsheets.values.batchUpdate",
    "sheets.spreadsheets.batchUpdate",
)
CALENDAR_METHODS = (
    "calendar.freebusy.query",
    "calendar.events.insert",
    "calendar.events.get",
    "calendar.events.delete",
    "calendar.events.list",
)
GMAIL_SEND_METHODS = ("gmail.users.messages.send",)
GMAIL_SENT_CHECK_METHODS = ("gmail.users.messages.list", "gmail.users.messages.get")

DWD_ADVICE = (
    "a service account without domain-wide delegation cannot {what}: set google.delegated_user "
    "to a Workspace user (and authorise the service account's client id for balcao's scopes in "
    "the Admin console), or use an OAuth token from `balcao auth`"
)


def required_methods(s: Settings) -> list[str]:
    """The discovery method ids this configuration makes balcao call."""
    methods = [*SHEETS_METHODS, *CALENDAR_METHODS]
    if s.mail.transport == "gmail":
        methods += GMAIL_SEND_METHODS
    if s.mail.sent_check or s.mail.bounce_check:  # both read the mailbox (gmail.readonly)
        methods += GMAIL_SENT_CHECK_METHODS
    return methods


def method_scopes() -> dict[str, tuple[str, ...]]:
    from worker.adapters.google_probe import method_scopes as read

    return read()


def missing_scopes(methods: Iterable[str], granted: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Methods none of whose accepted scopes is granted → their accepted scopes."""
    table = method_scopes()
    have = set(granted)
    return {m: table[m] for m in methods if not have & set(table[m])}


def short_scope(scope: str) -> str:
    return scope.rsplit("/", 1)[-1] or scope


@dataclass
class Line:
    mark: str
    name: str
    text: str


@dataclass
class Checker:
    s: Settings
    probe: bool = False
    config_path: str | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    now: datetime | None = None
    lines: list[Line] = field(default_factory=list)
    creds: Any = None
    kind: str = ""  # dummy | service_account | authorized_user
    file_scopes: list[str] | None = None
    scope_failures: dict[str, str] = field(default_factory=dict)
    header: list[Any] = field(default_factory=list)
    _probe: Any = None

    # ----------------------------------------------------------------- output

    def emit(self, mark: str, name: str, text: str) -> None:
        self.lines.append(Line(mark, name, text))
        print(f"{mark} {name}: {text}", file=self.out, flush=True)

    @property
    def failed(self) -> bool:
        return any(line.mark == FAIL for line in self.lines)

    # ----------------------------------------------------------------- the run

    def run(self) -> int:
        if self.now is None:
            from worker.adapters.system import SystemClock

            self.now = SystemClock().now().astimezone(ZoneInfo(self.s.office.timezone))
        where = f" ({self.config_path})" if self.config_path else ""
        self.emit(OK, "configuration", f"loaded and valid{where}")
        google_ok = self.check_credentials_file() and self.check_refresh()
        if google_ok:
            if self.check_spreadsheet():
                self.check_headers()
                self.check_writable()
            reachable = self.check_calendars()
            self.check_meet(reachable)
            self.check_attendees()
        else:
            for name in ("spreadsheet", "calendars", "Meet creation"):
                self.emit(SKIP, name, "not checked (fix the credentials first)")
        self.check_sending(google_ok)
        self.check_sender_account()
        if google_ok:
            self.check_scopes()
        self.check_journal()
        bad = sum(1 for line in self.lines if line.mark == FAIL)
        if bad:
            print(f"\n{bad} check(s) failed: fix them and run `balcao check` again.", file=self.out)
            return EXIT_FAIL
        print("\nAll checks passed." + ("" if self.probe else
              " Run `balcao check --probe` once to prove Meet creation too."), file=self.out)
        return EXIT_OK

    # ----------------------------------------------------------------- credentials

    def who(self) -> str:
        """The identity staff must share the sheet and calendars with."""
        if self.kind == "service_account":
            if self.s.google.delegated_user:
                return self.s.google.delegated_user
            return str(getattr(self.creds, "service_account_email", "the service account"))
        if self.kind == "authorized_user":
            return "the Google account you authorised with `balcao auth`"
        return "balcao's account"

    def check_credentials_file(self) -> bool:
        g = self.s.google
        path = g.credentials_file
        if not path:
            if g.api_endpoint:
                self.kind = "dummy"
                self.emit(OK, "credentials", "none: the sandbox's dummy token "
                          f"(google.api_endpoint is {g.api_endpoint})")
                return self._load()
            self.emit(FAIL, "credentials", "google.credentials_file is not set: point it at the "
                      "service-account JSON key, or run `balcao auth` to create a token file")
            return False
        p = Path(path)
        try:
            st = p.stat()
            info = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.emit(FAIL, "credentials", f"no file at {path}: download the service-account key "
                      "there, or run `balcao auth` to create the token file")
            return False
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            self.emit(FAIL, "credentials", f"{path} cannot be read as JSON "
                      f"({type(exc).__name__}): replace it with the file Google gave you")
            return False
        kind = info.get("type") if isinstance(info, dict) else None
        if kind not in ("service_account", "authorized_user"):
            from worker.adapters.google_auth import not_credentials

            self.emit(FAIL, "credentials", not_credentials(path, info))
            return False
        self.kind = str(kind)
        if kind == "authorized_user":
            scopes = info.get("scopes")
            self.file_scopes = [str(x) for x in scopes] if isinstance(scopes, list) else None
        if st.st_mode & 0o077:
            self.emit(FAIL, "credentials", f"{path} is readable by other users "
                      f"(mode {stat.S_IMODE(st.st_mode):04o}): run `chmod 600 {path}` "
                      "(and make balcao's user its owner)")
        else:
            label = "service-account key" if kind == "service_account" else "OAuth token (balcao auth)"
            self.emit(OK, "credentials", f"{path}: {label}, mode 0600")
        return self._load()

    def _load(self) -> bool:
        from worker import bootstrap

        try:
            self.creds = bootstrap.credentials(self.s)
        except ConfigError as exc:
            self.emit(FAIL, "credentials", str(exc))
            return False
        return True

    def probe_api(self) -> Any:
        if self._probe is None:
            from worker.adapters.google_probe import GoogleProbe

            self._probe = GoogleProbe(self.creds, api_endpoint=self.s.google.api_endpoint,
                                      timeout=self.s.google.timeout_seconds)
        return self._probe

    def check_refresh(self) -> bool:
        from worker.adapters.google_probe import TokenRefused, TokenUnreachable

        if self.kind == "dummy":
            self.emit(OK, "token", "dummy sandbox token (nothing to refresh)")
            return True
        try:
            self.probe_api().refresh()
        except TokenRefused as exc:
            self.emit(FAIL, "token", self.refresh_advice(str(exc)))
            return False
        except TokenUnreachable as exc:
            self.emit(FAIL, "token", f"Google's token endpoint is unreachable ({_short(exc)}): "
                      "check the network, DNS and proxy of this machine")
            return False
        except Exception as exc:  # a broken key file and the like
            self.emit(FAIL, "token", f"cannot obtain a token ({type(exc).__name__}: {_short(exc)})")
            return False
        self.emit(OK, "token", "refreshed: Google issued an access token")
        return True

    def refresh_advice(self, message: str) -> str:
        if "invalid_grant" in message:
            if self.kind == "authorized_user":
                return ("token revoked or expired (invalid_grant): run `balcao auth` again; if the "
                        "OAuth app is in Testing, tokens die after 7 days — publish it")
            return ("the service-account key was refused (invalid_grant): the key may be deleted "
                    "or the clock of this machine wrong; create a new key and check the time")
        if "invalid_scope" in message or "Not all requested scopes" in message:
            return ("the token was authorised for fewer scopes than this configuration needs "
                    "(invalid_scope): run `balcao auth` again and allow every scope")
        if "unauthorized_client" in message:
            return ("domain-wide delegation is not authorised for these scopes "
                    "(unauthorized_client): in the Admin console → Security → API controls → "
                    "Domain-wide delegation, authorise the service account's client id with "
                    "exactly: " + ",".join(self.scopes()))
        return f"token refresh refused: {_short(message)}"

    def scopes(self) -> list[str]:
        from worker import bootstrap

        return bootstrap.google_scopes(self.s)

    # ----------------------------------------------------------------- Google helpers

    def explain(self, exc: AdapterError, method: str, *, on_404: str, on_403: str) -> str:
        """Plain words for a failed call; scope failures are remembered for the scopes line."""
        if exc.reason in SCOPE_REASONS:
            self.scope_failures[method] = exc.message
            return (f"the token lacks the scope for {method}: run `balcao auth` again (OAuth) or "
                    "add the scope to the delegation in the Admin console")
        if exc.status == 404:
            return on_404
        if exc.status == 403 and exc.reason in (None, "forbidden", "PERMISSION_DENIED",
                                                "requiredAccessLevel", "insufficientPermissions"):
            return on_403
        if exc.reason == "failedPrecondition":
            return DWD_ADVICE.format(what="use Gmail")
        if "Invalid conference type value" in exc.message:
            return DWD_ADVICE.format(what="create Meet links")
        if exc.reason == "forbiddenForServiceAccounts":
            return DWD_ADVICE.format(what="invite attendees")
        if exc.transient:
            return f"Google did not answer well ({exc.message}); try again in a minute"
        return exc.message

    def sheets_http(self) -> Any:
        return self.probe_api().sheets

    def call(self, operation: str, write: bool, fn: Callable[[], Any]) -> Any:
        return self.probe_api().call(operation, write, fn)

    def execute(self, operation: str, write: bool, request: Any) -> Any:
        """A googleapiclient request, never retried by the library."""
        return self.probe_api().execute(operation, write, request)

    def service(self, api: str) -> Any:
        return self.probe_api().service(api)

    # ----------------------------------------------------------------- the sheet

    def check_spreadsheet(self) -> bool:
        sid = self.s.form.spreadsheet_id
        if not sid or sid.startswith("REPLACE-"):
            self.emit(FAIL, "spreadsheet", "form.spreadsheet_id is not set: copy the id from the "
                      "response sheet's URL (between /d/ and /edit)")
            return False
        http = self.sheets_http()
        try:
            meta = self.call("sheets spreadsheets.get", False, lambda: http.fetch_sheet_metadata(
                sid, params={"fields": "properties(title,timeZone),sheets(properties(title))"}))
        except AdapterError as exc:
            self.emit(FAIL, "spreadsheet", self.explain(
                exc, "sheets.spreadsheets.get",
                on_404=f"spreadsheet {sid!r} not found (404): check form.spreadsheet_id (the id "
                "in the sheet's URL between /d/ and /edit)",
                on_403=f"no access to the spreadsheet (403): share the sheet with {self.who()} "
                "as Editor"))
            return False
        props = meta.get("properties", {})
        self.emit(OK, "spreadsheet", f"reachable: {props.get('title', sid)!r}")
        tabs = [str(t.get("properties", {}).get("title", "")) for t in meta.get("sheets", ())]
        ws = self.s.form.worksheet
        if ws not in tabs:
            self.emit(FAIL, "worksheet", f"{ws!r} not found: set form.worksheet to the tab that "
                      f"receives the responses (tabs: {', '.join(repr(t) for t in tabs)})")
            return False
        self.emit(OK, "worksheet", f"{ws!r} present")
        return True

    def check_headers(self) -> None:
        http = self.sheets_http()
        ws = self.s.form.worksheet
        try:
            body = self.call("sheets values.batchGet", False, lambda: http.values_batch_get(
                self.s.form.spreadsheet_id, [self.probe_api().a1(ws, "1:1")],
                params={"valueRenderOption": "UNFORMATTED_VALUE"}))
        except AdapterError as exc:
            self.emit(FAIL, "headers", self.explain(
                exc, "sheets.spreadsheets.values.batchGet", on_404="the header row cannot be read",
                on_403=f"share the sheet with {self.who()} as Editor"))
            return
        rows = (body.get("valueRanges") or [{}])[0].get("values") or [[]]
        self.header = list(rows[0])
        present = {str(v).strip() for v in self.header if v not in (None, "")}
        cols = self.s.form.columns
        missing = [(key, title) for key, title in vars(cols).items()
                   if title is not None and title.strip() not in present]
        if missing:
            listed = "; ".join(f"{title!r} (form.columns.{key})" for key, title in missing)
            self.emit(FAIL, "headers", f"missing in row 1: {listed}: set each key to the title "
                      "exactly as row 1 shows it (or null for consent)")
        else:
            n = sum(1 for v in vars(cols).values() if v is not None)
            self.emit(OK, "headers", f"all {n} mapped titles present in row 1")

    def check_writable(self) -> None:
        http = self.sheets_http()
        # Rewrite A1 with its own value (RAW): proves Editor access and changes nothing, even
        # before balcao has added its columns.
        first = self.header[0] if self.header else ""
        data = [{"range": self.probe_api().a1(self.s.form.worksheet, "A1"),
                 "majorDimension": "ROWS", "values": [[first]]}]
        try:
            self.call("sheets values.batchUpdate", True, lambda: http.values_batch_update(
                self.s.form.spreadsheet_id, body={"valueInputOption": "RAW", "data": data}))
        except AdapterError as exc:
            self.emit(FAIL, "sheet writable", self.explain(
                exc, "sheets.spreadsheets.values.batchUpdate",
                on_404="the worksheet disappeared while checking; run the check again",
                on_403=f"read-only access: share the sheet with {self.who()} as Editor (not "
                "Viewer or Commenter), and leave the header row unprotected"))
            return
        self.emit(OK, "sheet writable", "header cell A1 rewritten with its own value (RAW)")

    # ----------------------------------------------------------------- calendars

    def check_calendars(self) -> list[str]:
        cal = self.service("calendar")
        assert self.now is not None
        reachable: list[str] = []
        for cid in self.s.scheduling.calendars:
            share = (f"share calendar {cid!r} with {self.who()} ('Make changes to events'), or "
                     "fix scheduling.calendars")
            body = {"timeMin": self.now.isoformat(),
                    "timeMax": (self.now + timedelta(minutes=1)).isoformat(),
                    "items": [{"id": cid}]}
            try:
                fb = self.execute("calendar freebusy.query", False, cal.freebusy().query(body=body))
                errors = fb.get("calendars", {}).get(cid, {}).get("errors") or []
                if errors:
                    reason = errors[0].get("reason", "error")
                    self.emit(FAIL, f"calendar {cid}", f"not reachable ({reason}): {share}")
                    continue
                self.execute("calendar events.list", False, cal.events().list(
                    calendarId=cid, maxResults=1, timeMin=self.now.isoformat()))
            except AdapterError as exc:
                method = ("calendar.freebusy.query" if "freebusy" in exc.message
                          else "calendar.events.list")
                self.emit(FAIL, f"calendar {cid}", self.explain(
                    exc, method, on_404=f"not found (404): {share}", on_403=f"no access: {share}"))
                continue
            reachable.append(cid)
            self.emit(OK, f"calendar {cid}", "reachable (free/busy and events readable)")
        return reachable

    def check_meet(self, reachable: list[str]) -> None:
        if not self.probe:
            self.emit(SKIP, "Meet creation", "not tried: run `balcao check --probe` to create and "
                      "delete a test event with a Meet link")
            return
        if not reachable:
            self.emit(SKIP, "Meet creation", "not tried (no reachable calendar)")
            return
        cal = self.service("calendar")
        tz = self.s.office.timezone
        assert self.now is not None
        day = (self.now + timedelta(days=730)).date()
        start = datetime(day.year, day.month, day.day, 3, 0, tzinfo=ZoneInfo(tz))
        for cid in reachable:
            event_id = "balcaocheck" + "".join(secrets.choice("0123456789abcdefghijklmnopqrstuv")
                                               for _ in range(16))
            body = {
                "id": event_id,
                "summary": "balcao check (teste, será apagado)",
                "start": {"dateTime": start.isoformat(), "timeZone": tz},
                "end": {"dateTime": (start + timedelta(minutes=15)).isoformat(), "timeZone": tz},
                "conferenceData": {"createRequest": {
                    "requestId": event_id, "conferenceSolutionKey": {"type": "hangoutsMeet"}}},
            }
            try:
                ev = self.execute("calendar events.insert", True, cal.events().insert(
                    calendarId=cid, body=body, conferenceDataVersion=1, sendUpdates="none"))
            except AdapterError as exc:
                self.emit(FAIL, f"Meet creation ({cid})", self.explain(
                    exc, "calendar.events.insert",
                    on_404=f"calendar {cid!r} not found while creating the test event",
                    on_403=f"cannot create events: share calendar {cid!r} with {self.who()} "
                    "('Make changes to events')"))
                continue
            status = (ev.get("conferenceData", {}).get("createRequest", {})
                      .get("status", {}).get("statusCode"))
            deleted = self._delete(cal, cid, event_id)
            tail = "" if deleted else f" (could not delete test event {event_id}: delete it by hand)"
            if status == "failure" or (status is None and not ev.get("hangoutLink")):
                self.emit(FAIL, f"Meet creation ({cid})", "Google created the event but no Meet "
                          "link (status " + str(status) + "): allow Google Meet as the video "
                          "conferencing of this calendar/domain" + tail)
            else:
                self.emit(OK, f"Meet creation ({cid})", f"test event with Meet created ({status})"
                          " and deleted" + tail)

    def _delete(self, cal: Any, cid: str, event_id: str) -> bool:
        try:
            self.call("calendar events.delete", False, lambda: cal.events().delete(
                calendarId=cid, eventId=event_id, sendUpdates="none").execute(num_retries=0))
        except AdapterError as exc:
            return exc.status == 410
        return True

    def check_attendees(self) -> None:
        if not self.s.scheduling.invite_citizen:
            return
        if self.kind == "service_account" and not self.s.google.delegated_user:
            self.emit(FAIL, "attendees", DWD_ADVICE.format(what="invite attendees") +
                      "; or set scheduling.invite_citizen: false")
        else:
            self.emit(OK, "attendees", "the citizen can be invited (OAuth or delegation)")

    # ----------------------------------------------------------------- sending

    def check_sending(self, google_ok: bool) -> None:
        from worker import bootstrap

        try:
            sender = bootstrap.sender(self.s)
        except ConfigError as exc:
            self.emit(FAIL, "sending", str(exc))
            return
        if self.s.mail.transport == "smtp":
            self._check_smtp(sender)
            return
        if not google_ok:
            self.emit(SKIP, "sending", "Gmail not checked (fix the credentials first)")
            return
        if self.kind == "service_account" and not self.s.google.delegated_user:
            self.emit(FAIL, "sending", DWD_ADVICE.format(what="use Gmail") +
                      "; or set mail.transport: smtp")
            return
        gmail = self.service("gmail")
        user = self.s.mail.gmail_user
        if self.s.mail.sent_check or self.s.mail.bounce_check or self.kind == "dummy":
            try:
                prof = self.call("gmail users.getProfile", False, lambda: gmail.users()
                                 .getProfile(userId=user).execute(num_retries=0))
            except AdapterError as exc:
                self.emit(FAIL, "sending", self._gmail_advice(exc, "gmail.users.getProfile"))
                return
            self.emit(OK, "sending", f"Gmail mailbox {prof.get('emailAddress', user)} readable "
                      "(users.getProfile)")
            return
        raw = base64.urlsafe_b64encode(
            f"From: {sender}\r\nSubject: balcao check (never delivered: no recipient)\r\n\r\n."
            .encode()).decode()
        try:
            self.call("gmail users.messages.send", True, lambda: gmail.users().messages()
                      .send(userId=user, body={"raw": raw}).execute(num_retries=0))
        except AdapterError as exc:
            if exc.status == 400 and exc.reason not in ("failedPrecondition",):
                self.emit(OK, "sending", "Gmail accepts messages from this account (a message "
                          "without recipient was refused as intended; nothing was sent)")
                return
            self.emit(FAIL, "sending", self._gmail_advice(exc, "gmail.users.messages.send"))
            return
        self.emit(OK, "sending", "Gmail accepted a message without recipient (not delivered)")

    def check_sender_account(self) -> None:
        """Warn (not fail) when Gmail would send From an address that is not the account's.

        Gmail rewrites a From that is neither the sending account nor one of its verified
        send-as aliases (or refuses it); reading the aliases needs another scope
        (gmail.settings.basic) that balcao does not ask for, so this can only warn.
        """
        account = self.s.google.delegated_user
        sender = self.s.mail.sender or self.s.office.email
        if self.s.mail.transport != "gmail" or not account or not sender:
            return
        if sender.strip().lower() == account.strip().lower():
            return
        self.emit(WARN, "sender", f"mail.sender {sender} differs from google.delegated_user "
                  f"{account}, the account Gmail sends as: Gmail rewrites (or rejects) a From that "
                  f"is not the account or one of its send-as aliases. balcao cannot read the "
                  f"aliases: make sure {sender} is a verified alias of {account} (Gmail settings → "
                  f"Accounts → Send mail as), or set mail.sender to {account}")

    def _gmail_advice(self, exc: AdapterError, method: str) -> str:
        user = self.s.mail.gmail_user
        return self.explain(
            exc, method,
            on_404=f"mailbox {user!r} not found: set mail.gmail_user to me or the account's address",
            on_403=f"Gmail refused mailbox {user!r}: set mail.gmail_user to `me` (or the address "
            "of the authorised account / delegated user)")

    def _check_smtp(self, sender: str) -> None:
        from worker.adapters.smtp import SmtpMailer

        sm = self.s.mail.smtp
        password = os.environ.get(sm.password_env) if sm.username else None
        if sm.username and not password:
            self.emit(FAIL, "sending", f"SMTP user {sm.username!r} set but the environment "
                      f"variable {sm.password_env} is empty: put the password there (e.g. in "
                      "/etc/balcao/balcao.env)")
            return
        mailer = SmtpMailer(sm.host, sm.port, sender=sender, security=sm.security,
                            username=sm.username, password=password,
                            timeout=self.s.google.timeout_seconds)
        try:
            mailer.login_check()
        except AdapterError as exc:
            fix = (f"check mail.smtp.username and {sm.password_env} (an app password for Gmail)"
                   if exc.auth else f"check mail.smtp.host/port/security ({sm.host}:{sm.port})")
            self.emit(FAIL, "sending", f"SMTP: {exc.message}: {fix}")
            return
        self.emit(OK, "sending", f"SMTP login to {sm.host}:{sm.port} succeeded")

    # ----------------------------------------------------------------- scopes

    def check_scopes(self) -> None:
        methods = required_methods(self.s)
        if self.kind == "dummy":
            self.emit(OK, "scopes", "dummy sandbox token: every scope")
            return
        if self.kind == "authorized_user":
            granted = set(self.file_scopes or [])
            live = getattr(self.creds, "granted_scopes", None)
            if live:
                granted = set(live)
        else:
            granted = set(getattr(self.creds, "scopes", None) or self.scopes())
        missing = missing_scopes(methods, granted)
        for method in self.scope_failures:
            missing.setdefault(method, method_scopes().get(method, ()))
        if missing:
            need = "; ".join(f"{m} needs one of {', '.join(short_scope(s) for s in accepted)}"
                             for m, accepted in sorted(missing.items()))
            fix = ("run `balcao auth` again and allow every scope" if self.kind == "authorized_user"
                   else "authorise these scopes for the service account's client id "
                   "(Admin console → Domain-wide delegation)")
            self.emit(FAIL, "scopes", f"{need}: {fix}")
        else:
            self.emit(OK, "scopes", f"the token covers all {len(methods)} Google methods balcao "
                      f"calls ({', '.join(short_scope(s) for s in sorted(granted))})")

    # ----------------------------------------------------------------- journal

    def check_journal(self) -> None:
        """The journal: writable (never created here), and knowing every protocol the sheet
        shows (a journal that does not is refused by `run`: the same words here)."""
        from worker import journalcheck

        mark, text, facts = journalcheck.journal_line(self.s)
        if mark == OK and self.header:
            agree, said = self._agreement(facts)
            mark, text = (FAIL, said) if agree == FAIL else (OK, f"{text}; {said}")
        self.emit(mark, "journal", text)
        if facts.exists:
            self.check_jobs(self.s.journal.path)
        if self.header:
            self.emit(*self._named("column titles", journalcheck.collisions_line(
                self.s, self.header, facts)))

    def _agreement(self, facts: Any) -> tuple[str, str]:
        from worker import bootstrap, journalcheck

        try:
            sheet = bootstrap.adapters(self.s)[0]
        except (ConfigError, AdapterError) as exc:
            return FAIL, f"not compared with the sheet: {_short(exc)}"
        return journalcheck.agreement_line(self.s, self.header, facts, sheet)

    @staticmethod
    def _named(name: str, line: tuple[str, str]) -> tuple[str, str, str]:
        return line[0], name, line[1]

    def check_jobs(self, path: str) -> None:
        """Each scheduled job's last run (DESIGN §8), read from the journal."""
        from worker.jobs import last_runs
        from worker.journal import Journal

        journal = Journal(path, readonly=True)
        try:
            for name, text in last_runs(self.s, journal):  # a job left off is no fault
                self.emit(OK, f"job {name}", text)
        finally:
            journal.close()


def _short(exc: object) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:199] + "…"


def run_check(settings: Settings, probe: bool = False, *, config_path: str | None = None,
              out: TextIO | None = None) -> int:
    """Run every check and print one line each; 0 only when none failed."""
    import logging

    for noisy in ("googleapiclient", "google", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    return Checker(settings, probe=probe, config_path=config_path,
                   out=out or sys.stdout).run()
