"""Office calendar and R24-BA deadlines against literal tables (DESIGN §4, the Bahia reference CSV)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from worker.model import Closure, DayKind, RecurringHoliday
from worker.officetime import OfficeCalendar, easter

BAHIA = ZoneInfo("America/Bahia")
CLOSED, REDUCED, FULL = DayKind.CLOSED, DayKind.REDUCED, DayKind.FULL

CAL = OfficeCalendar()

# Salvador (Lei municipal 1.997/1967): Good Friday, Corpus Christi, São João, Conceição da Praia.
SALVADOR = (
    RecurringHoliday("Sexta-feira da Paixão", easter_offset=-2),
    RecurringHoliday("Corpus Christi", easter_offset=60),
    RecurringHoliday("São João", month=6, day=24),
    RecurringHoliday("Nossa Senhora da Conceição da Praia", month=12, day=8),
)


def at(text: str) -> datetime:
    """An instant in office time from a literal ``YYYY-MM-DD HH:MM[:SS]``."""
    return datetime.fromisoformat(text).replace(tzinfo=BAHIA)


# --------------------------------------------------------------------------- deadlines

# DESIGN §4, verbatim.
WORKED_EXAMPLES = [
    ("2028-03-06 10:15", "2028-03-07 10:15"),  # Mon -> Tue
    ("2028-02-25 11:00", "2028-03-02 11:00"),  # Fri before Carnival -> Thu
    ("2028-03-01 09:00", "2028-03-02 14:00"),  # Ash Wednesday, received 14:00
    ("2028-04-13 16:00", "2028-04-17 16:00"),  # Thu -> Good Friday, weekend -> Mon
    ("2028-05-06 10:00", "2028-05-09 08:00"),  # Sat -> received Mon 08:00
    ("2028-06-06 17:00", "2028-06-08 08:00"),  # 17:00 is closed -> received Wed 08:00
    ("2028-11-14 07:30", "2028-11-16 08:00"),  # before opening; 15 Nov skipped
]


@pytest.mark.parametrize(("submitted", "expected"), WORKED_EXAMPLES)
def test_deadline_matches_the_design_worked_examples(submitted: str, expected: str) -> None:
    assert CAL.deadline(at(submitted)) == at(expected)


def test_deadline_skips_good_friday() -> None:
    assert CAL.deadline(at("2028-04-13 16:00")) == at("2028-04-17 16:00")


def test_deadline_of_a_utc_instant_is_given_in_bahia_time() -> None:
    result = CAL.deadline(datetime.fromisoformat("2028-02-25T14:00:00Z"))
    assert result.isoformat() == "2028-03-02T11:00:00-03:00"
    assert result.tzinfo == BAHIA


def test_naive_and_aware_instants_in_other_zones_give_the_same_deadline() -> None:
    naive = datetime(2028, 2, 25, 11, 0)
    sao_paulo = datetime(2028, 2, 25, 11, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    tokyo = datetime(2028, 2, 25, 23, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    fixed = datetime(2028, 2, 25, 14, 0, tzinfo=UTC)
    assert {CAL.deadline(x) for x in (naive, sao_paulo, tokyo, fixed)} == {at("2028-03-02 11:00")}


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ("2028-03-06 16:59:59", "2028-03-07 16:59:59"),
        ("2028-03-06 08:00:00", "2028-03-07 08:00:00"),
        ("2028-03-06 12:34:56.789000", "2028-03-07 12:34:56.789000"),
        ("2028-03-03 16:59:59", "2028-03-06 16:59:59"),  # Fri -> Sat closed -> Mon, same clock
    ],
)
def test_deadline_counts_exactly_so_seconds_survive(submitted: str, expected: str) -> None:
    assert CAL.deadline(at(submitted)) == at(expected)


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ("2026-12-31 16:00", "2027-01-04 16:00"),  # Thu -> Fri 1 Jan, weekend -> Mon
        ("2020-12-31 16:00", "2021-01-04 16:00"),  # same shape in 2020
        ("2025-12-31 10:00", "2026-01-02 10:00"),  # Wed -> Thu 1 Jan -> Fri
        ("2027-12-31 16:00", "2028-01-03 16:00"),  # Fri -> Sat 1 Jan -> Mon
        ("2027-12-31 17:00", "2028-01-04 08:00"),  # received Mon 3 Jan 08:00
        ("2026-12-31 23:59:59", "2027-01-05 08:00"),  # received Mon 4 Jan 08:00
    ],
)
def test_deadline_crosses_new_year(submitted: str, expected: str) -> None:
    assert CAL.deadline(at(submitted)) == at(expected)


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ("2024-02-28 10:00", "2024-02-29 10:00"),  # Wed -> Thu 29 Feb
        ("2024-02-29 16:30", "2024-03-01 16:30"),  # Thu 29 Feb -> Fri 1 Mar
        ("2028-02-25 16:00", "2028-03-02 16:00"),  # 29 Feb 2028 is Carnival Tuesday
        ("2028-02-29 10:00", "2028-03-02 14:00"),  # received Ash Wednesday 14:00
        ("2032-02-27 09:00", "2032-03-01 09:00"),  # Fri -> Sat 28, Sun 29 Feb -> Mon
    ],
)
def test_deadline_handles_leap_days(submitted: str, expected: str) -> None:
    assert CAL.deadline(at(submitted)) == at(expected)


def test_deadline_skips_a_reduced_day_and_keeps_the_clock_time() -> None:
    # Fri 2026-02-13 09:00 + 24 h is Saturday; Sunday, Carnival Mon/Tue and the reduced Ash
    # Wednesday are all skipped: Thursday 09:00.
    assert CAL.deadline(at("2026-02-13 09:00")) == at("2026-02-19 09:00")
    assert CAL.deadline(at("2026-02-18 16:30")) == at("2026-02-19 16:30")


def test_deadline_on_ash_wednesday_afternoon_can_end_before_a_friday_before_carnival() -> None:
    # Why the deadline is not monotone: the earlier submission ends later.
    friday = CAL.deadline(at("2026-02-13 16:00"))
    ash_wednesday = CAL.deadline(at("2026-02-18 14:00"))
    assert friday == at("2026-02-19 16:00")
    assert ash_wednesday == at("2026-02-19 14:00")
    assert ash_wednesday < friday


def test_deadline_uses_the_wall_clock_in_a_daylight_saving_year() -> None:
    # America/Bahia kept DST in the summer of 2011/2012 (UTC-2).
    result = CAL.deadline(datetime(2011, 12, 1, 10, 0))
    assert result.isoformat() == "2011-12-02T10:00:00-02:00"


# --------------------------------------------------------------------------- receipt and hours


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ("2028-03-06 10:15", "2028-03-06 10:15"),  # inside: the instant itself
        ("2028-03-06 08:00", "2028-03-06 08:00"),  # opening is inside
        ("2028-03-06 16:59:59", "2028-03-06 16:59:59"),  # last second is inside
        ("2028-03-06 07:59:59", "2028-03-06 08:00"),  # before opening
        ("2028-03-06 17:00", "2028-03-07 08:00"),  # closing is outside
        ("2028-03-06 00:00", "2028-03-06 08:00"),
        ("2028-03-04 10:00", "2028-03-06 08:00"),  # Saturday
        ("2028-03-03 17:00", "2028-03-06 08:00"),  # Friday after closing
        ("2028-02-28 10:00", "2028-03-01 14:00"),  # Carnival Monday -> Ash Wednesday 14:00
        ("2028-03-01 13:59:59", "2028-03-01 14:00"),  # Ash Wednesday morning
        ("2028-03-01 14:00", "2028-03-01 14:00"),  # Ash Wednesday afternoon is open
        ("2028-04-14 09:00", "2028-04-17 08:00"),  # Good Friday
    ],
)
def test_receipt_is_the_submission_or_the_next_opening(submitted: str, expected: str) -> None:
    assert CAL.receipt(at(submitted)) == at(expected)


@pytest.mark.parametrize(
    ("instant", "is_open"),
    [
        ("2028-03-06 07:59:59", False),
        ("2028-03-06 08:00:00", True),
        ("2028-03-06 16:59:59", True),
        ("2028-03-06 17:00:00", False),
        ("2028-03-04 10:00:00", False),  # Saturday
        ("2028-03-01 13:59:59", False),  # Ash Wednesday morning
        ("2028-03-01 14:00:00", True),
        ("2028-11-15 10:00:00", False),  # Proclamação da República
    ],
)
def test_is_open_uses_half_open_intervals(instant: str, is_open: bool) -> None:
    assert CAL.is_open(at(instant)) is is_open


def test_open_interval_of_full_reduced_and_closed_days() -> None:
    assert CAL.open_interval(date(2028, 3, 6)) == (at("2028-03-06 08:00"), at("2028-03-06 17:00"))
    assert CAL.open_interval(date(2028, 3, 1)) == (at("2028-03-01 14:00"), at("2028-03-01 17:00"))
    assert CAL.open_interval(date(2028, 2, 28)) is None
    assert CAL.open_interval(date(2028, 3, 4)) is None


def test_open_intervals_are_clipped_and_skip_closed_days() -> None:
    got = CAL.open_intervals(at("2028-02-25 16:00"), at("2028-03-02 09:00"))
    assert got == [
        (at("2028-02-25 16:00"), at("2028-02-25 17:00")),
        (at("2028-03-01 14:00"), at("2028-03-01 17:00")),
        (at("2028-03-02 08:00"), at("2028-03-02 09:00")),
    ]


def test_open_intervals_are_empty_for_an_empty_or_closed_range() -> None:
    assert CAL.open_intervals(at("2028-03-06 10:00"), at("2028-03-06 10:00")) == []
    assert CAL.open_intervals(at("2028-03-06 12:00"), at("2028-03-06 10:00")) == []
    assert CAL.open_intervals(at("2028-03-04 00:00"), at("2028-03-06 00:00")) == []


def test_open_intervals_accept_utc_bounds() -> None:
    start = datetime(2028, 3, 6, 19, 0, tzinfo=UTC)  # 16:00 in Bahia
    end = datetime(2028, 3, 7, 12, 0, tzinfo=UTC)  # 09:00 in Bahia
    assert CAL.open_intervals(start, end) == [
        (at("2028-03-06 16:00"), at("2028-03-06 17:00")),
        (at("2028-03-07 08:00"), at("2028-03-07 09:00")),
    ]


# --------------------------------------------------------------------------- the calendar


def test_calendar_of_2026_lists_carnival_ash_wednesday_and_bahia_holidays() -> None:
    got = [(i.day.isoformat(), i.kind, i.name, i.source, i.weekend) for i in CAL.special_days(2026)]
    hol, carn = "holidays (BR-BA)", "carnival"
    assert got == [
        ("2026-01-01", CLOSED, "Confraternização Universal", hol, False),
        ("2026-02-16", CLOSED, "Carnaval (segunda-feira)", carn, False),
        ("2026-02-17", CLOSED, "Carnaval (terça-feira)", carn, False),
        ("2026-02-18", REDUCED, "Quarta-feira de Cinzas", carn, False),
        ("2026-04-03", CLOSED, "Sexta-feira Santa", hol, False),
        ("2026-04-21", CLOSED, "Tiradentes", hol, False),
        ("2026-05-01", CLOSED, "Dia do Trabalhador", hol, False),
        ("2026-07-02", CLOSED, "Independência da Bahia", hol, False),
        ("2026-09-07", CLOSED, "Independência do Brasil", hol, False),
        ("2026-10-12", CLOSED, "Nossa Senhora Aparecida", hol, False),
        ("2026-11-02", CLOSED, "Finados", hol, False),
        ("2026-11-15", CLOSED, "Proclamação da República", hol, True),  # a Sunday
        ("2026-11-20", CLOSED, "Dia Nacional de Zumbi e da Consciência Negra", hol, False),
        ("2026-12-25", CLOSED, "Natal", hol, False),
    ]


def test_ash_wednesday_2026_opens_at_two_in_the_afternoon() -> None:
    info = CAL.day_info(date(2026, 2, 18))
    assert (info.kind, info.open_from, info.open_until) == (REDUCED, time(14), time(17))


def test_plain_days_have_no_name() -> None:
    monday = CAL.day_info(date(2026, 3, 2))
    saturday = CAL.day_info(date(2026, 3, 7))
    assert (monday.kind, monday.name, monday.source, monday.weekend) == (FULL, None, None, False)
    assert (monday.open_from, monday.open_until) == (time(8), time(17))
    assert (saturday.kind, saturday.name, saturday.weekend) == (CLOSED, None, True)
    assert (saturday.open_from, saturday.open_until) == (None, None)


# Reference CSV rows of scope national / state / optional that close the office ("yes") or
# make it a half day ("half-day until 14:00"), 2024-2027: the Bahia core closures.
BAHIA_CORE_2024_2027 = [
    ("2024-01-01", CLOSED),  # Mon Confraternização Universal
    ("2024-02-12", CLOSED),  # Mon Carnaval (segunda-feira)
    ("2024-02-13", CLOSED),  # Tue Carnaval (terça-feira)
    ("2024-02-14", REDUCED),  # Wed Quarta-feira de Cinzas (ponto facultativo até 14h)
    ("2024-03-29", CLOSED),  # Fri Sexta-feira Santa (Paixão de Cristo)
    ("2024-04-21", CLOSED),  # Sun Tiradentes
    ("2024-05-01", CLOSED),  # Wed Dia do Trabalho
    ("2024-07-02", CLOSED),  # Tue Independência da Bahia (2 de Julho)
    ("2024-09-07", CLOSED),  # Sat Independência do Brasil
    ("2024-10-12", CLOSED),  # Sat Nossa Senhora Aparecida
    ("2024-11-02", CLOSED),  # Sat Finados
    ("2024-11-15", CLOSED),  # Fri Proclamação da República
    ("2024-11-20", CLOSED),  # Wed Dia Nacional de Zumbi e da Consciência Negra
    ("2024-12-25", CLOSED),  # Wed Natal
    ("2025-01-01", CLOSED),  # Wed Confraternização Universal
    ("2025-03-03", CLOSED),  # Mon Carnaval (segunda-feira)
    ("2025-03-04", CLOSED),  # Tue Carnaval (terça-feira)
    ("2025-03-05", REDUCED),  # Wed Quarta-feira de Cinzas (ponto facultativo até 14h)
    ("2025-04-18", CLOSED),  # Fri Sexta-feira Santa (Paixão de Cristo)
    ("2025-04-21", CLOSED),  # Mon Tiradentes
    ("2025-05-01", CLOSED),  # Thu Dia do Trabalho
    ("2025-07-02", CLOSED),  # Wed Independência da Bahia (2 de Julho)
    ("2025-09-07", CLOSED),  # Sun Independência do Brasil
    ("2025-10-12", CLOSED),  # Sun Nossa Senhora Aparecida
    ("2025-11-02", CLOSED),  # Sun Finados
    ("2025-11-15", CLOSED),  # Sat Proclamação da República
    ("2025-11-20", CLOSED),  # Thu Dia Nacional de Zumbi e da Consciência Negra
    ("2025-12-25", CLOSED),  # Thu Natal
    ("2026-01-01", CLOSED),  # Thu Confraternização Universal
    ("2026-02-16", CLOSED),  # Mon Carnaval (segunda-feira)
    ("2026-02-17", CLOSED),  # Tue Carnaval (terça-feira)
    ("2026-02-18", REDUCED),  # Wed Quarta-feira de Cinzas (ponto facultativo até 14h)
    ("2026-04-03", CLOSED),  # Fri Sexta-feira Santa (Paixão de Cristo)
    ("2026-04-21", CLOSED),  # Tue Tiradentes
    ("2026-05-01", CLOSED),  # Fri Dia do Trabalho
    ("2026-07-02", CLOSED),  # Thu Independência da Bahia (2 de Julho)
    ("2026-09-07", CLOSED),  # Mon Independência do Brasil
    ("2026-10-12", CLOSED),  # Mon Nossa Senhora Aparecida
    ("2026-11-02", CLOSED),  # Mon Finados
    ("2026-11-15", CLOSED),  # Sun Proclamação da República
    ("2026-11-20", CLOSED),  # Fri Dia Nacional de Zumbi e da Consciência Negra
    ("2026-12-25", CLOSED),  # Fri Natal
    ("2027-01-01", CLOSED),  # Fri Confraternização Universal
    ("2027-02-08", CLOSED),  # Mon Carnaval (segunda-feira)
    ("2027-02-09", CLOSED),  # Tue Carnaval (terça-feira)
    ("2027-02-10", REDUCED),  # Wed Quarta-feira de Cinzas (ponto facultativo até 14h)
    ("2027-03-26", CLOSED),  # Fri Sexta-feira Santa (Paixão de Cristo)
    ("2027-04-21", CLOSED),  # Wed Tiradentes
    ("2027-05-01", CLOSED),  # Sat Dia do Trabalho
    ("2027-07-02", CLOSED),  # Fri Independência da Bahia (2 de Julho)
    ("2027-09-07", CLOSED),  # Tue Independência do Brasil
    ("2027-10-12", CLOSED),  # Tue Nossa Senhora Aparecida
    ("2027-11-02", CLOSED),  # Tue Finados
    ("2027-11-15", CLOSED),  # Mon Proclamação da República
    ("2027-11-20", CLOSED),  # Sat Dia Nacional de Zumbi e da Consciência Negra
    ("2027-12-25", CLOSED),  # Sat Natal
]


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
def test_special_days_match_the_reference_bahia_core_closures(year: int) -> None:
    expected = {
        date.fromisoformat(d): kind
        for d, kind in BAHIA_CORE_2024_2027
        if d.startswith(str(year)) and date.fromisoformat(d).weekday() < 5
    }
    got = {i.day: i.kind for i in CAL.special_days(year) if not i.weekend}
    assert got == expected


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
def test_reference_holidays_on_weekends_are_listed_and_marked(year: int) -> None:
    expected = {
        date.fromisoformat(d)
        for d, _ in BAHIA_CORE_2024_2027
        if d.startswith(str(year)) and date.fromisoformat(d).weekday() >= 5
    }
    got = {i.day for i in CAL.special_days(year) if i.weekend}
    assert got == expected
    assert all(CAL.day_info(d).kind is CLOSED for d in got)


def test_reduced_reference_days_open_at_fourteen() -> None:
    for d, kind in BAHIA_CORE_2024_2027:
        if kind is REDUCED:
            info = CAL.day_info(date.fromisoformat(d))
            assert (info.name, info.open_from, info.open_until) == (
                "Quarta-feira de Cinzas",
                time(14),
                time(17),
            )


def test_two_holidays_on_one_date_are_listed_once_with_both_names() -> None:
    # Good Friday fell on Tiradentes (21 April) in 2000; `holidays` joins them with "; ".
    (info,) = [i for i in CAL.special_days(2000) if i.day == date(2000, 4, 21)]
    assert info.name == "Sexta-feira Santa / Tiradentes"
    assert info.source == "holidays (BR-BA)"


def test_special_days_have_one_entry_per_date_in_order() -> None:
    for year in (1900, 1999, 2000, 2028, 2100):
        days = [i.day for i in CAL.special_days(year)]
        assert days == sorted(set(days))
        assert all(d.year == year for d in days)


# --------------------------------------------------------------------------- Carnival and Easter

# Known Gregorian Easter Sundays, including the extremes (22 March, 25 April).
EASTERS = [
    (1900, "1900-04-15"),
    (1943, "1943-04-25"),
    (2000, "2000-04-23"),
    (2008, "2008-03-23"),
    (2024, "2024-03-31"),
    (2025, "2025-04-20"),
    (2026, "2026-04-05"),
    (2027, "2027-03-28"),
    (2028, "2028-04-16"),
    (2038, "2038-04-25"),
    (2100, "2100-03-28"),
    (2285, "2285-03-22"),
]


@pytest.mark.parametrize(("year", "expected"), EASTERS)
def test_easter_matches_known_dates(year: int, expected: str) -> None:
    assert easter(year) == date.fromisoformat(expected)


def test_easter_agrees_with_dateutil_from_1900_to_2100() -> None:
    dateutil_easter = pytest.importorskip("dateutil.easter")
    assert all(easter(y) == dateutil_easter.easter(y) for y in range(1900, 2101))


@pytest.mark.parametrize(
    ("monday", "tuesday", "wednesday"),
    [
        ("1900-02-26", "1900-02-27", "1900-02-28"),
        ("2008-02-04", "2008-02-05", "2008-02-06"),  # earliest Easter of the century
        ("2038-03-08", "2038-03-09", "2038-03-10"),  # latest Easter of the century
        ("2028-02-28", "2028-02-29", "2028-03-01"),  # Carnival Tuesday on a leap day
        ("2100-02-08", "2100-02-09", "2100-02-10"),
    ],
)
def test_carnival_and_ash_wednesday_follow_easter_in_any_year(
    monday: str, tuesday: str, wednesday: str
) -> None:
    mon, tue, wed = (CAL.day_info(date.fromisoformat(d)) for d in (monday, tuesday, wednesday))
    assert (mon.kind, mon.name) == (CLOSED, "Carnaval (segunda-feira)")
    assert (tue.kind, tue.name) == (CLOSED, "Carnaval (terça-feira)")
    assert (wed.kind, wed.name, wed.open_from) == (REDUCED, "Quarta-feira de Cinzas", time(14))


def test_carnival_can_be_configured_open() -> None:
    cal = OfficeCalendar(carnival_closed=False)
    assert cal.day_info(date(2026, 2, 16)).kind is FULL
    assert cal.day_info(date(2026, 2, 17)).kind is FULL
    assert cal.deadline(at("2026-02-13 11:00")) == at("2026-02-16 11:00")


def test_ash_wednesday_can_be_a_full_day_or_open_at_another_hour() -> None:
    full = OfficeCalendar(ash_wednesday_opens=None)
    noon = OfficeCalendar(ash_wednesday_opens=time(12))
    assert full.day_info(date(2026, 2, 18)).kind is FULL
    assert date(2026, 2, 18) not in {i.day for i in full.special_days(2026)}
    assert full.deadline(at("2026-02-17 10:00")) == at("2026-02-19 08:00")
    assert noon.open_interval(date(2026, 2, 18)) == (at("2026-02-18 12:00"), at("2026-02-18 17:00"))


# --------------------------------------------------------------------------- municipal and extra

# Reference §4.2, Salvador: closed or reduced weekdays.
SALVADOR_WEEKDAYS = {
    2024: "01/01 12/02 13/02 14/02 29/03 01/05 30/05 24/06 02/07 15/11 20/11 25/12",
    2025: "01/01 03/03 04/03 05/03 18/04 21/04 01/05 19/06 24/06 02/07 20/11 08/12 25/12",
    2026: "01/01 16/02 17/02 18/02 03/04 21/04 01/05 04/06 24/06 02/07 07/09 12/10 02/11 20/11 "
    "08/12 25/12",
    2027: "01/01 08/02 09/02 10/02 26/03 21/04 27/05 24/06 02/07 07/09 12/10 02/11 15/11 08/12",
}


@pytest.mark.parametrize(("year", "days"), sorted(SALVADOR_WEEKDAYS.items()))
def test_salvador_municipal_holidays_match_the_reference(year: int, days: str) -> None:
    cal = OfficeCalendar(municipal=SALVADOR)
    expected = {date(year, int(dm[3:]), int(dm[:2])) for dm in days.split()}
    assert {i.day for i in cal.special_days(year) if not i.weekend} == expected


def test_corpus_christi_is_easter_plus_sixty_and_closes_all_day() -> None:
    cal = OfficeCalendar(municipal=SALVADOR)
    info = cal.day_info(date(2026, 6, 4))
    assert (info.kind, info.name, info.source) == (CLOSED, "Corpus Christi", "municipal")
    assert cal.deadline(at("2026-06-03 10:00")) == at("2026-06-05 10:00")
    assert CAL.deadline(at("2026-06-03 10:00")) == at("2026-06-04 10:00")


def test_a_municipal_holiday_on_a_national_one_combines_names_and_sources() -> None:
    cal = OfficeCalendar(municipal=SALVADOR)
    info = cal.day_info(date(2026, 4, 3))
    assert info.name == "Sexta-feira Santa / Sexta-feira da Paixão"
    assert info.source == "holidays (BR-BA) / municipal"


def test_municipal_holiday_on_29_february_only_in_leap_years() -> None:
    cal = OfficeCalendar(municipal=[RecurringHoliday("Dia bissexto", month=2, day=29)])
    assert cal.day_info(date(2028, 2, 29)).name == "Carnaval (terça-feira) / Dia bissexto"
    assert cal.day_info(date(2032, 2, 29)).name == "Dia bissexto"
    assert [i.day for i in cal.special_days(2027) if i.name == "Dia bissexto"] == []


def test_municipal_easter_offset_can_cross_into_another_year() -> None:
    cal = OfficeCalendar(municipal=[RecurringHoliday("Muito depois", easter_offset=280)])
    # Easter 2026 is 5 April; + 280 days = 10 January 2027.
    assert cal.day_info(date(2027, 1, 10)).name == "Muito depois"
    assert date(2027, 1, 10) in {i.day for i in cal.special_days(2027)}


def test_extra_closure_without_hours_closes_the_day() -> None:
    cal = OfficeCalendar(extra=[Closure(date(2028, 3, 7), "Dedetização")])
    info = cal.day_info(date(2028, 3, 7))
    assert (info.kind, info.name, info.source) == (CLOSED, "Dedetização", "config")
    assert cal.receipt(at("2028-03-07 10:00")) == at("2028-03-08 08:00")
    assert cal.deadline(at("2028-03-06 10:15")) == at("2028-03-08 10:15")


@pytest.mark.parametrize(
    ("open_from", "open_until", "expected"),
    [
        (time(8), time(12), (time(8), time(12))),
        (time(10), None, (time(10), time(17))),
        (None, time(13), (time(8), time(13))),
    ],
)
def test_extra_closure_with_hours_makes_a_reduced_day(
    open_from: time | None, open_until: time | None, expected: tuple[time, time]
) -> None:
    cal = OfficeCalendar(
        extra=[Closure(date(2028, 3, 7), "Meio expediente", open_from, open_until)]
    )
    info = cal.day_info(date(2028, 3, 7))
    assert (info.kind, (info.open_from, info.open_until)) == (REDUCED, expected)
    # A reduced day is skipped at the end of the count: Mon 10:15 ends Wed 10:15.
    assert cal.deadline(at("2028-03-06 10:15")) == at("2028-03-08 10:15")


def test_extra_closure_with_hours_receives_only_inside_its_hours() -> None:
    cal = OfficeCalendar(extra=[Closure(date(2028, 3, 7), "Meio expediente", time(8), time(12))])
    assert cal.receipt(at("2028-03-07 11:59")) == at("2028-03-07 11:59")
    assert cal.receipt(at("2028-03-07 12:00")) == at("2028-03-08 08:00")
    assert cal.deadline(at("2028-03-07 11:59")) == at("2028-03-08 11:59")


def test_extra_closure_with_hours_on_a_holiday_opens_it() -> None:
    cal = OfficeCalendar(extra=[Closure(date(2026, 12, 25), "Plantão de Natal", time(8), time(12))])
    info = cal.day_info(date(2026, 12, 25))
    assert (info.kind, info.open_from, info.open_until) == (REDUCED, time(8), time(12))
    assert info.name == "Natal / Plantão de Natal"
    assert info.source == "holidays (BR-BA) / config"
    # Received on Christmas morning; Sat and Sun are closed: Mon 28 at the same clock time.
    assert cal.deadline(at("2026-12-25 09:00")) == at("2026-12-28 09:00")


def test_extra_closure_with_hours_on_a_saturday_opens_it() -> None:
    cal = OfficeCalendar(extra=[Closure(date(2028, 3, 4), "Mutirão", time(8), time(12))])
    info = cal.day_info(date(2028, 3, 4))
    assert (info.kind, info.weekend) == (REDUCED, True)
    assert cal.receipt(at("2028-03-03 17:30")) == at("2028-03-04 08:00")
    assert cal.deadline(at("2028-03-03 17:30")) == at("2028-03-06 08:00")
    assert date(2028, 3, 4) in {i.day for i in cal.special_days(2028)}


def test_extra_closure_without_hours_on_a_weekend_is_listed_and_marked() -> None:
    cal = OfficeCalendar(extra=[Closure(date(2028, 3, 4), "Inventário")])
    (info,) = [i for i in cal.special_days(2028) if i.day == date(2028, 3, 4)]
    assert (info.kind, info.name, info.weekend) == (CLOSED, "Inventário", True)


def test_several_extras_on_one_date_open_only_where_all_agree() -> None:
    both = OfficeCalendar(
        extra=[
            Closure(date(2028, 3, 7), "A", time(8), time(12)),
            Closure(date(2028, 3, 7), "B", time(10), time(15)),
        ]
    )
    closing = OfficeCalendar(
        extra=[Closure(date(2028, 3, 7), "A", time(8), time(12)), Closure(date(2028, 3, 7), "B")]
    )
    info = both.day_info(date(2028, 3, 7))
    assert (info.kind, info.open_from, info.open_until, info.name) == (
        REDUCED,
        time(10),
        time(12),
        "A / B",
    )
    assert closing.day_info(date(2028, 3, 7)).kind is CLOSED


# --------------------------------------------------------------------------- configuration guards


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "America/Nowhere"}, "unknown time zone"),
        ({"timezone": "America"}, "unknown time zone"),
        ({"opens": time(17), "closes": time(8)}, "must be after opens"),
        ({"workdays": frozenset({7})}, "workdays"),
        ({"ash_wednesday_opens": time(18)}, "ash_wednesday_opens"),
        ({"extra": [Closure(date(2028, 3, 7), "Tarde", time(13), time(18))]}, "inside 08:00-17:00"),
        ({"extra": [Closure(date(2028, 3, 7), "Vazio", time(12), time(12))]}, "non-empty"),
        ({"municipal": [RecurringHoliday("Nada")]}, "month and day or easter_offset"),
        ({"municipal": [RecurringHoliday("Dois", 6, 24, easter_offset=1)]}, "either"),
        ({"municipal": [RecurringHoliday("Mês", month=6)]}, "either"),
        ({"municipal": [RecurringHoliday("Impossível", month=2, day=30)]}, "no such date"),
    ],
)
def test_impossible_configuration_is_rejected_with_a_clear_message(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        OfficeCalendar(**kwargs)  # type: ignore[arg-type]


def test_a_calendar_that_is_never_open_raises_instead_of_looping() -> None:
    cal = OfficeCalendar(workdays=frozenset())
    with pytest.raises(ValueError, match="closes every day"):
        cal.receipt(at("2028-03-06 10:00"))


def test_a_calendar_with_only_reduced_days_has_no_deadline() -> None:
    saturday = date(2028, 3, 4)
    cal = OfficeCalendar(
        workdays=frozenset(), extra=[Closure(saturday, "Único", time(8), time(12))]
    )
    assert cal.receipt(at("2028-03-01 10:00")) == at("2028-03-04 08:00")
    with pytest.raises(ValueError, match="no full days"):
        cal.deadline(at("2028-03-01 10:00"))


def test_other_office_hours_and_workdays_are_respected() -> None:
    cal = OfficeCalendar(
        opens=time(9),
        closes=time(13),
        workdays=frozenset({0, 1, 2, 3, 4, 5}),
        ash_wednesday_opens=time(11),  # the default 14:00 would be after closing: rejected
    )
    assert cal.receipt(at("2028-03-06 13:00")) == at("2028-03-07 09:00")
    assert cal.deadline(at("2028-03-03 12:00")) == at("2028-03-04 12:00")  # Saturday works
    assert cal.day_info(date(2028, 3, 4)).weekend is False
    assert cal.day_info(date(2028, 3, 5)).weekend is True
    assert cal.open_interval(date(2028, 3, 1)) == (at("2028-03-01 11:00"), at("2028-03-01 13:00"))


def test_results_are_in_the_configured_time_zone() -> None:
    cal = OfficeCalendar(timezone="America/Sao_Paulo")
    result = cal.deadline(datetime(2028, 3, 6, 10, 15, tzinfo=timezone(timedelta(hours=-3))))
    assert result.tzinfo == ZoneInfo("America/Sao_Paulo")
    assert result.isoformat() == "2028-03-07T10:15:00-03:00"
