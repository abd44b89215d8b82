"""One SMTP conversation with a profile (stdlib smtplib), every outcome classified; never raises.

`deliver(profile, recipients, message)` returns an `Outcome`:
ok, reason (one of REASONS, "" on success), code/text (the server's answer when there was one) and a
one-line human `message` for the UI, e.g.
    ok      "250 Message accepted for delivery"
    network "cannot connect to smtp.example.com:587: connection refused"
    dns     "smtp.example.com: name not found (DNS)"
    tls     "TLS failed: certificate verify failed: self-signed certificate"
    auth    "authentication failed: 535 5.7.8 Authentication credentials invalid"
    recipient "recipient refused: bob@example.com 550 5.1.1 no such user"
"""

from __future__ import annotations

import email
import email.utils
import smtplib
import socket
import ssl
import threading
from dataclasses import asdict, dataclass
from email.policy import SMTP as SMTP_POLICY

from appliance.mail.models import MailProfile

TIMEOUT_S = 5.0
REASONS = ("network", "dns", "tls", "auth", "sender", "recipient", "rejected", "protocol", "config", "error")


@dataclass
class Outcome:
    ok: bool
    reason: str = ""
    code: int | None = None
    text: str = ""
    message: str = ""

    @property
    def permanent(self) -> bool:
        """The server refused for good (5xx on a recipient or the message): retrying will not help."""
        return self.reason in ("recipient", "rejected") and (self.code or 0) >= 500

    def to_dict(self) -> dict:
        return asdict(self)


def deliver(profile: MailProfile, recipients: list[str], message: bytes, *, password: str | None = None,
            timeout: float = TIMEOUT_S) -> Outcome:
    """Send `message` (bytes; its From is set here from the profile) to `recipients` with `profile`.

    `password`: the clear password (None = decrypt the profile's).
    """
    try:
        return _deliver(profile, recipients, message, password, timeout)
    except Exception as exc:  # never a traceback to the caller: classified as "error"
        return Outcome(False, "error", None, "", f"unexpected error: {type(exc).__name__}: {exc}"[:500])


def _deliver(profile, recipients, message, password, timeout) -> Outcome:
    host, port = profile.server, int(profile.port)
    where = f"{host}:{port}"
    if password is None and profile.password_enc:
        from appliance.store import secrets

        try:
            password = secrets.decrypt(profile.password_enc)
        except Exception as exc:
            return Outcome(False, "config", None, "", f"the stored password cannot be read: {exc}")
    failure = _resolve(host, port, timeout)
    if failure is not None:
        return failure
    context = ssl.create_default_context()
    if not profile.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    helo = profile.helo or socket.gethostname()
    client: smtplib.SMTP | None = None
    stage = "connect"
    try:
        # Host given to the constructor: it connects (SMTPConnectError unless 220) and keeps the name for TLS.
        if profile.security == "tls":
            client = smtplib.SMTP_SSL(host, port, local_hostname=helo, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, local_hostname=helo, timeout=timeout)
        stage = "ehlo"
        client.ehlo_or_helo_if_needed()
        if profile.security == "starttls":
            stage = "starttls"
            if not client.has_extn("starttls"):
                return Outcome(False, "tls", None, "", f"{where} does not offer STARTTLS")
            code, text = client.starttls(context=context)
            client.ehlo()
        if profile.username:
            stage = "auth"
            if not client.has_extn("auth"):
                return Outcome(False, "auth", None, "",
                               f"{where} does not offer authentication (AUTH) on this connection"
                               + (" - try STARTTLS or TLS" if profile.security == "none" else ""))
            client.login(profile.username, password or "")
        stage = "mail"
        data = _with_from(profile, message)
        code, text = client.mail(profile.sender)
        if code == 530:
            return _answer(False, "auth", code, text, "the server requires authentication (set a user)")
        if code != 250:
            return _answer(False, "sender", code, text, f"sender {profile.sender} refused")
        stage = "rcpt"
        refused = {}
        for rcpt in recipients:
            code, text = client.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, text)
        if len(refused) == len(recipients):
            rcpt, (code, text) = next(iter(refused.items()))
            client.rset()
            return _answer(False, "recipient", code, text, f"recipient refused: {rcpt}")
        stage = "data"
        code, text = client.data(data)
        if code != 250:
            return _answer(False, "rejected", code, text, "message refused")
        outcome = _answer(True, "", code, text, "")
        if refused:
            outcome.message += " (refused: " + ", ".join(f"{r} {c}" for r, (c, _t) in refused.items()) + ")"
        return outcome
    except smtplib.SMTPAuthenticationError as exc:
        return _answer(False, "auth", exc.smtp_code, exc.smtp_error, "authentication failed")
    except smtplib.SMTPNotSupportedError as exc:
        return Outcome(False, "auth" if stage == "auth" else "protocol", None, "", f"{where}: {exc}")
    except smtplib.SMTPRecipientsRefused as exc:
        rcpt, (code, text) = next(iter(exc.recipients.items()))
        return _answer(False, "recipient", code, text, f"recipient refused: {rcpt}")
    except smtplib.SMTPSenderRefused as exc:
        return _answer(False, "sender", exc.smtp_code, exc.smtp_error, f"sender {profile.sender} refused")
    except smtplib.SMTPDataError as exc:
        return _answer(False, "rejected", exc.smtp_code, exc.smtp_error, "message refused")
    except smtplib.SMTPConnectError as exc:
        return _answer(False, "network", exc.smtp_code, exc.smtp_error, f"the server at {where} refused us")
    except smtplib.SMTPHeloError as exc:
        return _answer(False, "protocol", exc.smtp_code, exc.smtp_error, f"{where} refused our HELO {helo}")
    except smtplib.SMTPResponseException as exc:
        reason = {"starttls": "tls", "auth": "auth"}.get(stage, "protocol")
        return _answer(False, reason, exc.smtp_code, exc.smtp_error, f"{stage} failed")
    except ssl.SSLError as exc:
        detail = getattr(exc, "verify_message", None) or exc.reason or str(exc)
        hint = " (self-signed? untick \"verify the certificate\")" if "certificate" in str(detail) else ""
        return Outcome(False, "tls", None, "", f"TLS failed with {where}: {detail}{hint}")
    except smtplib.SMTPServerDisconnected as exc:
        if stage == "connect" and profile.security == "tls":
            return Outcome(False, "tls", None, "", f"no TLS handshake with {where} ({exc}) - is it a STARTTLS or "
                           "plain port? implicit TLS is usually 465")
        if stage == "connect":
            return Outcome(False, "network", None, "", f"{where} sent no SMTP greeting within {timeout:g} s ({exc})"
                           + (" - an implicit-TLS port? choose TLS" if port == 465 or "timed out" in str(exc) else ""))
        return Outcome(False, "network", None, "", f"{where} closed the connection or did not answer during {stage}: "
                       f"{exc}")
    except smtplib.SMTPException as exc:
        return Outcome(False, "protocol", None, "", f"SMTP error with {where}: {exc}")
    except TimeoutError:
        return Outcome(False, "network", None, "", f"{where} did not answer within {timeout:g} s ({stage})")
    except ConnectionRefusedError:
        return Outcome(False, "network", None, "", f"cannot connect to {where}: connection refused")
    except OSError as exc:
        return Outcome(False, "network", None, "", f"cannot reach {where}: {exc.strerror or exc}")
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def _answer(ok: bool, reason: str, code, text, what: str) -> Outcome:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(str(text or "").split())[:400]
    code = int(code) if code is not None and int(code) > 0 else None
    answer = f"{code} {text}".strip() if code else text
    message = f"{what}: {answer}" if what and answer else (what or answer)
    return Outcome(ok, reason, code, text, message[:500])


def _resolve(host: str, port: int, timeout: float) -> Outcome | None:
    """Resolve `host` within `timeout` (getaddrinfo itself has no timeout); a DNS failure as such."""
    result: dict = {}

    def lookup():
        try:
            result["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            result["error"] = exc

    thread = threading.Thread(target=lookup, name="mail-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return Outcome(False, "dns", None, "", f"{host}: DNS did not answer within {timeout:g} s")
    error = result.get("error")
    if error is not None:
        if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            return Outcome(False, "dns", None, "", f"{host}: name not found (DNS)")
        return Outcome(False, "dns", None, "", f"{host}: DNS lookup failed ({error.strerror or error})")
    return None


def _with_from(profile: MailProfile, message: bytes) -> bytes:
    parsed = email.message_from_bytes(message, policy=SMTP_POLICY)
    del parsed["From"]
    parsed["From"] = email.utils.formataddr((profile.sender_name, profile.sender)) if profile.sender_name \
        else profile.sender
    return parsed.as_bytes()
