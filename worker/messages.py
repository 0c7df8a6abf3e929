"""Rendering of citizen and staff e-mails (jinja2 templates → EmailSpec, plus the .ics); pure: no I/O beyond reading templates, no clock, no sending."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.icsfile import IcsEvent, check_uid, default_uid, location_of, render_ics
from worker.mailparts import (
    ANSWER_MAX,
    Digest,
    DigestAppointment,
    DigestDeadline,
    DigestRow,
    OfficeInfo,
    appointment_context,
    base_context,
    check_domain,
    check_meet_link,
    check_protocol,
    check_recipient,
    digest_context,
    display,
    local_time,
    message_id,
    staff_message_id,
    stored_id,
    when,
)
from worker.model import Attachment, Channel, EmailSpec
from worker.textfmt import fmt_date, fmt_time

if TYPE_CHECKING:
    from jinja2 import Environment

# jinja2 and icalendar are imported when the first message is rendered: an idle worker
# (most ticks) never pays their memory.

__all__ = [
    "ACK",
    "ALERT",
    "CANCELLATION",
    "CONFIRMATION",
    "DIGEST",
    "MESSAGE_NAMES",
    "NO_SHOW",
    "REMINDER",
    "TEMPLATE_NAMES",
    "Digest",
    "DigestAppointment",
    "DigestDeadline",
    "DigestRow",
    "OfficeInfo",
    "Renderer",
    "build_ics",
    "message_id",
    "staff_message_id",
]

ACK = "ack"
CONFIRMATION = "confirmation"
CANCELLATION = "cancellation"
NO_SHOW = "no-show"
REMINDER = "reminder"
DIGEST = "digest"
ALERT = "alert"
# Every message the renderer knows; each has NAME.subject.txt, NAME.body.txt, NAME.body.html.
MESSAGE_NAMES: tuple[str, ...] = (ACK, CONFIRMATION, CANCELLATION, NO_SHOW, REMINDER, DIGEST, ALERT)
# Every template file the renderer uses (``_footer.*`` are included by the citizen bodies,
# ``_appointment.*`` by the confirmation and the reminder); a test checks the directory holds
# exactly these and renders them all.
TEMPLATE_NAMES: tuple[str, ...] = (
    *(f"{name}.{part}" for name in MESSAGE_NAMES for part in ("subject.txt", "body.txt", "body.html")),
    "confirmation.ics.txt",
    "_appointment.txt",
    "_appointment.html",
    "_footer.txt",
    "_footer.html",
)


# --------------------------------------------------------------------------- the confirmation's .ics


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
    uid: str | None = None,
) -> bytes:
    """The confirmation's .ics (METHOD:PUBLISH, ORGANIZER = the office, a VALARM 30 minutes
    before). The UID is ``uid`` (the event's iCalUID with ``scheduling.invite_citizen``) or
    per protocol (``bv-2026-000123@<domain>``), and SEQUENCE is the revision, so a rescheduled
    confirmation replaces the earlier entry instead of adding one."""
    check_protocol(protocol)
    link = check_meet_link(meet_link) if channel is Channel.MEET else ""
    location, url = location_of(channel, link)
    return render_ics(
        IcsEvent(
            uid=check_uid(uid) if uid is not None else default_uid(protocol, check_domain(uid_domain)),
            summary=f"Balcão Virtual – {office.name}",
            start=start,
            end=end,
            location=location,
            url=url,
            description=description,
            timezone=office.timezone,
            sequence=sequence,
            organizer=office.email or office.sender,
            organizer_name=office.name,
            stamp=stamp,
        )
    )


# --------------------------------------------------------------------------- renderer


class Renderer:
    """Renders the message templates of ``templates_dir`` into EmailSpec values.

    Files per message NAME: ``NAME.subject.txt`` (rendered with the protocol, dates and times
    ONLY, so no citizen text can reach a header), ``NAME.body.txt`` and ``NAME.body.html``
    (autoescaped: the file name ends in .html). The confirmation also has
    ``confirmation.ics.txt``, the event description. StrictUndefined: a misspelt variable
    fails the render, never renders as an empty string. Citizen text is passed as values only,
    never as template source.

    Every method takes ``message_id``: the id the executor stored when it committed the
    intent (None → computed by ``message_id()`` / ``staff_message_id()``); those with an
    .ics take ``ics_uid`` (the event's iCalUID with ``scheduling.invite_citizen``; None → per
    protocol).
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

    def _spec(
        self,
        name: str,
        *,
        to: str,
        context: dict[str, Any],
        subject: dict[str, Any],
        message_id: str,
        attachments: tuple[Attachment, ...] = (),
    ) -> EmailSpec:
        text = " ".join(self._render(f"{name}.subject.txt", subject).split())
        if not text:
            raise ValueError(f"{name}.subject.txt rendered an empty subject")
        return EmailSpec(
            to=check_recipient(to),
            subject=text,
            text=self._render(f"{name}.body.txt", context),
            html=self._render(f"{name}.body.html", context),
            message_id=message_id,
            kind=name,
            attachments=attachments,
        )

    # ----------------------------------------------------------------- citizens

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
        now: datetime | None = None,
        message_id: str | None = None,
    ) -> EmailSpec:
        """The acknowledgement: protocol, response deadline (figures and words), next steps.

        Past the deadline (``now`` >= ``deadline``: manual mode, a backlog, an outage) it never
        promises a time already gone: ``deadline_passed`` is true and the text says the answer
        comes as soon as possible. Template variables: ``office``, ``protocol``, ``name``,
        ``deadline_passed``, ``deadline_date`` ("11/12/2026"), ``deadline_time`` ("10:15"),
        ``deadline_text`` ("11/12/2026 10:15"), ``deadline_words`` ("sexta-feira, 11/12/2026,
        às 10:15"), ``deadline_weekday``; times in ``office.timezone``.
        """
        local = local_time(deadline, "deadline", office.timezone)
        passed = now is not None and local_time(now, "now", office.timezone) >= local
        context = {
            **base_context(office, protocol, name),
            **when("deadline", local),
            "deadline_passed": passed,
        }
        mid = stored_id(message_id, lambda: _mid(protocol, ACK, revision, sender_domain))
        return self._spec(
            ACK, to=to, context=context, subject={"protocol": protocol}, message_id=mid
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
        service: str = "",
        request_subject: str = "",
        phone: str = "",
        message_id: str | None = None,
        ics_uid: str | None = None,
    ) -> EmailSpec:
        """The appointment confirmation with the .ics attached; revision > 1 is a reschedule.

        A Meet confirmation without a valid https ``meet_link`` raises ValueError: no e-mail
        without a link. ``caller_number`` is the number the WhatsApp call comes from (default
        ``office.whatsapp``), ``phone`` the citizen's number as they typed it (the one called).
        ``service`` and ``request_subject`` repeat what was asked. Template variables: the
        base (``office``, ``protocol``, ``name``) plus ``rescheduled``, ``service``,
        ``request_subject``, ``channel`` ("meet" | "whatsapp"), ``is_meet``, ``meet_link``
        ("" for WhatsApp), ``caller_number``, ``phone``, ``start_date`` ("10/12/2026"),
        ``start_time`` ("10:15"), ``start_text``, ``start_words`` ("quinta-feira, 10/12/2026,
        às 10:15"), ``start_weekday``, ``weekday`` (same), ``end_time``, ``duration_minutes``.
        """
        context = appointment_context(
            office, protocol, name, start, end, channel, meet_link, caller_number, phone
        )
        context.update(
            rescheduled=revision > 1,
            service=display(service, ANSWER_MAX),
            request_subject=display(request_subject, ANSWER_MAX),
        )
        ics = build_ics(
            office=office,
            protocol=protocol,
            start=start,
            end=end,
            channel=channel,
            meet_link=context["meet_link"] or None,
            description=self._render("confirmation.ics.txt", context).strip(),
            uid_domain=sender_domain,
            sequence=revision,
            stamp=stamp,
            uid=ics_uid,
        )
        attachment = Attachment(
            filename=f"balcao-virtual-{protocol}.ics",
            content_type="text/calendar; method=PUBLISH; charset=utf-8",
            data=ics,
        )
        mid = stored_id(message_id, lambda: _mid(protocol, CONFIRMATION, revision, sender_domain))
        return self._spec(
            CONFIRMATION,
            to=to,
            context=context,
            subject=_subjectwhen(protocol, context, rescheduled=revision > 1),
            message_id=mid,
            attachments=(attachment,),
        )

    def render_cancellation(
        self,
        *,
        office: OfficeInfo,
        protocol: str,
        name: str,
        to: str,
        sender_domain: str,
        revision: int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        channel: Channel | None = None,
        stamp: datetime | None = None,
        message_id: str | None = None,
        ics_uid: str | None = None,
    ) -> EmailSpec:
        """The cancellation. With the cancelled appointment (``start``, ``end``, ``channel``)
        it names its date and time and attaches an .ics with the confirmation's UID,
        SEQUENCE = ``revision`` + 1, METHOD:CANCEL and STATUS:CANCELLED, which removes the
        entry from the citizen's calendar; without one (only the acknowledgement went out) it
        says the request was cancelled, with no .ics. ``revision`` is the cancelled
        appointment's. Template variables: the base plus ``has_appointment`` and, with one,
        ``start_*`` as in the confirmation.
        """
        context = base_context(office, protocol, name)
        context["has_appointment"] = start is not None
        attachments: tuple[Attachment, ...] = ()
        if start is not None:
            if end is None or channel is None:
                raise ValueError("a cancelled appointment needs its end and channel too")
            local = local_time(start, "start", office.timezone)
            context.update(when("start", local))
            ics = render_ics(
                IcsEvent(
                    uid=check_uid(ics_uid) if ics_uid is not None
                    else default_uid(protocol, check_domain(sender_domain)),
                    summary=f"Balcão Virtual – {office.name}",
                    start=start,
                    end=end,
                    location="Google Meet" if channel is Channel.MEET else "WhatsApp (vídeo)",
                    description=f"Atendimento cancelado – Protocolo {protocol}",
                    timezone=office.timezone,
                    sequence=revision + 1,
                    organizer=office.email or office.sender,
                    organizer_name=office.name,
                    stamp=stamp,
                ),
                method="CANCEL",
                attendee=to,
            )
            attachments = (
                Attachment(
                    filename=f"balcao-virtual-{protocol}-cancelado.ics",
                    content_type="text/calendar; method=CANCEL; charset=utf-8",
                    data=ics,
                ),
            )
        mid = stored_id(message_id, lambda: _mid(protocol, CANCELLATION, revision, sender_domain))
        return self._spec(
            CANCELLATION,
            to=to,
            context=context,
            subject={"protocol": protocol},
            message_id=mid,
            attachments=attachments,
        )

    def render_no_show(
        self,
        *,
        office: OfficeInfo,
        protocol: str,
        name: str,
        to: str,
        start: datetime,
        sender_domain: str,
        revision: int = 0,
        message_id: str | None = None,
    ) -> EmailSpec:
        """The note after a missed appointment, inviting the citizen to book again with
        ``office.form_url`` (or the office's contacts when there is none). Template variables:
        the base plus ``start_*`` as in the confirmation."""
        context = base_context(office, protocol, name)
        context.update(when("start", local_time(start, "start", office.timezone)))
        mid = stored_id(message_id, lambda: _mid(protocol, NO_SHOW, revision, sender_domain))
        return self._spec(
            NO_SHOW, to=to, context=context, subject={"protocol": protocol}, message_id=mid
        )

    def render_reminder(
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
        hours_before: int,
        revision: int = 0,
        caller_number: str | None = None,
        phone: str = "",
        message_id: str | None = None,
    ) -> EmailSpec:
        """A reminder ``hours_before`` the appointment: date, time, and the Meet link or the
        number that will call (and the citizen's number it calls). The default Message-ID's
        kind is ``reminder-<h>h``, one per lead and revision. Template variables: those of the
        confirmation (without service and subject) plus ``hours_before``."""
        if isinstance(hours_before, bool) or not isinstance(hours_before, int) or hours_before < 1:
            raise ValueError("hours_before must be a positive int")
        context = appointment_context(
            office, protocol, name, start, end, channel, meet_link, caller_number, phone
        )
        context["hours_before"] = hours_before
        kind = f"{REMINDER}-{hours_before}h"
        mid = stored_id(message_id, lambda: _mid(protocol, kind, revision, sender_domain))
        return self._spec(
            REMINDER,
            to=to,
            context=context,
            subject=_subjectwhen(protocol, context, rescheduled=False),
            message_id=mid,
        )


    # ----------------------------------------------------------------- staff

    def render_digest(
        self,
        *,
        office: OfficeInfo,
        digest: Digest,
        to: str,
        sender_domain: str,
        message_id: str | None = None,
    ) -> EmailSpec:
        """The morning digest for staff: the day's appointments (time, protocol, first name,
        channel, link or phone) in time order, the rows that need attention, the deadlines of
        the day and those past without an answer. Sent even when empty (it shows balcao is
        alive). Template variables: ``office``, ``day_date``, ``day_words`` ("segunda-feira,
        14/12/2026"), ``appointments`` (dicts: time, protocol, first_name, channel_label,
        link, phone), ``attention`` (DigestRow), ``due_today`` and ``overdue`` (dicts:
        protocol, when)."""
        context = digest_context(office, digest)
        mid = stored_id(
            message_id,
            lambda: staff_message_id("digest", digest.day.isoformat(), to, sender_domain),
        )
        return self._spec(
            DIGEST,
            to=to,
            context=context,
            subject={"day_date": fmt_date(digest.day)},
            message_id=mid,
        )

    def render_deadline_alert(
        self,
        *,
        office: OfficeInfo,
        protocol: str,
        deadline: datetime,
        to: str,
        sender_domain: str,
        status: str = "",
        note: str = "",
        appointment_column: str = "Atendimento",
        message_id: str | None = None,
    ) -> EmailSpec:
        """The staff alert that a request's response deadline is near and no confirmation went
        out: protocol, deadline, its status and note, and how to answer in time (type the time
        in ``appointment_column``). Template variables: ``office``, ``protocol``,
        ``deadline_*`` as in the acknowledgement, ``status``, ``note``,
        ``appointment_column``."""
        local = local_time(deadline, "deadline", office.timezone)
        context = {
            "office": office,
            "protocol": check_protocol(protocol),
            **when("deadline", local),
            "status": display(status, 60),
            "note": display(note, 200),
            "appointment_column": display(appointment_column, 60),
        }
        mid = stored_id(
            message_id, lambda: staff_message_id("alerta", protocol, to, sender_domain)
        )
        return self._spec(
            ALERT,
            to=to,
            context=context,
            subject={"protocol": protocol, "deadline_time": fmt_time(local)},
            message_id=mid,
        )


def _mid(protocol: str, kind: str, revision: int, domain: str) -> str:
    return message_id(protocol, kind, revision, domain)


def _subjectwhen(protocol: str, context: dict[str, Any], *, rescheduled: bool) -> dict[str, Any]:
    """The only values a dated subject may carry: protocol, date, time (never citizen text)."""
    return {
        "protocol": protocol,
        "start_date": context["start_date"],
        "start_time": context["start_time"],
        "rescheduled": rescheduled,
    }

