"""Named crash points at every effect boundary, for the fault-injection suite; a no-op in production.

``BALCAO_CRASH_AT=after_send`` makes the process kill itself with SIGKILL the first time it
reaches that point, exactly like a power cut: no cleanup, no flush, no atexit.
"""

from __future__ import annotations

import os
import signal

ENV = "BALCAO_CRASH_AT"

# Every boundary between a journal commit and an external effect (or the reverse).
POINTS = (
    "after_claim",  # protocols claimed in the journal, nothing else done
    "after_event_intent",  # event intents committed, no insert yet
    "after_event_insert",  # Google created an event, the journal does not know yet
    "after_mail_intent",  # mail intents committed, nothing sent
    "after_send",  # a message was sent, the journal does not know yet
    "after_sheet_write",  # the batch write happened, the journal does not know yet
)


def hit(name: str) -> None:
    """Kill this process if the environment names this crash point."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
