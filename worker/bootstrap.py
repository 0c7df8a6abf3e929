"""Settings → dependencies: the only place where adapters are chosen and built; no business logic."""

from __future__ import annotations

import os
import threading
import typing
from pathlib import Path

from worker.officeconfig import HasOffice, parse_month_day, workday_numbers
from worker.officetime import OfficeCalendar
from worker.settingtypes import Closure, ConfigError, RecurringHoliday

if typing.TYPE_CHECKING:
    # Only a type here: `balcao deadline` and `calendar` never open a journal, so they do
    # not pay for sqlite3 and the journal's imports (~15 ms of their start-up), nor for the
    # e-mail rendering's (~11 ms), nor for the request types the ports speak (~12 ms).
    from worker.config import Settings
    from worker.journal import Journal
    from worker.messages import OfficeInfo, Renderer
    from worker.ports import Calendar, Mailer, ResponseSheet

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def templates_dir() -> Path:
    """``templates/`` beside the package (source checkout), overridable for installed copies."""
    override = os.environ.get("BALCAO_TEMPLATES")
    return Path(override) if override else TEMPLATES_DIR


class Lazy:
    """An adapter built on first use. Most ticks only read the sheet, so the Calendar and
    Gmail clients (the discovery machinery is the heaviest import) wait until needed."""

    def __init__(self, factory: typing.Callable[[], object]) -> None:
        self._factory = factory
        self._target: object | None = None

    def __getattr__(self, name: str) -> typing.Any:
        # Only called for attributes not found on the proxy itself.
        if self._target is None:
            self._target = self._factory()
        return getattr(self._target, name)


def office_calendar(s: HasOffice) -> OfficeCalendar:
    """The office calendar of the settings (or of ``officeconfig.load``'s two sections)."""
    municipal: list[RecurringHoliday] = []
    extra: list[Closure] = []
    for m in s.calendar.municipal_holidays:
        if m.easter_offset is not None:
            municipal.append(RecurringHoliday(m.name, easter_offset=m.easter_offset))
            continue
        parsed = parse_month_day(m.date or "")
        assert parsed is not None  # validated by config
        year, month, day = parsed
        if year is None:
            municipal.append(RecurringHoliday(m.name, month=month, day=day))
        else:
            from datetime import date

            extra.append(Closure(date(year, month, day), m.name, source="municipal"))
    for c in s.calendar.extra_closures:
        extra.append(Closure(c.date, c.name, c.open_from, c.open_until, source="config"))
    try:
        return OfficeCalendar(
            timezone=s.office.timezone,
            opens=s.office.opens,
            closes=s.office.closes,
            workdays=workday_numbers(s),
            carnival_closed=s.calendar.carnival_closed,
            ash_wednesday_opens=s.calendar.ash_wednesday_opens,
            municipal=municipal,
            extra=extra,
        )
    except ValueError as exc:
        raise ConfigError(f"calendar: {exc}") from None


def office_info(s: Settings) -> OfficeInfo:
    from worker.messages import OfficeInfo
    from worker.textfmt import fmt_office_hours

    return OfficeInfo(
        name=s.office.name,
        address=s.office.address,
        phones=tuple(s.office.phones),
        whatsapp=s.office.whatsapp,
        email=s.office.email,
        website=s.office.website,
        privacy_policy_url=s.office.privacy_policy_url,
        hours_text=fmt_office_hours(s.office.workdays, s.office.opens, s.office.closes),
        timezone=s.office.timezone,
        # The spam advice names the address mail really comes From (bootstrap.sender).
        sender=s.mail.sender or s.office.email,
        form_url=s.office.form_url,
    )


def sender(s: Settings) -> str:
    from email.headerregistry import Address

    addr = s.mail.sender or s.office.email
    if not addr or "@" not in addr:
        raise ConfigError(f"mail.sender: expected an e-mail address, found {addr!r}")
    user, _, domain = addr.partition("@")
    return str(Address(display_name=s.mail.sender_name or s.office.name, username=user, domain=domain))


def google_scopes(s: Settings) -> list[str]:
    from worker.adapters.google_auth import scopes_for

    return scopes_for(s.mail.transport, reads_mail(s), s.scheduling.invite_citizen)


def reads_mail(s: Settings) -> bool:
    """gmail.readonly is asked for (and used) for the sent-mail check and the bounce check."""
    return s.mail.sent_check or s.mail.bounce_check


def credentials(s: Settings):  # type: ignore[no-untyped-def]
    from worker.adapters.google_auth import load_credentials

    return load_credentials(
        s.google.credentials_file,
        google_scopes(s),
        api_endpoint=s.google.api_endpoint,
        delegated_user=s.google.delegated_user,
    )


def adapters(s: Settings, *, timeout: float | None = None) -> tuple[ResponseSheet, Calendar, Mailer]:
    """Build the Google (or SMTP) adapters; makes no network request."""
    from worker.adapters.google_sheets import GoogleSheet

    if not s.form.spreadsheet_id or s.form.spreadsheet_id.startswith("REPLACE-"):
        raise ConfigError(
            f"form.spreadsheet_id: expected the id of the response spreadsheet, "
            f"found {s.form.spreadsheet_id!r}"
        )
    t = timeout or s.google.timeout_seconds
    creds = credentials(s)
    ep = s.google.api_endpoint
    sheet = GoogleSheet(creds, s.form.spreadsheet_id, s.form.worksheet, api_endpoint=ep, timeout=t)

    def make_calendar() -> Calendar:
        from worker.adapters.google_calendar import GoogleCalendar

        return GoogleCalendar(
            creds, api_endpoint=ep, timeout=t, meet_poll_gets=s.scheduling.meet_poll_gets,
            meet_poll_delay=s.scheduling.meet_poll_delay_seconds,
        )

    def make_mailer() -> Mailer:
        if s.mail.transport == "gmail":
            from worker.adapters.gmail import GmailMailer

            return GmailMailer(
                creds, sender=sender(s), can_search_sent=reads_mail(s),
                user_id=s.mail.gmail_user, api_endpoint=ep, timeout=t, reply_to=s.mail.reply_to,
            )
        from worker.adapters.smtp import SmtpMailer

        sm = s.mail.smtp
        return SmtpMailer(
            sm.host, sm.port, sender=sender(s), security=sm.security, username=sm.username,
            password=os.environ.get(sm.password_env) if sm.username else None, timeout=t,
            reply_to=s.mail.reply_to,
        )

    sender(s)  # a bad sender is a configuration error now, not at the first e-mail
    cal = typing.cast("Calendar", Lazy(make_calendar))
    mailer = typing.cast("Mailer", Lazy(make_mailer))
    return sheet, cal, mailer


def deps(s: Settings, journal: Journal, *, stop: threading.Event | None = None):  # type: ignore[no-untyped-def]
    """Everything a tick needs, wired from the settings."""
    from worker.adapters.heap import keep_heap_compact
    from worker.deps import Deps

    keep_heap_compact()  # the daemon's memory stays near its idle size after working ticks
    sheet, cal, mailer = adapters(s)
    return Deps(
        settings=s,
        sheet=sheet,
        calendar=cal,
        mailer=mailer,
        journal=journal,
        office=office_calendar(s),
        renderer=_renderer(),
        office_info=office_info(s),
        stop=stop or threading.Event(),
    )


def _renderer() -> Renderer:
    from worker.messages import Renderer

    return Renderer(templates_dir())
