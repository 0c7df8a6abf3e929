"""GmailMailer: the Mailer port over the Gmail API (send, sent-mail search by Message-ID); never retries a send."""

from __future__ import annotations

import base64
from typing import Any

import google.auth.credentials
from googleapiclient.errors import HttpError

from worker.adapters.errors import classify
from worker.adapters.google_auth import build_service, execute
from worker.adapters.mime import build_message
from worker.adapters.system import SystemClock
from worker.model import AdapterError, EmailSpec
from worker.ports import Clock


class GmailMailer:
    """Sends through ``users.messages.send`` as ``user_id`` (``me``, or the delegated user).

    ``send`` is one request with ``num_retries=0``: googleapiclient would resend a POST on a
    5xx or a dropped connection and the citizen would get two e-mails; such an error comes back
    as AdapterError with ``outcome_unknown`` and the service decides (search, or resend with
    the same Message-ID). ``can_search_sent`` says gmail.readonly was granted."""

    def __init__(
        self,
        creds: google.auth.credentials.Credentials,
        *,
        sender: str,
        can_search_sent: bool,
        user_id: str = "me",
        api_endpoint: str | None = None,
        timeout: float = 30.0,
        reply_to: str | None = None,
        clock: Clock | None = None,
        http: Any = None,
    ) -> None:
        """``sender`` is the configured From (``"Cartório X <balcao@example.org>"``); ``http``
        is for unit tests only (e.g. ``HttpMockSequence``; ``creds`` then unused)."""
        self._service: Any = build_service(
            "gmail",
            "v1",
            creds,
            api_endpoint=api_endpoint,
            service_path="/",
            timeout=timeout,
            http=http,
        )
        self.user_id = user_id
        self.sender = sender
        self.reply_to = reply_to
        self._clock: Clock = clock or SystemClock()
        self._can_search_sent = can_search_sent

    @property
    def can_search_sent(self) -> bool:
        return self._can_search_sent

    def send(self, spec: EmailSpec) -> str:
        try:
            message = build_message(
                spec, sender=self.sender, date=self._clock.now(), reply_to=self.reply_to
            )
        except ValueError as exc:
            raise AdapterError(f"gmail: {exc}", False, reason="invalidMessage") from exc
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
        answer = execute(
            "gmail messages.send",
            True,
            self._service.users().messages().send(userId=self.user_id, body={"raw": raw}),
        )
        return str(answer["id"])

    def find_sent(self, message_id: str) -> str | None:
        if not self._can_search_sent:
            raise AdapterError(
                "gmail: sent-mail search is not enabled (it needs gmail.readonly)",
                False,
                reason="searchDisabled",
            )
        answer = execute(
            "gmail messages.list",
            False,
            self._service.users()
            .messages()
            .list(userId=self.user_id, q=f"rfc822msgid:{message_id.strip('<>')}", maxResults=1),
        )
        # Gmail leaves out "messages" entirely when nothing matches.
        messages = answer.get("messages") or []
        return str(messages[0]["id"]) if messages else None

    def read_message_id(self, gmail_id: str) -> str | None:
        """The Message-ID header Gmail stored for a sent message (to detect a rewrite), or None
        when the message or the header is missing. Needs gmail.readonly (or metadata)."""
        request = (
            self._service.users()
            .messages()
            .get(
                userId=self.user_id,
                id=gmail_id,
                format="metadata",
                metadataHeaders=["Message-ID"],
            )
        )
        try:
            answer: dict[str, Any] = request.execute(num_retries=0)
        except HttpError as exc:
            if exc.resp.status == 404:
                return None
            raise classify(exc, operation="gmail messages.get") from exc
        except Exception as exc:
            raise classify(exc, operation="gmail messages.get") from exc
        for header in answer.get("payload", {}).get("headers", ()):
            if str(header.get("name", "")).lower() == "message-id":
                return str(header.get("value", ""))
        return None

    def profile(self) -> dict[str, Any]:
        """users.getProfile (``emailAddress``, ``messagesTotal``...), for ``balcao check``.

        Note: Google accepts gmail.readonly/metadata/compose/modify for it, not gmail.send
        alone; with only gmail.send this raises an auth AdapterError (403 insufficient scope)."""
        return execute(
            "gmail users.getProfile",
            False,
            self._service.users().getProfile(userId=self.user_id),
        )


__all__ = ["GmailMailer"]
