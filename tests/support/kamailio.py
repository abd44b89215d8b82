"""Kamailio alone for tests: a fresh store, a rendered config, the real daemon on free loopback ports.

Also a tiny raw-socket SIP client for precise assertions on replies.
"""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import time
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

    def __init__(self, settings: Settings, source_ip: str = "127.0.0.1", user_agent: str = "appliance-test",
                 advertise: tuple[str, int] | None = None):
        self.server = (settings.bind, settings.sip_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source_ip, 0))
        # What the phone writes in Via and Contact: a private address when it
        # sits behind NAT and does not know its public one.
        self.local = advertise or self.sock.getsockname()
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
        return self.final_response(timeout, call_id)

    def final_response(self, timeout: float, call_id: str | None = None) -> Response | None:
        """Next final reply (for `call_id` if given: strays on a reused port are skipped)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except (TimeoutError, ConnectionRefusedError):
                return None
            response = parse_response(data.decode(errors="replace"))
            if response and response.status >= 200 and call_id in (None, response.header("Call-ID")):
                return response
        return None


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


# -- SIP messages built by hand: calls through the edge -------------------------------


def header_values(text: str, name: str) -> list[str]:
    """Every value of header `name` in a SIP message (long names only)."""
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    values = []
    for line in head:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            values.append(value.strip())
    return values


def build_response(request: str, status: int, reason: str, *, to_tag: str, contact: str | None = None) -> str:
    """A reply to `request` echoing Via, From, To (with our tag), Call-ID and CSeq."""
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {v}" for v in header_values(request, "Via")]
    lines.append(f"From: {header_values(request, 'From')[0]}")
    to = header_values(request, "To")[0]
    if status > 100 and ";tag=" not in to:
        to += f";tag={to_tag}"
    lines.append(f"To: {to}")
    lines.append(f"Call-ID: {header_values(request, 'Call-ID')[0]}")
    lines.append(f"CSeq: {header_values(request, 'CSeq')[0]}")
    lines += [f"Record-Route: {v}" for v in header_values(request, "Record-Route")]
    if contact:
        lines.append(f"Contact: <{contact}>")
    return "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n"


class Caller(SipClient):
    """A phone that places calls: INVITE with proxy digest auth, then BYE."""

    def invite(self, callee: str, password: str | None, *, from_user: str, username: str | None = None,
               extra: list[tuple[str, str]] | None = None, timeout: float = 5.0) -> Response | None:
        call_id = uuid.uuid4().hex
        uri = f"sip:{callee}@{self.server[0]}:{self.server[1]}"
        self.last_call = (call_id, uri, from_user)
        first = self._invite(uri, callee, from_user, call_id, extra or [], timeout)
        if first is None or first.status != 407 or password is None:
            return first
        auth = digest(first, "INVITE", uri, username or from_user, password)
        return self._invite(uri, callee, from_user, call_id, (extra or []) + [("Proxy-Authorization", auth)], timeout)

    def _invite(self, uri, callee, from_user, call_id, extra, timeout):
        self.cseq += 1
        host, port = self.local
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        headers = [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{from_user}@{self.server[0]}>;tag={call_id[:8]}"),
            ("To", f"<sip:{callee}@{self.server[0]}>"),
            ("Call-ID", call_id),
            ("CSeq", f"{self.cseq} INVITE"),
            ("Contact", f"<sip:{from_user}@{host}:{port}>"),
            ("User-Agent", self.user_agent),
        ] + extra
        text = f"INVITE {uri} SIP/2.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        self.sock.sendto((text + "Content-Length: 0\r\n\r\n").encode(), self.server)
        return self.final_response(timeout, call_id)

    def bye(self, answer: Response, timeout: float = 3.0) -> Response | None:
        """Hang up an answered call, following its Record-Route like a real phone."""
        self.cseq += 1
        host, port = self.local
        target = re.search(r"<([^>]+)>", answer.header("Contact")).group(1)
        routes = [v for k, v in answer.headers if k.lower() == "record-route"]
        headers = [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport"),
            ("Max-Forwards", "70"),
            ("From", answer.header("From")),
            ("To", answer.header("To")),
            ("Call-ID", answer.header("Call-ID")),
            ("CSeq", f"{self.cseq} BYE"),
        ] + [("Route", r) for r in routes]
        text = f"BYE {target} SIP/2.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        self.sock.sendto((text + "Content-Length: 0\r\n\r\n").encode(), self.server)
        return self.final_response(timeout, answer.header("Call-ID"))

    def receive_request(self, timeout: float = 3.0) -> str | None:
        """Next request sent to this phone (replies are skipped)."""
        self.sock.settimeout(timeout)
        while True:
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                return None
            text = data.decode(errors="replace")
            if not text.startswith("SIP/2.0"):
                return text

    def reply(self, request: str, status: int, reason: str, contact: str | None = None) -> None:
        response = build_response(request, status, reason, to_tag="callee", contact=contact)
        self.sock.sendto(response.encode(), self.server)


class FakeWorker:
    """A stand-in for a call-core worker on 127.0.0.1:port: answers OPTIONS and
    INVITEs (with `answer`), records the INVITEs, and can place B-legs."""

    def __init__(self, settings: Settings, port: int, answer: int = 200):
        import queue
        import threading

        self.settings = settings
        self.port = port
        self.answer = answer
        self.invites: list[str] = []
        self.responses: queue.Queue = queue.Queue()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Die like a crashed worker: the port stops answering."""
        self.running = False
        self.sock.close()
        self.thread.join(timeout=2)

    def _serve(self) -> None:
        while self.running:
            try:
                self.sock.settimeout(0.2)
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            text = data.decode(errors="replace")
            if text.startswith("SIP/2.0"):
                self.responses.put(parse_response(text))
                continue
            method = text.split(" ", 1)[0]
            contact = f"sip:worker@127.0.0.1:{self.port}"
            if method == "INVITE":
                self.invites.append(text)
                self.sock.sendto(build_response(text, 100, "Trying", to_tag="w").encode(), peer)
                reason = {200: "OK", 486: "Busy Here"}.get(self.answer, "Whatever")
                self.sock.sendto(build_response(text, self.answer, reason, to_tag="w", contact=contact).encode(), peer)
            elif method in ("OPTIONS", "BYE", "CANCEL"):
                self.sock.sendto(build_response(text, 200, "OK", to_tag="w", contact=contact).encode(), peer)

    def call_extension(self, extension: str, *, caller_name: str, caller_number: str, timeout: float = 5.0):
        """Place a B-leg INVITE through the edge, as the call core does; returns the final reply."""
        call_id = uuid.uuid4().hex
        server = f"{self.settings.bind}:{self.settings.sip_port}"
        text = (
            f"INVITE sip:{extension}@{server} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: \"Call Core\" <sip:worker@127.0.0.1:{self.port}>;tag=wb{call_id[:6]}\r\n"
            f"To: <sip:{extension}@{server}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:worker@127.0.0.1:{self.port}>\r\n"
            f"X-AP-Caller-Name: {caller_name}\r\n"
            f"X-AP-Caller-Number: {caller_number}\r\n"
            "X-AP-Internal: secret\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        self.sock.sendto(text.encode(), (self.settings.bind, self.settings.sip_port))
        import queue

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = self.responses.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if response.status >= 200 and response.header("Call-ID") == call_id:
                return response
        return None
