"""What every memory fake shares: queued fault hooks, the aware-time check and interval merging; no I/O."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.model import AdapterError


@dataclass
class _Fault:
    error: AdapterError
    after_effect: bool


class FaultHooks:
    """``fail_next(method, error)``: the next call of ``method`` raises ``error``.

    With ``after_effect=True`` the call takes effect first and only its answer is lost (as with
    a dropped connection after Google acted). Faults queue per method, first in first out."""

    def __init__(self) -> None:
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self.calls: list[tuple[str, Any]] = []

    def fail_next(self, method: str, error: AdapterError, *, after_effect: bool = False) -> None:
        if not callable(getattr(self, method, None)):
            raise ValueError(f"{type(self).__name__} has no method {method!r}")
        self._faults[method].append(_Fault(error, after_effect))

    def _enter(self, method: str, detail: Any = None) -> _Fault | None:
        """Log the call; raise a queued fault now unless it is an after-effect one."""
        self.calls.append((method, detail))
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue.popleft()
        if not fault.after_effect:
            raise fault.error
        return fault

    @staticmethod
    def _exit(fault: _Fault | None) -> None:
        if fault is not None:
            raise fault.error

    def count(self, method: str) -> int:
        """How many times ``method`` was called (faulted calls included)."""
        return sum(1 for m, _ in self.calls if m == method)


def require_aware(*values: datetime) -> None:
    """Raise ValueError for a naive datetime (balcao's times always carry their zone)."""
    for v in values:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("expected aware datetimes")


def merge_spans(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sort and merge overlapping or touching intervals."""
    out: list[tuple[datetime, datetime]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


__all__ = ["FaultHooks", "merge_spans", "require_aware"]
