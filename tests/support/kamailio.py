"""Kamailio alone for tests: a fresh store, a rendered config, the real daemon on free loopback ports.

Also a tiny raw-socket SIP client for precise assertions on replies.
"""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from appliance.settings import Settings
from tests.support.ports import free_port_block

SIPP_DIR = Path(__file__).resolve().parent.parent / "sipp"
WORKER_SLOTS = 8


def edge_settings(data_dir: Path) -> Settings:
    """Settings on a free block of ports: SIP, RPC, then the worker range."""
    base = free_port_block(2 + WORKER_SLOTS)
    return Settings(
        data_dir=data_dir, sip_port=base, kamailio_rpc_port=base + 1,
        worker_sip_port_base=base + 2, worker_count_max=WORKER_SLOTS,
    )


def open_fresh_store(settings: Settings, **system_values) -> None:
    """Open the store, load the secret key, set system settings (ban thresholds...)."""
    from appliance.store import open_store, secrets
    from appliance.system import get_system_settings

    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    if system_values:
        system = get_system_settings()
        for name, value in system_values.items():
            setattr(system, name, value)
        system.save()


@contextmanager
def running_kamailio(settings: Settings, **render_options):
    """Render the config and run Kamailio until the block ends; yields the Popen."""
    from appliance.sipedge import config, process

    config.render(settings, **render_options)
    process.prepare(settings)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    log = open(settings.log_dir / "kamailio.log", "ab")
    proc = subprocess.Popen(process.kamailio_command(settings), stdout=log, stderr=subprocess.STDOUT)
    try:
        process.wait_ready(settings, timeout=15)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def write_users_csv(path: Path, users: list[tuple[str, str]]) -> Path:
    """SIPp injection file for register_auth.xml: extension and authentication keyword."""
    lines = ["SEQUENTIAL"]
    lines += [f"{ext};[authentication username={ext} password={password}]" for ext, password in users]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_sipp(settings: Settings, scenario: str, csv: Path, calls: int, *, rate: int = 10,
             source_ip: str = "127.0.0.1", timeout_s: int = 30, extra: list[str] | None = None,
             ) -> subprocess.CompletedProcess:
    """Run a SIPp scenario from tests/sipp against the edge; returncode 0 when every call succeeded."""
    argv = [
        "sipp", "-sf", str(SIPP_DIR / scenario), "-inf", str(csv),
        "-m", str(calls), "-r", str(rate), "-i", source_ip, "-p", "0",
        f"{settings.bind}:{settings.sip_port}",
        "-nostdin", "-timeout", f"{timeout_s}s", "-timeout_error",
        "-trace_err", "-error_file", str(csv.with_suffix(".errors.log")),
    ] + (extra or [])
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s + 30, cwd=csv.parent)


# -- raw SIP client -------------------------------------------------------------


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: str = ""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_names(self) -> list[str]:
        return [key.lower() for key, _ in self.headers]

    def challenge(self) -> dict[str, str]:
        """Parameters of the WWW-/Proxy-Authenticate header."""
        value = self.header("WWW-Authenticate") or self.header("Proxy-Authenticate") or ""
        return dict(re.findall(r'(\w+)="?([^",]*)"?', value))


class SipClient:
    """A UDP SIP user agent bound to `source_ip`, speaking just enough SIP for tests."""

    def __init__(self, settings: Settings, source_ip: str = "127.0.0.1", user_agent: str = "appliance-test"):
        self.server = (settings.bind, settings.sip_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source_ip, 0))
        self.local = self.sock.getsockname()
        self.user_agent = user_agent
        self.cseq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def register(self, extension: str, password: str | None, *, expires: int = 3600,
                 username: str | None = None, timeout: float = 3.0) -> Response | None:
        """REGISTER; answer the challenge with `password` if given. Returns the final reply."""
        call_id = uuid.uuid4().hex
        uri = f"sip:{self.server[0]}:{self.server[1]}"
        first = self.request("REGISTER", uri, extension, call_id, expires=expires, timeout=timeout)
        if first is None or first.status != 401 or password is None:
            return first
        auth = digest(first, "REGISTER", uri, username or extension, password)
        return self.request("REGISTER", uri, extension, call_id, expires=expires,
                            extra=[("Authorization", auth)], timeout=timeout)

    def request(self, method: str, uri: str, user: str, call_id: str, *, expires: int = 3600,
                extra: list[tuple[str, str]] | None = None, timeout: float = 3.0) -> Response | None:
        """Send one request and return its final reply, or None if nothing came back."""
        self.cseq += 1
        host, port = self.local
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        headers = [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{user}@{self.server[0]}>;tag={call_id[:8]}"),
            ("To", f"<sip:{user}@{self.server[0]}>"),
            ("Call-ID", call_id),
            ("CSeq", f"{self.cseq} {method}"),
            ("Contact", f"<sip:{user}@{host}:{port}>"),
            ("User-Agent", self.user_agent),
        ]
        if method == "REGISTER":
            headers.append(("Expires", str(expires)))
        headers += extra or []
        text = f"{method} {uri} SIP/2.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        text += "Content-Length: 0\r\n\r\n"
        self.sock.sendto(text.encode(), self.server)
        return self.final_response(timeout)

    def final_response(self, timeout: float) -> Response | None:
        self.sock.settimeout(timeout)
        while True:
            try:
                data, _ = self.sock.recvfrom(65535)
            except (socket.timeout, ConnectionRefusedError):
                return None
            response = parse_response(data.decode(errors="replace"))
            if response and response.status >= 200:
                return response


def parse_response(text: str) -> Response | None:
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    match = re.match(r"SIP/2\.0 (\d{3}) (.*)", head[0])
    if not match:
        return None
    headers = []
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return Response(int(match.group(1)), match.group(2), headers, text)


def digest(challenge: Response, method: str, uri: str, username: str, password: str) -> str:
    """Authorization header value answering a 401/407 challenge (RFC 2617, no qop)."""
    params = challenge.challenge()
    realm, nonce = params["realm"], params["nonce"]
    ha1 = hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    return (f'Digest username="{username}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{response}", algorithm=MD5')
