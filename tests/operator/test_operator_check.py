"""`balcao check` against the sandbox: a good set-up passes, and each failure names its fix."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opkit import ALL_SCOPES, REPO, SA_EMAIL, write_secret

from worker.check import method_scopes, missing_scopes, required_methods, run_check
from worker.config import Settings

pytestmark = pytest.mark.integration


def check(s: Settings, probe: bool = False) -> tuple[int, dict[str, str]]:
    out = io.StringIO()
    code = run_check(s, probe=probe, out=out)
    lines: dict[str, str] = {}
    for line in out.getvalue().splitlines():
        if line[:2] in ("✓ ", "✗ ", "– "):
            name, _, text = line[2:].partition(": ")
            lines[name] = line[:1] + " " + text
    return code, lines


def failed(lines: dict[str, str]) -> list[str]:
    return [name for name, text in lines.items() if text.startswith("✗")]


def test_a_good_sandbox_set_up_passes_every_check_with_the_probe(make_settings: Any, sandbox: Any) -> None:
    code, lines = check(make_settings(), probe=True)
    assert code == 0, lines
    assert all(text.startswith("✓") for text in lines.values()), lines
    assert "dummy token" in lines["credentials"]
    assert "created (success) and deleted" in lines["Meet creation (primary)"]
    events = sandbox.state()["calendars"]["primary"]["events"]
    assert [e["status"] for e in events] == ["cancelled"]  # the probe cleaned up


def test_without_probe_meet_creation_is_skipped_and_the_check_still_passes(make_settings: Any) -> None:
    code, lines = check(make_settings())
    assert code == 0
    assert lines["Meet creation"].startswith("–")
    assert "balcao check --probe" in lines["Meet creation"]


def test_a_service_account_with_delegation_passes_with_a_real_token_exchange(
    make_settings: Any, sa_key: str, sandbox: Any,
) -> None:
    s = make_settings(google__credentials_file=sa_key, google__delegated_user="agenda@cartorio.example")
    code, lines = check(s, probe=True)
    assert code == 0, lines
    assert "service-account key, mode 0600" in lines["credentials"]
    assert lines["token"].startswith("✓ refreshed")
    assert "covers all 10 Google methods" in lines["scopes"]
    assert any(r["path"] == "/token" for r in sandbox.requests_log())


def test_an_oauth_token_with_least_privilege_scopes_passes_and_sends_nothing(
    make_settings: Any, user_token: Callable[[list[str]], str], sandbox: Any,
) -> None:
    s = make_settings(google__credentials_file=user_token(ALL_SCOPES))
    code, lines = check(s, probe=True)
    assert code == 0, lines
    assert "nothing was sent" in lines["sending"]
    assert sandbox.state()["gmail"].get("balcao.sandbox@example.org", {"messages": []})["messages"] == []


def test_a_sheet_not_shared_says_to_share_it_with_the_service_account_as_editor(
    make_settings: Any, sa_key: str, sandbox: Any,
) -> None:
    sandbox.fault(method="GET", path_regex=r"^/v4/spreadsheets/sandbox-sheet$", status=403,
                  reason="forbidden", message="The caller does not have permission")
    code, lines = check(make_settings(google__credentials_file=sa_key))
    assert code == 1
    assert lines["spreadsheet"] == (
        f"✗ no access to the spreadsheet (403): share the sheet with {SA_EMAIL} as Editor"
    )


def test_an_unknown_spreadsheet_id_says_to_check_form_spreadsheet_id(make_settings: Any) -> None:
    code, lines = check(make_settings(form__spreadsheet_id="1NoSuchSheetXyz"))
    assert code == 1
    assert "not found (404): check form.spreadsheet_id" in lines["spreadsheet"]


def test_meet_refused_with_invalid_conference_type_names_domain_wide_delegation(
    make_settings: Any, sandbox: Any,
) -> None:
    sandbox.fault(method="POST", path_regex=r"/calendars/primary/events$", status=400,
                  reason="invalid", message="Invalid conference type value.")
    code, lines = check(make_settings(), probe=True)
    assert code == 1
    text = lines["Meet creation (primary)"]
    assert "a service account without domain-wide delegation cannot create Meet links" in text
    assert "set google.delegated_user" in text and "`balcao auth`" in text


def test_a_token_without_the_freebusy_scope_is_named_with_the_method_that_needs_it(
    make_settings: Any, sa_key: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Code drift: balcao asks Google for fewer scopes than its methods need. The sandbox issues
    # a token with exactly those scopes and answers 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT.
    import worker.adapters.google_auth as ga

    fewer = [x for x in ALL_SCOPES if not x.endswith("calendar.freebusy")]
    monkeypatch.setattr(ga, "scopes_for", lambda *a, **k: list(fewer))
    s = make_settings(google__credentials_file=sa_key, google__delegated_user="agenda@cartorio.example")
    code, lines = check(s)
    assert code == 1
    assert "lacks the scope for calendar.freebusy.query" in lines["calendar primary"]
    assert lines["scopes"].startswith("✗ calendar.freebusy.query needs one of ")
    assert "calendar.freebusy" in lines["scopes"]


def test_an_oauth_token_granted_fewer_scopes_says_to_run_balcao_auth_again(
    make_settings: Any, user_token: Callable[[list[str]], str],
) -> None:
    # Authorised before mail.sent_check was turned on: the refresh asks for gmail.readonly too.
    s = make_settings(google__credentials_file=user_token(ALL_SCOPES), mail__sent_check="true")
    code, lines = check(s)
    assert code == 1
    assert "fewer scopes" in lines["token"] and "`balcao auth` again" in lines["token"]


def test_a_revoked_token_says_run_balcao_auth_and_warns_about_testing_apps(
    make_settings: Any, user_token: Callable[[list[str]], str], sandbox: Any,
) -> None:
    s = make_settings(google__credentials_file=user_token(ALL_SCOPES))
    sandbox.fault(method="POST", path_regex=r"^/token$", status=400, reason="invalid_grant",
                  message="Token has been expired or revoked.")
    code, lines = check(s)
    assert code == 1
    assert lines["token"] == (
        "✗ token revoked or expired (invalid_grant): run `balcao auth` again; if the OAuth app "
        "is in Testing, tokens die after 7 days — publish it"
    )
    assert lines["spreadsheet"].startswith("–")


def test_a_credentials_file_readable_by_others_says_chmod_600(make_settings: Any, sa_key: str) -> None:
    os.chmod(sa_key, 0o644)
    code, lines = check(make_settings(google__credentials_file=sa_key, google__delegated_user="a@b.example"))
    assert code == 1
    assert lines["credentials"] == (
        f"✗ {sa_key} is readable by other users (mode 0644): run `chmod 600 {sa_key}` "
        "(and make balcao's user its owner)"
    )


def test_client_secrets_given_as_credentials_say_to_run_balcao_auth(make_settings: Any, tmp_path: Path) -> None:

    path = write_secret(tmp_path / "client.json", {"installed": {"client_id": "x"}})
    code, lines = check(make_settings(google__credentials_file=path))
    assert code == 1
    assert "OAuth client secrets: run `balcao auth --client-secrets" in lines["credentials"]


def test_a_renamed_header_is_listed_with_its_config_key(make_settings: Any) -> None:
    code, lines = check(make_settings(form__columns__phone="Telefone"))
    assert code == 1
    assert "'Telefone' (form.columns.phone)" in lines["headers"]


def test_a_wrong_worksheet_lists_the_tabs_there_are(make_settings: Any) -> None:
    code, lines = check(make_settings(form__worksheet="Respostas"))
    assert code == 1
    assert "'Respostas' not found" in lines["worksheet"]
    assert "'Respostas ao formulário 1'" in lines["worksheet"]


def test_a_read_only_share_says_editor_not_viewer(make_settings: Any, sandbox: Any) -> None:
    sandbox.fault(method="POST", path_regex=r"values:batchUpdate$", status=403,
                  reason="forbidden", message="The caller does not have permission")
    code, lines = check(make_settings())
    assert code == 1
    assert "as Editor (not Viewer or Commenter)" in lines["sheet writable"]


def test_a_calendar_not_shared_says_make_changes_to_events(make_settings: Any, sandbox: Any) -> None:
    sandbox.config(unshared_calendars=["atendente2@cartorio.example"])
    s = make_settings(scheduling__calendars="[primary, atendente2@cartorio.example]")
    code, lines = check(s)
    assert code == 1
    assert lines["calendar primary"].startswith("✓")
    assert "share calendar 'atendente2@cartorio.example'" in lines["calendar atendente2@cartorio.example"]
    assert "('Make changes to events')" in lines["calendar atendente2@cartorio.example"]


def test_gmail_failed_precondition_names_domain_wide_delegation(make_settings: Any, sandbox: Any) -> None:
    sandbox.fault(path_regex=r"/gmail/v1/users/me/profile$", status=400,
                  reason="failedPrecondition", message="Precondition check failed.")
    code, lines = check(make_settings())
    assert code == 1
    assert "cannot use Gmail: set google.delegated_user" in lines["sending"]


def test_a_service_account_without_delegation_cannot_send_gmail_or_invite(
    make_settings: Any, sa_key: str,
) -> None:
    s = make_settings(google__credentials_file=sa_key, scheduling__invite_citizen="true")
    code, lines = check(s)
    assert code == 1
    assert "cannot use Gmail" in lines["sending"] and "mail.transport: smtp" in lines["sending"]
    assert "cannot invite attendees" in lines["attendees"]


def test_smtp_without_its_password_names_the_environment_variable(make_settings: Any) -> None:
    s = make_settings(mail__transport="smtp", mail__smtp__username="balcao@cartorio.example")
    code, lines = check(s)
    assert code == 1
    assert "BALCAO_SMTP_PASSWORD is empty" in lines["sending"]


def test_a_journal_that_cannot_be_opened_fails_the_journal_line(make_settings: Any, tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    code, lines = check(make_settings(journal__path=str(tmp_path / "adir")))
    assert code == 1
    assert lines["journal"].startswith("✗") and "writable by balcao's user" in lines["journal"]


def test_no_credentials_file_in_production_says_what_to_put_there(make_settings: Any) -> None:
    code, lines = check(make_settings(google__api_endpoint=""))
    assert code == 1
    assert "google.credentials_file is not set" in lines["credentials"]


def test_least_privilege_scopes_cover_every_method_balcao_calls(make_settings: Any) -> None:
    from worker import bootstrap

    for env in ({}, {"mail__sent_check": "true"}, {"mail__transport": "smtp"}):
        s = make_settings(**env)
        assert missing_scopes(required_methods(s), bootstrap.google_scopes(s)) == {}
    assert "https://www.googleapis.com/auth/calendar.freebusy" in method_scopes()["calendar.freebusy.query"]


@pytest.mark.e2e
def test_the_cli_exits_0_on_a_good_set_up_and_1_on_a_failure(sandbox: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALCAO__")}
    env.update(BALCAO__GOOGLE__API_ENDPOINT=sandbox.url, BALCAO__FORM__SPREADSHEET_ID="sandbox-sheet",
               BALCAO__JOURNAL__PATH=str(tmp_path / "j.sqlite3"))
    cmd = [sys.executable, "-m", "worker", "check", "-c", str(REPO / "config.yaml")]
    good = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stdout + good.stderr
    env["BALCAO__FORM__SPREADSHEET_ID"] = "nope"
    bad = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "check form.spreadsheet_id" in bad.stdout
