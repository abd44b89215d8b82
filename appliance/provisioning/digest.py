"""HTTP digest authentication (RFC 7616 with MD5, RFC 2069 without qop) checked against a stored HA1.

Nonces are stateless: a timestamp signed with a per-process key, valid NONCE_LIFETIME seconds; an expired
nonce with a right answer gets a new challenge marked stale (the phone retries without asking anyone).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

REALM = "provisioning"
NONCE_LIFETIME = 300
_KEY = secrets.token_bytes(32)
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def ha1(username: str, password: str, realm: str = REALM) -> str:
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def make_nonce(now: float | None = None) -> str:
    stamp = f"{int(now if now is not None else time.time()):x}"
    sig = hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{stamp}-{sig}"


def nonce_state(nonce: str, now: float | None = None) -> str:
    """"ok", "stale" (ours but too old) or "bad" (not ours)."""
    stamp, _, sig = nonce.partition("-")
    expected = hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:32]
    if not sig or not hmac.compare_digest(sig, expected):
        return "bad"
    try:
        issued = int(stamp, 16)
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


def check(params: dict[str, str], method: str, stored_ha1: str, now: float | None = None) -> str:
    """"ok", "stale" (right answer, old nonce) or "bad" for these Authorization parameters.

    An empty stored HA1 (secrets blanked, e.g. restored from a backup made without them) is "bad": the
    answer would otherwise be computable by anyone who knows the username (the MAC)."""
    if not stored_ha1:
        return "bad"
    for required in ("username", "nonce", "uri", "response"):
        if required not in params:
            return "bad"
    if params.get("algorithm", "MD5").upper() != "MD5":
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
    return nonce_state(params["nonce"], now)


def authorization(username: str, password: str, method: str, uri: str, www_authenticate: str,
                  cnonce: str | None = None) -> str:
    """The client side (tests, benchmark): an Authorization header answering a challenge."""
    params = parse("Digest " + www_authenticate[7:]) or {}
    realm, nonce = params.get("realm", REALM), params.get("nonce", "")
    cnonce = cnonce or secrets.token_hex(8)
    h1 = ha1(username, password, realm)
    h2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    response = hashlib.md5(f"{h1}:{nonce}:00000001:{cnonce}:auth:{h2}".encode()).hexdigest()
    return (f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", qop=auth, nc=00000001, cnonce="{cnonce}", algorithm=MD5, opaque="prov"')
