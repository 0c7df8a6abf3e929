"""A service wired to the memory adapters, with time driven by hand (DESIGN §5 service tests)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from worker import bootstrap, config, intake
from worker.adapters.memory import MemoryCalendar, MemoryMailer, MemorySheet
from worker.journal import Journal
from worker.messages import Renderer
from worker.model import ColumnTitles, TickReport
from worker.tick import Deps, run_once

BAHIA = ZoneInfo("America/Bahia")
REPO = Path(__file__).resolve().parents[2]
HEADER = ColumnTitles().titles()


def serial(dt: datetime) -> float:
    return intake.datetime_to_serial(dt, "America/Bahia")


def answers(
    email: str = "ana.souza@example.com", name: str = "Ana Souza", phone: str = "(71) 99876-5432",
    channel: str = "Google Meet", service: str = "Certidão de nascimento",
    subject: str = "Segunda via", period: str = "Sem preferência", consent: str = "Sim, concordo",
) -> list[Any]:
    return [email, name, phone, channel, service, subject, period, consent]


class Harness:
    def __init__(self, tmp: Path, now: datetime, **overrides: Any) -> None:
        s = config.load(REPO / "config.yaml", environ={})
        sections: dict[str, dict[str, Any]] = {}
        for key, value in overrides.items():
            section, _, name = key.partition("__")
            sections.setdefault(section, {})[name] = value
        for section, values in sections.items():
            s = dataclasses.replace(s, **{section: dataclasses.replace(getattr(s, section), **values)})
        s = dataclasses.replace(
            s, journal=dataclasses.replace(s.journal, path=str(tmp / "j.sqlite3")),
            form=dataclasses.replace(s.form, spreadsheet_id="mem", **sections.get("form", {})),
        )
        self.s = s
        self.now = now
        self.sheet = MemorySheet([HEADER])
        self.calendar = MemoryCalendar()
        self.mailer = MemoryMailer()
        self.journal = Journal(s.journal.path)
        self.slept: list[float] = []
        self.deps = Deps(
            settings=s, sheet=self.sheet, calendar=self.calendar, mailer=self.mailer,
            journal=self.journal, office=bootstrap.office_calendar(s),
            renderer=Renderer(bootstrap.templates_dir()), office_info=bootstrap.office_info(s),
            sleep=self._sleep,
        )

    def _sleep(self, seconds: float) -> bool:
        """The retry backoff's sleep: recorded, never waited (True would mean "stopped")."""
        self.slept.append(seconds)
        return self.deps.stop.is_set()

    def submit(self, at: datetime, **kw: Any) -> int:
        """A citizen submits: values placed under their header titles, wherever they are."""
        by_title = dict(zip(HEADER, [serial(at), *answers(**kw)], strict=True))
        header = self.sheet.header()
        return self.sheet.append_row([by_title.get(str(t)) for t in header])

    def tick(self, **kw: Any) -> TickReport:
        return run_once(self.deps, self.now, **kw)

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)

    def col(self, title: str) -> int:
        c = self.sheet.column_of(title)
        assert c is not None, title
        return c

    def cell(self, row: int, title: str) -> Any:
        return self.sheet.cell(row, self.col(title))

    def row_of(self, protocol: str) -> int:
        pc = self.col("Protocolo")
        for r in range(2, len(self.sheet.grid) + 1):
            if self.sheet.cell(r, pc) == protocol:
                return r
        raise AssertionError(f"{protocol} not in sheet")
