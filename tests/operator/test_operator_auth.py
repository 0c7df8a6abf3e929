"""`balcao auth`: the installed-app flow end to end against the sandbox's OAuth endpoints."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from opkit import write_secret

from worker.auth import is_loopback_http, run_auth, write_token_atomically
from worker.check import run_check
from worker.model import ConfigError

pytestmark = pytest.mark.integration


def consent(settings: Any, capsys: pytest.CaptureFixture[str], **kw: Any) -> tuple[int, str]:
    """Run `balcao auth` in a thread, open the printed URL like a browser would (following the
    sandbox's redirect to the loopback listener) and return (exit code, printed text)."""
    result: dict[str, int] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("code", run_auth(settings, port=0, timeout_seconds=10, **kw)),
        daemon=True,
    )
    thread.start()
    printed = ""
    url = None
    deadline = time.monotonic() + 10
    while url is None and time.monotonic() < deadline:
        printed += capsys.readouterr().out
        m = re.search(r"^\s+(http://127\.0\.0\.1:\d+/o/oauth2/auth\?\S+)$", printed, re.M)
        url = m.group(1) if m else None
        time.sleep(0.01)
    assert url, printed
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(url, timeout=10)
    thread.join(10)
    printed += capsys.readouterr().out
    assert page.status_code == 200 and "authorised" in page.text
    return result["code"], printed


def test_auth_writes_an_authorised_user_token_with_mode_0600_and_the_configured_scopes(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    token = tmp_path / "secrets" / "token.json"
    s = make_settings(google__credentials_file=str(token))
    code, printed = consent(s, capsys)
    assert code == 0, printed
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    data = json.loads(token.read_text())
    assert data["type"] == "authorized_user"
    assert data["refresh_token"].startswith("1//sandbox-")
    assert data["scopes"] == [
        "https://www.googleapis.com/auth/spreadsheets",
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.freebusy",
        "https://www.googleapis.com/auth/gmail.send",
    ]
    assert [p.name for p in token.parent.iterdir()] == ["token.json"]  # no temp file left
    assert "ssh -L" in printed and "✓ token written" in printed


def test_the_token_from_auth_passes_balcao_check_with_least_privilege(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    token = tmp_path / "token.json"
    s = make_settings(google__credentials_file=str(token))
    assert consent(s, capsys)[0] == 0
    out = io.StringIO()
    assert run_check(s, probe=True, out=out) == 0, out.getvalue()
    assert "OAuth token (balcao auth), mode 0600" in out.getvalue()


def test_auth_asks_gmail_readonly_only_when_the_sent_check_is_on(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    token = tmp_path / "token.json"
    s = make_settings(google__credentials_file=str(token), mail__sent_check="true")
    assert consent(s, capsys)[0] == 0
    assert "https://www.googleapis.com/auth/gmail.readonly" in json.loads(token.read_text())["scopes"]


def test_auth_replaces_an_old_token_file_and_leaves_the_insecure_transport_flag_as_it_was(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    token = tmp_path / "token.json"
    token.write_text('{"type": "authorized_user", "refresh_token": "old"}')
    os.chmod(token, 0o644)
    assert consent(make_settings(google__credentials_file=str(token)), capsys)[0] == 0
    assert json.loads(token.read_text())["refresh_token"] != "old"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_auth_without_credentials_file_names_the_key(make_settings: Any) -> None:
    with pytest.raises(ConfigError, match=r"google\.credentials_file: expected the path"):
        run_auth(make_settings(), port=0)


def test_auth_against_google_without_client_secrets_says_how_to_get_them(
    make_settings: Any, tmp_path: Path,
) -> None:
    s = make_settings(google__api_endpoint="", google__credentials_file=str(tmp_path / "t.json"))
    with pytest.raises(ConfigError, match=r"--client-secrets: .*Desktop app"):
        run_auth(s, port=0)


def test_auth_refuses_a_file_that_is_not_an_oauth_client(make_settings: Any, tmp_path: Path) -> None:
    bad = write_secret(tmp_path / "client.json", {"type": "service_account"})
    s = make_settings(google__credentials_file=str(tmp_path / "t.json"))
    with pytest.raises(ConfigError, match="not an OAuth client file"):
        run_auth(s, client_secrets=bad, port=0)


def test_auth_never_overwrites_a_service_account_key(make_settings: Any, sa_key: str) -> None:
    with pytest.raises(ConfigError, match="holds a service-account key"):
        run_auth(make_settings(google__credentials_file=sa_key), port=0)


def test_a_client_secrets_file_gets_the_sandbox_endpoints_when_api_endpoint_is_set(
    make_settings: Any, tmp_path: Path, sandbox: Any,
) -> None:
    from worker.auth import client_config

    path = write_secret(tmp_path / "client.json", {"installed": {
        "client_id": "1-x.apps.googleusercontent.com", "client_secret": "GOCSPX-fake",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token"}})
    cfg = client_config(make_settings(), path)["installed"]
    assert (cfg["auth_uri"], cfg["token_uri"]) == (sandbox.url + "/o/oauth2/auth", sandbox.url + "/token")
    assert cfg["client_id"] == "1-x.apps.googleusercontent.com"


def test_write_token_atomically_creates_the_folder_and_a_0600_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "token.json"
    old = os.umask(0)
    try:
        write_token_atomically(str(target), '{"a": 1}')
    finally:
        os.umask(old)
    assert target.read_text() == '{"a": 1}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8080", True), ("http://localhost:9/", True), ("http://[::1]:5", True),
    ("https://127.0.0.1:8080", False), ("http://10.0.0.5:8080", False), (None, False),
])
def test_insecure_transport_is_allowed_only_for_loopback_http(url: str | None, expected: bool) -> None:
    assert is_loopback_http(url) is expected
