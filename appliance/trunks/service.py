"""SIP trunks: validation, create/update/delete, presets; side effects after the commit.

A trunk is known by its immutable `name` (a slug: procedures and trunk
groups refer to it). Its password is stored encrypted (appliance.store.secrets)
and never returned; a `dynamic` trunk (the other PBX registers to us) also
keeps the digest HA1 Kamailio checks, md5(auth_user:realm:password) with the
system's SIP domain as realm, recomputed when the domain changes
(`rehash_dynamic_trunks`).

After each committed change "trunk.saved" (trunk=...) or "trunk.deleted"
(trunk=...) is published: the SIP edge re-reads its trunks. Every write also
moves the dialplan revision (the dial_trunk applications name trunks).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import unicodedata

from appliance import changes
from appliance.dialplan import references
from appliance.dialplan.models import NAME_RE, bump_revision
from appliance.errors import Conflict, NotFound, ValidationError, reject_unknown_fields
from appliance.store import database, secrets
from appliance.trunks import presets
from appliance.trunks.models import CALLED_HEADERS, DYNAMIC, TRANSPORTS, Trunk

CODECS = ("PCMA", "PCMU", "G722")
CALLED_HEADER_LABELS = {
    "ruri": "Request-URI",
    "to": "To",
    "pcpid": "P-Called-Party-ID",
    "diversion": "Diversion",
}
TITLE_MAX = 128
USER_MAX = 64
PASSWORD_MAX = 128
DOMAIN_MAX = 253
MAX_CALLS_MAX = 10000
IP_AUTH_MAX = 64
CALLER_ID_RE = re.compile(r"^\+?[0-9]{1,31}$")
COUNTRY_CODE_RE = re.compile(r"^[1-9][0-9]{0,2}$")
# The user part of a SIP URI, kept to what every provider uses (no quoting needed anywhere).
SIP_USER_RE = re.compile(r"^[A-Za-z0-9._+\-]+$")
AUTH_USER_RE = re.compile(r"^[A-Za-z0-9._+\-@]+$")
LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9-]{0,61}[a-z0-9])?$")

WRITABLE_FIELDS = (
    "name", "title", "preset", "auth_user", "from_user", "provider_domain", "host", "password", "register",
    "keepalive", "transport", "tls_verify", "codecs", "max_calls", "country_code", "inbound_procedure", "outbound_caller_id",
    "called_header", "ip_auth", "price_list", "enabled",
)
# Names the web UI and the API use as paths under /trunks and /api/v1/trunks.
RESERVED_NAMES = ("presets", "new", "dids", "groups")
READ_ONLY_FIELDS = ("revision", "updated_at", "has_password", "password_enc", "ha1")


# -- reading ------------------------------------------------------------------------------

def list_trunks() -> list[Trunk]:
    return list(Trunk.select().order_by(Trunk.name))


def get_trunk(name: str) -> Trunk:
    trunk = Trunk.get_or_none(Trunk.name == str(name))
    if trunk is None:
        raise NotFound("trunk", str(name))
    return trunk


def to_public(trunk: Trunk) -> dict:
    """The trunk as the API shows it: never the password nor its hash, only whether one is stored."""
    return {
        "name": trunk.name,
        "title": trunk.title,
        "preset": trunk.preset,
        "auth_user": trunk.auth_user,
        "from_user": trunk.from_user,
        "provider_domain": trunk.provider_domain,
        "host": trunk.host,
        "dynamic": trunk.host == DYNAMIC,
        "has_password": bool(trunk.password_enc),
        "register": bool(trunk.register),
        "keepalive": bool(trunk.keepalive),
        "transport": trunk.transport,
        "tls_verify": bool(trunk.tls_verify),
        "codecs": list(trunk.codecs or []),
        "max_calls": trunk.max_calls,
        "country_code": trunk.country_code,
        "inbound_procedure": trunk.inbound_procedure,
        "outbound_caller_id": trunk.outbound_caller_id,
        "called_header": trunk.called_header,
        "ip_auth": list(trunk.ip_auth or []),
        "price_list": trunk.price_list,
        "enabled": bool(trunk.enabled),
        "revision": trunk.revision,
        "updated_at": _iso(trunk.updated_at),
    }


def password_of(trunk: Trunk) -> str | None:
    """The clear password, for the SIP edge only (never shown in the UI or the API)."""
    return secrets.decrypt(trunk.password_enc) if trunk.password_enc else None


def split_host(host: str) -> tuple[str, int | None]:
    """("sip.example.com", 5060) from "sip.example.com:5060"; IPv6 comes back without brackets."""
    if host.startswith("["):
        address, _sep, rest = host[1:].partition("]")
        return address, int(rest[1:]) if rest.startswith(":") else None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return host, None


def _iso(value) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds") + "Z"
    return str(value)


# -- writing ------------------------------------------------------------------------------

def create_trunk(data: dict) -> Trunk:
    """Create a trunk; a `preset` fills the fields not given (host, transport, codecs...)."""
    _reject_unknown(data)
    if "name" not in data:
        raise ValidationError("name", "is required")
    name = _name(data["name"])
    data = dict(data)
    data.pop("name")
    preset_key = _preset(data.get("preset", presets.DEFAULT))
    filled = {key: value for key, value in presets.defaults(preset_key).items() if key not in data}
    if isinstance(data.get("host"), str) and data["host"].strip().lower() == DYNAMIC and "register" not in data:
        filled["register"] = False  # the other side registers to us
    data = {**filled, **data, "preset": preset_key}
    if "host" not in data:
        raise ValidationError("host", "is required: the provider's host[:port], or \"dynamic\" when the other "
                                      "side registers to this appliance")
    if not data.get("title"):
        data["title"] = name
    values = _validated(data, current=None)
    password = values.pop("password", None)
    with database.atomic():
        if Trunk.select(Trunk.id).where(Trunk.name == name).exists():
            raise ValidationError("name", f"a trunk named {name!r} already exists")
        trunk = Trunk(name=name, revision=1, updated_at=dt.datetime.utcnow())
        for key, value in values.items():
            setattr(trunk, key, value)
        _check_whole(trunk, password, given=set(data))
        _store_password(trunk, password)
        trunk.save(force_insert=True)
        bump_revision()
    changes.publish("trunk.saved", trunk=trunk)
    return trunk


def update_trunk(name: str, data: dict) -> Trunk:
    """Change some fields; `revision` refuses a concurrent edit; the name never changes.

    password: omitted or "" keeps the stored one; null removes it (IP authentication).
    """
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    data = dict(data)
    expected_revision = data.pop("revision", None)
    _reject_unknown(data)
    if "name" in data and data["name"] != name:
        raise ValidationError("name", "cannot be changed: create a new trunk and delete this one")
    data.pop("name", None)
    if data.get("password") == "":
        data.pop("password")
    with database.atomic():
        trunk = get_trunk(name)
        _check_revision(trunk, expected_revision)
        values = _validated(data, current=trunk)
        clear_password = "password" in data and data["password"] is None
        password = values.pop("password", None)
        for key, value in values.items():
            setattr(trunk, key, value)
        if clear_password:
            trunk.password_enc = None
            trunk.ha1 = None
        keep = password_of(trunk) if password is None and not clear_password else None
        _check_whole(trunk, password or keep, given=set(data))
        _store_password(trunk, password or keep)
        trunk.revision += 1
        trunk.updated_at = dt.datetime.utcnow()
        trunk.save()
        bump_revision()
    changes.publish("trunk.saved", trunk=trunk)
    return trunk


def delete_trunk(name: str) -> None:
    """Delete a trunk; refused (409 naming the places) while a procedure, group or DID uses it."""
    with database.atomic():
        trunk = get_trunk(name)
        references.refuse_if_used("trunk", trunk.name)
        trunk.delete_instance()
        bump_revision()
    changes.publish("trunk.deleted", trunk=trunk)


def rehash_dynamic_trunks() -> None:
    """Recompute the HA1 of every dynamic trunk after the SIP domain (the digest realm) changed."""
    with database.atomic():
        for trunk in Trunk.select().where((Trunk.host == DYNAMIC) & Trunk.password_enc.is_null(False)):
            _store_password(trunk, password_of(trunk))
            trunk.save()


def _store_password(trunk: Trunk, password: str | None) -> None:
    if password is None:
        if trunk.host != DYNAMIC:
            trunk.ha1 = None
        return
    from appliance.system.models import get_system_settings

    trunk.password_enc = secrets.encrypt(password)
    if trunk.host == DYNAMIC:
        realm = get_system_settings().sip_domain
        trunk.ha1 = hashlib.md5(f"{trunk.auth_user}:{realm}:{password}".encode()).hexdigest()
    else:
        trunk.ha1 = None


def _check_revision(trunk: Trunk, expected: object) -> None:
    if expected is None:
        return
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise ValidationError("revision", "must be an integer")
    if expected != trunk.revision:
        raise Conflict("revision", "this trunk was changed by someone else; reload and try again")


# -- validation ---------------------------------------------------------------------------

def _reject_unknown(data: object) -> None:
    reject_unknown_fields(data, "trunk", WRITABLE_FIELDS, READ_ONLY_FIELDS)


def _name(value: object) -> str:
    if not isinstance(value, str) or not re.match(NAME_RE, value.strip()):
        raise ValidationError("name", "must be 1 to 64 characters: lower-case letters, digits, - and _, "
                                      "starting with a letter or digit")
    if value.strip() in RESERVED_NAMES:
        raise ValidationError("name", f"{value.strip()!r} is reserved: choose another name")
    return value.strip()


def _preset(value: object) -> str:
    if not isinstance(value, str) or presets.get(value) is None:
        raise ValidationError("preset", "must be one of " + ", ".join(presets.BY_KEY))
    return value


def _validated(data: dict, current: Trunk | None) -> dict:
    checks = {
        "title": _title, "preset": _preset, "auth_user": _auth_user, "from_user": _from_user,
        "provider_domain": _provider_domain, "host": _host, "password": _password,
        "register": lambda v: _bool("register", v), "keepalive": lambda v: _bool("keepalive", v),
        "tls_verify": lambda v: _bool("tls_verify", v),
        "enabled": lambda v: _bool("enabled", v), "transport": _transport, "codecs": _codecs,
        "max_calls": _max_calls, "country_code": _country_code, "inbound_procedure": _inbound_procedure,
        "outbound_caller_id": _caller_id, "called_header": _called_header, "ip_auth": _ip_auth,
        "price_list": _price_list,
    }
    values = {}
    for field, check in checks.items():
        if field in data and not (field == "password" and data[field] is None):
            values[field] = check(data[field])
    return values


def _check_whole(trunk: Trunk, password: str | None, given: set[str]) -> None:
    """Rules between fields, on the trunk as it will be saved."""
    dynamic = trunk.host == DYNAMIC
    if dynamic and trunk.register:
        raise ValidationError("register" if "register" in given else "host",
                              "a dynamic trunk cannot register: the other side registers to this appliance; "
                              "switch registration off")
    if trunk.register or dynamic:
        if not trunk.auth_user:
            raise ValidationError("auth_user", "is required when the trunk registers or is dynamic")
        if not password:
            raise ValidationError("password", "is required when the trunk registers or is dynamic")
    if trunk.transport == "tls" and trunk.host != DYNAMIC and _is_ip(split_host(trunk.host)[0]) \
            and not trunk.provider_domain:
        # TLS checks the certificate's name: a bare address needs the provider's domain to check against.
        raise ValidationError("provider_domain", "is required with TLS to an IP address (the name the "
                                                 "provider's certificate is checked against)")


def _text(field: str, value: object, maximum: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    text = unicodedata.normalize("NFC", value.strip())
    if len(text) > maximum:
        raise ValidationError(field, f"must be at most {maximum} characters long")
    if not text.isprintable():
        raise ValidationError(field, "must not contain control characters")
    return text


def _title(value: object) -> str:
    text = _text("title", value, TITLE_MAX)
    if any(c in text for c in '"<>\\'):
        raise ValidationError("title", 'must not contain " < > or \\')
    return text


def _sip_user(field: str, value: object, pattern: re.Pattern, allowed: str) -> str:
    text = _text(field, value, USER_MAX)
    if text and not pattern.match(text):
        raise ValidationError(field, f"may only contain letters, digits and {allowed}")
    return text


def _auth_user(value: object) -> str:
    return _sip_user("auth_user", value, AUTH_USER_RE, ". _ + - @")


def _from_user(value: object) -> str:
    return _sip_user("from_user", value, SIP_USER_RE, ". _ + -")


def _password(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("password", "must be text")
    if not value:
        raise ValidationError("password", "must not be empty")
    if len(value) > PASSWORD_MAX:
        raise ValidationError("password", f"must be at most {PASSWORD_MAX} characters long")
    if not value.isprintable() or value != value.strip():
        raise ValidationError("password", "must not contain control characters nor start or end with a space")
    return value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _dns_name(text: str) -> bool:
    labels = text.split(".")
    return (0 < len(text) <= DOMAIN_MAX and all(LABEL_RE.match(label) for label in labels)
            and not labels[-1].isdigit())


def _provider_domain(value: object) -> str:
    text = _text("provider_domain", value, DOMAIN_MAX).lower().removesuffix(".")
    if text and not (_is_ip(text) or _dns_name(text)):
        raise ValidationError("provider_domain", "must be a domain name such as sip.example.com or an IP address")
    return text


HOST_HELP = ("must be host[:port] (a domain name, an IPv4 address or an [IPv6] address, port 1 to 65535) "
             "or \"dynamic\"")


def _host(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("host", "must be text")
    text = value.strip()
    if not text:
        raise ValidationError("host", "is required: " + HOST_HELP)
    if len(text) > 260 or not text.isascii() or not text.isprintable():
        raise ValidationError("host", HOST_HELP)
    if text.lower() == DYNAMIC:
        return DYNAMIC
    port_text = None
    if text.startswith("["):
        address, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValidationError("host", HOST_HELP)
        port_text = rest[1:] if rest else None
        try:
            address = str(ipaddress.IPv6Address(address))
        except ValueError:
            raise ValidationError("host", HOST_HELP) from None
        shown = f"[{address}]"
    elif text.count(":") > 1:  # a bare IPv6 address, no port
        try:
            shown = f"[{ipaddress.IPv6Address(text)}]"
        except ValueError:
            raise ValidationError("host", HOST_HELP) from None
    else:
        name, sep, port = text.partition(":")
        if sep:
            port_text = port
        name = name.lower().removesuffix(".")
        try:
            shown = str(ipaddress.IPv4Address(name))
        except ValueError:
            if not _dns_name(name) or all(part.isdigit() for part in name.split(".")):
                raise ValidationError("host", HOST_HELP) from None
            shown = name
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValidationError("host", "the port must be a number from 1 to 65535")
        shown += f":{int(port_text)}"
    return shown


def _bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, "must be true or false")
    return value


def _transport(value: object) -> str:
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in TRANSPORTS:
        raise ValidationError("transport", "must be one of " + ", ".join(TRANSPORTS))
    return text


def _codecs(value: object) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValidationError("codecs", "must be a list of at least one of " + ", ".join(CODECS) + ", in order")
    seen: list[str] = []
    for index, codec in enumerate(value):
        name = codec.strip().upper() if isinstance(codec, str) else None
        if name not in CODECS:
            raise ValidationError(f"codecs.{index}", "must be one of " + ", ".join(CODECS))
        if name in seen:
            raise ValidationError(f"codecs.{index}", f"{name} is listed twice")
        seen.append(name)
    return seen


def _max_calls(value: object) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CALLS_MAX:
        raise ValidationError("max_calls", f"must be a whole number from 0 (no limit) to {MAX_CALLS_MAX}")
    return value


def _country_code(value: object) -> str:
    text = _text("country_code", value, 8).removeprefix("+")
    if text and not (text.isascii() and COUNTRY_CODE_RE.match(text)):
        raise ValidationError("country_code", "must be the country calling code in digits, such as 41 or 33 "
                                              "(or empty)")
    return text


def _inbound_procedure(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("inbound_procedure", "is required: the procedure calls from this trunk go to")
    name = value.strip()
    if not re.match(NAME_RE, name) or not references.exists("procedure", name):
        raise ValidationError("inbound_procedure", f"there is no procedure named {name[:64]!r}")
    return name


def _caller_id(value: object) -> str:
    text = _text("outbound_caller_id", value, 32).replace(" ", "")
    if text and not CALLER_ID_RE.match(text):
        raise ValidationError("outbound_caller_id", "must be a phone number: digits with an optional leading +")
    return text


def _called_header(value: object) -> str:
    if value not in CALLED_HEADERS:
        raise ValidationError("called_header", "must be one of " + ", ".join(CALLED_HEADERS))
    return str(value)


def _ip_auth(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError("ip_auth", "must be a list of IP addresses or networks (CIDR)")
    if len(value) > IP_AUTH_MAX:
        raise ValidationError("ip_auth", f"at most {IP_AUTH_MAX} addresses or networks")
    found: list[str] = []
    for index, item in enumerate(value):
        field = f"ip_auth.{index}"
        if not isinstance(item, str) or not item.strip() or len(item) > 64:
            raise ValidationError(field, "must be an IP address or a network such as 192.0.2.0/24")
        try:
            network = ipaddress.ip_network(item.strip(), strict=True)
        except ValueError as exc:
            hint = "has host bits set: write the network address" if "host bits" in str(exc) else \
                "must be an IP address or a network such as 192.0.2.0/24"
            raise ValidationError(field, hint) from None
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        if text in found:
            raise ValidationError(field, f"{text} is listed twice")
        found.append(text)
    return found


def _price_list(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.match(NAME_RE, value) or not references.exists("price_list", value):
        raise ValidationError("price_list", f"there is no price list named {str(value)[:64]!r}")
    return value
