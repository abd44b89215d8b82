"""Devices, the auto-add window and the company phonebook: validation, then one transaction.

The clock is `service.now` (UTC, naive), replaced by tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import re
import secrets as pysecrets
import threading
import time

import peewee

from appliance.auth import passwords
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.provisioning import digest, macs
from appliance.provisioning.models import Device, PhonebookContact, get_provisioning_settings
from appliance.provisioning.vendors import BY_KEY, PhonebookEntry, by_oui
from appliance.store import database, secrets
from appliance.users.models import User

log = logging.getLogger(__name__)

AUTO_ADD_WINDOW = dt.timedelta(hours=2)
DEVICE_FIELDS = ("mac", "vendor", "model", "user", "label", "trusted_ranges")
UPDATE_FIELDS = ("user", "label", "trusted_ranges", "revision")
CONTACT_FIELDS = ("name", "company", "number", "mobile")
NUMBER_RE = re.compile(r"^\+?[0-9*#]{1,32}$")
CODECS = ("G722", "PCMA", "PCMU", "G729", "OPUS")


def now() -> dt.datetime:
    return dt.datetime.utcnow()


# -- auto-add window ------------------------------------------------------------------

def auto_add_until() -> dt.datetime | None:
    until = get_provisioning_settings().auto_add_until
    return until if until is not None and until > now() else None


def auto_add_open() -> bool:
    return auto_add_until() is not None


def set_auto_add(open_: object) -> dt.datetime | None:
    """Open auto-add for AUTO_ADD_WINDOW from now, or close it. Returns until when it is open."""
    if not isinstance(open_, bool):
        raise ValidationError("open", "must be true or false")
    with database.atomic():
        row = get_provisioning_settings()
        row.auto_add_until = now() + AUTO_ADD_WINDOW if open_ else None
        row.revision += 1
        row.save()
    return row.auto_add_until


def settings_public() -> dict:
    row = get_provisioning_settings()
    until = auto_add_until()
    return {"auto_add_open": until is not None, "auto_add_until": _iso(until), "codecs": row.codecs.split(","),
            "revision": row.revision}


def set_codecs(value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise ValidationError("codecs", f"must be a non-empty list of {', '.join(CODECS)}")
    codecs = []
    for index, codec in enumerate(value):
        if codec.upper() not in CODECS:
            raise ValidationError(f"codecs.{index}", f"must be one of {', '.join(CODECS)}")
        if codec.upper() not in codecs:
            codecs.append(codec.upper())
    with database.atomic():
        row = get_provisioning_settings()
        row.codecs = ",".join(codecs)
        row.revision += 1
        row.save()
    return codecs


# -- devices ----------------------------------------------------------------------------

def list_devices() -> list[Device]:
    flush_seen()
    return list(Device.select(Device, User).join(User, peewee.JOIN.LEFT_OUTER).order_by(Device.mac))


def get_device(mac: str) -> Device:
    flush_seen()
    try:
        key = macs.normalise(mac)
    except ValidationError:
        raise NotFound("device", str(mac)[:32]) from None
    device = Device.get_or_none(Device.mac == key)
    if device is None:
        raise NotFound("device", key)
    return device


def find_by_token(token: str) -> Device | None:
    if not token or len(token) > 128:
        return None
    return Device.get_or_none(Device.link_token_hash == _token_hash(token))


def create_device(data: dict) -> tuple[Device, str]:
    """Add a phone by its MAC (semi-automatic provisioning). Returns it and its provisioning password."""
    _reject_unknown(data, DEVICE_FIELDS)
    if "mac" not in data:
        raise ValidationError("mac", "is required")
    mac = macs.normalise(data["mac"])
    vendor = data.get("vendor", "")
    if vendor and vendor not in BY_KEY:
        raise ValidationError("vendor", f"must be one of {', '.join(BY_KEY)}")
    if not vendor:
        guessed = by_oui(mac)
        vendor = guessed.key if guessed else ""
    model = _text("model", data.get("model", ""), 64)
    label = _text("label", data.get("label", ""), 64)
    ranges = _ranges(data.get("trusted_ranges", []))
    with database.atomic():
        user = _user(data["user"]) if data.get("user") not in (None, "") else None
        if Device.get_or_none(Device.mac == mac) is not None:
            raise ValidationError("mac", "a device with this MAC address exists already")
        device, password = _new_device(mac, vendor=vendor, model=model, added_by="manual")
        device.user, device.label, device.trusted_ranges = user, label, ",".join(ranges)
        try:
            device.save(force_insert=True)
        except peewee.IntegrityError:
            raise ValidationError("mac", "a device with this MAC address exists already") from None
    return device, password


def auto_add(mac: str, vendor: str, model: str, firmware: str, user_agent: str,
             ip: str) -> tuple[Device | None, bool]:
    """A request from an unknown MAC while auto-add is open: (the device, not assigned; True if this call
    added it), (None, False) if auto-add is closed.

    Its credentials count as delivered from the start: this very request's answer carries them. New
    devices are written by one thread in group commits (a boot storm of unknown phones: a few
    transactions, not a thousand writers queueing on the database lock); the call returns once its
    device is committed."""
    if not auto_add_open():
        return None, False

    def insert() -> tuple[Device, bool]:
        existing = Device.get_or_none(Device.mac == mac)
        if existing is not None:
            return existing, False
        device, _password = _new_device(mac, vendor=vendor, model=model, added_by="auto")
        device.firmware, device.user_agent, device.ip = firmware[:64], user_agent[:255], ip[:64]
        device.last_seen, device.credentials_delivered = now(), True
        device.save(force_insert=True)
        return device, True

    return _group_commit.run(insert)


class _GroupCommit:
    """Runs write functions from many threads in few transactions: each in its own savepoint, the batch
    committed at once by one writer thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[dict] = []
        self._thread: threading.Thread | None = None

    def run(self, fn):
        item = {"fn": fn, "done": threading.Event(), "result": None, "error": None}
        with self._cond:
            self._queue.append(item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="provisioning-writes", daemon=True)
                self._thread.start()
            self._cond.notify()
        if not item["done"].wait(60):
            raise TimeoutError("the store did not take the new device in time")
        if item["error"] is not None:
            raise item["error"]
        return item["result"]

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch, self._queue = self._queue[:200], self._queue[200:]
            try:
                with database.atomic():
                    for item in batch:
                        try:
                            with database.atomic():
                                item["result"] = item["fn"]()
                        except Exception as exc:  # noqa: BLE001 -- handed to the caller
                            item["error"] = exc
            except Exception as exc:  # noqa: BLE001 -- the commit failed: every caller learns it
                for item in batch:
                    if item["error"] is None:
                        item["error"], item["result"] = exc, None
            for item in batch:
                item["done"].set()


_group_commit = _GroupCommit()


def update_device(mac: str, data: dict) -> Device:
    """Assign (user: an extension) or unassign (user: null), label, trusted ranges; `revision` guards."""
    _reject_unknown(data, UPDATE_FIELDS)
    with database.atomic():
        device = get_device(mac)
        if "revision" in data:
            revision = data["revision"]
            if not isinstance(revision, int) or isinstance(revision, bool):
                raise ValidationError("revision", "must be an integer")
            if revision != device.revision:
                raise Conflict("revision", "this device was changed by someone else; reload and try again")
        if "user" in data:
            device.user = _user(data["user"]) if data["user"] not in (None, "") else None
        if "label" in data:
            device.label = _text("label", data["label"], 64)
        if "trusted_ranges" in data:
            device.trusted_ranges = ",".join(_ranges(data["trusted_ranges"]))
        device.revision += 1
        device.save()
    return device


def reset_password(mac: str) -> tuple[Device, str]:
    """New provisioning credentials (the old ones stop working); the password is returned once.

    The phone learns it at its next fetch through its trusted range or its link, or as a first contact
    while auto-add is open; otherwise it is typed into the phone."""
    with database.atomic():
        device = get_device(mac)
        password = passwords.generate_password(16)
        _set_password(device, password)
        device.credentials_delivered = False
        device.revision += 1
        device.save()
    return device, password


def reset_link(mac: str) -> tuple[Device, str]:
    with database.atomic():
        device = get_device(mac)
        token = _set_token(device)
        device.revision += 1
        device.save()
    return device, token


def delete_device(mac: str) -> None:
    with database.atomic():
        get_device(mac).delete_instance()


def link_token(device: Device) -> str:
    return secrets.decrypt(device.link_token_enc)


def prov_password(device: Device) -> str:
    return secrets.decrypt(device.prov_password_enc)


def first_contact_open(device: Device) -> bool:
    """May this device fetch its config without credentials, once, to learn them? Only while auto-add
    is open (the installer is there, on the LAN). A device added by hand gets its config through its
    link, its trusted ranges, or the credentials typed into the phone."""
    return not device.credentials_delivered and auto_add_open()


def claim_first_contact(device: Device) -> bool:
    """Mark the credentials handed out, atomically: True for exactly one of several simultaneous requests
    (the one whose UPDATE changed the row), so two anonymous fetches cannot both receive them."""
    with database.atomic():
        claimed = Device.update(credentials_delivered=True).where(
            (Device.id == device.id) & (Device.credentials_delivered == False)).execute()  # noqa: E712
    if claimed:
        device.credentials_delivered = True
    return bool(claimed)


SEEN_FLUSH_SECONDS = 0.25
_seen_pending: dict[int, dict[str, object]] = {}
_events_pending: list[tuple[str, str, str, dict]] = []
_seen_lock = threading.Lock()
_seen_thread: threading.Thread | None = None


def seen(device: Device, ip: str, filename: str, vendor: str = "", model: str = "", firmware: str = "",
         user_agent: str = "", delivered: bool = False, first_contact: bool = False) -> None:
    """Record a served fetch: address, time, file, what the User-Agent said.

    A first contact (credentials given without any asked) is written at once: it happens once. The rest
    is informational and written by a background thread every SEEN_FLUSH_SECONDS in one transaction, so a
    boot storm of a thousand phones costs a few fsyncs, not a thousand (`flush_seen` writes now)."""
    values: dict[str, object] = {"ip": ip[:64], "last_seen": now().isoformat(sep=" "), "last_file": filename[:128]}
    for column, value, size in (("vendor", vendor, 32), ("model", model, 64), ("firmware", firmware, 64),
                                ("user_agent", user_agent, 255)):
        if value and getattr(device, column) != value[:size]:
            values[column] = value[:size]
    if delivered and not device.credentials_delivered:
        values["credentials_delivered"] = 1
        if first_contact:
            _write_seen({device.id: values})
            return
    with _seen_lock:
        _seen_pending.setdefault(device.id, {}).update(values)
    _start_writer()


def queue_event(kind: str, subject: str, message: str, **details) -> None:
    """An event log entry written with the next batch (a boot storm of new phones: one transaction)."""
    with _seen_lock:
        _events_pending.append((kind, subject, message, details))
    _start_writer()


def _start_writer() -> None:
    global _seen_thread
    with _seen_lock:
        if _seen_thread is None or not _seen_thread.is_alive():
            _seen_thread = threading.Thread(target=_seen_writer, name="provisioning-seen", daemon=True)
            _seen_thread.start()


def flush_seen() -> None:
    with _seen_lock:
        batch = dict(_seen_pending)
        _seen_pending.clear()
        events = list(_events_pending)
        _events_pending.clear()
    if batch or events:
        _write_seen(batch, events)


def _write_seen(batch: dict[int, dict[str, object]], events: list | None = None) -> None:
    from appliance.events.log import record

    with database.atomic():
        for device_id, values in batch.items():
            sets = ", ".join(f"{column} = ?" for column in values)
            database.execute_sql(f"UPDATE device SET {sets} WHERE id = ?", (*values.values(), device_id))
        for kind, subject, message, details in events or ():
            record(kind, subject, message, **details)


def _seen_writer() -> None:
    while True:
        time.sleep(SEEN_FLUSH_SECONDS)
        try:
            flush_seen()
        except Exception:  # noqa: BLE001 -- informational; the next fetch records it again
            log.exception("recording provisioning fetches failed")


def to_public(device: Device, registered: bool | None = None) -> dict:
    user = device.user
    vendor = BY_KEY.get(device.vendor)
    return {
        "mac": device.mac,
        "mac_display": macs.colon(device.mac, upper=True),
        "vendor": device.vendor,
        "vendor_name": vendor.name if vendor else "",
        "model": device.model,
        "firmware": device.firmware,
        "ip": device.ip,
        "last_seen": _iso(device.last_seen),
        "last_file": device.last_file,
        "user": user.extension if user else None,
        "user_name": user.display_name if user else None,
        "label": device.label,
        "added_by": device.added_by,
        "trusted_ranges": device.ranges,
        "provisioning_username": device.prov_username,
        "credentials_delivered": device.credentials_delivered,
        "registered": registered,
        "created_at": _iso(device.created_at),
        "revision": device.revision,
    }


# -- phonebook ----------------------------------------------------------------------------

def list_contacts() -> list[PhonebookContact]:
    return list(PhonebookContact.select().order_by(PhonebookContact.name))


def create_contact(data: dict) -> PhonebookContact:
    _reject_unknown(data, CONTACT_FIELDS)
    for required in ("name", "number"):
        if required not in data:
            raise ValidationError(required, "is required")
    name = _text("name", data["name"], 128, required=True)
    company = _text("company", data.get("company", ""), 128)
    number = _number("number", data["number"])
    mobile = _number("mobile", data["mobile"]) if data.get("mobile") else ""
    return PhonebookContact.create(name=name, company=company, number=number, mobile=mobile, created_at=now())


def delete_contact(contact_id: int) -> None:
    row = PhonebookContact.get_or_none(PhonebookContact.id == contact_id)
    if row is None:
        raise NotFound("contact", str(contact_id))
    row.delete_instance()


def contact_public(row: PhonebookContact) -> dict:
    return {"id": row.id, "name": row.name, "company": row.company, "number": row.number, "mobile": row.mobile}


def phonebook_entries() -> list[PhonebookEntry]:
    """Every user with an extension, then the outside contacts, by name."""
    entries = [PhonebookEntry(name=u.display_name, number=u.extension, first_name=u.first_name,
                              last_name=u.last_name, mobile=u.mobile, internal=True)
               for u in User.select().where(User.extension.is_null(False))]
    entries += [PhonebookEntry(name=c.name, number=c.number, last_name=c.name, company=c.company,
                               mobile=c.mobile, internal=False) for c in PhonebookContact.select()]
    return sorted(entries, key=lambda e: e.name.lower())


# -- helpers ------------------------------------------------------------------------------

def _new_device(mac: str, vendor: str, model: str, added_by: str) -> tuple[Device, str]:
    password = passwords.generate_password(16)
    device = Device(mac=mac, vendor=vendor, model=model[:64], added_by=added_by, prov_username=mac,
                    created_at=now(), revision=1)
    _set_password(device, password)
    _set_token(device)
    return device, password


def _set_password(device: Device, password: str) -> None:
    device.prov_ha1 = digest.ha1(device.prov_username, password)
    device.prov_password_enc = secrets.encrypt(password)


def _set_token(device: Device) -> str:
    token = pysecrets.token_urlsafe(24)
    device.link_token_hash = _token_hash(token)
    device.link_token_enc = secrets.encrypt(token)
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _reject_unknown(data: object, allowed: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in allowed:
            raise ValidationError(str(key)[:64], "is not a known field")


def _user(extension: object) -> User:
    if not isinstance(extension, str) or not extension.strip():
        raise ValidationError("user", "must be the extension of a user, or null")
    user = User.get_or_none(User.extension == extension.strip())
    if user is None:
        raise ValidationError("user", f"no user has extension {extension.strip()[:16]}")
    return user


def _text(field: str, value: object, max_len: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    text = value.strip()
    if required and not text:
        raise ValidationError(field, "is required")
    if len(text) > max_len:
        raise ValidationError(field, f"must be at most {max_len} characters")
    if any(ch in text for ch in '<>"\\\r\n\t'):
        raise ValidationError(field, "must not contain <, >, \", \\ or line breaks")
    return text


def _number(field: str, value: object) -> str:
    if not isinstance(value, str) or not NUMBER_RE.match(value.strip().replace(" ", "")):
        raise ValidationError(field, "must be a phone number (digits, optional leading +)")
    return value.strip().replace(" ", "")


def _ranges(value: object) -> list[str]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list):
        raise ValidationError("trusted_ranges", "must be a list of networks such as 10.135.0.0/24")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationError(f"trusted_ranges.{index}", "must be a network such as 10.135.0.0/24")
        try:
            network = ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise ValidationError(f"trusted_ranges.{index}", "must be a network such as 10.135.0.0/24") from None
        if str(network) not in out:
            out.append(str(network))
    if len(out) > 32:
        raise ValidationError("trusted_ranges", "at most 32 networks")
    return out


def in_ranges(ip: str, ranges: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for item in ranges:
        try:
            if address in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def _iso(value: dt.datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None
