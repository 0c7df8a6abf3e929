"""Delivery-status notifications as Gmail writes them into the sender's mailbox (RFC 3464).

A message sent to an address in the ``bounce_recipients`` fidelity mode is followed by a DSN
from ``Mail Delivery Subsystem <mailer-daemon@googlemail.com>`` labelled INBOX and UNREAD: a
``multipart/report; report-type=delivery-status`` with a human part, a
``message/delivery-status`` part (``Action: failed``, ``Status: 5.1.1``) and the original
headers as ``text/rfc822-headers`` (Message-ID and X-Balcao-Message-ID included, no body).
``delayed_recipients`` give ``Action: delayed`` (``Status: 4.4.1``) instead.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
from datetime import datetime

DAEMON = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
_FAILED = ("Failure", "failed", "5.1.1",
           "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
           " 550-5.1.1 double-checking the recipient's email address for typos or\r\n"
           " 550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser")
_DELAYED = ("Delay", "delayed", "4.4.1",
            "smtp; 421 4.4.1 The recipient server did not accept our requests to connect.")


def recipients(raw: bytes) -> list[str]:
    """Every address in To, Cc and Bcc of a raw message, as written."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    values = [str(v) for name in ("To", "Cc", "Bcc") for v in (msg.get_all(name, []) or [])]
    return [addr for _, addr in email.utils.getaddresses(values) if addr]


def matching(addresses: list[str], configured: list[str]) -> list[str]:
    wanted = {a.strip().lower() for a in configured}
    return [a for a in addresses if a.lower() in wanted]


def _headers_of(raw: bytes) -> str:
    sep = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    head = raw.split(sep, 1)[0].decode("utf-8", "replace")
    return head.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"


def build(original: bytes, sender: str, failed: list[str], *, delayed: bool, at: datetime, serial: int) -> bytes:
    """The raw DSN for ``original`` (as sent by ``sender``) naming each address in ``failed``."""
    word, action, status, diagnostic = _DELAYED if delayed else _FAILED
    msg = email.message_from_bytes(original, policy=email.policy.default)
    original_id = str(msg.get("Message-ID", "")).strip()
    boundary = "000000000000" + hashlib.sha1(f"{serial}{original_id}".encode()).hexdigest()[:16]
    date = email.utils.format_datetime(at)
    dsn_id = f"<{hashlib.sha1(f'dsn{serial}'.encode()).hexdigest()[:24]}.{serial}@mx.google.com>"
    listing = ", ".join(failed)
    if delayed:
        human = (f"** Message not delivered yet **\r\n\r\nThere was a temporary problem delivering your message "
                 f"to {listing}. Gmail will retry for 46 more hours. You'll be notified if the delivery "
                 f"fails permanently.\r\n")
    else:
        human = (f"** Address not found **\r\n\r\nYour message wasn't delivered to {listing} because the address "
                 f"couldn't be found, or is unable to receive mail.\r\n\r\nLearn more here: "
                 f"https://support.google.com/mail/?p=NoSuchUser\r\n")
    per_recipient = "".join(
        f"\r\nFinal-Recipient: rfc822; {addr}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Remote-MTA: dns; {addr.rpartition('@')[2]}.\r\nDiagnostic-Code: {diagnostic}\r\n"
        f"Last-Attempt-Date: {date}\r\n"
        for addr in failed
    )
    head = (
        f"Delivered-To: {sender}\r\nReturn-Path: <>\r\nMIME-Version: 1.0\r\nFrom: {DAEMON}\r\n"
        f"To: {sender}\r\nAuto-Submitted: auto-replied\r\n"
        f"Subject: Delivery Status Notification ({word})\r\n"
        + (f"References: {original_id}\r\nIn-Reply-To: {original_id}\r\n" if original_id else "")
        + (f"X-Failed-Recipients: {listing}\r\n" if not delayed else "")
        + f"Message-ID: {dsn_id}\r\nDate: {date}\r\n"
        f'Content-Type: multipart/report; boundary="{boundary}"; report-type=delivery-status\r\n\r\n'
    )
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{human}\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; googlemail.com\r\nArrival-Date: {date}\r\n"
        + (f"X-Original-Message-ID: {original_id}\r\n" if original_id else "")
        + f"{per_recipient}\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n{_headers_of(original)}\r\n"
        f"--{boundary}--\r\n"
    )
    return (head + body).encode("utf-8")


__all__ = ["DAEMON", "build", "matching", "recipients"]
