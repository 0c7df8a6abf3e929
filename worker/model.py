"""Value types shared by every layer (requests, slots, effects, reports) and the error classes; stdlib only, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

# The settings' types and the errors live in worker.settingtypes: re-exported here.
from worker.settingtypes import (  # noqa: F401
    OWNED_KEYS,
    AdapterError,
    AnswerTexts,
    BacklogRefusedError,
    BalcaoError,
    Closure,
    ColumnCollisionError,
    ColumnTitles,
    ConfigError,
    DayInfo,
    DayKind,
    HeadersMissingError,
    JournalDisagreesError,
    LockHeldError,
    OwnedTitles,
    RecurringHoliday,
)

# --------------------------------------------------------------------------- form and requests


class Channel(enum.Enum):
    MEET = "meet"
    WHATSAPP = "whatsapp"


class Period(enum.Enum):
    MORNING = "morning"  # starts before 12:00
    AFTERNOON = "afternoon"  # starts at 12:00 or later
    ANY = "any"


def mailbox_key(email: str) -> str:
    """The inbox an address delivers to, for counting one mailbox once (DESIGN §4):
    case and a ``+tag`` are ignored everywhere; for Gmail dots too, and googlemail.com is
    gmail.com. ``"Jo.Ao+x@GoogleMail.com"`` → ``"joao@gmail.com"``."""
    text = email.strip().casefold()
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


@dataclass(frozen=True)
class FormAnswers:
    """The mapped, normalised answers of one row (unmapped columns never get here)."""

    email: str
    name: str
    phone: str  # E.164 when valid, else the normalised text ("" when absent)
    channel: Channel | None
    service: str
    subject: str
    period: Period
    consent: bool | None  # None when the consent column is not mapped


@dataclass(frozen=True)
class RowProblem:
    """Why a row cannot be served automatically; ``reason`` is the pt-BR text for `Observação`."""

    code: str
    reason: str


@dataclass(frozen=True)
class ParsedRow:
    """One non-empty sheet row after parsing: answers (when valid) or the problems found."""

    row: int  # 1-based sheet row number, valid only for this tick
    submitted: datetime | None  # aware, in the spreadsheet's time zone; None if not a date
    answers: FormAnswers | None
    problems: tuple[RowProblem, ...]
    fingerprint: str  # HMAC of the normalised answers without the timestamp
    protocol: str | None  # the `Protocolo` cell, when present
    raw_email: str = ""  # normalised e-mail text, used for per-address limits even when invalid
    note: str = ""  # a note for staff on a valid row (a landline given for WhatsApp)


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    calendar_id: str


@dataclass(frozen=True)
class EventSpec:
    """What the Calendar adapter must create; ``event_id`` is deterministic (base32hex)."""

    event_id: str
    calendar_id: str
    protocol: str
    summary: str
    description: str
    start: datetime
    end: datetime
    timezone: str
    meet: bool
    attendee_email: str | None = None


@dataclass(frozen=True)
class EventResult:
    event_id: str
    status: str  # "confirmed" | "cancelled"
    meet_status: str | None  # "pending" | "success" | "failure" | None (no conference asked)
    meet_link: str | None
    html_link: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    sequence: int = 0  # Google raises it when the time changes (staff moves included)
    updated: datetime | None = None  # last modification, as Google reports it


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class EmailSpec:
    """A rendered message; the adapter only builds MIME from it, never reads form text into headers."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str  # with angle brackets, deterministic from (protocol, kind, revision)
    kind: str  # "ack" | "confirmation" | ...
    attachments: tuple[Attachment, ...] = ()


@dataclass
class TickReport:
    """What one tick did; ``ok`` is False when the tick failed as a whole."""

    started: datetime
    ok: bool = True
    error: str | None = None
    rows_seen: int = 0
    new_requests: int = 0
    emails_sent: int = 0
    events_created: int = 0
    cells_written: int = 0
    flagged: int = 0
    pending: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    plan_lines: list[str] = field(default_factory=list)
    paused_reason: str | None = None
    # Reads made to reconcile open intents (crash or lost answer), outside the tick budget.
    reconcile_requests: int = 0


# --------------------------------------------------------------------------- journal records


@dataclass
class RequestRecord:
    """One request as the journal keeps it (a row of ``requests``); states are the string
    values of the enums in ``worker.lifecycle``, so older journals need no migration."""

    protocol: str
    seq: int
    fingerprint: str
    submitted: str | None
    ts_key: str | None
    received_at: str
    deadline: str | None
    status: str
    reason: str = ""
    problem: str = ""
    email: str = ""
    name: str = ""
    phone: str = ""
    channel: str = ""
    period: str = ""
    service: str = ""
    valid: int = 1
    duplicate_of: str | None = None
    revision: int = 0
    calendar_id: str | None = None
    event_id: str | None = None
    slot_start: str | None = None
    slot_end: str | None = None
    meet_link: str | None = None
    event_state: str = ""
    ack_state: str = ""
    conf_state: str = ""
    conf_revision: int | None = None
    manual_serial: float | None = None
    staff_serial: float | None = None
    in_sheet: int = 0
    written: str = ""
    updated_at: str = ""
    purged_at: str | None = None
    answered_at: str | None = None  # when the first confirmation was sent (the legal answer)
    shown_status: str | None = None  # the `Situação` balcao last wrote (other values: staff's)
    shown_appt: float | None = None  # the `Atendimento` serial balcao last wrote
    staff_seen: str | None = None  # the staff choice already carried out ("remarcar@Agendado")
    erasure_id: int | None = None  # the elimination that erased it (DESIGN §9): left alone
    mailbox: str = ""  # mailbox_key(email): one inbox counted once by the open-requests limit
    staff_note: str = ""  # a lasting note for staff shown while nothing else needs saying

    @property
    def submitted_dt(self) -> datetime | None:
        return datetime.fromisoformat(self.submitted) if self.submitted else None

    @property
    def deadline_dt(self) -> datetime | None:
        return datetime.fromisoformat(self.deadline) if self.deadline else None

    @property
    def slot_start_dt(self) -> datetime | None:
        return datetime.fromisoformat(self.slot_start) if self.slot_start else None

    @property
    def slot_end_dt(self) -> datetime | None:
        return datetime.fromisoformat(self.slot_end) if self.slot_end else None


# --------------------------------------------------------------------------- calendar changes and bounces (turn 2)


@dataclass(frozen=True)
class EventChange:
    """One item of a calendar's changes (events.list with a syncToken, or a full sync).

    A deleted event, or one moved to another calendar, comes as ``status == "cancelled"`` with
    nothing but its id: ``start``, ``end``, ``sequence`` and ``updated`` are None (Google
    guarantees nothing more on a deleted item). Match it to a request by ``event_id`` only.
    """

    event_id: str
    calendar_id: str
    status: str  # "confirmed" | "tentative" | "cancelled"
    start: datetime | None = None
    end: datetime | None = None
    sequence: int | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class ChangeSet:
    """What ``Calendar.changes`` read: the items and the token to give next time.

    ``full_sync`` is True when the items are a full listing of the events that end after
    ``time_min`` (no token was given, or Google refused it: then ``token_expired`` is True too).
    After a full sync a known event that is absent was deleted or moved while no token held.
    """

    items: list[EventChange]
    next_sync_token: str
    full_sync: bool = False
    token_expired: bool = False


@dataclass(frozen=True)
class Bounce:
    """A delivery-status notification that reports a permanent failure (``Action: failed``).

    ``message_id`` is balcao's id of the bounced message, with angle brackets: the original's
    ``X-Balcao-Message-ID`` when the report carries it (Gmail may rewrite Message-ID), else its
    ``Message-ID``. ``provider_id`` is the report's own id in the mailbox ("" when none).
    """

    message_id: str
    recipient: str
    action: str
    received_at: datetime
    provider_id: str = ""


@dataclass(frozen=True)
class Elimination:
    """One line of the elimination register (DESIGN §9); ``state`` is 'intent' until the
    erasure it records is complete."""

    id: int
    at: str
    reason: str
    protocols: tuple[str, ...]
    sheet: int
    calendar: int
    journal: int
    state: str
