"""Faults, quota emulation and the request log (DESIGN §3)."""

from __future__ import annotations

import time

import gspread
import pytest
import requests
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError

from tests.clients import make_gspread_client
from tests.sandbox.conftest import SID, WS, error_body

CAL = "agenda@example.org"
EVENT = {"id": "ccccc00001", "start": {"dateTime": "2026-12-01T10:00:00-03:00"},
         "end": {"dateTime": "2026-12-01T10:30:00-03:00"}}


def test_fault_429_fails_the_next_n_matching_requests_as_resource_exhausted(sandbox, ws):
    sandbox.fault(method="GET", path_regex=r"/values/", status=429, times=2)
    for _ in range(2):
        with pytest.raises(gspread.exceptions.APIError) as exc:
            ws.get("A1")
        assert exc.value.code == 429
        assert exc.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert ws.get("A1") == [["Carimbo de data/hora"]]


def test_fault_method_must_match_fully(sandbox, ws):
    sandbox.fault(method="GE", path_regex=r"/values/", status=500)
    assert ws.get("A1") == [["Carimbo de data/hora"]]


def test_fault_5xx_is_backend_error_and_403_keeps_the_given_reason(sandbox, cal):
    sandbox.fault(path_regex=r"/events$", status=503)
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId=CAL, body=EVENT).execute()
    assert exc.value.status_code == 503
    assert exc.value.error_details[0]["reason"] == "backendError"
    sandbox.fault(path_regex=r"/events$", status=403, reason="rateLimitExceeded", message="Rate Limit Exceeded")
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId=CAL, body=EVENT).execute()
    assert exc.value.error_details[0] == {"message": "Rate Limit Exceeded", "domain": "usageLimits",
                                          "reason": "rateLimitExceeded"}


def test_fault_400_with_a_message_and_headers(sandbox, cal):
    sandbox.fault(path_regex=r"/events$", status=400, message="Invalid conference type value.", reason="invalid",
                  headers={"Retry-After": "7"})
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId=CAL, body=EVENT).execute()
    assert exc.value.reason == "Invalid conference type value."
    assert exc.value.resp["retry-after"] == "7"


def test_fault_after_effect_applies_the_operation_and_loses_only_the_response(sandbox, cal):
    sandbox.fault(method="POST", path_regex=r"/events$", status=500, after_effect=True)
    with pytest.raises(HttpError):
        cal.events().insert(calendarId=CAL, body=EVENT).execute()
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId=CAL, body=EVENT).execute()
    assert exc.value.status_code == 409


def test_fault_drop_closes_the_connection_without_an_answer(sandbox, gc):
    sandbox.fault(method="PUT", path_regex=r"/values/", drop=True, after_effect=True)
    ws = gc.open_by_key(SID).worksheet(WS)
    with pytest.raises(requests.exceptions.ConnectionError):
        ws.update([["perdido"]], "K2")
    assert ws.get("K2") == [["perdido"]]  # the write happened; only the answer was lost
    assert [r["status"] for r in sandbox.requests_log() if r["method"] == "sheets.spreadsheets.values.update"] == [0]


def test_fault_delay_answers_late(sandbox, ws):
    sandbox.fault(path_regex=r"/values/", delay_s=0.3)
    t0 = time.monotonic()
    assert ws.get("A1") == [["Carimbo de data/hora"]]
    assert time.monotonic() - t0 >= 0.3


def test_faults_stack_and_delete_clears_them(sandbox, ws):
    sandbox.fault(path_regex=r"/values/", status=500)
    sandbox.fault(path_regex=r"/values/", status=429)
    codes = []
    for _ in range(2):
        with pytest.raises(gspread.exceptions.APIError) as exc:
            ws.get("A1")
        codes.append(exc.value.code)
    assert codes == [500, 429]
    sandbox.fault(path_regex=r"/values/", status=500, times=5)
    sandbox.clear_faults()
    assert ws.get("A1")


def test_bad_fault_spec_is_refused(sandbox):
    with pytest.raises(Exception) as exc:
        sandbox.fault(path_regex="x", status=500, colour="red")
    assert "400" in str(exc.value)


def test_sheets_quota_gives_429_after_60_reads_per_minute_per_user(sandbox):
    sandbox.config(quota=True)
    gc = make_gspread_client(sandbox.url)
    ws = gc.open_by_key(SID).sheet1  # two metadata reads
    for _ in range(58):
        ws.get("A1")
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.get("A1")
    assert exc.value.code == 429
    assert exc.value.error["message"] == (
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service "
        "'sheets.googleapis.com' for consumer 'project_number:000000000000'.")
    ws.update([["escrita"]], "K2")  # writes are counted separately
    other = make_gspread_client(sandbox.url, credentials=Credentials(token="outro"))
    assert other.open_by_key(SID).title  # another user has its own counter


def test_quota_limits_can_be_lowered_for_tests(sandbox, ws):
    sandbox.config(quota=True, quota_limits={"sheets_write_per_user": 2})
    ws.update([["1"]], "K2")
    ws.update([["2"]], "K2")
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.update([["3"]], "K2")
    assert error_body(exc.value)["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"


def test_request_log_records_google_calls_only_with_decoded_path_query_status_and_bytes(sandbox, ws, cal):
    ws.get("A1", value_render_option="UNFORMATTED_VALUE")
    cal.events().insert(calendarId=CAL, body=EVENT, conferenceDataVersion=1).execute()
    sandbox.state()
    log = sandbox.requests_log()
    assert all(not r["path"].startswith("/_sandbox") for r in log)
    get = next(r for r in log if r["method"] == "sheets.spreadsheets.values.get")
    assert get == {"api": "sheets", "method": "sheets.spreadsheets.values.get",
                   "path": f"/v4/spreadsheets/{SID}/values/'{WS}'!A1",
                   "query": {"valueRenderOption": "UNFORMATTED_VALUE"}, "status": 200, "bytes": get["bytes"]}
    assert get["bytes"] > 0
    ins = next(r for r in log if r["method"] == "calendar.events.insert")
    assert ins["path"] == f"/calendar/v3/calendars/{CAL}/events"
    assert ins["query"]["conferenceDataVersion"] == "1"


def test_httplib2_silently_resends_a_post_whose_connection_was_dropped(sandbox, gmail):
    """A hazard for exactly-once sending: googleapiclient's transport retries the POST itself."""
    import base64

    sandbox.fault(method="POST", path_regex=r"/messages/send$", drop=True, after_effect=True)
    raw = base64.urlsafe_b64encode(b"To: ana@example.com\r\nSubject: x\r\n\r\nhi").decode()
    gmail.users().messages().send(userId="me", body={"raw": raw}).execute()  # no error surfaces
    assert len(sandbox.state()["gmail"]["me"]["messages"]) == 2
    assert [r["status"] for r in sandbox.requests_log()] == [0, 200]
