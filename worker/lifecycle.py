"""Typed request state (status, event and mail states, problems, staff actions) and the pure rules between them; no I/O, no clock.

The enum values are the strings the journal has always stored, so a journal of the first
release reads as it is. ``derive_status`` is the one place that decides what staff see in
`Situação` and `Observação` for a request that balcao is still working on.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import replace
from enum import StrEnum

from worker import texts
from worker.model import RequestRecord


class Status(StrEnum):
    """The closed list of `Situação` values staff see (DESIGN §3)."""

    RECEIVED = "Recebido"
    BOOKED = "Agendado"
    ATTENTION = "Requer atenção"
    DUPLICATE = "Duplicado"
    PENDING = "Pendente"
    CANCELLED = "Cancelado"  # final; the citizen was told if they had been e-mailed before
    DONE = "Realizado"  # chosen by staff, final
    NO_SHOW = "Não compareceu"  # chosen by staff, final


# What the `Situação` dropdown offers: every status, then the staff actions.
DROPDOWN: tuple[str, ...] = (
    "Recebido", "Agendado", "Requer atenção", "Duplicado", "Pendente", "Cancelado",
    "Realizado", "Não compareceu", "Cancelar", "Remarcar",
)

# Statuses after which balcao never acts on the request again.
FINAL: frozenset[str] = frozenset({Status.CANCELLED, Status.DONE, Status.NO_SHOW})


class EventState(StrEnum):
    NONE = ""
    INTENT = "intent"  # committed, insert not known to have happened
    PENDING = "pending"  # created, Meet link still being made
    CREATED = "created"
    CANCELLED = "cancelled"  # deleted in Google Calendar (by staff)
    FAILED = "failed"  # refused for good
    DELETED = "deleted"  # deleted by balcao (the request was cancelled)


class MailState(StrEnum):
    NONE = ""
    INTENT = "intent"
    SENT = "sent"
    FAILED = "failed"


class MailKind(StrEnum):
    ACK = "ack"
    CONFIRMATION = "confirmation"
    CANCELLATION = "cancellation"
    NO_SHOW = "no-show"


class Problem(StrEnum):
    """Why a request waits or is flagged (``requests.problem``)."""

    NONE = ""
    # intake (worker.intake RowProblem codes) and claims
    TIMESTAMP = "timestamp"
    EMAIL = "email"
    NAME = "name"
    CHANNEL = "channel"
    PHONE = "phone"
    CONSENT = "consent"
    DUPLICATE = "duplicate"
    TOO_MANY_OPEN = "too_many_open"
    # after intake
    EDITED = "edited"
    EVENT_DELETED = "event_deleted"
    MEET_FAILED = "meet_failed"
    MEET_PENDING = "meet_pending"
    PERMANENT = "permanent"
    MAIL_FAILED = "mail_failed"
    POISON = "poison"
    NO_SLOT = "no_slot"
    MANUAL_INVALID = "manual_invalid"
    MAIL_CAP = "mail_cap"
    TRANSIENT = "transient"
    NO_SLOT_RESCHEDULE = "no_slot_reschedule"  # Remarcar found no slot: the appointment stays
    STAFF_NOTE = "staff_note"  # a note for staff about their last choice; the status is derived
    CLOSED_DAY = "closed_day"  # booked on a day that became closed
    BOUNCED = "bounced"  # an e-mail to the citizen came back undelivered (bounces job)
    # identity (issue 13)
    UNRECOGNISED = "unrecognised"  # a protocol balcao never issued, typed by hand
    KEPT = "kept"  # after `balcao recover`: the status and note the sheet showed, kept as is


class StaffAction(StrEnum):
    """What staff may choose in `Situação` (DESIGN §3, §7)."""

    CANCEL = "Cancelar"
    RESCHEDULE = "Remarcar"
    DONE = "Realizado"
    NO_SHOW = "Não compareceu"
    CANCELLED = "Cancelado"
    BOOKED = "Agendado"


# Problems that take a request out of automatic work: staff must act.
FLAGGED: frozenset[str] = frozenset({
    Problem.EDITED, Problem.EVENT_DELETED, Problem.MEET_FAILED, Problem.PERMANENT,
    Problem.MAIL_FAILED, Problem.POISON, Problem.BOUNCED, Problem.UNRECOGNISED, Problem.KEPT,
})
# Event states after which no insert or poll is due.
EVENT_SETTLED: frozenset[str] = frozenset(
    {EventState.CREATED, EventState.CANCELLED, EventState.FAILED, EventState.DELETED}
)


@functools.lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Staff input as compared: trimmed, case- and accent-insensitive.

    ``fold(" Não Compareceu ")`` → ``"nao compareceu"``. Cached: a tick folds the status of
    every row, and a sheet's statuses are a handful of texts."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_ACTIONS = {fold(a.value): a for a in StaffAction}


def staff_action(cell: object) -> StaffAction | None:
    """The staff choice a `Situação` cell holds, or None (``"CANCELAR "`` → CANCEL)."""
    return _ACTIONS.get(fold(cell)) if isinstance(cell, str) else None


def is_open_work(rec: RequestRecord) -> bool:
    """True while the request still owes an event, a Meet link or an e-mail."""
    if not rec.valid or rec.duplicate_of or rec.problem in FLAGGED or rec.status in FINAL:
        return False
    if rec.ack_state == MailState.INTENT:
        return True
    if rec.event_state not in EVENT_SETTLED:
        return True
    return not (
        rec.event_state == EventState.CREATED
        and rec.conf_state == MailState.SENT
        and rec.conf_revision == rec.revision
    )


# Flags and their `Observação`, in precedence: these before a deleted event...
_FLAG_FIRST: dict[str, str] = {
    Problem.CLOSED_DAY: texts.REASON_CLOSED_DAY,
    Problem.POISON: texts.REASON_POISON,
    Problem.EDITED: texts.REASON_EDITED,
    Problem.BOUNCED: texts.REASON_BOUNCED,
    Problem.UNRECOGNISED: texts.REASON_UNRECOGNISED,
}
# ...and these after it.
_FLAG_THEN: dict[str, str] = {
    Problem.MEET_FAILED: texts.REASON_MEET_FAILED,
    Problem.PERMANENT: texts.REASON_PERMANENT,
    Problem.MAIL_FAILED: texts.REASON_MAIL_FAILED,
}


def derive_status(rec: RequestRecord, mode: str) -> tuple[Status, str]:
    """What staff see for a request balcao works on, from its effect states.

    Booked and confirmed → (Agendado, ""), or the note "Resposta enviada após o prazo" when
    the first confirmation left after the legal deadline (DESIGN §7: the deadline is about
    the answer, not the meeting). ``mode`` is ``scheduling.mode``."""
    problem = rec.problem
    if problem in (Problem.STAFF_NOTE, Problem.NO_SLOT_RESCHEDULE):
        # A note about staff's last choice: the status is what it would be without it.
        status, _ = derive_status(replace(rec, problem=""), mode)
        return status, rec.reason
    if problem in _FLAG_FIRST:
        return Status.ATTENTION, _FLAG_FIRST[problem]
    if rec.event_state == EventState.CANCELLED:
        return Status.ATTENTION, texts.REASON_EVENT_DELETED
    if problem in _FLAG_THEN:
        return Status.ATTENTION, _FLAG_THEN[problem]
    if rec.event_state == EventState.CREATED:
        if rec.conf_state == MailState.SENT and rec.conf_revision == rec.revision:
            late = texts.REASON_AFTER_DEADLINE if answered_late(rec) else ""
            return Status.BOOKED, late or rec.staff_note
        return Status.PENDING, waiting_reason(problem) or texts.WAITING_CONFIRMATION
    if problem == Problem.NO_SLOT:
        return Status.ATTENTION, texts.REASON_NO_SLOT
    if problem == Problem.MANUAL_INVALID:
        return Status.ATTENTION, rec.reason
    if rec.event_state == EventState.PENDING or problem == Problem.MEET_PENDING:
        return Status.PENDING, texts.REASON_MEET_PENDING
    if rec.ack_state != MailState.SENT:
        return Status.PENDING, waiting_reason(problem) or texts.WAITING_ACK
    if problem == Problem.TRANSIENT:
        return Status.PENDING, texts.REASON_TRANSIENT.format(what=texts.WHAT_CALENDAR)
    return Status.RECEIVED, rec.staff_note


def answered_late(rec: RequestRecord) -> bool:
    """True when the first confirmation left after the response deadline (ISO strings of
    one offset compare as instants only when parsed, so they are parsed)."""
    if not rec.answered_at or not rec.deadline:
        return False
    from datetime import datetime

    return datetime.fromisoformat(rec.answered_at) > datetime.fromisoformat(rec.deadline)


def waiting_reason(problem: str) -> str:
    if problem == Problem.MAIL_CAP:
        return texts.REASON_MAIL_CAP
    if problem == Problem.TRANSIENT:
        return texts.REASON_TRANSIENT.format(what=texts.WHAT_MAIL)
    if problem == Problem.MEET_PENDING:
        return texts.REASON_MEET_PENDING
    return ""


def status_changes(rec: RequestRecord, mode: str) -> dict[str, str]:
    """The ``status``/``reason`` changes that bring a worked-on request in line with
    ``derive_status`` ({} when it already is, or when it is not balcao's to derive)."""
    if not rec.valid or rec.duplicate_of or rec.status in FINAL or rec.problem == Problem.KEPT:
        return {}
    status, reason = derive_status(rec, mode)
    if status.value == rec.status and reason == rec.reason:
        return {}
    return {"status": status.value, "reason": reason}
