"""A hand-built journal for the month's report: a literal table of requests and e-mails, written
through the Journal API, and the figures a person would count from it by hand."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from worker import config
from worker.journal import Journal, RequestRecord

BAHIA = ZoneInfo("America/Bahia")
# Mid-March: the deadlines of the last days are still ahead.
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=BAHIA)
MARCH = "2026-03"

# n, submitted (None: the timestamp cell was not a date), deadline, status, channel, service,
# valid, duplicate_of, appointment, event_state. Every row carries a name, e-mail and phone
# (see ``build``) except the erased one, which keeps only channel and service (DESIGN §9).
REQUESTS: list[tuple[Any, ...]] = [
    (1, "2026-03-02T10:00:00-03:00", "2026-03-03T10:00:00-03:00", "Realizado", "meet",
     "Certidão de nascimento", 1, None, "2026-03-04T10:00:00-03:00", "created"),
    (2, "2026-03-02T14:00:00-03:00", "2026-03-03T14:00:00-03:00", "Agendado", "whatsapp",
     "Escritura", 1, None, "2026-03-05T09:00:00-03:00", "created"),
    (3, "2026-03-03T09:00:00-03:00", "2026-03-04T09:00:00-03:00", "Não compareceu", "meet",
     "Certidão de nascimento", 1, None, "2026-03-04T15:00:00-03:00", "created"),
    (4, "2026-03-03T09:05:00-03:00", "2026-03-04T09:05:00-03:00", "Duplicado", "meet",
     "Certidão de nascimento", 1, "BV-2026-000003", None, ""),
    (5, "2026-03-05T08:00:00-03:00", "2026-03-06T08:00:00-03:00", "Cancelado", "meet",
     "Procuração", 1, None, "2026-03-09T10:00:00-03:00", "cancelled"),
    (6, "2026-03-10T10:00:00-03:00", "2026-03-11T10:00:00-03:00", "Requer atenção", "meet",
     "Procuração", 1, None, None, ""),
    (7, "2026-03-12T10:00:00-03:00", None, "Requer atenção", "", "", 0, None, None, ""),
    (8, "2026-03-19T15:00:00-03:00", "2026-03-20T15:00:00-03:00", "Recebido", "whatsapp",
     "Escritura", 1, None, None, ""),
    (9, "2026-03-06T09:00:00-03:00", "2026-03-07T09:00:00-03:00", "Realizado", "meet",
     "Certidão de nascimento", 1, None, "2026-03-09T09:00:00-03:00", "created"),
    # 23:30 on 28 February in Bahia, stored in UTC: February's, not March's.
    (10, "2026-03-01T02:30:00+00:00", "2026-03-03T08:00:00-03:00", "Agendado", "meet",
     "Escritura", 1, None, None, ""),
    # 23:30 on 31 March in Bahia, stored in UTC: March's.
    (11, "2026-04-01T02:30:00+00:00", "2026-04-02T08:00:00-03:00", "Recebido", "whatsapp",
     "Escritura", 1, None, None, ""),
    # No usable timestamp: counted in the month balcao took it in (received_at below).
    (12, None, None, "Requer atenção", "", "", 0, None, None, ""),
    (13, "2026-04-01T08:00:00-03:00", "2026-04-02T08:00:00-03:00", "Recebido", "meet",
     "Escritura", 1, None, None, ""),
]
RECEIVED_AT_OF_12 = "2026-03-15T10:00:00-03:00"
ERASED = 9

# n, kind, state, at: every e-mail effect. Only the first confirmation that was sent counts.
EMAILS: list[tuple[int, str, str, str]] = [
    (1, "confirmation", "done", "2026-03-02T11:00:00-03:00"),   # 1 h: in time
    (1, "confirmation", "done", "2026-03-05T08:00:00-03:00"),   # a reschedule: not the answer
    (2, "ack", "done", "2026-03-02T14:01:00-03:00"),            # an acknowledgement is no answer
    (2, "confirmation", "failed", "2026-03-02T15:00:00-03:00"),  # refused: never left
    (2, "confirmation", "done", "2026-03-03T16:00:00-03:00"),   # 26 h: late
    (3, "confirmation", "done", "2026-03-03T09:30:00-03:00"),   # 30 min: in time
    (5, "confirmation", "done", "2026-03-05T10:00:00-03:00"),   # 2 h: in time, then cancelled
    (6, "ack", "done", "2026-03-10T10:01:00-03:00"),            # no confirmation, deadline past
    (9, "confirmation", "done", "2026-03-07T09:00:00-03:00"),   # exactly at the deadline: in time
    (10, "confirmation", "done", "2026-03-02T09:00:00-03:00"),
]


class Expected:
    """What a person counts by hand from the tables above for March 2026 at NOW."""

    received = 11  # 1-9, 11, 12
    valid = 8  # 1, 2, 3, 5, 6, 8, 9, 11
    duplicates = 1  # 4
    attention = 3  # 6, 7, 12
    in_time = 4  # 1, 3, 5, 9
    late = 2  # 2 (answered after), 6 (none, deadline past)
    pending = 2  # 8, 11
    held = 2  # 1, 9
    no_shows = 1  # 3
    cancelled = 1  # 5
    # Waits 30 min, 1 h, 2 h, 24 h, 26 h: median 2 h; p90 at 3.6 of 0..4 = 24 h + 0.6 × 2 h.
    median_s = 2 * 3600
    p90_s = 24 * 3600 + 0.6 * 2 * 3600
    no_prazo: ClassVar[dict[int, str]] = {1: "sim", 2: "não", 3: "sim", 4: "", 5: "sim", 6: "não", 7: "", 8: "pendente",
                                          9: "sim", 11: "pendente", 12: ""}


def protocol(n: int) -> str:
    return f"BV-2026-{n:06d}"


def build(path: Path) -> Path:
    """The journal of the tables above at ``path``."""
    j = Journal(str(path))
    with j.tx():
        for n, sub, deadline, status, channel, service, valid, dup, slot, ev in REQUESTS:
            erased = n == ERASED
            j.insert(RequestRecord(
                protocol=protocol(n), seq=n, fingerprint="" if erased else f"fp{n}",
                submitted=sub, ts_key=None,
                received_at=RECEIVED_AT_OF_12 if n == 12 else (sub or RECEIVED_AT_OF_12),
                deadline=deadline, status=status, channel=channel, service=service,
                valid=valid, duplicate_of=dup, slot_start=slot, event_state=ev,
                email="" if erased else f"pessoa{n}@example.com",
                name="" if erased else f"Maria Teste{n}",
                phone="" if erased else f"(71) 99876-54{n:02d}",
                conf_state="sent" if any(e[0] == n and e[1] == "confirmation" for e in EMAILS)
                else "",
                updated_at=NOW.isoformat(), purged_at="2026-03-19T00:00:00-03:00" if erased else None,
            ))
        for i, (n, kind, state, at) in enumerate(EMAILS):
            key = f"<m{i}@balcao.example>"
            when = datetime.fromisoformat(at)
            j.record_intent(key, protocol(n), kind, 0, when)
            if state == "done":
                j.record_done(key, "sent-id", when)
            else:
                j.record_failed(key, when)
    j.close()
    return path


def settings(journal_path: Path, **env: str) -> Any:
    environ = {"BALCAO__JOURNAL__PATH": str(journal_path)}
    environ.update({f"BALCAO__{k.upper()}": v for k, v in env.items()})
    return config.load(None, environ=environ)


PERSONAL = ("Maria Teste", "@example.com", "99876-54")
