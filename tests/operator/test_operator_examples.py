"""credentials.example.json documents both credential shapes with fake values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opkit import REPO, rsa_pem, write_secret

from worker.adapters.google_auth import load_credentials, scopes_for
from worker.model import ConfigError

EXAMPLE = json.loads((REPO / "credentials.example.json").read_text(encoding="utf-8"))


def test_the_example_explains_that_the_real_file_holds_one_shape() -> None:
    assert set(EXAMPLE) == {"_comment", "service_account_example", "authorized_user_example"}
    assert "ONE of the two objects" in EXAMPLE["_comment"]


def test_the_authorised_user_example_has_the_shape_balcao_auth_writes(tmp_path: Path) -> None:
    example = EXAMPLE["authorized_user_example"]
    assert example["scopes"] == scopes_for("gmail", False, False)
    path = write_secret(tmp_path / "token.json", example)
    creds = load_credentials(path, example["scopes"], api_endpoint=None, delegated_user=None)
    assert creds.refresh_token == "1//FAKE-REFRESH-TOKEN"


def test_the_service_account_example_becomes_usable_with_a_real_key(tmp_path: Path) -> None:
    example = EXAMPLE["service_account_example"]
    fake = write_secret(tmp_path / "fake.json", example)
    with pytest.raises(ConfigError, match="private key does not parse"):
        load_credentials(fake, ["x"], api_endpoint=None, delegated_user=None)
    real = write_secret(tmp_path / "real.json", {**example, "private_key": rsa_pem()})
    creds = load_credentials(real, ["x"], api_endpoint=None, delegated_user="a@cartorio.example")
    assert creds.service_account_email == example["client_email"]


def test_the_example_is_not_ignored_but_real_credential_names_are() -> None:
    ignore = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    for entry in ("/credentials.json", "/token.json", "service-account*.json"):
        assert entry in ignore
