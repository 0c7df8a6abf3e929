"""Configuration: config.yaml + BALCAO__ environment overrides → frozen Settings; every error names its key path.

Nothing here talks to Google or reads the clock. The schema lives in the dataclasses below and
in worker.officeconfig (the office and its calendar, which `balcao deadline` loads alone);
reading the file and the typed conversion are worker.configfile's. Unknown keys, wrong types
and impossible values raise ConfigError.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from worker import configfile, officeconfig
from worker.officeconfig import (  # noqa: F401  (re-exported: part of the settings' schema)
    CalendarSettings,
    ClosureEntry,
    MunicipalHolidayEntry,
    OfficeSettings,
    parse_month_day,
    workday_numbers,
)
from worker.settingtypes import AnswerTexts, ColumnTitles, ConfigError, OwnedTitles

# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class FormSettings:
    spreadsheet_id: str = ""
    worksheet: str = "Respostas ao formulário 1"
    process_since: datetime | None = None
    # The sample form's titles and answer texts are the defaults (worker.settingtypes).
    columns: ColumnTitles = field(default_factory=ColumnTitles)
    answers: AnswerTexts = field(default_factory=AnswerTexts)
    # Titles of balcao's own columns; a form question must never carry one of them.
    owned_columns: OwnedTitles = field(default_factory=OwnedTitles)


@dataclass(frozen=True)
class GoogleSettings:
    api_endpoint: str | None = None
    credentials_file: str | None = None
    delegated_user: str | None = None
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class IntakeSettings:
    duplicate_window_minutes: int = 10
    max_open_per_email: int = 3
    max_first_backlog: int = 50
    max_field_length: int = 500


@dataclass(frozen=True)
class SchedulingSettings:
    mode: Literal["auto", "manual"] = "auto"
    calendars: tuple[str, ...] = ("primary",)
    slot_minutes: int = 30
    buffer_minutes: int = 10
    lead_minutes: int = 60
    max_per_day: int = 8
    horizon_days: int = 10
    granularity_minutes: int = 15
    invite_citizen: bool = False
    meet_poll_gets: int = 3
    meet_poll_delay_seconds: float = 0.5


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str = "BALCAO_SMTP_PASSWORD"


@dataclass(frozen=True)
class MailSettings:
    transport: Literal["gmail", "smtp"] = "gmail"
    sender: str = ""
    sender_name: str = ""
    reply_to: str | None = None
    gmail_user: str = "me"
    daily_limit: int = 400
    message_id_domain: str = "balcao.invalid"
    sent_check: bool = False
    # Read failed-delivery reports (needs gmail.readonly; never over SMTP): the bounces job.
    bounce_check: bool = False
    smtp: SmtpSettings = field(default_factory=SmtpSettings)


@dataclass(frozen=True)
class ReminderSettings:
    hours_before: tuple[int, ...] = (24, 2)


@dataclass(frozen=True)
class DigestSettings:
    recipients: tuple[str, ...] = ()  # empty: no digest and no deadline alerts
    at: time = time(7, 30)


@dataclass(frozen=True)
class AlertSettings:
    before_deadline_minutes: int = 120  # office minutes


@dataclass(frozen=True)
class JournalSettings:
    path: str = "balcao.sqlite3"
    # The first release's name for privacy.retention_days, still accepted (never both).
    retention_days: int | None = None


DEFAULT_RETENTION_DAYS = 365


@dataclass(frozen=True)
class Encarregado:
    """The data protection officer (LGPD art. 41) named in the record of processing."""

    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class PrivacySettings:
    retention_days: int | None = None  # None: journal.retention_days, else 365
    legal_hold: tuple[str, ...] = ()  # protocols never erased (a court order, a dispute)
    encarregado: Encarregado = field(default_factory=Encarregado)


@dataclass(frozen=True)
class PollSettings:
    interval_seconds: float = 60.0


@dataclass(frozen=True)
class RetrySettings:
    attempts: int = 4
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 64.0
    stop_timeout_seconds: float = 5.0
    failed_tick_backoff_max_seconds: float = 600.0


@dataclass(frozen=True)
class LogSettings:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464


@dataclass(frozen=True)
class LifecycleSettings:
    """After the booking (DESIGN §7)."""

    no_show_email: bool = True  # `Não compareceu` e-mails the citizen an invitation to book again


@dataclass(frozen=True)
class HeartbeatSettings:
    enabled: bool = True
    worksheet: str = "balcao"
    interval_minutes: int = 10


@dataclass(frozen=True)
class Settings:
    office: OfficeSettings = field(default_factory=OfficeSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    form: FormSettings = field(default_factory=FormSettings)
    google: GoogleSettings = field(default_factory=GoogleSettings)
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    scheduling: SchedulingSettings = field(default_factory=SchedulingSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    journal: JournalSettings = field(default_factory=JournalSettings)
    poll: PollSettings = field(default_factory=PollSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)
    log: LogSettings = field(default_factory=LogSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    heartbeat: HeartbeatSettings = field(default_factory=HeartbeatSettings)
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    @property
    def retention_days(self) -> int:
        """``privacy.retention_days``, or its alias ``journal.retention_days``, or 365."""
        for value in (self.privacy.retention_days, self.journal.retention_days):
            if value is not None:
                return value
        return DEFAULT_RETENTION_DAYS
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)


# --------------------------------------------------------------------------- loading

def load(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (None = defaults only), apply ``BALCAO__`` overrides, validate.

    Relative ``journal.path`` and ``google.credentials_file`` are resolved against the
    config file's folder, so the service works whatever its working directory.
    """
    raw, base = configfile.read(path, os.environ if environ is None else environ)
    settings = typing.cast(Settings, configfile.build(Settings, raw, ""))
    settings = _resolve_paths(settings, base)
    validate(settings)
    since = settings.form.process_since
    if since is not None and since.tzinfo is None:
        # Naive = office time; kept aware so comparisons never mix naive and aware values.
        since = since.replace(tzinfo=ZoneInfo(settings.office.timezone))
        settings = dataclasses.replace(
            settings, form=dataclasses.replace(settings.form, process_since=since)
        )
    return settings


def _resolve_paths(s: Settings, base: Path) -> Settings:
    journal_path = str(base / s.journal.path) if s.journal.path != ":memory:" else s.journal.path
    creds = s.google.credentials_file
    if creds:
        creds = str(base / creds)
    return dataclasses.replace(
        s,
        journal=dataclasses.replace(s.journal, path=journal_path),
        google=dataclasses.replace(s.google, credentials_file=creds),
    )


def _validate_owned_columns(form: FormSettings) -> None:
    problem = form.owned_columns.conflict(form.columns)
    if problem:
        raise ConfigError(problem)


def validate(s: Settings) -> None:
    """Cross-field and range checks the type system cannot express; each error names the key
    path, what was expected and what was found."""
    _validate_owned_columns(s.form)
    officeconfig.validate(s)
    _validate_intake_and_scheduling(s)
    _validate_mail_and_service(s)
    _validate_privacy(s)
    _validate_jobs(s)


def _validate_intake_and_scheduling(s: Settings) -> None:
    _positive("intake.duplicate_window_minutes", s.intake.duplicate_window_minutes, zero=True)
    _positive("intake.max_open_per_email", s.intake.max_open_per_email)
    _positive("intake.max_first_backlog", s.intake.max_first_backlog, zero=True)
    _positive("intake.max_field_length", s.intake.max_field_length)
    sc = s.scheduling
    if not sc.calendars:
        raise ConfigError("scheduling.calendars: expected at least one calendar id, found []")
    for key in ("slot_minutes", "max_per_day", "horizon_days", "granularity_minutes"):
        _positive(f"scheduling.{key}", getattr(sc, key))
    for key in ("buffer_minutes", "lead_minutes", "meet_poll_gets"):
        _positive(f"scheduling.{key}", getattr(sc, key), zero=True)
    if sc.slot_minutes > (
        datetime.combine(date.min, s.office.closes) - datetime.combine(date.min, s.office.opens)
    ).total_seconds() / 60:
        raise ConfigError(
            f"scheduling.slot_minutes: expected a slot shorter than the office day, "
            f"found {sc.slot_minutes}"
        )


def _validate_mail_and_service(s: Settings) -> None:
    _positive("mail.daily_limit", s.mail.daily_limit, zero=True)
    if not re.fullmatch(r"[A-Za-z0-9.-]+", s.mail.message_id_domain):
        raise ConfigError(
            f"mail.message_id_domain: expected a domain name, found {s.mail.message_id_domain!r}"
        )
    if not 1 <= s.mail.smtp.port <= 65535:
        raise ConfigError(f"mail.smtp.port: expected 1-65535, found {s.mail.smtp.port}")
    if not 1 <= s.metrics.port <= 65535:
        raise ConfigError(f"metrics.port: expected 1-65535, found {s.metrics.port}")
    if s.poll.interval_seconds <= 0:
        raise ConfigError(
            f"poll.interval_seconds: expected a number above 0, found {s.poll.interval_seconds}"
        )
    _positive("retry.attempts", s.retry.attempts)
    _positive("heartbeat.interval_minutes", s.heartbeat.interval_minutes)
    if s.google.timeout_seconds <= 0:
        raise ConfigError(
            f"google.timeout_seconds: expected a number above 0, found {s.google.timeout_seconds}"
        )
    ep = s.google.api_endpoint
    if ep is not None and not re.match(r"^https?://[^/\s]+", ep):
        raise ConfigError(
            f"google.api_endpoint: expected a base URL like http://127.0.0.1:8080, found {ep!r}"
        )


_PROTOCOL_RE = re.compile(r"BV-\d{4}-\d{6,}")


def _validate_privacy(s: Settings) -> None:
    p = s.privacy
    if p.retention_days is not None and s.journal.retention_days is not None:
        raise ConfigError(
            "privacy.retention_days: also set as journal.retention_days (its old name); "
            "expected only one of them, found both"
        )
    if p.retention_days is not None:
        _positive("privacy.retention_days", p.retention_days)
    if s.journal.retention_days is not None:
        _positive("journal.retention_days", s.journal.retention_days)
    for i, protocol in enumerate(p.legal_hold):
        if not _PROTOCOL_RE.fullmatch(protocol.strip()):
            raise ConfigError(
                f"privacy.legal_hold[{i}]: expected a protocol like BV-2026-000123, "
                f"found {protocol!r}"
            )
    mail = p.encarregado.email
    if mail and "@" not in mail:
        raise ConfigError(
            f"privacy.encarregado.email: expected an e-mail address, found {mail!r}"
        )


_ADDRESS = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def _validate_jobs(s: Settings) -> None:
    """The scheduled jobs' settings (reminders, digest, alerts, bounces)."""
    hours = s.reminders.hours_before
    for i, h in enumerate(hours):
        if not 1 <= h <= 168:
            raise ConfigError(
                f"reminders.hours_before[{i}]: expected hours between 1 and 168, found {h}"
            )
    if len(set(hours)) != len(hours):
        raise ConfigError(
            f"reminders.hours_before: expected distinct hours, found {list(hours)}"
        )
    for i, addr in enumerate(s.digest.recipients):
        if not _ADDRESS.fullmatch(addr.strip()):
            raise ConfigError(
                f"digest.recipients[{i}]: expected one e-mail address, found {addr!r}"
            )
    minutes = s.alerts.before_deadline_minutes
    if not 1 <= minutes <= 24 * 60:
        raise ConfigError(
            "alerts.before_deadline_minutes: expected office minutes between 1 and 1440, "
            f"found {minutes}"
        )
    if s.mail.bounce_check and s.mail.transport == "smtp":
        raise ConfigError(
            "mail.bounce_check: expected false with mail.transport: smtp (bounces are read "
            "from the Gmail mailbox with gmail.readonly), found true"
        )


def _positive(path: str, value: int, zero: bool = False) -> None:
    if value < 0 or (value == 0 and not zero):
        bound = "0 or more" if zero else "above 0"
        raise ConfigError(f"{path}: expected an integer {bound}, found {value}")


