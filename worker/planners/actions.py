"""The actions planners return and the executor carries out; plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass

from worker.model import Slot


@dataclass(frozen=True)
class Book:
    """Create the request's event at ``slot`` (``staff_serial``: the staff-typed `Atendimento`
    value this booking answers, so it is not judged again)."""

    protocol: str
    slot: Slot
    staff_serial: float | None = None


@dataclass(frozen=True)
class Flag:
    """Record why a request waits or needs staff (``reason`` None: derived from the problem)."""

    protocol: str
    problem: str
    reason: str | None = None
    staff_serial: float | None = None
    audit: str | None = None  # audit event name, when the decision is worth one


Action = Book | Flag
