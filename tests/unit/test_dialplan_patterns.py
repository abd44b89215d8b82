"""The called-number pattern language: every example of the manual, and which entry wins."""

from __future__ import annotations

import pytest

from appliance.dialplan.patterns import best_match, compile_pattern
from appliance.errors import ValidationError


def matches(pattern: str, number: str) -> bool:
    return compile_pattern(pattern).matches(number)


@pytest.mark.parametrize("pattern, yes, no", [
    # The manual's examples, one by one.
    ("0.", ["01", "0041791234567"], ["0", "10", ""]),
    ("1XX", ["125", "167", "100"], ["12", "1000", "225"]),
    ("[37]2X", ["326", "728", "320"], ["426", "336", "72"]),
    ("X.", ["12", "0041"], ["1", ""]),
    ("[1237-9]", ["1", "2", "3", "7", "8", "9"], ["4", "5", "6", "0", "12"]),
    ("XXX!", ["123", "1234", "123456789"], ["12", "1"]),
    ("XXX.", ["1234", "123456"], ["123", "12"]),
    ("Z", ["1", "9"], ["0", "11"]),
    ("N", ["2", "9"], ["0", "1"]),
    # Lower case letters work the same; literals include * # +.
    ("1xx", ["199"], ["1999"]),
    ("+41.", ["+41791234567"], ["0041791234567"]),
    ("*9X", ["*95"], ["95"]),
])
def test_manual_examples(pattern, yes, no):
    for number in yes:
        assert matches(pattern, number), (pattern, number)
    for number in no:
        assert not matches(pattern, number), (pattern, number)


def test_exact_number_is_only_itself():
    assert matches("1220", "1220")
    assert not matches("1220", "12200")


def winner(entries: list[str], number: str) -> str | None:
    compiled = [compile_pattern(e) for e in entries]
    index = best_match(compiled, number)
    return None if index is None else entries[index]


@pytest.mark.parametrize("entries, number, expected", [
    (["1XX", "100"], "100", "100"),            # exact beats any pattern, wherever it is listed
    (["X.", "1XX"], "123", "1XX"),             # narrower first position: 1 beats X
    (["1XX", "12X"], "123", "12X"),            # same start, narrower second position
    (["0X.", "0[67]."], "0612345678", "0[67]."),  # the manual's mobile example beats the land-line one
    (["XXX!", "XXX."], "1234", "XXX."),        # '.' (one or more) beats '!' (zero or more)
    (["XXX.", "XXXX"], "1234", "XXXX"),        # fixed length beats a tail
    (["Z", "N"], "5", "N"),                    # N (8 digits) is narrower than Z (9)
    (["[37]2X", "X2X"], "326", "[37]2X"),
    (["1X", "1X"], "15", "1X"),                # identical: the first listed (index 0)
    (["default", "1XX"], "999", None),         # default never wins here; the engine uses it last
])
def test_precedence(entries, number, expected):
    assert winner(entries, number) == expected


def test_identical_patterns_first_listed_wins():
    compiled = [compile_pattern("1X"), compile_pattern("1x")]
    assert best_match(compiled, "15") == 0


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("   ", "is empty"),
    ("1[23", "without a closing"),
    ("12]", "without an opening"),
    ("1[]", "empty set"),
    ("1[a]", "only digits"),
    ("1[9-3]", "must go upwards"),
    ("1.2", "must be the last"),
    ("X!X", "must be the last"),
    ("12a", "is not allowed"),
    ("1 2", "is not allowed"),
    ("'; DROP TABLE user;--", "is not allowed"),
    ("٣٣", "is not allowed"),  # Arabic-Indic digits are not dial characters
    ("1" * 65, "longer than 64"),
])
def test_invalid_patterns_say_what_is_wrong(text, message):
    with pytest.raises(ValidationError) as err:
        compile_pattern(text, "numbers.0.number")
    assert err.value.field == "numbers.0.number"
    assert message in err.value.message


def test_default_is_recognised_in_any_case():
    assert compile_pattern("Default").text == "default"


def test_fast_matcher_agrees_with_best_match():
    from itertools import product

    from appliance.dialplan.patterns import Matcher

    entries = ["0.", "1XX", "[37]2X", "X.", "[1237-9]", "XXX!", "XXX.", "Z", "N", "12X", "100", "0[67].",
               "0X.", "+41.", "*9X", "default", "1X", "1x"]
    compiled = [compile_pattern(e) for e in entries]
    matcher = Matcher(compiled)
    numbers = ["".join(p) for n in range(1, 5) for p in product("0123679", repeat=n)] + ["+4179", "*95", ""]
    for number in numbers:
        assert matcher.best(number) == best_match(compiled, number), number
