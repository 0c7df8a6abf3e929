"""Named crash points at every effect boundary, for the fault-injection suite; a no-op in production.

``BALCAO_CRASH_AT=after_send`` makes the process kill itself with SIGKILL the first time it
reaches that point (``after_send:5`` the fifth time), exactly like a power cut: no cleanup,
no flush, no atexit.
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
    "after_event_patch",  # staff's new time is in Google, the journal does not know yet
    "after_event_delete",  # a cancelled request's event is gone, the journal does not know yet
    "after_job",  # a scheduled job ran, its last run is not recorded yet
)
# The steps of an erasure (`privacy erase`, the retention job), which a tick never reaches.
ERASURE_POINTS = (
    "after_erasure_intent",  # an elimination committed (DESIGN §9), nothing erased yet
    "after_erasure_calendar",  # its events stripped (and cancelled), sheet and journal not
    "after_erasure_sheet",  # its sheet rows erased, the journal not yet
)


_seen: dict[str, int] = {}


def hit(name: str) -> None:
    """Kill this process if the environment names this crash point: ``after_send`` the first
    time it is reached, ``after_send:5`` the fifth time (a kill in the middle of a batch)."""
    if name not in POINTS and name not in ERASURE_POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] >= (int(nth) if nth.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
