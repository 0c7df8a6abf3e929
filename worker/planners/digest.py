"""What the staff's morning digest of one day lists, from the journal's records; pure: the day and now are parameters, no I/O.

The day's appointments (cancelled ones left out), the rows that need attention, and the
response deadlines that fall that day or passed without an answer (no confirmation sent) on a
request that is not final. Sent even when empty: it shows staff that balcao is alive.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from worker.lifecycle import EventState, Status
from worker.mailparts import Digest, DigestAppointment, DigestDeadline, DigestRow
from worker.model import Channel, RequestRecord
from worker.planners.schedule import FINAL_STATUSES

_LIVE = frozenset({EventState.CREATED.value, EventState.PENDING.value})


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[00:00, next 00:00)`` of ``day`` in office time."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def appointment(rec: RequestRecord) -> DigestAppointment | None:
    start = rec.slot_start_dt
    if start is None or rec.event_state not in _LIVE or rec.status in FINAL_STATUSES:
        return None
    channel = Channel.WHATSAPP if rec.channel == Channel.WHATSAPP.value else Channel.MEET
    return DigestAppointment(
        start=start, protocol=rec.protocol, name=rec.name, channel=channel,
        link=(rec.meet_link or "") if channel is Channel.MEET else "",
        phone=rec.phone if channel is Channel.WHATSAPP else "",
    )


def build(records: Iterable[RequestRecord], day: date, now: datetime, tz: ZoneInfo) -> Digest:
    """The digest of ``day`` (records may be a superset: each is judged here).

    A request booked for 10:00 that day is an appointment; one flagged `Requer atenção` is
    listed with its note; one whose deadline is that day at 15:00, or was yesterday, with no
    confirmation sent is a deadline; a `Cancelado`, `Realizado` or `Não compareceu` one is
    never a deadline or an appointment; a `Duplicado` one is never listed."""
    lo, hi = day_bounds(day, tz)
    appointments: list[DigestAppointment] = []
    attention: list[DigestRow] = []
    deadlines: list[DigestDeadline] = []
    for rec in records:
        if rec.duplicate_of or rec.purged_at:
            continue
        appt = appointment(rec)
        if appt is not None and lo <= appt.start < hi:
            appointments.append(appt)
        if rec.status == Status.ATTENTION.value:
            attention.append(DigestRow(rec.protocol, rec.status, rec.reason))
        deadline = rec.deadline_dt
        if (
            rec.valid and deadline is not None and deadline < hi and not rec.answered_at
            and rec.status not in FINAL_STATUSES
        ):
            deadlines.append(DigestDeadline(rec.protocol, deadline))
    attention.sort(key=lambda r: r.protocol)
    return Digest(
        day=day, now=now, appointments=tuple(appointments), attention=tuple(attention),
        deadlines=tuple(deadlines),
    )
