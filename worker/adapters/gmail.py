"""GmailMailer: the Mailer port over the Gmail API (send, sent-mail search by Message-ID); never retries a send."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

import google.auth.credentials
from googleapiclient.errors import HttpError

from worker.adapters.dsn import parse_report
from worker.adapters.errors import classify
from worker.adapters.google_auth import build_service, execute, set_http_timeout
from worker.adapters.mime import ORIGINAL_ID_HEADER, build_raw
from worker.adapters.system import SystemClock
from worker.model import AdapterError, Bounce, EmailSpec
from worker.ports import Clock

# balcao's deterministic Message-IDs start with the protocol: <bv-2026-000013.ack.r0@domain>.
_PROTOCOL_IN_ID = re.compile(r"^<?(bv-\d{4}-\d{6,})\.", re.I)
# How many sent messages with the protocol in the subject are inspected (a request gets a few).
_SUBJECT_SEARCH_MAX = 20
# Gmail writes its delivery-status notifications from mailer-daemon@googlemail.com; reports a
# remote server sends from postmaster@ are not looked for (the README says so).
BOUNCE_QUERY = "from:mailer-daemon"
_BOUNCE_PAGE = 100


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
        # ``users()`` and ``messages()`` build new resource objects and all their methods
        # (googleapiclient's createMethod) on every call: once per adapter instead.
        self._users: Any = self._service.users()
        self._messages: Any = self._users.messages()
        self.user_id = user_id
        self.sender = sender
        self.reply_to = reply_to
        self._clock: Clock = clock or SystemClock()
        self._can_search_sent = can_search_sent

    @property
    def can_search_sent(self) -> bool:
        return self._can_search_sent

    def set_timeout(self, seconds: float) -> None:
        """Shorter request timeouts from now on (the worker is stopping)."""
        set_http_timeout(self._service, seconds)

    def send(self, spec: EmailSpec) -> str:
        try:
            message = build_raw(
                spec, sender=self.sender, date=self._clock.now(), reply_to=self.reply_to
            )
        except ValueError as exc:
            raise AdapterError(f"gmail: {exc}", False, reason="invalidMessage") from exc
        raw = base64.urlsafe_b64encode(message).decode("ascii")
        answer = execute(
            "gmail messages.send",
            True,
            self._messages.send(userId=self.user_id, body={"raw": raw}),
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
            self._messages.list(
                userId=self.user_id, q=f"rfc822msgid:{message_id.strip('<>')}", maxResults=1
            ),
        )
        # Gmail leaves out "messages" entirely when nothing matches.
        messages = answer.get("messages") or []
        if messages:
            return str(messages[0]["id"])
        return self._find_rewritten(message_id)

    def _find_rewritten(self, message_id: str) -> str | None:
        """Gmail may replace a client's Message-ID, and then ``rfc822msgid:`` misses our
        message. Fallback: the sent messages with the protocol in the subject (every balcao
        subject carries it), each checked for our id in ``X-Balcao-Message-ID`` (a header
        Gmail keeps). Costs one list and a few gets, and only on an unknown outcome."""
        m = _PROTOCOL_IN_ID.match(message_id.strip())
        if m is None:
            return None
        protocol = m.group(1).upper()
        answer = execute(
            "gmail messages.list",
            False,
            self._messages.list(
                userId=self.user_id, q=f'in:sent subject:"{protocol}"',
                maxResults=_SUBJECT_SEARCH_MAX,
            ),
        )
        wanted = message_id.strip().strip("<>").lower()
        for item in answer.get("messages") or []:
            ours = self._header(str(item["id"]), ORIGINAL_ID_HEADER)
            if ours is not None and ours.strip().strip("<>").lower() == wanted:
                return str(item["id"])
        return None

    def read_message_id(self, gmail_id: str) -> str | None:
        """The Message-ID header Gmail stored for a sent message (to detect a rewrite), or None
        when the message or the header is missing. Needs gmail.readonly (or metadata)."""
        return self._header(gmail_id, "Message-ID")

    def _header(self, gmail_id: str, name: str) -> str | None:
        request = self._messages.get(
            userId=self.user_id, id=gmail_id, format="metadata", metadataHeaders=[name]
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
            if str(header.get("name", "")).lower() == name.lower():
                return str(header.get("value", ""))
        return None

    @property
    def can_read_bounces(self) -> bool:
        """Reading the inbox needs gmail.readonly, the same grant as searching sent mail."""
        return self._can_search_sent

    def find_bounces(self, since: datetime) -> list[Bounce]:
        """Failed deliveries reported since ``since``: one search (``from:mailer-daemon`` and
        ``after:`` in epoch seconds, which Gmail reads exactly), then one raw get per report."""
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValueError("find_bounces: expected an aware datetime")
        if not self._can_search_sent:
            raise AdapterError(
                "gmail: reading bounces needs gmail.readonly (or set mail.bounce_check: false)",
                False,
                reason="searchDisabled",
            )
        query = f"{BOUNCE_QUERY} after:{int(since.timestamp())}"
        out: list[Bounce] = []
        page: str | None = None
        while True:
            answer = execute(
                "gmail messages.list",
                False,
                self._messages.list(
                    userId=self.user_id, q=query, maxResults=_BOUNCE_PAGE, pageToken=page
                ),
            )
            for item in answer.get("messages") or []:
                out.extend(self._report(str(item["id"]), since))
            page = answer.get("nextPageToken")
            if not page:
                return out

    def _report(self, gmail_id: str, since: datetime) -> list[Bounce]:
        answer = execute(
            "gmail messages.get",
            False,
            self._messages.get(userId=self.user_id, id=gmail_id, format="raw"),
        )
        received = datetime.fromtimestamp(int(answer.get("internalDate", 0)) / 1000, tz=UTC)
        if received < since:  # after: has a resolution of one second
            return []
        text = str(answer.get("raw", ""))
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return parse_report(raw, received, gmail_id)

    def profile(self) -> dict[str, Any]:
        """users.getProfile (``emailAddress``, ``messagesTotal``...), for ``balcao check``.

        Note: Google accepts gmail.readonly/metadata/compose/modify for it, not gmail.send
        alone; with only gmail.send this raises an auth AdapterError (403 insufficient scope)."""
        return execute(
            "gmail users.getProfile",
            False,
            self._users.getProfile(userId=self.user_id),
        )


__all__ = ["GmailMailer"]
