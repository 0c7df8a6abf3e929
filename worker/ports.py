"""Ports: the Protocols the service talks to, in balcao's words; adapters implement them, no vendor types here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from worker.model import Bounce, ChangeSet, EmailSpec, EventResult, EventSpec

CellValue = str | int | float | bool


@dataclass(frozen=True)
class SheetInfo:
    """Spreadsheet facts read once at start-up (and again after a structural change)."""

    timezone: str  # the spreadsheet's time zone: serial numbers are wall-clock time in it
    locale: str
    sheet_id: int  # the worksheet's numeric id, needed for structural requests
    row_count: int  # grid size, not the number of responses
    column_count: int


@dataclass(frozen=True)
class CellWrite:
    """One cell to write RAW; ``row`` and ``column`` are 1-based as in the Sheets UI."""

    row: int
    column: int
    value: CellValue


class ResponseSheet(Protocol):
    """The form's response worksheet."""

    def info(self) -> SheetInfo:
        """One metadata read (spreadsheets.get)."""
        ...

    def read(
        self, ranges: Sequence[str], *, by_column: bool = False
    ) -> list[list[Sequence[CellValue]]]:
        """ONE values.batchGet of A1 ranges inside the worksheet (e.g. ``"1:1"``, ``"A2:A"``,
        ``"A120:Z"``), UNFORMATTED_VALUE + SERIAL_NUMBER. Each result is the list of rows of that
        range (``by_column``: the list of its columns, Google's majorDimension=COLUMNS, far
        lighter for long narrow ranges; an adapter may hand them packed, as
        ``worker.packed.PackedColumn``), trailing empties trimmed as Google does (ragged)."""
        ...

    def write(self, cells: Sequence[CellWrite]) -> None:
        """ONE values.batchUpdate, RAW. Never retried blindly by a library."""
        ...

    def read_displayed(self, ranges: Sequence[str]) -> list[list[list[str]]]:
        """ONE values.batchGet of A1 ranges, row-major, each cell as staff see it
        (FORMATTED_VALUE: ``07/03/2028 10:15:00`` rather than a serial number); the
        data-subject export reports answers this way."""
        ...

    def add_columns(
        self, titles: Sequence[str], first_column: int, date_columns: Sequence[int]
    ) -> None:
        """Create balcao's columns: widen the grid when needed (Google refuses writes past the
        last column), write the header titles RAW at ``first_column``..., and format the 1-based
        ``date_columns`` once as ``dd/mm/yyyy hh:mm``."""
        ...

    def set_dropdown(self, column: int, values: Sequence[str], rows: int) -> None:
        """Put a non-strict dropdown of ``values`` on rows 2..``rows`` of a 1-based column."""
        ...

    def write_status_tab(self, title: str, rows: Sequence[Sequence[CellValue]]) -> None:
        """Write the staff-visible heartbeat tab (created when missing), RAW."""
        ...


class Calendar(Protocol):
    """The attendants' Google calendars."""

    def busy(
        self, calendar_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, datetime]]]:
        """Busy intervals per calendar (freebusy.query; split only where Google's range limit
        demands). Raises AdapterError for a calendar that cannot be read."""
        ...

    def create_event(self, spec: EventSpec) -> EventResult:
        """events.insert with the spec's deterministic id; a 409 is read back and returned."""
        ...

    def get_event(self, calendar_id: str, event_id: str) -> EventResult | None:
        """events.get; None when the id does not exist at all (a deleted event is returned
        with status ``cancelled``)."""
        ...

    def delete_event(self, calendar_id: str, event_id: str, *, send_updates: str = "all") -> None:
        """events.delete; an event already deleted (410) counts as done. ``send_updates``:
        ``all`` | ``externalOnly`` | ``none`` (Google's sendUpdates)."""
        ...

    def patch_event(
        self,
        calendar_id: str,
        event_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        summary: str | None = None,
        description: str | None = None,
        strip_personal: bool = False,
        send_updates: str = "none",
    ) -> EventResult:
        """events.patch of what is given (None = unchanged); the id, the Meet link and the
        extended properties stay. ``strip_personal`` also removes description, attendees and
        location (erasure: pass the bare title as ``summary``). A changed time raises the
        event's ``sequence``. Raises AdapterError (404 ``notFound``) for an unknown id."""
        ...

    def changes(self, calendar_id: str, sync_token: str | None, time_min: datetime) -> ChangeSet:
        """What changed in the calendar since ``sync_token`` (events.list with syncToken): one
        request when nothing changed. With None, or a token Google no longer honours (410), a
        full sync of the events ending after ``time_min`` instead (``ChangeSet.full_sync``)."""
        ...

    def find_events(self, calendar_id: str, protocol: str) -> list[EventResult]:
        """Events carrying the protocol in their private extended property (recovery)."""
        ...


class Mailer(Protocol):
    """Sending e-mail (Gmail API or SMTP)."""

    @property
    def can_search_sent(self) -> bool:
        """True when sent mail can be searched by Message-ID (gmail.readonly granted)."""
        ...

    def send(self, spec: EmailSpec) -> str:
        """Send once, never retried by a library; returns the provider's id ("" for SMTP)."""
        ...

    def find_sent(self, message_id: str) -> str | None:
        """The provider id of a sent message with this Message-ID, or None."""
        ...

    @property
    def can_read_bounces(self) -> bool:
        """True when delivery-status notifications can be read (Gmail with gmail.readonly;
        never over SMTP)."""
        ...

    def find_bounces(self, since: datetime) -> list[Bounce]:
        """Failed-delivery reports received at or after ``since`` (``from:mailer-daemon``;
        reports from ``postmaster@`` are not seen; ``Action: delayed`` is left out). Raises
        AdapterError (reason ``notSupported``/``searchDisabled``) when it cannot read them."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware current time."""
        ...
