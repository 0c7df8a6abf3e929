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

import json
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from worker.checkgoogle import DWD_ADVICE, FAIL, OK, SKIP, GoogleChecks
from worker.config import Settings
from worker.model import AdapterError, ConfigError

EXIT_OK, EXIT_FAIL = 0, 1

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
class Checker(GoogleChecks):
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

    # ----------------------------------------------------------------- the sheet




    # ----------------------------------------------------------------- calendars




    # ----------------------------------------------------------------- sending





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
