"""A real SMTP server on loopback for tests (aiosmtpd), with optional AUTH, STARTTLS or implicit TLS.

    server = SmtpServer(port=None, auth=None, tls=None).start()
    ...                               # server.host, server.port
    server.wait_for(1)                # -> the messages received so far (email.message.EmailMessage)
    server.messages                   # every message received, parsed (policy=email.policy.default)
    server.envelopes                  # [(mail_from, [rcpt, ...])] of each message
    server.stop()                     # the port is closed: clients get "connection refused"
    server.start()                    # again, on the same port (a server that comes back)

auth: {"user": "password"} (or a (user, password) tuple): AUTH PLAIN/LOGIN offered (also over plain
TCP) and required. tls: None | "starttls" | "tls" (implicit, SMTPS); a self-signed certificate for
localhost/127.0.0.1 is generated with `cryptography` (server.cert_path). refuse: recipients answered
550 5.1.1 at RCPT.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ssl
import tempfile
import threading
import time
import warnings
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.ports import free_port

# AUTH over plain TCP is what a test of "security: none" with a login needs; aiosmtpd warns about it.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


def self_signed_certificate(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """(cert.pem, key.pem) for `name` and 127.0.0.1, valid a day."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        if address.lower() in self.server.refuse:
            return f"550 5.1.1 <{address}>: no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.server._cond:
            self.server.messages.append(message)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.server._cond.notify_all()
        return f"250 2.0.0 Ok: queued as TEST{len(self.server.messages):04d}"


class SmtpServer:
    host = "127.0.0.1"

    def __init__(self, port: int | None = None, auth=None, tls: str | None = None, refuse=()):
        if tls not in (None, "starttls", "tls"):
            raise ValueError("tls: None, 'starttls' or 'tls'")
        self.port = port or free_port()
        if isinstance(auth, tuple):
            auth = {auth[0]: auth[1]}
        self.auth: dict[str, str] | None = auth
        self.tls = tls
        self.refuse = {r.lower() for r in refuse}
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.auth_attempts: list[tuple[str, bool]] = []
        self._cond = threading.Condition()
        self._controller: Controller | None = None
        self.cert_path: Path | None = None
        self._context: ssl.SSLContext | None = None
        if tls:
            self.cert_path, key_path = self_signed_certificate(Path(tempfile.mkdtemp(prefix="smtp-tls-")))
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._context.load_cert_chain(self.cert_path, key_path)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.auth is not None and self.auth.get(user) == password
        self.auth_attempts.append((user, ok))
        # handled=False: aiosmtpd answers the failure itself (535 5.7.8).
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        kwargs: dict = {"hostname": self.host, "port": self.port, "ready_timeout": 10}
        if self.auth is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS too.
                          auth_require_tls=self.tls == "starttls")
        if self.tls == "tls":
            kwargs["ssl_context"] = self._context
        elif self.tls == "starttls":
            kwargs["tls_context"] = self._context
        self._controller = Controller(_Handler(self), **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 15) -> list[email.message.EmailMessage]:
        """Wait until `count` messages arrived (AssertionError after `timeout` s); returns them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} message(s) received, expected {count}")
                self._cond.wait(left)
            return list(self.messages)

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
