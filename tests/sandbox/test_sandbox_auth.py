"""OAuth token endpoint, the authorization endpoint and per-method scope checks."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
import webbrowser

import gspread
import httplib2
import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tests.clients import make_google_service, make_gspread_client
from tests.sandbox.conftest import SID, WS, error_body

SHEETS_RO = "https://www.googleapis.com/auth/spreadsheets.readonly"
CAL_EVENTS = "https://www.googleapis.com/auth/calendar.events"
GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
GMAIL_RO = "https://www.googleapis.com/auth/gmail.readonly"


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def sa_info(base: str, pem: str) -> dict:
    return {
        "type": "service_account", "project_id": "demo-project", "private_key_id": "0" * 40,
        "private_key": pem, "client_email": "balcao@demo-project.iam.gserviceaccount.com",
        "client_id": "100000000000000000001", "token_uri": base + "/token",
    }


def raw_mail(to="ana@example.com") -> str:
    return base64.urlsafe_b64encode(
        f"To: {to}\r\nFrom: agenda@example.org\r\nSubject: Oi\r\nMessage-ID: <x@y.example>\r\n\r\nOi".encode()
    ).decode()


def test_request_without_authorization_is_401_unauthenticated(sandbox):
    session = requests.Session()
    session.trust_env = False
    resp = session.get(f"{sandbox.url}/v4/spreadsheets/{SID}", timeout=10)
    assert resp.status_code == 401
    err = resp.json()["error"]
    assert err["status"] == "UNAUTHENTICATED"
    assert err["message"].startswith("Request is missing required authentication credential.")
    assert err["errors"][0]["reason"] == "required"


def test_service_account_jwt_grant_issues_a_token_with_exactly_the_requested_scopes(sandbox, rsa_pem):
    creds = service_account.Credentials.from_service_account_info(sa_info(sandbox.url, rsa_pem), scopes=[SHEETS_RO])
    gc = make_gspread_client(sandbox.url, credentials=creds)
    ws = gc.open_by_key(SID).worksheet(WS)
    assert ws.get("A1")[0][0] == "Carimbo de data/hora"
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.update([["x"]], "K2")
    assert exc.value.code == 403
    err = exc.value.error
    assert err["message"] == "Request had insufficient authentication scopes."
    assert err["status"] == "PERMISSION_DENIED"
    assert err["errors"][0]["reason"] == "insufficientPermissions"
    assert err["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    token_calls = [r for r in sandbox.requests_log() if r["api"] == "oauth"]
    assert [r["method"] for r in token_calls] == ["oauth.token"]


def test_delegated_service_account_speaks_for_its_subject(sandbox, rsa_pem):
    creds = service_account.Credentials.from_service_account_info(
        sa_info(sandbox.url, rsa_pem), scopes=[CAL_EVENTS, GMAIL_SEND]).with_subject("agenda@example.org")
    gmail = make_google_service("gmail", "v1", sandbox.url, credentials=creds)
    gmail.users().messages().send(userId="me", body={"raw": raw_mail()}).execute()
    with pytest.raises(HttpError) as exc:  # list needs a read scope
        gmail.users().messages().list(userId="me", q="in:sent").execute()
    assert exc.value.status_code == 403
    assert exc.value.error_details[0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().send(userId="outra@example.org", body={"raw": raw_mail()}).execute()
    assert exc.value.reason == "Delegation denied for outra@example.org"
    cal = make_google_service("calendar", "v3", sandbox.url, credentials=creds)
    ev = cal.events().insert(calendarId="primary", body={
        "start": {"dateTime": "2026-12-01T10:00:00-03:00"}, "end": {"dateTime": "2026-12-01T10:30:00-03:00"}}).execute()
    assert ev["organizer"]["email"] == "agenda@example.org"
    with pytest.raises(HttpError) as exc:  # calendars.get needs calendar(.readonly), not calendar.events
        cal.calendars().get(calendarId="primary").execute()
    assert exc.value.status_code == 403


def test_unknown_refresh_token_gets_a_token_with_every_scope(sandbox):
    creds = Credentials(token=None, refresh_token="1//desconhecido", client_id="cid", client_secret="sec",
                        token_uri=sandbox.url + "/token")
    gmail = make_google_service("gmail", "v1", sandbox.url, credentials=creds)
    assert gmail.users().messages().list(userId="me", q="in:sent").execute() == {"resultSizeEstimate": 0}
    assert creds.token.startswith("ya29.")


def _authorize(sandbox, scopes, redirect="http://127.0.0.1:9/", **extra):
    session = requests.Session()
    session.trust_env = False
    params = {"response_type": "code", "client_id": "cid", "redirect_uri": redirect,
              "scope": " ".join(scopes), "state": "xyz", **extra}
    resp = session.get(sandbox.url + "/o/oauth2/auth", params=params, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(redirect)
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def test_authorization_code_grant_then_refresh_keeps_the_granted_scopes(sandbox):
    got = _authorize(sandbox, [GMAIL_SEND])
    assert got["state"] == "xyz"
    session = requests.Session()
    session.trust_env = False
    tok = session.post(sandbox.url + "/token", data={
        "grant_type": "authorization_code", "code": got["code"], "redirect_uri": "http://127.0.0.1:9/",
        "client_id": "cid", "client_secret": "sec"}, timeout=10).json()
    assert tok["scope"] == GMAIL_SEND
    assert tok["token_type"] == "Bearer"
    again = session.post(sandbox.url + "/token", data={
        "grant_type": "authorization_code", "code": got["code"], "redirect_uri": "http://127.0.0.1:9/"}, timeout=10)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "Malformed auth code."}
    creds = Credentials(token=None, refresh_token=tok["refresh_token"], client_id="cid", client_secret="sec",
                        token_uri=sandbox.url + "/token", scopes=[GMAIL_SEND])
    creds.refresh(Request(session))
    gmail = make_google_service("gmail", "v1", sandbox.url, credentials=creds)
    gmail.users().messages().send(userId="me", body={"raw": raw_mail()}).execute()
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().list(userId="me").execute()
    assert exc.value.status_code == 403


def test_installed_app_flow_runs_end_to_end_against_the_sandbox(sandbox, monkeypatch):
    from google_auth_oauthlib.flow import InstalledAppFlow

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox token endpoint is plain http
    client_config = {"installed": {"client_id": "cid.apps.googleusercontent.com", "client_secret": "sec",
                                   "auth_uri": sandbox.url + "/o/oauth2/auth", "token_uri": sandbox.url + "/token",
                                   "redirect_uris": ["http://localhost"]}}
    flow = InstalledAppFlow.from_client_config(client_config, scopes=[GMAIL_SEND, GMAIL_RO])

    class Browser:
        def open(self, url, new=0, autoraise=True):
            def visit():
                s = requests.Session()
                s.trust_env = False
                s.get(url, timeout=10)  # follows the 302 to the flow's loopback server

            threading.Thread(target=visit, daemon=True).start()
            return True

    monkeypatch.setattr(webbrowser, "get", lambda *a, **k: Browser())
    creds = flow.run_local_server(host="127.0.0.1", port=0, open_browser=True, timeout_seconds=10)
    assert set(creds.scopes) == {GMAIL_SEND, GMAIL_RO}
    gmail = make_google_service("gmail", "v1", sandbox.url, credentials=creds)
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == "balcao.sandbox@example.org"


def test_pkce_verifier_must_match_the_challenge(sandbox):
    verifier = "v" * 50
    import hashlib

    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    got = _authorize(sandbox, [GMAIL_SEND], code_challenge=challenge, code_challenge_method="S256")
    session = requests.Session()
    session.trust_env = False
    bad = session.post(sandbox.url + "/token", data={"grant_type": "authorization_code", "code": got["code"],
                                                     "redirect_uri": "http://127.0.0.1:9/", "code_verifier": "w" * 50})
    assert bad.json()["error"] == "invalid_grant"


def test_unsupported_grant_type_is_oauth_shaped(sandbox):
    session = requests.Session()
    session.trust_env = False
    resp = session.post(sandbox.url + "/token", data={"grant_type": "password"}, timeout=10)
    assert resp.status_code == 400
    assert resp.json() == {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: password"}


def test_token_endpoint_fault_is_oauth_shaped_and_becomes_refresh_error(sandbox):
    sandbox.fault(path_regex="^/token$", status=400, reason="invalid_grant", message="Token has been expired or revoked.")
    creds = Credentials(token=None, refresh_token="1//x", client_id="c", client_secret="s", token_uri=sandbox.url + "/token")
    with pytest.raises(RefreshError) as exc:
        s = requests.Session()
        s.trust_env = False
        creds.refresh(Request(s))
    assert "invalid_grant" in str(exc.value)
    assert sandbox.requests_log()[-1]["status"] == 400


def test_calendar_service_path_trap_gives_404(sandbox):
    http = httplib2.Http(timeout=10, proxy_info=None)
    from google_auth_httplib2 import AuthorizedHttp

    svc = build("calendar", "v3", http=AuthorizedHttp(Credentials(token="t"), http=http),
                client_options={"api_endpoint": sandbox.url + "/"}, static_discovery=True)
    with pytest.raises(HttpError) as exc:
        svc.calendars().get(calendarId="x@example.org").execute()
    assert exc.value.status_code == 404
    assert error_body(exc.value)["status"] == "NOT_FOUND"
    assert json.loads(exc.value.content)["error"]["code"] == 404
