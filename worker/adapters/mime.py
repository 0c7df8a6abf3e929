"""EmailSpec → email.message.EmailMessage for both mail adapters; headers validated here, no sending."""

from __future__ import annotations

import binascii
import email.policy
import functools
import random
import re
import sys
from datetime import datetime
from email import quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from worker.model import Attachment, EmailSpec

_POLICY = email.policy.SMTP  # CRLF line ends, as both Gmail's raw field and SMTP expect


def _no_newlines(name: str, value: str) -> str:
    # A CR or LF in a header value is how header injection starts; nothing legitimate has one.
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name}: header value contains a line break")
    return value


def parse_mailbox(value: str, *, name: str = "From") -> Address:
    """A configured mailbox, e.g. ``"Cartório X <balcao@example.org>"`` or ``"balcao@example.org"``.

    Raises ValueError for anything that is not exactly one address."""
    _no_newlines(name, value)
    pairs = getaddresses([value])
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        raise ValueError(f"{name}: expected one address like 'Name <user@example.org>'")
    display, addr = pairs[0]
    try:
        return Address(display_name=display, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{name}: not a valid address") from exc


def bare_address(value: str) -> Address:
    """The recipient: a validated address only, never a display name from the form.

    ``"ana@example.com"`` is accepted; ``"Ana <ana@example.com>"``, ``"a@b.com, c@d.com"`` and
    anything with spaces or line breaks raise ValueError."""
    _no_newlines("To", value)
    if not value or any(c.isspace() for c in value) or any(c in value for c in '<>,;"()'):
        raise ValueError("To: expected a single bare address")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or "." not in domain:
        raise ValueError("To: expected a single bare address")
    try:
        addr = Address(addr_spec=value)
    except (ValueError, IndexError) as exc:
        raise ValueError("To: not a valid address") from exc
    if addr.addr_spec != value:
        raise ValueError("To: not a valid address")
    return addr


def _message_id(value: str) -> str:
    _no_newlines("Message-ID", value)
    inner = value[1:-1] if value.startswith("<") and value.endswith(">") else ""
    left, at, right = inner.partition("@")
    if not left or not at or not right or any(c.isspace() or c in "<>" for c in inner):
        raise ValueError("Message-ID: expected '<left@right>'")
    return value


ORIGINAL_ID_HEADER = "X-Balcao-Message-ID"


def build_message(
    spec: EmailSpec, *, sender: str, date: datetime, reply_to: str | None = None
) -> EmailMessage:
    """The MIME message for ``spec``: text and HTML as multipart/alternative, wrapped in
    multipart/mixed when there are attachments (e.g. the .ics). ``date`` must be aware (from
    the clock port). Raises ValueError on any unsafe or malformed header value."""
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("Date: expected an aware datetime")
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = parse_mailbox(sender)
    msg["To"] = bare_address(spec.to)
    msg["Subject"] = _no_newlines("Subject", spec.subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = _message_id(spec.message_id)
    # The same id again in a header Gmail never rewrites: when Gmail replaces Message-ID, the
    # sent-mail lookup after an unknown outcome still recognises our message (GmailMailer).
    msg[ORIGINAL_ID_HEADER] = spec.message_id
    if reply_to:
        msg["Reply-To"] = parse_mailbox(reply_to, name="Reply-To")
    # RFC 3834: tells auto-responders (vacation replies) not to answer.
    msg["Auto-Submitted"] = "auto-generated"
    # quoted-printable keeps the body 7-bit, so a relay without 8BITMIME still takes it.
    msg.set_content(spec.text, cte="quoted-printable")
    if spec.html:
        msg.add_alternative(spec.html, subtype="html", cte="quoted-printable")
    for att in spec.attachments:
        _no_newlines("filename", att.filename)
        _no_newlines("Content-Type", att.content_type)
        ctype, _, rest = att.content_type.partition(";")
        maintype, _, subtype = ctype.strip().partition("/")
        if not maintype or not subtype:
            raise ValueError("Content-Type: expected 'type/subtype'")
        params: dict[str, str] = {}
        for part in rest.split(";"):
            key, eq, val = part.partition("=")
            if eq and key.strip():
                params[key.strip()] = val.strip().strip('"')
        msg.add_attachment(
            att.data,
            maintype=maintype,
            subtype=subtype,
            filename=att.filename,
            params=params,
        )
    return msg


# --------------------------------------------------------------------------- serialised directly
#
# ``build_message(...).as_bytes()`` costs ~3.5 ms per confirmation, most of it the email
# package parsing back each of the ~26 headers it is given and re-folding them at
# serialisation. ``build_raw`` writes the same bytes directly: the same header order and
# folding, the same quoted-printable and base64 encoders, the same boundary format (only the
# random boundaries differ); a test compares the two byte for byte on many messages. Headers
# whose value it does not control (From, Subject, Reply-To) are still folded by the email
# package, and anything unusual (a non-ASCII address or file name, an odd parameter) is
# left to build_message. Lines end in LF while building and in CRLF in the result.

_MAX_LINE: int = _POLICY.max_line_length or 78
_B64_CHUNK = _MAX_LINE // 4 * 3
_SIMPLE_ID = re.compile(r"<[A-Za-z0-9._-]+@[A-Za-z0-9.-]+>")
_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]+")
# Printable ASCII without the characters that make a header or a parameter value special.
_PLAIN = re.compile(r"[A-Za-z0-9 !#$%&'*+,./:;?@^_`{|}~=-]*")


def _fold(name: str, value: str) -> str:
    """``name: value`` folded as the email package folds a header set from a string."""
    folded = str(_POLICY.header_factory(name, value).fold(policy=_POLICY))
    return folded.replace("\r\n", "\n")


@functools.lru_cache(maxsize=16)
def _mailbox_header(name: str, value: str) -> str:
    """A validated, folded From or Reply-To (the same few configured values every time)."""
    return _fold(name, str(parse_mailbox(value, name=name)))


def _plain(name: str, value: str) -> str | None:
    """The header line when folding leaves it as written (short, plain ASCII), else None."""
    line = f"{name}: {value}"
    if len(line) <= _MAX_LINE and _PLAIN.fullmatch(value) and "  " not in value:
        return line + "\n"
    return None


def _boundary(parts: list[str]) -> str:
    """A boundary as the email generator makes it, checked against the parts' text."""
    while True:
        b = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="
        if not any("--" + b in p for p in parts):
            return b


def _content_type(ctype: str, params: list[tuple[str, str]]) -> str:
    """``Content-Type: type/sub; k="v"``, folded as the email package folds it when too long."""
    rendered = "".join(f'; {k}="{v}"' for k, v in params)
    line = f"Content-Type: {ctype}{rendered}"
    if len(line) <= _MAX_LINE:
        return line + "\n"
    if len(params) == 1 and len(rendered) <= _MAX_LINE:  # the folder's choice for one parameter
        return f"Content-Type: {ctype};\n {rendered[2:]}\n"
    return _fold("Content-Type", ctype + rendered)


def _text_part(text: str, subtype: str) -> tuple[str, str]:
    """(content headers, body) of a text part: utf-8, quoted-printable."""
    lines = text.encode("utf-8").splitlines()
    body = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _MAX_LINE)
    head = _content_type(f"text/{subtype}", [("charset", "utf-8")])
    return head + "Content-Transfer-Encoding: quoted-printable\n", body


def _multipart(subtype: str, parts: list[str]) -> tuple[str, str]:
    """(content headers, body) of a multipart of serialised ``parts``."""
    b = _boundary(parts)
    body = f"--{b}\n" + f"\n--{b}\n".join(parts) + f"\n--{b}--\n"
    return _content_type(f"multipart/{subtype}", [("boundary", b)]), body


def _attachment_part(att: Attachment) -> str | None:
    """A serialised attachment part, or None when a value needs the email package's care."""
    ctype, _, rest = att.content_type.partition(";")
    maintype, _, subtype = ctype.strip().partition("/")
    params: list[tuple[str, str]] = []
    for part in rest.split(";"):
        key, eq, val = part.partition("=")
        if eq and key.strip():
            params.append((key.strip(), val.strip().strip('"')))
    if not all(_TOKEN.fullmatch(x) for x in (maintype, subtype, *(k for k, _ in params))):
        return None
    keys = [k.lower() for k, _ in params]
    if len(set(keys)) != len(keys) or not all(_PLAIN.fullmatch(v) for _, v in params):
        return None
    disposition = f'Content-Disposition: attachment; filename="{att.filename}"\n'
    if len(disposition) > _MAX_LINE + 1 or not _PLAIN.fullmatch(att.filename):
        return None
    data = att.data
    b64 = "".join(
        binascii.b2a_base64(data[i : i + _B64_CHUNK]).decode("ascii")
        for i in range(0, len(data), _B64_CHUNK)
    )
    ctype_line = _content_type(f"{maintype}/{subtype}", params)
    encoding = f"Content-Transfer-Encoding: base64\n{disposition}"
    # The email package re-appends Content-Type after the others when it sets a parameter.
    head = encoding + ctype_line if params else ctype_line + encoding
    head += "MIME-Version: 1.0\n"
    return head + "\n" + b64


def build_raw(
    spec: EmailSpec, *, sender: str, date: datetime, reply_to: str | None = None
) -> bytes:
    """``build_message(...).as_bytes()`` built directly, several times cheaper: the same
    headers, structure and encodings; only the random boundaries differ. Raises ValueError
    for the same inputs as build_message."""
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("Date: expected an aware datetime")
    sender_line = _mailbox_header("From", sender)
    to = _plain("To", str(bare_address(spec.to)))
    subject = _fold("Subject", _no_newlines("Subject", spec.subject))
    mid = _message_id(spec.message_id)
    reply_line = _mailbox_header("Reply-To", reply_to) if reply_to else ""
    for att in spec.attachments:
        _no_newlines("filename", att.filename)
        _no_newlines("Content-Type", att.content_type)
    attachments = [_attachment_part(a) for a in spec.attachments]
    if to is None or not _SIMPLE_ID.fullmatch(mid) or any(a is None for a in attachments):
        return build_message(spec, sender=sender, date=date, reply_to=reply_to).as_bytes()
    # Message-ID is never folded; the copy in an unstructured header is, when too long.
    copy = f"{ORIGINAL_ID_HEADER}: {mid}\n"
    if len(copy) > _MAX_LINE + 1:
        copy = _fold(ORIGINAL_ID_HEADER, mid)
    head = (
        f"{sender_line}{to}{subject}Date: {format_datetime(date)}\nMessage-ID: {mid}\n"
        f"{copy}{reply_line}Auto-Submitted: auto-generated\n"
    )
    content_head, body = _text_part(spec.text, "plain")
    if not spec.html and not spec.attachments:
        return _crlf(f"{head}{content_head}MIME-Version: 1.0\n\n{body}")
    head += "MIME-Version: 1.0\n"
    if spec.html:
        html_head, html_body = _text_part(spec.html, "html")
        content_head, body = _multipart("alternative", [
            f"{content_head}\n{body}", f"{html_head}MIME-Version: 1.0\n\n{html_body}",
        ])
    if spec.attachments:
        parts = [f"{content_head}\n{body}", *(a for a in attachments if a is not None)]
        content_head, body = _multipart("mixed", parts)
    return _crlf(f"{head}{content_head}\n{body}")


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")
