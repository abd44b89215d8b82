"""Public numbers: E.164 forms and call classes, as the trunks, prices and fraud guards use them."""

from __future__ import annotations

import pytest

from appliance.trunks import numbers


@pytest.mark.parametrize("dialled, country_code, expected", [
    ("0612345678", "33", "+33612345678"),          # national prefix -> country code
    ("01 45 67 89 01", "33", "+33145678901"),      # spaces typed by people
    ("0041 79 123 45 67", "33", "+41791234567"),   # international prefix
    ("+41 (0)79-123.45.67".replace("(0)", ""), "41", "+41791234567"),
    ("+33612345678", "41", "+33612345678"),        # already E.164
    ("201", "33", "201"),                          # an extension stays as it is
    ("112", "33", "112"),                          # so do short service numbers
    ("*95", "33", "*95"),
    ("0", "33", "0"),
])
def test_to_e164(dialled, country_code, expected):
    assert numbers.to_e164(dialled, country_code) == expected


def test_countries_without_a_trunk_prefix_add_the_country_code():
    assert numbers.to_e164("0612345678", "39", national_prefix="") == "+390612345678"


@pytest.mark.parametrize("dialled, country, expected", [
    ("112", "FR", "emergency"), ("15", "FR", "emergency"), ("117", "CH", "emergency"), ("144", "CH", "emergency"),
    ("911", "US", "emergency"), ("117", "FR", "internal"),   # 117 is not an emergency number in France
    ("0612345678", "FR", "mobile"), ("0791234567", "CH", "mobile"),
    ("0145678901", "FR", "national"), ("0441234567", "CH", "national"),
    ("0041441234567", "FR", "international"), ("+4915112345678", "FR", "international"),
    ("0899123456", "FR", "premium"), ("0901123456", "CH", "premium"), ("00881234567", "CH", "premium"),
    ("201", "FR", "internal"),
])
def test_classify(dialled, country, expected):
    e164 = numbers.to_e164(dialled, numbers.calling_code(country))
    assert numbers.classify(dialled, e164, country) == expected


@pytest.mark.parametrize("country, code", [("FR", "33"), ("CH", "41"), ("US", "1"), ("CA", "1"), ("JM", "1"),
                                           ("GB", "44"), ("GG", "44"), ("KZ", "7"), ("LI", "423"), ("XX", "")])
def test_calling_code_of_a_country(country, code):
    assert numbers.calling_code(country) == code


@pytest.mark.parametrize("text, ok", [
    ("+41791234567", True), ("0041791234567", True), ("*95#", True),
    ("41+79", False), ("0041 79", False), ("", False), ("1" * 33, False), ("07a", False),
])
def test_only_digits_star_hash_and_a_leading_plus_may_be_dialled(text, ok):
    assert bool(numbers.DIALLED_RE.match(text)) is ok
