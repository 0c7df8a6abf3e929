"""The pure planners of a tick (claims, booking, write-back) with literal tables; time is a parameter, no fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from worker import intake, slots, texts
from worker.model import Channel, FormAnswers, ParsedRow, Period, RequestRecord, RowProblem, Slot
from worker.officetime import OfficeCalendar
from worker.planners import booking, claims, writeback
from worker.planners.actions import Book, Flag

BAHIA = ZoneInfo("America/Bahia")
MON = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)
OFFICE = OfficeCalendar()
RULES = slots.SlotRules()
CALS = ["agenda@cartorio.example"]


def row(n: int, minutes: int, fp: str = "fp", email: str = "ana@example.com",
        problems: tuple[RowProblem, ...] = ()) -> ParsedRow:
    answers = FormAnswers(email, "Ana", "+5571998765432", Channel.MEET, "Escritura", "x",
                          Period.ANY, True)
    return ParsedRow(n, MON + timedelta(minutes=minutes), None if problems else answers,
                     problems, fp, None, raw_email=email)


def ctx(next_seq: int = 1, open_per_email: dict[str, int] | None = None,
        priors: list[claims.Prior] | None = None) -> claims.IntakeContext:
    return claims.IntakeContext(next_seq, timedelta(minutes=30), 3,
                                dict(open_per_email or {}), list(priors or []))


# rows (row, minutes after MON, fingerprint, e-mail, problems) → (protocol, status, problem, dup)
CLAIM_TABLE = [
    ("one valid row", [row(2, 0)], ctx(),
     [("BV-2028-000001", "Pendente", "", None)]),
    ("protocols follow submission order, not row order", [row(2, 5, "a"), row(3, 1, "b")], ctx(7),
     [("BV-2028-000008", "Pendente", "", None), ("BV-2028-000007", "Pendente", "", None)]),
    ("same answers within the window: duplicate", [row(2, 0), row(3, 10)], ctx(),
     [("BV-2028-000001", "Pendente", "", None),
      ("BV-2028-000002", "Duplicado", "duplicate", "BV-2028-000001")]),
    ("same answers after the window: a new request", [row(2, 0), row(3, 31)], ctx(),
     [("BV-2028-000001", "Pendente", "", None), ("BV-2028-000002", "Pendente", "", None)]),
    ("a duplicate of a request the journal knows", [row(2, 0)],
     ctx(5, priors=[claims.Prior("BV-2028-000004", "fp", MON - timedelta(minutes=10))]),
     [("BV-2028-000005", "Duplicado", "duplicate", "BV-2028-000004")]),
    ("an address with three open requests: flagged, no e-mail", [row(2, 0)],
     ctx(open_per_email={"ana@example.com": 3}),
     [("BV-2028-000001", "Requer atenção", "too_many_open", None)]),
    ("a row with problems still gets a protocol", [row(2, 0, problems=(RowProblem("name", "Falta o nome"),))],
     ctx(), [("BV-2028-000001", "Requer atenção", "name", None)]),
]


@pytest.mark.parametrize(("why", "rows", "context", "expected"), CLAIM_TABLE,
                         ids=[c[0] for c in CLAIM_TABLE])
def test_claims_follow_the_table(why: str, rows: list, context: claims.IntakeContext,
                                 expected: list) -> None:
    out = claims.classify_new(rows, context, MON)
    by_row = sorted(out, key=lambda d: d.row.row)
    assert [(d.protocol, d.status.value, d.problem, d.duplicate_of) for d in by_row] == expected


def test_the_per_address_limit_counts_requests_taken_in_the_same_tick() -> None:
    out = claims.classify_new([row(i, i, f"fp{i}") for i in range(2, 6)], ctx(), MON)
    assert [d.problem for d in out] == ["", "", "", "too_many_open"]
    assert texts.REASON_TOO_MANY.format(limit=3) == out[-1].reason


REC = RequestRecord(
    protocol="BV-2028-000001", seq=1, fingerprint="f", submitted=MON.isoformat(), ts_key="1",
    received_at=MON.isoformat(), deadline=(MON + timedelta(days=1)).isoformat(),
    status="Recebido", channel="meet", period="any",
)


@pytest.mark.parametrize(
    ("cell", "fields", "expected"),
    [
        (None, {}, None),
        ("", {}, None),
        ("amanhã cedo", {}, booking.StaffTime(None, error=texts.REASON_BAD_STAFF_TIME)),
        ("amanhã cedo", {"reason": texts.REASON_BAD_STAFF_TIME}, None),  # already said
        (46819.5, {"manual_serial": 46819.5}, None),  # balcao's own value
        (46819.5, {"staff_serial": 46819.5}, None),  # already judged
        (46819.5, {}, booking.StaffTime(46819.5, datetime(2028, 3, 7, 12, 0, tzinfo=BAHIA))),
    ],
)
def test_staff_time_reads_only_new_staff_values(cell: object, fields: dict, expected: object) -> None:
    assert booking.staff_time(replace(REC, **fields), cell, "America/Bahia") == expected


def test_booking_gives_slots_in_receipt_order_and_flags_what_cannot_be_booked() -> None:
    a = replace(REC, protocol="BV-2028-000001")
    b = replace(REC, protocol="BV-2028-000002", submitted=(MON + timedelta(minutes=1)).isoformat())
    agenda = slots.Agenda()
    out = booking.plan_booking([a, b], {}, agenda, office=OFFICE, rules=RULES, calendars=CALS,
                               now=MON)
    assert [type(x) for x in out] == [Book, Book]
    first, second = (x.slot for x in out if isinstance(x, Book))
    assert first.start == MON + timedelta(minutes=60)  # lead time from now
    assert second.start >= first.end + timedelta(minutes=RULES.buffer_minutes)
    full = slots.Agenda(busy={CALS[0]: [(MON, MON + timedelta(days=30))]})
    out = booking.plan_booking([a], {}, full, office=OFFICE, rules=RULES, calendars=CALS, now=MON)
    assert out == [Flag("BV-2028-000001", "no_slot")]


def test_booking_checks_a_staff_typed_time_like_a_manual_booking() -> None:
    good = booking.StaffTime(1.0, MON + timedelta(hours=4))  # Monday 14:00
    sunday = booking.StaffTime(2.0, datetime(2028, 3, 12, 10, 0, tzinfo=BAHIA))
    bad_text = booking.StaffTime(None, error=texts.REASON_BAD_STAFF_TIME)
    out = booking.plan_booking(
        [], {"P1": good, "P2": sunday, "P3": bad_text}, slots.Agenda(), office=OFFICE,
        rules=RULES, calendars=CALS, now=MON,
    )
    assert out[0] == Book("P1", Slot(MON + timedelta(hours=4), MON + timedelta(hours=4, minutes=30),
                                     CALS[0]), 1.0)
    assert isinstance(out[1], Flag) and out[1].problem == "manual_invalid"
    assert out[1].reason == slots.REASON_OUTSIDE_HOURS and out[1].staff_serial == 2.0
    assert out[2] == Flag("P3", "manual_invalid", texts.REASON_BAD_STAFF_TIME, None)


START = datetime(2028, 3, 7, 9, 0, tzinfo=BAHIA)


@pytest.mark.parametrize(
    ("fields", "mode", "appointment", "link"),
    [
        ({}, "auto", "", ""),
        ({}, "manual", None, ""),  # staff type there: never overwritten
        ({"slot_start": START.isoformat(), "event_state": "created", "meet_link": "https://meet.google.com/a"},
         "auto", intake.datetime_to_serial(START, "America/Bahia"), "https://meet.google.com/a"),
        ({"slot_start": START.isoformat(), "event_state": "created", "channel": "whatsapp"},
         "auto", intake.datetime_to_serial(START, "America/Bahia"), "WhatsApp"),
        ({"slot_start": START.isoformat(), "event_state": "cancelled"}, "auto", "", ""),
    ],
)
def test_owned_values_show_dates_as_serials_and_never_touch_staff_cells(
    fields: dict, mode: str, appointment: object, link: str
) -> None:
    v = writeback.owned_values(replace(REC, **fields), mode, "America/Bahia")
    assert v.appointment == appointment and v.link == link
    assert v.deadline == intake.datetime_to_serial(MON + timedelta(days=1), "America/Bahia")


def test_owned_values_never_write_text_as_a_formula_and_cells_skip_unmapped_columns() -> None:
    v = writeback.owned_values(replace(REC, reason="=HYPERLINK(\"x\")"), "auto", "America/Bahia")
    assert not v.note.startswith("=")
    cells = list(writeback.cells(5, v, {"Protocolo": 9, "Situação": 10}, 46818.0))
    assert [(c.row, c.column, c.value) for c in cells] == [
        (5, 10, "BV-2028-000001"), (5, 11, "Recebido")]


def test_an_erased_request_is_never_acted_on_by_staff_choices_or_calendar_changes() -> None:
    from worker.model import EventChange
    from worker.planners import staff

    erased = replace(REC, erasure_id=1, event_state="created", slot_start=MON.isoformat(),
                     slot_end=(MON + timedelta(minutes=30)).isoformat(), status="Agendado")
    assert staff.plan_sheet(erased, "Cancelar", None, now=MON, mode="auto",
                            sheet_tz="America/Bahia", no_show_email=True) is None
    gone = EventChange("e1", "primary", "cancelled")
    assert staff.plan_calendar(erased, gone, found_elsewhere=None) is None
    live = replace(erased, erasure_id=None)
    assert staff.plan_calendar(live, gone, found_elsewhere=None) == staff.Deleted(
        "BV-2028-000001", confirmed=False)


BOOKED_REC = replace(
    REC, status="Agendado", shown_status="Agendado", event_state="created", conf_state="sent",
    ack_state="", calendar_id="primary", event_id="e1",
    slot_start=(MON + timedelta(days=1)).isoformat(),
    slot_end=(MON + timedelta(days=1, minutes=30)).isoformat(),
)


def _plan(cell: object, appt: object = None, now: datetime = MON, mode: str = "auto",
          **fields: object) -> object:
    from worker.planners import staff

    return staff.plan_sheet(replace(BOOKED_REC, **fields), cell, appt, now=now, mode=mode,
                            sheet_tz="America/Bahia", no_show_email=True)


def test_staff_choices_in_situacao_follow_the_lifecycle_table() -> None:
    from worker.planners import staff

    p = "BV-2028-000001"
    after = MON + timedelta(days=1, minutes=40)
    assert _plan("Cancelar") == staff.Cancel(p, notify=True, seen="cancelar@Agendado")
    assert _plan("cancelado") == staff.Cancel(p, notify=True, seen="cancelado@Agendado")
    assert _plan("Remarcar") == staff.Reschedule(p, seen="remarcar@Agendado")
    assert _plan("Remarcar", mode="manual") == staff.Note(
        p, texts.REASON_TYPE_NEW_TIME, "remarcar@Agendado", status=staff.Status.BOOKED)
    assert _plan("Realizado") == staff.Finish(p, staff.Status.DONE, False, "realizado@Agendado")
    assert _plan("Não compareceu", now=after) == staff.Finish(
        p, staff.Status.NO_SHOW, True, "nao compareceu@Agendado")
    # Refusals: before the start; on a duplicate; on a final row.
    assert _plan("Não compareceu") == staff.Note(
        p, "Ação não aplicável: solicitação Agendado", "nao compareceu@Agendado")
    assert _plan("Cancelar", duplicate_of="BV-2028-000000", status="Duplicado",
                 shown_status="Duplicado") == staff.Note(
        p, "Ação não aplicável: solicitação Duplicado", "cancelar@Duplicado")
    assert _plan("Remarcar", status="Cancelado", shown_status="Cancelado") == staff.Note(
        p, texts.REASON_CANCELLED_FINAL, "remarcar@Cancelado")
    # Agendado clears a flag on a row whose event lives; on a plain booked row it is no choice.
    assert _plan("Agendado", status="Requer atenção", shown_status="Requer atenção",
                 problem="edited") == staff.ClearFlag(p, "agendado@Requer atenção")
    assert _plan("Agendado") is None
    # A choice already carried out while the sheet still shows it is not carried out again.
    assert _plan("Remarcar", staff_seen="remarcar@Agendado") is None
    # Anything that is not a choice is no choice.
    assert _plan("talvez") is None and _plan("") is None


def test_a_time_typed_in_atendimento_moves_only_when_it_is_new() -> None:
    from worker.planners import staff

    mine = intake.datetime_to_serial(MON + timedelta(days=1), "America/Bahia")
    typed = intake.datetime_to_serial(MON + timedelta(days=2, hours=4), "America/Bahia")
    assert _plan(None, mine) is None  # balcao's own value (before the journal remembered it)
    assert _plan(None, typed, shown_appt=mine) == staff.Move(
        "BV-2028-000001", MON + timedelta(days=2, hours=4), serial=typed)
    assert _plan(None, typed, staff_serial=typed) is None  # already judged
    note = _plan(None, "amanhã")
    assert isinstance(note, staff.Note) and note.reason.endswith(": amanhã")
    assert _plan(None, typed, event_state="") is None  # no appointment: the booking planner's


def test_calendar_changes_follow_the_lifecycle_table() -> None:
    from worker.model import EventChange
    from worker.planners import staff

    p = "BV-2028-000001"
    new = MON + timedelta(days=3)
    moved = EventChange("e1", "primary", "confirmed", new, new + timedelta(minutes=30))
    assert staff.plan_calendar(BOOKED_REC, moved, found_elsewhere=None) == staff.Move(
        p, new, new + timedelta(minutes=30), checked=False, patch=False)
    same = EventChange("e1", "primary", "confirmed", BOOKED_REC.slot_start_dt,
                       BOOKED_REC.slot_end_dt)
    assert staff.plan_calendar(BOOKED_REC, same, found_elsewhere=None) is None  # our own write
    gone = EventChange("e1", "primary", "cancelled")
    assert staff.plan_calendar(BOOKED_REC, gone, found_elsewhere="atendente2") == (
        staff.CalendarSwitch(p, "atendente2"))
    assert staff.plan_calendar(BOOKED_REC, gone, found_elsewhere=None) == staff.Deleted(p, True)
    deleted_by_us = replace(BOOKED_REC, event_state="deleted", status="Cancelado")
    assert staff.plan_calendar(deleted_by_us, gone, found_elsewhere=None) is None
