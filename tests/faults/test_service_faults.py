"""The retry policy and the service's fault handling with the memory adapters (fast, time driven by hand)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.service.harness import BAHIA, Harness
from worker import intake
from worker.adapters.memory import MemoryMailer
from worker.model import AdapterError
from worker.retry import Retrier, RetryPolicy
from worker.texts import REASON_POISON

MON = datetime(2028, 3, 6, 10, 0, tzinfo=BAHIA)


def transient(**kw: object) -> AdapterError:
    return AdapterError("HTTP 503 backendError", True, status=503, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the policy


class Calls:
    def __init__(self, *errors: AdapterError) -> None:
        self.errors = list(errors)
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def retrier(attempts: int = 4, *, stop: threading.Event | None = None, rand: float = 1.0) -> tuple[Retrier, list[float]]:
    slept: list[float] = []
    ev = stop or threading.Event()

    def sleep(s: float) -> bool:
        slept.append(s)
        return ev.is_set()

    return Retrier(RetryPolicy(attempts, 1.0, 8.0), ev, sleep=sleep, rand=lambda: rand), slept


def test_backoff_is_truncated_exponential_with_full_jitter() -> None:
    r, slept = retrier(6, rand=1.0)
    assert r.call("read", Calls(*[transient()] * 5)) == "ok"
    assert slept == [1.0, 2.0, 4.0, 8.0, 8.0]  # the upper bounds: capped at max_delay
    r, slept = retrier(3, rand=0.25)
    r.call("read", Calls(transient(), transient()))
    assert slept == [0.25, 0.5]  # uniform in [0, cap]: full jitter


def test_retry_after_is_honoured_and_a_long_one_is_left_to_the_next_tick() -> None:
    r, slept = retrier()
    assert r.call("read", Calls(transient(retry_after=3.5))) == "ok"
    assert slept == [3.5]
    r, slept = retrier()
    with pytest.raises(AdapterError):
        r.call("read", Calls(transient(retry_after=600)))  # a quota window, not a hiccup
    assert slept == []


def test_permanent_and_authorisation_errors_are_never_retried() -> None:
    for error in (AdapterError("HTTP 400", False, status=400),
                  AdapterError("invalid_grant", False, auth=True)):
        r, slept = retrier()
        calls = Calls(error)
        with pytest.raises(AdapterError):
            r.call("read", calls)
        assert calls.n == 1 and slept == []


def test_attempts_bound_the_retries_and_a_stop_cuts_the_backoff_short() -> None:
    r, _ = retrier(3)
    calls = Calls(*[transient()] * 10)
    with pytest.raises(AdapterError):
        r.call("read", calls)
    assert calls.n == 3
    stop = threading.Event()
    stop.set()
    r, slept = retrier(5, stop=stop)
    calls = Calls(*[transient()] * 10)
    with pytest.raises(AdapterError):
        r.call("read", calls)
    assert calls.n == 1 and slept == []


# --------------------------------------------------------------------------- the service


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path, MON)


def test_transient_sheet_errors_are_retried_inside_the_tick(h: Harness) -> None:
    h.submit(MON - timedelta(hours=1))
    h.sheet.fail_next("read", transient(retry_after=0.5))
    h.sheet.fail_next("read", transient())
    report = h.tick()
    assert report.ok and report.events_created == 1
    assert h.slept[0] == 0.5 and len(h.slept) == 2


def test_a_send_is_never_retried_and_the_request_waits_pending(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1))
    h.mailer.fail_next("send", transient())
    report = h.tick()
    assert report.ok and h.mailer.count("send") == 1 and h.mailer.sent == []
    assert h.cell(row, "Situação") == "Pendente"
    h.advance(minutes=1)
    h.tick()
    assert h.cell(row, "Situação") == "Agendado" and len(h.mailer.sent) == 1


def test_event_insert_is_retried_with_its_id_and_a_lost_answer_costs_no_duplicate(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1))
    h.calendar.fail_next("create_event", transient(outcome_unknown=True), after_effect=True)
    assert h.tick().ok
    assert len(h.calendar.all_events()) == 1 and h.calendar.count("create_event") == 2
    assert h.cell(row, "Situação") == "Agendado"


def test_open_event_intent_is_reconciled_by_id_counted_apart_and_not_inserted_again(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1))
    # Created, but the answer and every retry are lost: the intent stays open.
    h.calendar.fail_next("create_event", transient(outcome_unknown=True), after_effect=True)
    for _ in range(h.s.retry.attempts - 1):
        h.calendar.fail_next("create_event", transient(outcome_unknown=True))
    first = h.tick()
    assert first.reconcile_requests == 0
    assert h.cell(row, "Situação") == "Pendente"
    inserts = h.calendar.count("create_event")
    h.advance(minutes=1)
    second = h.tick()
    assert second.reconcile_requests == 1  # one events.get, outside the tick's own requests
    assert h.calendar.count("create_event") == inserts  # found by id: no insert
    assert h.cell(row, "Situação") == "Agendado"
    # Not booked in its intake tick: acknowledged then, confirmed now, each once.
    assert [m.spec.kind for m in h.mailer.sent] == ["ack", "confirmation"]
    h.advance(minutes=1)
    assert h.tick().reconcile_requests == 0  # nothing open: no reconciliation read at all


def test_unknown_send_without_search_is_resent_with_the_same_message_id_and_audited(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, MON)
    h.mailer = h.deps.mailer = MemoryMailer(can_search_sent=False)
    h.submit(MON - timedelta(hours=1))
    h.mailer.fail_next("send", transient(outcome_unknown=True), after_effect=True)
    h.tick()
    h.advance(minutes=1)
    h.tick()
    ids = h.mailer.message_ids()
    assert len(ids) == 2 and len(set(ids)) == 1
    assert [a["event"] for a in h.journal.audit_trail() if a["event"] == "resent"] == ["resent"]


def test_unknown_send_found_in_sent_mail_is_not_sent_again(h: Harness) -> None:
    row = h.submit(MON - timedelta(hours=1))
    h.mailer.fail_next("send", transient(outcome_unknown=True), after_effect=True)
    h.tick()
    assert h.cell(row, "Situação") == "Pendente"
    h.advance(minutes=1)
    report = h.tick()
    assert report.reconcile_requests == 1 and len(h.mailer.sent) == 1
    assert h.cell(row, "Situação") == "Agendado"


def test_authorisation_error_mid_booking_pauses_and_keeps_what_was_created(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [h.submit(MON - timedelta(minutes=60 - i), email=f"p{i}@example.com") for i in range(3)]
    real = h.calendar.create_event
    calls: list[str] = []

    def create(spec: object) -> object:
        calls.append(spec.event_id)  # type: ignore[attr-defined]
        if len(calls) == 2:  # the token is revoked between the first and the second insert
            raise AdapterError("invalid_grant", False, auth=True)
        return real(spec)  # type: ignore[arg-type]

    monkeypatch.setattr(h.calendar, "create_event", create)
    report = h.tick()
    assert report.paused_reason and not report.ok
    assert h.deps.state.paused
    # Nothing was marked failed; the first request was booked and confirmed before the
    # pause (its confirmation leaves right after its own booking), the others wait.
    assert [h.cell(r, "Situação") for r in rows] == ["Agendado", "Pendente", "Pendente"]
    assert len(h.mailer.sent) == 1
    assert [r.event_state for r in h.journal.all()].count("created") == 1
    h.advance(minutes=1)
    assert h.tick().ok and h.deps.state.paused is None
    assert {h.cell(r, "Situação") for r in rows} == {"Agendado"}
    assert len(h.calendar.all_events()) == 3 and len(h.mailer.sent) == 3


def test_poison_row_is_flagged_and_never_blocks_the_others(
    h: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    good = h.submit(MON - timedelta(hours=1))
    bad = h.submit(MON - timedelta(minutes=50), email="veneno@example.com", name="Maria Veneno")
    real = intake.parse_row

    def parse(r: int, cells: list[object], *args: object, **kw: object) -> object:
        if "Maria Veneno" in cells:
            raise RecursionError("a row nobody foresaw")
        return real(r, cells, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "parse_row", parse)
    with caplog.at_level(logging.INFO):
        report = h.tick()
    assert report.ok
    assert h.cell(good, "Situação") == "Agendado"
    assert h.cell(bad, "Situação") == "Requer atenção"
    assert h.cell(bad, "Observação") == REASON_POISON
    assert h.cell(bad, "Protocolo").startswith("BV-")
    assert "Veneno" not in caplog.text and "veneno@" not in caplog.text
    assert len(h.mailer.sent) == 1


def test_request_that_breaks_rendering_is_flagged_and_the_others_are_mailed(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = h.submit(MON - timedelta(hours=1), email="a@example.com")
    b = h.submit(MON - timedelta(minutes=50), email="b@example.com")
    real = h.deps.renderer.render_confirmation

    def render(**kw: object) -> object:
        if kw["to"] == "a@example.com":
            raise KeyError("template field")
        return real(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(h.deps.renderer, "render_confirmation", render)
    assert h.tick().ok
    assert h.cell(a, "Situação") == "Requer atenção" and h.cell(a, "Observação") == REASON_POISON
    assert h.cell(b, "Situação") == "Agendado"
    h.advance(minutes=1)
    assert h.tick().ok and len(h.mailer.sent) == 1  # the flagged one is left to staff
    assert h.journal.open_intents() == []
