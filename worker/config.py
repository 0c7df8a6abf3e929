"""Configuration: config.yaml + BALCAO__ environment overrides → frozen Settings; every error names its key path.

Nothing here talks to Google or reads the clock. The schema lives in one place (the
dataclasses below); unknown keys, wrong types and impossible values raise ConfigError.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from worker.settingtypes import AnswerTexts, ColumnTitles, ConfigError, OwnedTitles

ENV_PREFIX = "BALCAO__"


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class ClosureEntry:
    """An extra closure: ``{date, name, open_from?, open_until?}``; with hours the office is
    open only then that day."""

    date: date
    name: str
    open_from: time | None = None
    open_until: time | None = None


@dataclass(frozen=True)
class MunicipalHolidayEntry:
    """A municipal holiday: ``date`` as ``MM-DD`` (every year) or ``YYYY-MM-DD`` (that year only),
    or ``easter_offset`` in days for movable feasts (Corpus Christi = 60)."""

    name: str
    date: str | None = None
    easter_offset: int | None = None


@dataclass(frozen=True)
class OfficeSettings:
    name: str = "Cartório"
    timezone: str = "America/Bahia"
    opens: time = time(8, 0)
    closes: time = time(17, 0)
    workdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    address: str = ""
    phones: tuple[str, ...] = ()
    whatsapp: str = ""
    email: str = ""
    website: str = ""
    privacy_policy_url: str = ""
    # The Google Form citizens book with: the no-show and cancellation e-mails link to it.
    form_url: str = ""


@dataclass(frozen=True)
class CalendarSettings:
    carnival_closed: bool = True
    ash_wednesday_opens: time | None = time(14, 0)
    municipal_holidays: tuple[MunicipalHolidayEntry, ...] = ()
    extra_closures: tuple[ClosureEntry, ...] = ()


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

# libyaml's safe loader when PyYAML was built with it: the same constructors as
# yaml.safe_load, ~10x faster on config.yaml (40 ms of every command's start-up otherwise).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (None = defaults only), apply ``BALCAO__`` overrides, validate.

    Relative ``journal.path`` and ``google.credentials_file`` are resolved against the
    config file's folder, so the service works whatever its working directory.
    """
    raw: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {p}: {exc.strerror or exc}") from None
        try:
            loaded = yaml.load(text, Loader=_YAML_LOADER)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{p}: expected a mapping at the top level, found {_kind(loaded)}")
        raw = loaded
        base = p.resolve().parent
    raw = apply_env(raw, os.environ if environ is None else environ)
    settings = typing.cast(Settings, _build(Settings, raw, ""))
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


def apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``BALCAO__SECTION__KEY=value`` (values parsed as YAML scalars, empty = null)."""
    out = _deepcopy(raw)
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if not all(parts):
            raise ConfigError(f"environment variable {name}: malformed name (empty key part)")
        text = environ[name]
        try:
            value = None if text == "" else yaml.load(text, Loader=_YAML_LOADER)
        except yaml.YAMLError:
            raise ConfigError(f"environment variable {name}: not a YAML scalar: {text!r}") from None
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
            if not isinstance(child, dict):
                raise ConfigError(f"environment variable {name}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    return out


def _deepcopy(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _deepcopy(v) if isinstance(v, dict) else v for k, v in d.items()}


def _kind(v: object) -> str:
    if v is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(v), type(v).__name__)


def _found(v: object) -> str:
    if isinstance(v, dict | list):
        return _kind(v)
    return f"{_kind(v)} {v!r}"


_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_null = [a for a in args if a is not type(None)]
        if len(non_null) == 1:
            return _convert(non_null[0], value, path)
        raise AssertionError(f"unsupported union at {path}")
    if value is None:
        raise ConfigError(f"{path}: expected {_describe(tp)}, found null")
    if origin is Literal:
        if value not in args:
            choices = " | ".join(str(a) for a in args)
            raise ConfigError(f"{path}: expected one of {choices}, found {_found(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, found {_found(value)}")
        return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, found {_found(value)}")
        return _build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, found {_found(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, found {_found(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, found {_found(value)}")
        return float(value)
    if tp is str:
        if isinstance(value, bool | dict | list) or value is None:
            raise ConfigError(f"{path}: expected a string, found {_found(value)}")
        # YAML turns 12345 into an int; an id or a phone written bare is still meant as text.
        return str(value)
    if tp is time:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            # YAML 1.1 reads an unquoted 08:00 as the sexagesimal integer 480.
            return time(value // 60, value % 60)
        m = _TIME_RE.match(str(value)) if isinstance(value, str) else None
        if not m:
            raise ConfigError(f"{path}: expected a time HH:MM, found {_found(value)}")
        return time(int(m.group(1)), int(m.group(2)))
    if tp is date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(f"{path}: expected a date YYYY-MM-DD, found {_found(value)}")
    if tp is datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
        raise ConfigError(
            f"{path}: expected a date-time like 2026-12-01T08:00:00-03:00, found {_found(value)}"
        )
    raise AssertionError(f"unsupported type {tp!r} at {path}")


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) is tuple:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        time: "a time HH:MM",
        date: "a date YYYY-MM-DD",
        datetime: "a date-time",
    }.get(tp, str(tp))


def _build(cls: Any, raw: dict[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            where = f"{path}.{key}" if path else str(key)
            allowed = ", ".join(sorted(names))
            raise ConfigError(f"{where}: unknown key (allowed here: {allowed})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in raw:
            sub = f"{path}.{f.name}" if path else f.name
            kwargs[f.name] = _convert(hints[f.name], raw[f.name], sub)
    return cls(**kwargs)


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


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _validate_owned_columns(form: FormSettings) -> None:
    problem = form.owned_columns.conflict(form.columns)
    if problem:
        raise ConfigError(problem)


def validate(s: Settings) -> None:
    """Cross-field and range checks the type system cannot express; each error names the key
    path, what was expected and what was found."""
    _validate_owned_columns(s.form)
    _validate_office(s)
    _validate_calendar(s)
    _validate_intake_and_scheduling(s)
    _validate_mail_and_service(s)
    _validate_privacy(s)
    _validate_jobs(s)


def _validate_office(s: Settings) -> None:
    try:
        ZoneInfo(s.office.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"office.timezone: expected an IANA time zone such as America/Bahia, "
            f"found {s.office.timezone!r}"
        ) from None
    if s.office.closes <= s.office.opens:
        raise ConfigError(
            f"office.closes: expected a time after office.opens ({s.office.opens:%H:%M}), "
            f"found {s.office.closes:%H:%M}"
        )
    for i, d in enumerate(s.office.workdays):
        if d not in _WEEKDAYS:
            raise ConfigError(
                f"office.workdays[{i}]: expected one of {', '.join(_WEEKDAYS)}, found {d!r}"
            )
    if not s.office.workdays:
        raise ConfigError("office.workdays: expected at least one day, found an empty list")
    if s.office.form_url and not re.fullmatch(r"https://[^\s\"'<>]+", s.office.form_url):
        # It becomes a link in e-mails: only a plain https address may.
        raise ConfigError(
            f"office.form_url: expected an https:// address (the form's link), "
            f"found {s.office.form_url!r}"
        )


def _validate_calendar(s: Settings) -> None:
    ash = s.calendar.ash_wednesday_opens
    if ash is not None and not (s.office.opens <= ash < s.office.closes):
        raise ConfigError(
            f"calendar.ash_wednesday_opens: expected a time between office.opens and "
            f"office.closes, found {ash:%H:%M}"
        )
    for i, c in enumerate(s.calendar.extra_closures):
        p = f"calendar.extra_closures[{i}]"
        if not c.name.strip():
            raise ConfigError(f"{p}.name: expected a non-empty name, found {c.name!r}")
        lo = c.open_from or s.office.opens
        hi = c.open_until or s.office.closes
        if hi <= lo:
            raise ConfigError(
                f"{p}.open_until: expected a time after open_from ({lo:%H:%M}), found {hi:%H:%M}"
            )
    for i, m in enumerate(s.calendar.municipal_holidays):
        p = f"calendar.municipal_holidays[{i}]"
        if (m.date is None) == (m.easter_offset is None):
            raise ConfigError(
                f"{p}: expected exactly one of date (MM-DD or YYYY-MM-DD) or easter_offset, "
                f"found {'both' if m.date else 'neither'}"
            )
        if m.date is not None and parse_month_day(m.date) is None:
            raise ConfigError(f"{p}.date: expected MM-DD or YYYY-MM-DD, found {m.date!r}")
        if m.easter_offset is not None and not -100 <= m.easter_offset <= 100:
            raise ConfigError(
                f"{p}.easter_offset: expected days between -100 and 100, found {m.easter_offset}"
            )


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


def parse_month_day(text: str) -> tuple[int | None, int, int] | None:
    """``"06-24"`` → (None, 6, 24); ``"2027-06-24"`` → (2027, 6, 24); anything else → None."""
    m = re.fullmatch(r"(?:(\d{4})-)?(\d{2})-(\d{2})", text.strip())
    if not m:
        return None
    year = int(m.group(1)) if m.group(1) else None
    month, day = int(m.group(2)), int(m.group(3))
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: 02-29 recurs
    except ValueError:
        return None
    return year, month, day


def workday_numbers(s: Settings) -> frozenset[int]:
    return frozenset(_WEEKDAYS.index(d) for d in s.office.workdays)
