"""SmtpMailer against a local aiosmtpd server: STARTTLS, SSL, plain AUTH, refusals and drops."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from worker.adapters.memory import FixedClock
from worker.adapters.smtp import SmtpMailer
from worker.model import AdapterError, ConfigError, EmailSpec

SENDER = "Cartório de Teste <balcao@example.org>"
CLOCK = FixedClock(dt.datetime(2028, 3, 6, 10, 15, tzinfo=ZoneInfo("America/Bahia")))
SPEC = EmailSpec(
    to="ana@example.com",
    subject="Recebemos sua solicitação BV-2028-000001",
    text="Olá, Ana.",
    html="<p>Olá, Ana.</p>",
    message_id="<ack.bv-2028-000001.0@balcao.example.org>",
    kind="ack",
)


@dataclass
class Handler:
    messages: list[Any] = field(default_factory=list)
    refuse_rcpt: str | None = None
    drop_after_data: bool = False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        if self.drop_after_data:
            # The message is taken but the answer never arrives: the client cannot know.
            server.transport.close()
        return "250 Message accepted for delivery"


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    def raw(v: str | bytes) -> bytes:
        return v if isinstance(v, bytes) else v.encode()

    ok = (
        isinstance(auth_data, LoginPassword)
        and raw(auth_data.login) == b"balcao"
        and raw(auth_data.password) == b"app-password"
    )
    # handled=False: aiosmtpd then answers 535 itself (handled=True would leave the client waiting).
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    cert_path, key_path = d / "cert.pem", d / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


@pytest.fixture
def handler() -> Handler:
    return Handler()


def run(controller: Controller) -> Iterator[Controller]:
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(handler: Handler, cert: tuple[Path, Path]) -> Iterator[Controller]:
    yield from run(
        Controller(
            handler,
            hostname="127.0.0.1",
            port=free_port(),
            tls_context=server_context(cert),
            require_starttls=True,
            authenticator=authenticator,
            auth_require_tls=True,
        )
    )


@pytest.fixture
def plain_server(handler: Handler) -> Iterator[Controller]:
    yield from run(
        Controller(
            handler,
            hostname="127.0.0.1",
            port=free_port(),
            authenticator=authenticator,
            auth_require_tls=False,
        )
    )


def mailer(server: Controller, security: str, **kw: Any) -> SmtpMailer:
    return SmtpMailer(
        "127.0.0.1",
        server.port,
        sender=SENDER,
        security=security,  # type: ignore[arg-type]
        clock=CLOCK,
        timeout=5,
        **kw,
    )


def test_starttls_with_login_delivers_one_message(
    starttls_server: Controller, handler: Handler, cert: tuple[Path, Path]
) -> None:
    m = mailer(
        starttls_server, "starttls", username="balcao", password="app-password", cafile=str(cert[0])
    )
    assert m.send(SPEC) == ""
    assert not m.can_search_sent
    (envelope,) = handler.messages
    assert envelope.rcpt_tos == ["ana@example.com"]
    assert envelope.mail_from == "balcao@example.org"
    msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert msg["Message-ID"] == SPEC.message_id
    assert msg["Subject"] == SPEC.subject


def test_starttls_refuses_an_untrusted_certificate(
    starttls_server: Controller, handler: Handler
) -> None:
    m = mailer(starttls_server, "starttls", username="balcao", password="app-password")
    with pytest.raises(AdapterError) as err:
        m.send(SPEC)
    assert err.value.auth and not err.value.transient
    assert handler.messages == []


def test_ssl_negotiates_implicit_tls(handler: Handler, cert: tuple[Path, Path]) -> None:
    server = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        ssl_context=server_context(cert),
        authenticator=authenticator,
        auth_require_tls=False,
    )
    for _ in run(server):
        mailer(server, "ssl", username="balcao", password="app-password", cafile=str(cert[0])).send(
            SPEC
        )
    assert len(handler.messages) == 1


def test_plain_auth_works_and_a_wrong_password_is_an_auth_error(
    plain_server: Controller, handler: Handler
) -> None:
    mailer(plain_server, "none", username="balcao", password="app-password").login_check()
    with pytest.raises(AdapterError) as err:
        mailer(plain_server, "none", username="balcao", password="wrong").send(SPEC)
    assert err.value.auth and err.value.status == 535
    assert handler.messages == []


def test_starttls_required_but_not_offered_is_refused_not_downgraded(
    plain_server: Controller, handler: Handler
) -> None:
    with pytest.raises(AdapterError) as err:
        mailer(plain_server, "starttls", username="balcao", password="app-password").send(SPEC)
    assert err.value.auth and not err.value.transient
    assert handler.messages == []


def test_refused_recipient_is_permanent_and_its_address_is_masked(
    plain_server: Controller, handler: Handler
) -> None:
    handler.refuse_rcpt = "550 5.1.1 <ana@example.com>: Recipient address rejected"
    with pytest.raises(AdapterError) as err:
        mailer(plain_server, "none").send(SPEC)
    assert not err.value.transient and err.value.status == 550
    assert "ana@example.com" not in err.value.message


def test_greylisting_is_transient(plain_server: Controller, handler: Handler) -> None:
    handler.refuse_rcpt = "451 4.7.1 Greylisted, try again later"
    with pytest.raises(AdapterError) as err:
        mailer(plain_server, "none").send(SPEC)
    assert err.value.transient and not err.value.outcome_unknown


def test_connection_dropped_after_data_leaves_the_outcome_unknown(
    plain_server: Controller, handler: Handler
) -> None:
    handler.drop_after_data = True
    with pytest.raises(AdapterError) as err:
        mailer(plain_server, "none").send(SPEC)
    assert err.value.transient and err.value.outcome_unknown
    assert len(handler.messages) == 1


def test_nothing_listening_is_transient_and_certainly_not_sent() -> None:
    m = SmtpMailer("127.0.0.1", free_port(), sender=SENDER, security="none", clock=CLOCK, timeout=2)
    with pytest.raises(AdapterError) as err:
        m.send(SPEC)
    assert err.value.transient and not err.value.outcome_unknown


def test_password_in_clear_to_another_host_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        SmtpMailer(
            "smtp.example.org", 25, sender=SENDER, security="none", username="u", password="p"
        )
