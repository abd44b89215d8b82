"""E-mail address checks shared by the profiles, the settings and the queue."""

from __future__ import annotations

import re

from appliance.errors import ValidationError

MAX_ADDRESS = 254
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDRESS_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@" + _LABEL + r"(?:\." + _LABEL + r")*$")
HOST_RE = re.compile(r"^" + _LABEL + r"(?:\." + _LABEL + r")*\.?$")


def check_address(field: str, value, *, required: bool = True) -> str:
    """A plain address "local@domain" (ASCII, no display name); returns it stripped."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    value = value.strip()
    if not value:
        if required:
            raise ValidationError(field, "an e-mail address is required")
        return ""
    if len(value) > MAX_ADDRESS:
        raise ValidationError(field, f"at most {MAX_ADDRESS} characters")
    if not ADDRESS_RE.match(value) or ".." in value or value.startswith(".") or ".@" in value:
        raise ValidationError(field, "not a valid e-mail address (expected name@domain)")
    return value


def check_host(field: str, value, *, required: bool = True) -> str:
    """A host name or an IPv4/IPv6 address."""
    import ipaddress

    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    value = value.strip()
    if not value:
        if required:
            raise ValidationError(field, "required")
        return ""
    if len(value) > 253:
        raise ValidationError(field, "at most 253 characters")
    try:
        ipaddress.ip_address(value.strip("[]"))
        return value.strip("[]")
    except ValueError:
        pass
    if not HOST_RE.match(value):
        raise ValidationError(field, "not a valid host name or IP address")
    return value
