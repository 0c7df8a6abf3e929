"""Delivery-status notifications and the Gmail search terms a bounce check needs, against the sandbox."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import time
import urllib.error
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import check_response
from tests.sandbox.test_sandbox_gmail import raw_message, send

DEAD = "ninguem@example.com"


def listing(gmail: Any, q: str) -> list[str]:
    answer = gmail.users().messages().list(userId="me", q=q).execute()
    return [m["id"] for m in answer.get("messages", [])]


def raw_of(gmail: Any, gmail_id: str) -> email.message.EmailMessage:
    answer = gmail.users().messages().get(userId="me", id=gmail_id, format="raw").execute()
    return email.message_from_bytes(base64.urlsafe_b64decode(answer["raw"]), policy=email.policy.default)


def test_a_send_to_a_bounce_recipient_is_followed_by_a_failure_dsn_in_the_senders_inbox(sandbox: Any, gmail: Any) -> None:
    sandbox.config(bounce_recipients=[DEAD])
    sent = send(gmail, raw_message(to=DEAD, **{"X-Balcao-Message-ID": "<bv-2026-000001.ack.0@balcao.example.org>"}))
    [dsn_id] = listing(gmail, "from:mailer-daemon")
    assert dsn_id != sent["id"]
    meta = gmail.users().messages().get(userId="me", id=dsn_id, format="metadata").execute()
    assert set(meta["labelIds"]) == {"INBOX", "UNREAD"}
    assert meta["threadId"] == sent["threadId"]
    dsn = raw_of(gmail, dsn_id)
    assert dsn["From"] == "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
    assert dsn["Subject"] == "Delivery Status Notification (Failure)"
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    human, status, headers = dsn.get_payload()
    assert DEAD in human.get_content()
    per_message, per_recipient = status.get_payload()
    assert per_message["Reporting-MTA"] == "dns; googlemail.com"
    assert per_message["X-Original-Message-ID"] == "<bv-2026-000001.ack.0@balcao.example.org>"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Final-Recipient"] == f"rfc822; {DEAD}"
    assert per_recipient["Status"].startswith("5.")
    assert headers.get_content_type() == "text/rfc822-headers"
    original = email.message_from_string(headers.get_payload())
    assert original["Message-ID"] == "<bv-2026-000001.ack.0@balcao.example.org>"
    assert original["X-Balcao-Message-ID"] == "<bv-2026-000001.ack.0@balcao.example.org>"
    assert "Olá" not in dsn.as_string()  # the headers come back, not the citizen's text


def test_only_configured_recipients_bounce_and_matching_ignores_case(sandbox: Any, gmail: Any) -> None:
    sandbox.config(bounce_recipients=["Ninguem@Example.com"])
    send(gmail, raw_message(to="ana@example.com"))
    assert listing(gmail, "from:mailer-daemon") == []
    send(gmail, raw_message(to=DEAD, msgid="<bv-2026-000002.ack.0@balcao.example.org>"))
    assert len(listing(gmail, "from:mailer-daemon")) == 1


def test_a_delayed_recipient_gets_a_delay_dsn(sandbox: Any, gmail: Any) -> None:
    sandbox.config(delayed_recipients=[DEAD])
    send(gmail, raw_message(to=DEAD))
    [dsn_id] = listing(gmail, "from:mailer-daemon")
    dsn = raw_of(gmail, dsn_id)
    assert dsn["Subject"] == "Delivery Status Notification (Delay)"
    assert dsn.get_payload()[1].get_payload()[1]["Action"] == "delayed"


def test_the_dsn_is_found_by_the_original_message_id_and_by_age(sandbox: Any, gmail: Any) -> None:
    sandbox.config(bounce_recipients=[DEAD])
    sent = send(gmail, raw_message(to=DEAD))
    found = listing(gmail, "rfc822msgid:bv-2026-000001.ack.0@balcao.example.org")
    assert found == [sent["id"]]  # the DSN has its own Message-ID
    assert len(listing(gmail, "from:mailer-daemon newer_than:1d")) == 1
    assert len(listing(gmail, "from:mailer-daemon newer_than:2h in:inbox is:unread")) == 1
    assert listing(gmail, "from:mailer-daemon older_than:1h") == []
    assert listing(gmail, f"from:mailer-daemon after:{int(time.time()) + 3600}") == []
    assert len(listing(gmail, f"from:mailer-daemon after:{int(time.time()) - 60}")) == 1
    assert len(listing(gmail, "from:mailer-daemon after:2020/01/31 before:2999/01/01")) == 1
    assert listing(gmail, "in:sent is:read") == [sent["id"]]


def test_full_format_shows_the_report_parts_as_gmail_does(sandbox: Any, gmail: Any) -> None:
    sandbox.config(bounce_recipients=[DEAD])
    send(gmail, raw_message(to=DEAD))
    [dsn_id] = listing(gmail, "from:mailer-daemon")
    full = gmail.users().messages().get(userId="me", id=dsn_id, format="full").execute()
    check_response("gmail.users.messages.get", full)
    parts = full["payload"]["parts"]
    assert [p["mimeType"] for p in parts] == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    report = base64.urlsafe_b64decode(parts[1]["body"]["data"]).decode()
    assert "Action: failed" in report


@pytest.mark.parametrize("q", ["newer_than:soon", "after:yesterday", "has:attachment", "-from:x", "OR"])
def test_unsupported_or_malformed_search_terms_are_400(gmail: Any, q: str) -> None:
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().list(userId="me", q=q).execute()
    assert exc.value.status_code == 400


def test_bounce_recipients_must_be_a_list_of_addresses(sandbox: Any) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        sandbox.config(bounce_recipients="ninguem@example.com")
    assert exc.value.code == 400
    assert "bounce_recipients" in json.loads(exc.value.read())["error"]


def test_a_misspelt_quota_limit_is_refused_by_name_and_changes_nothing(sandbox: Any) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        sandbox.config(quota=True, quota_limits={"gmail_unit_per_user": 100})
    assert exc.value.code == 400
    assert "gmail_unit_per_user" in json.loads(exc.value.read())["error"]
    assert sandbox.get("/_sandbox/config")["quota"] is False


def test_gmail_units_limit_refuses_the_send_that_would_pass_it(sandbox: Any, gmail: Any) -> None:
    sandbox.config(quota=True, quota_limits={"gmail_units_per_user": 250})
    send(gmail, raw_message())
    send(gmail, raw_message(msgid="<b@x.org>"))
    with pytest.raises(HttpError) as exc:
        send(gmail, raw_message(msgid="<c@x.org>"))
    assert exc.value.status_code == 429
    assert gmail.users().messages().list(userId="me").execute()["resultSizeEstimate"] == 2  # 10 units still fit


def test_bounce_recipients_given_at_start_up_survive_a_reset() -> None:
    from worker.sandbox import server
    from worker.sandbox.cli import build_parser

    args = build_parser().parse_args(["--bounce-recipient", "a@example.org", "--bounce-recipient", "b@example.org"])
    sb = server.start(port=0, bounce_recipients=args.bounce_recipient)
    try:
        sb.app.state.reset_all()
        assert sb.app.state.config["bounce_recipients"] == ["a@example.org", "b@example.org"]
    finally:
        sb.stop()
