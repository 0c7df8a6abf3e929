"""Planner of citizens' e-mails: which ones a request is owed now, in sending order; pure."""

from __future__ import annotations

from worker.lifecycle import FINAL, FLAGGED, EventState, MailKind, MailState
from worker.model import RequestRecord


def mails_due(rec: RequestRecord) -> list[MailKind]:
    """The e-mails this request is owed now, in sending order.

    - An acknowledgement whose outcome is unknown (``ack_state == "intent"``) is settled first.
    - A booked event (``created``) owes the confirmation of the current revision.
    - Without an event yet, one acknowledgement; a request booked in the tick that takes it in
      therefore gets only the confirmation.
    - Nothing for a flagged request or a deleted or refused event."""
    if rec.problem in FLAGGED or rec.status in FINAL or rec.event_state in (
        EventState.CANCELLED, EventState.FAILED, EventState.DELETED
    ):
        return []
    out: list[MailKind] = []
    if rec.ack_state == MailState.INTENT:
        out.append(MailKind.ACK)
    ready = rec.event_state == EventState.CREATED
    if ready and (
        rec.conf_state in (MailState.NONE, MailState.INTENT)
        or (rec.conf_state == MailState.SENT and rec.conf_revision != rec.revision)
    ):
        out.append(MailKind.CONFIRMATION)
    elif not ready and rec.ack_state == MailState.NONE and rec.conf_state == MailState.NONE:
        out.append(MailKind.ACK)
    return out
