"""The office and its calendar (config.yaml's ``office:`` and ``calendar:``): all that `balcao deadline` and `calendar` load, without the rest of the settings.

worker.config builds the whole Settings from these same sections; here they are loaded alone
(the other sections' schema is ~20 ms of every start-up), with the same file, overrides,
conversions and checks, and an unknown top-level key is still an error.
"""

from __future__ import annotations

import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker import configfile
from worker.settingtypes import ConfigError


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
class OfficeConfig:
    """The two sections alone (what ``load`` gives)."""

    office: OfficeSettings = field(default_factory=OfficeSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)


class HasOffice(typing.Protocol):
    """Settings or OfficeConfig: anything with the office and its calendar."""

    @property
    def office(self) -> OfficeSettings: ...

    @property
    def calendar(self) -> CalendarSettings: ...


def load(path: str | Path | None, environ: Mapping[str, str] | None = None) -> OfficeConfig:
    """``office:`` and ``calendar:`` of ``path`` (None = defaults), overrides applied, checked."""
    raw, _base = configfile.read(path, os.environ if environ is None else environ)
    out = typing.cast(
        OfficeConfig,
        configfile.build(OfficeConfig, configfile.sections(raw, ("office", "calendar")), ""),
    )
    validate(out)
    return out


def validate(s: HasOffice) -> None:
    """The office's and the calendar's checks (worker.config.validate runs them too)."""
    _validate_office(s)
    _validate_calendar(s)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _validate_office(s: HasOffice) -> None:
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


def _validate_calendar(s: HasOffice) -> None:
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


def workday_numbers(s: HasOffice) -> frozenset[int]:
    return frozenset(_WEEKDAYS.index(d) for d in s.office.workdays)
