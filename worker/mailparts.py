"""What goes into an e-mail: header-safe values, Message-IDs, and the template contexts; pure, no I/O, no clock."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from worker.model import Channel
from worker.textfmt import (
    first_name,
    fmt_date,
    fmt_datetime,
    fmt_in_words,
    fmt_time,
    person_name,
    weekday_pt,
)

# Citizen text shown in a message is bounded again here: it arrives bounded from intake
# (max_field_length), but a greeting line should not carry 500 characters of name.
NAME_MAX = 120
ANSWER_MAX = 300


@dataclass(frozen=True)
class OfficeInfo:
    """The office as presented to citizens (from ``office.*`` in config); all plain text.

    ``hours_text`` reads like ``"segunda a sexta, das 08:00 às 17:00"`` (see
    textfmt.fmt_office_hours); ``sender`` is the address mail really comes from
    (``mail.sender``), named in the spam advice; ``form_url`` is the form to book again.
    Empty strings are simply left out of the messages.
    """

    name: str
    address: str
    phones: tuple[str, ...]
    whatsapp: str
    email: str
    website: str
    privacy_policy_url: str
    hours_text: str
    timezone: str = "America/Bahia"
    sender: str = ""
    form_url: str = ""


# --------------------------------------------------------------------------- staff digest input


@dataclass(frozen=True)
class DigestAppointment:
    """One appointment of the day: ``link`` is the Meet link, ``phone`` the number to call
    (WhatsApp, as the citizen typed it); ``name`` is shown by its first word only."""

    start: datetime
    protocol: str
    name: str
    channel: Channel
    link: str = ""
    phone: str = ""


@dataclass(frozen=True)
class DigestRow:
    """A request that needs a person: its ``Situação`` and ``Observação`` as the sheet shows them."""

    protocol: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class DigestDeadline:
    """A response deadline of the day or one past without an answer."""

    protocol: str
    deadline: datetime


@dataclass(frozen=True)
class Digest:
    """Everything the morning digest of ``day`` lists; ``now`` tells past deadlines from coming ones."""

    day: date
    now: datetime
    appointments: tuple[DigestAppointment, ...] = ()
    attention: tuple[DigestRow, ...] = ()
    deadlines: tuple[DigestDeadline, ...] = ()


# --------------------------------------------------------------------------- header-safe values

_DOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_PROTOCOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
_KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_STORED_ID = re.compile(r"^<[A-Za-z0-9._+=-]{1,200}@[A-Za-z0-9.-]{1,253}>$")
# The only link a message may carry is the Meet URL the Calendar API returned; anything
# else (another scheme, spaces, quotes) is refused rather than escaped.
MEET_LINK = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/?#=&%+:-]*)?$")


def check_protocol(protocol: str) -> str:
    if not _PROTOCOL.fullmatch(protocol):
        raise ValueError(f"protocol {protocol!r} is not header-safe (letters, digits and '-')")
    return protocol


def message_id(protocol: str, kind: str, revision: int, domain: str) -> str:
    """Deterministic Message-ID of one citizen e-mail, so a resend collapses with the original.

    ``message_id("BV-2026-000123", "ack", 0, "balcao.cartorio.example")`` →
    ``"<bv-2026-000123.ack.r0@balcao.cartorio.example>"``; a reminder's kind carries its lead
    (``"reminder-24h"``). The domain is used as given (lowercased); it must be a valid host
    name. Raises ValueError for an unsafe protocol, kind (``[a-z][a-z0-9-]*``), negative
    revision or invalid domain.
    """
    check_protocol(protocol)
    if not _KIND.fullmatch(kind):
        raise ValueError(f"message kind {kind!r} must match [a-z][a-z0-9-]*")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise ValueError(f"revision must be a non-negative int, got {revision!r}")
    return f"<{protocol.lower()}.{kind}.r{revision}@{check_domain(domain)}>"


def staff_message_id(kind: str, key: str, to: str, domain: str) -> str:
    """Deterministic Message-ID of a staff e-mail, one per recipient.

    ``staff_message_id("digest", "2026-12-14", "ana@x.example", "balcao.example")`` →
    ``"<digest.2026-12-14.3f1c9a0b@balcao.example>"``: the key is the day (digest) or the
    protocol (``"alerta"``); the recipient enters as a short hash (never in clear), so each
    staff member's copy has its own id and the sent-mail lookup tells them apart.
    """
    if not _KIND.fullmatch(kind):
        raise ValueError(f"message kind {kind!r} must match [a-z][a-z0-9-]*")
    safe_key = key.lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", safe_key):
        raise ValueError(f"message key {key!r} must be letters, digits and '-'")
    who = hashlib.sha256(to.strip().lower().encode()).hexdigest()[:8]
    return f"<{kind}.{safe_key}.{who}@{check_domain(domain)}>"


def check_domain(domain: str) -> str:
    host = domain.strip().lower()
    if not _DOMAIN.fullmatch(host):
        raise ValueError(f"domain {domain!r} is not a valid host name")
    return host


def stored_id(given: str | None, compute: Callable[[], str]) -> str:
    """A Message-ID the executor stored with its intent (never recomputed), or ``compute()``."""
    if given is None:
        return compute()
    if not _STORED_ID.fullmatch(given):
        raise ValueError("a stored Message-ID must look like <left@right> without spaces")
    return given


def check_recipient(to: str) -> str:
    """Last line of defence for ``To``: intake validated it; refuse anything that could add a header or a recipient."""
    if (
        not to
        or to.count("@") != 1
        or any(ch.isspace() or ch in ',;<>"' or ord(ch) < 32 or ord(ch) == 127 for ch in to)
    ):
        raise ValueError("recipient is not a single bare address")
    return to


def check_meet_link(link: str | None) -> str:
    if not link or len(link) > 500 or not MEET_LINK.fullmatch(link):
        raise ValueError("a Meet message needs the https link returned by Calendar")
    return link


def display(text: str, limit: int) -> str:
    """Citizen text for a message body: one line, bounded with "…" (never a template source)."""
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1].rstrip() + "…"


def local_time(dt: datetime, what: str, tz: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")
    return dt.astimezone(ZoneInfo(tz))


def when(prefix: str, local: datetime) -> dict[str, str]:
    """``{prefix}_date``, ``_time``, ``_text``, ``_words`` and ``weekday`` of one local time."""
    return {
        f"{prefix}_date": fmt_date(local),
        f"{prefix}_time": fmt_time(local),
        f"{prefix}_text": fmt_datetime(local),
        f"{prefix}_words": fmt_in_words(local),
        f"{prefix}_weekday": weekday_pt(local),
    }


def base_context(office: OfficeInfo, protocol: str, name: str) -> dict[str, Any]:
    """What every citizen e-mail shows: the office, the protocol, the name capitalised."""
    return {
        "office": office,
        "protocol": check_protocol(protocol),
        "name": display(person_name(name), NAME_MAX),
    }


def appointment_context(
    office: OfficeInfo,
    protocol: str,
    name: str,
    start: datetime,
    end: datetime,
    channel: Channel,
    meet_link: str | None,
    caller_number: str | None,
    phone: str,
) -> dict[str, Any]:
    """What the confirmation and the reminder show of an appointment (see their docstrings).

    A Meet appointment without a valid https link raises ValueError: no e-mail without it.
    """
    local_start = local_time(start, "start", office.timezone)
    local_end = local_time(end, "end", office.timezone)
    if local_end <= local_start:
        raise ValueError("end must be after start")
    is_meet = channel is Channel.MEET
    return {
        **base_context(office, protocol, name),
        **when("start", local_start),
        "weekday": weekday_pt(local_start),
        "end_time": fmt_time(local_end),
        "duration_minutes": int((local_end - local_start).total_seconds() // 60),
        "channel": channel.value,
        "is_meet": is_meet,
        "meet_link": check_meet_link(meet_link) if is_meet else "",
        "caller_number": caller_number if caller_number is not None else office.whatsapp,
        "phone": display(phone, 40),
    }


def digest_context(office: OfficeInfo, digest: Digest) -> dict[str, Any]:
    """The digest's template values (see Renderer.render_digest)."""
    tz = office.timezone
    now = local_time(digest.now, "now", tz)
    appointments = [
        {
            "time": fmt_time(local_time(a.start, "start", tz)),
            "protocol": check_protocol(a.protocol),
            "first_name": display(first_name(a.name), 40),
            "channel_label": "Google Meet" if a.channel is Channel.MEET else "WhatsApp",
            "link": a.link if a.link and MEET_LINK.fullmatch(a.link) else "",
            "phone": display(a.phone, 40),
        }
        for a in sorted(digest.appointments, key=lambda a: (a.start, a.protocol))
    ]
    due_today: list[dict[str, str]] = []
    overdue: list[dict[str, str]] = []
    for d in sorted(digest.deadlines, key=lambda d: (d.deadline, d.protocol)):
        local = local_time(d.deadline, "deadline", tz)
        # A deadline on another day than the digest's (a caller's choice) shows its date.
        row = {"protocol": check_protocol(d.protocol), "when": fmt_datetime(local),
               "time": fmt_time(local) if local.date() == digest.day else fmt_datetime(local)}
        (overdue if local <= now else due_today).append(row)
    context = {
        "office": office,
        "day_date": fmt_date(digest.day),
        "day_words": f"{weekday_pt(digest.day)}, {fmt_date(digest.day)}",
        "appointments": appointments,
        "attention": [
            DigestRow(check_protocol(r.protocol), display(r.status, 60), display(r.note, 200))
            for r in digest.attention
        ],
        "due_today": due_today,
        "overdue": overdue,
        "sent_at": fmt_datetime(now),
    }
    return context
