"""Fixtures for the operator tests: settings against the sandbox, a service-account key with a
throwaway RSA key, and OAuth token files issued by the sandbox for chosen scopes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opkit import REPO, SA_EMAIL, rsa_pem, sandbox_refresh_token, write_secret

from worker import config
from worker.config import Settings


@pytest.fixture
def make_settings(sandbox: Any, tmp_path: Path) -> Callable[..., Settings]:
    """Settings from the shipped config.yaml pointed at the sandbox; ``env`` as BALCAO__ keys."""

    def make(**env: str) -> Settings:
        environ = {
            "BALCAO__GOOGLE__API_ENDPOINT": sandbox.url,
            "BALCAO__FORM__SPREADSHEET_ID": "sandbox-sheet",
            "BALCAO__JOURNAL__PATH": str(tmp_path / "journal.sqlite3"),
        }
        environ.update({f"BALCAO__{k.upper()}": v for k, v in env.items()})
        return config.load(REPO / "config.yaml", environ=environ)

    return make


@pytest.fixture
def sa_key(tmp_path: Path, sandbox: Any) -> str:
    """A service-account key file (mode 0600) whose token exchange goes to the sandbox."""
    return write_secret(tmp_path / "service-account.json", {
        "type": "service_account",
        "project_id": "demo-project-123456",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": rsa_pem(),
        "client_email": SA_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": sandbox.url + "/token",
    })


@pytest.fixture
def user_token(tmp_path: Path, sandbox: Any) -> Callable[[list[str]], str]:
    """An authorised-user token file (as `balcao auth` writes it) granted ``scopes``."""

    def make(scopes: list[str]) -> str:
        return write_secret(tmp_path / "token.json", {
            "type": "authorized_user",
            "refresh_token": sandbox_refresh_token(sandbox.url, scopes),
            "client_id": "c", "client_secret": "s",
            "token_uri": sandbox.url + "/token",
            "scopes": scopes,
        })

    return make
