"""The appliance's own TLS certificate: one home for it (SIP over TLS today, HTTPS later).

On first start the appliance makes itself a self-signed certificate with the
`cryptography` package: RSA 2048 (every SIP phone speaks it), valid ten years,
its names in subjectAltName (the SIP domain, the host name, `localhost`, the
address it listens on). The key is written 0600 in `<data>/tls/`, the directory
0700. A certificate the appliance made itself is made again when the names it
must carry change (a new SIP domain); one an administrator put in its place
(not self-made) is never touched.

`system_ca_dir()` / `system_ca_file()`: where the system keeps the CAs it trusts
(Debian's ca-certificates): providers' certificates are verified against them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from appliance.settings import Settings

log = logging.getLogger(__name__)

# The Organization of a certificate the appliance made for itself (a mark, not a secret).
SELF_MADE = "PBX appliance (self-signed)"
VALID_DAYS = 3650
KEY_BITS = 2048
DEBIAN_CA_FILE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_CA_DIR = Path("/etc/ssl/certs")


@dataclass(frozen=True)
class CertificateFiles:
    certificate: Path
    key: Path


def paths(settings: Settings) -> CertificateFiles:
    folder = settings.data_dir / "tls"
    return CertificateFiles(folder / "appliance.crt", folder / "appliance.key")


def names_for(settings: Settings, sip_domain: str) -> list[str]:
    """The names and addresses the appliance's certificate carries."""
    names = [sip_domain, socket.gethostname(), "localhost", "127.0.0.1"]
    if settings.bind not in ("", "0.0.0.0"):
        names.append(settings.bind)
    unique: list[str] = []
    for name in names:
        name = (name or "").strip().lower()
        if name and name not in unique:
            unique.append(name)
    return unique


def ensure(settings: Settings, names: Iterable[str]) -> CertificateFiles:
    """The certificate and key files, made (self-signed) if missing or if a self-made one lacks a name."""
    files = paths(settings)
    wanted = list(names)
    if files.certificate.exists() and files.key.exists():
        current = _load(files.certificate)
        if current is not None and (not _is_self_made(current) or set(wanted) <= set(_san_names(current))):
            return files
        log.info("the certificate is unreadable, or the SIP domain or addresses changed: making a new one")
    make_self_signed(files, wanted)
    return files


def make_self_signed(files: CertificateFiles, names: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    files.certificate.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(files.certificate.parent, 0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, SELF_MADE),
    ])
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write(files.key, key_pem, 0o600)
    _write(files.certificate, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    log.info("made a self-signed certificate for %s", ", ".join(names))


def system_ca_dir() -> Path:
    """The system's trusted CAs as a hashed directory (OpenSSL looks a CA up there only when needed)."""
    default = ssl.get_default_verify_paths()
    for candidate in (default.capath, default.openssl_capath, str(DEBIAN_CA_DIR)):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return DEBIAN_CA_DIR


def system_ca_file() -> Path:
    """The bundle of CAs the system trusts (for verifying providers' certificates)."""
    default = ssl.get_default_verify_paths()
    for candidate in (default.cafile, default.openssl_cafile, str(DEBIAN_CA_FILE)):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return DEBIAN_CA_FILE


def _write(path: Path, data: bytes, mode: int) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(temp, mode)
    os.replace(temp, path)


def _load(path: Path):
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _is_self_made(certificate) -> bool:
    from cryptography.x509.oid import NameOID

    orgs = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return any(o.value == SELF_MADE for o in orgs) and certificate.subject == certificate.issuer


def _san_names(certificate) -> list[str]:
    from cryptography import x509

    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [n.lower() for n in san.get_values_for_type(x509.DNSName)] + [
        str(a) for a in san.get_values_for_type(x509.IPAddress)]
