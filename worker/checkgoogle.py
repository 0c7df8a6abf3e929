"""`balcao check`'s Google checks (the sheet, the calendars, Meet, sending): what each finding means for the operator and the fix; the requests themselves are in adapters.google_probe."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from worker.config import Settings
from worker.model import AdapterError, ConfigError

OK, FAIL, SKIP, WARN = "✓", "✗", "–", "!"

DWD_ADVICE = (
    "a service account without domain-wide delegation cannot {what}: set google.delegated_user "
    "to a Workspace user (and authorise the service account's client id for balcao's scopes in "
    "the Admin console), or use an OAuth token from `balcao auth`"
)


class GoogleChecks:
    """The checks that talk to Google (a mixin of ``Checker``, which provides the output,
    the credentials and the probe)."""

    s: Settings
    probe: bool
    now: datetime | None
    kind: str
    header: list[Any]

    def emit(self, mark: str, name: str, text: str) -> None:
        raise NotImplementedError

    def who(self) -> str:
        raise NotImplementedError

    def probe_api(self) -> Any:
        raise NotImplementedError

    def explain(self, exc: AdapterError, method: str, *, on_404: str, on_403: str) -> str:
        raise NotImplementedError

    def check_spreadsheet(self) -> bool:
        sid = self.s.form.spreadsheet_id
        if not sid or sid.startswith("REPLACE-"):
            self.emit(FAIL, "spreadsheet", "form.spreadsheet_id is not set: copy the id from the "
                      "response sheet's URL (between /d/ and /edit)")
            return False
        try:
            title, tabs = self.probe_api().spreadsheet_meta(sid)
        except AdapterError as exc:
            self.emit(FAIL, "spreadsheet", self.explain(
                exc, "sheets.spreadsheets.get",
                on_404=f"spreadsheet {sid!r} not found (404): check form.spreadsheet_id (the id "
                "in the sheet's URL between /d/ and /edit)",
                on_403=f"no access to the spreadsheet (403): share the sheet with {self.who()} "
                "as Editor"))
            return False
        self.emit(OK, "spreadsheet", f"reachable: {title!r}")
        ws = self.s.form.worksheet
        if ws not in tabs:
            self.emit(FAIL, "worksheet", f"{ws!r} not found: set form.worksheet to the tab that "
                      f"receives the responses (tabs: {', '.join(repr(t) for t in tabs)})")
            return False
        self.emit(OK, "worksheet", f"{ws!r} present")
        return True

    def check_headers(self) -> None:
        ws = self.s.form.worksheet
        try:
            header = self.probe_api().header_row(self.s.form.spreadsheet_id, ws)
        except AdapterError as exc:
            self.emit(FAIL, "headers", self.explain(
                exc, "sheets.spreadsheets.values.batchGet", on_404="the header row cannot be read",
                on_403=f"share the sheet with {self.who()} as Editor"))
            return
        self.header = header
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
        # Rewrite A1 with its own value (RAW): proves Editor access and changes nothing, even
        # before balcao has added its columns.
        first = self.header[0] if self.header else ""
        try:
            self.probe_api().rewrite_cell(
                self.s.form.spreadsheet_id, self.s.form.worksheet, "A1", first)
        except AdapterError as exc:
            self.emit(FAIL, "sheet writable", self.explain(
                exc, "sheets.spreadsheets.values.batchUpdate",
                on_404="the worksheet disappeared while checking; run the check again",
                on_403=f"read-only access: share the sheet with {self.who()} as Editor (not "
                "Viewer or Commenter), and leave the header row unprotected"))
            return
        self.emit(OK, "sheet writable", "header cell A1 rewritten with its own value (RAW)")

    def check_calendars(self) -> list[str]:
        assert self.now is not None
        reachable: list[str] = []
        for cid in self.s.scheduling.calendars:
            share = (f"share calendar {cid!r} with {self.who()} ('Make changes to events'), or "
                     "fix scheduling.calendars")
            try:
                errors = self.probe_api().calendar_errors(cid, self.now)
                if errors:
                    self.emit(FAIL, f"calendar {cid}", f"not reachable ({errors[0]}): {share}")
                    continue
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
        tz = self.s.office.timezone
        assert self.now is not None
        day = (self.now + timedelta(days=730)).date()
        start = datetime(day.year, day.month, day.day, 3, 0, tzinfo=ZoneInfo(tz))
        for cid in reachable:
            try:
                event_id, status, has_link, deleted = self.probe_api().meet_test(cid, start, tz)
            except AdapterError as exc:
                self.emit(FAIL, f"Meet creation ({cid})", self.explain(
                    exc, "calendar.events.insert",
                    on_404=f"calendar {cid!r} not found while creating the test event",
                    on_403=f"cannot create events: share calendar {cid!r} with {self.who()} "
                    "('Make changes to events')"))
                continue
            tail = "" if deleted else f" (could not delete test event {event_id}: delete it by hand)"
            if status == "failure" or (status is None and not has_link):
                self.emit(FAIL, f"Meet creation ({cid})", "Google created the event but no Meet "
                          "link (status " + str(status) + "): allow Google Meet as the video "
                          "conferencing of this calendar/domain" + tail)
            else:
                self.emit(OK, f"Meet creation ({cid})", f"test event with Meet created ({status})"
                          " and deleted" + tail)

    def check_attendees(self) -> None:
        if not self.s.scheduling.invite_citizen:
            return
        if self.kind == "service_account" and not self.s.google.delegated_user:
            self.emit(FAIL, "attendees", DWD_ADVICE.format(what="invite attendees") +
                      "; or set scheduling.invite_citizen: false")
        else:
            self.emit(OK, "attendees", "the citizen can be invited (OAuth or delegation)")

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
        user = self.s.mail.gmail_user
        if self.s.mail.sent_check or self.s.mail.bounce_check or self.kind == "dummy":
            try:
                address = self.probe_api().gmail_address(user)
            except AdapterError as exc:
                self.emit(FAIL, "sending", self._gmail_advice(exc, "gmail.users.getProfile"))
                return
            self.emit(OK, "sending", f"Gmail mailbox {address} readable (users.getProfile)")
            return
        try:
            self.probe_api().gmail_send_without_recipient(user, sender)
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
