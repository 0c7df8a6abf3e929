"""Delivery-status notifications (RFC 3464) → Bounce values, with the stdlib ``email`` parser; no I/O.

A report is ``multipart/report; report-type=delivery-status``: a human part, a
``message/delivery-status`` part (a per-message block, then one block per recipient with
``Final-Recipient`` and ``Action``) and the original message or its headers
(``message/rfc822`` or ``text/rfc822-headers``). Only ``Action: failed`` makes a Bounce:
``delayed``, ``delivered``, ``relayed`` and ``expanded`` are not failures.
"""

from __future__ import annotations

import email
import email.message
import email.parser
import email.policy
from datetime import datetime

from worker.adapters.mime import ORIGINAL_ID_HEADER
from worker.model import Bounce

_POLICY = email.policy.compat32  # tolerant of the odd header a foreign MTA writes


def _original_headers(msg: email.message.Message) -> email.message.Message | None:
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
            return email.parser.HeaderParser(policy=_POLICY).parsestr(text)
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
                return inner[0]
    return None


def _blocks(msg: email.message.Message) -> list[email.message.Message]:
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            if isinstance(blocks, list):
                return [b for b in blocks if isinstance(b, email.message.Message)]
    return []


def _clean_id(value: str | None) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        return ""
    return text if text.startswith("<") else f"<{text.strip('<>')}>"


def _address(field: str | None) -> str:
    """``rfc822; ana@example.com`` → ``ana@example.com`` (the address type is optional)."""
    text = str(field or "").strip()
    if ";" in text:
        text = text.split(";", 1)[1]
    return text.strip().strip("<>").strip()


def message_id_of(msg: email.message.Message, blocks: list[email.message.Message]) -> str:
    """balcao's id of the reported message: X-Balcao-Message-ID of the original headers, else
    their Message-ID, else the report's X-Original-Message-ID (Gmail writes one)."""
    original = _original_headers(msg)
    if original is not None:
        for name in (ORIGINAL_ID_HEADER, "Message-ID"):
            found = _clean_id(original.get(name))
            if found:
                return found
    if blocks:
        return _clean_id(blocks[0].get("X-Original-Message-ID"))
    return ""


def parse_report(raw: bytes, received_at: datetime, provider_id: str = "") -> list[Bounce]:
    """One Bounce per recipient the report says failed; [] for anything that is not a
    delivery-status report, names no original message, or only reports delays."""
    msg = email.message_from_bytes(raw, policy=_POLICY)
    blocks = _blocks(msg)
    if len(blocks) < 2:
        return []
    message_id = message_id_of(msg, blocks)
    if not message_id:
        return []
    out = []
    for block in blocks[1:]:
        action = str(block.get("Action", "")).strip().lower()
        if action != "failed":
            continue
        recipient = _address(block.get("Final-Recipient")) or _address(block.get("Original-Recipient"))
        if recipient:
            out.append(Bounce(message_id, recipient, action, received_at, provider_id))
    return out


__all__ = ["message_id_of", "parse_report"]
