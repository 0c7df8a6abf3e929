"""Gmail v1: users.messages.send/list/get and users.getProfile, with the modes that imitate
what real Gmail may do (rewrite the Message-ID, make a sent message searchable only later,
answer a send to a dead address with a delivery-status notification: ``bounces.py``).

``q`` supports ``rfc822msgid:`` (angle brackets optional), ``to:``, ``from:``, ``subject:``,
``in:sent``/``in:inbox``, ``is:unread``/``is:read``, ``label:``, ``newer_than:``/``older_than:``
(``Nh``, ``Nd``, ``Nm``, ``Ny``) and ``after:``/``before:`` (epoch seconds or ``yyyy/mm/dd``),
combined with spaces (AND); any other term is a 400 so that an unsupported query is noticed.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import email.utils
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from worker.sandbox import bounces
from worker.sandbox.context import Ctx, Reply
from worker.sandbox.errors import ApiError, bad_request
from worker.sandbox.state import State, StoredMessage

ADDRESS_RE = re.compile(r"[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"


def _b64decode(text: str) -> bytes:
    t = text.strip().replace("+", "-").replace("/", "_")
    t += "=" * (-len(t) % 4)
    if not re.fullmatch(r"[A-Za-z0-9_\-]*=*", t):
        raise binascii.Error("bad characters")
    return base64.urlsafe_b64decode(t)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _addresses(msg: email.message.Message, names: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    out = []
    for name in names:
        for value in msg.get_all(name, []) or []:
            raw = str(value)
            addrs = [a for _, a in email.utils.getaddresses([raw])]
            out.append((name, addrs if raw.strip() else []))
    return out


def _check_recipients(msg: email.message.Message) -> None:
    headers = _addresses(msg, ("To", "Cc", "Bcc"))
    if not headers:
        raise bad_request("Recipient address required", "invalidArgument")
    found = False
    for name, addrs in headers:
        for addr in addrs:
            if not addr:
                continue
            if not ADDRESS_RE.fullmatch(addr):
                raise bad_request(f"Invalid {name} header", "invalidArgument")
            found = True
        raw = " ".join(str(v) for v in msg.get_all(name, []) or [])
        if raw.strip() and not any(addrs):
            raise bad_request(f"Invalid {name} header", "invalidArgument")
    if not found:
        raise bad_request("Recipient address required", "invalidArgument")


def _set_header(raw: bytes, name: str, value: str) -> bytes:
    """Replace (or add) one header in the raw message without re-serialising the rest."""
    sep = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    head, mark, body = raw.partition(sep + sep)
    lines = head.split(sep)
    out: list[bytes] = []
    skipping = False
    for line in lines:
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.lower().startswith(name.lower().encode() + b":")
        if not skipping:
            out.append(line)
    out.append(f"{name}: {value}".encode())
    return sep.join(out) + (mark or sep + sep) + body


def _user(ctx: Ctx) -> str:
    user_id = ctx.params["userId"]
    if "@" in user_id and ctx.email and user_id.lower() != ctx.email.lower():
        raise ApiError(403, f"Delegation denied for {user_id}", "forbidden")
    return user_id


def _address_of(ctx: Ctx, user_id: str) -> str:
    if "@" in user_id:
        return user_id
    return ctx.email or ctx.state.mailbox_owner(user_id)


def messages_send(ctx: Ctx) -> Reply:
    state = ctx.state
    user_id = _user(ctx)
    body = ctx.body or {}
    raw_text = body.get("raw")
    if not raw_text:
        raise bad_request("'raw' RFC822 payload message string or uploading message via /upload/* URL required",
                          "invalidArgument")
    try:
        raw = _b64decode(raw_text)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed for \"{raw_text[:40]}\"",
                       "invalid") from None
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    _check_recipients(msg)
    n = state.next_number()
    msg_id = f"{0x19a0000000000000 + n * 0x1f3:016x}"
    thread_id = body.get("threadId") or msg_id
    if msg.get("From") is None:
        raw = _set_header(raw, "From", _address_of(ctx, user_id))
    if msg.get("Date") is None:
        raw = _set_header(raw, "Date", email.utils.format_datetime(state.clock()))
    if msg.get("Message-ID") is None or state.config["rewrite_message_id"]:
        raw = _set_header(raw, "Message-ID", f"<CAsandbox{msg_id}{n:04d}@mail.gmail.com>")
    now = state.monotonic()
    stored = StoredMessage(
        id=msg_id, thread_id=thread_id, label_ids=["SENT"], raw=raw, sent_at=now,
        visible_after=now + float(state.config["search_lag_s"]),
        internal_date_ms=int(state.clock().timestamp() * 1000), history_id=1000 + n,
    )
    state.mailbox(user_id).append(stored)
    _bounce(ctx, user_id, stored)
    return Reply(body={"id": msg_id, "threadId": thread_id, "labelIds": ["SENT"]})


def _bounce(ctx: Ctx, user_id: str, sent: StoredMessage) -> None:
    """Deliver the DSNs the fidelity modes ask for into the sender's own mailbox, in the
    thread of the message they report on (as Gmail threads them)."""
    state = ctx.state
    to = bounces.recipients(sent.raw)
    sender = _address_of(ctx, user_id)
    for delayed, key in ((False, "bounce_recipients"), (True, "delayed_recipients")):
        failed = bounces.matching(to, state.config[key])
        if not failed:
            continue
        n = state.next_number()
        msg_id = f"{0x19a0000000000000 + n * 0x1f3:016x}"
        raw = bounces.build(sent.raw, sender, failed, delayed=delayed, at=state.clock(), serial=n)
        state.mailbox(user_id).append(StoredMessage(
            id=msg_id, thread_id=sent.thread_id, label_ids=["INBOX", "UNREAD"], raw=raw, sent_at=sent.sent_at,
            visible_after=sent.visible_after, internal_date_ms=int(state.clock().timestamp() * 1000),
            history_id=1000 + n,
        ))


_TERM = re.compile(r'(-?)([A-Za-z0-9_]+):("(?:[^"]*)"|\S+)|(\S+)')
SUPPORTED = ("rfc822msgid:, to:, from:, subject:, in:sent, in:inbox, is:unread, is:read, label:, "
             "newer_than:, older_than:, after:, before:")
_AGE = re.compile(r"(\d+)([hdmy])")
_AGE_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "m": timedelta(days=31), "y": timedelta(days=365)}
# Gmail reads after:/before: dates as midnight Pacific time; seconds since the epoch are exact.
_DATE_ZONE = ZoneInfo("America/Los_Angeles")


def _unsupported(term: str) -> ApiError:
    return bad_request(f"Unsupported search term in the sandbox: {term!r} (supported: {SUPPORTED})",
                       "invalidArgument")


def _instant(key: str, value: str, now: datetime, term: str) -> datetime:
    """The bound a date term sets: newer_than:2d → now − 2 days; after:1767225600 → that second."""
    if key in ("newer_than", "older_than"):
        mo = _AGE.fullmatch(value)
        if mo is None:
            raise _unsupported(term)
        return now - int(mo.group(1)) * _AGE_UNIT[mo.group(2)]
    if value.isdigit():
        return datetime.fromtimestamp(int(value), tz=now.tzinfo)
    try:
        return datetime.strptime(value.replace("-", "/"), "%Y/%m/%d").replace(tzinfo=_DATE_ZONE)
    except ValueError:
        raise _unsupported(term) from None


def _parse_query(q: str, now: datetime) -> list[tuple[str, Any]]:
    terms: list[tuple[str, Any]] = []
    for mo in _TERM.finditer(q):
        neg, key, value, bare = mo.groups()
        if bare is not None or neg:
            raise _unsupported(mo.group(0))
        key = key.lower()
        value = value.strip('"')
        if key in ("newer_than", "older_than", "after", "before"):
            terms.append((key, _instant(key, value.lower(), now, mo.group(0))))
            continue
        if key == "in" and value.lower() in ("sent", "inbox"):
            key, value = "label", value.upper()
        elif key == "is" and value.lower() in ("unread", "read"):
            key, value = ("label", "UNREAD") if value.lower() == "unread" else ("not_label", "UNREAD")
        elif key not in ("rfc822msgid", "to", "from", "subject", "label"):
            raise _unsupported(mo.group(0))
        terms.append((key, value))
    return terms


def _matches(m: StoredMessage, terms: list[tuple[str, Any]]) -> bool:
    msg = email.message_from_bytes(m.raw, policy=email.policy.default)
    received = m.internal_date_ms / 1000
    for key, value in terms:
        if key in ("newer_than", "after"):
            if received < value.timestamp():
                return False
            continue
        if key in ("older_than", "before"):
            if received >= value.timestamp():
                return False
            continue
        v = value.lower()
        if key == "rfc822msgid":
            if str(msg.get("Message-ID", "")).strip().strip("<>").lower() != v.strip("<>"):
                return False
        elif key == "label":
            if value.upper() not in m.label_ids:
                return False
        elif key == "not_label":
            if value in m.label_ids:
                return False
        elif key == "subject":
            if v not in str(msg.get("Subject", "")).lower():
                return False
        else:
            names = ("To", "Cc", "Bcc") if key == "to" else ("From",)
            hay = " ".join(str(x) for n in names for x in (msg.get_all(n, []) or [])).lower()
            if v not in hay:
                return False
    return True


def messages_list(ctx: Ctx) -> Reply:
    state = ctx.state
    user_id = _user(ctx)
    q = ctx.q("q")
    if q and ctx.scopes is not None and METADATA_SCOPE in ctx.scopes and not (
        ctx.scopes & {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.readonly",
                      "https://www.googleapis.com/auth/gmail.modify"}
    ):
        raise ApiError(403, "Metadata scope does not support 'q' parameter", "forbidden")
    terms = _parse_query(q or "", state.clock())
    labels = ctx.q_list("labelIds")
    now = state.monotonic()
    found = []
    for m in reversed(state.mailbox(user_id)):
        if m.visible_after > now:
            continue
        if labels and not all(lbl in m.label_ids for lbl in labels):
            continue
        if _matches(m, terms):
            found.append(m)
    offset = int(ctx.q("pageToken") or 0)
    size = min(ctx.q_int("maxResults", 100), 500)
    page = found[offset : offset + size]
    out: dict[str, Any] = {}
    if page:
        out["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
    if offset + size < len(found):
        out["nextPageToken"] = str(offset + size)
    out["resultSizeEstimate"] = len(page)
    return Reply(body=out)


# Parsed by ``email`` as sub-messages, shown by Gmail as one leaf part with its text as body.
_LEAF_REPORTS = ("message/delivery-status", "text/rfc822-headers")


def _body_bytes(part: email.message.Message) -> bytes:
    raw = part.as_bytes()
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in raw:
            return raw.split(sep, 1)[1]
    return b""


def _part(msg: email.message.Message, part_id: str, with_body: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "partId": part_id,
        "mimeType": msg.get_content_type(),
        "filename": msg.get_filename() or "",
        "headers": [{"name": k, "value": str(v)} for k, v in msg.items()],
    }
    if msg.get_content_type() in _LEAF_REPORTS:
        data = _body_bytes(msg)
        out["body"] = {"size": len(data), **({"data": _b64encode(data)} if with_body and data else {})}
    elif msg.is_multipart():
        out["body"] = {"size": 0}
        children = msg.get_payload()
        assert isinstance(children, list)
        out["parts"] = [
            _part(child, f"{part_id + '.' if part_id else ''}{i}", with_body) for i, child in enumerate(children)
        ]
    else:
        payload = msg.get_payload(decode=True) or b""
        assert isinstance(payload, bytes)
        body: dict[str, Any] = {"size": len(payload)}
        if with_body and payload:
            body["data"] = _b64encode(payload)
        out["body"] = body
    return out


def _snippet(msg: email.message.Message) -> str:
    part = msg.get_body(preferencelist=("plain", "html")) if hasattr(msg, "get_body") else None
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (KeyError, LookupError):
        return ""
    text = re.sub(r"<[^>]+>", " ", str(text))
    return " ".join(text.split())[:200]


def message_resource(m: StoredMessage, fmt: str, headers_wanted: list[str]) -> dict[str, Any]:
    msg = email.message_from_bytes(m.raw, policy=email.policy.default)
    out: dict[str, Any] = {"id": m.id, "threadId": m.thread_id, "labelIds": list(m.label_ids)}
    if fmt != "raw":
        out["snippet"] = _snippet(msg)
    out.update(sizeEstimate=len(m.raw), historyId=str(m.history_id), internalDate=str(m.internal_date_ms))
    if fmt == "raw":
        out["raw"] = _b64encode(m.raw)
    elif fmt == "metadata":
        wanted = {h.lower() for h in headers_wanted}
        hdrs = [{"name": k, "value": str(v)} for k, v in msg.items() if not wanted or k.lower() in wanted]
        out["payload"] = {"mimeType": msg.get_content_type(), "headers": hdrs}
    elif fmt == "full":
        out["payload"] = _part(msg, "", True)
    return out


def _find(ctx: Ctx) -> StoredMessage:
    for m in ctx.state.mailbox(ctx.params["userId"]):
        if m.id == ctx.params["id"]:
            return m
    raise ApiError(404, "Requested entity was not found.", "notFound")


def messages_get(ctx: Ctx) -> Reply:
    _user(ctx)
    m = _find(ctx)
    fmt = (ctx.q("format") or "full").lower()
    if fmt in ("full", "raw") and ctx.scopes is not None and METADATA_SCOPE in ctx.scopes and not (
        ctx.scopes - {METADATA_SCOPE, "https://www.googleapis.com/auth/gmail.send",
                      "https://www.googleapis.com/auth/gmail.labels"}
    ):
        raise ApiError(403, f"Metadata scope doesn't allow format {fmt.upper()}", "forbidden")
    return Reply(body=message_resource(m, fmt, ctx.q_list("metadataHeaders")))


def get_profile(ctx: Ctx) -> Reply:
    user_id = _user(ctx)
    box = ctx.state.mailbox(user_id)
    return Reply(body={
        "emailAddress": _address_of(ctx, user_id),
        "messagesTotal": len(box),
        "threadsTotal": len({m.thread_id for m in box}),
        "historyId": str(max((m.history_id for m in box), default=1000)),
    })


HANDLERS = {
    "gmail.users.messages.send": messages_send,
    "gmail.users.messages.list": messages_list,
    "gmail.users.messages.get": messages_get,
    "gmail.users.getProfile": get_profile,
}

QUOTA_UNITS = {"gmail.users.messages.send": 100, "gmail.users.messages.list": 5,
               "gmail.users.messages.get": 5, "gmail.users.getProfile": 1}


def dump(state: State) -> dict[str, Any]:
    return {
        user: {"messages": [{"id": m.id, "threadId": m.thread_id, "labelIds": list(m.label_ids),
                             "raw": _b64encode(m.raw)} for m in box]}
        for user, box in state.mailboxes.items()
    }


__all__ = ["HANDLERS", "QUOTA_UNITS", "dump", "message_resource"]
