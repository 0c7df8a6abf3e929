"""Matching failed-delivery reports to the e-mails balcao sent, and what each match does to its request; pure, no I/O.

DESIGN §8: a report (``Action: failed`` only; the adapter drops delays) is matched by
balcao's own Message-ID (the original's, or ``X-Balcao-Message-ID`` when Gmail rewrote it).
A citizen e-mail flags its request `Requer atenção` "E-mail não entregue: contatar por
telefone ou WhatsApp"; on a final row only the note changes; a staff e-mail (digest, alert)
is only logged; a report about a message balcao never sent is ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from worker.model import Bounce
from worker.planners.schedule import FINAL_STATUSES

# Effect kinds of staff e-mails (see worker.jobs): their protocol column is not a citizen's.
STAFF_KINDS = ("digest", "alerta")


@dataclass(frozen=True)
class SentMail:
    """What the journal knows of one Message-ID it sent: the request and the e-mail's kind."""

    key: str
    protocol: str
    kind: str


class Outcome(enum.Enum):
    FLAG = "flag"  # Requer atenção with the note
    NOTE = "note"  # a final row: only the note
    LOG = "log"  # a staff e-mail: logged for the operator


@dataclass(frozen=True)
class Match:
    key: str
    protocol: str
    kind: str
    outcome: Outcome


def is_staff(kind: str) -> bool:
    """``digest-3f1c9a0b`` and ``alerta-3f1c9a0b`` are staff e-mails; ``confirmation`` and
    ``reminder-24h`` are not."""
    return kind.split("-", 1)[0] in STAFF_KINDS


def match(
    reports: Sequence[Bounce],
    sent: Mapping[str, SentMail],
    statuses: Mapping[str, str],
    seen: Collection[str],
) -> list[Match]:
    """One match per bounced Message-ID balcao sent and has not handled before (``seen``),
    in report order. ``statuses`` maps each protocol to its `Situação` (a protocol missing
    from it was erased: nothing left to flag). Two e-mails of one request that both bounce
    flag it twice, harmlessly: the second finds nothing to change."""
    out: list[Match] = []
    done: set[str] = set(seen)
    for report in reports:
        mail = sent.get(report.message_id)
        if mail is None or report.message_id in done:
            continue
        done.add(report.message_id)
        if is_staff(mail.kind):
            outcome = Outcome.LOG
        elif mail.protocol not in statuses:
            continue  # a request erased since: nothing left to flag
        elif statuses[mail.protocol] in FINAL_STATUSES:
            outcome = Outcome.NOTE
        else:
            outcome = Outcome.FLAG
        out.append(Match(mail.key, mail.protocol, mail.kind, outcome))
    return out
