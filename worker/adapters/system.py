"""SystemClock: the only place that reads the real clock; nothing else here."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The Clock port over the system clock (aware, UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)
