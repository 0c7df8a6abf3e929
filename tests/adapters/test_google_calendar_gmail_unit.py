"""GoogleCalendar and GmailMailer over googleapiclient's HttpMockSequence: request shapes and edge cases."""

from __future__ import annotations

import base64
import email
import email.policy
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.http import HttpMockSequence

from worker.adapters.gmail import GmailMailer
from worker.adapters.google_calendar import GoogleCalendar, event_result
from worker.adapters.memory import FixedClock
from worker.model import AdapterError, EmailSpec, EventSpec

BAHIA = ZoneInfo("America/Bahia")
START = datetime(2028, 3, 7, 10, 0, tzinfo=BAHIA)
CAL = "agenda@example.org"


def ok(body: Any) -> tuple[dict[str, str], str]:
    return {"status": "200"}, json.dumps(body)


def err(code: int, message: str, reason: str) -> tuple[dict[str, str], str]:
    return {"status": str(code)}, json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"reason": reason, "message": message}],
            }
        }
    )


def event(
    status: str = "confirmed", meet: str | None = "success", protocol: str = "BV-2028-000001"
) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "id": "abc12345",
        "status": status,
        "htmlLink": "https://calendar/e",
        "extendedProperties": {"private": {"balcaoProtocol": protocol}},
    }
    if meet:
        ev["conferenceData"] = {"createRequest": {"status": {"statusCode": meet}}}
        if meet == "success":
            ev["conferenceData"]["entryPoints"] = [
                {"entryPointType": "phone", "uri": "tel:+55"},
                {"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"},
            ]
            ev["hangoutLink"] = "https://meet.google.com/abc-defg-hij"
    return ev


def spec(*, meet: bool = True, attendee: str | None = None) -> EventSpec:
    return EventSpec(
        event_id="abc12345",
        calendar_id=CAL,
        protocol="BV-2028-000001",
        summary="Atendimento BV-2028-000001 (Ana)",
        description="",
        start=START,
        end=START + timedelta(minutes=30),
        timezone="America/Bahia",
        meet=meet,
        attendee_email=attendee,
    )


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def calendar(
    *answers: tuple[dict[str, str], str], gets: int = 3
) -> tuple[GoogleCalendar, HttpMockSequence, Sleeps]:
    http = HttpMockSequence(list(answers))
    sleeps = Sleeps()
    cal = GoogleCalendar(None, http=http, meet_poll_gets=gets, meet_poll_delay=0.25, sleep=sleeps)  # type: ignore[arg-type]
    return cal, http, sleeps


def sent(http: HttpMockSequence, i: int) -> tuple[str, str, dict[str, list[str]], Any]:
    uri, method, body, _ = http.request_sequence[i]
    parts = urlsplit(uri)
    return method, parts.path, parse_qs(parts.query), json.loads(body) if body else None


def test_insert_asks_for_meet_with_version_1_and_an_offset_and_zone() -> None:
    cal, http, _ = calendar(ok(event()))
    result = cal.create_event(spec())
    assert result.meet_link == "https://meet.google.com/abc-defg-hij"
    method, path, q, body = sent(http, 0)
    assert (method, path) == ("POST", "/calendar/v3/calendars/agenda%40example.org/events")
    assert q["conferenceDataVersion"] == ["1"] and q["sendUpdates"] == ["none"]
    assert body["id"] == "abc12345"
    assert body["start"] == {"dateTime": "2028-03-07T10:00:00-03:00", "timeZone": "America/Bahia"}
    assert body["conferenceData"]["createRequest"] == {
        "requestId": "abc12345",
        "conferenceSolutionKey": {"type": "hangoutsMeet"},
    }
    assert body["extendedProperties"] == {"private": {"balcaoProtocol": "BV-2028-000001"}}
    assert "attendees" not in body


def test_whatsapp_event_has_no_conference_and_an_attendee_gets_invited() -> None:
    cal, http, _ = calendar(ok(event(meet=None)))
    result = cal.create_event(spec(meet=False, attendee="ana@example.com"))
    assert (result.meet_status, result.meet_link) == (None, None)
    _, _, q, body = sent(http, 0)
    assert q["sendUpdates"] == ["all"] and q["conferenceDataVersion"] == ["1"]
    assert "conferenceData" not in body
    assert body["attendees"] == [{"email": "ana@example.com"}]


def test_409_reads_the_event_back_and_a_cancelled_one_stays_cancelled() -> None:
    cal, http, _ = calendar(
        err(409, "The requested identifier already exists.", "duplicate"),
        ok(event(status="cancelled")),
    )
    result = cal.create_event(spec())
    assert result.status == "cancelled"
    assert [m for _, m, _, _ in http.request_sequence] == ["POST", "GET"]


def test_409_on_an_id_that_no_longer_reads_back_counts_as_deleted() -> None:
    cal, _, _ = calendar(err(409, "exists", "duplicate"), err(404, "Not Found", "notFound"))
    result = cal.create_event(spec())
    assert (result.status, result.meet_link) == ("cancelled", None)


def test_409_on_an_id_of_another_protocol_is_refused() -> None:
    cal, _, _ = calendar(err(409, "exists", "duplicate"), ok(event(protocol="BV-2028-000999")))
    with pytest.raises(AdapterError, match="another protocol"):
        cal.create_event(spec())


def test_pending_meet_is_polled_a_bounded_number_of_times() -> None:
    cal, http, sleeps = calendar(ok(event(meet="pending")), ok(event(meet="pending")), ok(event()))
    result = cal.create_event(spec())
    assert result.meet_status == "success" and result.meet_link
    assert sleeps == [0.25, 0.25]
    cal, http, sleeps = calendar(ok(event(meet="pending")), ok(event(meet="pending")), gets=1)
    result = cal.create_event(spec())
    assert (result.meet_status, result.meet_link) == ("pending", None)
    assert len(http.request_sequence) == 2


def test_insert_failure_is_classified_as_a_write_and_never_retried() -> None:
    cal, http, _ = calendar(err(503, "Backend Error", "backendError"), ok(event()))
    with pytest.raises(AdapterError) as e:
        cal.create_event(spec())
    assert e.value.transient and e.value.outcome_unknown
    assert len(http.request_sequence) == 1


def test_get_of_an_unknown_id_is_none_and_delete_of_a_deleted_one_is_done() -> None:
    cal, _, _ = calendar(
        err(404, "Not Found", "notFound"), err(410, "Resource has been deleted", "deleted")
    )
    assert cal.get_event(CAL, "zzz99999") is None
    cal.delete_event(CAL, "abc12345")


def test_busy_splits_long_ranges_and_many_calendars_and_parses_times() -> None:
    ids = [f"c{i}@example.org" for i in range(60)]
    start = datetime(2028, 3, 1, tzinfo=BAHIA)
    end = start + timedelta(days=100)
    answers = []
    for _chunk in range(2):
        for group in (ids[:50], ids[50:]):
            calendars: dict[str, Any] = {c: {"busy": []} for c in group}
            answers.append(ok({"calendars": calendars}))
    # first chunk, first group: busy spans written as Google does, .000Z and offsets
    first = json.loads(answers[0][1])
    first["calendars"]["c0@example.org"]["busy"] = [
        {"start": "2028-03-02T13:00:00.000Z", "end": "2028-03-02T13:30:00.000Z"},
        {"start": "2028-03-02T10:20:00-03:00", "end": "2028-03-02T11:00:00-03:00"},
    ]
    answers[0] = ok(first)
    cal, http, _ = calendar(*answers)
    busy = cal.busy(ids, start, end)
    assert len(http.request_sequence) == 4
    bodies = [sent(http, i)[3] for i in range(4)]
    assert [len(b["items"]) for b in bodies] == [50, 10, 50, 10]
    assert bodies[0]["timeMin"] == start.isoformat()
    assert bodies[2]["timeMax"] == end.isoformat()
    assert busy["c0@example.org"] == [
        (datetime(2028, 3, 2, 10, 0, tzinfo=BAHIA), datetime(2028, 3, 2, 11, 0, tzinfo=BAHIA))
    ]
    assert set(busy) == set(ids)


def test_busy_on_a_calendar_not_shared_is_an_operator_error() -> None:
    cal, _, _ = calendar(
        ok(
            {
                "calendars": {
                    CAL: {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                }
            }
        )
    )
    with pytest.raises(AdapterError) as e:
        cal.busy([CAL], START, START + timedelta(days=1))
    assert e.value.auth and "agenda@example.org" not in e.value.message


def test_find_events_filters_by_the_private_property_and_shows_deleted() -> None:
    cal, http, _ = calendar(
        ok({"items": [event()], "nextPageToken": "p2"}), ok({"items": [event(status="cancelled")]})
    )
    found = cal.find_events(CAL, "BV-2028-000001")
    assert [e.status for e in found] == ["confirmed", "cancelled"]
    _, _, q, _ = sent(http, 0)
    assert q["privateExtendedProperty"] == ["balcaoProtocol=BV-2028-000001"]
    assert q["showDeleted"] == ["true"]
    assert sent(http, 1)[2]["pageToken"] == ["p2"]


def test_meet_link_falls_back_to_hangout_link() -> None:
    result = event_result({"id": "x", "hangoutLink": "https://meet.google.com/xyz-abcd-efg"})
    assert (result.meet_status, result.meet_link) == (
        "success",
        "https://meet.google.com/xyz-abcd-efg",
    )


# --------------------------------------------------------------------------- Gmail

MAIL = EmailSpec(
    to="ana@example.com",
    subject="Recebemos sua solicitação",
    text="Olá",
    html="<p>Olá</p>",
    message_id="<ack.bv-2028-000001.0@balcao.example.org>",
    kind="ack",
)


def gmail(
    *answers: tuple[dict[str, str], str], search: bool = True
) -> tuple[GmailMailer, HttpMockSequence]:
    http = HttpMockSequence(list(answers))
    mailer = GmailMailer(
        None,  # type: ignore[arg-type]
        sender="Cartório <balcao@example.org>",
        can_search_sent=search,
        http=http,
        clock=FixedClock(START),
    )
    return mailer, http


def test_send_posts_the_raw_message_once() -> None:
    mailer, http = gmail(ok({"id": "18e1", "threadId": "18e1", "labelIds": ["SENT"]}))
    assert mailer.send(MAIL) == "18e1"
    method, path, _, body = sent(http, 0)
    assert (method, path) == ("POST", "/gmail/v1/users/me/messages/send")
    raw = base64.urlsafe_b64decode(body["raw"] + "==")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Message-ID"] == MAIL.message_id and msg["To"] == "ana@example.com"


def test_send_failure_is_outcome_unknown_and_not_retried() -> None:
    mailer, http = gmail(err(500, "Backend Error", "backendError"), ok({"id": "dup"}))
    with pytest.raises(AdapterError) as e:
        mailer.send(MAIL)
    assert e.value.outcome_unknown
    assert len(http.request_sequence) == 1


def test_find_sent_searches_by_message_id_without_brackets() -> None:
    mailer, http = gmail(
        ok({"messages": [{"id": "18e1", "threadId": "t"}], "resultSizeEstimate": 1}),
        ok({"resultSizeEstimate": 0}),
    )
    assert mailer.find_sent(MAIL.message_id) == "18e1"
    assert sent(http, 0)[2]["q"] == ["rfc822msgid:ack.bv-2028-000001.0@balcao.example.org"]
    assert mailer.find_sent("<other@x.org>") is None


def test_find_sent_without_the_read_scope_is_refused_before_any_request() -> None:
    mailer, http = gmail(search=False)
    with pytest.raises(AdapterError, match=r"gmail\.readonly"):
        mailer.find_sent(MAIL.message_id)
    assert http.request_sequence == []


def test_read_message_id_and_profile() -> None:
    mailer, http = gmail(
        ok(
            {
                "id": "18e1",
                "payload": {
                    "headers": [{"name": "Message-Id", "value": "<rewritten@mail.gmail.com>"}]
                },
            }
        ),
        err(404, "Not Found", "notFound"),
        ok({"emailAddress": "balcao@example.org", "messagesTotal": 3}),
    )
    assert mailer.read_message_id("18e1") == "<rewritten@mail.gmail.com>"
    assert sent(http, 0)[2]["metadataHeaders"] == ["Message-ID"]
    assert mailer.read_message_id("gone") is None
    assert mailer.profile()["emailAddress"] == "balcao@example.org"
