"""Value types shared by every layer (requests, slots, effects, reports) and the error classes; stdlib only, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time

# --------------------------------------------------------------------------- errors


class BalcaoError(Exception):
    """Base class of the errors balcao raises on purpose."""


class ConfigError(BalcaoError):
    """Invalid configuration or usage: the CLI exits 2 with this message.

    The message names the key path, what was expected and what was found, e.g.
    ``office.close: expected a time after office.open (08:00), found '07:00'``.
    """


class AdapterError(BalcaoError):
    """A vendor error translated at the adapter edge.

    ``transient`` errors leave the request pending (retry later); permanent ones flag it
    for staff; ``auth`` errors pause every effect until the operator fixes the credentials.
    ``status`` and ``reason`` keep Google's code and reason for logs and metrics.
    """

    def __init__(
        self,
        message: str,
        transient: bool,
        *,
        auth: bool = False,
        status: int | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.auth = auth
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        # True when the request may have taken effect (lost response, dropped connection).
        self.outcome_unknown = outcome_unknown


class LockHeldError(BalcaoError):
    """Another instance holds the journal lock: the CLI exits 3."""


class HeadersMissingError(BalcaoError):
    """Required headers are missing from the sheet: nothing is processed (fail closed)."""


class BacklogRefusedError(BalcaoError):
    """The first tick found a large backlog and --accept-backlog was not given."""


class JournalDisagreesError(BalcaoError):
    """The sheet holds protocols the journal never issued, numbered above its highest: the
    journal is new, lost, stale or another instance's. Nothing may be written, sent or booked
    until `balcao recover` rebuilds it; --accept-backlog never overrides this."""


class ColumnCollisionError(HeadersMissingError):
    """A form question carries the title of one of balcao's own columns: balcao would write
    into citizens' answers, so it stops before any write (a configuration error)."""


# --------------------------------------------------------------------------- office calendar


class DayKind(enum.Enum):
    FULL = "full"
    REDUCED = "reduced"
    CLOSED = "closed"


@dataclass(frozen=True)
class Closure:
    """A configured closure or reduced day.

    Without hours the office is closed all day; with ``open_from``/``open_until`` it is open
    only then (a missing bound defaults to the normal opening or closing time).
    """

    day: date
    name: str
    open_from: time | None = None
    open_until: time | None = None
    source: str = "config"


# --------------------------------------------------------------------------- form and requests


class Channel(enum.Enum):
    MEET = "meet"
    WHATSAPP = "whatsapp"


class Period(enum.Enum):
    MORNING = "morning"  # starts before 12:00
    AFTERNOON = "afternoon"  # starts at 12:00 or later
    ANY = "any"


@dataclass(frozen=True)
class ColumnTitles:
    """Header titles of the form's fields (``form.columns.*``); defaults are the sample form's.

    ``None`` means the form has no such question. timestamp, email, name and channel cannot
    be None: without them no request can be served. A title that is set must exist in the
    sheet, or build_header_map fails closed.
    """

    timestamp: str = "Carimbo de data/hora"
    email: str = "Endereço de e-mail"
    name: str = "Nome completo"
    phone: str | None = "Telefone com DDD (WhatsApp)"
    channel: str = "Como prefere ser atendido?"
    service: str | None = "Serviço"
    subject: str | None = "Assunto do atendimento"
    period: str | None = "Período de preferência"
    consent: str | None = "Declaro que li e concordo com a política de privacidade"

    def titles(self) -> list[str]:
        """The mapped titles in field order: the sample form's header row by default."""
        return [t for t in (getattr(self, f) for f in self.__dataclass_fields__) if t]


# Canonical keys of balcao's own columns (the default titles) by their config key.
OWNED_KEYS: dict[str, str] = {
    "protocol": "Protocolo",
    "status": "Situação",
    "deadline": "Prazo de resposta",
    "appointment": "Atendimento",
    "link": "Link ou canal",
    "updated": "Atualizado em",
    "note": "Observação",
}


@dataclass(frozen=True)
class OwnedTitles:
    """Titles of balcao's own columns (``form.owned_columns.*``); defaults are today's titles.

    Inside balcao a column is known by its canonical key (the default title, OWNED_KEYS), so
    renaming one changes what is read and created in the sheet and nothing else."""

    protocol: str = "Protocolo"
    status: str = "Situação"
    deadline: str = "Prazo de resposta"
    appointment: str = "Atendimento"
    link: str = "Link ou canal"
    updated: str = "Atualizado em"
    note: str = "Observação"

    def by_canonical(self) -> dict[str, str]:
        """Canonical key (default title) → the configured title, in column order."""
        return {canon: getattr(self, key) for key, canon in OWNED_KEYS.items()}

    def conflict(self, columns: ColumnTitles) -> str | None:
        """The configuration error (key path, expected, found) when two of these titles are
        one, one is empty, or a form question (``form.columns``) has one of them; compared
        trimmed, case and accents ignored. None when they are fine."""
        seen: dict[str, str] = {}
        for key, title in vars(self).items():
            folded = _fold_title(title or "")
            if not folded:
                return f"form.owned_columns.{key}: expected a column title, found {title!r}"
            if folded in seen:
                return (f"form.owned_columns.{key}: expected a title of its own, found "
                        f"{title!r}, already used by form.owned_columns.{seen[folded]}")
            seen[folded] = key
        for key, title in vars(columns).items():
            owned = seen.get(_fold_title(title)) if title is not None else None
            if owned is not None:
                return (f"form.columns.{key}: the form question {title!r} has the title of "
                        f"balcao's column form.owned_columns.{owned}; balcao never writes into "
                        f"citizens' answers: rename one of them (set form.owned_columns.{owned} "
                        "to another title)")
        return None


def _fold_title(text: str) -> str:
    """Titles compared as staff see them: trimmed, case and accents ignored."""
    import unicodedata

    bare = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return " ".join(bare.casefold().split())


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
class AnswerTexts:
    """The form's answer options for the choice questions (``form.answers.*``).

    Matching is tolerant: both sides are compared after NFKD accent removal, casefolding and
    turning punctuation into spaces, so ``"MANHA 08h as 12h"`` equals ``"Manhã (08h às 12h)"``;
    a whole-word prefix on either side also matches when exactly one option fits
    (``"Manhã"`` → MORNING, ``"Google Meet (vídeo)"`` → MEET; ``"M"`` matches nothing).
    """

    meet: str = "Google Meet"
    whatsapp: str = "Ligação de vídeo pelo WhatsApp"
    morning: str = "Manhã (08h às 12h)"
    afternoon: str = "Tarde (12h às 17h)"
    any: str = "Sem preferência"
    consent_yes: str = "Sim, concordo"


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


@dataclass(frozen=True)
class RecurringHoliday:
    """A municipal holiday that recurs every year: on a fixed month/day or at an Easter offset.

    Salvador's Corpus Christi is ``RecurringHoliday("Corpus Christi", easter_offset=60)``;
    São João is ``RecurringHoliday("São João", month=6, day=24)``.
    """

    name: str
    month: int | None = None
    day: int | None = None
    easter_offset: int | None = None
    source: str = "municipal"


@dataclass(frozen=True)
class DayInfo:
    """How the office treats one date; ``open_from``/``open_until`` are None when closed."""

    day: date
    kind: DayKind
    name: str | None
    source: str | None
    open_from: time | None
    open_until: time | None
    weekend: bool


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
