"""kill -9 in the middle of a batch, for every kind of effect: at most the one effect in flight is repeated."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from .conftest import Balcao, Sandbox, check_invariants

pytestmark = pytest.mark.e2e

BATCH = 8  # requests in one tick: a third of them WhatsApp


def _extra_copies(sb: Sandbox) -> int:
    return sum(n - 1 for n in Counter(m.key for m in sb.messages()).values())


@pytest.mark.parametrize(
    ("point", "mode"),
    [
        ("after_send:1", "auto"), ("after_send:5", "auto"), ("after_send:8", "auto"),
        ("after_mail_intent:4", "auto"),
        ("after_event_insert:3", "auto"), ("after_event_intent:6", "auto"),
        ("after_send:3", "manual"),  # acknowledgements
        ("after_sheet_write:1", "auto"),
    ],
)
def test_kill_mid_batch_repeats_at_most_the_effect_in_flight(
    sb: Sandbox, balcao: Balcao, point: str, mode: str
) -> None:
    env = {"BALCAO__MAIL__SENT_CHECK": "false", "BALCAO__SCHEDULING__MODE": mode}
    for i in range(BATCH):
        sb.submit(i)
    crashed = balcao.run(crash_at=point, env=env)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    sent_before = len(sb.messages())
    events_before = len(sb.events())
    assert balcao.run(env=env).returncode == 0
    assert balcao.run(env=env).returncode == 0  # a further run changes nothing
    summary = check_invariants(sb, balcao, submitted=BATCH, resend_ok=True)
    # Every request answered once; at most one copy more than that, and only of an e-mail
    # whose send was in flight at the kill (same Message-ID, audited as a resend).
    assert len({m.key for m in summary.mails}) == BATCH
    extra = _extra_copies(sb)
    assert extra <= 1, f"{extra} extra copies"
    # An unknown outcome is resent (audited) at most once: it was the effect in flight.
    assert extra <= len(balcao.audit("resent")) <= 1
    if point.startswith("after_send"):
        # The restart repeated only the send that was in flight.
        assert len(sb.messages()) - sent_before == BATCH - sent_before + 1
    assert len(summary.events) == (BATCH if mode == "auto" else 0)
    assert len(sb.events()) >= events_before


def test_run_once_also_runs_the_jobs_that_are_due(sb: Sandbox, balcao: Balcao) -> None:
    # A cron-driven installation (`run --once` every minute) must not keep personal data
    # forever: retention runs under --once, once per office day.
    sb.submit(0)
    assert balcao.run().returncode == 0
    with balcao.db() as conn:
        first = dict(conn.execute("SELECT name, last_run FROM jobs").fetchall())
    assert "retention" in first
    assert balcao.run().returncode == 0
    with balcao.db() as conn:
        again = dict(conn.execute("SELECT name, last_run FROM jobs").fetchall())
    assert again == first  # not due again the same day
