"""Calendar v3 incremental sync, staff edits and events.move: the real googleapiclient against the sandbox."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError

from tests.clients import make_google_service
from tests.sandbox.conftest import check_response, error_body

CAL = "agenda.um@example.org"
OTHER = "agenda.dois@example.org"
MEET = {"createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def event(eid: str, day: int = 1, **extra: Any) -> dict[str, Any]:
    body = {
        "id": eid,
        "summary": "Atendimento BV-2026-000001 (Ana Souza)",
        "description": "Telefone: +55 71 99999-0000",
        "attendees": [{"email": "ana@example.com"}],
        "start": {"dateTime": f"2026-12-{day:02d}T10:00:00-03:00", "timeZone": "America/Bahia"},
        "end": {"dateTime": f"2026-12-{day:02d}T10:30:00-03:00", "timeZone": "America/Bahia"},
        "extendedProperties": {"private": {"balcaoProtocol": "BV-2026-000001"}},
    }
    body.update(extra)
    return body


def insert(cal: Any, body: dict[str, Any], cal_id: str = CAL) -> dict[str, Any]:
    return cal.events().insert(calendarId=cal_id, body=body, conferenceDataVersion=1).execute()


def full_sync(cal: Any, cal_id: str = CAL, **params: Any) -> tuple[list[dict[str, Any]], str]:
    """Every page of a listing; returns (items, nextSyncToken)."""
    items: list[dict[str, Any]] = []
    page = None
    while True:
        answer = cal.events().list(calendarId=cal_id, pageToken=page, **params).execute()
        items.extend(answer["items"])
        page = answer.get("nextPageToken")
        if page is None:
            return items, answer["nextSyncToken"]
        assert "nextSyncToken" not in answer


@pytest.fixture
def staff(sandbox: Any) -> Any:
    """Google Calendar as a staff member uses it: another person's token, the same API."""
    return make_google_service("calendar", "v3", sandbox.url, credentials=Credentials(token="staff-member"))


def test_full_sync_pages_and_gives_the_sync_token_only_on_the_last_page(cal: Any) -> None:
    for n in range(5):
        insert(cal, event(f"evt0000{n}", day=n + 1))
    items, token = full_sync(cal, maxResults=2, timeMin="2026-12-02T00:00:00-03:00")
    assert [e["id"] for e in items] == ["evt00001", "evt00002", "evt00003", "evt00004"]
    assert token


def test_sync_with_nothing_changed_is_one_empty_page_and_the_new_token_works(cal: Any) -> None:
    insert(cal, event("evt00001"))
    _, token = full_sync(cal)
    answer = cal.events().list(calendarId=CAL, syncToken=token).execute()
    check_response("calendar.events.list", answer)
    assert answer["items"] == []
    assert "nextPageToken" not in answer
    again = cal.events().list(calendarId=CAL, syncToken=answer["nextSyncToken"]).execute()
    assert again["items"] == []


def test_staff_moving_the_time_shows_in_the_next_sync_with_a_higher_sequence(cal: Any, staff: Any) -> None:
    created = insert(cal, event("evt00001", conferenceData=MEET))
    _, token = full_sync(cal)
    staff.events().patch(calendarId=CAL, eventId="evt00001", body={
        "start": {"dateTime": "2026-12-01T15:00:00-03:00"}, "end": {"dateTime": "2026-12-01T15:30:00-03:00"},
    }).execute()
    answer = cal.events().list(calendarId=CAL, syncToken=token).execute()
    [item] = answer["items"]
    assert item["start"]["dateTime"] == "2026-12-01T15:00:00-03:00"
    assert item["sequence"] == 1
    assert item["updated"] >= created["updated"]
    assert item["hangoutLink"] == created["hangoutLink"]
    assert cal.events().list(calendarId=CAL, syncToken=answer["nextSyncToken"]).execute()["items"] == []


def test_a_retitle_is_a_change_but_keeps_the_sequence(cal: Any, staff: Any) -> None:
    insert(cal, event("evt00001"))
    _, token = full_sync(cal)
    staff.events().patch(calendarId=CAL, eventId="evt00001", body={"summary": "Reunião"}).execute()
    [item] = cal.events().list(calendarId=CAL, syncToken=token).execute()["items"]
    assert (item["summary"], item["sequence"]) == ("Reunião", 0)


def test_update_with_the_same_instant_in_another_zone_keeps_the_sequence(cal: Any, staff: Any) -> None:
    insert(cal, event("evt00001"))
    body = event("evt00001", start={"dateTime": "2026-12-01T13:00:00Z"}, end={"dateTime": "2026-12-01T13:30:00Z"})
    updated = staff.events().update(calendarId=CAL, eventId="evt00001", body=body).execute()
    assert updated["sequence"] == 0


def test_a_deleted_event_syncs_as_its_id_status_and_etag_only(cal: Any, staff: Any) -> None:
    insert(cal, event("evt00001"))
    _, token = full_sync(cal)
    staff.events().delete(calendarId=CAL, eventId="evt00001").execute()
    [item] = cal.events().list(calendarId=CAL, syncToken=token).execute()["items"]
    assert set(item) == {"kind", "etag", "id", "status"}
    assert (item["id"], item["status"]) == ("evt00001", "cancelled")


def test_show_deleted_keeps_the_details_of_a_deleted_event_on_its_own_calendar(cal: Any) -> None:
    insert(cal, event("evt00001"))
    _, token = full_sync(cal, showDeleted=True)
    cal.events().delete(calendarId=CAL, eventId="evt00001").execute()
    [item] = cal.events().list(calendarId=CAL, syncToken=token, showDeleted=True).execute()["items"]
    assert item["status"] == "cancelled"
    assert item["summary"].startswith("Atendimento")


def test_full_sync_hides_deleted_events_unless_asked_and_updated_min_always_shows_them(cal: Any) -> None:
    insert(cal, event("evt00001"))
    insert(cal, event("evt00002", day=2))
    cal.events().delete(calendarId=CAL, eventId="evt00002").execute()
    assert [e["id"] for e in full_sync(cal)[0]] == ["evt00001"]
    shown = {e["id"]: e["status"] for e in full_sync(cal, showDeleted=True)[0]}
    assert shown == {"evt00001": "confirmed", "evt00002": "cancelled"}
    since = cal.events().list(calendarId=CAL, updatedMin="2000-01-01T00:00:00Z").execute()["items"]
    assert {e["id"]: e["status"] for e in since} == shown


def test_moving_an_event_to_another_calendar_cancels_it_in_the_source_and_adds_it_to_the_destination(
    cal: Any, staff: Any
) -> None:
    created = insert(cal, event("evt00001", conferenceData=MEET))
    _, src_token = full_sync(cal)
    _, dest_token = full_sync(cal, OTHER)
    moved = staff.events().move(calendarId=CAL, eventId="evt00001", destination=OTHER).execute()
    check_response("calendar.events.move", moved)
    assert (moved["id"], moved["organizer"]["email"]) == ("evt00001", OTHER)
    assert (moved["hangoutLink"], moved["start"]) == (created["hangoutLink"], created["start"])
    [gone] = cal.events().list(calendarId=CAL, syncToken=src_token).execute()["items"]
    assert gone == {"kind": "calendar#event", "etag": gone["etag"], "id": "evt00001", "status": "cancelled"}
    [arrived] = cal.events().list(calendarId=OTHER, syncToken=dest_token).execute()["items"]
    assert (arrived["id"], arrived["status"]) == ("evt00001", "confirmed")
    assert cal.events().get(calendarId=OTHER, eventId="evt00001").execute()["summary"] == created["summary"]
    assert set(cal.events().get(calendarId=CAL, eventId="evt00001").execute()) == {"kind", "etag", "id", "status"}


def test_a_moved_event_cannot_be_patched_or_recreated_in_its_old_calendar(cal: Any, staff: Any) -> None:
    insert(cal, event("evt00001"))
    staff.events().move(calendarId=CAL, eventId="evt00001", destination=OTHER).execute()
    with pytest.raises(HttpError) as patched:
        cal.events().patch(calendarId=CAL, eventId="evt00001", body={"summary": "x"}).execute()
    assert patched.value.status_code == 404
    with pytest.raises(HttpError) as again:
        insert(cal, event("evt00001"))
    assert again.value.status_code == 409


def test_moving_onto_an_id_the_destination_holds_is_a_conflict_and_moving_back_works(cal: Any, staff: Any) -> None:
    insert(cal, event("evt00001"))
    insert(cal, event("evt00001"), cal_id=OTHER)
    with pytest.raises(HttpError) as exc:
        staff.events().move(calendarId=CAL, eventId="evt00001", destination=OTHER).execute()
    assert exc.value.status_code == 409
    insert(cal, event("evt00002"))
    staff.events().move(calendarId=CAL, eventId="evt00002", destination="terceira@example.org").execute()
    back = staff.events().move(calendarId="terceira@example.org", eventId="evt00002", destination=CAL).execute()
    assert back["status"] == "confirmed"
    assert cal.events().get(calendarId=CAL, eventId="evt00002").execute()["status"] == "confirmed"


def test_a_moved_event_is_no_longer_busy_in_its_old_calendar(cal: Any, staff: Any) -> None:
    insert(cal, event("evt00001"))
    staff.events().move(calendarId=CAL, eventId="evt00001", destination=OTHER).execute()
    body = cal.freebusy().query(body={"timeMin": "2026-12-01T00:00:00Z", "timeMax": "2026-12-02T00:00:00Z",
                                      "items": [{"id": CAL}, {"id": OTHER}]}).execute()
    assert body["calendars"][CAL]["busy"] == []
    assert len(body["calendars"][OTHER]["busy"]) == 1


@pytest.mark.parametrize("token", ["garbage", "CPbm90LWEtdG9rZW4"])
def test_an_unknown_sync_token_is_410_full_sync_required(cal: Any, token: str) -> None:
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId=CAL, syncToken=token).execute()
    assert exc.value.status_code == 410
    err = error_body(exc.value)
    assert err["errors"][0]["reason"] == "fullSyncRequired"
    assert err["errors"][0]["domain"] == "calendar"
    assert err["message"] == "Sync token is no longer valid, a full sync is required."


def test_a_token_of_another_calendar_or_before_a_reset_or_expiry_is_410(sandbox: Any, cal: Any) -> None:
    insert(cal, event("evt00001"))
    _, token = full_sync(cal)
    with pytest.raises(HttpError) as other:
        cal.events().list(calendarId=OTHER, syncToken=token).execute()
    assert other.value.status_code == 410
    sandbox.post("/_sandbox/calendar/expire_sync_tokens")
    with pytest.raises(HttpError) as expired:
        cal.events().list(calendarId=CAL, syncToken=token).execute()
    assert expired.value.status_code == 410
    _, fresh = full_sync(cal)
    sandbox.reset()
    with pytest.raises(HttpError) as after_reset:
        cal.events().list(calendarId=CAL, syncToken=fresh).execute()
    assert after_reset.value.status_code == 410


@pytest.mark.parametrize("param, value", [
    ("timeMin", "2026-12-01T00:00:00Z"), ("timeMax", "2026-12-01T00:00:00Z"), ("q", "Ana"),
    ("orderBy", "updated"), ("privateExtendedProperty", "balcaoProtocol=BV-2026-000001"),
    ("sharedExtendedProperty", "a=b"), ("iCalUID", "x@google.com"), ("updatedMin", "2026-12-01T00:00:00Z"),
])
def test_sync_token_with_a_filter_is_400_naming_it(cal: Any, param: str, value: str) -> None:
    _, token = full_sync(cal)
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId=CAL, syncToken=token, **{param: value}).execute()
    assert exc.value.status_code == 400
    assert param in error_body(exc.value)["message"]


def test_incremental_sync_pages_and_reports_each_change_once(cal: Any, staff: Any) -> None:
    _, token = full_sync(cal)
    for n in range(5):
        insert(cal, event(f"evt0000{n}", day=n + 1))
    staff.events().delete(calendarId=CAL, eventId="evt00002").execute()
    items, token2 = full_sync(cal, syncToken=token, maxResults=2)
    assert {e["id"]: e["status"] for e in items} == {
        "evt00000": "confirmed", "evt00001": "confirmed", "evt00002": "cancelled",
        "evt00003": "confirmed", "evt00004": "confirmed"}
    assert len(items) == 5
    assert full_sync(cal, syncToken=token2)[0] == []


def test_expire_sync_tokens_refuses_a_body(sandbox: Any) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        sandbox.post("/_sandbox/calendar/expire_sync_tokens", {"calendar": CAL})
    assert exc.value.code == 400
    assert "calendar" in json.loads(exc.value.read())["error"]


def test_a_move_without_destination_is_400(sandbox: Any, cal: Any) -> None:
    insert(cal, event("evt00001"))
    req = urllib.request.Request(f"{sandbox.url}/calendar/v3/calendars/{CAL}/events/evt00001/move", data=b"",
                                 method="POST", headers={"Authorization": "Bearer staff"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=5)
    assert exc.value.code == 400
    assert "destination" in json.loads(exc.value.read())["error"]["message"]
