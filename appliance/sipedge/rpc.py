"""Kamailio's JSON-RPC over HTTP (loopback): registrations, bans, dispatcher."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request

from appliance.errors import SipEdgeError
from appliance.settings import Settings

TIMEOUT_S = 5.0
_ids = itertools.count(1)


class RpcFault(SipEdgeError):
    """Kamailio answered, with an error (unknown key, contact not found...)."""

    def __init__(self, method: str, code, message: str):
        super().__init__(f"Kamailio RPC {method} failed: {code} {message}")
        self.code = code


def call(settings: Settings, method: str, *params):
    """Call one RPC method and return its result; SipEdgeError if it fails."""
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": next(_ids)}).encode()
    request = urllib.request.Request(
        settings.kamailio_rpc_url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        # jsonrpcs maps RPC errors onto HTTP status codes, with a JSON body.
        try:
            answer = json.loads(exc.read() or b"{}")
        except json.JSONDecodeError:
            answer = {"error": {"code": exc.code, "message": exc.reason}}
        answer.setdefault("error", {"code": exc.code, "message": exc.reason})
    except (urllib.error.URLError, OSError) as exc:
        raise SipEdgeError(f"Kamailio is unreachable at {settings.kamailio_rpc_url}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise SipEdgeError(f"Kamailio sent an invalid JSON-RPC answer to {method}") from exc
    if "error" in answer:
        error = answer["error"]
        raise RpcFault(method, error.get("code"), error.get("message"))
    return answer.get("result")


def registrations(settings: Settings) -> list[dict]:
    """Registered contacts: extension, contact, user_agent, source_ip, expires (s left)."""
    result = call(settings, "ul.dump")
    rows = []
    for domain in (result or {}).get("Domains", []):
        for aor in domain.get("Domain", {}).get("AoRs", []):
            info = aor.get("Info", {})
            for item in info.get("Contacts", []):
                contact = item.get("Contact", {})
                expires = contact.get("Expires")
                rows.append({
                    "extension": info.get("AoR", ""),
                    "contact": contact.get("Address", ""),
                    "user_agent": contact.get("User-Agent", ""),
                    "source_ip": _host(contact.get("Received") or contact.get("Address", "")),
                    "expires": expires if isinstance(expires, int) else 0,
                })
    return sorted(rows, key=lambda r: (r["extension"], r["contact"]))


def bans(settings: Settings) -> list[dict]:
    """Banned IPs: ip, expires (seconds left), failures."""
    now = time.time()
    rows = []
    for slot in call(settings, "htable.dump", "ipban") or []:
        for entry in slot.get("slot", []):
            until, _, failures = str(entry.get("value", "")).partition(":")
            if until.isdigit() and int(until) <= now:
                continue  # ended: forgotten at the address's next request or by cleanup
            rows.append({
                "ip": entry.get("name", ""),
                "expires": max(0, int(until) - int(now)) if until.isdigit() else 0,
                "failures": int(failures) if failures.isdigit() else 0,
            })
    return sorted(rows, key=lambda r: r["ip"])


def unban(settings: Settings, ip: str) -> None:
    """Lift a ban and forget the IP's recent failures."""
    for table in ("ipban", "authfail", "authfirst"):
        try:
            call(settings, "htable.delete", table, ip)
        except RpcFault:
            pass  # not there: nothing to forget


def set_runtime_value(settings: Settings, group: str, name: str, value: int | str) -> None:
    """Change one of kamailio.cfg's runtime parameters (`group.name = ...`) at once, in every process."""
    method = "cfg.set_now_int" if isinstance(value, int) else "cfg.set_now_string"
    call(settings, method, group, name, value)


def runtime_value(settings: Settings, group: str, name: str) -> int | str:
    """The current value of one of kamailio.cfg's runtime parameters."""
    return call(settings, "cfg.get", group, name)


def drop_registrations(settings: Settings, extension: str) -> None:
    """Forget every contact of an extension (it must register again, if it still can)."""
    try:
        call(settings, "ul.rm", "location", str(extension))
    except RpcFault:
        pass  # not registered: nothing to drop


def _host(uri: str) -> str:
    """Host part of a SIP URI such as sip:101@192.0.2.7:5062;transport=udp."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = rest.split("@", 1)[-1]
    rest = rest.split(";", 1)[0].split(">", 1)[0]
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
