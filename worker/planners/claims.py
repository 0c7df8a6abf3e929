"""Planner of new rows: protocols in receipt order, duplicates, the per-address limit; pure (time is an argument)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from worker.identity import PROTOCOL_RE, protocol_for
from worker.lifecycle import Problem, Status
from worker.model import ParsedRow, mailbox_key
from worker.texts import REASON_DUPLICATE, REASON_TOO_MANY, REASON_UNRECOGNISED


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
    open_per_email: dict[str, int] = field(default_factory=dict)  # by mailbox_key
    priors: list[Prior] = field(default_factory=list)


def classify_new(rows: Sequence[ParsedRow], ctx: IntakeContext, now: datetime) -> list[NewDecision]:
    """Give each new row a protocol and decide whether it can be served.

    Rows are taken in submission order (rows with an unreadable timestamp last, by row), so
    protocols follow receipt order. A row whose fingerprint equals an earlier request's and was
    submitted within the duplicate window becomes DUPLICATE of it; a mailbox (every alias
    of one inbox counted once, ``mailbox_key``) with ``max_open_per_email`` open requests gets
    ATTENTION and no e-mail. A row that already shows a protocol balcao never issued (the
    caller refused to act on any numbered above the journal's) keeps it and is flagged: no
    row that has a protocol ever gets a new one.
    """
    ordered = sorted(
        rows, key=lambda r: (r.submitted is None, r.submitted or now, r.row)
    )
    out: list[NewDecision] = []
    seen: list[Prior] = list(ctx.priors)
    seq = ctx.next_seq
    for row in ordered:
        if row.protocol and PROTOCOL_RE.match(row.protocol):
            out.append(
                NewDecision(
                    row, row.protocol, Status.ATTENTION, REASON_UNRECOGNISED,
                    Problem.UNRECOGNISED,
                )
            )
            continue
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
                    Problem.DUPLICATE, duplicate_of=dup,
                )
            )
            continue
        email = mailbox_key(row.raw_email)
        if ctx.open_per_email.get(email, 0) >= ctx.max_open_per_email:
            out.append(
                NewDecision(
                    row, protocol, Status.ATTENTION,
                    REASON_TOO_MANY.format(limit=ctx.max_open_per_email), Problem.TOO_MANY_OPEN,
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
