"""Rendering of citizen e-mails (jinja2 templates → EmailSpec, plus the .ics); pure: no I/O beyond reading templates, no clock, no sending."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from worker.model import Attachment, Channel, EmailSpec
from worker.textfmt import fmt_date, fmt_datetime, fmt_in_words, fmt_time, weekday_pt

if TYPE_CHECKING:
    from icalendar import Timezone
    from jinja2 import Environment

# jinja2 and icalendar are imported when the first message is rendered: an idle worker
# (most ticks) never pays their memory.

__all__ = [
    "ACK",
    "CONFIRMATION",
    "TEMPLATE_NAMES",
    "OfficeInfo",
    "Renderer",
    "build_ics",
    "message_id",
]

ACK = "ack"
CONFIRMATION = "confirmation"
# Every template file the renderer uses (``_footer.*`` are included by the bodies); a test
# checks the directory holds exactly these and renders them all.
TEMPLATE_NAMES: tuple[str, ...] = (
    "ack.subject.txt",
    "ack.body.txt",
    "ack.body.html",
    "confirmation.subject.txt",
    "confirmation.body.txt",
    "confirmation.body.html",
    "confirmation.ics.txt",
    "_footer.txt",
    "_footer.html",
)

# Citizen text shown in a message is bounded again here: it arrives bounded from intake
# (max_field_length), but a greeting line should not carry 500 characters of name.
_NAME_MAX = 120


@dataclass(frozen=True)
class OfficeInfo:
    """The office as presented to citizens (from ``office.*`` in config); all plain text.

    ``hours_text`` reads like ``"segunda a sexta, das 08:00 às 17:00"`` (see
    textfmt.fmt_office_hours); empty strings are simply left out of the messages.
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


# --------------------------------------------------------------------------- header-safe values

_DOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_PROTOCOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
_KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# The only link a message may carry is the Meet URL the Calendar API returned; anything
# else (another scheme, spaces, quotes) is refused rather than escaped.
_MEET_LINK = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/?#=&%+:-]*)?$")


def _check_protocol(protocol: str) -> str:
    if not _PROTOCOL.fullmatch(protocol):
        raise ValueError(f"protocol {protocol!r} is not header-safe (letters, digits and '-')")
    return protocol


def message_id(protocol: str, kind: str, revision: int, domain: str) -> str:
    """Deterministic Message-ID of one e-mail, so a resend collapses with the original.

    ``message_id("BV-2026-000123", "ack", 0, "balcao.cartorio.example")`` →
    ``"<bv-2026-000123.ack.r0@balcao.cartorio.example>"``. The domain is used as given
    (lowercased); it must be a syntactically valid host name. Raises ValueError for an unsafe
    protocol, kind (``[a-z][a-z0-9-]*``), negative revision or invalid domain.
    """
    _check_protocol(protocol)
    if not _KIND.fullmatch(kind):
        raise ValueError(f"message kind {kind!r} must match [a-z][a-z0-9-]*")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise ValueError(f"revision must be a non-negative int, got {revision!r}")
    return f"<{protocol.lower()}.{kind}.r{revision}@{_check_domain(domain)}>"


def _check_domain(domain: str) -> str:
    host = domain.strip().lower()
    if not _DOMAIN.fullmatch(host):
        raise ValueError(f"domain {domain!r} is not a valid host name")
    return host


def _check_recipient(to: str) -> str:
    """Last line of defence for ``To``: intake validated it; refuse anything that could add a header or a recipient."""
    if (
        not to
        or to.count("@") != 1
        or any(ch.isspace() or ch in ',;<>"' or ord(ch) < 32 or ord(ch) == 127 for ch in to)
    ):
        raise ValueError("recipient is not a single bare address")
    return to


def _check_meet_link(link: str | None) -> str:
    if not link or len(link) > 500 or not _MEET_LINK.fullmatch(link):
        raise ValueError("a Meet confirmation needs the https link returned by Calendar")
    return link


def _display(text: str, limit: int) -> str:
    """Citizen text for a message body: one line, bounded with "…" (never a template source)."""
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1].rstrip() + "…"


def _aware(dt: datetime, what: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")
    return dt


# --------------------------------------------------------------------------- ics


def build_ics(
    *,
    office: OfficeInfo,
    protocol: str,
    start: datetime,
    end: datetime,
    channel: Channel,
    meet_link: str | None,
    description: str,
    uid_domain: str,
    sequence: int = 0,
    stamp: datetime | None = None,
) -> bytes:
    """A one-event iCalendar (METHOD:PUBLISH) the citizen can add to any calendar app.

    PUBLISH, not REQUEST: there is no organizer to reply to, so clients must not offer
    accept/decline. The UID is per protocol (``bv-2026-000123@<domain>``) and SEQUENCE is the
    revision, so a rescheduled confirmation replaces the earlier entry instead of adding one.
    Times carry TZID=<office timezone> with its VTIMEZONE. DTSTAMP is ``stamp`` or, to keep
    rendering pure and repeatable, the start time.
    """
    tz = ZoneInfo(office.timezone)
    local_start = _aware(start, "start").astimezone(tz)
    local_end = _aware(end, "end").astimezone(tz)
    if local_end <= local_start:
        raise ValueError("end must be after start")
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Balcão Virtual//balcao//PT-BR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{_check_protocol(protocol).lower()}@{_check_domain(uid_domain)}")
    event.add("sequence", sequence)
    event.add("dtstamp", (stamp or local_start).astimezone(ZoneInfo("UTC")))
    event.add("dtstart", local_start)
    event.add("dtend", local_end)
    event.add("summary", f"Balcão Virtual – {office.name}")
    if channel is Channel.MEET:
        link = _check_meet_link(meet_link)
        event.add("location", link)
        event.add("url", link)
    else:
        event.add("location", "WhatsApp (vídeo)")
    event.add("description", description)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(_vtimezone(office.timezone))
    cal.add_component(event)
    return cal.to_ical()


@functools.lru_cache(maxsize=8)
def _vtimezone(tzid: str) -> Timezone:
    """The VTIMEZONE of ``tzid``: building it walks the zone's history (~25 ms), so once."""
    from icalendar import Timezone

    return Timezone.from_tzid(tzid)


# --------------------------------------------------------------------------- renderer


class Renderer:
    """Renders the message templates of ``templates_dir`` into EmailSpec values.

    Files per message NAME: ``NAME.subject.txt`` (rendered with the protocol ONLY, so no
    citizen text can reach a header), ``NAME.body.txt`` and ``NAME.body.html`` (autoescaped:
    the file name ends in .html). The confirmation also has ``confirmation.ics.txt``, the
    event description. StrictUndefined: a misspelt variable fails the render, never renders
    as an empty string. Citizen text is passed as values only, never as template source.
    """

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self._env: Environment | None = None

    @property
    def env(self) -> Environment:
        if self._env is None:
            from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

            self._env = Environment(
                loader=FileSystemLoader(str(self.templates_dir)),
                autoescape=select_autoescape(["html"]),
                undefined=StrictUndefined,
                keep_trailing_newline=True,
                trim_blocks=True,
                lstrip_blocks=True,
            )
        return self._env

    def _render(self, template: str, context: dict[str, Any]) -> str:
        return self.env.get_template(template).render(context)

    def _subject(self, name: str, protocol: str) -> str:
        subject = " ".join(self._render(f"{name}.subject.txt", {"protocol": protocol}).split())
        if not subject:
            raise ValueError(f"{name}.subject.txt rendered an empty subject")
        return subject

    def _spec(
        self,
        name: str,
        *,
        to: str,
        protocol: str,
        context: dict[str, Any],
        sender_domain: str,
        revision: int,
        attachments: tuple[Attachment, ...] = (),
    ) -> EmailSpec:
        return EmailSpec(
            to=_check_recipient(to),
            subject=self._subject(name, protocol),
            text=self._render(f"{name}.body.txt", context),
            html=self._render(f"{name}.body.html", context),
            message_id=message_id(protocol, name, revision, sender_domain),
            kind=name,
            attachments=attachments,
        )

    @staticmethod
    def _base_context(office: OfficeInfo, protocol: str, name: str) -> dict[str, Any]:
        return {
            "office": office,
            "protocol": protocol,
            "name": _display(name, _NAME_MAX),
        }

    def render_ack(
        self,
        *,
        office: OfficeInfo,
        protocol: str,
        name: str,
        to: str,
        deadline: datetime,
        sender_domain: str,
        revision: int = 0,
    ) -> EmailSpec:
        """The acknowledgement: protocol, response deadline (figures and words), next steps.

        Template variables: ``office`` (OfficeInfo), ``protocol``, ``name``, ``deadline_date``
        ("11/12/2026"), ``deadline_time`` ("10:15"), ``deadline_text`` ("11/12/2026 10:15"),
        ``deadline_words`` ("sexta-feira, 11/12/2026, às 10:15"); times in ``office.timezone``.
        """
        _check_protocol(protocol)
        local = _aware(deadline, "deadline").astimezone(ZoneInfo(office.timezone))
        context = {
            **self._base_context(office, protocol, name),
            "deadline_date": fmt_date(local),
            "deadline_time": fmt_time(local),
            "deadline_text": fmt_datetime(local),
            "deadline_words": fmt_in_words(local),
        }
        return self._spec(
            ACK,
            to=to,
            protocol=protocol,
            context=context,
            sender_domain=sender_domain,
            revision=revision,
        )

    def render_confirmation(
        self,
        *,
        office: OfficeInfo,
        protocol: str,
        name: str,
        to: str,
        start: datetime,
        end: datetime,
        channel: Channel,
        meet_link: str | None,
        sender_domain: str,
        revision: int = 0,
        caller_number: str | None = None,
        stamp: datetime | None = None,
    ) -> EmailSpec:
        """The appointment confirmation with the .ics attached.

        A Meet confirmation without a valid https ``meet_link`` raises ValueError: no e-mail
        without a link. ``caller_number`` is the number the WhatsApp call comes from
        (default ``office.whatsapp``). Template variables: those of the ack's base
        (``office``, ``protocol``, ``name``) plus ``channel`` ("meet" | "whatsapp"),
        ``is_meet``, ``meet_link`` ("" for WhatsApp), ``caller_number``, ``weekday``
        ("quinta-feira"), ``start_date`` ("10/12/2026"), ``start_time`` ("10:15"),
        ``end_time``, ``start_text`` ("10/12/2026 10:15"), ``start_words``
        ("quinta-feira, 10/12/2026, às 10:15"), ``duration_minutes``.
        """
        _check_protocol(protocol)
        tz = ZoneInfo(office.timezone)
        local_start = _aware(start, "start").astimezone(tz)
        local_end = _aware(end, "end").astimezone(tz)
        is_meet = channel is Channel.MEET
        link = _check_meet_link(meet_link) if is_meet else ""
        context = {
            **self._base_context(office, protocol, name),
            "channel": channel.value,
            "is_meet": is_meet,
            "meet_link": link,
            "caller_number": caller_number if caller_number is not None else office.whatsapp,
            "weekday": weekday_pt(local_start),
            "start_date": fmt_date(local_start),
            "start_time": fmt_time(local_start),
            "end_time": fmt_time(local_end),
            "start_text": fmt_datetime(local_start),
            "start_words": fmt_in_words(local_start),
            "duration_minutes": int((local_end - local_start).total_seconds() // 60),
        }
        ics = build_ics(
            office=office,
            protocol=protocol,
            start=local_start,
            end=local_end,
            channel=channel,
            meet_link=link or None,
            description=self._render("confirmation.ics.txt", context).strip(),
            uid_domain=sender_domain,
            sequence=revision,
            stamp=stamp,
        )
        attachment = Attachment(
            filename=f"balcao-virtual-{protocol}.ics",
            content_type="text/calendar; method=PUBLISH; charset=utf-8",
            data=ics,
        )
        return self._spec(
            CONFIRMATION,
            to=to,
            protocol=protocol,
            context=context,
            sender_domain=sender_domain,
            revision=revision,
            attachments=(attachment,),
        )
