"""Retries in one place: truncated exponential backoff with full jitter, Retry-After honoured, only for requests safe to repeat.

Safe to repeat (``Retrier.call``): reads (sheet info/read, free/busy, events.get/list, the
sent-mail search) and writes made idempotent by an id or by placement (events.insert with
the deterministic event id: a repeat answers 409 and is read back; the sheet batch write of
constant values placed by identity, retried as a unit together with its identity re-read).
Never retried: ``messages.send`` / SMTP (no idempotency key: a lost answer is resolved by the
journal's intents, DESIGN §4), column creation (appendDimension is not idempotent) and the
heartbeat tab. No vendor library retries anything (``num_retries=0``, NoRetryHttp, gspread's
plain HTTPClient): this module is the only retry loop.

The sleep is ``stop.wait``, so a SIGTERM cuts a backoff short; tests inject their own sleep and
random source. No clock is read here: waits are relative.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from worker.model import AdapterError

log = logging.getLogger("balcao.retry")
_T = TypeVar("_T")

# A Retry-After longer than this many max delays is not waited for inside a tick: the request
# stays pending and the loop's own backoff takes over (a quota window, not a hiccup).
_RETRY_AFTER_SLACK = 1.0


@dataclass
class RetryPolicy:
    """``attempts`` tries in all (1 = no retry); the n-th wait (n from 0) is uniform in
    ``[0, min(max_delay, base_delay * 2**n)]`` (full jitter), or exactly ``retry_after`` when
    the server said so and it is at most ``max_delay``.

    >>> RetryPolicy(attempts=4, base_delay=1, max_delay=64).cap(3)
    8.0
    """

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 64.0

    def cap(self, n: int) -> float:
        return float(min(self.max_delay, self.base_delay * (2 ** min(n, 30))))


@dataclass
class RetryStats:
    """Counters for reports and tests: attempts beyond the first, and the seconds waited."""

    retries: int = 0
    waited: float = 0.0
    gave_up: int = 0
    last_wait: float | None = None


class Retrier:
    """Runs a callable that may raise AdapterError, retrying transient failures.

    Not retried: permanent errors, authorisation errors (every effect pauses instead), and a
    stop request (``stop`` set: the last error is raised at once so the tick can flush and
    end). ``sleep(seconds) -> bool`` returns True when it was interrupted by a stop."""

    def __init__(
        self,
        policy: RetryPolicy,
        stop: threading.Event | None = None,
        *,
        sleep: Callable[[float], bool] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.stop = stop or threading.Event()
        self._sleep = sleep or self.stop.wait
        self._rand = rand
        self.stats = RetryStats()

    def delay(self, n: int, error: AdapterError) -> float | None:
        """Seconds to wait before try ``n + 2`` after ``error``, or None to give up now."""
        if error.retry_after is not None:
            if error.retry_after > self.policy.max_delay * _RETRY_AFTER_SLACK:
                return None
            return float(error.retry_after)
        return self._rand() * self.policy.cap(n)

    def call(self, what: str, fn: Callable[[], _T]) -> _T:
        """``fn()`` with retries; ``what`` names the request in logs (no personal data)."""
        n = 0
        while True:
            try:
                return fn()
            except AdapterError as exc:
                if exc.auth or not exc.transient:
                    raise
                if n + 1 >= self.policy.attempts or self.stop.is_set():
                    self.stats.gave_up += 1
                    raise
                wait = self.delay(n, exc)
                if wait is None:
                    self.stats.gave_up += 1
                    raise
                log.info(
                    "%s: %s; retry %d/%d in %.2fs", what, exc.status or exc.reason or "error",
                    n + 1, self.policy.attempts - 1, wait,
                )
                self.stats.retries += 1
                self.stats.waited += wait
                self.stats.last_wait = wait
                if self._sleep(wait):
                    self.stats.gave_up += 1
                    raise
                n += 1
