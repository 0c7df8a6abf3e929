"""What the operator reads when the configuration points at the wrong thing: each message names the key and the fix."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from opkit import REPO

from worker.adapters.google_auth import load_credentials
from worker.adapters.google_sheets import GoogleSheet
from worker.check import Checker
from worker.config import load
from worker.model import AdapterError, ConfigError
from worker.runner import operator_action

WORKSHEET = "Respostas ao formulário 1"


def sheet(sandbox: Any, spreadsheet_id: str = "sandbox-sheet", worksheet: str = WORKSHEET) -> GoogleSheet:
    creds = load_credentials(None, [], api_endpoint=sandbox.url, delegated_user=None)
    return GoogleSheet(creds, spreadsheet_id, worksheet, api_endpoint=sandbox.url, timeout=5)


@pytest.mark.integration
def test_a_wrong_spreadsheet_id_names_form_spreadsheet_id_and_where_to_copy_it(sandbox: Any) -> None:
    with pytest.raises(AdapterError) as caught:
        sheet(sandbox, spreadsheet_id="1NoSuchSheetXyz").info()
    err = caught.value
    assert "form.spreadsheet_id = '1NoSuchSheetXyz'" in err.message
    assert "between /d/ and /edit" in err.message and "balcao check" in err.message
    assert ".." not in err.message
    assert not err.transient  # the tick fails and the loop backs off instead of hammering


@pytest.mark.integration
def test_a_wrong_worksheet_names_form_worksheet_and_lists_the_tabs(sandbox: Any) -> None:
    with pytest.raises(AdapterError) as caught:
        sheet(sandbox, worksheet="Respostas").info()
    message = caught.value.message
    assert "form.worksheet = 'Respostas' not found" in message
    assert f"'{WORKSHEET}'" in message
    assert "set form.worksheet" in message


@pytest.mark.integration
def test_a_worksheet_renamed_after_it_was_found_names_form_worksheet(sandbox: Any) -> None:
    # Reading by range without a fresh metadata read is what a tick does once info() is cached.
    with pytest.raises(AdapterError) as caught:
        sheet(sandbox, worksheet="Renomeada").read(["A1:B2"])
    assert "form.worksheet = 'Renomeada'" in caught.value.message


@pytest.mark.integration
def test_a_sheet_read_without_the_spreadsheets_scope_names_the_scope(
    sandbox: Any, user_token: Any
) -> None:
    from worker.adapters.google_auth import SCOPES

    creds = load_credentials(user_token([SCOPES.CALENDAR_EVENTS]), [SCOPES.CALENDAR_EVENTS],
                             api_endpoint=sandbox.url, delegated_user=None)
    probe = GoogleSheet(creds, "sandbox-sheet", WORKSHEET, api_endpoint=sandbox.url, timeout=5)
    with pytest.raises(AdapterError) as caught:
        probe.read(["A1:B2"])
    assert caught.value.auth
    assert "lacks the scope https://www.googleapis.com/auth/spreadsheets" in caught.value.message
    assert "balcao auth" in caught.value.message


@pytest.mark.parametrize(
    ("reason", "scope"),
    [
        ("sheets values.batchGet: HTTP 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT: Request had "
         "insufficient authentication scopes.", "https://www.googleapis.com/auth/spreadsheets"),
        ("calendar events.insert: HTTP 403 insufficientPermissions: Insufficient Permission",
         "https://www.googleapis.com/auth/calendar.events"),
        ("calendar freebusy.query: HTTP 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT",
         "https://www.googleapis.com/auth/calendar.freebusy"),
        ("gmail users.messages.send: HTTP 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT",
         "https://www.googleapis.com/auth/gmail.send"),
    ],
)
def test_a_revoked_scope_is_named_with_the_fix(reason: str, scope: str) -> None:
    action = operator_action(reason)
    assert f"lacks the scope {scope}" in action
    assert "balcao auth" in action and "Admin console" in action


def test_a_revoked_token_still_says_run_balcao_auth_again() -> None:
    assert "run `balcao auth` again" in operator_action("sheets values.batchGet: invalid_grant")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (json.loads((REPO / "credentials.example.json").read_text(encoding="utf-8")),
         "is the shipped example (credentials.example.json), not real credentials"),
        ({"project_id": "x"}, "has no \"type\" field, so it is not a Google credentials file"),
        ({"type": "external_account"}, "is a 'external_account' file"),
    ],
)
def test_a_file_that_is_not_credentials_is_described_in_plain_words(
    tmp_path: Path, content: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(ConfigError) as caught:
        load_credentials(str(path), [], api_endpoint=None, delegated_user=None)
    assert expected in str(caught.value)
    assert "None" not in str(caught.value)
    s = load(REPO / "config.yaml", environ={"BALCAO__GOOGLE__CREDENTIALS_FILE": str(path)})
    out = io.StringIO()
    checker = Checker(s, out=out)
    assert checker.check_credentials_file() is False
    assert expected in out.getvalue() and "None" not in out.getvalue()


def _sender_lines(**env: str) -> str:
    environ = {f"BALCAO__{k.upper()}": v for k, v in env.items()}
    out = io.StringIO()
    Checker(load(REPO / "config.yaml", environ=environ), out=out).check_sender_account()
    return out.getvalue()


def test_check_warns_when_mail_sender_is_not_the_delegated_user() -> None:
    text = _sender_lines(google__delegated_user="agenda@cartorio.example")
    assert text.startswith("! sender: mail.sender balcao@cartorio.example differs from "
                           "google.delegated_user agenda@cartorio.example")
    assert "send-as aliases" in text and "balcao cannot read the aliases" in text


def test_check_says_nothing_when_the_sender_is_the_account_or_smtp_sends() -> None:
    assert _sender_lines(google__delegated_user="Balcao@Cartorio.example") == ""
    assert _sender_lines(google__delegated_user="agenda@cartorio.example",
                         mail__transport="smtp") == ""
    assert _sender_lines() == ""
