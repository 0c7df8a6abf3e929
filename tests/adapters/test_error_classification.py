"""errors.classify: transient / permanent / authorisation, Retry-After, outcome-unknown, no PII."""

from __future__ import annotations

import http.client
import json
import smtplib
from typing import Any

import google.auth.exceptions
import gspread.exceptions
import httplib2
import pytest
import requests
import urllib3.exceptions
from googleapiclient.errors import HttpError

from worker.adapters.errors import classify, mask_email, parse_retry_after


def google_body(
    code: int,
    message: str,
    reason: str | None = None,
    status: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> bytes:
    err: dict[str, Any] = {"code": code, "message": message}
    if reason:
        err["errors"] = [{"domain": "global", "reason": reason, "message": message}]
    if status:
        err["status"] = status
    if details:
        err["details"] = details
    return json.dumps({"error": err}).encode()


def http_error(code: int, body: bytes, **headers: str) -> HttpError:
    resp = httplib2.Response({"status": code, **headers})
    return HttpError(resp, body, uri="http://127.0.0.1/calendar/v3/calendars/x/events")


def api_error(
    code: int, body: bytes, headers: dict[str, str] | None = None
) -> gspread.exceptions.APIError:
    resp = requests.Response()
    resp.status_code = code
    resp._content = body
    resp.headers.update(headers or {})
    return gspread.exceptions.APIError(resp)


def test_429_is_transient_with_retry_after_seconds() -> None:
    err = classify(
        http_error(
            429,
            google_body(429, "Quota exceeded", status="RESOURCE_EXHAUSTED"),
            **{"retry-after": "7"},
        ),
        operation="calendar events.insert",
        write=True,
    )
    assert err.transient and not err.auth and not err.outcome_unknown
    assert (err.status, err.retry_after) == (429, 7.0)


def test_retry_after_as_http_date_is_measured_against_the_date_header() -> None:
    assert (
        parse_retry_after("Wed, 21 Oct 2026 07:28:30 GMT", "Wed, 21 Oct 2026 07:28:00 GMT") == 30.0
    )
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded", "backendError"])
def test_403_rate_limits_are_transient(reason: str) -> None:
    err = classify(http_error(403, google_body(403, "Rate Limit Exceeded", reason)), operation="op")
    assert err.transient and not err.auth and err.reason == reason


def test_500_on_a_write_leaves_the_outcome_unknown_but_not_on_a_read() -> None:
    body = google_body(500, "Backend Error", "backendError")
    assert classify(
        http_error(500, body), operation="gmail messages.send", write=True
    ).outcome_unknown
    read = classify(http_error(500, body), operation="gmail messages.list")
    assert read.transient and not read.outcome_unknown


def test_insufficient_scope_is_an_authorisation_error() -> None:
    body = google_body(
        403,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
        "PERMISSION_DENIED",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            }
        ],
    )
    err = classify(api_error(403, body), operation="sheets values.batchGet")
    assert err.auth and not err.transient
    assert err.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


def test_401_and_missing_delegation_are_authorisation_errors() -> None:
    assert classify(
        http_error(401, google_body(401, "Invalid Credentials", "authError")), operation="op"
    ).auth
    meet = classify(
        http_error(400, google_body(400, "Invalid conference type value.", "invalid")),
        operation="calendar events.insert",
    )
    assert meet.auth and not meet.transient
    gmail = classify(
        http_error(400, google_body(400, "Precondition check failed.", "failedPrecondition")),
        operation="op",
    )
    assert gmail.auth


@pytest.mark.parametrize("code", [400, 404, 409, 410])
def test_other_4xx_are_permanent(code: int) -> None:
    err = classify(
        api_error(code, google_body(code, "Unable to parse range", "badRequest")), operation="op"
    )
    assert not err.transient and not err.auth and err.status == code


def test_gspread_429_with_retry_after() -> None:
    err = classify(
        api_error(
            429,
            google_body(
                429, "Quota exceeded for quota metric 'Read requests'", status="RESOURCE_EXHAUSTED"
            ),
            {"Retry-After": "30"},
        ),
        operation="sheets values.batchGet",
    )
    assert err.transient and err.retry_after == 30.0 and err.reason == "RESOURCE_EXHAUSTED"


def test_invalid_grant_is_auth_and_a_retryable_refresh_is_transient() -> None:
    revoked = classify(
        google.auth.exceptions.RefreshError(
            "invalid_grant: Token has been expired or revoked.", {"error": "invalid_grant"}
        ),
        operation="sheets values.batchGet",
    )
    assert revoked.auth and revoked.reason == "invalid_grant"
    assert "balcao auth" in revoked.message
    flaky = classify(
        google.auth.exceptions.RefreshError("server error", retryable=True), operation="op"
    )
    assert flaky.transient and not flaky.auth


def test_connection_refused_is_transient_and_certainly_not_sent() -> None:
    err = classify(
        ConnectionRefusedError(111, "Connection refused"),
        operation="gmail messages.send",
        write=True,
    )
    assert err.transient and not err.outcome_unknown
    refused = requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(
            None, "/", urllib3.exceptions.NewConnectionError(None, "refused")
        )  # type: ignore[arg-type]
    )
    assert not classify(refused, operation="sheets values.batchUpdate", write=True).outcome_unknown


def test_dropped_connection_or_read_timeout_on_a_write_is_outcome_unknown() -> None:
    dropped = http.client.RemoteDisconnected("Remote end closed connection without response")
    assert classify(dropped, operation="gmail messages.send", write=True).outcome_unknown
    assert classify(
        TimeoutError("timed out"), operation="calendar events.insert", write=True
    ).outcome_unknown
    aborted = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", dropped)
    )
    err = classify(aborted, operation="sheets values.batchUpdate", write=True)
    assert err.transient and err.outcome_unknown
    assert not classify(
        requests.exceptions.ReadTimeout("read timed out"), operation="op"
    ).outcome_unknown
    assert (
        classify(
            httplib2.ServerNotFoundError("Unable to find the server"), operation="op", write=True
        ).outcome_unknown
        is False
    )


def test_smtp_codes_decide_transient_or_permanent() -> None:
    hard = smtplib.SMTPRecipientsRefused(
        {"ana@example.com": (550, b"5.1.1 <ana@example.com>: no such user")}
    )
    err = classify(hard, operation="smtp send", write=True)
    assert not err.transient and err.status == 550
    assert "ana@example.com" not in err.message
    soft = smtplib.SMTPRecipientsRefused({"ana@example.com": (450, b"greylisted")})
    assert classify(soft, operation="smtp send").transient
    assert not classify(smtplib.SMTPDataError(554, b"rejected"), operation="smtp send").transient
    assert classify(smtplib.SMTPDataError(451, b"try later"), operation="smtp send").transient
    assert classify(
        smtplib.SMTPAuthenticationError(535, b"bad credentials"), operation="smtp send"
    ).auth
    lost = classify(smtplib.SMTPServerDisconnected("gone"), operation="smtp send", write=True)
    assert lost.transient and lost.outcome_unknown


def test_messages_never_carry_addresses_or_request_bodies() -> None:
    body = google_body(400, "Invalid attendee email: ana.souza@example.com", "invalid")
    err = classify(http_error(400, body), operation="calendar events.insert")
    assert "ana.souza@example.com" not in err.message
    assert "a***@example.com" in err.message
    assert mask_email("write to bob@x.org now") == "write to b***@x.org now"


def test_unparseable_error_bodies_still_classify_by_status() -> None:
    err = classify(http_error(503, b"<html>Service Unavailable</html>"), operation="op")
    assert err.transient and err.status == 503
    err = classify(api_error(502, b"Bad gateway"), operation="op")
    assert err.transient and err.status == 502
