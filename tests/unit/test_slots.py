"""Slot choice (worker.slots) as literal tables on the real office calendar, plus a property test."""

from __future__ import annotations

import time as stopwatch
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.model import Closure, Period, Slot
from worker.officetime import OfficeCalendar
from worker.slots import (
    Agenda,
    SlotRequest,
    SlotRules,
    after_deadline,
    book_slot,
    check_manual_slot,
    choose_slots,
    horizon,
)

BAHIA = ZoneInfo("America/Bahia")
OFFICE = OfficeCalendar()
RULES = SlotRules()  # 30-min slots, 10-min buffer, 60-min lead, 8 a day, 10 days, 15-min grid
M, A, ANY = Period.MORNING, Period.AFTERNOON, Period.ANY


def at(text: str) -> datetime:
    """'2028-03-06 10:00' in America/Bahia."""
    return datetime.fromisoformat(text).replace(tzinfo=BAHIA)


def req(key: str, receipt: str, period: Period = ANY, deadline: str | None = None) -> SlotRequest:
    received = at(receipt)
    due = at(deadline) if deadline else received + timedelta(days=1)
    return SlotRequest(key=key, receipt=received, deadline=due, period=period)


def busy(*spans: str) -> list[tuple[datetime, datetime]]:
    """busy('2028-03-06 10:00/10:30') → one interval on that day."""
    out = []
    for span in spans:
        start, end = span.split("/")
        day = start.split(" ")[0]
        out.append((at(start), at(end if " " in end else f"{day} {end}")))
    return out


def starts(result: dict[str, Slot | None]) -> dict[str, str | None]:
    return {k: (None if s is None else f"{s.start:%Y-%m-%d %H:%M}") for k, s in result.items()}


def one(
    now: str,
    period: Period = ANY,
    *,
    busy_list=(),
    rules: SlotRules = RULES,
    office: OfficeCalendar = OFFICE,
) -> str | None:
    """The start chosen for a single request on a single calendar 'cal'."""
    agenda = Agenda(busy={"cal": list(busy_list)})
    result = choose_slots([req("r", now, period)], ["cal"], agenda, office, rules, at(now))
    return starts(result)["r"]


# --------------------------------------------------------------------------- closed days


@pytest.mark.parametrize(
    ("now", "expected", "why"),
    [
        ("2028-04-13 16:00", "2028-04-17 08:00", "Good Friday 14/04 and the weekend are skipped"),
        ("2027-07-01 16:00", "2027-07-05 08:00", "2 de Julho (Fri 02/07/2027) is skipped"),
        ("2029-06-29 16:00", "2029-07-03 08:00", "2 de Julho (Mon 02/07/2029) is skipped"),
        (
            "2028-02-25 16:00",
            "2028-03-01 14:00",
            "Carnival Mon/Tue closed, Ash Wednesday opens 14:00",
        ),
        ("2028-11-14 16:30", "2028-11-16 08:00", "15 de Novembro is skipped"),
        ("2028-03-04 10:00", "2028-03-06 08:00", "a Saturday request waits for Monday"),
    ],
)
def test_closed_days_are_skipped(now: str, expected: str, why: str) -> None:
    assert one(now) == expected, why


def test_a_2028_2_de_julho_falls_on_sunday_so_monday_is_open() -> None:
    assert one("2028-06-30 16:30") == "2028-07-03 08:00"


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (ANY, "2028-03-01 14:00"),
        (A, "2028-03-01 14:00"),
        (M, "2028-03-02 08:00"),  # Ash Wednesday has no morning
    ],
)
def test_ash_wednesday_offers_only_its_afternoon(period: Period, expected: str) -> None:
    assert one("2028-02-25 16:00", period) == expected


def test_ash_wednesday_fills_from_14_00_on_its_own_grid_then_thursday() -> None:
    requests = [req(f"r{i}", f"2028-02-25 16:0{i}") for i in range(5)]
    result = choose_slots(requests, ["cal"], Agenda(), OFFICE, RULES, at("2028-02-25 16:10"))
    assert starts(result) == {
        "r0": "2028-03-01 14:00",
        "r1": "2028-03-01 14:45",  # 14:30 + 10 min buffer = 14:40, next grid point 14:45
        "r2": "2028-03-01 15:30",
        "r3": "2028-03-01 16:15",  # ends 16:45; 17:00 would end past closing
        "r4": "2028-03-02 08:00",
    }


def test_a_reduced_day_from_config_anchors_the_grid_at_its_own_opening() -> None:
    office = OfficeCalendar(
        extra=[Closure(date(2028, 3, 7), "Ponto facultativo", time(9, 10), time(12))]
    )
    requests = [
        req("a", "2028-03-06 16:30"),
        req("b", "2028-03-06 16:31"),
        req("c", "2028-03-06 16:32", A),
    ]
    result = choose_slots(requests, ["cal"], Agenda(), office, RULES, at("2028-03-06 16:40"))
    assert starts(result) == {
        "a": "2028-03-07 09:10",
        "b": "2028-03-07 09:55",
        "c": "2028-03-08 12:00",  # the reduced day closes at 12:00: no afternoon
    }


# --------------------------------------------------------------------------- a full day


@pytest.mark.parametrize(
    ("busy_list", "expected"),
    [
        (busy("2028-03-06 08:00/17:00"), "2028-03-07 08:00"),
        (busy("2028-03-06 07:00/18:00"), "2028-03-07 08:00"),
        (busy("2028-03-06 08:00/12:00", "2028-03-06 12:00/16:45"), "2028-03-07 08:00"),
        (busy("2028-03-06 08:00/16:20"), "2028-03-06 16:30"),  # 16:20 + 10 → 16:30, ends 17:00
        (busy("2028-03-06 08:00/16:21"), "2028-03-07 08:00"),  # 16:31 → 16:45 would end 17:15
        (busy("2028-03-06 08:00/17:00", "2028-03-07 07:55/12:00"), "2028-03-07 12:15"),
    ],
)
def test_a_busy_day_pushes_to_the_next_free_time(busy_list, expected: str) -> None:
    assert one("2028-03-05 20:00", busy_list=busy_list) == expected


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("now", "period", "expected"),
    [
        ("2028-03-06 07:00", ANY, "2028-03-06 08:00"),
        ("2028-03-06 07:00", M, "2028-03-06 08:00"),
        ("2028-03-06 07:00", A, "2028-03-06 12:00"),
        ("2028-03-06 10:30", M, "2028-03-06 11:30"),
        ("2028-03-06 10:45", M, "2028-03-06 11:45"),  # Manhã: starts before 12:00, may end 12:15
        ("2028-03-06 11:00", M, "2028-03-07 08:00"),  # earliest 12:00 is Tarde
        ("2028-03-06 11:00", A, "2028-03-06 12:00"),
        ("2028-03-06 11:00", ANY, "2028-03-06 12:00"),
        ("2028-03-06 15:00", A, "2028-03-06 16:00"),
        ("2028-03-06 15:00", M, "2028-03-07 08:00"),
        ("2028-03-06 16:00", A, "2028-03-07 12:00"),
        ("2028-03-03 16:30", A, "2028-03-06 12:00"),  # Friday → Monday afternoon
    ],
)
def test_the_period_decides_where_the_slot_starts(now: str, period: Period, expected: str) -> None:
    assert one(now, period) == expected


def test_morning_afternoon_and_no_preference_share_one_calendar() -> None:
    requests = [
        req("manha", "2028-03-05 10:00", M),
        req("tarde", "2028-03-05 10:01", A),
        req("tanto-faz", "2028-03-05 10:02", ANY),
    ]
    result = choose_slots(requests, ["cal"], Agenda(), OFFICE, RULES, at("2028-03-06 07:00"))
    assert starts(result) == {
        "manha": "2028-03-06 08:00",
        "tarde": "2028-03-06 12:00",
        "tanto-faz": "2028-03-06 08:45",
    }


def test_a_morning_busy_until_noon_sends_manha_to_the_next_day() -> None:
    assert (
        one("2028-03-06 07:00", M, busy_list=busy("2028-03-06 08:00/11:40")) == "2028-03-07 08:00"
    )
    assert (
        one("2028-03-06 07:00", M, busy_list=busy("2028-03-06 08:00/11:35")) == "2028-03-06 11:45"
    )


# --------------------------------------------------------------------------- capacity


def test_max_per_day_moves_the_ninth_request_to_the_next_day() -> None:
    requests = [req(f"r{i}", f"2028-03-05 10:0{i}") for i in range(9)]
    result = choose_slots(requests, ["cal"], Agenda(), OFFICE, RULES, at("2028-03-05 20:00"))
    assert list(starts(result).values()) == [
        "2028-03-06 08:00",
        "2028-03-06 08:45",
        "2028-03-06 09:30",
        "2028-03-06 10:15",
        "2028-03-06 11:00",
        "2028-03-06 11:45",
        "2028-03-06 12:30",
        "2028-03-06 13:15",
        "2028-03-07 08:00",
    ]


@pytest.mark.parametrize(
    ("max_per_day", "already", "expected"),
    [
        (2, 0, ["2028-03-06 08:00", "2028-03-06 08:45", "2028-03-07 08:00"]),
        (2, 1, ["2028-03-06 08:00", "2028-03-07 08:00", "2028-03-07 08:45"]),
        (2, 2, ["2028-03-07 08:00", "2028-03-07 08:45", "2028-03-08 08:00"]),
        (8, 8, ["2028-03-07 08:00", "2028-03-07 08:45", "2028-03-07 09:30"]),
        (0, 0, [None, None, None]),
    ],
)
def test_capacity_counts_the_journal_bookings_of_the_day(
    max_per_day: int, already: int, expected: list[str | None]
) -> None:
    agenda = Agenda(booked_per_day={("cal", date(2028, 3, 6)): already} if already else {})
    requests = [req(f"r{i}", f"2028-03-05 10:0{i}") for i in range(3)]
    rules = SlotRules(max_per_day=max_per_day)
    result = choose_slots(requests, ["cal"], agenda, OFFICE, rules, at("2028-03-05 20:00"))
    assert list(starts(result).values()) == expected


def test_choose_slots_books_into_the_agenda() -> None:
    agenda = Agenda(busy={"cal": busy("2028-03-06 08:00/09:00")})
    result = choose_slots(
        [req("r", "2028-03-05 10:00")], ["cal"], agenda, OFFICE, RULES, at("2028-03-05 20:00")
    )
    assert result["r"] == Slot(at("2028-03-06 09:15"), at("2028-03-06 09:45"), "cal")
    assert agenda.busy["cal"] == [
        *busy("2028-03-06 08:00/09:00"),
        (at("2028-03-06 09:15"), at("2028-03-06 09:45")),
    ]
    assert agenda.booked_per_day == {("cal", date(2028, 3, 6)): 1}


# --------------------------------------------------------------------------- buffers


@pytest.mark.parametrize(
    ("busy_list", "buffer", "expected"),
    [
        (busy("2028-03-06 10:00/10:30"), 10, "2028-03-06 10:45"),  # 10:40 → grid 10:45
        (busy("2028-03-06 10:00/10:30"), 15, "2028-03-06 10:45"),  # exactly 10:45
        (busy("2028-03-06 10:00/10:30"), 16, "2028-03-06 11:00"),
        (busy("2028-03-06 10:00/10:30"), 0, "2028-03-06 10:30"),
        (busy("2028-03-06 10:40/11:00"), 10, "2028-03-06 11:15"),  # 10:30–11:00 ends 10 min late
        (busy("2028-03-06 11:10/12:00"), 10, "2028-03-06 10:30"),  # 10:30–11:00 + 10 = 11:10: fits
        (busy("2028-03-06 11:05/12:00"), 10, "2028-03-06 12:15"),
        (busy("2028-03-06 10:50/10:55", "2028-03-06 11:20/11:25"), 10, "2028-03-06 11:45"),
        (busy("2028-03-06 09:00/10:25"), 10, "2028-03-06 10:45"),  # 10:35 → 10:45
    ],
)
def test_busy_intervals_keep_a_buffer_on_both_sides(busy_list, buffer: int, expected: str) -> None:
    # now 09:30 + 60 min lead: the first candidate is 10:30.
    assert (
        one("2028-03-06 09:30", busy_list=busy_list, rules=SlotRules(buffer_minutes=buffer))
        == expected
    )


def test_the_buffer_before_opening_pushes_the_first_slot() -> None:
    assert one("2028-03-05 20:00", busy_list=busy("2028-03-06 07:00/08:00")) == "2028-03-06 08:15"
    assert one("2028-03-05 20:00", busy_list=busy("2028-03-06 08:40/09:00")) == "2028-03-06 08:00"
    assert one("2028-03-05 20:00", busy_list=busy("2028-03-06 08:35/09:00")) == "2028-03-06 09:15"


def test_busy_intervals_in_utc_and_unsorted_overlapping_are_understood() -> None:
    utc = UTC
    busy_list = [
        (
            datetime(2028, 3, 6, 14, 0, tzinfo=utc),
            datetime(2028, 3, 6, 14, 30, tzinfo=utc),
        ),  # 11:00–11:30
        (
            datetime(2028, 3, 6, 13, 0, tzinfo=utc),
            datetime(2028, 3, 6, 13, 30, tzinfo=utc),
        ),  # 10:00–10:30
        (
            datetime(2028, 3, 6, 13, 15, tzinfo=utc),
            datetime(2028, 3, 6, 13, 45, tzinfo=utc),
        ),  # 10:15–10:45
    ]
    assert one("2028-03-06 09:30", busy_list=busy_list) == "2028-03-06 11:45"


# --------------------------------------------------------------------------- lead time


@pytest.mark.parametrize(
    ("now", "lead", "expected"),
    [
        ("2028-03-06 10:00", 60, "2028-03-06 11:00"),
        ("2028-03-06 09:50", 60, "2028-03-06 11:00"),
        ("2028-03-06 09:00:01", 60, "2028-03-06 10:15"),
        ("2028-03-06 10:00", 0, "2028-03-06 10:00"),
        ("2028-03-06 10:00", 120, "2028-03-06 12:00"),
        ("2028-03-06 15:30", 60, "2028-03-06 16:30"),  # ends exactly at 17:00
        ("2028-03-06 15:31", 60, "2028-03-07 08:00"),
        ("2028-03-06 16:10", 60, "2028-03-07 08:00"),
        ("2028-03-06 07:30", 60, "2028-03-06 08:30"),
        ("2028-03-05 23:30", 60, "2028-03-06 08:00"),
    ],
)
def test_a_slot_starts_at_least_the_lead_time_after_now(now: str, lead: int, expected: str) -> None:
    assert one(now, rules=SlotRules(lead_minutes=lead)) == expected


# --------------------------------------------------------------------------- deadline


@pytest.mark.parametrize(
    ("busy_list", "deadline", "expected", "late"),
    [
        ([], "2028-03-07 10:00", "2028-03-06 11:00", False),
        (
            busy("2028-03-06 10:00/17:00", "2028-03-07 08:00/09:20"),
            "2028-03-07 10:00",
            "2028-03-07 09:30",
            False,
        ),
        (
            busy("2028-03-06 10:00/17:00", "2028-03-07 08:00/09:50"),
            "2028-03-07 10:00",
            "2028-03-07 10:00",
            True,
        ),
        (
            busy("2028-03-06 10:00/17:00", "2028-03-07 08:00/12:00"),
            "2028-03-07 10:00",
            "2028-03-07 12:15",
            True,
        ),
    ],
)
def test_the_earliest_slot_is_before_the_deadline_when_any_is_else_the_first_after(
    busy_list, deadline: str, expected: str, late: bool
) -> None:
    agenda = Agenda(busy={"cal": list(busy_list)})
    request = req("r", "2028-03-06 10:00", deadline=deadline)
    slot = choose_slots([request], ["cal"], agenda, OFFICE, RULES, at("2028-03-06 10:00"))["r"]
    assert slot is not None
    assert f"{slot.start:%Y-%m-%d %H:%M}" == expected
    assert after_deadline(slot, request) is late


# --------------------------------------------------------------------------- calendars and load


@pytest.mark.parametrize(
    ("booked", "busy_by_cal", "expected"),
    [
        # fewest bookings that day wins the 08:00 tie; then the earliest start beats load
        (
            {("ana", date(2028, 3, 6)): 3, ("bia", date(2028, 3, 6)): 1},
            {},
            [("bia", "08:00"), ("ana", "08:00"), ("bia", "08:45")],
        ),
        # equal that day: fewest overall in the agenda
        (
            {("ana", date(2028, 3, 9)): 5},
            {},
            [("bia", "08:00"), ("ana", "08:00"), ("bia", "08:45")],
        ),
        # all equal: calendar order
        ({}, {}, [("ana", "08:00"), ("bia", "08:00"), ("ana", "08:45")]),
        # the earliest start wins over load
        (
            {("ana", date(2028, 3, 6)): 6},
            {"bia": busy("2028-03-06 08:00/09:00")},
            [("ana", "08:00"), ("ana", "08:45"), ("bia", "09:15")],
        ),
    ],
)
def test_two_calendars_share_the_work_by_least_load(booked, busy_by_cal, expected) -> None:
    agenda = Agenda(busy=dict(busy_by_cal), booked_per_day=dict(booked))
    requests = [req(f"r{i}", f"2028-03-05 10:0{i}") for i in range(3)]
    result = choose_slots(requests, ["ana", "bia"], agenda, OFFICE, RULES, at("2028-03-05 20:00"))
    got = [(s.calendar_id, f"{s.start:%H:%M}") for s in result.values() if s is not None]
    assert got == expected
    assert all(s is not None and s.start.date() == date(2028, 3, 6) for s in result.values())


def test_no_calendars_means_no_slot() -> None:
    result = choose_slots(
        [req("r", "2028-03-05 10:00")], [], Agenda(), OFFICE, RULES, at("2028-03-05 20:00")
    )
    assert result == {"r": None}


# --------------------------------------------------------------------------- horizon


def test_horizon_is_now_to_now_plus_horizon_days() -> None:
    assert horizon(at("2028-03-06 10:00"), RULES) == (
        at("2028-03-06 10:00"),
        at("2028-03-16 10:00"),
    )
    assert horizon(at("2028-03-06 10:00"), SlotRules(horizon_days=1))[1] == at("2028-03-07 10:00")


@pytest.mark.parametrize(
    ("now", "horizon_days", "busy_list", "expected"),
    [
        ("2028-04-13 16:00", 1, [], [None]),  # Good Friday fills the whole window
        ("2028-04-13 16:00", 4, [], ["2028-04-17 08:00"]),
        # the window ends Tue 10:00; a slot must end, buffer included, by then
        (
            "2028-03-06 10:00",
            1,
            busy("2028-03-06 10:00/17:00"),
            ["2028-03-07 08:00", "2028-03-07 08:45", None],
        ),
        (
            "2028-03-06 10:00",
            1,
            busy("2028-03-06 10:00/17:00", "2028-03-07 08:00/09:00"),
            ["2028-03-07 09:15", None, None],
        ),
        ("2028-03-06 10:00", 10, busy("2028-03-06 00:00/2028-03-17 00:00"), [None, None, None]),
    ],
)
def test_nothing_free_within_the_horizon_gives_none(
    now: str, horizon_days: int, busy_list, expected: list[str | None]
) -> None:
    agenda = Agenda(busy={"cal": list(busy_list)})
    requests = [req(f"r{i}", f"2028-03-01 10:0{i}") for i in range(len(expected))]
    rules = SlotRules(horizon_days=horizon_days)
    assert (
        list(starts(choose_slots(requests, ["cal"], agenda, OFFICE, rules, at(now))).values())
        == expected
    )


# --------------------------------------------------------------------------- receipt order


def test_an_earlier_received_request_gets_the_earlier_slot_even_if_listed_second() -> None:
    requests = [req("late", "2028-03-05 11:00"), req("early", "2028-03-05 09:00")]
    result = choose_slots(requests, ["cal"], Agenda(), OFFICE, RULES, at("2028-03-05 20:00"))
    assert starts(result) == {"early": "2028-03-06 08:00", "late": "2028-03-06 08:45"}


def test_receipt_ties_are_broken_by_key() -> None:
    requests = [
        req("BV-2028-000002", "2028-03-05 09:00"),
        req("BV-2028-000001", "2028-03-05 09:00"),
    ]
    result = choose_slots(requests, ["cal"], Agenda(), OFFICE, RULES, at("2028-03-05 20:00"))
    assert starts(result) == {
        "BV-2028-000001": "2028-03-06 08:00",
        "BV-2028-000002": "2028-03-06 08:45",
    }


def test_a_period_request_does_not_block_an_earlier_slot_for_later_ones() -> None:
    requests = [req("r1", "2028-03-05 09:00", A), req("r2", "2028-03-05 09:01", M)]
    result = choose_slots(requests, ["cal"], Agenda(), OFFICE, RULES, at("2028-03-05 20:00"))
    assert starts(result) == {"r1": "2028-03-06 12:00", "r2": "2028-03-06 08:00"}


# --------------------------------------------------------------------------- manual mode


OUT = "Fora do horário de atendimento"
PAST = "Data/hora no passado"
CONFLICT = "Conflita com outro compromisso"
LIMIT = "Limite diário de atendimentos atingido"
SUN_EVE = "2028-03-05 20:00"
MON = date(2028, 3, 6)
ANA_10_BIA_1030 = {"ana": busy("2028-03-06 10:00/10:30"), "bia": busy("2028-03-06 10:30/11:00")}
ANA_MORNING = {"ana": busy("2028-03-06 09:00/12:00")}


@pytest.mark.parametrize(
    ("typed", "now", "busy_by_cal", "booked", "expected"),
    [
        ("2028-03-06 10:00", SUN_EVE, {}, {}, ("ana", "2028-03-06 10:00")),
        ("2028-03-06 10:10", SUN_EVE, {}, {}, ("ana", "2028-03-06 10:10")),  # off-grid: fine
        ("2028-03-06 10:00", "2028-03-06 09:30", {}, {}, ("ana", "2028-03-06 10:00")),  # no lead
        ("2028-03-06 09:00", "2028-03-06 10:00", {}, {}, PAST),
        ("2028-03-06 07:30", SUN_EVE, {}, {}, OUT),
        ("2028-03-06 16:45", SUN_EVE, {}, {}, OUT),  # would end 17:15
        ("2028-03-06 16:30", SUN_EVE, {}, {}, ("ana", "2028-03-06 16:30")),
        ("2028-03-04 10:00", "2028-03-01 20:00", {}, {}, OUT),  # Saturday
        ("2028-04-14 10:00", "2028-04-10 20:00", {}, {}, OUT),  # Good Friday
        ("2028-02-28 10:00", "2028-02-25 20:00", {}, {}, OUT),  # Carnival Monday
        ("2028-03-01 10:00", "2028-02-25 20:00", {}, {}, OUT),  # Ash Wednesday morning
        ("2028-03-01 14:00", "2028-02-25 20:00", {}, {}, ("ana", "2028-03-01 14:00")),
        ("2028-03-06 10:35", SUN_EVE, ANA_10_BIA_1030, {}, CONFLICT),  # both within 10 min
        ("2028-03-06 10:40", SUN_EVE, ANA_10_BIA_1030, {}, ("ana", "2028-03-06 10:40")),
        ("2028-03-06 10:00", SUN_EVE, ANA_MORNING, {}, ("bia", "2028-03-06 10:00")),
        ("2028-03-06 10:00", SUN_EVE, {}, {("ana", MON): 8, ("bia", MON): 8}, LIMIT),
        ("2028-03-06 10:00", SUN_EVE, ANA_MORNING, {("bia", MON): 8}, LIMIT),  # free one is full
        ("2028-03-06 10:00", SUN_EVE, {}, {("ana", MON): 2}, ("bia", "2028-03-06 10:00")),
    ],
)
def test_manual_check_books_a_typed_time_or_says_why_not(
    typed, now, busy_by_cal, booked, expected
) -> None:
    agenda = Agenda(busy=dict(busy_by_cal), booked_per_day=dict(booked))
    got = check_manual_slot(at(typed), ["ana", "bia"], agenda, OFFICE, RULES, at(now))
    if isinstance(expected, str):
        assert got == expected
    else:
        cal, start = expected
        assert got == Slot(at(start), at(start) + timedelta(minutes=30), cal)


def test_manual_check_books_so_the_same_time_twice_fills_then_conflicts() -> None:
    agenda = Agenda()
    now = at("2028-03-05 20:00")
    first = check_manual_slot(at("2028-03-06 10:00"), ["ana"], agenda, OFFICE, RULES, now)
    second = check_manual_slot(at("2028-03-06 10:00"), ["ana"], agenda, OFFICE, RULES, now)
    assert isinstance(first, Slot)
    assert second == "Conflita com outro compromisso"
    assert agenda.booked_per_day == {("ana", date(2028, 3, 6)): 1}


def test_manual_check_without_booking_leaves_the_agenda_alone() -> None:
    agenda = Agenda()
    got = check_manual_slot(
        at("2028-03-06 10:00"), ["ana"], agenda, OFFICE, RULES, at("2028-03-05 20:00"), book=False
    )
    assert isinstance(got, Slot)
    assert agenda == Agenda()


def test_book_slot_records_an_outside_booking_that_choose_slots_then_avoids() -> None:
    agenda = Agenda()
    book_slot(agenda, Slot(at("2028-03-06 08:00"), at("2028-03-06 08:30"), "cal"), OFFICE)
    result = choose_slots(
        [req("r", "2028-03-05 10:00")], ["cal"], agenda, OFFICE, RULES, at("2028-03-05 20:00")
    )
    assert starts(result) == {"r": "2028-03-06 08:45"}
    assert agenda.booked_per_day == {("cal", date(2028, 3, 6)): 2}


# --------------------------------------------------------------------------- misuse


def test_naive_datetimes_and_duplicate_keys_are_refused() -> None:
    naive = datetime(2028, 3, 6, 10, 0)
    with pytest.raises(ValueError, match="aware"):
        choose_slots([], ["cal"], Agenda(), OFFICE, RULES, naive)
    with pytest.raises(ValueError, match="aware"):
        check_manual_slot(naive, ["cal"], Agenda(), OFFICE, RULES, at("2028-03-05 20:00"))
    with pytest.raises(ValueError, match="aware"):
        choose_slots(
            [],
            ["cal"],
            Agenda(busy={"cal": [(naive, naive)]}),
            OFFICE,
            RULES,
            at("2028-03-05 20:00"),
        )
    with pytest.raises(ValueError, match="duplicate"):
        choose_slots(
            [req("r", "2028-03-05 10:00"), req("r", "2028-03-05 11:00")],
            ["cal"],
            Agenda(),
            OFFICE,
            RULES,
            at("2028-03-05 20:00"),
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"slot_minutes": 0},
        {"granularity_minutes": 0},
        {"buffer_minutes": -1},
        {"lead_minutes": -5},
        {"max_per_day": -1},
        {"horizon_days": -1},
    ],
)
def test_rules_refuse_impossible_values(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        SlotRules(**bad)


# --------------------------------------------------------------------------- properties


def reference_choice(requests, calendars, agenda, office, rules, now):
    """A deliberately naive oracle: every grid point, every busy interval, no cleverness."""
    busy_of = {c: list(agenda.busy.get(c, [])) for c in calendars}
    per_day = dict(agenda.booked_per_day)
    slot, buf, step = rules.slot, rules.buffer, rules.granularity
    window_end = now + timedelta(days=rules.horizon_days)
    midnight = datetime.combine(now.astimezone(BAHIA).date(), time(0), BAHIA)
    intervals = office.open_intervals(midnight, window_end)
    out = {}
    for r in sorted(requests, key=lambda r: (r.receipt, r.key)):
        options = []
        for order, cal in enumerate(calendars):
            for a, b in intervals:
                s = a
                while s + slot <= b:
                    ok = (
                        s >= now + timedelta(minutes=rules.lead_minutes)
                        and s + slot + buf <= window_end
                        and (r.period is not M or s.time() < time(12))
                        and (r.period is not A or s.time() >= time(12))
                        and per_day.get((cal, s.date()), 0) < rules.max_per_day
                        and all(
                            not (bs - buf < s + slot and s < be + buf) for bs, be in busy_of[cal]
                        )
                    )
                    if ok:
                        total = sum(n for (c, _), n in per_day.items() if c == cal)
                        options.append((s, per_day.get((cal, s.date()), 0), total, order, cal))
                        break
                    s += step
                if options and options[-1][4] == cal:
                    break
        if not options:
            out[r.key] = None
            continue
        s, *_, cal = min(options)
        out[r.key] = Slot(s, s + slot, cal)
        busy_of[cal].append((s, s + slot))
        per_day[(cal, s.date())] = per_day.get((cal, s.date()), 0) + 1
    return out


@st.composite
def scenarios(draw):
    now = at("2028-02-23 06:00") + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
    calendars = ["ana", "bia", "caio"][: draw(st.integers(1, 3))]
    busy_by_cal = {}
    for cal in calendars:
        spans = []
        for _ in range(draw(st.integers(0, 25))):
            start = now + timedelta(minutes=draw(st.integers(-600, 11 * 24 * 60)))
            spans.append((start, start + timedelta(minutes=draw(st.integers(1, 300)))))
        busy_by_cal[cal] = spans
    booked = {}
    for cal in calendars:
        for offset in draw(st.lists(st.integers(0, 10), max_size=4)):
            day = (now + timedelta(days=offset)).date()
            booked[(cal, day)] = booked.get((cal, day), 0) + 1
    requests = [
        SlotRequest(
            key=f"BV-2028-{i:06d}",
            receipt=now - timedelta(minutes=draw(st.integers(0, 3000))),
            deadline=now + timedelta(hours=draw(st.integers(0, 96))),
            period=draw(st.sampled_from([M, A, ANY])),
        )
        for i in range(30)
    ]
    rules = SlotRules(
        slot_minutes=draw(st.sampled_from([20, 30, 45])),
        buffer_minutes=draw(st.sampled_from([0, 10, 15])),
        lead_minutes=draw(st.sampled_from([0, 60])),
        max_per_day=draw(st.integers(1, 8)),
        horizon_days=draw(st.integers(1, 10)),
        granularity_minutes=draw(st.sampled_from([10, 15, 30])),
    )
    return now, calendars, busy_by_cal, booked, requests, rules


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_chosen_slots_respect_hours_busy_buffers_capacity_and_each_other(scenario) -> None:
    now, calendars, busy_by_cal, booked, requests, rules = scenario
    agenda = Agenda(busy={c: list(v) for c, v in busy_by_cal.items()}, booked_per_day=dict(booked))
    result = choose_slots(requests, calendars, agenda, OFFICE, rules, now)

    buf, step = rules.buffer, rules.granularity
    window_end = now + timedelta(days=rules.horizon_days)
    midnight = datetime.combine(now.date(), time(0), BAHIA)
    intervals = OFFICE.open_intervals(midnight, window_end + timedelta(days=1))
    by_key = {r.key: r for r in requests}
    chosen = [s for s in result.values() if s is not None]
    for key, s in result.items():
        if s is None:
            continue
        assert s.end - s.start == rules.slot
        assert s.start >= now + rules.lead and s.end + buf <= window_end
        assert any(
            a <= s.start and s.end <= b and (s.start - a) % step == timedelta(0)
            for a, b in intervals
        )
        period = by_key[key].period
        assert period is not M or s.start.time() < time(12)
        assert period is not A or s.start.time() >= time(12)
        for bs, be in busy_by_cal.get(s.calendar_id, []):
            assert not (bs - buf < s.end and s.start < be + buf), (s, bs, be)
    for i, s in enumerate(chosen):
        for t in chosen[i + 1 :]:
            if s.calendar_id == t.calendar_id:
                assert s.end + buf <= t.start or t.end + buf <= s.start, (s, t)
    for (cal, day), n in agenda.booked_per_day.items():
        assert n <= max(rules.max_per_day, booked.get((cal, day), 0))
        assert n - booked.get((cal, day), 0) == sum(
            1 for s in chosen if s.calendar_id == cal and s.start.date() == day
        )

    fresh = Agenda(busy={c: list(v) for c, v in busy_by_cal.items()}, booked_per_day=dict(booked))
    assert result == reference_choice(requests, calendars, fresh, OFFICE, rules, now)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenarios(),
    st.integers(40, 140),
    st.lists(st.sampled_from([M, A, ANY]), min_size=1, max_size=3),
)
def test_a_backlog_that_fills_the_horizon_gets_the_same_slots_as_the_naive_oracle(
    scenario, n: int, periods: list[Period]
) -> None:
    # choose_slots resumes each calendar's search where it found the last slot; with more
    # requests than free slots every calendar runs out, so resuming and giving up are both
    # compared with the oracle that rescans every grid point for every request.
    now, calendars, busy_by_cal, booked, _, rules = scenario
    rules = SlotRules(
        slot_minutes=rules.slot_minutes, buffer_minutes=rules.buffer_minutes,
        lead_minutes=rules.lead_minutes, max_per_day=rules.max_per_day * 3,
        horizon_days=min(rules.horizon_days, 4), granularity_minutes=rules.granularity_minutes,
    )
    requests = [
        SlotRequest(f"BV-2028-{i:06d}", now - timedelta(minutes=n - i), now + timedelta(days=1),
                    periods[i % len(periods)])
        for i in range(n)
    ]
    agenda = Agenda(busy={c: list(v) for c, v in busy_by_cal.items()}, booked_per_day=dict(booked))
    result = choose_slots(requests, calendars, agenda, OFFICE, rules, now)
    fresh = Agenda(busy={c: list(v) for c, v in busy_by_cal.items()}, booked_per_day=dict(booked))
    assert result == reference_choice(requests, calendars, fresh, OFFICE, rules, now)


# --------------------------------------------------------------------------- efficiency


def test_a_tick_of_200_requests_on_a_busy_ten_day_horizon_is_fast() -> None:
    now = at("2028-03-06 07:00")
    calendars = ["ana", "bia", "caio"]
    busy_by_cal = {
        cal: [
            (now + timedelta(minutes=m), now + timedelta(minutes=m + 20))
            for m in range(17 * i, 10 * 24 * 60, 95)
        ]
        for i, cal in enumerate(calendars)
    }
    requests = [req(f"BV-2028-{i:06d}", "2028-03-05 10:00", [M, A, ANY][i % 3]) for i in range(200)]
    agenda = Agenda(busy=busy_by_cal)
    began = stopwatch.perf_counter()
    result = choose_slots(requests, calendars, agenda, OFFICE, SlotRules(max_per_day=20), now)
    elapsed = stopwatch.perf_counter() - began
    assert sum(s is not None for s in result.values()) > 100
    assert elapsed < 2.0, elapsed
