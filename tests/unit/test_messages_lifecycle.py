"""What citizens and staff read in the lifecycle and job e-mails: subjects, bodies, stored ids, .ics (two parsers), well-formed HTML."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import vobject
from icalendar import Calendar

from tests.unit.test_messages import (
    DOMAIN,
    END,
    MEET,
    OFFICE,
    PROTOCOL,
    START,
    TO,
    TZ,
    ack,
    all_specs,
    cancellation,
    confirmation,
    no_show,
    reminder,
)
from worker.messages import (
    Digest,
    DigestAppointment,
    DigestDeadline,
    DigestRow,
    OfficeInfo,
    Renderer,
    staff_message_id,
)
from worker.model import Channel, EmailSpec

STAFF = "secretaria@cartorio.example"
DAY = date(2026, 12, 10)
OFFICE_WITH_FORM = OfficeInfo(
    **{**OFFICE.__dict__, "sender": "balcao@cartorio.example",
       "form_url": "https://forms.gle/agendar-balcao"}
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    from tests.unit.test_messages import TEMPLATES

    return Renderer(TEMPLATES)


def digest(renderer: Renderer, **changes: Any) -> EmailSpec:
    content = Digest(
        day=DAY,
        now=datetime(2026, 12, 10, 7, 30, tzinfo=TZ),
        appointments=(
            DigestAppointment(
                start=datetime(2026, 12, 10, 14, 0, tzinfo=TZ), protocol="BV-2026-000124",
                name="JOÃO DA SILVA", channel=Channel.WHATSAPP, phone="(71) 99876-5432",
            ),
            DigestAppointment(
                start=START, protocol=PROTOCOL, name="maria das dores", channel=Channel.MEET,
                link=MEET,
            ),
        ),
        attention=(DigestRow("BV-2026-000130", "Requer atenção", "Telefone inválido"),),
        deadlines=(
            DigestDeadline("BV-2026-000131", datetime(2026, 12, 10, 11, 0, tzinfo=TZ)),
            DigestDeadline("BV-2026-000120", datetime(2026, 12, 9, 16, 0, tzinfo=TZ)),
        ),
    )
    args: dict[str, Any] = {"office": OFFICE, "digest": content, "to": STAFF,
                            "sender_domain": DOMAIN}
    args.update(changes)
    return renderer.render_digest(**args)


def alert(renderer: Renderer, **changes: Any) -> EmailSpec:
    args: dict[str, Any] = {
        "office": OFFICE, "protocol": PROTOCOL, "to": STAFF, "sender_domain": DOMAIN,
        "deadline": datetime(2026, 12, 11, 10, 15, tzinfo=TZ), "status": "Recebido",
    }
    args.update(changes)
    return renderer.render_deadline_alert(**args)


def every_spec(renderer: Renderer) -> list[EmailSpec]:
    return [*all_specs(renderer), digest(renderer), alert(renderer)]


# --------------------------------------------------------------------------- subjects


def test_every_subject_is_exactly_as_the_design_lists_it(renderer: Renderer) -> None:
    p = PROTOCOL
    assert ack(renderer).subject == f"Balcão Virtual – Solicitação recebida – Protocolo {p}"
    assert confirmation(renderer, revision=1).subject == (
        f"Balcão Virtual – Atendimento agendado para 10/12/2026 às 10:15 – Protocolo {p}"
    )
    assert confirmation(renderer, revision=2).subject == (
        f"Balcão Virtual – Atendimento remarcado para 10/12/2026 às 10:15 – Protocolo {p}"
    )
    assert cancellation(renderer).subject == f"Balcão Virtual – Atendimento cancelado – Protocolo {p}"
    assert no_show(renderer).subject == f"Balcão Virtual – Atendimento não realizado – Protocolo {p}"
    assert reminder(renderer).subject == f"Lembrete: atendimento em 10/12/2026 às 10:15 – Protocolo {p}"
    assert digest(renderer).subject == "Balcão Virtual – agenda de 10/12/2026"
    assert alert(renderer).subject == f"Balcão Virtual – prazo de resposta {p} vence às 10:15"


def test_subjects_show_the_time_in_office_time_whatever_zone_it_comes_in(
    renderer: Renderer,
) -> None:
    utc_start, utc_end = START.astimezone(UTC), END.astimezone(UTC)
    assert "10/12/2026 às 10:15" in confirmation(renderer, start=utc_start, end=utc_end).subject
    assert "10/12/2026 às 10:15" in reminder(renderer, start=utc_start, end=utc_end).subject


# --------------------------------------------------------------------------- acknowledgement


def test_ack_past_the_deadline_promises_no_past_date(renderer: Renderer) -> None:
    deadline = datetime(2026, 12, 4, 10, 15, tzinfo=TZ)
    spec = ack(renderer, deadline=deadline, now=datetime(2026, 12, 7, 9, 0, tzinfo=TZ))
    for body in (spec.text, spec.html):
        assert "04/12/2026" not in body
        assert "mais breve possível" in body
        assert "Responderemos até" not in body


def test_ack_before_the_deadline_still_gives_it(renderer: Renderer) -> None:
    spec = ack(renderer, now=datetime(2026, 12, 10, 10, 15, tzinfo=TZ))
    assert "Responderemos até sexta-feira, 11/12/2026, às 10:15." in spec.text
    assert "mais breve possível" not in spec.text


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("maria das dores", "Maria das Dores"), ("JOÃO DA SILVA", "João da Silva"),
     ("ana lima", "Ana Lima")],
)
def test_every_citizen_e_mail_greets_the_name_capitalised(
    renderer: Renderer, typed: str, shown: str
) -> None:
    for spec in all_specs(renderer, name=typed):
        assert f"Prezado(a) {shown}," in spec.text
        assert f"Prezado(a) {shown}," in spec.html


# --------------------------------------------------------------------------- confirmation


def test_confirmation_repeats_the_service_and_subject_asked(renderer: Renderer) -> None:
    spec = confirmation(
        renderer, service="Certidão de casamento", request_subject="Segunda via <urgente>"
    )
    for body in (spec.text, spec.html):
        assert "Serviço: Certidão de casamento" in body
    assert "Assunto: Segunda via <urgente>" in spec.text
    assert "Assunto: Segunda via &lt;urgente&gt;" in spec.html


def test_confirmation_without_service_or_subject_leaves_those_lines_out(renderer: Renderer) -> None:
    spec = confirmation(renderer)
    assert "Serviço:" not in spec.text and "Assunto:" not in spec.text


def test_whatsapp_confirmation_says_which_of_the_citizen_numbers_is_called(
    renderer: Renderer,
) -> None:
    spec = confirmation(renderer, Channel.WHATSAPP, phone="(71) 9 9876-5432")
    for body in (spec.text, spec.html):
        assert "para o número que você informou:" in body
        assert "(71) 9 9876-5432" in body
        assert "+55 71 9 8823-0376" in body


def test_rescheduled_confirmation_says_the_new_time_replaces_the_old(renderer: Renderer) -> None:
    spec = confirmation(renderer, revision=2)
    assert "foi remarcado" in spec.text and "substitui o anterior" in spec.text
    assert "está agendado" not in spec.text
    first = confirmation(renderer, revision=1)
    assert "está agendado" in first.text and "remarcado" not in first.text


def test_spam_advice_names_the_address_mail_comes_from(renderer: Renderer) -> None:
    for spec in all_specs(renderer, office=OFFICE_WITH_FORM):
        for body in (spec.text, spec.html):
            assert "balcao@cartorio.example</strong>, o endereço que envia" in body or (
                "adicione balcao@cartorio.example, o endereço que envia" in body
            )


# --------------------------------------------------------------------------- stored ids


def test_a_stored_message_id_is_used_as_given(renderer: Renderer) -> None:
    stored = "<old-formula.confirmation.r1@balcao.cartorio.example>"
    for render in (ack, confirmation, cancellation, no_show, reminder, digest, alert):
        assert render(renderer, message_id=stored).message_id == stored


@pytest.mark.parametrize("bad", ["no-brackets@x.example", "<a b@x.example>", "<a@x>\r\nBcc: y"])
def test_a_malformed_stored_message_id_is_refused(renderer: Renderer, bad: str) -> None:
    with pytest.raises(ValueError):
        confirmation(renderer, message_id=bad)


def test_default_message_ids_differ_by_kind_lead_and_revision(renderer: Renderer) -> None:
    ids = [
        ack(renderer).message_id,
        confirmation(renderer, revision=1).message_id,
        confirmation(renderer, revision=2).message_id,
        cancellation(renderer).message_id,
        no_show(renderer).message_id,
        reminder(renderer, hours_before=24).message_id,
        reminder(renderer, hours_before=2).message_id,
    ]
    assert len(set(ids)) == len(ids)
    assert reminder(renderer, hours_before=2).message_id == (
        "<bv-2026-000123.reminder-2h.r1@balcao.cartorio.example>"
    )


def test_staff_message_ids_are_per_day_or_protocol_and_per_recipient(renderer: Renderer) -> None:
    one = digest(renderer).message_id
    assert one == staff_message_id("digest", "2026-12-10", STAFF, DOMAIN)
    assert one.startswith("<digest.2026-12-10.") and STAFF not in one
    assert digest(renderer, to="outra@cartorio.example").message_id != one
    assert alert(renderer).message_id.startswith("<alerta.bv-2026-000123.")


# --------------------------------------------------------------------------- .ics


def ics_data(spec: EmailSpec) -> bytes:
    (attachment,) = spec.attachments
    return attachment.data


def test_confirmation_ics_has_organizer_and_an_alarm_thirty_minutes_before(
    renderer: Renderer,
) -> None:
    event = Calendar.from_ical(ics_data(confirmation(renderer))).walk("VEVENT")[0]
    assert str(event["ORGANIZER"]) == "mailto:contato@cartorio.example"
    assert event["ORGANIZER"].params["CN"] == OFFICE.name
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-30)
    assert str(alarm["ACTION"]) == "DISPLAY"


def test_ics_uid_is_the_calendar_ical_uid_when_given(renderer: Renderer) -> None:
    uid = "7kq2v1c0nmd3ls2n9h0ak9c5s0@google.com"
    for spec in (confirmation(renderer, ics_uid=uid), cancellation(renderer, ics_uid=uid)):
        event = Calendar.from_ical(ics_data(spec)).walk("VEVENT")[0]
        assert str(event["UID"]) == uid


@pytest.mark.parametrize("uid", ["", "a b@x", "x@y\r\nBEGIN:VALARM", "é@x"])
def test_an_unsafe_ics_uid_is_refused(renderer: Renderer, uid: str) -> None:
    with pytest.raises(ValueError):
        confirmation(renderer, ics_uid=uid)


def test_cancellation_ics_removes_the_same_entry(renderer: Renderer) -> None:
    confirmed = Calendar.from_ical(ics_data(confirmation(renderer, revision=2)))
    cancelled_spec = cancellation(renderer, revision=2)
    (attachment,) = cancelled_spec.attachments
    assert attachment.content_type == "text/calendar; method=CANCEL; charset=utf-8"
    cancelled = Calendar.from_ical(attachment.data)
    assert str(cancelled["METHOD"]) == "CANCEL"
    before, after = confirmed.walk("VEVENT")[0], cancelled.walk("VEVENT")[0]
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1 == 3
    assert str(after["STATUS"]) == "CANCELLED"
    assert not after.walk("VALARM")


def test_cancellation_before_any_appointment_has_no_ics(renderer: Renderer) -> None:
    spec = cancellation(renderer, with_appointment=False)
    assert spec.attachments == ()
    assert "Sua solicitação de atendimento" in spec.text and "foi cancelada" in spec.text


def test_every_ics_also_parses_with_vobject_with_the_same_facts(renderer: Renderer) -> None:
    """A second, independent parser: what one library wrote, another reads the same."""
    specs = [
        (confirmation(renderer, Channel.MEET, revision=1), "PUBLISH", 1),
        (confirmation(renderer, Channel.WHATSAPP, revision=1), "PUBLISH", 1),
        (confirmation(renderer, revision=3), "PUBLISH", 3),
        (cancellation(renderer, revision=3), "CANCEL", 4),
    ]
    for spec, method, sequence in specs:
        cal = vobject.readOne(ics_data(spec).decode("utf-8"))
        assert cal.method.value == method
        event = cal.vevent
        assert event.uid.value == "bv-2026-000123@balcao.cartorio.example"
        assert int(event.sequence.value) == sequence
        assert event.dtstart.value == START and event.dtend.value == END
        assert event.organizer.value == "mailto:contato@cartorio.example"
        if method == "PUBLISH":
            assert event.status.value == "CONFIRMED"
            assert event.valarm.trigger.value == timedelta(minutes=-30)
        else:
            assert event.status.value == "CANCELLED"
            assert event.attendee.value == f"mailto:{TO}"


# --------------------------------------------------------------------------- lifecycle bodies


def test_cancellation_names_the_cancelled_time_and_how_to_ask_again(renderer: Renderer) -> None:
    spec = cancellation(renderer, office=OFFICE_WITH_FORM)
    for body in (spec.text, spec.html):
        assert "quinta-feira, 10/12/2026, às 10:15" in body
        assert "cancelado" in body
        assert "https://forms.gle/agendar-balcao" in body


def test_no_show_invites_to_book_again_with_the_form(renderer: Renderer) -> None:
    spec = no_show(renderer, office=OFFICE_WITH_FORM)
    for body in (spec.text, spec.html):
        assert "não foi realizado" in body
        assert "quinta-feira, 10/12/2026, às 10:15" in body
        assert "https://forms.gle/agendar-balcao" in body
    assert 'href="https://forms.gle/agendar-balcao"' in spec.html


def test_no_show_without_a_form_url_points_to_the_contacts(renderer: Renderer) -> None:
    spec = no_show(renderer)
    assert "fale conosco pelos contatos abaixo" in spec.text
    assert "href=\"\"" not in spec.html


def test_meet_reminder_has_date_time_and_link(renderer: Renderer) -> None:
    spec = reminder(renderer)
    for body in (spec.text, spec.html):
        assert "quinta-feira, 10/12/2026, às 10:15" in body
        assert MEET in body
    assert spec.attachments == ()
    assert spec.kind == "reminder"


def test_whatsapp_reminder_names_the_calling_number_and_the_number_called(
    renderer: Renderer,
) -> None:
    spec = reminder(renderer, Channel.WHATSAPP, phone="71 99876-5432")
    assert "a partir do número +55 71 9 8823-0376 para o número que você informou: 71 99876-5432" in spec.text
    assert "meet.google.com" not in spec.text


@pytest.mark.parametrize("hours", [0, -2, True])
def test_reminder_needs_a_positive_lead(renderer: Renderer, hours: object) -> None:
    with pytest.raises(ValueError):
        reminder(renderer, hours_before=hours)


# --------------------------------------------------------------------------- staff


def test_digest_lists_the_day_in_time_order_with_first_names_and_channels(
    renderer: Renderer,
) -> None:
    text = digest(renderer).text
    meet_line = f"10:15  {PROTOCOL}  Maria  Google Meet  {MEET}"
    whatsapp_line = "14:00  BV-2026-000124  João  WhatsApp  (71) 99876-5432"
    assert meet_line in text and whatsapp_line in text
    assert text.index(meet_line) < text.index(whatsapp_line)
    assert "das Dores" not in text and "Silva" not in text
    assert "BV-2026-000130  Requer atenção – Telefone inválido" in text
    assert "BV-2026-000131  vence às 11:00" in text
    assert "BV-2026-000120  venceu em 09/12/2026 16:00" in text
    assert "quinta-feira, 10/12/2026" in text


def test_empty_digest_is_still_sent_and_says_so(renderer: Renderer) -> None:
    empty = Digest(day=DAY, now=datetime(2026, 12, 10, 7, 30, tzinfo=TZ))
    spec = renderer.render_digest(office=OFFICE, digest=empty, to=STAFF, sender_domain=DOMAIN)
    assert "Nenhum atendimento marcado para hoje." in spec.text
    assert "ATENDIMENTOS DO DIA (0)" in spec.text
    assert "mesmo sem atendimentos" in spec.text


def test_digest_html_escapes_what_staff_or_citizens_typed(renderer: Renderer) -> None:
    nasty = Digest(
        day=DAY, now=datetime(2026, 12, 10, 7, 30, tzinfo=TZ),
        attention=(DigestRow("BV-2026-000130", "Requer atenção", "<script>x</script>"),),
        appointments=(DigestAppointment(start=START, protocol=PROTOCOL, name="<b>Zé</b>",
                                        channel=Channel.MEET, link="javascript:alert(1)"),),
    )
    html = renderer.render_digest(office=OFFICE, digest=nasty, to=STAFF, sender_domain=DOMAIN).html
    assert "<script>" not in html and "<b>Zé" not in html and "javascript:" not in html


def test_deadline_alert_names_protocol_deadline_and_how_to_answer(renderer: Renderer) -> None:
    spec = alert(renderer, note="Sem horário livre")
    for body in (spec.text, spec.html):
        assert PROTOCOL in body
        assert "sexta-feira, 11/12/2026, às 10:15" in body
        assert "Atendimento" in body
        assert "Sem horário livre" in body


# --------------------------------------------------------------------------- HTML well-formed


_VOID = {"br", "meta", "img", "hr", "input", "link"}


class _Nesting(HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)
        for name, value in attrs:
            if name == "href" and not (value or "").startswith(("https://", "mailto:")):
                self.errors.append(f"href {value!r}")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_every_html_body_parses_with_balanced_tags_and_safe_links(renderer: Renderer) -> None:
    for office in (OFFICE, OFFICE_WITH_FORM):
        specs = [*all_specs(renderer, office=office), digest(renderer, office=office),
                 alert(renderer, office=office)]
        for spec in specs:
            parser = _Nesting()
            parser.feed(spec.html)
            parser.close()
            assert parser.errors == [], (spec.kind, parser.errors)
            assert parser.stack == [], (spec.kind, parser.stack)
            visible = " ".join("".join(parser.text).split())
            assert "{{" not in visible and "{%" not in visible
            assert spec.html.startswith("<!DOCTYPE html>")
            assert '<html lang="pt-BR">' in spec.html


def test_the_shipped_config_gives_the_e_mails_the_real_sender_and_the_form() -> None:
    from pathlib import Path

    from worker import bootstrap
    from worker.config import load

    office = bootstrap.office_info(load(Path(__file__).resolve().parents[2] / "config.yaml"))
    assert office.sender == "balcao@cartorio.example"
    assert office.form_url.startswith("https://")
