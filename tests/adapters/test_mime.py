"""MIME building: structure, headers, and refusal of anything unsafe in a header."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from worker.adapters.mime import bare_address, build_message, parse_mailbox
from worker.model import Attachment, EmailSpec

AT = datetime(2028, 3, 6, 10, 15, tzinfo=ZoneInfo("America/Bahia"))
SENDER = "Cartório do 1º Ofício <balcao@example.org>"


def spec(**kw: object) -> EmailSpec:
    base: dict[str, object] = {
        "to": "ana@example.com",
        "subject": "Confirmação do atendimento BV-2028-000001",
        "text": "Olá, Ana.\nSeu atendimento está marcado.",
        "html": "<p>Olá, <b>Ana</b>.</p>",
        "message_id": "<conf.bv-2028-000001.1@balcao.example.org>",
        "kind": "confirmation",
    }
    base.update(kw)
    return EmailSpec(**base)  # type: ignore[arg-type]


def reparse(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def test_message_has_the_headers_balcao_promises() -> None:
    msg = reparse(
        build_message(spec(), sender=SENDER, date=AT, reply_to="atendimento@example.org").as_bytes()
    )
    assert msg["To"] == "ana@example.com"
    assert msg["From"].addresses[0].display_name == "Cartório do 1º Ofício"
    assert msg["From"].addresses[0].addr_spec == "balcao@example.org"
    assert msg["Subject"] == "Confirmação do atendimento BV-2028-000001"
    assert msg["Message-ID"] == "<conf.bv-2028-000001.1@balcao.example.org>"
    assert msg["Date"].datetime == AT
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Reply-To"] == "atendimento@example.org"


def test_body_is_text_and_html_alternatives_in_seven_bit() -> None:
    raw = build_message(spec(), sender=SENDER, date=AT).as_bytes()
    assert all(b < 128 for b in raw)  # relays without 8BITMIME take it as is
    assert b"\r\n" in raw
    msg = reparse(raw)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().startswith("Olá, Ana.")  # type: ignore[union-attr]
    assert "<b>Ana</b>" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_attachment_makes_the_message_mixed_and_keeps_its_parameters() -> None:
    ics = Attachment(
        "convite.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    )
    msg = reparse(build_message(spec(attachments=(ics,)), sender=SENDER, date=AT).as_bytes())
    assert msg.get_content_type() == "multipart/mixed"
    parts = list(msg.iter_attachments())
    assert [p.get_filename() for p in parts] == ["convite.ics"]
    assert parts[0].get_content_type() == "text/calendar"
    assert parts[0].get_param("method") == "REQUEST"
    assert parts[0].get_content().startswith("BEGIN:VCALENDAR")


@pytest.mark.parametrize(
    "field",
    [
        {"to": "ana@example.com\r\nBcc: victim@example.org"},
        {"subject": "Olá\nBcc: victim@example.org"},
        {"message_id": "<a@b>\r\nX-Evil: 1"},
    ],
)
def test_line_breaks_in_any_header_are_refused(field: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        build_message(spec(**field), sender=SENDER, date=AT)


@pytest.mark.parametrize(
    "to",
    [
        "Ana <ana@example.com>",
        "ana@example.com, bob@example.com",
        "ana @example.com",
        "ana",
        "",
        "ana@localhost",
    ],
)
def test_recipient_must_be_one_bare_address(to: str) -> None:
    with pytest.raises(ValueError):
        bare_address(to)


def test_sender_must_be_one_mailbox_and_date_must_be_aware() -> None:
    assert parse_mailbox('"Cartório, X" <a@example.org>').display_name == "Cartório, X"
    with pytest.raises(ValueError):
        parse_mailbox("a@example.org, b@example.org")
    with pytest.raises(ValueError):
        build_message(spec(), sender=SENDER, date=datetime(2028, 3, 6, 10, 15))
    with pytest.raises(ValueError):
        build_message(spec(message_id="no-brackets@example.org"), sender=SENDER, date=AT)
