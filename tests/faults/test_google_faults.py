"""Lost responses, dropped connections, 429 storms, 500s and a revoked token, injected by the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import (
    EVENTS_INSERT,
    MESSAGES_SEND,
    TOKEN,
    VALUES_BATCH_GET,
    VALUES_BATCH_UPDATE,
    Balcao,
    Sandbox,
    check_invariants,
)

pytestmark = pytest.mark.e2e

N = 3
SENT_CHECK = {"BALCAO__MAIL__SENT_CHECK": "true"}
NO_SENT_CHECK = {"BALCAO__MAIL__SENT_CHECK": "false"}


def submit(sb: Sandbox, n: int = N) -> None:
    for i in range(n):
        sb.submit(i)


def quiet_run(sb: Sandbox, balcao: Balcao, env: dict[str, str] | None = None) -> None:
    """One more run must change nothing: no insert, no send, no write."""
    before = len(sb.requests())
    result = balcao.run(env=env)
    assert result.returncode == 0, result.stderr
    methods = {r["method"] for r in sb.requests()[before:]}
    assert not methods & {"calendar.events.insert", "gmail.users.messages.send",
                          "sheets.spreadsheets.values.batchUpdate"}, methods


# --------------------------------------------------------------------------- lost responses


@pytest.mark.parametrize("how", [{"status": 500}, {"drop": True}], ids=["500", "drop"])
def test_lost_events_insert_answer_is_retried_with_the_same_id_one_event(
    sb: Sandbox, balcao: Balcao, how: dict[str, object]
) -> None:
    submit(sb)
    sb.fault(EVENTS_INSERT, method="POST", after_effect=True, times=1, **how)
    result = balcao.run()
    assert result.returncode == 0, result.stderr
    summary = check_invariants(sb, balcao, submitted=N)
    assert summary.statuses["Agendado"] == N
    assert len(summary.events) == N and len(summary.mails) == N
    assert sb.count("calendar.events.insert") == N + 1  # the repeat got 409 and was read back


@pytest.mark.parametrize("sent_check", [True, False], ids=["sent-check", "no-sent-check"])
def test_lost_messages_send_answer_is_never_retried_blind(
    sb: Sandbox, balcao: Balcao, sent_check: bool
) -> None:
    env = SENT_CHECK if sent_check else NO_SENT_CHECK
    submit(sb)
    sb.fault(MESSAGES_SEND, method="POST", drop=True, after_effect=True, times=1)
    first = balcao.run(env=env)
    assert first.returncode == 0, first.stderr
    assert sb.count("gmail.users.messages.send") == N  # no retry inside the tick
    pending = check_invariants(sb, balcao, submitted=N, quiescent=False)
    assert pending.statuses == {"Agendado": N - 1, "Pendente": 1}
    assert len(balcao.open_intents()) == 1
    assert balcao.run(env=env).returncode == 0
    summary = check_invariants(sb, balcao, submitted=N, resend_ok=not sent_check)
    assert summary.statuses["Agendado"] == N
    if sent_check:
        assert len(summary.mails) == N and not balcao.audit("resent")
    else:
        # No gmail.readonly: resent once with the same Message-ID (mailboxes collapse it).
        assert len(summary.mails) == N + 1 and len({m.key for m in summary.mails}) == N
        assert len(balcao.audit("resent")) == 1
    quiet_run(sb, balcao, env)


@pytest.mark.parametrize("how", [{"status": 503}, {"drop": True}], ids=["503", "drop"])
def test_lost_sheet_batch_update_answer_is_rewritten_by_identity(
    sb: Sandbox, balcao: Balcao, how: dict[str, object]
) -> None:
    submit(sb)
    sb.fault(VALUES_BATCH_UPDATE, method="POST", after_effect=True, times=1, **how)
    result = balcao.run()
    assert result.returncode == 0, result.stderr
    assert sb.count("sheets.spreadsheets.values.batchUpdate") == 2
    summary = check_invariants(sb, balcao, submitted=N)
    assert summary.statuses["Agendado"] == N and len(summary.mails) == N
    quiet_run(sb, balcao)


def test_sheet_write_failing_for_a_whole_tick_is_finished_by_the_next(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb)
    sb.fault(VALUES_BATCH_UPDATE, method="POST", status=500, times=10)
    failed = balcao.run()
    assert failed.returncode == 1  # the tick failed as a whole; the e-mails already went out
    assert len(sb.messages()) == N
    sb.clear_faults()
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=N)
    assert summary.statuses["Agendado"] == N and len(summary.mails) == N
    quiet_run(sb, balcao)


# --------------------------------------------------------------------------- storms


def test_429_storm_on_sheets_for_many_ticks_loses_nothing_and_acts_on_nothing(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb)
    sb.fault(VALUES_BATCH_GET, status=429, times=1000, headers={"Retry-After": "0.01"})
    for _ in range(3):
        result = balcao.run()
        assert result.returncode == 1
        assert "429" in result.stderr
    methods = {r["method"] for r in sb.requests()}
    assert not methods & {"calendar.events.insert", "gmail.users.messages.send"}
    sb.clear_faults()
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=N)
    assert summary.statuses["Agendado"] == N and len(summary.mails) == N


def test_retry_after_is_honoured_and_a_short_burst_is_absorbed_inside_the_tick(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb)
    sb.fault(VALUES_BATCH_GET, status=429, times=2, headers={"Retry-After": "0.15"})
    result = balcao.run()
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("retry") >= 2 and "in 0.15s" in result.stderr
    check_invariants(sb, balcao, submitted=N)


def test_500s_on_events_insert_leave_requests_pending_then_book_them_once(
    sb: Sandbox, balcao: Balcao
) -> None:
    submit(sb)
    sb.fault(EVENTS_INSERT, method="POST", status=500, times=1000)
    first = balcao.run()
    assert first.returncode == 0, first.stderr
    pending = check_invariants(sb, balcao, submitted=N, quiescent=False)
    assert pending.statuses == {"Pendente": N}
    assert all("Falha temporária" in r["reason"] for r in pending.rows)
    # Not booked in the intake tick: each was acknowledged, once.
    assert sorted(m.kind for m in pending.mails) == ["ack"] * N
    sb.clear_faults()
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=N)
    assert summary.statuses["Agendado"] == N
    for row in summary.rows:
        assert summary.kinds(row["protocol"]) == ["ack", "confirmation"]
    quiet_run(sb, balcao)


def test_a_permanently_refused_event_never_blocks_the_others(sb: Sandbox, balcao: Balcao) -> None:
    submit(sb)
    # The first insert is refused for good (400): that request is flagged, the others booked.
    sb.fault(EVENTS_INSERT, method="POST", status=400, times=1, message="Bad Request")
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=N)
    assert summary.statuses == {"Agendado": N - 1, "Requer atenção": 1}
    quiet_run(sb, balcao)


# --------------------------------------------------------------------------- credentials


def _refreshable_credentials(tmp_path: Path) -> str:
    """An authorised-user token file whose refresh goes to the sandbox's /token (rebased)."""
    path = tmp_path / "token.json"
    path.write_text(json.dumps({
        "type": "authorized_user", "client_id": "balcao-test.apps.googleusercontent.com",
        "client_secret": "test-secret", "refresh_token": "1//test-refresh-token",
    }), encoding="utf-8")
    return str(path)


def test_revoked_token_pauses_every_effect_with_one_clear_line_and_fails_nothing(
    sb: Sandbox, balcao: Balcao, tmp_path: Path
) -> None:
    env = {"BALCAO__GOOGLE__CREDENTIALS_FILE": _refreshable_credentials(tmp_path)}
    submit(sb, 2)
    assert balcao.run(env=env).returncode == 0
    before = check_invariants(sb, balcao, submitted=2)
    sb.submit(10)
    grid = sb.sheet()
    sb.fault(TOKEN, status=400, reason="invalid_grant", message="Token has been expired or revoked.",
             times=1000)
    n_requests = len(sb.requests())
    result = balcao.run(env=env)
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.splitlines() if "EFFECTS PAUSED" in ln]
    assert len(lines) == 1 and "invalid_grant" in lines[0] and "balcao auth" in lines[0]
    # Nothing reached Google but the token endpoint; no request was marked failed.
    assert all(r["method"].startswith("oauth") or r["path"] == "/token"
               for r in sb.requests()[n_requests:])
    assert sb.sheet() == grid and len(sb.messages()) == len(before.mails)
    sb.clear_faults()
    assert balcao.run(env=env).returncode == 0
    summary = check_invariants(sb, balcao, submitted=3)
    assert summary.statuses["Agendado"] == 3 and len(summary.mails) == 3


def test_scope_refused_mid_tick_pauses_mail_keeps_what_was_booked(sb: Sandbox, balcao: Balcao) -> None:
    submit(sb)
    sb.fault(MESSAGES_SEND, method="POST", status=403, reason="insufficientPermissions",
             times=1000)
    result = balcao.run()
    assert result.returncode == 1
    assert result.stderr.count("EFFECTS PAUSED") == 1
    paused = check_invariants(sb, balcao, submitted=N, quiescent=False)
    # Each request's effects run in order (its event, then its e-mail): the first event was
    # created and recorded, its refused send paused everything; no e-mail went out and
    # nobody is "Requer atenção".
    assert paused.statuses == {"Pendente": N} and len(paused.events) == 1 and not paused.mails
    # The refused send and the ones never attempted are released: certainly not sent.
    assert balcao.open_intents() == []
    sb.clear_faults()
    assert balcao.run().returncode == 0
    summary = check_invariants(sb, balcao, submitted=N)
    assert summary.statuses["Agendado"] == N and len(summary.events) == N
    assert len(summary.mails) == N and not balcao.audit("resent")
