"""Gmail v1 conformance: the real googleapiclient against the sandbox."""

from __future__ import annotations

import base64
import time
from email.message import EmailMessage

import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import check_response


def raw_message(to="Ana Souza <ana@example.com>", msgid="<bv-2026-000001.ack.0@balcao.example.org>",
                subject="Recebemos sua solicitação", **headers):
    msg = EmailMessage()
    if to is not None:
        msg["To"] = to
    msg["From"] = "Cartório <agenda@example.org>"
    msg["Subject"] = subject
    if msgid is not None:
        msg["Message-ID"] = msgid
    for k, v in headers.items():
        msg[k] = v
    msg.set_content("Olá, recebemos sua solicitação.")
    msg.add_alternative("<p>Olá, recebemos sua solicitação.</p>", subtype="html")
    return base64.urlsafe_b64encode(msg.as_bytes()).decode()


def send(gmail, raw, user="me"):
    return gmail.users().messages().send(userId=user, body={"raw": raw}).execute()


def test_send_returns_id_thread_and_sent_label(gmail, sandbox):
    res = send(gmail, raw_message())
    check_response("gmail.users.messages.send", res)
    assert set(res) == {"id", "threadId", "labelIds"}
    assert res["labelIds"] == ["SENT"]
    stored = sandbox.state()["gmail"]["me"]["messages"]
    assert [m["id"] for m in stored] == [res["id"]]
    assert b"Message-ID: <bv-2026-000001.ack.0@balcao.example.org>" in base64.urlsafe_b64decode(stored[0]["raw"])


def test_send_without_recipient_gives_recipient_address_required(gmail):
    with pytest.raises(HttpError) as exc:
        send(gmail, raw_message(to=None))
    assert exc.value.status_code == 400
    assert exc.value.reason == "Recipient address required"


@pytest.mark.parametrize("to", ["maria.silva@gmail", "not an address", "ana@@example.com"])
def test_send_with_a_malformed_to_gives_invalid_to_header(gmail, to):
    with pytest.raises(HttpError) as exc:
        send(gmail, raw_message(to=to))
    assert exc.value.status_code == 400
    assert exc.value.reason == "Invalid To header"


def test_send_with_undecodable_raw_is_refused(gmail):
    with pytest.raises(HttpError) as exc:
        send(gmail, "!!!not base64!!!")
    assert exc.value.status_code == 400


def test_search_by_rfc822msgid_finds_the_message_with_or_without_brackets(gmail):
    res = send(gmail, raw_message())
    for q in ("rfc822msgid:bv-2026-000001.ack.0@balcao.example.org",
              "rfc822msgid:<bv-2026-000001.ack.0@balcao.example.org> in:sent"):
        listing = gmail.users().messages().list(userId="me", q=q).execute()
        check_response("gmail.users.messages.list", listing)
        assert listing == {"messages": [{"id": res["id"], "threadId": res["threadId"]}], "resultSizeEstimate": 1}


def test_search_with_no_match_has_no_messages_key(gmail):
    assert gmail.users().messages().list(userId="me", q="rfc822msgid:nada@example.org").execute() == {
        "resultSizeEstimate": 0}


def test_search_by_to_from_and_subject(gmail):
    send(gmail, raw_message())
    send(gmail, raw_message(to="bruno@example.com", msgid="<b@x.example>", subject="Confirmação do atendimento"))
    q = gmail.users().messages().list
    assert q(userId="me", q="to:bruno@example.com").execute()["resultSizeEstimate"] == 1
    assert q(userId="me", q="from:agenda@example.org").execute()["resultSizeEstimate"] == 2
    assert q(userId="me", q='subject:"Confirmação do atendimento"').execute()["resultSizeEstimate"] == 1


def test_unsupported_search_terms_are_refused(gmail):
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().list(userId="me", q="has:attachment").execute()
    assert exc.value.status_code == 400


def test_rewrite_mode_replaces_the_client_message_id(sandbox, gmail):
    sandbox.config(rewrite_message_id=True)
    res = send(gmail, raw_message())
    assert gmail.users().messages().list(userId="me", q="rfc822msgid:bv-2026-000001.ack.0@balcao.example.org").execute() == {
        "resultSizeEstimate": 0}
    meta = gmail.users().messages().get(userId="me", id=res["id"], format="metadata", metadataHeaders=["Message-ID"]).execute()
    [header] = meta["payload"]["headers"]
    assert header["name"] == "Message-ID"
    assert header["value"].endswith("@mail.gmail.com>")


def test_search_lag_hides_a_new_message_for_a_while(sandbox, gmail):
    sandbox.config(search_lag_s=0.3)
    send(gmail, raw_message())
    q = "rfc822msgid:bv-2026-000001.ack.0@balcao.example.org"
    assert gmail.users().messages().list(userId="me", q=q).execute()["resultSizeEstimate"] == 0
    time.sleep(0.35)
    assert gmail.users().messages().list(userId="me", q=q).execute()["resultSizeEstimate"] == 1


def test_get_in_metadata_raw_and_full_formats(gmail):
    res = send(gmail, raw_message())
    meta = gmail.users().messages().get(userId="me", id=res["id"], format="metadata",
                                        metadataHeaders=["Subject", "Message-ID"]).execute()
    check_response("gmail.users.messages.get", meta)
    assert {h["name"]: h["value"] for h in meta["payload"]["headers"]} == {
        "Subject": "Recebemos sua solicitação", "Message-ID": "<bv-2026-000001.ack.0@balcao.example.org>"}
    raw = gmail.users().messages().get(userId="me", id=res["id"], format="raw").execute()
    assert b"Subject:" in base64.urlsafe_b64decode(raw["raw"])
    full = gmail.users().messages().get(userId="me", id=res["id"]).execute()
    check_response("gmail.users.messages.get", full)
    assert full["payload"]["mimeType"] == "multipart/alternative"
    text = base64.urlsafe_b64decode(full["payload"]["parts"][0]["body"]["data"]).decode()
    assert text.startswith("Olá")
    assert full["snippet"].startswith("Olá")


def test_get_of_an_unknown_message_is_404(gmail):
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().get(userId="me", id="0000").execute()
    assert exc.value.status_code == 404


def test_profile_counts_messages_and_mailboxes_come_into_being_per_user_id(gmail, sandbox):
    send(gmail, raw_message(), user="agenda@example.org")
    prof = gmail.users().getProfile(userId="agenda@example.org").execute()
    check_response("gmail.users.getProfile", prof)
    assert (prof["emailAddress"], prof["messagesTotal"]) == ("agenda@example.org", 1)
    assert gmail.users().getProfile(userId="me").execute()["messagesTotal"] == 0
    assert set(sandbox.state()["gmail"]) == {"agenda@example.org", "me"}
