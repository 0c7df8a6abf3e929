"""Calendar v3: events insert/get/patch/update/delete/list, freebusy.query, calendars.get.

Google's rules kept: base32hex client ids (5–1024 chars), 409 on a duplicate id (deleted ones
too), 410 on a second delete, cancelled events still readable, conferenceData honoured only
with ``conferenceDataVersion=1``, Meet creation that may stay ``pending`` for a few reads, and
a dateTime that needs an offset or a timeZone. Calendars exist as soon as they are named.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.sandbox.context import Ctx, Reply
from worker.sandbox.errors import ApiError, bad_request
from worker.sandbox.state import State, StoredEvent

ID_RE = re.compile(r"[a-v0-9]{5,1024}")
MEET_ICON = "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"
READ_ONLY = ("kind", "etag", "htmlLink", "created", "updated", "creator", "organizer", "hangoutLink", "iCalUID")
FREEBUSY_MAX_DAYS = 90  # observed limit of the real endpoint (cal.com #11962)
FREEBUSY_MAX_ITEMS = 50


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_instant(text: str, what: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise bad_request(f"Invalid value for: {what}", "invalid") from None
    if dt.tzinfo is None:
        raise bad_request(f"Invalid value for: {what}", "invalid")
    return dt


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _norm_time(edt: Any, which: str, cal_tz: str) -> tuple[dict[str, Any], datetime]:
    """Validate an EventDateTime; returns (as Google echoes it, aware instant)."""
    if not isinstance(edt, dict) or (not edt.get("dateTime") and not edt.get("date")):
        raise bad_request(f"Missing {which} time.", "required")
    tz_name = edt.get("timeZone")
    tz = None
    if tz_name:
        try:
            tz = _zone(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise bad_request(f"Invalid time zone definition for {which} time.", "invalid") from None
    if edt.get("date") and not edt.get("dateTime"):
        try:
            d = date.fromisoformat(edt["date"])
        except ValueError:
            raise bad_request(f"Invalid value for: {which}.date", "invalid") from None
        inst = datetime(d.year, d.month, d.day, tzinfo=tz or _zone(cal_tz))
        out = {"date": d.isoformat()}
        if tz_name:
            out["timeZone"] = tz_name
        return out, inst
    try:
        dt = datetime.fromisoformat(str(edt["dateTime"]).replace("z", "Z"))
    except ValueError:
        raise bad_request(f"Invalid value for: {which}.dateTime", "invalid") from None
    if dt.tzinfo is None:
        if tz is None:
            raise bad_request(f"Missing time zone definition for {which} time.", "required")
        dt = dt.replace(tzinfo=tz)
    shown = dt.astimezone(tz or _zone(cal_tz))
    out = {"dateTime": shown.isoformat()}
    if tz_name:
        out["timeZone"] = tz_name
    return out, dt


def _meet_code(cal_id: str, event_id: str, request_id: str) -> str:
    h = hashlib.sha256(f"{cal_id}|{event_id}|{request_id}".encode()).digest()
    letters = "".join(chr(97 + b % 26) for b in h[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:10]}"


def _conference_view(ev: StoredEvent, pending: bool) -> tuple[dict[str, Any] | None, str | None]:
    conf = ev.conference
    if conf is None:
        return None, None
    if "code" not in conf:  # conference data given as is (e.g. addOn)
        return copy.deepcopy(conf["data"]), None
    cr = copy.deepcopy(conf["createRequest"])
    if pending:
        cr["status"] = {"statusCode": "pending"}
        return {"createRequest": cr}, None
    code = conf["code"]
    digits = "".join(str(int(c, 16) % 10) for c in hashlib.sha1(code.encode()).hexdigest()[:13])
    pin = digits[:9]
    cr["status"] = {"statusCode": "success"}
    data = {
        "createRequest": cr,
        "entryPoints": [
            {"entryPointType": "video", "uri": f"https://meet.google.com/{code}", "label": f"meet.google.com/{code}"},
            {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin={digits}", "pin": digits},
            {"entryPointType": "phone", "uri": f"tel:+55-11-4935-{digits[9:13]}", "label": f"+55 11 4935-{digits[9:13]}",
             "pin": pin, "regionCode": "BR"},
        ],
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet", "iconUri": MEET_ICON},
        "conferenceId": code,
        "signature": base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()[:40],
    }
    return data, f"https://meet.google.com/{code}"


def render(state: State, cal_id: str, ev: StoredEvent, *, count: bool) -> dict[str, Any]:
    """The event as the API returns it; ``count`` advances the Meet pending counter."""
    body = copy.deepcopy(ev.body)
    pending = ev.conference is not None and "code" in ev.conference and ev.answers < int(state.config["meet_pending_gets"])
    data, link = _conference_view(ev, pending)
    if count and ev.conference is not None:
        ev.answers += 1
    body.pop("conferenceData", None)
    body.pop("hangoutLink", None)
    if link:
        body["hangoutLink"] = link
    if data is not None:
        body["conferenceData"] = data
    return body


def _cal(state: State, cal_id: str) -> dict[str, StoredEvent]:
    if cal_id in state.config.get("unshared_calendars", []):
        raise ApiError(404, "Not Found", "notFound")
    return state.calendar(cal_id)


def _event(state: State, ctx: Ctx) -> StoredEvent:
    ev = _cal(state, ctx.params["calendarId"]).get(ctx.params["eventId"])
    if ev is None:
        raise ApiError(404, "Not Found", "notFound")
    return ev


def _build(ctx: Ctx, cal_id: str, event_id: str, body: dict[str, Any], prev: StoredEvent | None) -> StoredEvent:
    state = ctx.state
    tz = state.time_zone
    start, s_inst = _norm_time(body.get("start"), "start", tz)
    end, e_inst = _norm_time(body.get("end"), "end", tz)
    if ("date" in start) != ("date" in end):
        raise bad_request("Start and end times must either both be date or both be dateTime.", "invalid")
    if e_inst < s_inst:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")
    now = state.clock()
    email = ctx.email or state.mailbox_owner(cal_id)
    stored = {k: v for k, v in body.items() if k not in READ_ONLY and v is not None}
    stored.update(start=start, end=end)
    seq = int(stored.get("sequence") or 0)
    if prev is not None:
        seq = max(seq, int(prev.body.get("sequence", 0)) + 1)
    eid_b64 = base64.urlsafe_b64encode(f"{event_id} {cal_id}".encode()).decode().rstrip("=")
    created = prev.body["created"] if prev else _rfc3339(now)
    out = {
        "kind": "calendar#event",
        "etag": f'"{int(now.timestamp() * 1_000_000) * 2}"',
        "id": event_id,
        "status": stored.pop("status", None) or (prev.body.get("status") if prev else "confirmed"),
        "htmlLink": f"https://www.google.com/calendar/event?eid={eid_b64}",
        "created": created,
        "updated": _rfc3339(now),
        "creator": {"email": email},
        "organizer": {"email": cal_id if "@" in cal_id else email, "self": True},
        "iCalUID": f"{event_id}@google.com",
        "sequence": seq,
        "reminders": {"useDefault": True},
        "eventType": "default",
    }
    stored.pop("id", None)
    stored.pop("sequence", None)
    out.update(stored)
    ev = StoredEvent(body=out, start_utc=s_inst.astimezone(UTC), end_utc=e_inst.astimezone(UTC))
    # conference data: honoured only with conferenceDataVersion=1, else kept as it was
    version = ctx.q_int("conferenceDataVersion", 0)
    conf_in = body.get("conferenceData")
    ev.conference = prev.conference if prev else None
    ev.answers = prev.answers if prev else 0
    if version >= 1 and "conferenceData" in body:
        if conf_in is None:
            ev.conference = None
        else:
            cr = conf_in.get("createRequest")
            if cr:
                kind = ((cr.get("conferenceSolutionKey") or {}).get("type"))
                if kind != "hangoutsMeet":
                    raise bad_request("Invalid conference type value.", "invalid")
                if not cr.get("requestId"):
                    raise bad_request("Invalid conference request id value.", "invalid")
                same = prev is not None and prev.conference is not None and \
                    prev.conference.get("createRequest", {}).get("requestId") == cr["requestId"]
                if not same:
                    clean = {"requestId": cr["requestId"], "conferenceSolutionKey": {"type": "hangoutsMeet"}}
                    ev.conference = {"createRequest": clean, "code": _meet_code(cal_id, event_id, cr["requestId"])}
                    ev.answers = 0
            elif conf_in.get("conferenceId") or conf_in.get("entryPoints"):
                ev.conference = {"data": conf_in}
    return ev


def events_insert(ctx: Ctx) -> Reply:
    state = ctx.state
    cal_id = ctx.params["calendarId"]
    cal = _cal(state, cal_id)
    body = dict(ctx.body or {})
    event_id = body.get("id")
    if event_id is None:
        event_id = base64.b32hexencode(hashlib.sha256(f"{cal_id}{state.next_number()}{state.clock()}".encode()).digest()).decode().lower().rstrip("=")[:26]
    elif not isinstance(event_id, str) or not ID_RE.fullmatch(event_id):
        raise bad_request("Invalid resource id value.", "invalid")
    if event_id in cal:
        raise ApiError(409, "The requested identifier already exists.", "duplicate")
    ev = _build(ctx, cal_id, event_id, body, None)
    cal[event_id] = ev
    return Reply(body=render(state, cal_id, ev, count=True))


def events_get(ctx: Ctx) -> Reply:
    ev = _event(ctx.state, ctx)
    return Reply(body=render(ctx.state, ctx.params["calendarId"], ev, count=True))


def _merge(base: Any, patch: Any) -> Any:
    """Google patch semantics: objects merge recursively, arrays and scalars replace."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = _merge(base.get(k), v) if k in base else v
        return out
    return patch


def _store_update(ctx: Ctx, new_body: dict[str, Any], prev: StoredEvent) -> Reply:
    cal_id, event_id = ctx.params["calendarId"], ctx.params["eventId"]
    if new_body.get("id") not in (None, event_id):
        raise bad_request("Invalid resource id value.", "invalid")
    ev = _build(ctx, cal_id, event_id, new_body, prev)
    ctx.state.calendar(cal_id)[event_id] = ev
    return Reply(body=render(ctx.state, cal_id, ev, count=False))


def events_patch(ctx: Ctx) -> Reply:
    prev = _event(ctx.state, ctx)
    current = {k: v for k, v in prev.body.items() if k not in READ_ONLY}
    merged = _merge(current, dict(ctx.body or {}))
    if "conferenceData" not in (ctx.body or {}):
        merged.pop("conferenceData", None)
    return _store_update(ctx, merged, prev)


def events_update(ctx: Ctx) -> Reply:
    prev = _event(ctx.state, ctx)
    body = dict(ctx.body or {})
    if "conferenceData" not in body:
        body.pop("conferenceData", None)
    return _store_update(ctx, body, prev)


def events_delete(ctx: Ctx) -> Reply:
    ev = _event(ctx.state, ctx)
    if ev.body.get("status") == "cancelled":
        raise ApiError(410, "Resource has been deleted", "deleted")
    ev.body["status"] = "cancelled"
    ev.body["updated"] = _rfc3339(ctx.state.clock())
    return Reply(status=204)


def events_list(ctx: Ctx) -> Reply:
    state = ctx.state
    cal_id = ctx.params["calendarId"]
    cal = _cal(state, cal_id)
    tmin = ctx.q("timeMin")
    tmax = ctx.q("timeMax")
    t0 = _parse_instant(tmin, "timeMin") if tmin else None
    t1 = _parse_instant(tmax, "timeMax") if tmax else None
    if t0 and t1 and t1 <= t0:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")
    if ctx.q("orderBy") == "startTime" and not ctx.q_bool("singleEvents"):
        raise bad_request("The requested ordering is not available for the particular query.", "invalid")
    show_deleted = ctx.q_bool("showDeleted")
    private = [p.split("=", 1) for p in ctx.q_list("privateExtendedProperty")]
    shared = [p.split("=", 1) for p in ctx.q_list("sharedExtendedProperty")]
    for pair in private + shared:
        if len(pair) != 2:
            raise bad_request("Invalid extended property constraint: key=value expected.", "invalid")
    ical = ctx.q("iCalUID")
    text = (ctx.q("q") or "").lower()
    items = []
    for ev in cal.values():
        b = ev.body
        if b.get("status") == "cancelled" and not show_deleted:
            continue
        if t0 and ev.end_utc and ev.end_utc <= t0:
            continue
        if t1 and ev.start_utc and ev.start_utc >= t1:
            continue
        props = b.get("extendedProperties") or {}
        if any((props.get("private") or {}).get(k) != v for k, v in private):
            continue
        if any((props.get("shared") or {}).get(k) != v for k, v in shared):
            continue
        if ical and b.get("iCalUID") != ical:
            continue
        if text and not any(text in str(b.get(k, "")).lower() for k in ("summary", "description", "location")):
            continue
        items.append(ev)
    if ctx.q("orderBy") == "startTime":
        items.sort(key=lambda e: e.start_utc or datetime.min.replace(tzinfo=UTC))
    elif ctx.q("orderBy") == "updated":
        items.sort(key=lambda e: e.body.get("updated", ""))
    offset = int(ctx.q("pageToken") or 0)
    size = min(ctx.q_int("maxResults", 250), 2500)
    page = items[offset : offset + size]
    out: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"p{len(items)}"',
        "summary": cal_id,
        "description": "",
        "updated": _rfc3339(state.clock()),
        "timeZone": state.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 30}],
        "items": [render(state, cal_id, e, count=False) for e in page],
    }
    if offset + size < len(items):
        out["nextPageToken"] = str(offset + size)
    else:
        out["nextSyncToken"] = f"sandbox-sync-{len(items)}"
    return Reply(body=out)


def freebusy_query(ctx: Ctx) -> Reply:
    state = ctx.state
    body = ctx.body or {}
    if not body.get("timeMin"):
        raise bad_request("Missing timeMin parameter.", "required")
    if not body.get("timeMax"):
        raise bad_request("Missing timeMax parameter.", "required")
    t0 = _parse_instant(body["timeMin"], "timeMin")
    t1 = _parse_instant(body["timeMax"], "timeMax")
    if t1 <= t0:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")
    if t1 - t0 > timedelta(days=FREEBUSY_MAX_DAYS):
        raise bad_request("The requested time range is too long.", "timeRangeTooLong")
    items = body.get("items") or []
    if len(items) > FREEBUSY_MAX_ITEMS:
        raise bad_request("The number of calendars requested is too large.", "tooManyCalendarsRequested")
    tz_name = body.get("timeZone") or "UTC"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request("Invalid time zone definition.", "invalid") from None

    def fmt(dt: datetime) -> str:
        if tz_name == "UTC":
            return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return dt.astimezone(tz).isoformat()

    calendars: dict[str, Any] = {}
    for item in items:
        cid = (item or {}).get("id")
        if not cid:
            continue
        if cid in state.config.get("unshared_calendars", []):
            calendars[cid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            continue
        spans = []
        for ev in state.calendar(cid).values():
            b = ev.body
            if b.get("status") == "cancelled" or b.get("transparency") == "transparent":
                continue
            if ev.start_utc is None or ev.end_utc is None:
                continue
            s, e = max(ev.start_utc, t0), min(ev.end_utc, t1)
            if s < e:
                spans.append((s, e))
        spans.sort()
        merged: list[list[datetime]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        calendars[cid] = {"busy": [{"start": fmt(s), "end": fmt(e)} for s, e in merged]}
    return Reply(body={"kind": "calendar#freeBusy", "timeMin": _rfc3339(t0), "timeMax": _rfc3339(t1), "calendars": calendars})


def calendars_get(ctx: Ctx) -> Reply:
    cal_id = ctx.params["calendarId"]
    _cal(ctx.state, cal_id)
    return Reply(body={
        "kind": "calendar#calendar",
        "etag": '"' + hashlib.sha1(cal_id.encode()).hexdigest()[:12] + '"',
        "id": cal_id if cal_id != "primary" else (ctx.email or ctx.state.mailbox_owner(cal_id)),
        "summary": cal_id,
        "timeZone": ctx.state.time_zone,
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    })


HANDLERS = {
    "calendar.events.insert": events_insert,
    "calendar.events.get": events_get,
    "calendar.events.patch": events_patch,
    "calendar.events.update": events_update,
    "calendar.events.delete": events_delete,
    "calendar.events.list": events_list,
    "calendar.freebusy.query": freebusy_query,
    "calendar.calendars.get": calendars_get,
}


def dump(state: State) -> dict[str, Any]:
    return {
        cid: {"events": [render(state, cid, ev, count=False) for ev in cal.values()]}
        for cid, cal in state.calendars.items()
    }
