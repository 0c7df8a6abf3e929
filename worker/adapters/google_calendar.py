"""GoogleCalendar: the Calendar port over googleapiclient (events with Meet, free/busy); no library retries."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import google.auth.credentials
from googleapiclient.errors import HttpError

from worker.adapters.errors import classify, mask_email
from worker.adapters.google_auth import build_service, execute, set_http_timeout
from worker.adapters.memory import merge_spans, require_aware
from worker.model import AdapterError, ChangeSet, EventChange, EventResult, EventSpec

PROTOCOL_KEY = "balcaoProtocol"
# Google documents calendarExpansionMax ≤ 50 (calendar.v3 FreeBusyRequest).
MAX_CALENDARS_PER_QUERY = 50
# freebusy refuses long ranges ("The requested time range is too long"); the limit is not in
# the discovery doc and is reported around 60-90 days, so stay well under it.
MAX_FREEBUSY_SPAN = timedelta(days=60)
# events.list's largest page: an office's future events fit in one request.
MAX_LIST_PAGE = 2500
SEND_UPDATES = ("all", "externalOnly", "none")


class GoogleCalendar:
    """The attendants' calendars through the Calendar v3 API.

    Every request runs with ``execute(num_retries=0)``: googleapiclient's retries resend POSTs.
    A pending Meet is polled with at most ``meet_poll_gets`` events.get calls spaced by
    ``meet_poll_delay`` seconds (``sleep`` is injectable so tests never wait); still pending
    after that, the result says so and the service looks again on the next tick."""

    def __init__(
        self,
        creds: google.auth.credentials.Credentials,
        *,
        api_endpoint: str | None = None,
        timeout: float = 30.0,
        meet_poll_gets: int = 3,
        meet_poll_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        http: Any = None,
    ) -> None:
        """``http``: for unit tests only, a ready transport such as
        ``googleapiclient.http.HttpMockSequence`` (then ``creds`` is not applied)."""
        self._service: Any = build_service(
            "calendar",
            "v3",
            creds,
            api_endpoint=api_endpoint,
            service_path="/calendar/v3/",
            timeout=timeout,
            http=http,
        )
        # Each ``service.events()`` call builds a new resource object and all its methods
        # (googleapiclient's createMethod, ~12 per resource): once per adapter, not per call.
        self._events: Any = self._service.events()
        self._freebusy: Any = self._service.freebusy()
        self.meet_poll_gets = meet_poll_gets
        self.meet_poll_delay = meet_poll_delay
        self._sleep = sleep

    def set_timeout(self, seconds: float) -> None:
        """Shorter request timeouts from now on (the worker is stopping)."""
        set_http_timeout(self._service, seconds)
        self.meet_poll_gets = 0  # no more waiting for a Meet link: the next tick looks again

    # ---- port

    def busy(
        self, calendar_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, datetime]]]:
        require_aware(start, end)
        ids = list(dict.fromkeys(calendar_ids))
        out: dict[str, list[tuple[datetime, datetime]]] = {c: [] for c in ids}
        if not ids or end <= start:
            return out
        for lo, hi in _chunks(start, end, MAX_FREEBUSY_SPAN):
            for i in range(0, len(ids), MAX_CALENDARS_PER_QUERY):
                group = ids[i : i + MAX_CALENDARS_PER_QUERY]
                body = {
                    "timeMin": lo.isoformat(),
                    "timeMax": hi.isoformat(),
                    "items": [{"id": c} for c in group],
                }
                answer = execute(
                    "calendar freebusy.query",
                    False,  # a query: safe to repeat
                    self._freebusy.query(body=body),
                )
                calendars = answer.get("calendars", {})
                for n, cal in enumerate(group, start=i + 1):
                    entry = calendars.get(cal)
                    if entry is None:
                        raise AdapterError(
                            f"calendar freebusy.query: no answer for calendar {n} "
                            f"({mask_email(cal)})",
                            True,
                            reason="missingCalendar",
                        )
                    _raise_calendar_errors(entry, n, cal)
                    for span in entry.get("busy", ()):
                        out[cal].append((_parse_time(span["start"]), _parse_time(span["end"])))
        return {c: merge_spans(spans) for c, spans in out.items()}

    def create_event(self, spec: EventSpec) -> EventResult:
        require_aware(spec.start, spec.end)
        body = event_body(spec)
        request = self._events.insert(
            calendarId=spec.calendar_id,
            body=body,
            conferenceDataVersion=1,  # without it Google silently drops the Meet request
            sendUpdates="all" if spec.attendee_email else "none",
        )
        try:
            event = request.execute(num_retries=0)
        except HttpError as exc:
            if exc.resp.status != 409:
                raise classify(exc, operation="calendar events.insert", write=True) from exc
            # The id exists: created by an earlier attempt (or deleted by staff: cancelled).
            event = self._get(spec.calendar_id, spec.event_id)
            if event is None:
                # The id is taken but reads 404: a deleted event Google no longer returns
                # ("deleted events will eventually disappear"). Still deleted, never recreated.
                return EventResult(spec.event_id, "cancelled", None, None)
            found = event.get("extendedProperties", {}).get("private", {}).get(PROTOCOL_KEY)
            if found is not None and found != spec.protocol:
                raise AdapterError(
                    "calendar events.insert: the event id belongs to another protocol",
                    False,
                    status=409,
                    reason="idCollision",
                ) from exc
        except Exception as exc:
            raise classify(exc, operation="calendar events.insert", write=True) from exc
        result = event_result(event)
        gets = 0
        while result.meet_status == "pending" and result.status != "cancelled":
            if gets >= self.meet_poll_gets:
                break
            gets += 1
            self._sleep(self.meet_poll_delay)
            again = self._get(spec.calendar_id, spec.event_id)
            if again is None:
                break
            result = event_result(again)
        return result

    def get_event(self, calendar_id: str, event_id: str) -> EventResult | None:
        event = self._get(calendar_id, event_id)
        return event_result(event) if event is not None else None

    def delete_event(self, calendar_id: str, event_id: str, *, send_updates: str = "all") -> None:
        _check_send_updates(send_updates)
        request = self._events.delete(
            calendarId=calendar_id, eventId=event_id, sendUpdates=send_updates
        )
        try:
            request.execute(num_retries=0)
        except HttpError as exc:
            if exc.resp.status == 410:  # already deleted: the goal state
                return
            raise classify(exc, operation="calendar events.delete") from exc
        except Exception as exc:
            # Deleting twice is harmless (410), so a lost answer is not "unknown" in any way
            # that matters.
            raise classify(exc, operation="calendar events.delete") from exc

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
        _check_send_updates(send_updates)
        body = patch_body(
            start=start, end=end, summary=summary, description=description,
            strip_personal=strip_personal,
        )
        event = execute(
            "calendar events.patch",
            False,  # the same patch twice leaves the same event: safe to repeat
            self._events.patch(
                calendarId=calendar_id, eventId=event_id, body=body, sendUpdates=send_updates
            ),
        )
        return event_result(event)

    def changes(self, calendar_id: str, sync_token: str | None, time_min: datetime) -> ChangeSet:
        require_aware(time_min)
        if sync_token is not None:
            try:
                items, token = self._list_all(calendar_id, syncToken=sync_token)
                return ChangeSet(items, token)
            except AdapterError as exc:
                if exc.status != 410:  # 410 fullSyncRequired: start again from a full sync
                    raise
            items, token = self._list_all(calendar_id, timeMin=time_min.isoformat())
            return ChangeSet(items, token, full_sync=True, token_expired=True)
        items, token = self._list_all(calendar_id, timeMin=time_min.isoformat())
        return ChangeSet(items, token, full_sync=True)

    def _list_all(self, calendar_id: str, **params: str) -> tuple[list[EventChange], str]:
        """Every page of one events.list; (items, nextSyncToken of the last page)."""
        items: list[EventChange] = []
        page: str | None = None
        while True:
            answer = execute(
                "calendar events.list",
                False,
                self._events.list(
                    calendarId=calendar_id, maxResults=MAX_LIST_PAGE, pageToken=page, **params
                ),
            )
            items.extend(event_change(e, calendar_id) for e in answer.get("items", ()))
            page = answer.get("nextPageToken")
            if not page:
                token = answer.get("nextSyncToken")
                if not token:
                    raise AdapterError(
                        "calendar events.list: the last page has no nextSyncToken",
                        False,
                        reason="badResponse",
                    )
                return items, str(token)

    def find_events(self, calendar_id: str, protocol: str) -> list[EventResult]:
        out: list[EventResult] = []
        page: str | None = None
        while True:
            answer = execute(
                "calendar events.list",
                False,
                self._events.list(
                    calendarId=calendar_id,
                    privateExtendedProperty=f"{PROTOCOL_KEY}={protocol}",
                    showDeleted=True,
                    maxResults=250,
                    pageToken=page,
                ),
            )
            out.extend(event_result(e) for e in answer.get("items", ()))
            page = answer.get("nextPageToken")
            if not page:
                return out

    # ---- internals

    def _get(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        request = self._events.get(calendarId=calendar_id, eventId=event_id)
        try:
            event: dict[str, Any] = request.execute(num_retries=0)
        except HttpError as exc:
            if exc.resp.status == 404:
                return None
            raise classify(exc, operation="calendar events.get") from exc
        except Exception as exc:
            raise classify(exc, operation="calendar events.get") from exc
        return event


def event_body(spec: EventSpec) -> dict[str, Any]:
    """The events.insert body: start/end with offset AND timeZone, the protocol as a private
    extended property, attendees only with an address, a Meet createRequest only for Meet."""
    zone = ZoneInfo(spec.timezone)
    body: dict[str, Any] = {
        "id": spec.event_id,
        "summary": spec.summary,
        "description": spec.description,
        "start": {"dateTime": spec.start.astimezone(zone).isoformat(), "timeZone": spec.timezone},
        "end": {"dateTime": spec.end.astimezone(zone).isoformat(), "timeZone": spec.timezone},
        "extendedProperties": {"private": {PROTOCOL_KEY: spec.protocol}},
        "reminders": {"useDefault": True},
    }
    if spec.attendee_email:
        body["attendees"] = [{"email": spec.attendee_email}]
    if spec.meet:
        body["conferenceData"] = {
            "createRequest": {
                # Deterministic: a repeated insert is ignored by Google rather than making a
                # second conference.
                "requestId": spec.event_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return body


def patch_body(
    *,
    start: datetime | None,
    end: datetime | None,
    summary: str | None,
    description: str | None,
    strip_personal: bool,
) -> dict[str, Any]:
    """The events.patch body: only what changes. A time keeps its zone's name when it has one
    (Google shows the event in it); ``strip_personal`` clears description, attendees and
    location with JSON null / an empty list, which is how a patch removes a field."""
    if (start is None) != (end is None):
        raise ValueError("patch_event: give both start and end, or neither")
    body: dict[str, Any] = {}
    if start is not None and end is not None:
        require_aware(start, end)
        if end <= start:
            raise ValueError("patch_event: end must be after start")
        body["start"] = _event_datetime(start)
        body["end"] = _event_datetime(end)
    if summary is not None:
        body["summary"] = summary
    if description is not None:
        body["description"] = description
    if strip_personal:
        body.update(description=None, attendees=[], location=None)
    return body


def _event_datetime(value: datetime) -> dict[str, str]:
    zone = getattr(value.tzinfo, "key", None)
    out = {"dateTime": value.isoformat()}
    if zone:
        out["timeZone"] = str(zone)
    return out


def _check_send_updates(value: str) -> None:
    if value not in SEND_UPDATES:
        raise ValueError(f"send_updates: expected one of {', '.join(SEND_UPDATES)}, found {value!r}")


def event_change(item: Mapping[str, Any], calendar_id: str) -> EventChange:
    """EventChange from a listed item; a deleted one carries its id and status only."""
    sequence = item.get("sequence")
    updated = item.get("updated")
    return EventChange(
        event_id=str(item.get("id", "")),
        calendar_id=calendar_id,
        status=str(item.get("status", "confirmed")),
        start=_event_time(item.get("start")),
        end=_event_time(item.get("end")),
        sequence=int(sequence) if isinstance(sequence, int) else None,
        updated=_parse_time(updated) if isinstance(updated, str) else None,
    )


def event_result(event: Mapping[str, Any]) -> EventResult:
    """EventResult from an Event resource: the Meet link from the video entry point, falling
    back to hangoutLink; ``meet_status`` None when no conference was asked for."""
    conference = event.get("conferenceData") or {}
    link: str | None = None
    for entry in conference.get("entryPoints", ()):
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            link = str(entry["uri"])
            break
    link = link or event.get("hangoutLink")
    status_code = conference.get("createRequest", {}).get("status", {}).get("statusCode")
    if status_code is None and link:
        status_code = "success"  # an older event, or one made in the UI: no createRequest
    return EventResult(
        event_id=str(event.get("id", "")),
        status=str(event.get("status", "confirmed")),
        meet_status=str(status_code) if status_code else None,
        meet_link=link if status_code == "success" else None,
        html_link=event.get("htmlLink"),
        start=_event_time(event.get("start")),
        end=_event_time(event.get("end")),
        sequence=int(event.get("sequence") or 0),
        updated=_parse_time(event["updated"]) if isinstance(event.get("updated"), str) else None,
    )


def _event_time(value: object) -> datetime | None:
    """An event's start or end as an aware datetime (all-day events have no time: None)."""
    if isinstance(value, Mapping) and isinstance(value.get("dateTime"), str):
        return _parse_time(value["dateTime"])
    return None


def _raise_calendar_errors(entry: Mapping[str, Any], n: int, cal: str) -> None:
    errors = entry.get("errors") or ()
    if not errors:
        return
    reason = str(errors[0].get("reason", "unknown"))
    transient = reason in ("internalError", "backendError")
    raise AdapterError(
        f"calendar freebusy.query: calendar {n} ({mask_email(cal)}) cannot be read: {reason}"
        + ("" if transient else "; share it with balcao's account or fix scheduling.calendars"),
        transient,
        # notFound here means "not shared with this account": the operator must act.
        auth=not transient,
        reason=reason,
    )


def _parse_time(value: str) -> datetime:
    # Google writes "2028-03-07T13:00:00.000Z" or with an offset; both parse (Python ≥ 3.11).
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise AdapterError(f"calendar: time without offset {value!r}", False, reason="badResponse")
    return parsed


def _chunks(start: datetime, end: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    out = []
    lo = start
    while lo < end:
        hi = min(lo + span, end)
        out.append((lo, hi))
        lo = hi
    return out


__all__ = ["GoogleCalendar", "event_body", "event_change", "event_result", "patch_body"]
