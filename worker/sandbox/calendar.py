"""Calendar v3: events insert/get/patch/update/delete/move/list, freebusy.query, calendars.get.

Google's rules kept: base32hex client ids (5–1024 chars), 409 on a duplicate id (deleted ones
too), 410 on a second delete, cancelled events still readable, conferenceData honoured only
with ``conferenceDataVersion=1``, Meet creation that may stay ``pending`` for a few reads, and
a dateTime that needs an offset or a timeZone. Calendars exist as soon as they are named.

Incremental sync (turn 2): every change stamps the event with a state-wide version; a
``nextSyncToken`` names (reset epoch, calendar, version) and a later ``syncToken`` lists what
changed after it — deleted events as ``{kind, etag, id, status}`` only unless ``showDeleted``,
and the stub an ``events.move`` leaves in the source calendar always that bare. ``sequence``
grows only when the time (or recurrence) changes, as RFC 5546 §2.1.4 asks.
"""

from __future__ import annotations

import base64
import binascii
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


def _event(state: State, ctx: Ctx, *, stub_ok: bool = True) -> StoredEvent:
    ev = _cal(state, ctx.params["calendarId"]).get(ctx.params["eventId"])
    if ev is None or (ev.moved_to is not None and not stub_ok):
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
    # null clears a field and Google leaves empty lists out of what it returns
    stored = {k: v for k, v in body.items() if k not in READ_ONLY and v is not None and v != []}
    stored.update(start=start, end=end)
    seq = int(stored.get("sequence") or 0)
    if prev is not None:
        prev_seq = int(prev.body.get("sequence", 0))
        # Compared as instants: the same time written in another zone is not a move.
        moved = (prev.start_utc, prev.end_utc, prev.body.get("recurrence")) != (
            s_inst.astimezone(UTC), e_inst.astimezone(UTC), stored.get("recurrence"))
        seq = max(seq, prev_seq + (1 if moved else 0))
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
    state.touch(ev)
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
    ctx.state.touch(ev)
    return Reply(body=render(ctx.state, cal_id, ev, count=False))


def events_patch(ctx: Ctx) -> Reply:
    prev = _event(ctx.state, ctx, stub_ok=False)
    current = {k: v for k, v in prev.body.items() if k not in READ_ONLY}
    merged = _merge(current, dict(ctx.body or {}))
    if "conferenceData" not in (ctx.body or {}):
        merged.pop("conferenceData", None)
    return _store_update(ctx, merged, prev)


def events_update(ctx: Ctx) -> Reply:
    prev = _event(ctx.state, ctx, stub_ok=False)
    body = dict(ctx.body or {})
    if "conferenceData" not in body:
        body.pop("conferenceData", None)
    return _store_update(ctx, body, prev)


def events_delete(ctx: Ctx) -> Reply:
    ev = _event(ctx.state, ctx)
    if ev.body.get("status") == "cancelled":
        raise ApiError(410, "Resource has been deleted", "deleted")
    now = ctx.state.clock()
    ev.body["status"] = "cancelled"
    ev.body["updated"] = _rfc3339(now)
    ev.body["etag"] = f'"{int(now.timestamp() * 1_000_000) * 2 + 1}"'
    ctx.state.touch(ev)
    return Reply(status=204)


def events_move(ctx: Ctx) -> Reply:
    """A change of organizer: the event leaves the source (a bare cancelled stub stays there,
    so the source's next sync reports it gone) and appears in ``destination`` with the same id,
    times, sequence and Meet link."""
    state = ctx.state
    src_id, event_id = ctx.params["calendarId"], ctx.params["eventId"]
    dest_id = ctx.q("destination") or ""
    if not dest_id:
        raise bad_request("Required parameter: destination", "required")
    ev = _event(state, ctx, stub_ok=False)
    if ev.body.get("status") == "cancelled":
        raise ApiError(404, "Not Found", "notFound")
    if dest_id == src_id:
        return Reply(body=render(state, src_id, ev, count=False))
    dest = _cal(state, dest_id)
    there = dest.get(event_id)
    if there is not None and there.moved_to is None:
        raise ApiError(409, "The requested identifier already exists.", "duplicate")
    now = state.clock()
    body = copy.deepcopy(ev.body)
    eid_b64 = base64.urlsafe_b64encode(f"{event_id} {dest_id}".encode()).decode().rstrip("=")
    body.update(organizer={"email": dest_id, "self": True}, updated=_rfc3339(now),
                etag=f'"{int(now.timestamp() * 1_000_000) * 2}"',
                htmlLink=f"https://www.google.com/calendar/event?eid={eid_b64}")
    moved = StoredEvent(body=body, conference=copy.deepcopy(ev.conference), answers=ev.answers,
                        start_utc=ev.start_utc, end_utc=ev.end_utc)
    dest[event_id] = moved
    state.touch(moved)
    stub = StoredEvent(body=_bare(ev.body, now), moved_to=dest_id)
    state.calendar(src_id)[event_id] = stub
    state.touch(stub)
    return Reply(body=render(state, dest_id, moved, count=False))


def _bare(body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A deleted event as an incremental sync shows it: Google guarantees only the id."""
    etag = body.get("etag") if body.get("status") == "cancelled" else f'"{int(now.timestamp() * 1_000_000) * 2 + 1}"'
    return {"kind": "calendar#event", "etag": etag, "id": body["id"], "status": "cancelled"}


# Google refuses these next to a syncToken "to ensure consistency of the client state".
SYNC_EXCLUSIVE = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty",
                  "timeMin", "timeMax", "updatedMin")
FULL_SYNC_REQUIRED = "Sync token is no longer valid, a full sync is required."


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _unb64(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


def sync_token(state: State, cal_id: str, version: int) -> str:
    return "CP" + _b64(f"{state.sync_epoch}:{version}:{cal_id}")


def _sync_since(state: State, cal_id: str, token: str) -> int:
    """The version a syncToken stands for; 410 fullSyncRequired for one this sandbox did not
    issue for this calendar since its last reset or expiry."""
    try:
        epoch, version, cal = _unb64(token[2:]).split(":", 2) if token.startswith("CP") else ("", "", "")
        ok = int(epoch) == state.sync_epoch and cal == cal_id and 0 <= int(version) <= state.cal_version
    except (ValueError, binascii.Error, UnicodeDecodeError):
        ok = False
    if not ok:
        raise ApiError(410, FULL_SYNC_REQUIRED, "fullSyncRequired", domain="calendar",
                       extra={"locationType": "parameter", "location": "syncToken"})
    return int(version)


def _page_token(token: str | None, state: State) -> tuple[int, int]:
    """(position, snapshot version) of a pageToken; a first page starts at 0, now."""
    if not token:
        return 0, state.cal_version
    try:
        pos, snap = _unb64(token).split(".")
        return int(pos), int(snap)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("Invalid page token value.", "invalid") from None


def _list_filter(ctx: Ctx, cal_id: str) -> Any:
    """The predicate events_list applies, from the query (validated here)."""
    state = ctx.state
    token = ctx.q("syncToken")
    since: int | None = None
    if token is not None:
        for name in SYNC_EXCLUSIVE:
            if ctx.q(name) is not None:
                raise bad_request(f"The parameter {name} cannot be used together with syncToken.", "invalid")
        since = _sync_since(state, cal_id, token)
    tmin, tmax, umin = ctx.q("timeMin"), ctx.q("timeMax"), ctx.q("updatedMin")
    t0 = _parse_instant(tmin, "timeMin") if tmin else None
    t1 = _parse_instant(tmax, "timeMax") if tmax else None
    u0 = _parse_instant(umin, "updatedMin") if umin else None
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

    def selected(ev: StoredEvent) -> bool:
        b = ev.body
        if since is not None:  # incremental: every change after the token, deletions included
            return ev.version > since
        if u0 and (not b.get("updated") or _parse_instant(b["updated"], "updated") < u0):
            return False
        if b.get("status") == "cancelled" and not (show_deleted or u0):
            return False
        if t0 and ev.end_utc and ev.end_utc <= t0:
            return False
        if t1 and ev.start_utc and ev.start_utc >= t1:
            return False
        props = b.get("extendedProperties") or {}
        if any((props.get("private") or {}).get(k) != v for k, v in private):
            return False
        if any((props.get("shared") or {}).get(k) != v for k, v in shared):
            return False
        if ical and b.get("iCalUID") != ical:
            return False
        return not text or any(text in str(b.get(k, "")).lower() for k in ("summary", "description", "location"))

    return selected, show_deleted


def events_list(ctx: Ctx) -> Reply:
    state = ctx.state
    cal_id = ctx.params["calendarId"]
    cal = _cal(state, cal_id)
    selected, show_deleted = _list_filter(ctx, cal_id)
    pos, snap = _page_token(ctx.q("pageToken"), state)
    size = max(1, min(ctx.q_int("maxResults", 250), 2500))
    order = ctx.q("orderBy")
    if order in ("startTime", "updated"):
        ordered = [ev for ev in cal.values() if selected(ev)]
        if order == "startTime":
            ordered.sort(key=lambda e: e.start_utc or datetime.min.replace(tzinfo=UTC))
        else:
            ordered.sort(key=lambda e: e.body.get("updated", ""))
        page, more = ordered[pos : pos + size], pos + size < len(ordered)
        next_pos = pos + size
    else:
        # Insertion order, paged by position among every id the calendar ever held (ids are
        # never removed), so a change between two pages neither skips nor repeats an item.
        keys = list(cal)
        page, next_pos, more = [], len(keys), False
        for i in range(pos, len(keys)):
            if not selected(cal[keys[i]]):
                continue
            if len(page) == size:
                next_pos, more = i, True
                break
            page.append(cal[keys[i]])
    out: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"p{snap}"',
        "summary": cal_id,
        "description": "",
        "updated": _rfc3339(state.clock()),
        "timeZone": state.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 30}],
        "items": [_listed(state, cal_id, ev, show_deleted) for ev in page],
    }
    if more:
        out["nextPageToken"] = _b64(f"{next_pos}.{snap}")
    else:
        out["nextSyncToken"] = sync_token(state, cal_id, snap)
    return Reply(body=out)


def _listed(state: State, cal_id: str, ev: StoredEvent, show_deleted: bool) -> dict[str, Any]:
    """A listed item: a deleted event is bare unless showDeleted (and a moved one always)."""
    if ev.body.get("status") == "cancelled" and (ev.moved_to is not None or not show_deleted):
        return _bare(ev.body, state.clock())
    return render(state, cal_id, ev, count=False)


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
    "calendar.events.move": events_move,
    "calendar.events.list": events_list,
    "calendar.freebusy.query": freebusy_query,
    "calendar.calendars.get": calendars_get,
}


def dump(state: State) -> dict[str, Any]:
    return {
        cid: {"events": [render(state, cid, ev, count=False) for ev in cal.values()]}
        for cid, cal in state.calendars.items()
    }
