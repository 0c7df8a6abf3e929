"""Credentials loading (service account, authorised user, sandbox token) and scopes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import google.oauth2.credentials
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from worker.adapters.google_auth import SANDBOX_TOKEN, SCOPES, load_credentials, scopes_for
from worker.model import ConfigError

BASE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def write_json(path: Path, data: dict[str, object]) -> str:
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def sa_file(tmp_path: Path, private_key_pem: str) -> str:
    return write_json(
        tmp_path / "sa.json",
        {
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": "0123456789abcdef",
            "private_key": private_key_pem,
            "client_email": "balcao@demo-project.iam.gserviceaccount.com",
            "client_id": "100000000000000000001",
            "token_uri": "https://oauth2.googleapis.com/token",
        },
    )


@pytest.fixture
def user_file(tmp_path: Path) -> str:
    return write_json(
        tmp_path / "token.json",
        {
            "type": "authorized_user",
            "token": "ya29.old",
            "refresh_token": "1//refresh",
            "client_id": "abc.apps.googleusercontent.com",
            "client_secret": "GOCSPX-secret",
            "token_uri": "https://oauth2.googleapis.com/token",
        },
    )


def test_scopes_are_least_privilege_for_each_configuration() -> None:
    base = [SCOPES.SPREADSHEETS, SCOPES.CALENDAR_EVENTS, SCOPES.CALENDAR_FREEBUSY]
    assert scopes_for("gmail", False, False) == [*base, SCOPES.GMAIL_SEND]
    assert scopes_for("gmail", True, True) == [*base, SCOPES.GMAIL_SEND, SCOPES.GMAIL_READONLY]
    assert scopes_for("smtp", False, True) == base
    with pytest.raises(ConfigError):
        scopes_for("pigeon", False, False)


def test_sandbox_without_a_file_gets_a_dummy_token_that_never_refreshes() -> None:
    creds = load_credentials(None, [SCOPES.SPREADSHEETS], api_endpoint=BASE, delegated_user=None)
    assert isinstance(creds, google.oauth2.credentials.Credentials)
    assert creds.token == SANDBOX_TOKEN and creds.valid and creds.expiry is None


def test_production_without_a_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"google\.credentials_file"):
        load_credentials(None, [], api_endpoint=None, delegated_user=None)


def test_service_account_is_delegated_and_its_token_uri_rebased(sa_file: str) -> None:
    creds = load_credentials(
        sa_file,
        [SCOPES.CALENDAR_EVENTS],
        api_endpoint=BASE + "/",
        delegated_user="agenda@example.org",
    )
    assert isinstance(creds, service_account.Credentials)
    assert creds._token_uri == BASE + "/token"
    assert creds._subject == "agenda@example.org"
    assert creds._scopes == [SCOPES.CALENDAR_EVENTS]


@responses.activate
def test_service_account_token_exchange_goes_to_the_sandbox(sa_file: str) -> None:
    responses.post(
        BASE + "/token",
        json={"access_token": "sandbox-issued", "expires_in": 3600, "token_type": "Bearer"},
    )
    creds = load_credentials(sa_file, [SCOPES.SPREADSHEETS], api_endpoint=BASE, delegated_user=None)
    creds.refresh(Request())
    assert creds.token == "sandbox-issued"
    body = responses.calls[0].request.body
    sent = parse_qs(body.decode() if isinstance(body, bytes) else str(body))
    assert sent["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]


@responses.activate
def test_authorised_user_refreshes_against_the_sandbox(user_file: str) -> None:
    responses.post(BASE + "/token", json={"access_token": "fresh", "expires_in": 3600})
    creds = load_credentials(user_file, [SCOPES.GMAIL_SEND], api_endpoint=BASE, delegated_user=None)
    assert isinstance(creds, google.oauth2.credentials.Credentials)
    assert creds.token_uri == BASE + "/token"
    creds.refresh(Request())
    assert creds.token == "fresh"


def test_production_keeps_the_files_token_uri(user_file: str) -> None:
    creds = load_credentials(user_file, [SCOPES.GMAIL_SEND], api_endpoint=None, delegated_user=None)
    assert creds.token_uri == "https://oauth2.googleapis.com/token"  # type: ignore[attr-defined]


def test_delegation_with_a_user_token_is_a_config_error(user_file: str) -> None:
    with pytest.raises(ConfigError, match="delegated_user"):
        load_credentials(user_file, [], api_endpoint=None, delegated_user="x@example.org")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"type": "external_account"}', "external_account"),
        ('{"installed": {"client_id": "x"}}', "balcao auth"),
        ("not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (
            '{"type": "service_account", "private_key": "garbage", "client_email": "a@b", "token_uri": "t"}',
            "cannot be used",
        ),
    ],
)
def test_unusable_files_are_config_errors_naming_the_file(
    tmp_path: Path, content: str, match: str
) -> None:
    path = tmp_path / "creds.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match) as err:
        load_credentials(str(path), [], api_endpoint=None, delegated_user=None)
    assert str(path) in str(err.value)
    assert "garbage" not in str(err.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no file"):
        load_credentials(str(tmp_path / "nope.json"), [], api_endpoint=None, delegated_user=None)
