"""SmtpMailer: the Mailer port over smtplib (STARTTLS, SSL or plain); one attempt per send, no search."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from datetime import datetime
from typing import Any, Literal

from worker.adapters.errors import classify
from worker.adapters.mime import build_message
from worker.adapters.system import SystemClock
from worker.model import AdapterError, Bounce, ConfigError, EmailSpec
from worker.ports import Clock

Security = Literal["starttls", "ssl", "none"]


class _DataFlag:
    """Remembers whether DATA was started: a drop before it means nothing was sent; after it,
    the message may have been accepted (outcome unknown)."""

    data_started = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)  # type: ignore[misc,no-any-return]


class _SMTP(_DataFlag, smtplib.SMTP):
    pass


class _SMTPSSL(_DataFlag, smtplib.SMTP_SSL):
    pass


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpMailer:
    """Sends through an SMTP server (e.g. smtp.gmail.com:587 with an App Password).

    ``security``: ``starttls`` (port 587), ``ssl`` (implicit TLS, port 465) or ``none`` (only
    for a relay on this machine: a password over a plain connection to another host is refused
    at construction). Certificates are verified with the system store, or ``cafile``; ``verify``
    False is for tests only. SMTP cannot search sent mail: ``can_search_sent`` is False."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        reply_to: str | None = None,
        clock: Clock | None = None,
        cafile: str | None = None,
        verify: bool = True,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ConfigError(
                f"mail.smtp.security: expected 'starttls', 'ssl' or 'none', found {security!r}"
            )
        if security == "none" and username and not _is_loopback(host):
            raise ConfigError(
                "mail.smtp.security: 'none' would send the password in clear to "
                f"{host}; use 'starttls' or 'ssl'"
            )
        self.host = host
        self.port = port
        self.sender = sender
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.reply_to = reply_to
        self._clock: Clock = clock or SystemClock()
        self._context = ssl.create_default_context(cafile=cafile)
        if not verify:
            self._context.check_hostname = False
            self._context.verify_mode = ssl.CERT_NONE

    @property
    def can_search_sent(self) -> bool:
        return False

    def send(self, spec: EmailSpec) -> str:
        try:
            message = build_message(
                spec, sender=self.sender, date=self._clock.now(), reply_to=self.reply_to
            )
        except ValueError as exc:
            raise AdapterError(f"smtp: {exc}", False, reason="invalidMessage") from exc
        smtp: _SMTP | _SMTPSSL | None = None
        try:
            smtp = self._open()
            smtp.send_message(message)
        except Exception as exc:
            started = smtp.data_started if smtp is not None else False
            self._close(smtp)
            raise classify(exc, operation="smtp send", write=started) from exc
        # The message is accepted (250 after DATA): a failing QUIT must not turn that into an
        # error and a second send.
        self._close(smtp)
        return ""

    def find_sent(self, message_id: str) -> str | None:
        raise AdapterError(
            "smtp: sent mail cannot be searched over SMTP", False, reason="searchDisabled"
        )

    @property
    def can_read_bounces(self) -> bool:
        """SMTP only sends: delivery reports land in a mailbox balcao cannot read."""
        return False

    def find_bounces(self, since: datetime) -> list[Bounce]:
        raise AdapterError(
            "smtp: bounces cannot be read over SMTP; use mail.transport: gmail, or set "
            "mail.bounce_check: false",
            False,
            reason="notSupported",
        )

    def login_check(self) -> None:
        """Connect, negotiate TLS and log in, then quit: for ``balcao check``."""
        smtp: _SMTP | _SMTPSSL | None = None
        try:
            smtp = self._open()
            smtp.noop()
        except Exception as exc:
            self._close(smtp)
            raise classify(exc, operation="smtp login") from exc
        self._close(smtp)

    # ---- internals

    def _open(self) -> _SMTP | _SMTPSSL:
        smtp: _SMTP | _SMTPSSL
        if self.security == "ssl":
            smtp = _SMTPSSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context,
            )
        else:
            smtp = _SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
        try:
            smtp.ehlo()
            if self.security == "starttls":
                # smtplib raises SMTPNotSupportedError when the server does not offer it: never
                # fall back to a plain connection.
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self._password or "")
        except BaseException:
            self._close(smtp)
            raise
        return smtp

    @staticmethod
    def _close(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


__all__ = ["SmtpMailer"]
