"""The value types settings and the office calendar are made of, and the error classes; stdlib only, no I/O.

Apart from model.py (which re-exports them) so that `balcao deadline` and the config loader
start without the request, e-mail and report types (~15 ms of dataclass set-up).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, time

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


# --------------------------------------------------------------------------- form vocabulary


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
