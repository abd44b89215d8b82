"""Answer one provisioning request: which vendor's file, for which device, may it have it, render it.

Framework-free (the web route builds a ProvRequest from Bottle's request), so unit tests and the
benchmark drive it directly. Who gets a device's file:

1. an address banned for repeated failures (the web login's failure table) gets nothing (403);
2. a device with trusted ranges refuses any address outside them (403);
3. through its secret link (`/prov/t/<token>/...`), a right digest answer, or from inside its trusted
   ranges, the device gets its file;
4. a device that never received its credentials gets them once without any (first contact), while
   auto-add is open;
5. an unknown MAC is added (not assigned) while auto-add is open, else 404;
6. anything else is challenged (401, digest); a wrong answer counts as a failure for the address.

A device assigned to nobody gets a config with no account (it shows that it waits).
Common files (`y0000000000NN.cfg`, `000000000000.cfg`, `snom<model>.htm`, ...) hold no secret and are
served to anyone not banned.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from appliance.auth import sessions
from appliance.errors import ApplianceError
from appliance.provisioning import PREFIX, digest, firmware, service
from appliance.provisioning.models import Device, get_provisioning_settings
from appliance.provisioning.vendors import BY_KEY, Context, FileMatch, Identity, identify, match_file
from appliance.provisioning.vendors.base import Account
from appliance.settings import Settings
from appliance.system.models import get_system_settings
from appliance.users.models import User
from appliance.users.service import reveal_sip_password

log = logging.getLogger(__name__)

_HOST_RE = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})$")
_FILE_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
PHONEBOOK_FILE = "phonebook.xml"
FIRMWARE_DIR = "firmware"
# What an unassigned phone shows on its line (in the system's language).
WAITING_TEXT = {"fr": "Non attribué", "en": "Not assigned", "de": "Nicht zugewiesen", "it": "Non assegnato"}
# A boot storm asks the same settings thousands of times a second: read them at most once per this many
# seconds (a change reaches the next fetches within it). The ban check is cached as long for addresses
# that are not banned; a failure recorded here forgets the address's entry at once.
CACHE_SECONDS = 1.0
_cache: dict[str, tuple[float, object]] = {}
_cache_lock = threading.Lock()


def _cached(key: str, load):
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = load()
    with _cache_lock:
        _cache[key] = (now, value)
    return value


def forget_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _locked_out(ip: str) -> bool:
    return bool(_cached(f"ban:{ip}", lambda: sessions.is_locked_out(ip)))


def _failure(ip: str, login: str) -> None:
    sessions.record_failure(ip, login)
    with _cache_lock:
        _cache.pop(f"ban:{ip}", None)
    if sessions.is_locked_out(ip):
        from appliance.events.log import record

        record("provisioning.ip_banned", ip, f"{ip} failed provisioning authentication "
               f"{sessions.LOGIN_FAILURES} times: refused for {int(sessions.LOGIN_WINDOW.total_seconds() // 60)} min",
               last=login)


def _device(mac: str) -> Device | None:
    return next(iter(Device.raw("SELECT * FROM device WHERE mac = ?", mac)), None)


def _user(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return next(iter(User.raw("SELECT * FROM user WHERE id = ?", user_id)), None)


@dataclass
class ProvRequest:
    path: str  # what follows the prefix: "y000000000028.cfg" or "t/<token>/805ec0123456.cfg"
    client_ip: str
    user_agent: str = ""
    host: str = "127.0.0.1"  # the appliance's address as the phone reached it (Host header)
    port: int = 80
    scheme: str = "http"
    authorization: str | None = None
    method: str = "GET"


@dataclass
class ProvResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    device: str = ""  # the device's MAC, for the access log
    file: Path | None = None  # a firmware file to send instead of `body`


def handle(req: ProvRequest, settings: Settings) -> ProvResponse:
    if _locked_out(req.client_ip):
        return ProvResponse(403, b"too many failed attempts from your address\n")
    token, filename = _split(req.path)
    if filename is None:
        return ProvResponse(404, b"not found\n")
    if token == FIRMWARE_DIR:
        path = firmware.file_for(settings, filename)
        if path is None:
            return ProvResponse(404, b"not found\n")
        return ProvResponse(200, content_type="application/octet-stream", file=path)
    linked = None
    if token is not None:
        linked = service.find_by_token(token)
        if linked is None:
            _failure(req.client_ip, "prov:link")
            return ProvResponse(404, b"not found\n")
    ident = identify(req.user_agent)
    if filename == PHONEBOOK_FILE:
        if linked is None:
            return ProvResponse(404, b"not found\n")
        return _phonebook(req, linked)
    match = match_file(filename, ident.vendor if ident else "", _stored_vendor)
    if match is None:
        return ProvResponse(404, b"not found\n")
    if match.kind == "common":
        ctx = _context(req, settings, match, None, token)
        return ProvResponse(200, match.vendor.render_common(ctx).encode(), match.vendor.content_type)
    return _device_file(req, settings, match, ident, linked, token)


def _device_file(req: ProvRequest, settings: Settings, match: FileMatch, ident: Identity | None,
                 linked: Device | None, token: str | None) -> ProvResponse:
    mac = match.mac
    if linked is not None and linked.mac != mac:
        _failure(req.client_ip, f"prov:{mac}")
        return ProvResponse(403, b"this link is for another device\n")
    device = linked or _device(mac)
    first_contact = False
    if device is None:
        model = (ident.model if ident and ident.vendor == match.vendor.key else "") or \
            match.vendor.model_from_file(match)
        device, first_contact = service.auto_add(mac, match.vendor.key, model, ident.firmware if ident else "",
                                                 req.user_agent, req.client_ip)
        if device is None:
            return ProvResponse(404, b"unknown device (auto-add is closed)\n")
        if first_contact:
            log.info("new device %s (%s %s) from %s", mac, match.vendor.name, model, req.client_ip)
            service.queue_event("device.added", mac, f"new {match.vendor.name} {model} from {req.client_ip}, "
                                "not assigned", ip=req.client_ip, vendor=match.vendor.key, model=model)
    ranges = device.ranges
    if ranges and not service.in_ranges(req.client_ip, ranges):
        log.warning("provisioning of %s refused: %s is outside its trusted ranges", mac, req.client_ip)
        return ProvResponse(403, b"your address may not fetch this device's configuration\n", device=mac)
    allowed = linked is not None or first_contact or (ranges and service.in_ranges(req.client_ip, ranges))
    if not allowed and req.authorization:
        verdict = _check_digest(req, device)
        if verdict in ("stale", "replay"):  # a right answer, but not for this nonce any more: a fresh one
            if verdict == "replay":
                log.warning("provisioning of %s: a used digest answer was replayed from %s", mac, req.client_ip)
            return _challenge(stale=True, device=mac)
        if verdict != "ok":
            _failure(req.client_ip, f"prov:{mac}")
            log.warning("provisioning of %s: wrong credentials from %s", mac, req.client_ip)
            return _challenge(device=mac)
        allowed = True
    if not allowed and service.first_contact_open(device) and service.claim_first_contact(device):
        allowed = first_contact = True  # claimed by this request alone (check-then-write would let two in)
    if not allowed:
        return _challenge(device=mac)
    vendor = match.vendor
    same_vendor = ident is not None and ident.vendor == vendor.key
    try:
        ctx = _context(req, settings, match, device, token, ident if same_vendor else None)
    except ApplianceError as exc:  # a stored secret this key cannot decrypt (restored without secrets)
        _unreadable_credentials(device, exc)
        return ProvResponse(403, b"this device's provisioning credentials must be reset\n", device=mac)
    body = vendor.render_device(ctx).encode()
    service.seen(device, req.client_ip, match.name, vendor=vendor.key,
                 model=ident.model if same_vendor else "", firmware=ident.firmware if same_vendor else "",
                 user_agent=req.user_agent, delivered=True, first_contact=first_contact)
    return ProvResponse(200, body, vendor.content_type, device=mac)


UNREADABLE_REPORT_SECONDS = 3600
_unreadable_reported: dict[str, float] = {}


def _unreadable_credentials(device: Device, exc: Exception) -> None:
    """Log and record (at most once an hour per device) that its credentials must be reset."""
    log.warning("provisioning of %s refused: its stored credentials cannot be read (%s); reset its "
                "provisioning password and link", device.mac, exc)
    now = time.monotonic()
    with _cache_lock:
        last = _unreadable_reported.get(device.mac)
        if last is not None and now - last < UNREADABLE_REPORT_SECONDS:
            return
        if len(_unreadable_reported) > 10_000:
            _unreadable_reported.clear()
        _unreadable_reported[device.mac] = now
    service.queue_event("device.credentials_unreadable", device.mac,
                        f"{device.mac} cannot be provisioned: its stored provisioning credentials cannot be "
                        "decrypted (restored without secrets?); reset its provisioning password and link")


def _phonebook(req: ProvRequest, device: Device) -> ProvResponse:
    ranges = device.ranges
    if ranges and not service.in_ranges(req.client_ip, ranges):
        return ProvResponse(403, b"your address may not fetch this phonebook\n", device=device.mac)
    vendor = BY_KEY.get(device.vendor) or BY_KEY["yealink"]
    name = _cached("system", get_system_settings).appliance_name
    body = vendor.render_phonebook(service.phonebook_entries(), title=name).encode()
    return ProvResponse(200, body, vendor.phonebook_content_type, device=device.mac)


def _check_digest(req: ProvRequest, device: Device) -> str:
    params = digest.parse(req.authorization)
    if params is None or params.get("username") != device.prov_username:
        return "bad"
    if params.get("realm", digest.REALM) != digest.REALM:
        return "bad"
    return digest.check(params, req.method, device.prov_ha1, path=PREFIX + req.path.lstrip("/"))


def _challenge(stale: bool = False, device: str = "") -> ProvResponse:
    return ProvResponse(401, b"authentication required\n",
                        headers={"WWW-Authenticate": digest.challenge(stale=stale)}, device=device)


def _split(path: str) -> tuple[str | None, str | None]:
    parts = path.lstrip("/").split("/")
    if len(parts) == 1 and _FILE_RE.match(parts[0]):
        return None, parts[0]
    if len(parts) == 2 and parts[0] == FIRMWARE_DIR and _FILE_RE.match(parts[1]):
        return FIRMWARE_DIR, parts[1]
    if len(parts) == 3 and parts[0] == "t" and _FILE_RE.match(parts[2]) and re.match(r"^[\w-]{16,64}$", parts[1]):
        return parts[1], parts[2]
    return None, None


def _stored_vendor(mac: str) -> str:
    row = Device.select(Device.vendor).where(Device.mac == mac).first()
    return row.vendor if row else ""


def base_url(req: ProvRequest) -> str:
    host = req.host if _HOST_RE.match(req.host or "") else "127.0.0.1"
    default = 443 if req.scheme == "https" else 80
    port = "" if req.port == default else f":{req.port}"
    return f"{req.scheme}://{host}{port}{PREFIX}"


def _context(req: ProvRequest, settings: Settings, match: FileMatch, device: Device | None,
             token: str | None, ident: Identity | None = None) -> Context:
    system = _cached("system", get_system_settings)
    prov = _cached("provisioning", get_provisioning_settings)
    host = req.host if _HOST_RE.match(req.host or "") else "127.0.0.1"
    root = base_url(req)
    ctx = Context(
        file=match.name, server_host=host.strip("[]"), sip_port=settings.sip_port, sip_domain=system.sip_domain,
        prov_url=root + (f"t/{token}/" if token else ""), language=system.language, timezone=system.timezone,
        ntp_server=host.strip("[]"), codecs=tuple(prov.codecs.split(",")), appliance_name=system.appliance_name,
        model=match.model, waiting_text=WAITING_TEXT.get(system.language, WAITING_TEXT["en"]),
    )
    if device is None:
        return ctx
    ctx.mac = device.mac
    ctx.model = match.model or device.model
    ctx.prov_username = device.prov_username
    ctx.prov_password = service.prov_password(device)
    ctx.phonebook_url = f"{root}t/{service.link_token(device)}/{PHONEBOOK_FILE}"
    # What the phone says now (User-Agent) is fresher than what was stored at its last fetch.
    offered = firmware.offer(_cached("firmware", firmware.list_firmware), match.vendor.key,
                             (ident.model if ident else "") or ctx.model,
                             (ident.firmware if ident else "") or device.firmware)
    if offered is not None:
        ctx.firmware_url = f"{root}{FIRMWARE_DIR}/{offered.filename}"
    user = _user(device.user_id)
    password = reveal_sip_password(user) if user is not None and user.extension else None
    if user is not None and password:
        ctx.account = Account(extension=user.extension, auth_user=user.extension, password=password,
                              display_name=user.display_name, label=f"{user.extension} {user.display_name}")
        ctx.language = user.language or system.language
    return ctx
