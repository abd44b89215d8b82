"""Which country an E.164 number reaches, precisely enough for a toll-fraud whitelist.

ISO-2 -> the E.164 prefixes (without '+') of that country; the longest prefix
that matches a number wins. Shared calling codes are split where it matters
for fraud: the North American +1 (the Caribbean islands, classic fraud
destinations, each have their own area codes; the rest of +1 is the US),
+7 (Kazakhstan), +44 (Guernsey, Jersey, Isle of Man), +39 (Vatican), +47
(Svalbard), +358 (Åland), +262, +599, +61, +672. International networks
(+800, +870, +881, +882, +883, +888, +979...) belong to no country, so no
whitelist reaches them.
"""

from __future__ import annotations

from functools import cache

_CANADA = ("204 226 236 249 250 257 263 289 306 343 354 365 367 368 382 387 403 416 418 428 431 437 438 450 460 "
           "468 474 506 514 519 548 579 581 584 587 600 604 613 639 647 672 683 705 709 742 753 778 780 782 807 "
           "819 825 867 873 879 902 905 942").split()

PREFIXES: dict[str, tuple[str, ...]] = {
    # Zone 1: North American Numbering Plan
    "US": ("1",), "CA": tuple("1" + a for a in _CANADA),
    "AG": ("1268",), "AI": ("1264",), "AS": ("1684",), "BB": ("1246",), "BM": ("1441",), "BS": ("1242",),
    "DM": ("1767",), "DO": ("1809", "1829", "1849"), "GD": ("1473",), "GU": ("1671",), "JM": ("1876", "1658"),
    "KN": ("1869",), "KY": ("1345",), "LC": ("1758",), "MP": ("1670",), "MS": ("1664",), "PR": ("1787", "1939"),
    "SX": ("1721",), "TC": ("1649",), "TT": ("1868",), "VC": ("1784",), "VG": ("1284",), "VI": ("1340",),
    # Zone 2: Africa and the North Atlantic
    "EG": ("20",), "SS": ("211",), "MA": ("212",), "DZ": ("213",), "TN": ("216",), "LY": ("218",), "GM": ("220",),
    "SN": ("221",), "MR": ("222",), "ML": ("223",), "GN": ("224",), "CI": ("225",), "BF": ("226",), "NE": ("227",),
    "TG": ("228",), "BJ": ("229",), "MU": ("230",), "LR": ("231",), "SL": ("232",), "GH": ("233",), "NG": ("234",),
    "TD": ("235",), "CF": ("236",), "CM": ("237",), "CV": ("238",), "ST": ("239",), "GQ": ("240",), "GA": ("241",),
    "CG": ("242",), "CD": ("243",), "AO": ("244",), "GW": ("245",), "IO": ("246",), "SC": ("248",), "SD": ("249",),
    "RW": ("250",), "ET": ("251",), "SO": ("252",), "DJ": ("253",), "KE": ("254",), "TZ": ("255",), "UG": ("256",),
    "BI": ("257",), "MZ": ("258",), "ZM": ("260",), "MG": ("261",), "RE": ("262",), "YT": ("262269", "262639"),
    "ZW": ("263",), "NA": ("264",), "MW": ("265",), "LS": ("266",), "BW": ("267",), "SZ": ("268",), "KM": ("269",),
    "ZA": ("27",), "SH": ("290", "247"), "ER": ("291",), "AW": ("297",), "FO": ("298",), "GL": ("299",),
    # Zones 3 and 4: Europe
    "GR": ("30",), "NL": ("31",), "BE": ("32",), "FR": ("33",), "ES": ("34",), "GI": ("350",), "PT": ("351",),
    "LU": ("352",), "IE": ("353",), "IS": ("354",), "AL": ("355",), "MT": ("356",), "CY": ("357",),
    "FI": ("358",), "AX": ("35818",), "BG": ("359",), "HU": ("36",), "LT": ("370",), "LV": ("371",),
    "EE": ("372",), "MD": ("373",), "AM": ("374",), "BY": ("375",), "AD": ("376",), "MC": ("377",),
    "SM": ("378",), "VA": ("379", "3906698"), "UA": ("380",), "RS": ("381",), "ME": ("382",), "HR": ("385",),
    "SI": ("386",), "BA": ("387",), "MK": ("389",), "IT": ("39",), "RO": ("40",), "CH": ("41",), "CZ": ("420",),
    "SK": ("421",), "LI": ("423",), "AT": ("43",), "GB": ("44",), "GG": ("441481", "447781", "447839", "447911"),
    "JE": ("441534", "447509", "447700", "447797", "447829", "447937"), "IM": ("441624", "447524", "447624", "447924"),
    "DK": ("45",), "SE": ("46",), "NO": ("47",), "SJ": ("4779",), "PL": ("48",), "DE": ("49",),
    # Zone 5: the Americas
    "FK": ("500",), "BZ": ("501",), "GT": ("502",), "SV": ("503",), "HN": ("504",), "NI": ("505",), "CR": ("506",),
    "PA": ("507",), "PM": ("508",), "HT": ("509",), "PE": ("51",), "MX": ("52",), "CU": ("53",), "AR": ("54",),
    "BR": ("55",), "CL": ("56",), "CO": ("57",), "VE": ("58",), "GP": ("590",), "BO": ("591",), "GY": ("592",),
    "EC": ("593",), "GF": ("594",), "PY": ("595",), "MQ": ("596",), "SR": ("597",), "UY": ("598",),
    "CW": ("599",), "BQ": ("5993", "5994", "5997"),
    # Zone 6: South-East Asia and Oceania
    "MY": ("60",), "AU": ("61",), "CX": ("6189164",), "CC": ("6189162",), "ID": ("62",), "PH": ("63",),
    "NZ": ("64",), "SG": ("65",), "TH": ("66",), "TL": ("670",), "AQ": ("6721",), "NF": ("6723",), "BN": ("673",),
    "NR": ("674",), "PG": ("675",), "TO": ("676",), "SB": ("677",), "VU": ("678",), "FJ": ("679",), "PW": ("680",),
    "WF": ("681",), "CK": ("682",), "NU": ("683",), "WS": ("685",), "KI": ("686",), "NC": ("687",), "TV": ("688",),
    "PF": ("689",), "TK": ("690",), "FM": ("691",), "MH": ("692",),
    # Zone 7: Russia and Kazakhstan
    "RU": ("7",), "KZ": ("76", "77"),
    # Zone 8: East Asia
    "JP": ("81",), "KR": ("82",), "VN": ("84",), "KP": ("850",), "HK": ("852",), "MO": ("853",), "KH": ("855",),
    "LA": ("856",), "CN": ("86",), "BD": ("880",), "TW": ("886",),
    # Zone 9: West, Central and South Asia
    "TR": ("90",), "IN": ("91",), "PK": ("92",), "AF": ("93",), "LK": ("94",), "MM": ("95",), "MV": ("960",),
    "LB": ("961",), "JO": ("962",), "SY": ("963",), "IQ": ("964",), "KW": ("965",), "SA": ("966",), "YE": ("967",),
    "OM": ("968",), "PS": ("970",), "AE": ("971",), "IL": ("972",), "BH": ("973",), "QA": ("974",), "BT": ("975",),
    "MN": ("976",), "NP": ("977",), "IR": ("98",), "TJ": ("992",), "TM": ("993",), "AZ": ("994",), "GE": ("995",),
    "KG": ("996",), "UZ": ("998",),
}

# The default outbound whitelist: the EEA (EU 27, Iceland, Liechtenstein, Norway), Switzerland, the UK.
DEFAULT_WHITELIST: tuple[str, ...] = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH", "GB",
)


@cache
def _by_length() -> tuple[tuple[str, str], ...]:
    """(prefix, country), longest prefix first."""
    pairs = [(prefix, country) for country, prefixes in PREFIXES.items() for prefix in prefixes]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def country_of(e164: str) -> str:
    """ISO-2 country a "+..." number reaches, "" if none (an international network or not E.164)."""
    if not e164.startswith("+"):
        return ""
    digits = e164[1:]
    for prefix, country in _by_length():
        if digits.startswith(prefix):
            return country
    return ""
