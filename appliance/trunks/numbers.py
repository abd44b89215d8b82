"""Public numbers: the E.164 form of what was dialled or received, and the class of a call.

One home for the facts about numbering plans the appliance needs, with
appliance.trunks.countries (which country a number reaches): emergency
numbers, mobile and premium-rate ranges. Ranges are
written as E.164 prefixes without '+' ("336" = French mobiles); the longest
prefix that matches wins. Countries not listed here still normalise
correctly (calling code table) and classify as national/international;
adding a country's mobile or premium ranges is one entry.
"""

from __future__ import annotations

import re

from appliance.trunks import countries

# Calling codes several countries share (+1 NANP, +7, +39, +44 with Guernsey/Jersey/Isle of Man...): a country
# whose own prefixes extend one of these dials it as its calling code.
_SHARED_CODES = ("1", "7", "39", "44", "47", "358")
# Emergency numbers, as dialled (before any normalisation): always allowed, always logged.
EMERGENCY: dict[str, tuple[str, ...]] = {
    "": ("112",),
    "FR": ("15", "17", "18", "114", "115", "119", "191", "196", "197"),
    "CH": ("117", "118", "143", "144", "145", "147", "1414", "1415"),
    "DE": ("110", "116116"),
    "AT": ("122", "133", "144", "140", "141"),
    "IT": ("113", "115", "118", "1515"),
    "BE": ("100", "101"),
    "GB": ("999",),
    "US": ("911",),
    "ES": ("091", "061", "080", "085", "062"),
}
MOBILE_PREFIXES = (
    "336", "337", "4175", "4176", "4177", "4178", "4179", "4915", "4916", "4917", "447", "393", "346", "347",
    "324", "436", "316", "3519", "3538", "467", "457", "479", "474", "4879", "4850", "4851",
    "4853", "4857", "4860", "4866", "4869", "4872", "4873", "4878", "4888",
)
PREMIUM_PREFIXES = (
    "3389", "3381", "3382", "3368",  # FR: 08 9x / 08 1x / 08 2x surcharged
    "41900", "41901", "41906",       # CH
    "49900", "49137",                # DE
    "449", "4487",                   # GB (09, 087)
    "39899", "39892", "39894",       # IT
    "43900", "43930", "43939",       # AT
    "3290",                          # BE
    "34803", "34806", "34807", "3490",  # ES
    "88", "870", "881", "882", "883",  # satellite and international networks: never cheap
)
DIALLED_RE = re.compile(r"^\+?[0-9*#]{1,32}$")
CALL_CLASSES = ("internal", "local", "national", "mobile", "international", "premium", "emergency")


def calling_code(country: str) -> str:
    """The calling code a number of `country` starts with ("41" for CH, "1" for CA), "" if unknown."""
    prefixes = countries.PREFIXES.get(country.upper())
    if not prefixes:
        return ""
    shortest = min(prefixes, key=len)
    return next((code for code in _SHARED_CODES if shortest.startswith(code)), shortest)


def clean(number: str) -> str:
    """Drop the spaces, dots, dashes and brackets people type; keep digits, * # and a leading +."""
    kept = "".join(c for c in number.strip() if c.isdigit() or c in "*#+")
    return ("+" if kept.startswith("+") else "") + kept.replace("+", "")


def to_e164(number: str, country_code: str, national_prefix: str = "0", international_prefix: str = "00") -> str:
    """The E.164 form ("+41441234567") of a number dialled or received in a country.

    "+41..." stays; the international prefix becomes "+"; the national prefix becomes "+<country code>".
    A short number (an extension, a service code) or one with * or # is returned cleaned, unchanged.
    """
    number = clean(number)
    if number.startswith("+") or not number.isdigit():
        return number
    if international_prefix and number.startswith(international_prefix) and len(number) > len(international_prefix) + 4:
        return "+" + number[len(international_prefix):]
    if national_prefix and number.startswith(national_prefix) and country_code and len(number) > len(
            national_prefix) + 4:
        return "+" + country_code + number[len(national_prefix):]
    if country_code and not national_prefix and len(number) >= 7:
        return "+" + country_code + number  # countries without a trunk prefix (IT, ES, DK...)
    return number


def is_emergency(dialled: str, country: str) -> bool:
    number = clean(dialled)
    return number in EMERGENCY[""] or number in EMERGENCY.get(country.upper(), ())


def classify(dialled: str, e164: str, country: str) -> str:
    """The call class of a number dialled from `country`: emergency, premium, mobile, local, national,
    international, or internal (not a public number)."""
    if is_emergency(dialled, country):
        return "emergency"
    if not e164.startswith("+"):
        return "internal"
    digits = e164[1:]
    if any(digits.startswith(p) for p in PREMIUM_PREFIXES):
        return "premium"
    if countries.country_of(e164) != country.upper():
        return "international"
    if any(digits.startswith(p) for p in MOBILE_PREFIXES):
        return "mobile"
    # Dialled without the national prefix: a number of the caller's own area.
    return "local" if clean(dialled).isdigit() and not clean(dialled).startswith("0") else "national"
