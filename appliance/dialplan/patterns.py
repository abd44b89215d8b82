"""Called-number patterns: syntax, matching, and which match wins.

Syntax (upper or lower case letters):
    0-9 * # +   the character itself
    X           any digit 0-9
    Z           any digit 1-9
    N           any digit 2-9
    [...]       one digit of the set; ranges allowed: [1237-9] = 1,2,3,7,8,9
    .           one or more characters (only at the end)
    !           zero or more characters (only at the end)
    default     (the whole entry) anything not matched otherwise

Precedence when several entries of one procedure match a number:
    1. an exact number (no pattern character) beats every pattern;
    2. between patterns, compare them position by position by how many digits
       each position accepts (a literal 1, [37] 2, N 8, Z 9, X 10, a '.' or
       '!' tail more than any): at the first position where they differ,
       the narrower one wins. So 12X beats 1XX, 1XX beats X., and 0[67].
       beats 0X.;
    3. still equal: a fixed-length pattern beats one with a tail, '.' beats
       '!' (XXX. beats XXX! for "1234");
    4. still equal: the one listed first wins.
`default` is used only when no entry of the procedure nor of its included
procedures matches (appliance.dialplan.engine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from appliance.errors import ValidationError

DEFAULT = "default"
MAX_LENGTH = 64
DIAL_CHARS = "0123456789*#+"
_CLASSES = {"X": "0123456789", "Z": "123456789", "N": "23456789"}
# Width given to a '.'/'!' tail: wider than any single position.
_TAIL_WIDTH = 11


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    exact: bool
    regex: re.Pattern | None
    # Sort key: smaller is more specific (see the module docstring).
    rank: tuple

    def matches(self, number: str) -> bool:
        if self.exact:
            return number == self.text
        return self.regex is not None and self.regex.fullmatch(number) is not None


def is_default(text: str) -> bool:
    return text.strip().lower() == DEFAULT


@lru_cache(maxsize=4096)
def compile_pattern(text: str, field: str = "number") -> Pattern:
    """Parse a called number entry; ValidationError(field) says what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(field, "is empty")
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise ValidationError(field, f"is longer than {MAX_LENGTH} characters")
    if is_default(text):
        return Pattern(DEFAULT, False, None, (2,))
    if all(c in DIAL_CHARS for c in text):
        return Pattern(text, True, None, (0,))
    regex: list[str] = []
    widths: list[int] = []
    tail = 0  # 0 none, 1 '.', 2 '!'
    i = 0
    while i < len(text):
        c = text[i]
        upper = c.upper()
        if tail:
            raise ValidationError(field, f"'{text[i - 1]}' must be the last character of the pattern {text!r}")
        if c in DIAL_CHARS:
            regex.append(re.escape(c))
            widths.append(1)
        elif upper in _CLASSES:
            regex.append(f"[{_CLASSES[upper]}]")
            widths.append(len(_CLASSES[upper]))
        elif c == "[":
            end = text.find("]", i + 1)
            if end == -1:
                raise ValidationError(field, f"'[' without a closing ']' in {text!r}")
            digits = _parse_set(text[i + 1:end], text, field)
            regex.append("[" + "".join(sorted(digits)) + "]")
            widths.append(len(digits))
            i = end
        elif c == "]":
            raise ValidationError(field, f"']' without an opening '[' in {text!r}")
        elif c == ".":
            regex.append(f"[{re.escape(DIAL_CHARS)}]+")
            tail = 1
        elif c == "!":
            regex.append(f"[{re.escape(DIAL_CHARS)}]*")
            tail = 2
        else:
            raise ValidationError(field, f"{c!r} is not allowed in a called number "
                                         "(digits, * # +, X Z N, [ ], . and ! only)")
        i += 1
    if tail:
        widths.append(_TAIL_WIDTH)
    return Pattern(text, False, re.compile("".join(regex)), (1, tuple(widths), tail))


def _parse_set(body: str, text: str, field: str) -> set[str]:
    if not body:
        raise ValidationError(field, f"empty set '[]' in {text!r}")
    digits: set[str] = set()
    i = 0
    while i < len(body):
        c = body[i]
        if c not in "0123456789":
            raise ValidationError(field, f"{c!r} in a set of {text!r}: only digits and ranges like 7-9")
        if i + 2 < len(body) and body[i + 1] == "-":
            last = body[i + 2]
            if last not in "0123456789" or last < c:
                raise ValidationError(field, f"range {c}-{last} in {text!r} must go upwards between digits")
            digits.update(str(d) for d in range(int(c), int(last) + 1))
            i += 3
        else:
            digits.add(c)
            i += 1
    return digits


def best_match(entries: list[Pattern], number: str) -> int | None:
    """Index of the entry that wins for `number` (the module's precedence), `default` excluded."""
    best: int | None = None
    best_rank: tuple | None = None
    for index, pattern in enumerate(entries):
        if pattern.text == DEFAULT or not pattern.matches(number):
            continue
        if best_rank is None or pattern.rank < best_rank:
            best, best_rank = index, pattern.rank
    return best


class Matcher:
    """`best_match` over a fixed list of entries, fast: a dict for exact numbers, and one regex
    whose alternatives are the patterns in precedence order (the first alternative that matches
    the whole number is the winner). Same answers as `best_match`, tested against it."""

    def __init__(self, entries: list[Pattern]):
        self.exact: dict[str, int] = {}
        ordered: list[tuple[tuple, int]] = []
        for index, pattern in enumerate(entries):
            if pattern.exact:
                self.exact.setdefault(pattern.text, index)
            elif pattern.regex is not None:
                ordered.append((pattern.rank, index))
        ordered.sort()
        self.order = [index for _, index in ordered]
        self.regex = re.compile("|".join(f"({entries[i].regex.pattern})" for i in self.order)) if ordered else None

    def best(self, number: str) -> int | None:
        index = self.exact.get(number)
        if index is not None:
            return index
        if self.regex is None:
            return None
        found = self.regex.fullmatch(number)
        return None if found is None else self.order[found.lastindex - 1]
