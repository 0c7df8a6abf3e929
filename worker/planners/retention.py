"""Planner of personal-data work (DESIGN §9): whose data a subject's address reaches, which requests retention erases, which cells of a row are answers; pure (time is an argument)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

from worker.lifecycle import EventState, is_open_work
from worker.model import RequestRecord

# Statuses after which nothing more happens to a request (staff's final choices and balcao's).
FINAL_STATUSES = frozenset({"Realizado", "Não compareceu", "Cancelado"})
_GMAIL = ("gmail.com", "googlemail.com")
_LIVE_EVENT = frozenset({EventState.CREATED, EventState.PENDING, EventState.INTENT})


def mailbox(address: str) -> str:
    """The inbox an address delivers to (DESIGN §4): case and a ``+tag`` are ignored for every
    domain; for Gmail dots too, and googlemail.com is gmail.com.

    ``mailbox("Ana.Souza+balcao@GoogleMail.com")`` → ``"anasouza@gmail.com"``;
    ``mailbox("Ana+x@Cartorio.example")`` → ``"ana@cartorio.example"``; text without an ``@``
    is only trimmed and casefolded."""
    text = address.strip().casefold()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return text
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def matching(addresses: Iterable[tuple[str, str]], address: str) -> list[str]:
    """The protocols whose address reaches the same inbox as ``address``, in the order given."""
    wanted = mailbox(address)
    if not wanted:
        return []
    return [protocol for protocol, email in addresses if email and mailbox(email) == wanted]


def last_activity(rec: RequestRecord) -> datetime:
    """The later of the appointment's end and the last status change."""
    moments = [datetime.fromisoformat(rec.updated_at or rec.received_at)]
    if rec.slot_end:
        moments.append(datetime.fromisoformat(rec.slot_end))
    return max(moments)


def future_appointment(rec: RequestRecord, now: datetime) -> bool:
    """True when the request holds an appointment still ahead that is not final."""
    start = rec.slot_start_dt
    return (
        start is not None and start > now and rec.event_state in _LIVE_EVENT
        and rec.status not in FINAL_STATUSES
    )


def needs_cancelling(rec: RequestRecord, now: datetime) -> bool:
    """An erased request that was still going to happen is cancelled as staff would (DESIGN
    §7): an appointment ahead, or work still owed (no booking or e-mail yet). Final,
    duplicate and never-valid requests, and past appointments, only lose their data."""
    if rec.status in FINAL_STATUSES or rec.duplicate_of or not rec.valid:
        return False
    return future_appointment(rec, now) or is_open_work(rec)


def retention_due(
    recs: Iterable[RequestRecord], now: datetime, days: int, hold: Collection[str],
    open_intents: Collection[str],
) -> list[str]:
    """Protocols whose data retention erases now: last activity more than ``days`` ago, no
    open work (an unsent effect, a booking or e-mail still owed, an appointment ahead), not on
    legal hold (nor a duplicate of a held one), not erased yet."""
    cutoff = now - timedelta(days=days)
    out: list[str] = []
    for rec in recs:
        if rec.erasure_id is not None or rec.protocol in hold or rec.duplicate_of in hold:
            continue
        if rec.protocol in open_intents or future_appointment(rec, now):
            continue
        if rec.status not in FINAL_STATUSES and is_open_work(rec):
            continue
        if last_activity(rec) < cutoff:
            out.append(rec.protocol)
    return out


def answer_columns(
    header: Sequence[object], row: Sequence[object], keep: Collection[int]
) -> list[int]:
    """0-based columns of a row holding a citizen's answers: every titled column and every
    non-empty cell, except ``keep`` (the timestamp and balcao's own columns)."""
    width = max(len(header), len(row))
    out = []
    for c in range(width):
        if c in keep:
            continue
        titled = c < len(header) and header[c] not in ("", None)
        filled = c < len(row) and row[c] not in ("", None)
        if titled or filled:
            out.append(c)
    return out
