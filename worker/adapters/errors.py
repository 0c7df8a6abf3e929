"""Vendor exceptions → AdapterError: the one place they are classified; no I/O, no request bodies in messages."""

from __future__ import annotations

import http.client
import json
import re
import smtplib
import socket
import ssl
import sys
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, cast

import google.auth.exceptions
import gspread.exceptions
import requests
import urllib3.exceptions

from worker.model import AdapterError

if TYPE_CHECKING:
    from googleapiclient.errors import HttpError

# googleapiclient and httplib2 are not imported here: a process that only reads the sheet
# (gspread over requests) never loads them, and an exception of theirs can only exist once
# the Calendar or Gmail adapter has imported them, so their classes are looked up in
# sys.modules when an exception is classified.


def _loaded(module: str, name: str) -> tuple[type[BaseException], ...]:
    """``(module.name,)`` when that module is already imported, else ``()``."""
    found = getattr(sys.modules.get(module), name, None)
    return (found,) if isinstance(found, type) and issubclass(found, BaseException) else ()

# 403/400 reasons that mean "slow down / try later" rather than "you may not".
_TRANSIENT_REASONS = frozenset(
    {
        "rateLimitExceeded",
        "userRateLimitExceeded",
        "backendError",
        "quotaExceeded",
        "dailyLimitExceeded",
        "RATE_LIMIT_EXCEEDED",
        "RESOURCE_EXHAUSTED",
    }
)

# Reasons that no retry or per-request fix can cure: the operator must change credentials,
# scopes, sharing or delegation. Every effect pauses until then (issue 6, "authorisation").
_AUTH_REASONS = frozenset(
    {
        "insufficientPermissions",
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        "PERMISSION_DENIED",
        "forbidden",
        "requiredAccessLevel",
        "forbiddenForServiceAccounts",
        "authError",
        "UNAUTHENTICATED",
        "failedPrecondition",  # Gmail with a service account lacking delegation
    }
)

# Messages that mean the same for a service account without domain-wide delegation.
_AUTH_MESSAGES = ("Invalid conference type value",)

_EMAIL = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
_MAX_MESSAGE = 200


def mask_email(text: str) -> str:
    """Mask every e-mail address in ``text``: ``"ana.souza@example.com"`` → ``"a***@example.com"``.

    Vendor messages sometimes echo an address ("550 <ana@x.org>: unknown user"); logs must not.
    """

    def one(m: re.Match[str]) -> str:
        local, _, domain = m.group(0).partition("@")
        return f"{local[:1]}***@{domain}"

    return _EMAIL.sub(one, text)


def _clean(text: str) -> str:
    text = " ".join(str(text).split())
    text = mask_email(text)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def parse_retry_after(value: str | None, date_header: str | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: ``"7"`` → 7.0; an HTTP-date is measured
    against the response's own ``Date`` header (so no clock is read here); otherwise None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    if not date_header:
        return None
    try:
        until = parsedate_to_datetime(value)
        now = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (until - now).total_seconds())


def _google_error(body: Any) -> tuple[str, str | None, str | None]:
    """(message, reason, status) from Google's JSON error shape; tolerant of anything else."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = json.loads(body.decode("utf-8", "replace"))
        except ValueError:
            return "", None, None
    if not isinstance(body, Mapping):
        return "", None, None
    err = body.get("error", body)
    if isinstance(err, str):  # OAuth token endpoint: {"error": "invalid_grant", ...}
        return str(body.get("error_description", "")), err, None
    if not isinstance(err, Mapping):
        return "", None, None
    message = str(err.get("message", ""))
    status = err.get("status")
    reason: str | None = None
    for item in err.get("errors") or ():
        if isinstance(item, Mapping) and item.get("reason"):
            reason = str(item["reason"])
            break
    for detail in err.get("details") or ():
        # google.rpc.ErrorInfo carries the precise reason, e.g. ACCESS_TOKEN_SCOPE_INSUFFICIENT.
        if isinstance(detail, Mapping) and detail.get("reason"):
            if reason is None or str(detail["reason"]) in _AUTH_REASONS:
                reason = str(detail["reason"])
            break
    return message, reason, str(status) if status else None


def from_http_status(
    operation: str,
    status: int,
    *,
    message: str = "",
    reason: str | None = None,
    google_status: str | None = None,
    retry_after: float | None = None,
    write: bool = False,
) -> AdapterError:
    """Classify an HTTP error answer (the rules of issue 6)."""
    reasons = {r for r in (reason, google_status) if r}
    label = reason or google_status or ""
    text = f"{operation}: HTTP {status}" + (f" {label}" if label else "")
    if message:
        text += f": {_clean(message)}"
    auth = False
    outcome_unknown = False
    if status == 401 or reasons & _AUTH_REASONS or any(m in message for m in _AUTH_MESSAGES):
        transient, auth = False, True
        if reasons & _TRANSIENT_REASONS:
            transient, auth = True, False
    elif status in (408, 429) or status >= 500 or reasons & _TRANSIENT_REASONS:
        transient = True
        # A 5xx may come after the server acted (Google documents lost responses); a 429 or 408
        # is a refusal before acting.
        outcome_unknown = write and status >= 500
    else:
        transient = False
    return AdapterError(
        text,
        transient,
        auth=auth,
        status=status,
        reason=label or None,
        retry_after=retry_after,
        outcome_unknown=outcome_unknown,
    )


def _reworded(err: AdapterError, message: str) -> AdapterError:
    return AdapterError(
        message,
        err.transient,
        auth=err.auth,
        status=err.status,
        reason=err.reason,
        retry_after=err.retry_after,
        outcome_unknown=err.outcome_unknown,
    )


def for_response_sheet(err: AdapterError, spreadsheet_id: str, worksheet: str) -> AdapterError:
    """An error of the response worksheet, reworded to name the config key and the fix.

    404 → ``form.spreadsheet_id``; 400 "Unable to parse range" (the tab was renamed or
    deleted since it was found) → ``form.worksheet``; a missing scope → the spreadsheets
    scope. All are permanent: the tick fails and the loop backs off until the operator acts.
    Anything else is returned unchanged.
    """
    if err.status == 404 and err.reason != "worksheetNotFound":
        return _reworded(err, (
            f"{err.message.rstrip('.')}. The spreadsheet form.spreadsheet_id = {spreadsheet_id!r} does not "
            "exist (or was deleted): copy the id from the response sheet's URL (between /d/ and "
            "/edit) into form.spreadsheet_id, then run `balcao check`"
        ))
    if err.status == 400 and "Unable to parse range" in err.message:
        return _reworded(err, (
            f"{err.message.rstrip('.')}. The worksheet form.worksheet = {worksheet!r} is not in the "
            "spreadsheet (renamed or deleted?): set form.worksheet to the name of the tab that "
            "receives the form's responses, then run `balcao check`"
        ))
    if err.auth and err.reason in ("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficientPermissions"):
        return _reworded(err, (
            f"{err.message.rstrip('.')}. The token lacks the scope "
            "https://www.googleapis.com/auth/spreadsheets (revoked or never granted): run "
            "`balcao auth` again and grant every scope (OAuth), or authorise it for the service "
            "account's client id (Admin console, domain-wide delegation); then `balcao check`"
        ))
    return err


def _smtp_error(exc: smtplib.SMTPException, operation: str, write: bool) -> AdapterError:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return AdapterError(
            f"{operation}: SMTP login refused ({exc.smtp_code})",
            False,
            auth=True,
            status=exc.smtp_code,
            reason="authentication",
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # e.g. STARTTLS or AUTH not offered: a set-up problem the operator must fix.
        return AdapterError(
            f"{operation}: {_clean(str(exc))}", False, auth=True, reason="notSupported"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        code = max(codes) if codes else 550
        texts = [
            m.decode("utf-8", "replace") if isinstance(m, bytes) else str(m)
            for _, m in exc.recipients.values()
        ]
        return AdapterError(
            f"{operation}: recipient refused ({code}): {_clean('; '.join(texts))}",
            400 <= code < 500,
            status=code,
            reason="recipientRefused",
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        msg = exc.smtp_error
        text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
        return AdapterError(
            f"{operation}: SMTP {code}: {_clean(text)}",
            not (500 <= code < 600),
            status=code,
            reason=type(exc).__name__,
        )
    # SMTPServerDisconnected and the rest: the connection, not the server's verdict.
    return AdapterError(
        f"{operation}: {type(exc).__name__}: {_clean(str(exc))}",
        True,
        reason="disconnected",
        outcome_unknown=write,
    )


def _is_before_send(exc: BaseException) -> bool:
    """True when a connection error happened before any byte of the request left (refused,
    DNS, connect timeout): the request certainly had no effect."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(
            cur,
            (
                urllib3.exceptions.NewConnectionError,
                urllib3.exceptions.ConnectTimeoutError,
                requests.exceptions.ConnectTimeout,
                ConnectionRefusedError,
                socket.gaierror,
                *_loaded("httplib2", "ServerNotFoundError"),
            ),
        ):
            return True
        nxt: BaseException | None = getattr(cur, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = cur.__cause__ or cur.__context__
            if nxt is None and cur.args and isinstance(cur.args[0], BaseException):
                nxt = cur.args[0]
        cur = nxt
    return False


def classify(exc: BaseException, *, operation: str, write: bool = False) -> AdapterError:
    """Turn any vendor exception into an AdapterError.

    ``operation`` names the call for logs (``"calendar events.insert"``); ``write`` says the
    request is not safe to repeat blindly (a POST that creates or sends): then a dropped
    connection, a read timeout or a 5xx sets ``outcome_unknown``. Examples:
    429 → transient with ``retry_after`` from the header; 403 ``rateLimitExceeded`` → transient;
    401, ``invalid_grant``, 403 ``insufficientPermissions`` → ``auth``; 404/400/409 → permanent;
    connection refused → transient, outcome known (nothing was sent).
    """
    if isinstance(exc, AdapterError):
        return exc
    if isinstance(exc, _loaded("googleapiclient.errors", "HttpError")):
        http_error = cast("HttpError", exc)
        message, reason, gstatus = _google_error(http_error.content)
        headers = http_error.resp if http_error.resp is not None else {}
        return from_http_status(
            operation,
            int(http_error.resp.status),
            message=message,
            reason=reason,
            google_status=gstatus,
            retry_after=parse_retry_after(headers.get("retry-after"), headers.get("date")),
            write=write,
        )
    if isinstance(exc, gspread.exceptions.APIError):
        return _from_gspread(exc, operation, write)
    if isinstance(exc, google.auth.exceptions.RefreshError | google.auth.exceptions.TransportError):
        return _from_auth(exc, operation)
    if isinstance(exc, smtplib.SMTPException):
        return _smtp_error(exc, operation, write)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return AdapterError(
            f"{operation}: TLS certificate not trusted: {_clean(str(exc))}",
            False,
            auth=True,
            reason="certificate",
        )
    if isinstance(
        exc,
        (
            requests.exceptions.RequestException,
            OSError,
            http.client.HTTPException,
            *_loaded("httplib2", "HttpLib2Error"),
        ),
    ):
        return _network(exc, operation, write)
    return AdapterError(
        f"{operation}: unexpected {type(exc).__name__}: {_clean(str(exc))}",
        False,
        reason="unexpected",
    )


def _from_gspread(exc: gspread.exceptions.APIError, operation: str, write: bool) -> AdapterError:
    """A Sheets error raised by gspread (its response carries Google's JSON error)."""
    resp = exc.response
    status = int(resp.status_code) if resp is not None else int(exc.code)
    try:
        body = resp.json() if resp is not None else {}
    except ValueError:
        body = {}
    message, reason, gstatus = _google_error(body)
    h = resp.headers if resp is not None else {}
    return from_http_status(
        operation,
        status,
        message=message,
        reason=reason,
        google_status=gstatus,
        retry_after=parse_retry_after(h.get("Retry-After"), h.get("Date")),
        write=write,
    )


def _from_auth(exc: Exception, operation: str) -> AdapterError:
    """The token endpoint refused the credentials (auth: the operator must act), or could not
    be reached / asked to retry (transient)."""
    if isinstance(exc, google.auth.exceptions.TransportError):
        return AdapterError(
            f"{operation}: token endpoint unreachable: {_clean(str(exc))}", True, reason="transport"
        )
    retryable = bool(getattr(exc, "retryable", False))
    reason = "invalid_grant" if "invalid_grant" in str(exc) else "refreshError"
    if retryable:
        return AdapterError(
            f"{operation}: token refresh failed, will retry: {_clean(str(exc))}",
            True,
            reason=reason,
        )
    return AdapterError(
        f"{operation}: the credentials were refused ({reason}); the operator must renew them "
        f"(balcao auth, or a new service-account key): {_clean(str(exc))}",
        False,
        auth=True,
        reason=reason,
    )


def _network(exc: BaseException, operation: str, write: bool) -> AdapterError:
    before = _is_before_send(exc)
    kind = (
        "timeout" if isinstance(exc, (TimeoutError, requests.exceptions.Timeout)) else "connection"
    )
    return AdapterError(
        f"{operation}: {kind} error ({type(exc).__name__})",
        True,
        reason=kind,
        outcome_unknown=write and not before,
    )
