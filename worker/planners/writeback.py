"""Planner of the write-back: the values of balcao's own columns for a request, and the cells they go to; pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from worker import intake, texts
from worker.lifecycle import EventState
from worker.model import Channel, RequestRecord
from worker.ports import CellValue, CellWrite

# balcao's columns in the order a row's cells are written.
OWNED_ORDER = (
    "Protocolo", "Situação", "Prazo de resposta", "Atendimento", "Link ou canal",
    "Atualizado em", "Observação",
)


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


def owned_values(rec: RequestRecord, mode: str, sheet_tz: str) -> OwnedValues:
    """What the sheet must show for ``rec``: dates as serial numbers in the sheet's zone,
    text never as a formula. In manual mode an empty `Atendimento` is left alone (None), as
    it is where staff type a time."""
    deadline: float | str = (
        intake.datetime_to_serial(rec.deadline_dt, sheet_tz) if rec.deadline_dt else ""
    )
    appointment: float | str | None
    live = (EventState.CREATED, EventState.PENDING, EventState.INTENT)
    if rec.slot_start and rec.event_state in live:
        appointment = intake.datetime_to_serial(datetime.fromisoformat(rec.slot_start), sheet_tz)
    elif mode == "manual":
        appointment = None
    else:
        appointment = ""
    link = ""
    if rec.event_state == EventState.CREATED:
        link = rec.meet_link or (
            texts.LINK_WHATSAPP if rec.channel == Channel.WHATSAPP.value else ""
        )
    return OwnedValues(
        protocol=rec.protocol, status=rec.status, deadline=deadline, appointment=appointment,
        link=intake.safe_cell(link), note=intake.safe_cell(rec.reason),
    )


def cells(
    row: int, values: OwnedValues, columns: Mapping[str, int], updated: float
) -> Iterator[CellWrite]:
    """The cells of one row (``columns``: title → 0-based index); None values are skipped."""
    by_title: dict[str, CellValue | None] = {
        "Protocolo": values.protocol,
        "Situação": values.status,
        "Prazo de resposta": values.deadline,
        "Atendimento": values.appointment,
        "Link ou canal": values.link,
        "Atualizado em": updated,
        "Observação": values.note,
    }
    for title in OWNED_ORDER:
        c = columns.get(title)
        value = by_title[title]
        if c is None or value is None:
            continue
        yield CellWrite(row, c + 1, value)
