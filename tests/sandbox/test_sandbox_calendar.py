"""Calendar v3 conformance: the real googleapiclient against the sandbox."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import check_response

CAL = "agenda@example.org"
MEET = {"createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def event(eid="bv2026000001r0", **extra):
    body = {
        "id": eid,
        "summary": "Atendimento BV-2026-000001",
        "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "America/Bahia"},
        "end": {"dateTime": "2026-12-01T10:30:00-03:00"},
        "extendedProperties": {"private": {"protocolo": "BV-2026-000001"}},
    }
    body.update(extra)
    return body


def insert(cal, body, **kw):
    return cal.events().insert(calendarId=CAL, body=body, **kw).execute()


def test_insert_keeps_the_client_id_and_matches_the_event_schema(cal):
    ev = insert(cal, event())
    check_response("calendar.events.insert", ev)
    assert ev["id"] == "bv2026000001r0"
    assert ev["status"] == "confirmed"
    assert ev["start"] == {"dateTime": "2026-12-01T10:00:00-03:00", "timeZone": "America/Bahia"}
    got = cal.events().get(calendarId=CAL, eventId=ev["id"]).execute()
    assert got["summary"] == "Atendimento BV-2026-000001"


@pytest.mark.parametrize("bad", ["abcd", "wxyz12345", "ABCDEF123", "bv-2026-01", "x" * 6])
def test_ids_outside_base32hex_or_too_short_are_refused(cal, bad):
    with pytest.raises(HttpError) as exc:
        insert(cal, event(bad))
    assert exc.value.status_code == 400
    assert exc.value.reason == "Invalid resource id value."


def test_duplicate_event_id_gives_409(cal):
    insert(cal, event())
    with pytest.raises(HttpError) as exc:
        insert(cal, event())
    assert exc.value.status_code == 409
    assert exc.value.reason == "The requested identifier already exists."
    assert exc.value.error_details[0]["reason"] == "duplicate"


def test_deleted_event_reads_back_cancelled_and_its_id_stays_taken(cal):
    insert(cal, event())
    assert cal.events().delete(calendarId=CAL, eventId="bv2026000001r0").execute() == ""
    got = cal.events().get(calendarId=CAL, eventId="bv2026000001r0").execute()
    assert got["status"] == "cancelled"
    with pytest.raises(HttpError) as exc:
        insert(cal, event())
    assert exc.value.status_code == 409


def test_second_delete_gives_410_resource_has_been_deleted(cal):
    insert(cal, event())
    cal.events().delete(calendarId=CAL, eventId="bv2026000001r0").execute()
    with pytest.raises(HttpError) as exc:
        cal.events().delete(calendarId=CAL, eventId="bv2026000001r0").execute()
    assert exc.value.status_code == 410
    assert exc.value.reason == "Resource has been deleted"


def test_missing_event_is_404(cal):
    with pytest.raises(HttpError) as exc:
        cal.events().get(calendarId=CAL, eventId="nothere00").execute()
    assert exc.value.status_code == 404


def test_conference_data_is_silently_dropped_without_conference_data_version(cal):
    ev = insert(cal, event(conferenceData=MEET))
    assert "conferenceData" not in ev
    assert "hangoutLink" not in ev


def test_meet_link_is_created_with_conference_data_version_1(cal):
    ev = insert(cal, event(conferenceData=MEET), conferenceDataVersion=1)
    conf = ev["conferenceData"]
    assert conf["createRequest"]["status"] == {"statusCode": "success"}
    video = next(e for e in conf["entryPoints"] if e["entryPointType"] == "video")
    assert video["uri"] == ev["hangoutLink"]
    assert ev["hangoutLink"].startswith("https://meet.google.com/")
    assert video["label"] == ev["hangoutLink"].removeprefix("https://")
    assert conf["conferenceId"] == ev["hangoutLink"].rsplit("/", 1)[1]
    assert conf["conferenceSolution"]["key"] == {"type": "hangoutsMeet"}
    again = cal.events().get(calendarId=CAL, eventId=ev["id"]).execute()
    assert again["hangoutLink"] == ev["hangoutLink"]


def test_meet_code_is_deterministic_per_event(sandbox, cal):
    first = insert(cal, event(conferenceData=MEET), conferenceDataVersion=1)["hangoutLink"]
    sandbox.reset()
    second = insert(cal, event(conferenceData=MEET), conferenceDataVersion=1)["hangoutLink"]
    other = insert(cal, event("bv2026000002r0", conferenceData=MEET), conferenceDataVersion=1)["hangoutLink"]
    assert first == second != other


def test_meet_creation_stays_pending_for_the_configured_number_of_answers(sandbox, cal):
    sandbox.config(meet_pending_gets=2)
    ev = insert(cal, event(conferenceData=MEET), conferenceDataVersion=1)
    assert ev["conferenceData"] == {"createRequest": {**MEET["createRequest"], "status": {"statusCode": "pending"}}}
    assert "hangoutLink" not in ev
    second = cal.events().get(calendarId=CAL, eventId=ev["id"]).execute()
    assert second["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    third = cal.events().get(calendarId=CAL, eventId=ev["id"]).execute()
    assert third["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert third["hangoutLink"].startswith("https://meet.google.com/")


def test_conference_type_other_than_hangouts_meet_is_invalid(cal):
    body = event(conferenceData={"createRequest": {"requestId": "r", "conferenceSolutionKey": {"type": "eventHangout"}}})
    with pytest.raises(HttpError) as exc:
        insert(cal, body, conferenceDataVersion=1)
    assert exc.value.status_code == 400
    assert exc.value.reason == "Invalid conference type value."


def test_date_time_without_offset_or_time_zone_is_refused(cal):
    body = event(start={"dateTime": "2026-12-01T10:00:00"})
    with pytest.raises(HttpError) as exc:
        insert(cal, body)
    assert exc.value.status_code == 400
    assert exc.value.reason == "Missing time zone definition for start time."


def test_end_before_start_and_missing_end_are_refused(cal):
    with pytest.raises(HttpError) as exc:
        insert(cal, event(end={"dateTime": "2026-12-01T09:00:00-03:00"}))
    assert exc.value.reason == "The specified time range is empty."
    body = event()
    del body["end"]
    with pytest.raises(HttpError) as exc:
        insert(cal, body)
    assert exc.value.reason == "Missing end time."


def test_patch_merges_objects_replaces_arrays_and_keeps_the_meet_link_and_sequence(cal):
    ev = insert(cal, event(conferenceData=MEET, attendees=[{"email": "a@example.com"}]), conferenceDataVersion=1)
    patched = cal.events().patch(calendarId=CAL, eventId=ev["id"], body={
        "extendedProperties": {"private": {"revisao": "1"}}, "attendees": [{"email": "b@example.com"}]}).execute()
    check_response("calendar.events.patch", patched)
    assert patched["extendedProperties"]["private"] == {"protocolo": "BV-2026-000001", "revisao": "1"}
    assert patched["attendees"] == [{"email": "b@example.com"}]
    assert patched["sequence"] == 0  # only a change of time raises it (RFC 5546 §2.1.4)
    assert patched["hangoutLink"] == ev["hangoutLink"]


def test_update_replaces_the_event(cal):
    ev = insert(cal, event(description="antes"))
    body = event(summary="Remarcado")
    updated = cal.events().update(calendarId=CAL, eventId=ev["id"], body=body).execute()
    assert updated["summary"] == "Remarcado"
    assert "description" not in updated


def test_list_filters_by_time_private_property_and_hides_deleted(cal):
    insert(cal, event("aaaaa00001"))
    insert(cal, event("aaaaa00002", start={"dateTime": "2026-12-02T10:00:00-03:00"},
                      end={"dateTime": "2026-12-02T11:00:00-03:00"},
                      extendedProperties={"private": {"protocolo": "BV-2026-000002"}}))
    insert(cal, event("aaaaa00003"))
    cal.events().delete(calendarId=CAL, eventId="aaaaa00003").execute()
    listing = cal.events().list(calendarId=CAL, privateExtendedProperty="protocolo=BV-2026-000001").execute()
    check_response("calendar.events.list", listing)
    assert [e["id"] for e in listing["items"]] == ["aaaaa00001"]
    with_deleted = cal.events().list(calendarId=CAL, privateExtendedProperty=["protocolo=BV-2026-000001"],
                                     showDeleted=True).execute()
    assert [e["id"] for e in with_deleted["items"]] == ["aaaaa00001", "aaaaa00003"]
    window = cal.events().list(calendarId=CAL, timeMin="2026-12-02T00:00:00-03:00",
                               timeMax="2026-12-03T00:00:00-03:00", singleEvents=True, orderBy="startTime").execute()
    assert [e["id"] for e in window["items"]] == ["aaaaa00002"]


def test_freebusy_reports_merged_busy_intervals_clipped_to_the_window(cal):
    insert(cal, event("bbbbb00001"))
    insert(cal, event("bbbbb00002", start={"dateTime": "2026-12-01T10:15:00-03:00"},
                      end={"dateTime": "2026-12-01T11:00:00-03:00"}))
    insert(cal, event("bbbbb00003", transparency="transparent", start={"dateTime": "2026-12-01T14:00:00-03:00"},
                      end={"dateTime": "2026-12-01T15:00:00-03:00"}))
    body = cal.freebusy().query(body={"timeMin": "2026-12-01T10:20:00-03:00", "timeMax": "2026-12-02T00:00:00-03:00",
                                      "timeZone": "America/Bahia", "items": [{"id": CAL}, {"id": "outra@example.org"}]}).execute()
    check_response("calendar.freebusy.query", body)
    assert body["calendars"][CAL]["busy"] == [{"start": "2026-12-01T10:20:00-03:00", "end": "2026-12-01T11:00:00-03:00"}]
    assert body["calendars"]["outra@example.org"] == {"busy": []}
    assert body["timeMin"] == "2026-12-01T13:20:00.000Z"


def test_freebusy_range_over_the_limit_is_time_range_too_long(cal):
    with pytest.raises(HttpError) as exc:
        cal.freebusy().query(body={"timeMin": "2026-01-01T00:00:00Z", "timeMax": "2026-06-01T00:00:00Z",
                                   "items": [{"id": CAL}]}).execute()
    assert exc.value.status_code == 400
    assert exc.value.error_details[0]["reason"] == "timeRangeTooLong"


def test_freebusy_with_more_than_50_calendars_is_refused(cal):
    items = [{"id": f"c{i}@example.org"} for i in range(51)]
    with pytest.raises(HttpError) as exc:
        cal.freebusy().query(body={"timeMin": "2026-01-01T00:00:00Z", "timeMax": "2026-01-02T00:00:00Z",
                                   "items": items}).execute()
    assert exc.value.error_details[0]["reason"] == "tooManyCalendarsRequested"


def test_unshared_calendar_gives_not_found_in_freebusy_and_404_elsewhere(sandbox, cal):
    sandbox.config(unshared_calendars=["privada@example.org"])
    body = cal.freebusy().query(body={"timeMin": "2026-01-01T00:00:00Z", "timeMax": "2026-01-02T00:00:00Z",
                                      "items": [{"id": "privada@example.org"}]}).execute()
    assert body["calendars"]["privada@example.org"]["errors"] == [{"domain": "global", "reason": "notFound"}]
    with pytest.raises(HttpError) as exc:
        cal.calendars().get(calendarId="privada@example.org").execute()
    assert exc.value.status_code == 404


def test_calendars_get_answers_for_any_calendar_id(cal):
    body = cal.calendars().get(calendarId="qualquer@example.org").execute()
    check_response("calendar.calendars.get", body)
    assert body["id"] == "qualquer@example.org"
    assert body["conferenceProperties"]["allowedConferenceSolutionTypes"] == ["hangoutsMeet"]


def test_events_appear_in_the_state_dump_cancelled_ones_included(sandbox, cal):
    insert(cal, event())
    cal.events().delete(calendarId=CAL, eventId="bv2026000001r0").execute()
    events = sandbox.state()["calendars"][CAL]["events"]
    assert [(e["id"], e["status"]) for e in events] == [("bv2026000001r0", "cancelled")]
