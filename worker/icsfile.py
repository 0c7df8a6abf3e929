"""The .ics attached to citizen e-mails (publish an appointment, cancel it); pure: no I/O, no clock."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from worker.model import Channel

if TYPE_CHECKING:
    from icalendar import Timezone

__all__ = ["ALARM_MINUTES", "IcsEvent", "check_uid", "default_uid", "location_of", "render_ics"]

# A confirmation's calendar entry rings this long before the start (DESIGN §8).
ALARM_MINUTES = 30

# An iCalendar UID travels in a file the citizen's calendar app parses: printable ASCII
# without spaces, bounded (Google's iCalUID looks like ``abc123@google.com``).
_UID = re.compile(r"^[A-Za-z0-9._@+=-]{1,255}$")
_ADDRESS = re.compile(r"^[^\s@<>\"',;:]+@[A-Za-z0-9.-]+$")


def check_uid(uid: str) -> str:
    """``uid`` when it is safe to put in an .ics (``[A-Za-z0-9._@+=-]``, 1–255); else ValueError."""
    if not _UID.fullmatch(uid):
        raise ValueError("an .ics UID must be 1-255 characters of [A-Za-z0-9._@+=-]")
    return uid


def default_uid(protocol: str, domain: str) -> str:
    """The UID balcao uses without a Calendar iCalUID: ``bv-2026-000123@balcao.example``.

    One per request, so every revision (and the cancellation) updates the same entry.
    """
    return check_uid(f"{protocol.lower()}@{domain.strip().lower()}")


@dataclass(frozen=True)
class IcsEvent:
    """One appointment as the citizen's calendar shows it; every text is already safe/plain.

    ``location`` is the Meet link or "WhatsApp (vídeo)"; ``url`` only for Meet.
    ``organizer`` is the office's address (empty: no ORGANIZER line).
    """

    uid: str
    summary: str
    start: datetime
    end: datetime
    location: str
    description: str
    timezone: str
    sequence: int = 0
    url: str = ""
    organizer: str = ""
    organizer_name: str = ""
    stamp: datetime | None = None


def render_ics(
    event: IcsEvent,
    *,
    method: Literal["PUBLISH", "CANCEL"] = "PUBLISH",
    alarm_minutes: int | None = ALARM_MINUTES,
    attendee: str = "",
) -> bytes:
    """A one-event iCalendar.

    PUBLISH (a confirmation): STATUS:CONFIRMED and a VALARM ``alarm_minutes`` before; PUBLISH
    rather than REQUEST because there is nobody to reply to, so clients offer no
    accept/decline. CANCEL (a cancellation): the same UID with STATUS:CANCELLED, which removes
    the entry the citizen added; RFC 5546 wants an ATTENDEE there, so ``attendee`` (the
    citizen's own address) is named in the cancellation only. Times carry
    TZID=<timezone> with its VTIMEZONE. DTSTAMP is ``stamp`` or, to keep rendering pure and
    repeatable, the start time.
    """
    from icalendar import Alarm, Calendar, Event, vCalAddress, vText

    tz = ZoneInfo(event.timezone)
    start = _aware(event.start, "start").astimezone(tz)
    end = _aware(event.end, "end").astimezone(tz)
    if end <= start:
        raise ValueError("end must be after start")
    if isinstance(event.sequence, bool) or event.sequence < 0:
        raise ValueError("sequence must be a non-negative int")
    cal = Calendar()
    cal.add("prodid", "-//Balcão Virtual//balcao//PT-BR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    ev = Event()
    ev.add("uid", check_uid(event.uid))
    ev.add("sequence", event.sequence)
    ev.add("dtstamp", (event.stamp or start).astimezone(ZoneInfo("UTC")))
    ev.add("dtstart", start)
    ev.add("dtend", end)
    ev.add("summary", event.summary)
    ev.add("location", event.location)
    if event.url:
        ev.add("url", event.url)
    ev.add("description", event.description)
    if event.organizer and _ADDRESS.fullmatch(event.organizer):
        organizer = vCalAddress(f"mailto:{event.organizer}")
        if event.organizer_name:
            organizer.params["cn"] = vText(event.organizer_name)
        ev.add("organizer", organizer)
    if method == "CANCEL":
        if attendee and _ADDRESS.fullmatch(attendee):
            ev.add("attendee", vCalAddress(f"mailto:{attendee}"))
        ev.add("status", "CANCELLED")
    else:
        ev.add("status", "CONFIRMED")
        ev.add("transp", "OPAQUE")
        if alarm_minutes is not None:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", event.summary)
            alarm.add("trigger", timedelta(minutes=-alarm_minutes))
            ev.add_component(alarm)
    cal.add_component(ev)
    ical = bytes(cal.to_ical())
    # The VTIMEZONE goes first, where add_component would put it, already serialised: its
    # ~40 lines are the same in every .ics and were most of the cost of each one.
    at = ical.index(b"\r\nBEGIN:VEVENT\r\n") + 2
    return ical[:at] + _vtimezone_ical(event.timezone) + ical[at:]


def location_of(channel: Channel, meet_link: str) -> tuple[str, str]:
    """(LOCATION, URL) of an appointment: the Meet link twice, or WhatsApp and no URL."""
    if channel is Channel.MEET:
        return meet_link, meet_link
    return "WhatsApp (vídeo)", ""


def _aware(dt: datetime, what: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")
    return dt


@functools.lru_cache(maxsize=8)
def _vtimezone(tzid: str) -> Timezone:
    """The VTIMEZONE of ``tzid``: building it walks the zone's history (~25 ms), so once."""
    from icalendar import Timezone

    return Timezone.from_tzid(tzid)


@functools.lru_cache(maxsize=8)
def _vtimezone_ical(tzid: str) -> bytes:
    """The VTIMEZONE of ``tzid`` as iCalendar text."""
    return bytes(_vtimezone(tzid).to_ical())
