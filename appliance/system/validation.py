"""One checker per system setting: each returns the clean value or raises ValidationError naming the field."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import zoneinfo
from functools import cache

from appliance.errors import ValidationError
from appliance.system.models import LANGUAGES

NAME_MAX = 64
DOMAIN_MAX = 253
LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# ISO 3166-1 alpha-2, officially assigned codes.
COUNTRIES = tuple("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
YT ZA ZM ZW
""".split())
# Inclusive bounds of the integer settings, with what each one counts.
RANGES = {
    "ring_timeout_s": (5, 300),
    "ban_failures": (2, 1000),
    "ban_window_s": (10, 3600),
    "ban_minutes": (1, 10080),
    # pike counts in 16 bits; below 16 a phone's own call setup looks like a flood.
    "flood_limit": (16, 65535),
}


@cache
def timezones() -> tuple[str, ...]:
    """Every IANA time zone this system knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def appliance_name(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("appliance_name", "must be text")
    text = unicodedata.normalize("NFC", value.strip())
    if not text:
        raise ValidationError("appliance_name", "must not be empty")
    if len(text) > NAME_MAX:
        raise ValidationError("appliance_name", f"must be at most {NAME_MAX} characters long")
    if not text.isprintable():
        raise ValidationError("appliance_name", "must not contain control characters")
    return text


def sip_domain(value: object) -> str:
    """A DNS name (letters, digits, hyphens, dots) or an IPv4 address, lower-cased."""
    if not isinstance(value, str):
        raise ValidationError("sip_domain", "must be text")
    text = value.strip().lower().removesuffix(".")
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    labels = text.split(".")
    if (not text or len(text) > DOMAIN_MAX or not all(LABEL_RE.match(label) for label in labels)
            or labels[-1].isdigit()):
        raise ValidationError("sip_domain", "must be a domain name such as pbx.example.com or an IPv4 address")
    return text


def country(value: object) -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    if text not in COUNTRIES:
        raise ValidationError("country", "must be a two-letter ISO 3166 country code such as FR or CH")
    return text


def timezone(value: object) -> str:
    if not isinstance(value, str) or value.strip() not in timezones():
        raise ValidationError("timezone", "must be a time zone such as Europe/Paris")
    return value.strip()


def language(value: object) -> str:
    if value not in LANGUAGES:
        raise ValidationError("language", "must be one of " + ", ".join(LANGUAGES))
    return str(value)


def whole_number(field: str, value: object) -> int:
    """An integer (or its decimal text, from a form) within RANGES[field]."""
    low, high = RANGES[field]
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field, f"must be a whole number from {low} to {high}")
    return value


def national_prefix(value: object) -> str:
    """The national trunk prefix dialled before an area code ("0"; empty in countries without one)."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or len(text) > 4 or (text and not (text.isascii() and text.isdigit())):
        raise ValidationError("national_prefix", "must be up to 4 digits, such as 0 (or empty)")
    return text


def international_prefix(value: object) -> str:
    """What is dialled before a country code ("00"; "011" in North America)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > 4 or not (text.isascii() and text.isdigit()):
        raise ValidationError("international_prefix", "must be 1 to 4 digits, such as 00")
    return text


CHECKS = {
    "appliance_name": appliance_name,
    "sip_domain": sip_domain,
    "country": country,
    "timezone": timezone,
    "language": language,
    "national_prefix": national_prefix,
    "international_prefix": international_prefix,
    **{field: (lambda value, field=field: whole_number(field, value)) for field in RANGES},
}
