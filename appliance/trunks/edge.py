"""What the web UI and the tests ask the SIP edge about trunks.

- `registration_state(settings, trunk)`: the edge's real registration state
  (Kamailio's uac module over RPC, plus the outcome of the last REGISTER the
  edge noted): registered | registering | failed (reason: credentials, network,
  dns, rejected) | unregistered, with a sentence saying why.
- `test_connection(settings, trunk)`: a real REGISTER (register on) or OPTIONS
  (register off) sent from Python to the provider, the failure classified as
  credentials, dns, network or rejected.
- `calls_in_use(settings, name)`: calls up on the trunk (Kamailio's dialog profile).
- `record_state_changes` / `StateWatcher`: registration state changes into the event log.
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import time
import uuid
from dataclasses import dataclass, field

from appliance.errors import ApplianceError, SipEdgeError
from appliance.settings import Settings
from appliance.trunks import dns

# No reply this long after a REGISTER went out: the provider is not reachable.
NO_ANSWER_S = 4
# The state is read for pages: a DNS check there must not hold the page long.
STATE_DNS_LIFETIME_S = 1.5
TEST_TIMEOUT_S = 4.0
USER_AGENT = "appliance"

OK, CREDENTIALS, DNS, NETWORK, REJECTED = "ok", "credentials", "dns", "network", "rejected"
REGISTERED, REGISTERING, FAILED, UNREGISTERED = "registered", "registering", "failed", "unregistered"

# uac.reg_info flags
_DISABLED, _ONGOING, _ONLINE = 1, 2, 4


# -- registration state -------------------------------------------------------------


def registration_state(settings: Settings, trunk) -> dict:
    """The edge's registration of `trunk` (a Trunk row): {state, reason, detail, code, expires_in, retry_in}."""
    from appliance.sipedge import rpc
    from appliance.trunks.models import DYNAMIC

    state = {"trunk": trunk.name, "state": UNREGISTERED, "reason": None, "detail": "", "code": None,
             "expires_in": None, "retry_in": None}
    if not trunk.enabled:
        return state | {"detail": "trunk disabled"}
    if trunk.host == DYNAMIC:
        return _dynamic_state(settings, trunk, state)
    if not trunk.register:
        return _keepalive_state(settings, trunk, state)
    from appliance.sipedge.trunk_tables import contact_user

    try:
        # By l_uuid, as uac itself finds records: mixing indexes can deadlock uac (see kamailio.cfg).
        info = rpc.call(settings, "uac.reg_info", "l_uuid", contact_user(trunk.name, trunk.password_enc))
    except rpc.RpcFault:
        return state | {"detail": "not known to the SIP edge (no auth user or password?)"}
    except SipEdgeError as exc:
        return state | {"detail": f"SIP edge not running: {exc}"}
    flags = int(info.get("flags") or 0)
    now = int(time.time())
    if flags & _ONLINE and int(info.get("diff_expires") or 0) > 0:
        return state | {"state": REGISTERED, "expires_in": int(info["diff_expires"]), "detail": "registered"}

    sent = _htable_value(settings, "trunkreg", f"{trunk.name}::sent")
    reply = _htable_value(settings, "trunkreg", f"{trunk.name}::reply")
    backoff = _htable_value(settings, "regbackoff", trunk.name)
    last = _parse_reply(reply)
    if backoff:
        until, _, failures = backoff.partition("|")
        if until.isdigit() and int(until) > now:
            if last and last.code == 403 and last.phase != "auth":
                reason, detail = REJECTED, f"the provider refused this address ({last.code} {last.reason})"
            else:
                reason, detail = CREDENTIALS, _credentials_detail(last, info.get("realm", ""))
            return state | {"state": FAILED, "reason": reason, "code": last.code if last else None,
                            "retry_in": int(until) - now,
                            "detail": f"{detail}; {failures} failure(s) in a row, next try in {int(until) - now} s"}
    if flags & _DISABLED:
        return state | {"detail": "registration disabled"}

    sent_at = int(sent.split("|", 1)[0]) if sent and sent.split("|", 1)[0].isdigit() else None
    unanswered = sent_at is not None and (last is None or last.at < sent_at) and now - sent_at >= NO_ANSWER_S
    if last is None or unanswered:
        try:
            dns.resolve(trunk.host, trunk.transport, lifetime=STATE_DNS_LIFETIME_S)
        except dns.DnsFailure as exc:
            return state | {"state": FAILED, "reason": DNS, "detail": f"DNS: {exc}"}
        if unanswered:
            return state | {"state": FAILED, "reason": NETWORK, "detail": f"no answer from {trunk.host}"}
        return state | {"state": REGISTERING, "detail": "registering"}
    if 200 <= last.code < 300:
        return state | {"state": REGISTERING, "detail": "registering again", "code": last.code}
    if last.code in (401, 407, 403) and (last.phase == "auth" or last.realm and last.realm != info.get("realm")):
        return state | {"state": FAILED, "reason": CREDENTIALS, "code": last.code,
                        "detail": _credentials_detail(last, info.get("realm", ""))}
    if last.code in (401, 407):
        return state | {"state": REGISTERING, "detail": "authenticating", "code": last.code}
    return state | {"state": FAILED, "reason": REJECTED, "code": last.code,
                    "detail": f"the provider answered {last.code} {last.reason}".strip()}


def registration_states(settings: Settings) -> dict[str, dict]:
    """registration_state of every trunk, by name."""
    from appliance.trunks.models import Trunk

    return {t.name: registration_state(settings, t) for t in Trunk.select().order_by(Trunk.name)}


# (state, reason) -> event kind (appliance.events.log.KINDS) written when a trunk reaches it.
EVENT_KINDS = {
    (REGISTERED, None): "trunk.registered",
    (FAILED, CREDENTIALS): "trunk.registration_failed",
    (FAILED, REJECTED): "trunk.registration_failed",
    (FAILED, DNS): "trunk.dns_failed",
    (FAILED, NETWORK): "trunk.unreachable",
}


def record_state_changes(settings: Settings, known: dict[str, tuple]) -> dict[str, tuple]:
    """Write an event for each trunk whose registration state changed since `known`
    (name -> (state, reason), as returned by the previous call; {} at first) and return the new map.

    "registering" is a passing state: no event. A registered trunk that stops being registered
    without a failure reason gets "trunk.unregistered".
    """
    from appliance.events.log import record

    current: dict[str, tuple] = {}
    for name, state in registration_states(settings).items():
        key = (state["state"], state["reason"])
        if state["state"] == REGISTERING:
            current[name] = known.get(name, key)
            continue
        current[name] = key
        if known.get(name) == key:
            continue
        kind = EVENT_KINDS.get(key)
        if kind is None and known.get(name, (None,))[0] == REGISTERED:
            kind = "trunk.unregistered"
        if kind is not None:
            record(kind, name, f"trunk {name}: {state['detail']}", reason=state["reason"], code=state["code"])
    return current


class StateWatcher:
    """Polls the edge every `interval_s` and writes trunk state changes to the event log
    (record_state_changes). Run one per appliance, in a process with the store open."""

    def __init__(self, settings: Settings, interval_s: float = 10.0):
        import threading

        self.settings, self.interval_s = settings, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trunk-state-watcher", daemon=True)

    def start(self) -> StateWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)

    def _run(self) -> None:
        import logging

        known: dict[str, tuple] = {}
        while not self._stop.wait(self.interval_s):
            try:
                known = record_state_changes(self.settings, known)
            except Exception:  # the watcher must outlive a bad read
                logging.getLogger(__name__).exception("trunk states could not be read")


def calls_in_use(settings: Settings, name: str) -> int:
    """Calls up on the trunk, both directions (0 when the edge is not running)."""
    from appliance.sipedge import rpc

    try:
        result = rpc.call(settings, "dlg.profile_get_size", "trunkcalls", name)
    except SipEdgeError:
        return 0
    if isinstance(result, dict):
        return int(result.get("size", 0) or 0)
    return int(result or 0)


@dataclass
class _Reply:
    at: int
    code: int
    phase: str
    realm: str
    reason: str


def _parse_reply(value: str | None) -> _Reply | None:
    if not value:
        return None
    parts = (value.split("|", 4) + [""] * 5)[:5]
    if not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return _Reply(int(parts[0]), int(parts[1]), parts[2], parts[3], parts[4])


def _credentials_detail(last: _Reply | None, realm: str) -> str:
    if last and last.realm and realm and last.realm != realm:
        return (f"the provider authenticates in realm {last.realm!r}, not {realm!r}: "
                f"set the trunk's provider domain to {last.realm}")
    code = f" ({last.code} {last.reason})" if last else ""
    return f"the provider refused the auth user or password{code}"


def _keepalive_state(settings: Settings, trunk, state: dict) -> dict:
    """A trunk that does not register: what its OPTIONS keep-alives say (Kamailio's route[TRUNK_PING])."""
    if not trunk.keepalive:
        return state | {"detail": "registration off"}
    ping = _htable_value(settings, "trunkreg", f"{trunk.name}::ping") or ""
    at, _, code = ping.partition("|")
    if code.isdigit() and int(code) not in (0, 408):
        return state | {"detail": f"registration off; the provider answers keep-alives ({code})", "code": int(code)}
    try:
        dns.resolve(trunk.host, trunk.transport, lifetime=STATE_DNS_LIFETIME_S)
    except dns.DnsFailure as exc:
        return state | {"state": FAILED, "reason": DNS, "detail": f"DNS: {exc}"}
    if code.isdigit():
        return state | {"state": FAILED, "reason": NETWORK, "detail": f"no answer from {trunk.host} to keep-alives"}
    return state | {"detail": "registration off"}


def _dynamic_state(settings: Settings, trunk, state: dict) -> dict:
    from appliance.sipedge import rpc

    try:
        result = rpc.call(settings, "ul.lookup", "trunk_location", trunk.auth_user)
    except rpc.RpcFault:
        return state | {"detail": "the other PBX has not registered"}
    except SipEdgeError as exc:
        return state | {"detail": f"SIP edge not running: {exc}"}
    contacts = (result or {}).get("Contacts") or []
    expires = [c.get("Contact", {}).get("Expires") for c in contacts]
    left = max([e for e in expires if isinstance(e, int)], default=None)
    return state | {"state": REGISTERED, "expires_in": left, "detail": "the other PBX is registered"}


def _htable_value(settings: Settings, table: str, key: str) -> str | None:
    from appliance.sipedge import rpc

    try:
        result = rpc.call(settings, "htable.get", table, key)
    except SipEdgeError:
        return None
    item = (result or {}).get("item", {})
    value = item.get("value")
    return None if value is None else str(value)


# -- test connection --------------------------------------------------------------------


@dataclass
class SipReply:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class _NoAnswer(Exception):
    pass


def test_connection(settings: Settings, trunk, *, password: str | None = None,
                    timeout: float = TEST_TIMEOUT_S) -> dict:
    """Send a real REGISTER (register on) or OPTIONS to the trunk's provider and say how it went.

    Returns {"ok", "result": ok|credentials|dns|network|rejected, "detail", "code", "target", "method"}.
    The REGISTER carries no Contact (it only asks for the bindings), so it changes nothing at the provider.
    """
    from appliance.sipedge.trunk_tables import host_name
    from appliance.trunks.models import DYNAMIC

    if trunk.host == DYNAMIC:
        state = registration_state(settings, trunk)
        ok = state["state"] == REGISTERED
        return {"ok": ok, "result": OK if ok else NETWORK, "detail": state["detail"], "code": None,
                "target": None, "method": None}
    if password is None and trunk.password_enc:
        from appliance.store import secrets

        try:
            password = secrets.decrypt(trunk.password_enc)
        except ApplianceError:
            password = None
    method = "REGISTER" if trunk.register else "OPTIONS"
    transport = trunk.transport if trunk.transport in dns.DEFAULT_PORTS else "udp"
    domain = trunk.provider_domain or trunk.host
    edge_realm = trunk.provider_domain or host_name(trunk.host)
    result = {"ok": False, "result": NETWORK, "detail": "", "code": None, "target": None, "method": method}
    try:
        targets = dns.resolve(trunk.host, transport)
    except dns.DnsFailure as exc:
        return result | {"result": DNS, "detail": f"DNS: {exc}"}

    problems = []
    for target in targets[:3]:
        result["target"] = f"{target.ip}:{target.port}"
        try:
            return result | _exchange(settings, trunk, target, method, domain, edge_realm, password, timeout)
        except _NoAnswer as exc:
            problems.append(str(exc))
    return result | {"result": NETWORK, "detail": "; ".join(problems)}


def _exchange(settings, trunk, target, method, domain, edge_realm, password, timeout) -> dict:
    user = trunk.auth_user or trunk.from_user or "ping"
    with _Transport(settings, target, domain, timeout, verify=getattr(trunk, "tls_verify", True)) as link:
        call_id = uuid.uuid4().hex
        uri = f"sip:{domain}"
        first = link.transaction(method, uri, user, domain, call_id, 1, [])
        if 200 <= first.status < 300:
            return {"ok": True, "result": OK, "code": first.status, "detail": f"{first.status} {first.reason}"}
        if first.status not in (401, 407):
            return {"result": REJECTED, "code": first.status,
                    "detail": f"the provider answered {first.status} {first.reason}"}
        if not (trunk.auth_user and password):
            return {"result": CREDENTIALS, "code": first.status,
                    "detail": "the provider asks for credentials and the trunk has no auth user or password"}
        challenge = _challenge(first)
        header = "Authorization" if first.status == 401 else "Proxy-Authorization"
        answer = digest_answer(challenge, method, uri, trunk.auth_user, password)
        second = link.transaction(method, uri, user, domain, call_id, 2, [(header, answer)])
        realm = challenge.get("realm", "")
        if 200 <= second.status < 300:
            if realm != edge_realm:
                return {"result": CREDENTIALS, "code": second.status,
                        "detail": (f"the password is right, but the provider authenticates in realm {realm!r}: "
                                   f"set the trunk's provider domain to {realm}")}
            return {"ok": True, "result": OK, "code": second.status, "detail": f"{second.status} {second.reason}"}
        if second.status in (401, 403, 407):
            return {"result": CREDENTIALS, "code": second.status,
                    "detail": f"the provider refused the auth user or password ({second.status} {second.reason})"}
        return {"result": REJECTED, "code": second.status,
                "detail": f"the provider answered {second.status} {second.reason}"}


class _Transport:
    """One SIP transaction at a time towards `target`, over UDP (retransmitted), TCP or TLS."""

    def __init__(self, settings: Settings, target: dns.Target, domain: str, timeout: float, verify: bool = True):
        self.target, self.timeout = target, timeout
        self.transport = target.transport
        bind = settings.bind if settings.bind not in ("", "0.0.0.0") else ""
        try:
            if self.transport == "udp":
                self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self.sock.bind((bind, 0))
                self.sock.connect((target.ip, target.port))
            else:
                self.sock = socket.create_connection((target.ip, target.port), timeout=timeout,
                                                     source_address=(bind, 0) if bind else None)
                if self.transport == "tls":
                    context = ssl.create_default_context()
                    if not verify:  # the trunk accepts the certificate its provider presents (tls_verify off)
                        context.check_hostname = False
                        context.verify_mode = ssl.CERT_NONE
                    self.sock = context.wrap_socket(self.sock, server_hostname=dns.split_host(domain)[0])
        except ConnectionRefusedError as exc:
            raise _NoAnswer(f"{target.ip}:{target.port} refused the connection") from exc
        except (OSError, ssl.SSLError) as exc:
            raise _NoAnswer(f"cannot reach {target.ip}:{target.port} ({self.transport}): {exc}") from exc
        self.local = self.sock.getsockname()
        self.buffer = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def transaction(self, method, uri, user, domain, call_id, cseq, extra) -> SipReply:
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        via = {"udp": "UDP", "tcp": "TCP", "tls": "TLS"}[self.transport]
        headers = [
            ("Via", f"SIP/2.0/{via} {self.local[0]}:{self.local[1]};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{user}@{domain}>;tag={call_id[:10]}"),
            ("To", f"<sip:{user}@{domain}>"),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
            ("User-Agent", USER_AGENT),
        ] + list(extra)
        text = f"{method} {uri} SIP/2.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        data = (text + "Content-Length: 0\r\n\r\n").encode()
        deadline = time.monotonic() + self.timeout
        interval = 0.5
        try:
            self.sock.sendall(data) if self.transport != "udp" else self.sock.send(data)
            next_send = time.monotonic() + interval
            while (now := time.monotonic()) < deadline:
                if self.transport == "udp" and now >= next_send:
                    self.sock.send(data)
                    interval = min(interval * 2, 4.0)
                    next_send = now + interval
                self.sock.settimeout(max(0.01, min(deadline, next_send) - now))
                try:
                    reply = self._receive()
                except TimeoutError:
                    continue
                if reply and reply.status >= 200 and reply.header("Call-ID") == call_id:
                    return reply
        except ConnectionRefusedError as exc:
            raise _NoAnswer(f"{self.target.ip}:{self.target.port} is unreachable (ICMP port unreachable)") from exc
        except OSError as exc:
            raise _NoAnswer(f"{self.target.ip}:{self.target.port}: {exc}") from exc
        raise _NoAnswer(f"no answer from {self.target.ip}:{self.target.port} ({self.transport}) "
                        f"in {self.timeout:.0f} s")

    def _receive(self) -> SipReply | None:
        if self.transport == "udp":
            return parse_reply(self.sock.recv(65535).decode(errors="replace"))
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65535)
            if not chunk:
                raise OSError("connection closed by the provider")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        body_length = int(length.group(1)) if length else 0
        self.buffer = rest[body_length:]
        return parse_reply(head.decode(errors="replace"))


def parse_reply(text: str) -> SipReply | None:
    lines = text.split("\r\n\r\n", 1)[0].split("\r\n")
    match = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
    if not match:
        return None
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return SipReply(int(match.group(1)), match.group(2), headers)


def _challenge(reply: SipReply) -> dict[str, str]:
    value = reply.header("WWW-Authenticate") or reply.header("Proxy-Authenticate") or ""
    value = re.sub(r"^\s*Digest\s+", "", value, flags=re.I)
    return {k.lower(): v1 or v2 for k, v1, v2 in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]*))', value)}


def digest_answer(challenge: dict[str, str], method: str, uri: str, user: str, password: str) -> str:
    """Authorization header value for an RFC 2617 MD5 challenge (qop=auth when offered)."""
    realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    parts = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"', "algorithm=MD5"]
    qops = [q.strip() for q in challenge.get("qop", "").split(",")]
    if "auth" in qops:
        cnonce, nc = uuid.uuid4().hex[:16], "00000001"
        response = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
        parts += ["qop=auth", f'cnonce="{cnonce}"', f"nc={nc}"]
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    parts.append(f'response="{response}"')
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)


# Not a pytest test, even when a test module imports it by name.
test_connection.__test__ = False
