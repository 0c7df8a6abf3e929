"""kill -9 at every named crash point of `balcao run --once`, then restarts: nothing lost, nothing twice."""

from __future__ import annotations

import signal

import pytest

from worker import crashpoints

from .conftest import Balcao, Sandbox, check_invariants

pytestmark = pytest.mark.e2e

N = 3  # two Meet requests and one WhatsApp request per test


def crash_then_recover(sb: Sandbox, balcao: Balcao, point: str, env: dict[str, str]) -> None:
    for i in range(N):
        sb.submit(i)
    crashed = balcao.run(crash_at=point, env=env)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    before = len(sb.requests())
    restarted = balcao.run(env=env)
    assert restarted.returncode == 0, restarted.stderr
    if point == "after_event_insert":
        # Each effect's intent is committed just before it: the kill left one event intent
        # open (the event created before the kill), read by id before new work and never
        # inserted again; the others are inserted now.
        log = sb.requests()[before:]
        first_insert = next(i for i, r in enumerate(log) if r["method"] == "calendar.events.insert")
        assert sum(r["method"] == "calendar.events.get" for r in log[:first_insert]) == 1
        assert sum(r["method"] == "calendar.events.insert" for r in log) == N - 1
        assert any(a["event"] == "reconciled" for a in balcao.audit())
    # A further run finds nothing to do: no insert, no send, no write.
    before = len(sb.requests())
    again = balcao.run(env=env)
    assert again.returncode == 0, again.stderr
    methods = {r["method"] for r in sb.requests()[before:]}
    assert not methods & {
        "calendar.events.insert", "gmail.users.messages.send", "sheets.spreadsheets.values.batchUpdate"
    }, methods


# Points reached only when staff act after the booking have tests of their own below.
STAFF_POINTS = ("after_event_patch", "after_event_delete")


@pytest.mark.parametrize("point", [p for p in crashpoints.POINTS if p not in STAFF_POINTS])
def test_kill_at_crash_point_then_restart_books_and_mails_each_request_once(
    sb: Sandbox, balcao: Balcao, point: str
) -> None:
    # Without gmail.readonly (the shipped default): an unknown send is resent with the same
    # Message-ID, which the audit trail records.
    crash_then_recover(sb, balcao, point, {"BALCAO__MAIL__SENT_CHECK": "false"})
    summary = check_invariants(sb, balcao, submitted=N, resend_ok=True)
    assert summary.statuses["Agendado"] == N
    for row in summary.rows:
        assert summary.kinds(row["protocol"]) in (["confirmation"], ["confirmation", "confirmation"])
    if point == "after_send":
        # The message that went out before the kill was resent once, with the same Message-ID.
        assert balcao.audit("resent")
        assert len(summary.mails) == N + 1 and len({m.key for m in summary.mails}) == N
    else:
        assert len(summary.mails) == N


def test_kill_after_a_send_with_sent_check_never_resends_what_went_out(
    sb: Sandbox, balcao: Balcao
) -> None:
    crash_then_recover(sb, balcao, "after_send", {"BALCAO__MAIL__SENT_CHECK": "true"})
    summary = check_invariants(sb, balcao, submitted=N)
    assert len(summary.mails) == N and summary.statuses["Agendado"] == N
    # The kill came after the first send, the only e-mail whose intent was open: it is found
    # in sent mail and not sent again; the others had no intent yet and are sent now.
    assert balcao.audit("resent") == []


def test_kill_after_send_when_gmail_rewrites_message_ids_is_found_by_subject(
    sb: Sandbox, balcao: Balcao
) -> None:
    sb.config(rewrite_message_id=True)
    crash_then_recover(sb, balcao, "after_send", {"BALCAO__MAIL__SENT_CHECK": "true"})
    summary = check_invariants(sb, balcao, submitted=N)
    assert len(summary.mails) == N, "a rewritten Message-ID must not cause a resend"
    assert all(m.stored_id != m.key for m in summary.mails)  # Gmail did rewrite them


def _choose(sb: Sandbox, row: int, value: str) -> None:
    sb.call("POST", "/_sandbox/sheet/type", {"row": row, "column": "Situação", "text": value})


@pytest.mark.parametrize(("point", "choice", "final", "kinds"), [
    ("after_event_patch", "Remarcar", "Agendado", ["confirmation", "confirmation"]),
    ("after_event_delete", "Cancelar", "Cancelado", ["cancellation", "confirmation"]),
])
def test_kill_while_carrying_out_a_staff_choice_does_it_once(
    sb: Sandbox, balcao: Balcao, point: str, choice: str, final: str, kinds: list[str]
) -> None:
    env = {"BALCAO__MAIL__SENT_CHECK": "false"}
    row = sb.submit(0, whatsapp=False)
    assert balcao.run(env=env).returncode == 0
    _choose(sb, row, choice)
    crashed = balcao.run(crash_at=point, env=env)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    for _ in range(2):
        assert balcao.run(env=env).returncode == 0
    summary = check_invariants(sb, balcao, submitted=1, staff_deleted_ok=True)
    assert summary.rows[0]["status"] == final
    assert summary.kinds(summary.rows[0]["protocol"]) == kinds
    assert len(summary.events) == 1
