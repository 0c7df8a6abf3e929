"""pt-BR date wording and PII masking, as literal tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from worker.textfmt import (
    first_name,
    fmt_date,
    fmt_datetime,
    fmt_in_words,
    fmt_office_hours,
    fmt_time,
    mask_email,
    mask_name,
    mask_phone,
    person_name,
    weekday_pt,
)

BAHIA = ZoneInfo("America/Bahia")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 14), "segunda-feira"),
        (date(2026, 12, 15), "terça-feira"),
        (date(2026, 12, 16), "quarta-feira"),
        (date(2026, 12, 17), "quinta-feira"),
        (date(2026, 12, 18), "sexta-feira"),
        (date(2026, 12, 19), "sábado"),
        (date(2026, 12, 20), "domingo"),
    ],
)
def test_weekday_pt_names_every_day_of_the_week(day: date, expected: str) -> None:
    assert weekday_pt(day) == expected


def test_fmt_date_pads_day_and_month() -> None:
    assert fmt_date(date(2026, 3, 5)) == "05/03/2026"
    assert fmt_date(datetime(2026, 12, 13, 23, 59, tzinfo=BAHIA)) == "13/12/2026"


def test_fmt_datetime_is_day_month_year_hour_minute() -> None:
    assert fmt_datetime(datetime(2026, 12, 13, 10, 15, tzinfo=BAHIA)) == "13/12/2026 10:15"


def test_fmt_time_drops_seconds_instead_of_rounding_up() -> None:
    assert fmt_time(datetime(2028, 3, 7, 16, 59, 59, tzinfo=BAHIA)) == "16:59"


def test_fmt_datetime_converts_to_the_given_zone() -> None:
    utc = datetime(2026, 12, 11, 13, 15, tzinfo=UTC)
    assert fmt_datetime(utc, "America/Bahia") == "11/12/2026 10:15"


def test_fmt_datetime_refuses_to_convert_a_naive_datetime() -> None:
    with pytest.raises(ValueError):
        fmt_datetime(datetime(2026, 12, 11, 10, 15), "America/Bahia")


def test_fmt_in_words_reads_as_a_sentence() -> None:
    assert (
        fmt_in_words(datetime(2026, 12, 11, 10, 15, tzinfo=BAHIA))
        == "sexta-feira, 11/12/2026, às 10:15"
    )


@pytest.mark.parametrize(
    ("hour", "article"), [(0, "à"), (1, "à"), (2, "às"), (8, "às"), (13, "às")]
)
def test_fmt_in_words_uses_the_singular_article_for_zero_and_one_oclock(
    hour: int, article: str
) -> None:
    text = fmt_in_words(datetime(2026, 12, 11, hour, 30, tzinfo=BAHIA))
    assert text.endswith(f", {article} {hour:02d}:30")


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("maria.silva@example.com", "m***a@e***.com"),
        ("ana@uol.com.br", "a***@u***.com.br"),
        ("jo@gmail.com", "j***@g***.com"),
        ("x@gmail.com", "***@g***.com"),
        ("servidor@bahia.ba.gov.br", "s***r@b***.gov.br"),
        ("a@localhost", "***@***"),
        ("not an address", "***"),
        ("a@b@c.com", "***"),
        ("", "***"),
    ],
)
def test_mask_email_keeps_neither_local_part_nor_domain(email: str, masked: str) -> None:
    assert mask_email(email) == masked


def test_mask_email_never_contains_the_local_part_or_domain_name() -> None:
    masked = mask_email("maria.silva@example.com")
    assert "maria" not in masked and "silva" not in masked and "example" not in masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+5571988230376", "+55 71 *****-0376"),
        ("+557132345678", "+55 71 ****-5678"),
        ("+351912345678", "+********-5678"),
        ("71988230376", "*******-0376"),
        ("123", "***"),
        ("", "***"),
    ],
)
def test_mask_phone_keeps_ddd_and_last_four_digits_only(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [("Maria da Silva", "M*** d*** S***"), ("José", "J***"), ("", "***"), ("   ", "***")],
)
def test_mask_name_keeps_initials_only(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (["mon", "tue", "wed", "thu", "fri"], "segunda a sexta, das 08:00 às 17:00"),
        (["fri", "mon", "wed"], "segunda, quarta e sexta, das 08:00 às 17:00"),
        (["mon", "tue"], "segunda e terça, das 08:00 às 17:00"),
        (["sat"], "sábado, das 08:00 às 17:00"),
        (["mon", "tue", "wed", "thu", "fri", "sat"], "segunda a sábado, das 08:00 às 17:00"),
    ],
)
def test_fmt_office_hours_reads_like_a_door_sign(days: list[str], expected: str) -> None:
    assert fmt_office_hours(days, time(8), time(17)) == expected


def test_fmt_office_hours_rejects_unknown_day_codes() -> None:
    with pytest.raises(ValueError):
        fmt_office_hours(["seg"], time(8), time(17))


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("maria das dores", "Maria das Dores"),
        ("JOÃO DA SILVA", "João da Silva"),
        ("Maria Das Dores", "Maria das Dores"),
        ("ÁLVARO DE CAMPOS E SOUZA", "Álvaro de Campos e Souza"),
        ("pedro dos santos do nascimento", "Pedro dos Santos do Nascimento"),
        ("  ana   lima ", "Ana Lima"),
        ("ana-lúcia d'ávila", "Ana-Lúcia d'Ávila"),
        ("joão paulo ii", "João Paulo II"),
        ("De Souza", "De Souza"),
        ("ronald McDonald", "Ronald McDonald"),
        ("ÉRICA", "Érica"),
        ("", ""),
    ],
)
def test_person_name_is_capitalised_pt_br_style(typed: str, shown: str) -> None:
    assert person_name(typed) == shown


@pytest.mark.parametrize(
    ("typed", "first"),
    [("maria das dores", "Maria"), ("JOÃO DA SILVA", "João"), ("DRA. ANA LIMA", "Ana"),
     ("Sr.", "Sr."), ("", "")],
)
def test_first_name_is_the_capitalised_first_word(typed: str, first: str) -> None:
    assert first_name(typed) == first
