"""What a tick runs with: the ports, the journal, the domain services (Deps), and what survives between ticks in memory (TickState); no logic."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from worker import crashpoints
from worker.config import Settings
from worker.journal import Journal
from worker.messages import OfficeInfo, Renderer
from worker.officetime import OfficeCalendar
from worker.packed import IdentityIndex, ShownCells
from worker.ports import Calendar, Mailer, ResponseSheet, SheetInfo
from worker.retry import Retrier, RetryPolicy


@dataclass
class TickState:
    """What survives between ticks in memory (the journal holds everything that must survive
    a restart)."""

    info: SheetInfo | None = None
    columns: dict[str, int] = field(default_factory=dict)  # field/owned title → 0-based index
    identity: IdentityIndex | None = None  # dropped whenever a tick fails, reloaded next tick
    # protocol → (the `Situação` and `Atendimento` balcao last wrote): a cell that differs is
    # staff's. Plain values, loaded with the identity index and dropped with it.
    shown: ShownCells | None = None
    paused: str | None = None
    # Reconciliation reads (open intents checked against Google) since start, counted apart
    # from the tick budget; the last tick's figure is in TickReport.reconcile_requests.
    reconcile_requests: int = 0
    timeouts_shortened: bool = False
    pause_logged: str | None = None  # the pause the operator was already told about
    # Why effects stopped for good in this process (the journal file deleted or replaced, or
    # a journal that does not know the sheet's protocols): no tick acts, no job runs.
    stopped: str | None = None
    refused: bool = False  # the journal does not know the sheet's protocols: the daemon exits 1


@dataclass
class Deps:
    settings: Settings
    sheet: ResponseSheet
    calendar: Calendar
    mailer: Mailer
    journal: Journal
    office: OfficeCalendar
    renderer: Renderer
    office_info: OfficeInfo
    stop: threading.Event = field(default_factory=threading.Event)
    crash: Callable[[str], None] = crashpoints.hit
    state: TickState = field(default_factory=TickState)
    # The one retry loop (worker.retry), built from ``settings.retry`` and ``stop`` when None.
    # Tests pass ``sleep`` (seconds → True when interrupted) so that no test really waits.
    retrier: Retrier | None = None
    sleep: Callable[[float], bool] | None = None

    def __post_init__(self) -> None:
        if self.retrier is None:
            r = self.settings.retry
            self.retrier = Retrier(
                RetryPolicy(r.attempts, r.base_delay_seconds, r.max_delay_seconds),
                self.stop, sleep=self.sleep,
            )

    @property
    def office_key(self) -> str:
        """What makes this office's ids its own (DESIGN §4): the response spreadsheet's id."""
        return self.settings.form.spreadsheet_id
