"""MemoryCalendar: the Calendar port in memory with Google's id, sequence and sync-token semantics; no I/O."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from worker.adapters.memory_base import FaultHooks, merge_spans, require_aware
from worker.model import AdapterError, ChangeSet, EventChange, EventResult, EventSpec
from worker.ports import Clock

SEND_UPDATES = ("all", "externalOnly", "none")


@dataclass
class StoredEvent:
    spec: EventSpec
    status: str = "confirmed"
    meet_status: str | None = None
    meet_link: str | None = None
    pending_reads: int = 0  # reads that still report the Meet as pending
    sequence: int = 0
    updated: datetime | None = None
    version: int = 0  # the calendar-wide change counter at its last change (sync tokens)
    moved_to: str | None = None  # the stub an events.move leaves: cancelled, id only


def meet_link_for(event_id: str) -> str:
    """A deterministic Meet-like link, ``https://meet.google.com/abc-defg-hij``."""
    digest = hashlib.sha256(event_id.encode()).digest()
    letters = "".join(chr(97 + b % 26) for b in digest[:10])
    return f"https://meet.google.com/{letters[:3]}-{letters[3:7]}-{letters[7:10]}"


def _not_found(operation: str) -> AdapterError:
    return AdapterError(f"calendar {operation}: HTTP 404 notFound", False, status=404, reason="notFound")


class MemoryCalendar(FaultHooks):
    """The Calendar port in memory, with Google's id semantics: a second insert of an id is a
    409 read back (a cancelled event stays cancelled, never recreated); delete marks it
    ``cancelled`` and a second delete is fine (410 counts as done).

    ``meet_pending_reads=N`` makes a new Meet report ``pending`` on its first N reads (the insert
    counts as one), then ``meet_outcome`` (``success`` or ``failure``). ``calendars`` lists the
    readable calendars (None: any id is readable). ``busy_extra`` holds staff meetings.

    Changes behave as the sandbox's events.list with a syncToken: every change (balcao's or
    staff's) is numbered, ``changes`` returns what came after the token, deleted and moved
    events bare; ``expire_sync_tokens`` makes the next ``changes`` fall back to a full sync.
    ``clock`` (optional) stamps ``updated``. Staff are played with ``cancel_by_staff``,
    ``reschedule_by_staff``, ``retitle_by_staff`` and ``move_by_staff``."""

    def __init__(
        self,
        calendars: Sequence[str] | None = None,
        *,
        meet_pending_reads: int = 0,
        meet_outcome: str = "success",
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.calendars = set(calendars) if calendars is not None else None
        self.meet_pending_reads = meet_pending_reads
        self.meet_outcome = meet_outcome
        self.clock = clock
        self.events: dict[str, dict[str, StoredEvent]] = defaultdict(dict)
        self.busy_extra: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.version = 0
        self.epoch = 1
        self.send_updates: list[tuple[str, str, str]] = []  # (operation, event id, sendUpdates)

    # ---- port

    def busy(
        self, calendar_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, datetime]]]:
        fault = self._enter("busy", (tuple(calendar_ids), start, end))
        require_aware(start, end)
        out: dict[str, list[tuple[datetime, datetime]]] = {}
        for cal in calendar_ids:
            self._check_calendar(cal)
            spans = [
                (e.spec.start, e.spec.end)
                for e in self.events[cal].values()
                if e.status != "cancelled"
            ] + list(self.busy_extra[cal])
            out[cal] = merge_spans(
                [(max(s, start), min(e, end)) for s, e in spans if s < end and e > start]
            )
        self._exit(fault)
        return out

    def create_event(self, spec: EventSpec) -> EventResult:
        fault = self._enter("create_event", spec.event_id)
        require_aware(spec.start, spec.end)
        self._check_calendar(spec.calendar_id)
        cal = self.events[spec.calendar_id]
        stored = cal.get(spec.event_id)
        if stored is None:
            stored = StoredEvent(spec=spec)
            if spec.meet:
                stored.pending_reads = self.meet_pending_reads
                stored.meet_status = "pending"
            cal[spec.event_id] = stored
            self._touch(stored)
        result = self._read(stored)
        self._exit(fault)
        return result

    def get_event(self, calendar_id: str, event_id: str) -> EventResult | None:
        fault = self._enter("get_event", event_id)
        self._check_calendar(calendar_id)
        stored = self.events[calendar_id].get(event_id)
        result = self._read(stored) if stored is not None else None
        self._exit(fault)
        return result

    def delete_event(self, calendar_id: str, event_id: str, *, send_updates: str = "all") -> None:
        fault = self._enter("delete_event", event_id)
        _check_send_updates(send_updates)
        self._check_calendar(calendar_id)
        stored = self.events[calendar_id].get(event_id)
        if stored is None:
            raise _not_found("events.delete")
        if stored.status != "cancelled":
            stored.status = "cancelled"
            self._touch(stored)
            self.send_updates.append(("delete", event_id, send_updates))
        self._exit(fault)

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
        fault = self._enter("patch_event", event_id)
        _check_send_updates(send_updates)
        if (start is None) != (end is None):
            raise ValueError("patch_event: give both start and end, or neither")
        self._check_calendar(calendar_id)
        stored = self.events[calendar_id].get(event_id)
        if stored is None or stored.moved_to is not None:
            raise _not_found("events.patch")
        self._patch(stored, start=start, end=end, summary=summary, description=description)
        if strip_personal:
            stored.spec = dataclasses.replace(stored.spec, description="", attendee_email=None)
        self.send_updates.append(("patch", event_id, send_updates))
        result = self._snapshot(stored)
        self._exit(fault)
        return result

    def changes(self, calendar_id: str, sync_token: str | None, time_min: datetime) -> ChangeSet:
        fault = self._enter("changes", (calendar_id, sync_token))
        require_aware(time_min)
        self._check_calendar(calendar_id)
        cal = self.events[calendar_id]
        token = f"mem:{self.epoch}:{self.version}:{calendar_id}"
        since = self._since(calendar_id, sync_token) if sync_token is not None else None
        if since is not None:
            items = [self._change(calendar_id, e) for e in cal.values() if e.version > since]
            result = ChangeSet(items, token)
        else:
            live = [e for e in cal.values() if e.status != "cancelled" and e.spec.end > time_min]
            items = [self._change(calendar_id, e) for e in live]
            result = ChangeSet(items, token, full_sync=True, token_expired=sync_token is not None)
        self._exit(fault)
        return result

    def find_events(self, calendar_id: str, protocol: str) -> list[EventResult]:
        fault = self._enter("find_events", protocol)
        self._check_calendar(calendar_id)
        out = [
            self._snapshot(e)
            for e in self.events[calendar_id].values()
            if e.spec.protocol == protocol and e.moved_to is None
        ]
        self._exit(fault)
        return out

    # ---- what staff do in Google Calendar (not logged as calls)

    def cancel_by_staff(self, calendar_id: str, event_id: str) -> None:
        """Staff delete the event in the Calendar UI: it stays, ``cancelled``."""
        stored = self.events[calendar_id][event_id]
        if stored.status != "cancelled":  # deleting again is a 410 at Google: no change
            stored.status = "cancelled"
            self._touch(stored)

    def reschedule_by_staff(self, calendar_id: str, event_id: str, start: datetime, end: datetime) -> None:
        """Staff drag the event to another time: a change with a higher sequence."""
        self._patch(self.events[calendar_id][event_id], start=start, end=end)

    def retitle_by_staff(self, calendar_id: str, event_id: str, summary: str) -> None:
        """Staff edit the title: a change, same sequence."""
        self._patch(self.events[calendar_id][event_id], summary=summary)

    def move_by_staff(self, calendar_id: str, event_id: str, destination: str) -> None:
        """Staff give the event to another attendant (events.move): the source keeps a bare
        cancelled stub, the destination gets the event with its id, time and Meet link."""
        stored = self.events[calendar_id][event_id]
        if stored.moved_to is not None or stored.status == "cancelled":
            raise _not_found("events.move")
        there = self.events[destination].get(event_id)
        if there is not None and there.moved_to is None:
            raise AdapterError("calendar events.move: HTTP 409 duplicate", False, status=409, reason="duplicate")
        moved = dataclasses.replace(stored, spec=dataclasses.replace(stored.spec, calendar_id=destination))
        self.events[destination][event_id] = moved
        self._touch(moved)
        stub = StoredEvent(spec=stored.spec, status="cancelled", moved_to=destination)
        self.events[calendar_id][event_id] = stub
        self._touch(stub)

    def expire_sync_tokens(self) -> None:
        """Google stops honouring every token given so far (the next ``changes`` full-syncs)."""
        self.epoch += 1

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        """A staff meeting that free/busy reports as busy."""
        require_aware(start, end)
        self.busy_extra[calendar_id].append((start, end))

    def all_events(self) -> list[StoredEvent]:
        return [e for cal in self.events.values() for e in cal.values() if e.moved_to is None]

    # ---- internals

    def _check_calendar(self, calendar_id: str) -> None:
        if self.calendars is not None and calendar_id not in self.calendars:
            raise AdapterError("calendar: HTTP 404 notFound", False, status=404, reason="notFound")

    def _touch(self, stored: StoredEvent) -> None:
        self.version += 1
        stored.version = self.version
        stored.updated = self.clock.now() if self.clock is not None else None

    def _patch(
        self,
        stored: StoredEvent,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        summary: str | None = None,
        description: str | None = None,
    ) -> None:
        spec = stored.spec
        if start is not None and end is not None:
            require_aware(start, end)
            if end <= start:
                raise ValueError("patch_event: end must be after start")
            if (start, end) != (spec.start, spec.end):
                stored.sequence += 1  # Google raises it only when the time changes
            spec = dataclasses.replace(spec, start=start, end=end)
        if summary is not None:
            spec = dataclasses.replace(spec, summary=summary)
        if description is not None:
            spec = dataclasses.replace(spec, description=description)
        stored.spec = spec
        self._touch(stored)

    def _since(self, calendar_id: str, token: str) -> int | None:
        """The change number a token stands for; None when it is not honoured any more."""
        parts = token.split(":", 3)
        if len(parts) != 4 or parts[0] != "mem" or parts[3] != calendar_id:
            return None
        try:
            epoch, version = int(parts[1]), int(parts[2])
        except ValueError:
            return None
        return version if epoch == self.epoch and version <= self.version else None

    def _change(self, calendar_id: str, stored: StoredEvent) -> EventChange:
        if stored.status == "cancelled":
            return EventChange(stored.spec.event_id, calendar_id, "cancelled")
        return EventChange(
            event_id=stored.spec.event_id,
            calendar_id=calendar_id,
            status=stored.status,
            start=stored.spec.start,
            end=stored.spec.end,
            sequence=stored.sequence,
            updated=stored.updated,
        )

    def _read(self, stored: StoredEvent) -> EventResult:
        """A read that advances a pending Meet."""
        if stored.meet_status == "pending":
            if stored.pending_reads > 0:
                stored.pending_reads -= 1
            else:
                stored.meet_status = self.meet_outcome
                if self.meet_outcome == "success":
                    stored.meet_link = meet_link_for(stored.spec.event_id)
        return self._snapshot(stored)

    @staticmethod
    def _snapshot(stored: StoredEvent) -> EventResult:
        if stored.moved_to is not None:  # what Google shows of an event moved away: its id
            return EventResult(stored.spec.event_id, "cancelled", None, None)
        return EventResult(
            event_id=stored.spec.event_id,
            status=stored.status,
            meet_status=stored.meet_status,
            meet_link=stored.meet_link,
            html_link=f"https://calendar.example/event?eid={stored.spec.event_id}",
            start=stored.spec.start,
            end=stored.spec.end,
            sequence=stored.sequence,
            updated=stored.updated,
        )


def _check_send_updates(value: str) -> None:
    if value not in SEND_UPDATES:
        raise ValueError(f"send_updates: expected one of {', '.join(SEND_UPDATES)}, found {value!r}")


__all__ = ["MemoryCalendar", "StoredEvent", "meet_link_for"]
