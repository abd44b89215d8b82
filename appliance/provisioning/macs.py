"""MAC addresses: validation and the one stored form (12 lower-case hex digits), formats phones use."""

from __future__ import annotations

import re

from appliance.errors import ValidationError

_SEPARATED = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_DOTTED = re.compile(r"^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$")


def normalise(value: object, field: str = "mac") -> str:
    """"00:15:65:AA:BB:CC", "00-15-65-aa-bb-cc", "001565aabbcc", "0015.65aa.bbcc" -> "001565aabbcc".

    ValidationError(field) for anything else, and for the all-zero, broadcast and multicast addresses
    (no phone has one)."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a MAC address such as 00:15:65:12:34:56")
    text = value.strip()
    if not (_SEPARATED.match(text) or _DOTTED.match(text)):
        raise ValidationError(field, "must be a MAC address such as 00:15:65:12:34:56")
    mac = re.sub(r"[^0-9A-Fa-f]", "", text).lower()
    if mac in ("000000000000", "ffffffffffff") or int(mac[1], 16) & 1:
        raise ValidationError(field, "is not the address of a device (zero, broadcast or multicast)")
    return mac


def is_mac(text: str) -> bool:
    try:
        normalise(text)
    except ValidationError:
        return False
    return True


def colon(mac: str, upper: bool = False) -> str:
    text = ":".join(mac[i:i + 2] for i in range(0, 12, 2))
    return text.upper() if upper else text
