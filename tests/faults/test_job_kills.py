"""kill -9 inside and between the scheduled jobs of `balcao run --once` under a moved clock (faketime), then restarts: every reminder and digest leaves once."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from datetime import datetime

import pytest

from tests.fakeclock import faked_env, needs_faketime

from .conftest import BAHIA, Balcao, Sandbox, check_invariants

pytestmark = [pytest.mark.e2e, needs_faketime]

STAFF = "equipe@cartorio.example"
SUBMITTED = datetime(2028, 3, 6, 6, 55, tzinfo=BAHIA)  # Monday
BOOKING = datetime(2028, 3, 6, 7, 0, tzinfo=BAHIA)  # books 12:00, 12:45 and 13:30; no digest yet
JOBS_AT = datetime(2028, 3, 6, 11, 35, tzinfo=BAHIA)  # three 2-hour reminders and the digest


def run_at(balcao: Balcao, at: datetime, env: dict[str, str],
           crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    """`balcao run --once` with libfaketime preloaded (a kill must reach balcao itself)."""
    return subprocess.run(
        balcao.command("run", "--once"), cwd=balcao.tmp, capture_output=True,
        text=True, env=faked_env(balcao.env(env, crash_at), at), timeout=60,
    )


def afternoon(sb: Sandbox, i: int) -> None:
    sb.submit(i, at=SUBMITTED)
    grid = sb.sheet()
    col = grid[0].index("Período de preferência") + 1
    sb.call("POST", "/_sandbox/sheet/type",
            {"row": len(grid), "column": grid[0][col - 1], "text": "Tarde (12h às 17h)"})


@pytest.mark.parametrize(
    ("point", "sent_check"),
    [
        ("after_send:2", "true"),  # between two reminders
        ("after_send:4", "true"),  # the digest just sent
        ("after_mail_intent:4", "true"),  # the digest's intent committed, nothing sent
        ("after_job:2", "true"),  # between the reminders job and the next
        ("after_send:2", "false"),  # without gmail.readonly: resent with the same Message-ID
    ],
)
def test_a_kill_inside_or_between_jobs_sends_no_reminder_or_digest_twice(
    sb: Sandbox, balcao: Balcao, point: str, sent_check: str
) -> None:
    env = {"BALCAO__DIGEST__RECIPIENTS": f"[{STAFF}]", "BALCAO__MAIL__SENT_CHECK": sent_check}
    for i in range(3):
        afternoon(sb, i)
    booked = run_at(balcao, BOOKING, env)
    assert booked.returncode == 0, booked.stderr
    before = len(sb.messages())
    crashed = run_at(balcao, JOBS_AT, env, crash_at=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    for _ in range(2):  # the restart finishes the jobs; another run finds nothing to do
        again = run_at(balcao, JOBS_AT, env)
        assert again.returncode == 0, again.stderr
    summary = check_invariants(sb, balcao, submitted=3, resend_ok=sent_check == "false")
    kinds = Counter(m.kind for m in {m.key: m for m in summary.mails[before:]}.values())
    assert kinds == {"reminder-2h": 3, "digest": 1}
    if sent_check == "true":
        assert len(summary.mails) - before == 4, "a message left twice"
        if point.startswith("after_send"):  # found in sent mail: not sent again
            assert balcao.audit("resent") == []
    else:
        assert [a["detail"].split()[0] for a in balcao.audit("resent")] == ["reminder-2h"]
