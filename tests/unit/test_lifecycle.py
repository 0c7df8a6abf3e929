"""Typed request state: derive_status, the e-mails a request is owed, open work, staff input; literal tables, no fakes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from worker import texts
from worker.lifecycle import (
    FLAGGED,
    MailKind,
    StaffAction,
    Status,
    derive_status,
    fold,
    is_open_work,
    staff_action,
    status_changes,
)
from worker.model import RequestRecord
from worker.planners.mail import mails_due

BASE = RequestRecord(
    protocol="BV-2028-000001", seq=1, fingerprint="f", submitted="2028-03-06T10:15:00-03:00",
    ts_key="46818.4", received_at="2028-03-06T10:16:00-03:00",
    deadline="2028-03-07T10:15:00-03:00", status="Pendente", channel="meet",
)


def rec(**changes: object) -> RequestRecord:
    return replace(BASE, **changes)  # type: ignore[arg-type]


BOOKED = dict(event_state="created", conf_state="sent", conf_revision=0)

# (record fields, mode) → (Situação, Observação)
STATUS_TABLE = [
    ({}, "auto", ("Pendente", texts.WAITING_ACK)),
    ({"ack_state": "sent"}, "manual", ("Recebido", "")),
    ({"ack_state": "sent", "problem": "transient"}, "auto",
     ("Pendente", texts.REASON_TRANSIENT.format(what="Agenda"))),
    ({**BOOKED, "answered_at": "2028-03-06T11:00:00-03:00"}, "auto", ("Agendado", "")),
    # The legal deadline is about the answer: a late meeting is fine, a late answer is noted.
    ({**BOOKED, "answered_at": "2028-03-07T10:16:00-03:00", "slot_start": "2028-03-06T14:00:00-03:00"},
     "auto", ("Agendado", texts.REASON_AFTER_DEADLINE)),
    ({**BOOKED, "answered_at": "2028-03-06T11:00:00-03:00", "slot_start": "2028-03-09T14:00:00-03:00"},
     "auto", ("Agendado", "")),
    ({"event_state": "created"}, "auto", ("Pendente", texts.WAITING_CONFIRMATION)),
    ({"event_state": "created", "problem": "mail_cap"}, "auto", ("Pendente", texts.REASON_MAIL_CAP)),
    ({"event_state": "pending", "problem": "meet_pending"}, "auto",
     ("Pendente", texts.REASON_MEET_PENDING)),
    ({"event_state": "cancelled", "problem": "event_deleted"}, "auto",
     ("Requer atenção", texts.REASON_EVENT_DELETED)),
    ({"event_state": "failed", "problem": "meet_failed"}, "auto",
     ("Requer atenção", texts.REASON_MEET_FAILED)),
    ({"problem": "no_slot", "ack_state": "sent"}, "auto", ("Requer atenção", texts.REASON_NO_SLOT)),
    ({"problem": "manual_invalid", "reason": "Fora do horário de atendimento: 01/01"}, "manual",
     ("Requer atenção", "Fora do horário de atendimento: 01/01")),
    ({"problem": "edited", **BOOKED}, "auto", ("Requer atenção", texts.REASON_EDITED)),
    ({"problem": "poison"}, "auto", ("Requer atenção", texts.REASON_POISON)),
    ({"problem": "mail_failed", "event_state": "created"}, "auto",
     ("Requer atenção", texts.REASON_MAIL_FAILED)),
    ({"problem": "permanent", "event_state": "failed"}, "auto",
     ("Requer atenção", texts.REASON_PERMANENT)),
]


@pytest.mark.parametrize(("fields", "mode", "expected"), STATUS_TABLE)
def test_derive_status_follows_the_table(fields: dict, mode: str, expected: tuple) -> None:
    status, reason = derive_status(rec(**fields), mode)
    assert (status.value, reason) == expected


def test_status_changes_are_empty_when_the_sheet_already_agrees_and_never_touch_flagged_rows() -> None:
    done = rec(**BOOKED, status="Agendado", reason="", answered_at="2028-03-06T11:00:00-03:00")
    assert status_changes(done, "auto") == {}
    assert status_changes(rec(**BOOKED, answered_at="2028-03-06T11:00:00-03:00"), "auto") == {
        "status": "Agendado", "reason": ""}
    # Rows flagged at intake (invalid) and duplicates keep what intake decided.
    assert status_changes(rec(valid=0, status="Requer atenção", reason="Falta o nome"), "auto") == {}
    assert status_changes(rec(duplicate_of="BV-2028-000000", status="Duplicado"), "auto") == {}


# (record fields) → e-mails owed, in order
MAIL_TABLE = [
    ({}, [MailKind.ACK]),
    ({"ack_state": "sent"}, []),
    ({"ack_state": "intent"}, [MailKind.ACK]),
    ({"event_state": "created"}, [MailKind.CONFIRMATION]),  # booked in its intake tick: no ack
    ({"event_state": "created", "ack_state": "intent"}, [MailKind.ACK, MailKind.CONFIRMATION]),
    ({"event_state": "created", "conf_state": "intent", "conf_revision": 0}, [MailKind.CONFIRMATION]),
    ({**BOOKED}, []),
    ({**BOOKED, "revision": 1}, [MailKind.CONFIRMATION]),  # a new time: a new confirmation
    ({"event_state": "pending", "ack_state": "sent"}, []),
    ({"event_state": "created", "problem": "edited"}, []),
    ({"event_state": "cancelled"}, []),
    ({"event_state": "failed", "problem": "permanent"}, []),
    ({"problem": "no_slot"}, [MailKind.ACK]),
]


@pytest.mark.parametrize(("fields", "expected"), MAIL_TABLE)
def test_mails_due_follow_the_table(fields: dict, expected: list) -> None:
    assert mails_due(rec(**fields)) == expected


@pytest.mark.parametrize(
    ("fields", "open_"),
    [
        ({}, True), ({**BOOKED}, False), ({**BOOKED, "revision": 1}, True),
        ({"event_state": "intent"}, True), ({"event_state": "pending"}, True),
        ({**BOOKED, "ack_state": "intent"}, True), ({"problem": "edited"}, False),
        ({"valid": 0}, False), ({"duplicate_of": "BV-2028-000000"}, False),
        ({"event_state": "cancelled", "problem": "event_deleted"}, False),
    ],
)
def test_open_work_is_what_still_owes_an_event_or_an_email(fields: dict, open_: bool) -> None:
    assert is_open_work(rec(**fields)) is open_


@pytest.mark.parametrize(
    ("cell", "action"),
    [
        ("Cancelar", StaffAction.CANCEL), ("CANCELAR ", StaffAction.CANCEL),
        ("nao compareceu", StaffAction.NO_SHOW), (" Não Compareceu", StaffAction.NO_SHOW),
        ("remarcar", StaffAction.RESCHEDULE), ("Realizado", StaffAction.DONE),
        ("Agendado", StaffAction.BOOKED), ("cancelado", StaffAction.CANCELLED),
        ("Pendente", None), ("", None), (46818.5, None), (None, None),
    ],
)
def test_staff_input_is_read_trimmed_case_and_accent_insensitively(cell: object, action: object) -> None:
    assert staff_action(cell) == action


def test_fold_and_the_enums_keep_the_journal_strings() -> None:
    assert fold("  Não Compareceu ") == "nao compareceu"
    assert Status.ATTENTION == "Requer atenção" and Status("Agendado") is Status.BOOKED
    assert "edited" in FLAGGED and "no_slot" not in FLAGGED
