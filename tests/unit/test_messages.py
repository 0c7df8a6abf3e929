"""Rendering of the citizen e-mails: every template, escaping, headers, Message-ID and the .ics."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from worker.messages import TEMPLATE_NAMES, OfficeInfo, Renderer, build_ics, message_id
from worker.model import Channel, EmailSpec

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TZ = ZoneInfo("America/Bahia")
DOMAIN = "balcao.cartorio.example"
PROTOCOL = "BV-2026-000123"
MEET = "https://meet.google.com/abc-defg-hij"
OFFICE = OfficeInfo(
    name="Cartório de Registro Civil e Notas",
    address="Dias d'Ávila – BA",
    phones=("(71) 3625-5007", "(71) 98823-0376"),
    whatsapp="+55 71 9 8823-0376",
    email="contato@cartorio.example",
    website="https://cartorio.example",
    privacy_policy_url="https://cartorio.example/privacidade",
    hours_text="segunda a sexta, das 08:00 às 17:00",
)
BARE_OFFICE = OfficeInfo(
    name="Cartório",
    address="",
    phones=(),
    whatsapp="",
    email="",
    website="",
    privacy_policy_url="",
    hours_text="",
)
NAME = "Maria da Silva"
TO = "maria.silva@example.com"
DEADLINE = datetime(2026, 12, 11, 10, 15, tzinfo=TZ)  # a Friday
START = datetime(2026, 12, 10, 10, 15, tzinfo=TZ)  # a Thursday
END = datetime(2026, 12, 10, 10, 45, tzinfo=TZ)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


def ack(renderer: Renderer, **changes: object) -> EmailSpec:
    args: dict[str, object] = {
        "office": OFFICE,
        "protocol": PROTOCOL,
        "name": NAME,
        "to": TO,
        "deadline": DEADLINE,
        "sender_domain": DOMAIN,
    }
    args.update(changes)
    return renderer.render_ack(**args)  # type: ignore[arg-type]


def confirmation(
    renderer: Renderer, channel: Channel = Channel.MEET, **changes: object
) -> EmailSpec:
    args: dict[str, object] = {
        "office": OFFICE,
        "protocol": PROTOCOL,
        "name": NAME,
        "to": TO,
        "start": START,
        "end": END,
        "channel": channel,
        "meet_link": MEET if channel is Channel.MEET else None,
        "sender_domain": DOMAIN,
    }
    args.update(changes)
    return renderer.render_confirmation(**args)  # type: ignore[arg-type]


def cancellation(renderer: Renderer, with_appointment: bool = True, **changes: object) -> EmailSpec:
    args: dict[str, object] = {
        "office": OFFICE,
        "protocol": PROTOCOL,
        "name": NAME,
        "to": TO,
        "sender_domain": DOMAIN,
        "revision": 1,
    }
    if with_appointment:
        args.update(start=START, end=END, channel=Channel.MEET)
    args.update(changes)
    return renderer.render_cancellation(**args)  # type: ignore[arg-type]


def no_show(renderer: Renderer, **changes: object) -> EmailSpec:
    args: dict[str, object] = {
        "office": OFFICE,
        "protocol": PROTOCOL,
        "name": NAME,
        "to": TO,
        "start": START,
        "sender_domain": DOMAIN,
        "revision": 1,
    }
    args.update(changes)
    return renderer.render_no_show(**args)  # type: ignore[arg-type]


def reminder(
    renderer: Renderer, channel: Channel = Channel.MEET, **changes: object
) -> EmailSpec:
    args: dict[str, object] = {
        "office": OFFICE,
        "protocol": PROTOCOL,
        "name": NAME,
        "to": TO,
        "start": START,
        "end": END,
        "channel": channel,
        "meet_link": MEET if channel is Channel.MEET else None,
        "sender_domain": DOMAIN,
        "hours_before": 24,
        "revision": 1,
    }
    args.update(changes)
    return renderer.render_reminder(**args)  # type: ignore[arg-type]


def all_specs(renderer: Renderer, **changes: object) -> list[EmailSpec]:
    """One e-mail of every citizen kind and variant (the staff e-mails have their own tests)."""
    return [
        ack(renderer, **changes),
        confirmation(renderer, Channel.MEET, **changes),
        confirmation(renderer, Channel.WHATSAPP, **changes),
        confirmation(renderer, Channel.MEET, revision=2, **changes),
        cancellation(renderer, **changes),
        cancellation(renderer, with_appointment=False, **changes),
        no_show(renderer, **changes),
        reminder(renderer, Channel.MEET, **changes),
        reminder(renderer, Channel.WHATSAPP, **changes),
    ]


def ics_event(spec: EmailSpec) -> object:
    (attachment,) = spec.attachments
    cal = Calendar.from_ical(attachment.data)
    (event,) = cal.walk("VEVENT")
    return event


# --------------------------------------------------------------------------- every template


def test_templates_directory_holds_exactly_the_known_templates() -> None:
    assert sorted(p.name for p in TEMPLATES.iterdir()) == sorted(TEMPLATE_NAMES)


def test_every_citizen_message_kind_is_rendered_by_the_template_tests(renderer: Renderer) -> None:
    kinds = {spec.kind for spec in all_specs(renderer)}
    assert kinds == {"ack", "confirmation", "cancellation", "no-show", "reminder"}


@pytest.mark.parametrize("office", [OFFICE, BARE_OFFICE], ids=["full-office", "bare-office"])
def test_every_template_renders_with_strict_undefined_for_both_channels(
    renderer: Renderer, office: OfficeInfo
) -> None:
    for spec in all_specs(renderer, office=office):
        assert spec.subject and spec.text and spec.html
        assert "Undefined" not in spec.text and "Undefined" not in spec.html
        assert PROTOCOL in spec.text and PROTOCOL in spec.html


def test_renderer_uses_strict_undefined(renderer: Renderer) -> None:
    from jinja2 import StrictUndefined, UndefinedError

    assert renderer.env.undefined is StrictUndefined
    with pytest.raises(UndefinedError):
        renderer.env.get_template("ack.body.txt").render({})


def test_html_templates_are_autoescaped_and_text_templates_are_not(renderer: Renderer) -> None:
    assert renderer.env.autoescape("ack.body.html") is True  # type: ignore[operator]
    assert renderer.env.autoescape("ack.body.txt") is False  # type: ignore[operator]


# --------------------------------------------------------------------------- content


def test_ack_states_receipt_protocol_and_deadline_in_figures_and_words(renderer: Renderer) -> None:
    spec = ack(renderer)
    for body in (spec.text, spec.html):
        assert "Prezado(a) Maria da Silva" in body
        assert "Recebemos sua solicitação de atendimento pelo Balcão Virtual" in body
        assert "11/12/2026 10:15" in body
        assert "sexta-feira, 11/12/2026, às 10:15" in body
        assert "spam" in body
        assert "Lei nº 13.709/2018" in body
        assert "https://cartorio.example/privacidade" in body
        assert "Se você não fez esta solicitação, ignore esta mensagem" in body
        assert "segunda a sexta, das 08:00 às 17:00" in body
        assert "(71) 3625-5007" in body
    assert "Responderemos até sexta-feira, 11/12/2026, às 10:15." in spec.text


def test_ack_shows_the_deadline_in_office_time_whatever_zone_it_comes_in(
    renderer: Renderer,
) -> None:
    spec = ack(renderer, deadline=DEADLINE.astimezone(UTC))
    assert "11/12/2026 10:15" in spec.text


def test_meet_confirmation_has_date_time_link_and_access_instructions(renderer: Renderer) -> None:
    spec = confirmation(renderer, Channel.MEET)
    for body in (spec.text, spec.html):
        assert "10/12/2026" in body and "10:15" in body
        assert "quinta-feira, 10/12/2026, às 10:15" in body
        assert MEET in body
        assert "No computador" in body and "Não é preciso instalar nada" in body
        assert "Android" in body
        assert "iPhone" in body and "App Store" in body
        assert "WhatsApp a partir do número" not in body
        assert "spam" in body and "Lei nº 13.709/2018" in body


def test_meet_confirmation_html_has_the_link_as_button_and_as_text(renderer: Renderer) -> None:
    html = confirmation(renderer, Channel.MEET).html
    assert html.count(f'href="{MEET}"') == 2
    assert f">{MEET}</a>" in html


def test_whatsapp_confirmation_names_the_calling_number(renderer: Renderer) -> None:
    spec = confirmation(renderer, Channel.WHATSAPP)
    sentence = "um responsável iniciará a chamada de vídeo pelo WhatsApp a partir do número "
    assert sentence + "+55 71 9 8823-0376" in spec.text
    assert "meet.google.com" not in spec.text and "meet.google.com" not in spec.html


def test_whatsapp_confirmation_uses_the_given_caller_number(renderer: Renderer) -> None:
    spec = confirmation(renderer, Channel.WHATSAPP, caller_number="+55 71 9 9999-0000")
    assert "a partir do número +55 71 9 9999-0000" in spec.text
    assert "+55 71 9 9999-0000" in spec.html


def test_confirmation_on_a_saturday_reads_no_sabado(renderer: Renderer) -> None:
    sat = datetime(2026, 12, 12, 9, 0, tzinfo=TZ)
    spec = confirmation(renderer, start=sat, end=sat.replace(minute=30))
    assert "Esperamos você no sábado, 12/12/2026, às 09:00." in spec.text


# --------------------------------------------------------------------------- escaping and headers


@pytest.mark.parametrize(
    "name",
    ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}"],
)
def test_html_escapes_the_citizen_name(renderer: Renderer, name: str) -> None:
    for spec in all_specs(renderer, name=name):
        assert "<script>" not in spec.html and "<img" not in spec.html
    escaped = ack(renderer, name="<script>alert(1)</script>").html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in escaped
    # The text part is literal: the name is data, never template source.
    assert "{{ 7*7 }}" in ack(renderer, name="{{ 7*7 }}").text


def test_subject_contains_the_protocol_and_no_citizen_text(renderer: Renderer) -> None:
    nasty = "Maria\r\nBcc: x@evil.example"
    for spec in all_specs(renderer, name=nasty):
        assert PROTOCOL in spec.subject
        assert "Maria" not in spec.subject and "evil" not in spec.subject
        assert "\n" not in spec.subject and "\r" not in spec.subject
    assert (
        ack(renderer).subject == "Balcão Virtual – Solicitação recebida – Protocolo BV-2026-000123"
    )
    assert (
        confirmation(renderer).subject
        == "Balcão Virtual – Atendimento agendado para 10/12/2026 às 10:15 – Protocolo BV-2026-000123"
    )


def test_long_name_is_truncated_in_the_greeting(renderer: Renderer) -> None:
    spec = ack(renderer, name="Maria " * 100)
    greeting = spec.text.splitlines()[0]
    assert greeting.endswith("…,") and len(greeting) < 140


@pytest.mark.parametrize(
    "to",
    [
        "a@b.com\r\nBcc: x@y.com",
        "a@b.com\nBcc: x@y.com",
        "a@b.com, c@d.com",
        "a@b.com;c@d.com",
        '"Zé" <z@x.com>',
        "a@b.com\x00",
        "",
        "no-at-sign",
    ],
)
def test_recipient_must_be_a_single_bare_address(renderer: Renderer, to: str) -> None:
    with pytest.raises(ValueError):
        ack(renderer, to=to)
    for render in (confirmation, cancellation, no_show, reminder):
        with pytest.raises(ValueError):
            render(renderer, to=to)


@pytest.mark.parametrize(
    "protocol", ["BV-2026-000123\r\nBcc: x@y.com", "BV 2026", "", "BV-2026-000123\n"]
)
def test_unsafe_protocol_is_refused(renderer: Renderer, protocol: str) -> None:
    for render in (ack, confirmation, cancellation, no_show, reminder):
        with pytest.raises(ValueError):
            render(renderer, protocol=protocol)


@pytest.mark.parametrize(
    "link",
    [
        None,
        "",
        "http://meet.google.com/abc",
        "javascript:alert(1)",
        f'{MEET}" onclick="x',
        f"{MEET}\n",
    ],
)
def test_meet_confirmation_needs_an_https_link(renderer: Renderer, link: str | None) -> None:
    with pytest.raises(ValueError):
        confirmation(renderer, Channel.MEET, meet_link=link)
    with pytest.raises(ValueError):
        reminder(renderer, Channel.MEET, meet_link=link)


def test_rendered_spec_builds_a_valid_mime_message(renderer: Renderer) -> None:
    for spec in all_specs(renderer):
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["To"] = spec.to
        msg["Subject"] = spec.subject
        msg["Message-ID"] = spec.message_id
        msg.set_content(spec.text)
        msg.add_alternative(spec.html, subtype="html")
        for att in spec.attachments:
            maintype, _, rest = att.content_type.partition("/")
            msg.add_attachment(
                att.data, maintype=maintype, subtype=rest.split(";")[0], filename=att.filename
            )
        assert msg.as_bytes()


# --------------------------------------------------------------------------- message-id


def test_message_id_is_deterministic_and_safe() -> None:
    assert (
        message_id(PROTOCOL, "ack", 0, DOMAIN) == "<bv-2026-000123.ack.r0@balcao.cartorio.example>"
    )
    assert message_id(PROTOCOL, "confirmation", 2, "Balcao.Cartorio.Example") == (
        "<bv-2026-000123.confirmation.r2@balcao.cartorio.example>"
    )
    assert (
        message_id(PROTOCOL, "ack", 0, "balcao.invalid") == "<bv-2026-000123.ack.r0@balcao.invalid>"
    )


def test_message_id_is_identical_across_renders(renderer: Renderer) -> None:
    first, second = ack(renderer), ack(renderer, name="Outro Nome")
    assert first.message_id == second.message_id == message_id(PROTOCOL, "ack", 0, DOMAIN)
    c1, c2 = confirmation(renderer), confirmation(renderer)
    assert (
        c1.message_id == c2.message_id == "<bv-2026-000123.confirmation.r0@balcao.cartorio.example>"
    )
    assert c1 == c2


def test_message_id_differs_by_kind_and_revision(renderer: Renderer) -> None:
    ids = {
        ack(renderer).message_id,
        confirmation(renderer).message_id,
        confirmation(renderer, revision=1).message_id,
    }
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("kind", "revision", "domain"),
    [
        ("ack", 0, "bad domain"),
        ("ack", 0, "-x.example"),
        ("ack", 0, "x.example>"),
        ("ack", 0, ""),
        ("ACK>", 0, DOMAIN),
        ("ack", -1, DOMAIN),
        ("ack", True, DOMAIN),
    ],
)
def test_message_id_rejects_unsafe_parts(kind: str, revision: int, domain: str) -> None:
    with pytest.raises(ValueError):
        message_id(PROTOCOL, kind, revision, domain)


# --------------------------------------------------------------------------- ics


def test_confirmation_ics_parses_back_with_the_right_start_and_end(renderer: Renderer) -> None:
    spec = confirmation(renderer, Channel.MEET)
    (attachment,) = spec.attachments
    assert attachment.filename == "balcao-virtual-BV-2026-000123.ics"
    assert attachment.content_type == "text/calendar; method=PUBLISH; charset=utf-8"
    cal = Calendar.from_ical(attachment.data)
    assert str(cal["METHOD"]) == "PUBLISH"
    event = ics_event(spec)
    start = event.decoded("dtstart")  # type: ignore[attr-defined]
    assert start == START and start.utcoffset() == START.utcoffset()
    assert event.decoded("dtend") == END  # type: ignore[attr-defined]
    assert str(event["SUMMARY"]) == "Balcão Virtual – Cartório de Registro Civil e Notas"  # type: ignore[index]
    assert str(event["LOCATION"]) == MEET  # type: ignore[index]
    assert str(event["UID"]) == "bv-2026-000123@balcao.cartorio.example"  # type: ignore[index]
    assert MEET in str(event["DESCRIPTION"])  # type: ignore[index]
    assert "VTIMEZONE" in attachment.data.decode()
    assert "TZID=America/Bahia" in attachment.data.decode()


def test_whatsapp_ics_says_whatsapp_and_the_calling_number(renderer: Renderer) -> None:
    event = ics_event(confirmation(renderer, Channel.WHATSAPP))
    assert str(event["LOCATION"]) == "WhatsApp (vídeo)"  # type: ignore[index]
    assert "+55 71 9 8823-0376" in str(event["DESCRIPTION"])  # type: ignore[index]
    assert "URL" not in event  # type: ignore[operator]


def test_ics_carries_no_citizen_data(renderer: Renderer) -> None:
    spec = confirmation(renderer, name="Fulana Secreta", to="fulana.secreta@example.com")
    data = spec.attachments[0].data.decode()
    assert "Fulana" not in data and "fulana" not in data


def test_rescheduled_ics_keeps_the_uid_and_raises_the_sequence(renderer: Renderer) -> None:
    first = ics_event(confirmation(renderer))
    later = ics_event(confirmation(renderer, revision=2))
    assert str(first["UID"]) == str(later["UID"])  # type: ignore[index]
    assert int(later["SEQUENCE"]) == 2  # type: ignore[index]


def test_ics_rendering_is_repeatable_without_a_clock(renderer: Renderer) -> None:
    assert confirmation(renderer).attachments == confirmation(renderer).attachments
    stamped = confirmation(renderer, stamp=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert ics_event(stamped).decoded("dtstamp") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # type: ignore[attr-defined]


def test_build_ics_rejects_an_end_before_the_start() -> None:
    with pytest.raises(ValueError):
        build_ics(
            office=OFFICE,
            protocol=PROTOCOL,
            start=END,
            end=START,
            channel=Channel.WHATSAPP,
            meet_link=None,
            description="x",
            uid_domain=DOMAIN,
        )


def test_naive_datetimes_are_refused(renderer: Renderer) -> None:
    with pytest.raises(ValueError):
        ack(renderer, deadline=datetime(2026, 12, 11, 10, 15))
    with pytest.raises(ValueError):
        confirmation(renderer, start=datetime(2026, 12, 10, 10, 15))


def test_every_ics_carries_the_office_timezone_once_before_its_event() -> None:
    from icalendar import Timezone

    office = OfficeInfo("Cartório", "", (), "", "", "", "", "")
    for description in ("", "BEGIN:VEVENT\nEND:VCALENDAR", "ç" * 300):
        ics = build_ics(
            office=office, protocol="BV-2026-000001", start=START, end=END, channel=Channel.MEET,
            meet_link=MEET, description=description, uid_domain="cartorio.example",
        )
        cal = Calendar.from_ical(ics)
        assert [c.name for c in cal.subcomponents] == ["VTIMEZONE", "VEVENT"]
        (zone,) = cal.walk("VTIMEZONE")
        assert zone.to_ical() == Timezone.from_tzid("America/Bahia").to_ical()
        assert str(cal.walk("VEVENT")[0]["DESCRIPTION"]) == description
