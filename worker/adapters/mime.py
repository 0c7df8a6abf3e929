"""EmailSpec → email.message.EmailMessage for both mail adapters; headers validated here, no sending."""

from __future__ import annotations

import email.policy
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from worker.model import EmailSpec

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
