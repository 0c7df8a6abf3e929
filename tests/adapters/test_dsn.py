"""Delivery-status notifications as different servers write them → Bounce values (literal reports)."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.adapters.dsn import parse_report
from worker.model import Bounce

AT = datetime(2028, 3, 7, 13, 0, tzinfo=UTC)
OURS = "<bv-2028-000001.confirmacao.r1@balcao.example.org>"


def report(per_recipient: str, original: str, *, original_type: str = "text/rfc822-headers",
           per_message: str = "Reporting-MTA: dns; googlemail.com\r\n") -> bytes:
    return (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        "To: balcao@example.org\r\n"
        "Subject: Delivery Status Notification (Failure)\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; boundary="b1"; report-type=delivery-status\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n** Address not found **\r\n\r\n"
        f"--b1\r\nContent-Type: message/delivery-status\r\n\r\n{per_message}\r\n{per_recipient}\r\n"
        f"--b1\r\nContent-Type: {original_type}\r\n\r\n{original}\r\n"
        "--b1--\r\n"
    ).encode()


FAILED = "Final-Recipient: rfc822; ana@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
DELAYED = "Final-Recipient: rfc822; bia@example.com\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
HEADERS = f"From: balcao@example.org\r\nTo: ana@example.com\r\nMessage-ID: {OURS}\r\nSubject: x\r\n"


def test_a_gmail_failure_report_names_our_message_and_the_recipient() -> None:
    assert parse_report(report(FAILED, HEADERS), AT, "g1") == [
        Bounce(OURS, "ana@example.com", "failed", AT, "g1")]


def test_a_delay_report_is_not_a_bounce() -> None:
    assert parse_report(report(DELAYED, HEADERS), AT) == []


def test_only_the_failed_recipients_of_a_mixed_report_bounce() -> None:
    got = parse_report(report(FAILED + "\r\n" + DELAYED, HEADERS), AT)
    assert [(b.recipient, b.action) for b in got] == [("ana@example.com", "failed")]


def test_our_own_header_wins_over_a_message_id_gmail_rewrote() -> None:
    headers = ("Message-ID: <CAsandbox123@mail.gmail.com>\r\n"
               f"X-Balcao-Message-ID: {OURS}\r\nTo: ana@example.com\r\n")
    [bounce] = parse_report(report(FAILED, headers), AT)
    assert bounce.message_id == OURS


def test_a_report_with_the_whole_original_message_is_read_too() -> None:
    original = HEADERS + "\r\nOlá, Ana.\r\n"
    [bounce] = parse_report(report(FAILED, original, original_type="message/rfc822"), AT)
    assert bounce.message_id == OURS


def test_without_the_original_headers_the_x_original_message_id_is_used() -> None:
    per_message = f"Reporting-MTA: dns; googlemail.com\r\nX-Original-Message-ID: {OURS}\r\n"
    raw = report(FAILED, "", original_type="text/plain", per_message=per_message)
    assert [b.message_id for b in parse_report(raw, AT)] == [OURS]


def test_a_recipient_without_address_type_and_a_bare_message_id_are_normalised() -> None:
    per_recipient = "Final-Recipient: ana@example.com\r\nAction: Failed\r\n"
    headers = "Message-ID: bv-2028-000001.ack.r0@balcao.example.org\r\n"
    [bounce] = parse_report(report(per_recipient, headers), AT)
    assert (bounce.recipient, bounce.message_id) == ("ana@example.com", "<bv-2028-000001.ack.r0@balcao.example.org>")


def test_an_ordinary_message_or_a_report_naming_no_message_is_ignored() -> None:
    plain = b"From: ana@example.com\r\nSubject: Re: atendimento\r\n\r\nObrigada!\r\n"
    assert parse_report(plain, AT) == []
    assert parse_report(report(FAILED, "Subject: sem id\r\n"), AT) == []
