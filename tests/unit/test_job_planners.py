"""The scheduled jobs' pure rules with literal tables: reminder leads and quiet hours, the digest's day, deadline alerts in office minutes, bounce matching."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from worker.lifecycle import EventState
from worker.model import Bounce, Channel, RequestRecord
from worker.officetime import OfficeCalendar
from worker.planners import alerts, bounces, digest, reminders, schedule

BAHIA = ZoneInfo("America/Bahia")
OFFICE = OfficeCalendar()


def at(text: str) -> datetime:
    """``"2028-03-07 10:00"`` in office time."""
    return datetime.fromisoformat(text).replace(tzinfo=BAHIA)


# --------------------------------------------------------------------------- reminders

# start, confirmed, now → the lead owed (leads 24 and 2)
REMINDERS = [
    ("2028-03-07 10:00", "2028-03-06 08:00", "2028-03-06 09:59", None),  # not yet
    ("2028-03-07 10:00", "2028-03-06 08:00", "2028-03-06 10:00", 24),  # 24 h before
    ("2028-03-07 10:00", "2028-03-06 08:00", "2028-03-07 07:59", 24),  # still owed if unsent
    ("2028-03-07 10:00", "2028-03-06 08:00", "2028-03-07 08:00", 2),  # the shorter wins
    ("2028-03-07 10:00", "2028-03-06 08:00", "2028-03-07 09:59", 2),
    ("2028-03-07 10:00", "2028-03-06 08:00", "2028-03-07 10:00", None),  # started: dropped
    ("2028-03-07 10:00", "2028-03-06 11:00", "2028-03-06 12:00", None),  # confirmed < 24 h before
    ("2028-03-07 10:00", "2028-03-06 11:00", "2028-03-07 08:00", 2),
    ("2028-03-07 10:00", "2028-03-07 08:30", "2028-03-07 09:00", None),  # both skipped
    ("2028-03-07 10:00", None, "2028-03-07 08:00", 2),  # confirmation time unknown (recovered)
    # quiet hours [21:00, 07:00): an 08:00 appointment's 2-hour reminder leaves at 07:00
    ("2028-03-07 08:00", "2028-03-06 08:00", "2028-03-07 06:00", None),
    ("2028-03-07 08:00", "2028-03-06 08:00", "2028-03-07 06:59", None),
    ("2028-03-07 08:00", "2028-03-06 08:00", "2028-03-07 07:00", 2),
    # a 22:00 appointment (moved by staff): its 24-hour reminder waits for the morning
    ("2028-03-07 22:00", "2028-03-06 08:00", "2028-03-06 22:00", None),
    ("2028-03-07 22:00", "2028-03-06 08:00", "2028-03-07 07:00", 24),
    ("2028-03-07 22:00", "2028-03-06 08:00", "2028-03-07 20:00", 2),
    ("2028-03-07 22:00", "2028-03-06 08:00", "2028-03-07 21:00", None),  # quiet until the start
]


@pytest.mark.parametrize(("start", "confirmed", "now", "lead"), REMINDERS)
def test_a_reminder_is_owed_per_lead_outside_quiet_hours_and_before_the_start(
    start: str, confirmed: str | None, now: str, lead: int | None
) -> None:
    appt = reminders.Appointment("BV-2028-000001", 1, at(start), at(confirmed) if confirmed else None)
    assert reminders.owed(appt, (24, 2), at(now), BAHIA) == lead


def test_reminders_due_lists_each_appointment_once_in_start_order_with_its_revision() -> None:
    appts = [
        reminders.Appointment("BV-2028-000002", 3, at("2028-03-07 11:30"), at("2028-03-01 08:00")),
        reminders.Appointment("BV-2028-000001", 1, at("2028-03-07 10:00"), at("2028-03-01 08:00")),
        reminders.Appointment("BV-2028-000003", 1, at("2028-03-09 10:00"), at("2028-03-01 08:00")),
    ]
    assert reminders.due(appts, [24, 2], at("2028-03-07 09:00"), BAHIA) == [
        reminders.Reminder("BV-2028-000001", 1, 2),
        reminders.Reminder("BV-2028-000002", 3, 24),
    ]


def test_a_utc_now_is_judged_in_office_time_for_quiet_hours() -> None:
    # 09:30 UTC is 06:30 in Bahia: quiet.
    assert schedule.is_quiet(datetime(2028, 3, 7, 9, 30, tzinfo=ZoneInfo("UTC")), BAHIA)
    assert not schedule.is_quiet(datetime(2028, 3, 7, 10, 0, tzinfo=ZoneInfo("UTC")), BAHIA)


# --------------------------------------------------------------------------- due rules

# now, last run → digest due (at 07:30)
DIGEST_DUE = [
    ("2028-03-06 07:29", None, False),  # Monday, before `at`
    ("2028-03-06 07:30", None, True),
    ("2028-03-06 16:59", None, True),  # a late start still sends it
    ("2028-03-06 17:00", None, False),  # after closing: skipped that day
    ("2028-03-06 12:00", "2028-03-06 07:30", False),  # once per day
    ("2028-03-06 07:30", "2028-03-06 06:00", True),  # a recovery at 06:00 sent no digest
    ("2028-03-07 07:30", "2028-03-06 07:30", True),  # the next open day
    ("2028-03-04 10:00", "2028-03-03 07:30", False),  # Saturday
    ("2028-02-29 10:00", "2028-02-25 07:30", False),  # Carnival Tuesday
    ("2028-03-01 07:30", "2028-02-25 07:30", True),  # Ash Wednesday opens 14:00: still sent
    ("2028-03-06 08:00", "2028-03-07 07:30", True),  # the clock went back a day
]


@pytest.mark.parametrize(("now", "last", "expected"), DIGEST_DUE)
def test_the_digest_is_due_once_per_open_day_from_its_time_until_closing(
    now: str, last: str | None, expected: bool
) -> None:
    assert schedule.digest_due(at(now), at(last) if last else None, time(7, 30), OFFICE) is expected


def test_a_periodic_job_is_due_after_its_period_and_when_the_clock_went_back() -> None:
    period = timedelta(minutes=10)
    last = at("2028-03-06 10:00")
    assert schedule.every(period, at("2028-03-06 10:00"), None)
    assert not schedule.every(period, at("2028-03-06 10:09"), last)
    assert schedule.every(period, at("2028-03-06 10:10"), last)
    assert schedule.every(period, at("2028-03-06 09:00"), last)


# --------------------------------------------------------------------------- office minutes

# instant, minutes → instant (default hours; Carnival 2028 is 28-29 Feb, Ash Wednesday 1 Mar)
MINUTES_BEFORE = [
    ("2028-03-07 10:15", 120, "2028-03-07 08:15"),
    ("2028-03-07 09:00", 120, "2028-03-06 16:00"),
    ("2028-03-07 08:00", 120, "2028-03-06 15:00"),
    ("2028-03-06 10:00", 180, "2028-03-03 16:00"),  # Monday morning: back to Friday
    ("2028-03-02 09:00", 120, "2028-03-01 16:00"),  # Ash Wednesday counts from 14:00
    ("2028-03-02 08:00", 240, "2028-02-25 16:00"),  # Ash Wednesday's 3 h, then Friday
    ("2028-03-07 12:00", 0, "2028-03-07 12:00"),
]


@pytest.mark.parametrize(("instant", "minutes", "expected"), MINUTES_BEFORE)
def test_office_minutes_before_count_only_open_time(instant: str, minutes: int, expected: str) -> None:
    assert OFFICE.minutes_before(at(instant), minutes) == at(expected)


# deadline, now → alert due (N = 120 office minutes)
ALERTS = [
    ("2028-03-07 10:15", "2028-03-07 08:14", False),
    ("2028-03-07 10:15", "2028-03-07 08:15", True),
    ("2028-03-07 10:15", "2028-03-07 10:14", True),
    ("2028-03-07 10:15", "2028-03-07 10:15", False),  # past: the digest lists it
    ("2028-03-07 09:00", "2028-03-06 16:00", True),  # the evening before
    ("2028-03-07 09:00", "2028-03-06 15:59", False),
]


@pytest.mark.parametrize(("deadline", "now", "expected"), ALERTS)
def test_a_deadline_alert_is_due_n_office_minutes_before_the_deadline(
    deadline: str, now: str, expected: bool
) -> None:
    req = alerts.Unanswered("BV-2028-000001", at(deadline))
    assert (alerts.due([req], 120, at(now), OFFICE) == [req]) is expected


# --------------------------------------------------------------------------- digest


def rec(protocol: str, **kw: object) -> RequestRecord:
    fields: dict[str, object] = {
        "protocol": protocol, "seq": int(protocol[-6:]), "fingerprint": "f", "submitted": None,
        "ts_key": None, "received_at": "2028-03-01T09:00:00-03:00", "deadline": None,
        "status": "Agendado", "name": "maria da silva", "email": "m@example.com",
        "channel": "meet", "answered_at": "2028-03-01T09:00:00-03:00",
    }
    fields.update(kw)
    return RequestRecord(**fields)  # type: ignore[arg-type]


def booked(protocol: str, start: str, **kw: object) -> RequestRecord:
    fields: dict[str, object] = {
        "slot_start": at(start).isoformat(),
        "slot_end": (at(start) + timedelta(minutes=30)).isoformat(),
        "event_state": EventState.CREATED.value, "meet_link": "https://meet.google.com/abc-defg-hij",
    }
    return rec(protocol, **{**fields, **kw})


def test_the_digest_lists_the_days_appointments_attention_rows_and_due_or_past_deadlines() -> None:
    day = date(2028, 3, 7)
    records = [
        booked("BV-2028-000001", "2028-03-07 10:00"),
        booked("BV-2028-000002", "2028-03-07 09:00", channel="whatsapp", phone="+5571988230376",
               meet_link=None),
        booked("BV-2028-000003", "2028-03-08 10:00"),  # tomorrow
        booked("BV-2028-000004", "2028-03-07 11:00", status="Cancelado",
               event_state=EventState.CANCELLED.value),
        rec("BV-2028-000005", status="Requer atenção", reason="Sem horário disponível",
            deadline=at("2028-03-07 15:00").isoformat(), answered_at=None),
        rec("BV-2028-000006", status="Recebido", deadline=at("2028-03-06 11:00").isoformat(),
            answered_at=None),  # past without an answer
        rec("BV-2028-000007", status="Realizado", deadline=at("2028-03-06 11:00").isoformat(),
            answered_at=None),  # final: never a deadline
        rec("BV-2028-000008", status="Recebido", deadline=at("2028-03-08 11:00").isoformat(),
            answered_at=None),  # tomorrow's deadline
        rec("BV-2028-000009", status="Duplicado", duplicate_of="BV-2028-000001",
            deadline=at("2028-03-07 11:00").isoformat(), answered_at=None),
    ]
    d = digest.build(records, day, at("2028-03-07 07:30"), BAHIA)
    assert [(a.protocol, a.start, a.channel, a.link, a.phone) for a in d.appointments] == [
        ("BV-2028-000001", at("2028-03-07 10:00"), Channel.MEET,
         "https://meet.google.com/abc-defg-hij", ""),
        ("BV-2028-000002", at("2028-03-07 09:00"), Channel.WHATSAPP, "", "+5571988230376"),
    ]
    assert [(r.protocol, r.note) for r in d.attention] == [
        ("BV-2028-000005", "Sem horário disponível")
    ]
    assert sorted((x.protocol, x.deadline) for x in d.deadlines) == [
        ("BV-2028-000005", at("2028-03-07 15:00")),
        ("BV-2028-000006", at("2028-03-06 11:00")),
    ]


def test_an_empty_day_gives_an_empty_digest_that_is_still_a_digest() -> None:
    d = digest.build([], date(2028, 3, 7), at("2028-03-07 07:30"), BAHIA)
    assert (d.day, d.appointments, d.attention, d.deadlines) == (date(2028, 3, 7), (), (), ())


# --------------------------------------------------------------------------- bounces


def report(mid: str) -> Bounce:
    return Bounce(mid, "x@example.com", "failed", at("2028-03-07 10:00"))


def test_a_bounce_flags_a_citizen_request_notes_a_final_one_and_logs_a_staff_email() -> None:
    sent = {
        "<a>": bounces.SentMail("<a>", "BV-2028-000001", "confirmation"),
        "<b>": bounces.SentMail("<b>", "BV-2028-000002", "reminder-24h"),
        "<c>": bounces.SentMail("<c>", "", "digest-3f1c9a0b"),
        "<d>": bounces.SentMail("<d>", "BV-2028-000003", "alerta-3f1c9a0b"),
        "<e>": bounces.SentMail("<e>", "BV-2028-000004", "ack"),
    }
    statuses = {"BV-2028-000001": "Agendado", "BV-2028-000002": "Realizado",
                "BV-2028-000003": "Recebido", "BV-2028-000004": "Recebido"}
    reports = [report(m) for m in ("<a>", "<b>", "<c>", "<d>", "<zz>", "<a>", "<e>")]
    got = bounces.match(reports, sent, statuses, seen={"<e>"})
    assert [(m.key, m.outcome) for m in got] == [
        ("<a>", bounces.Outcome.FLAG),
        ("<b>", bounces.Outcome.NOTE),
        ("<c>", bounces.Outcome.LOG),
        ("<d>", bounces.Outcome.LOG),
    ]


def test_a_bounce_of_an_erased_request_changes_nothing() -> None:
    sent = {"<a>": bounces.SentMail("<a>", "BV-2028-000001", "ack")}
    assert bounces.match([report("<a>")], sent, {}, seen=set()) == []
