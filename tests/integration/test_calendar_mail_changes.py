"""Calendar changes and bounces: the real adapters against the sandbox and the memory fakes, same behaviour.

Each scenario runs twice: GoogleCalendar over HTTP against the sandbox (staff play their part
with the real Calendar API and another person's token) and MemoryCalendar (staff helpers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from tests.clients import make_google_service
from tests.integration.test_adapters_sandbox import (
    BAHIA,
    CAL,
    event_spec,
    gcal,
    gmail,
    google_requests,
    mail,
)
from worker.adapters.memory import MemoryCalendar, MemoryMailer
from worker.model import AdapterError, EventChange, EventSpec
from worker.ports import Calendar

pytestmark = pytest.mark.integration

OTHER = "agenda.dois@example.org"
TIME_MIN = datetime(2030, 3, 1, 0, 0, tzinfo=BAHIA)
MOVED = datetime(2030, 3, 7, 15, 0, tzinfo=BAHIA)


@dataclass
class World:
    """A calendar port plus what staff can do to it in Google Calendar."""

    calendar: Calendar
    reschedule: Callable[[str, str, datetime, datetime], None]
    retitle: Callable[[str, str, str], None]
    delete: Callable[[str, str], None]
    move: Callable[[str, str, str], None]
    expire_tokens: Callable[[], None]
    list_requests: Callable[[], int]


def google_world(sandbox: Any) -> World:
    staff = make_google_service("calendar", "v3", sandbox.url, credentials=Credentials(token="staff-member"))

    def patch(cal: str, eid: str, body: dict[str, Any]) -> None:
        staff.events().patch(calendarId=cal, eventId=eid, body=body).execute()

    return World(
        calendar=gcal(sandbox),
        reschedule=lambda cal, eid, s, e: patch(cal, eid, {"start": {"dateTime": s.isoformat()},
                                                           "end": {"dateTime": e.isoformat()}}),
        retitle=lambda cal, eid, title: patch(cal, eid, {"summary": title}),
        delete=lambda cal, eid: staff.events().delete(calendarId=cal, eventId=eid).execute(),
        move=lambda cal, eid, dest: staff.events().move(calendarId=cal, eventId=eid, destination=dest).execute(),
        expire_tokens=lambda: sandbox.post("/_sandbox/calendar/expire_sync_tokens"),
        list_requests=lambda: len(google_requests(sandbox, "/events", "events.list")),
    )


def memory_world() -> World:
    mem = MemoryCalendar()
    return World(
        calendar=mem,
        reschedule=mem.reschedule_by_staff,
        retitle=mem.retitle_by_staff,
        delete=mem.cancel_by_staff,
        move=mem.move_by_staff,
        expire_tokens=mem.expire_sync_tokens,
        list_requests=lambda: mem.count("changes"),
    )


@pytest.fixture(params=["google", "memory"])
def world(request: pytest.FixtureRequest, sandbox: Any) -> World:
    return google_world(sandbox) if request.param == "google" else memory_world()


def booked(w: World, event_id: str = "bv2030000001r0", hour: int = 10) -> tuple[EventSpec, str]:
    """An event balcao created, then a full sync: (spec, sync token)."""
    spec = event_spec(event_id, hour=hour)
    w.calendar.create_event(spec)
    first = w.calendar.changes(CAL, None, TIME_MIN)
    assert first.full_sync
    return spec, first.next_sync_token


def test_full_sync_lists_future_events_and_a_quiet_calendar_costs_one_request(world: World) -> None:
    spec, _ = booked(world)
    world.calendar.create_event(event_spec("bv2030000002r0", hour=11))
    past = event_spec("bv2030000003r0")
    world.calendar.create_event(EventSpec(**{**past.__dict__, "start": TIME_MIN - timedelta(days=2),
                                             "end": TIME_MIN - timedelta(days=2) + timedelta(minutes=30)}))
    full = world.calendar.changes(CAL, None, TIME_MIN)
    assert sorted(i.event_id for i in full.items) == ["bv2030000001r0", "bv2030000002r0"]
    quiet = world.calendar.changes(CAL, full.next_sync_token, TIME_MIN)
    before = world.list_requests()
    again = world.calendar.changes(CAL, quiet.next_sync_token, TIME_MIN)
    assert (again.items, again.full_sync) == ([], False)
    assert world.list_requests() - before == 1
    assert spec.event_id in {i.event_id for i in full.items}


def test_a_time_staff_moved_comes_back_once_with_a_higher_sequence(world: World) -> None:
    spec, token = booked(world)
    world.reschedule(CAL, spec.event_id, MOVED, MOVED + timedelta(minutes=30))
    got = world.calendar.changes(CAL, token, TIME_MIN)
    [change] = got.items
    assert (change.event_id, change.status, change.start, change.sequence) == (spec.event_id, "confirmed", MOVED, 1)
    assert world.calendar.changes(CAL, got.next_sync_token, TIME_MIN).items == []
    result = world.calendar.get_event(CAL, spec.event_id)
    assert result is not None
    assert (result.start, result.sequence) == (MOVED, 1)


def test_balcaos_own_patch_is_a_change_too_with_the_sequence_its_answer_gave(world: World) -> None:
    spec, token = booked(world)
    result = world.calendar.patch_event(CAL, spec.event_id, start=MOVED, end=MOVED + timedelta(minutes=30))
    [change] = world.calendar.changes(CAL, token, TIME_MIN).items
    assert change.sequence == result.sequence == 1
    assert result.meet_link is not None and result.start == MOVED


def test_a_retitle_is_a_change_with_the_same_sequence(world: World) -> None:
    spec, token = booked(world)
    world.retitle(CAL, spec.event_id, "Reunião interna")
    [change] = world.calendar.changes(CAL, token, TIME_MIN).items
    assert (change.status, change.sequence, change.start) == ("confirmed", 0, spec.start)


def test_a_deleted_event_comes_back_as_its_id_only(world: World) -> None:
    spec, token = booked(world)
    world.delete(CAL, spec.event_id)
    assert world.calendar.changes(CAL, token, TIME_MIN).items == [EventChange(spec.event_id, CAL, "cancelled")]


def test_an_event_moved_to_another_attendant_leaves_one_calendar_and_appears_in_the_other(world: World) -> None:
    spec, token = booked(world)
    other_token = world.calendar.changes(OTHER, None, TIME_MIN).next_sync_token
    world.move(CAL, spec.event_id, OTHER)
    assert world.calendar.changes(CAL, token, TIME_MIN).items == [EventChange(spec.event_id, CAL, "cancelled")]
    [arrived] = world.calendar.changes(OTHER, other_token, TIME_MIN).items
    assert (arrived.event_id, arrived.calendar_id, arrived.status, arrived.start) == (
        spec.event_id, OTHER, "confirmed", spec.start)
    there = world.calendar.get_event(OTHER, spec.event_id)
    assert there is not None and there.meet_link is not None
    gone = world.calendar.get_event(CAL, spec.event_id)
    assert gone is not None and gone.status == "cancelled"
    with pytest.raises(AdapterError) as exc:
        world.calendar.patch_event(CAL, spec.event_id, summary="x")
    assert exc.value.status == 404


def test_an_expired_token_gives_a_full_sync_and_says_the_token_expired(world: World) -> None:
    spec, token = booked(world)
    world.expire_tokens()
    got = world.calendar.changes(CAL, token, TIME_MIN)
    assert (got.full_sync, got.token_expired) == (True, True)
    assert [i.event_id for i in got.items] == [spec.event_id]
    assert world.calendar.changes(CAL, got.next_sync_token, TIME_MIN).items == []


def test_a_deleted_event_is_never_recreated_and_deleting_again_is_done(world: World) -> None:
    spec, _ = booked(world)
    world.delete(CAL, spec.event_id)
    assert world.calendar.create_event(spec).status == "cancelled"
    world.calendar.delete_event(CAL, spec.event_id, send_updates="none")


def test_strip_personal_leaves_only_the_title_and_the_time_in_the_event(sandbox: Any) -> None:
    cal = gcal(sandbox)
    spec = event_spec()
    cal.create_event(EventSpec(**{**spec.__dict__, "attendee_email": "ana@example.com",
                                  "description": "Telefone +55 71 99999-0000"}))
    result = cal.patch_event(CAL, spec.event_id, summary="Balcão Virtual BV-2030-000001", strip_personal=True)
    assert (result.start, result.sequence) == (spec.start, 0)
    [stored] = sandbox.state()["calendars"][CAL]["events"]
    assert stored["summary"] == "Balcão Virtual BV-2030-000001"
    assert not {"description", "attendees", "location"} & set(stored)
    assert stored["extendedProperties"]["private"]["balcaoProtocol"] == "BV-2030-000001"
    [patch] = google_requests(sandbox, "/events/", "events.patch")
    assert patch["query"]["sendUpdates"] == "none"


def test_the_memory_fake_strips_the_same_and_records_send_updates() -> None:
    mem = MemoryCalendar()
    spec = event_spec()
    mem.create_event(EventSpec(**{**spec.__dict__, "attendee_email": "ana@example.com", "description": "x"}))
    mem.patch_event(CAL, spec.event_id, summary="Balcão Virtual BV-2030-000001", strip_personal=True)
    [stored] = mem.all_events()
    assert (stored.spec.summary, stored.spec.description, stored.spec.attendee_email) == (
        "Balcão Virtual BV-2030-000001", "", None)
    assert mem.send_updates == [("patch", spec.event_id, "none")]


# --------------------------------------------------------------------------- bounces


def now() -> datetime:
    return datetime.now(UTC)


def test_a_bounce_is_found_with_our_message_id_and_the_recipient(sandbox: Any) -> None:
    sandbox.config(bounce_recipients=["ana@example.com"])
    mailer = gmail(sandbox)
    since = now() - timedelta(seconds=2)
    mailer.send(mail())
    [bounce] = mailer.find_bounces(since)
    assert (bounce.message_id, bounce.recipient, bounce.action) == (mail().message_id, "ana@example.com", "failed")
    assert bounce.received_at >= since
    assert mailer.find_bounces(now() + timedelta(seconds=2)) == []


def test_a_bounce_is_matched_even_when_gmail_rewrote_the_message_id(sandbox: Any) -> None:
    sandbox.config(bounce_recipients=["ana@example.com"], rewrite_message_id=True)
    mailer = gmail(sandbox)
    since = now() - timedelta(seconds=2)
    mailer.send(mail())
    assert [b.message_id for b in mailer.find_bounces(since)] == [mail().message_id]


def test_a_delay_report_is_not_a_bounce_and_an_empty_check_is_one_request(sandbox: Any) -> None:
    sandbox.config(delayed_recipients=["ana@example.com"])
    mailer = gmail(sandbox)
    since = now() - timedelta(seconds=2)
    mailer.send(mail())
    assert mailer.find_bounces(since) == []
    sandbox.post("/_sandbox/reset")
    mailer.find_bounces(since)
    assert len([r for r in sandbox.requests_log() if r["api"] == "gmail"]) == 1


def test_the_memory_mailer_bounces_the_same_way() -> None:
    at = datetime(2030, 3, 7, 10, 0, tzinfo=UTC)
    mem = MemoryMailer(bounce_recipients=["Ana@Example.com"], date=at)
    mem.send(mail())
    mem.bounce("<other@balcao.example.org>", "bia@example.com", at, action="delayed")
    [bounce] = mem.find_bounces(at)
    assert (bounce.message_id, bounce.recipient, bounce.action) == (mail().message_id, "ana@example.com", "failed")
    assert mem.find_bounces(at + timedelta(seconds=1)) == []
    with pytest.raises(AdapterError):
        MemoryMailer(can_search_sent=False).find_bounces(at)
