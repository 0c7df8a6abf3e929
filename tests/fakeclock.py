"""Running a `balcao` subprocess under a moved clock with Debian's faketime (libfaketime): the whole process, sqlite and logging included, lives at that time."""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

FAKETIME = shutil.which("faketime")
# The library the `faketime` command preloads. A test that kills its process with SIGKILL
# preloads it itself: the command would survive its child and exit 1 ("Caught Killed").
LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
                        + sorted(glob.glob("/usr/lib/faketime/libfaketime.so.1"))), None)

needs_faketime = pytest.mark.skipif(
    FAKETIME is None or LIBFAKETIME is None,
    reason="Debian's faketime is not installed: `apt-get install faketime` (make test installs "
    "it when it can)",
)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def faked(argv: Sequence[str], at: datetime) -> list[str]:
    """``argv`` with libfaketime preloaded, the clock starting at ``at`` (aware) and running
    on from there. Not through the `faketime` command: it names a POSIX semaphore after its
    own pid and refuses to start ("sem_open: File exists") when one was left behind by an
    earlier run whose process was killed and whose pid came round again."""
    assert LIBFAKETIME is not None
    return ["env", f"LD_PRELOAD={LIBFAKETIME}", f"FAKETIME=@{_stamp(at)}", *argv]


def faked_env(env: dict[str, str], at: datetime | None = None) -> dict[str, str]:
    """The environment of a process under a moved clock: stamps read as UTC, timeouts
    (the monotonic clock) left real. With ``at``, libfaketime is preloaded directly (for a
    process the test kills), its clock starting at ``at``."""
    out = {**env, "TZ": "UTC", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           "PATH": env.get("PATH", os.environ.get("PATH", ""))}
    if at is not None:
        assert LIBFAKETIME is not None
        out.update(LD_PRELOAD=LIBFAKETIME, FAKETIME=f"@{_stamp(at)}")
    return out
