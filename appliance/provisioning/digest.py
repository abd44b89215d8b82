"""HTTP digest authentication (RFC 7616 with MD5, RFC 2069 without qop) checked against a stored HA1.

Nonces are a timestamp signed with a per-process key, valid NONCE_LIFETIME seconds; an expired nonce
with a right answer gets a new challenge marked stale (the phone retries without asking anyone). The
answer's `uri` must be the path asked for (RFC 7616 3.4.6), and each nonce's nonce-count (`nc`) must grow:
the highest seen per nonce is kept in memory (at most MAX_TRACKED nonces, pruned after NONCE_LIFETIME), so
a replayed Authorization header is refused ("replay": challenged again, like a stale nonce). Without qop
(RFC 2069) a nonce is good for one request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from urllib.parse import unquote, urlsplit

REALM = "provisioning"
NONCE_LIFETIME = 300
_KEY = secrets.token_bytes(32)
MAX_TRACKED = 200_000
_used: dict[str, tuple[int, int]] = {}  # nonce -> (issued, highest nc answered)
_used_floor = 0  # nonces issued at or before this were forgotten (evicted): they count as stale
_used_lock = threading.Lock()
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def ha1(username: str, password: str, realm: str = REALM) -> str:
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def make_nonce(now: float | None = None) -> str:
    """`<time>.<random>-<signature>`: unique (counts are kept per nonce), and only we can make one."""
    stamp = f"{int(now if now is not None else time.time()):x}.{secrets.token_hex(6)}"
    sig = hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{stamp}-{sig}"


def _issued(nonce: str) -> int:
    return int(nonce.partition("-")[0].partition(".")[0], 16)


def nonce_state(nonce: str, now: float | None = None) -> str:
    """"ok", "stale" (ours but too old) or "bad" (not ours)."""
    stamp, _, sig = nonce.partition("-")
    expected = hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:32]
    if not sig or not hmac.compare_digest(sig, expected):
        return "bad"
    try:
        issued = _issued(nonce)
    except ValueError:
        return "bad"
    age = (now if now is not None else time.time()) - issued
    return "ok" if -5 <= age <= NONCE_LIFETIME else "stale"


def challenge(stale: bool = False, realm: str = REALM) -> str:
    header = f'Digest realm="{realm}", qop="auth", algorithm=MD5, nonce="{make_nonce()}", opaque="prov"'
    return header + (", stale=true" if stale else "")


def parse(header: str | None) -> dict[str, str] | None:
    """The parameters of an `Authorization: Digest ...` header, or None if it is not one."""
    if not header or not header[:7].lower() == "digest ":
        return None
    params = {}
    for match in _PARAM.finditer(header[7:]):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = value.replace('\\"', '"').replace("\\\\", "\\")
    return params


def check(params: dict[str, str], method: str, stored_ha1: str, now: float | None = None,
          path: str | None = None) -> str:
    """"ok", "stale" (right answer, old nonce), "replay" (right answer, nonce-count already used) or "bad"
    for these Authorization parameters; `path` is the request's path the `uri` must name.

    An empty stored HA1 (secrets blanked, e.g. restored from a backup made without them) is "bad": the
    answer would otherwise be computable by anyone who knows the username (the MAC)."""
    if not stored_ha1:
        return "bad"
    for required in ("username", "nonce", "uri", "response"):
        if required not in params:
            return "bad"
    if params.get("algorithm", "MD5").upper() != "MD5":
        return "bad"
    if path is not None and not _same_path(params["uri"], path):
        return "bad"
    ha2 = hashlib.md5(f"{method}:{params['uri']}".encode()).hexdigest()
    qop = params.get("qop")
    if qop:
        if qop != "auth" or "nc" not in params or "cnonce" not in params:
            return "bad"
        expected = hashlib.md5(
            f"{stored_ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{qop}:{ha2}".encode()
        ).hexdigest()
    else:
        expected = hashlib.md5(f"{stored_ha1}:{params['nonce']}:{ha2}".encode()).hexdigest()
    if not hmac.compare_digest(expected, params["response"].lower()):
        return "bad"
    state = nonce_state(params["nonce"], now)
    if state != "ok":
        return state
    try:
        nc = int(params["nc"], 16) if qop else 0
    except ValueError:
        return "bad"
    return "ok" if _count(params["nonce"], nc, now) else "replay"


def _same_path(uri: str, path: str) -> bool:
    """The digest-uri names the request's path (origin form, or absolute form through a proxy)."""
    try:
        asked = urlsplit(uri).path
    except ValueError:
        return False
    return unquote(asked) == unquote(path)


def _count(nonce: str, nc: int, now: float | None) -> bool:
    """Record this nonce-count; False if it is not above the highest already answered for the nonce."""
    global _used_floor
    moment = int(now if now is not None else time.time())
    issued = _issued(nonce)
    with _used_lock:
        seen = _used.get(nonce)
        if seen is None and issued <= _used_floor:
            return False  # its count was forgotten: ask for a fresh nonce
        if seen is not None and nc <= seen[1]:
            return False
        _used[nonce] = (issued, nc)
        if len(_used) > MAX_TRACKED or (len(_used) % 1024 == 0):
            for key in [k for k, (at, _nc) in _used.items() if moment - at > NONCE_LIFETIME + 5]:
                del _used[key]
            while len(_used) > MAX_TRACKED:
                oldest = next(iter(_used))
                _used_floor = max(_used_floor, _used.pop(oldest)[0])
        return True


def forget_counts() -> None:
    global _used_floor
    with _used_lock:
        _used.clear()
        _used_floor = 0


def authorization(username: str, password: str, method: str, uri: str, www_authenticate: str,
                  cnonce: str | None = None, nc: int = 1) -> str:
    """The client side (tests, benchmark): an Authorization header answering a challenge."""
    params = parse("Digest " + www_authenticate[7:]) or {}
    realm, nonce = params.get("realm", REALM), params.get("nonce", "")
    cnonce = cnonce or secrets.token_hex(8)
    h1 = ha1(username, password, realm)
    h2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    response = hashlib.md5(f"{h1}:{nonce}:{nc:08x}:{cnonce}:auth:{h2}".encode()).hexdigest()
    return (f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", qop=auth, nc={nc:08x}, cnonce="{cnonce}", algorithm=MD5, opaque="prov"')
