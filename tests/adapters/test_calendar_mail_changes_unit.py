"""GoogleCalendar.patch_event/changes and GmailMailer.find_bounces over HttpMockSequence: what is asked of Google."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.http import HttpMockSequence

from tests.adapters.test_google_calendar_gmail_unit import calendar, err, ok, sent
from worker.adapters.gmail import GmailMailer
from worker.adapters.smtp import SmtpMailer
from worker.model import AdapterError, EventChange

BAHIA = ZoneInfo("America/Bahia")
NOW = datetime(2028, 3, 7, 9, 0, tzinfo=BAHIA)
CAL = "agenda@example.org"


def item(eid: str = "abc12345", **extra: Any) -> dict[str, Any]:
    body = {"id": eid, "status": "confirmed", "sequence": 2, "updated": "2028-03-07T12:00:00.123Z",
            "start": {"dateTime": "2028-03-08T10:00:00-03:00"}, "end": {"dateTime": "2028-03-08T10:30:00-03:00"}}
    body.update(extra)
    return body


def test_patch_sends_only_the_new_time_with_its_zone_and_the_send_updates_asked() -> None:
    cal, http, _ = calendar(ok(item(sequence=1)))
    result = cal.patch_event(CAL, "abc12345", start=NOW, end=NOW + timedelta(minutes=30), send_updates="all")
    method, _, query, body = sent(http, 0)
    assert method == "PATCH"
    assert query["sendUpdates"] == ["all"]
    assert body == {"start": {"dateTime": "2028-03-07T09:00:00-03:00", "timeZone": "America/Bahia"},
                    "end": {"dateTime": "2028-03-07T09:30:00-03:00", "timeZone": "America/Bahia"}}
    assert (result.sequence, result.updated) == (1, datetime(2028, 3, 7, 12, 0, 0, 123000, tzinfo=UTC))


def test_strip_personal_clears_description_attendees_and_location_and_keeps_the_time() -> None:
    cal, http, _ = calendar(ok(item()))
    cal.patch_event(CAL, "abc12345", summary="Balcão Virtual BV-2028-000001", strip_personal=True)
    _, _, query, body = sent(http, 0)
    assert query["sendUpdates"] == ["none"]
    assert body == {"summary": "Balcão Virtual BV-2028-000001", "description": None, "attendees": [],
                    "location": None}


@pytest.mark.parametrize("kwargs", [
    {"start": NOW}, {"start": NOW, "end": NOW}, {"send_updates": "everyone"},
    {"start": NOW.replace(tzinfo=None), "end": NOW.replace(tzinfo=None) + timedelta(hours=1)},
])
def test_a_patch_that_makes_no_sense_is_refused_before_any_request(kwargs: dict[str, Any]) -> None:
    cal, http, _ = calendar()
    with pytest.raises(ValueError):
        cal.patch_event(CAL, "abc12345", **kwargs)
    assert http.request_sequence == []


def test_patch_of_an_unknown_event_is_a_permanent_not_found() -> None:
    cal, _, _ = calendar(err(404, "Not Found", "notFound"))
    with pytest.raises(AdapterError) as exc:
        cal.patch_event(CAL, "abc12345", summary="x")
    assert (exc.value.status, exc.value.transient) == (404, False)


def test_delete_passes_send_updates() -> None:
    cal, http, _ = calendar(({"status": "204"}, ""))
    cal.delete_event(CAL, "abc12345", send_updates="none")
    assert sent(http, 0)[2]["sendUpdates"] == ["none"]


def test_changes_without_a_token_is_a_full_sync_of_future_events() -> None:
    cal, http, _ = calendar(ok({"items": [item()], "nextSyncToken": "tok1"}))
    got = cal.changes(CAL, None, NOW)
    _, path, query, _ = sent(http, 0)
    assert path == "/calendar/v3/calendars/agenda%40example.org/events"
    assert query["timeMin"] == ["2028-03-07T09:00:00-03:00"]
    assert "syncToken" not in query
    assert (got.next_sync_token, got.full_sync, got.token_expired) == ("tok1", True, False)
    assert got.items == [EventChange("abc12345", CAL, "confirmed",
                                     datetime(2028, 3, 8, 10, 0, tzinfo=BAHIA), datetime(2028, 3, 8, 10, 30, tzinfo=BAHIA),
                                     2, datetime(2028, 3, 7, 12, 0, 0, 123000, tzinfo=UTC))]


def test_changes_with_a_token_follows_pages_and_reads_a_deleted_item_as_its_id() -> None:
    cal, http, _ = calendar(
        ok({"items": [item()], "nextPageToken": "p2"}),
        ok({"items": [{"kind": "calendar#event", "etag": '"1"', "id": "def67890", "status": "cancelled"}],
            "nextSyncToken": "tok2"}),
    )
    got = cal.changes(CAL, "tok1", NOW)
    assert [sent(http, i)[2].get("pageToken") for i in (0, 1)] == [None, ["p2"]]
    assert all(sent(http, i)[2]["syncToken"] == ["tok1"] for i in (0, 1))
    assert "timeMin" not in sent(http, 0)[2]
    assert got.items[1] == EventChange("def67890", CAL, "cancelled")
    assert (got.next_sync_token, got.full_sync) == ("tok2", False)


def test_an_expired_token_restarts_with_a_full_sync_and_says_so() -> None:
    gone = err(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
    cal, http, _ = calendar(gone, ok({"items": [], "nextSyncToken": "fresh"}))
    got = cal.changes(CAL, "old", NOW)
    assert "timeMin" in sent(http, 1)[2]
    assert (got.next_sync_token, got.full_sync, got.token_expired) == ("fresh", True, True)


def test_other_errors_of_changes_are_not_taken_for_an_expired_token() -> None:
    cal, http, _ = calendar(err(503, "Backend Error", "backendError"))
    with pytest.raises(AdapterError) as exc:
        cal.changes(CAL, "tok1", NOW)
    assert exc.value.transient
    assert len(http.request_sequence) == 1


def dsn_raw(msgid: str) -> str:
    raw = (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        'Content-Type: multipart/report; boundary="b"; report-type=delivery-status\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nfalhou\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; googlemail.com\r\n\r\n"
        "Final-Recipient: rfc822; ana@example.com\r\nAction: failed\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {msgid}\r\n\r\n--b--\r\n"
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def mailer(*answers: tuple[dict[str, str], str], search: bool = True) -> tuple[GmailMailer, HttpMockSequence]:
    http = HttpMockSequence(list(answers))
    return GmailMailer(None, sender="b@example.org", can_search_sent=search, http=http), http  # type: ignore[arg-type]


def test_find_bounces_searches_mailer_daemon_after_the_second_and_reads_each_report_raw() -> None:
    since = datetime(2028, 3, 7, 12, 0, tzinfo=UTC)
    ms = int(since.timestamp() * 1000)
    gm, http = mailer(
        ok({"messages": [{"id": "d1", "threadId": "t"}, {"id": "d0", "threadId": "t"}], "resultSizeEstimate": 2}),
        ok({"id": "d1", "internalDate": str(ms + 5000), "raw": dsn_raw("<a@b.org>")}),
        ok({"id": "d0", "internalDate": str(ms - 500), "raw": dsn_raw("<old@b.org>")}),
    )
    got = gm.find_bounces(since)
    query = sent(http, 0)[2]
    assert query["q"] == [f"from:mailer-daemon after:{int(since.timestamp())}"]
    assert sent(http, 1)[2]["format"] == ["raw"]
    assert [(b.message_id, b.recipient, b.provider_id) for b in got] == [("<a@b.org>", "ana@example.com", "d1")]
    assert got[0].received_at == datetime(2028, 3, 7, 12, 0, 5, tzinfo=UTC)


def test_find_bounces_with_nothing_found_is_one_request() -> None:
    gm, http = mailer(ok({"resultSizeEstimate": 0}))
    assert gm.find_bounces(NOW) == []
    assert len(http.request_sequence) == 1


def test_without_gmail_readonly_or_over_smtp_bounces_cannot_be_read() -> None:
    gm, http = mailer(search=False)
    assert gm.can_read_bounces is False
    with pytest.raises(AdapterError) as exc:
        gm.find_bounces(NOW)
    assert exc.value.reason == "searchDisabled"
    assert http.request_sequence == []
    smtp = SmtpMailer("127.0.0.1", 25, sender="b@example.org", security="none")
    assert smtp.can_read_bounces is False
    with pytest.raises(AdapterError) as exc:
        smtp.find_bounces(NOW)
    assert exc.value.reason == "notSupported"
    assert "mail.bounce_check" in str(exc.value)


def test_find_bounces_refuses_a_naive_time() -> None:
    gm, _ = mailer()
    with pytest.raises(ValueError):
        gm.find_bounces(datetime(2028, 3, 7, 12, 0))
