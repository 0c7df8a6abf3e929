"""Pure decisions of a tick: protocols, duplicates, per-address limits, row identity, owned cells; no I/O, no clock."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from worker.model import ParsedRow, Status

PROTOCOL_RE = re.compile(r"^BV-(\d{4})-(\d{6,})$")

# Observação texts staff read (pt-BR). Kept here so every path uses the same words.
REASON_DUPLICATE = "Duplicado de {protocol}"
REASON_TOO_MANY = (
    "Limite de {limit} solicitações em aberto para este e-mail atingido; nenhum e-mail enviado"
)
REASON_EDITED = "Resposta alterada após o processamento; verifique com o cidadão"
REASON_NO_SLOT = "Sem horário disponível"
REASON_AFTER_DEADLINE = "Horário agendado após o prazo de resposta"
REASON_MEET_PENDING = "Link do Google Meet em criação; nova verificação automática"
REASON_MEET_FAILED = "Falha ao criar o link do Google Meet; agende manualmente"
REASON_EVENT_DELETED = "Evento excluído da agenda pela equipe; não será recriado"
REASON_MAIL_CAP = "Limite diário de e-mails atingido; envio automático assim que possível"
REASON_TRANSIENT = "Falha temporária do Google ({what}); nova tentativa automática"
REASON_AWAITING_STAFF_TIME = ""
REASON_PAUSED = "Integração pausada: credenciais do Google precisam de atenção do operador"


def protocol_for(year: int, seq: int) -> str:
    """``protocol_for(2026, 13)`` → ``"BV-2026-000013"``."""
    return f"BV-{year:04d}-{seq:06d}"


def protocol_seq(text: object) -> int | None:
    """The sequence number of a protocol cell, None when the cell holds none."""
    if not isinstance(text, str):
        return None
    m = PROTOCOL_RE.match(text.strip())
    return int(m.group(2)) if m else None


def col_letter(n: int) -> str:
    """A 1-based column number in A1 letters: 1 → ``A``, 26 → ``Z``, 27 → ``AA``."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def event_id(protocol: str, revision: int) -> str:
    """Deterministic Calendar event id: base32hex (a–v, 0–9) of a hash of protocol and revision,
    so a retried insert after a crash gets 409 instead of a second event."""
    digest = hashlib.sha256(f"balcao:{protocol}:{revision}".encode()).digest()
    return base64.b32hexencode(digest).decode().lower().rstrip("=")[:40]


def ts_key(value: object) -> str | None:
    """The identity key of a timestamp cell as read (a serial number, or text typed by hand)."""
    if value is None or value == "":
        return None
    return json.dumps(value)


# --------------------------------------------------------------------------- new rows


@dataclass(frozen=True)
class Prior:
    """What the journal knows of an earlier request, for duplicate detection."""

    protocol: str
    fingerprint: str
    submitted: datetime | None


@dataclass(frozen=True)
class NewDecision:
    row: ParsedRow
    protocol: str
    status: Status
    reason: str
    problem: str  # machine code: "" when valid and actionable
    duplicate_of: str | None = None

    @property
    def actionable(self) -> bool:
        return not self.problem


@dataclass
class IntakeContext:
    next_seq: int
    duplicate_window: timedelta
    max_open_per_email: int
    open_per_email: dict[str, int] = field(default_factory=dict)
    priors: list[Prior] = field(default_factory=list)


def classify_new(rows: Sequence[ParsedRow], ctx: IntakeContext, now: datetime) -> list[NewDecision]:
    """Give each new row a protocol and decide whether it can be served.

    Rows are taken in submission order (rows with an unreadable timestamp last, by row), so
    protocols follow receipt order. A row whose fingerprint equals an earlier request's and was
    submitted within the duplicate window becomes DUPLICATE of it; an address with
    ``max_open_per_email`` open requests gets ATTENTION and no e-mail.
    """
    ordered = sorted(
        rows, key=lambda r: (r.submitted is None, r.submitted or now, r.row)
    )
    out: list[NewDecision] = []
    seen: list[Prior] = list(ctx.priors)
    seq = ctx.next_seq
    for row in ordered:
        year = (row.submitted or now).year
        protocol = protocol_for(year, seq)
        seq += 1
        if row.problems:
            reason = "; ".join(p.reason for p in row.problems)
            out.append(
                NewDecision(row, protocol, Status.ATTENTION, reason, row.problems[0].code)
            )
            seen.append(Prior(protocol, row.fingerprint, row.submitted))
            continue
        dup = _duplicate_of(row, seen, ctx.duplicate_window)
        seen.append(Prior(protocol, row.fingerprint, row.submitted))
        if dup is not None:
            out.append(
                NewDecision(
                    row, protocol, Status.DUPLICATE, REASON_DUPLICATE.format(protocol=dup),
                    "duplicate", duplicate_of=dup,
                )
            )
            continue
        email = row.raw_email
        if ctx.open_per_email.get(email, 0) >= ctx.max_open_per_email:
            out.append(
                NewDecision(
                    row, protocol, Status.ATTENTION,
                    REASON_TOO_MANY.format(limit=ctx.max_open_per_email), "too_many_open",
                )
            )
            continue
        ctx.open_per_email[email] = ctx.open_per_email.get(email, 0) + 1
        out.append(NewDecision(row, protocol, Status.PENDING, "", ""))
    ctx.next_seq = seq
    return out


def _duplicate_of(row: ParsedRow, seen: Iterable[Prior], window: timedelta) -> str | None:
    if row.submitted is None:
        return None
    for prior in seen:
        if prior.fingerprint != row.fingerprint or prior.submitted is None:
            continue
        if timedelta(0) <= row.submitted - prior.submitted <= window:
            return prior.protocol
    return None


# --------------------------------------------------------------------------- identity


class ColumnCells(MutableMapping[int, object]):
    """One sheet column as read (a single list), seen as {sheet row: value} for its non-empty
    cells. A dict of 50,000 rows costs megabytes per tick; this costs the list Google sent.
    Rows set or deleted afterwards (the tail read in full overrides the narrow read) are kept
    apart. Iteration order: the column's rows, then the rows set afterwards."""

    def __init__(self, values: Sequence[object] = (), first_row: int = 2) -> None:
        self._values = values
        self._first = first_row
        self._extra: dict[int, object] = {}
        self._removed: set[int] = set()

    def _base(self, row: int) -> object | None:
        i = row - self._first
        if 0 <= i < len(self._values) and row not in self._removed:
            v = self._values[i]
            if v is not None and v != "":
                return v
        return None

    def __getitem__(self, row: int) -> object:
        if row in self._extra:
            return self._extra[row]
        v = self._base(row)
        if v is None:
            raise KeyError(row)
        return v

    def __setitem__(self, row: int, value: object) -> None:
        self._extra[row] = value

    def __delitem__(self, row: int) -> None:
        found = self._extra.pop(row, None) is not None
        if self._base(row) is not None:
            self._removed.add(row)
            found = True
        if not found:
            raise KeyError(row)

    def __iter__(self) -> Iterator[int]:
        for i, v in enumerate(self._values):
            row = self._first + i
            if v is None or v == "" or row in self._extra or row in self._removed:
                continue
            yield row
        yield from self._extra

    def __len__(self) -> int:
        return sum(1 for _ in self)


def ts_ident(value: object) -> object | None:
    """A timestamp cell as an in-memory identity: the value as read (a serial number, or text
    typed by hand), None when empty. Equal to what ``key_ident(ts_key(value))`` gives back."""
    if value is None or value == "":
        return None
    return value


def key_ident(key: str | None) -> object | None:
    """The identity value of a journal ``ts_key`` (JSON of the cell as read)."""
    return None if key is None else json.loads(key)


@dataclass
class IdentityView:
    """Where each known protocol sits in the sheet this tick, and what looks wrong."""

    row_of: dict[str, int] = field(default_factory=dict)  # protocol → row where it belongs
    repairs: list[tuple[int, str]] = field(default_factory=list)  # (row, protocol) to rewrite
    edited: list[tuple[str, str | None]] = field(default_factory=list)  # (protocol, new ts_key)
    unprocessed: list[int] = field(default_factory=list)  # non-empty rows without a request
    foreign: list[int] = field(default_factory=list)  # rows showing a protocol not theirs


def locate(
    ts_cells: Mapping[int, object],
    protocol_cells: Mapping[int, object],
    known: Mapping[str, object],
    by_ts: Mapping[object, str | Sequence[str]],
    skip_rows: Iterable[int] = (),
) -> IdentityView:
    """Match sheet rows to known requests by protocol and timestamp, never by row number.

    ``known`` maps each journal protocol to its timestamp identity (``ts_ident``), ``by_ts``
    the other way round (a protocol, or a list of them when several share one timestamp);
    plain values, not objects, because a sheet holds tens of thousands.

    - A row whose protocol cell names a known request with the same timestamp is in place.
    - A row whose timestamp belongs to a known request but shows another or no protocol lost
      its cells (crash before the write, a sort between re-read and write): it is repaired.
    - A known protocol on a row with a different timestamp, when its own timestamp appears
      nowhere in the sheet, is a respondent's edit (Forms rewrites the timestamp in place).
    - Any other non-empty row is unprocessed (``skip_rows``: rows the caller ignores, such as
      those before ``form.process_since``).
    """
    view = IdentityView()
    skip = set(skip_rows)
    # Flat structures, not sets of 50,000 rows: the idle tick of a large sheet runs this
    # every minute, and its peak memory is what a small office machine must hold.
    keys_hi = max(max(ts_cells, default=0), max(protocol_cells, default=0))
    keys_lo = min(min(ts_cells, default=keys_hi), min(protocol_cells, default=keys_hi))
    rows = range(keys_lo, keys_hi + 1) if keys_hi else range(0)
    claimed = bytearray(keys_hi + 1)
    placed = view.row_of  # protocol → row: a protocol is placed once it has a row
    # Pass 1: rows already carrying the right protocol.
    for r in rows:
        p = _cell_str(protocol_cells.get(r))
        if p and p not in placed and p in known and known[p] == ts_ident(ts_cells.get(r)):
            placed[p] = r
            claimed[r] = 1
    # Pass 2: rows whose timestamp belongs to a request not yet placed.
    for r in rows:
        if claimed[r]:
            continue
        k = ts_ident(ts_cells.get(r))
        if k is None:
            continue
        found = by_ts.get(k, ())
        # One protocol per timestamp is the rule (a str); a list only when two share it.
        for p in (found,) if isinstance(found, str) else found:
            if p not in placed:
                placed[p] = r
                view.repairs.append((r, p))
                claimed[r] = 1
                break
    # Pass 3: known protocols on rows with another timestamp: edits or stray cells.
    ts_present: set[object] | None = None  # built only when a candidate edit needs it
    for r in rows:
        if claimed[r]:
            continue
        ts_value = ts_cells.get(r)
        p = _cell_str(protocol_cells.get(r))
        if not p and ts_ident(ts_value) is None:
            continue  # an empty row
        if p in known and p not in placed:
            own = known[p]
            if own is not None and ts_present is None:
                ts_present = {k for k in map(ts_ident, ts_cells.values()) if k is not None}
            if own is None or (ts_present is not None and own not in ts_present):
                placed[p] = r
                view.edited.append((p, ts_key(ts_value)))
                claimed[r] = 1
                continue
        if r in skip:
            continue
        if p and p in known:
            view.foreign.append(r)
        view.unprocessed.append(r)
    return view


def _cell_str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


# --------------------------------------------------------------------------- owned cells


@dataclass(frozen=True)
class OwnedValues:
    """The values of balcao's columns for one request (None = leave the cell alone)."""

    protocol: str
    status: str
    deadline: float | str
    appointment: float | str | None
    link: str
    note: str

    def digest(self) -> str:
        text = json.dumps(
            [self.protocol, self.status, self.deadline, self.appointment, self.link, self.note]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]
