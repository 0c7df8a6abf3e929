"""MIME building: structure, headers, and refusal of anything unsafe in a header."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.adapters.mime import bare_address, build_message, build_raw, parse_mailbox
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


# --------------------------------------------------------------------------- build_raw
#
# build_raw writes the bytes build_message(...).as_bytes() would, without the email
# package's header objects. Two independent checks: byte for byte against build_message
# (the random boundaries renamed), and the stdlib parser's reading of both.

_BOUNDARY = re.compile(rb"===============\d{19}==(?:\.\d+)?")
TZ = ZoneInfo("America/Bahia")
ICS = Attachment(
    "balcao-virtual-BV-2028-000001.ics",
    "text/calendar; method=PUBLISH; charset=utf-8",
    "BEGIN:VCALENDAR\r\nSUMMARY:Balcão Virtual – Cartório\r\nEND:VCALENDAR\r\n".encode(),
)


def _renamed(raw: bytes) -> bytes:
    names: dict[bytes, bytes] = {}
    return _BOUNDARY.sub(lambda m: names.setdefault(m.group(0), b"B%d" % len(names)), raw)


def _reading(raw: bytes) -> list[tuple[object, ...]]:
    """What a mail client reads: every part's headers (decoded) and content."""
    out: list[tuple[object, ...]] = []
    for part in reparse(raw).walk():
        headers = [(k, str(v)) for k, v in part.items() if k != "Content-Type"]
        params = sorted((k, v) for k, v in part.get_params() or [] if k != "boundary")
        content = None if part.is_multipart() else part.get_content()
        out.append((part.get_content_type(), params, headers, part.get_filename(), content))
    return out


def _assert_same_message(s: EmailSpec, **kw: object) -> None:
    reference = build_message(s, **kw).as_bytes()  # type: ignore[arg-type]
    fast = build_raw(s, **kw)  # type: ignore[arg-type]
    assert _renamed(fast) == _renamed(reference)
    assert _reading(fast) == _reading(reference)


def test_the_confirmation_and_the_ack_balcao_sends_are_the_same_bytes_as_before() -> None:
    from worker.messages import OfficeInfo, Renderer
    from worker.model import Channel

    renderer = Renderer(Path(__file__).resolve().parents[2] / "templates")
    office = OfficeInfo(
        name="Cartório do 1º Ofício de Notas", address="Rua Chile, 10 – Centro, Salvador – BA",
        phones=("(71) 3333-4444",), whatsapp="(71) 98888-7777", email="a@cartorio.example",
        website="https://cartorio.example", privacy_policy_url="https://cartorio.example/p",
        hours_text="segunda a sexta, das 08:00 às 17:00",
    )
    start = datetime(2028, 3, 7, 10, 15, tzinfo=TZ)
    for channel in Channel:
        conf = renderer.render_confirmation(
            office=office, protocol="BV-2028-000123", name="Conceição Araújo", to="c@example.com",
            start=start, end=start.replace(minute=45), channel=channel,
            meet_link="https://meet.google.com/abc-defg-hij", sender_domain="cartorio.example",
        )
        _assert_same_message(conf, sender=SENDER, date=AT, reply_to="atendimento@example.org")
    ack = renderer.render_ack(
        office=office, protocol="BV-2028-000123", name="Conceição", to="c@example.com",
        deadline=start, sender_domain="cartorio.example",
    )
    _assert_same_message(ack, sender=SENDER, date=AT)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=120),
    text=_text,
    html=_text,
    attach=st.integers(0, 2),
    filename=st.sampled_from(["convite.ics", "balcao-virtual-BV-2028-0000001.ics", "açúcar.ics",
                              "a b.ics", 'x"y.ics']),
    ctype=st.sampled_from(["text/calendar; method=PUBLISH; charset=utf-8", "text/calendar",
                           "application/octet-stream; name=x", "Text/Calendar; Method=REQUEST"]),
    to=st.sampled_from(["ana@example.com", "a.b-c+d@sub.example.org", "joão@exemplo.com.br"]),
    mid=st.sampled_from(["<bv-2028-000001.ack.r0@balcao.example.org>", "<a_b@c>",
                         "<bv-2026-000001.confirmation.r0.c04121ea@balcao.cartorio.example>",
                         "<x" + "y" * 70 + "@example.org>"]),
    reply_to=st.sampled_from([None, "atendimento@example.org", "Balcão <b@example.org>"]),
    offset=st.integers(-12 * 60, 14 * 60),
)
def test_the_direct_serialisation_matches_the_email_package_whatever_the_content(
    subject: str, text: str, html: str, attach: int, filename: str, ctype: str, to: str,
    mid: str, reply_to: str | None, offset: int,
) -> None:
    from datetime import timedelta, timezone

    s = spec(subject=" ".join(subject.split()) or "x", text=text, html=html, to=to,
             message_id=mid, attachments=tuple(
                 Attachment(f"{i}{filename}", ctype, text.encode() * i) for i in range(attach)))
    date = datetime(2028, 3, 6, 10, 15, tzinfo=timezone(timedelta(minutes=offset)))
    try:
        reference = build_message(s, sender=SENDER, date=date, reply_to=reply_to).as_bytes()
    except ValueError:
        with pytest.raises(ValueError):
            build_raw(s, sender=SENDER, date=date, reply_to=reply_to)
        return
    fast = build_raw(s, sender=SENDER, date=date, reply_to=reply_to)
    assert _renamed(fast) == _renamed(reference)
    assert _reading(fast) == _reading(reference)


@pytest.mark.parametrize(
    "field",
    [
        {"to": "ana@example.com\r\nBcc: victim@example.org"},
        {"subject": "Olá\nBcc: victim@example.org"},
        {"message_id": "<a@b>\r\nX-Evil: 1"},
        {"attachments": (Attachment("a\r\nb.ics", "text/calendar", b"x"),)},
        {"attachments": (Attachment("a.ics", "calendar", b"x"),)},
    ],
)
def test_the_direct_serialisation_refuses_what_build_message_refuses(
    field: dict[str, object],
) -> None:
    with pytest.raises(ValueError):
        build_raw(spec(**field), sender=SENDER, date=AT)
    with pytest.raises(ValueError):
        build_raw(spec(), sender=SENDER, date=datetime(2028, 3, 6, 10, 15))
