"""Public holidays: Easter (Gregorian computus) and one table of rules per country.

`country_holidays(country, year)` computes the dated list for one year;
time ranges with `country_holidays` on use it with the system's country
(appliance.system.models.get_system_settings().country).

Adding a country is one entry in COUNTRY_RULES. A rule is one of:
    Fixed(month, day, name, observed="")   the same date every year;
        observed="us": on a Saturday also the Friday before, on a Sunday the Monday after
                  (US federal practice); "gb": on a weekend also the next weekday not already
                  a holiday (UK substitute days, e.g. Christmas on Saturday -> Monday 27,
                  Boxing Day -> Tuesday 28).
    Easter(offset, name)                   Easter Sunday + offset days (Good Friday -2,
                                           Easter Monday +1, Ascension +39, Whit Monday +50,
                                           Corpus Christi +60).
    Weekday(month, weekday, n, name)       the n-th weekday (Monday=0) of the month, n=-1 the last.

What each table holds (nationwide days only; regional ones can be added to a
time range as yearly or Easter-relative dates):
    FR  the 11 jours fériés (Alsace-Moselle's Good Friday and 26 December are not included).
    CH  the federal days (1 January, Ascension, 1 August, 25 December) and the days most
        cantons keep: 2 January (Berchtoldstag), Good Friday, Easter Monday, Whit Monday,
        26 December. Not every canton keeps all of those (Ticino and Valais work on Good
        Friday, for instance), and cantonal days such as the Jeûne fédéral Monday
        (Vaud), Corpus Christi or 15 August (Catholic cantons) are not included.
    DE  the 9 nationwide Feiertage (state holidays such as Epiphany, Corpus Christi or
        Reformation Day are not included).
    IT  the national feste (including the Liberation, Republic Day, 8 and 26 December).
    AT  the 13 gesetzliche Feiertage.
    BE  the 10 legal holidays.
    GB  the bank holidays of England and Wales, with substitute days.
    US  the 11 federal holidays, with the observed Friday/Monday.
    ES  the national holidays common to every region (Holy Thursday, Easter Monday and
        regional days vary by autonomous community and are not included).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fixed:
    month: int
    day: int
    name: str
    observed: str = ""  # "", "us" or "gb": see the module docstring


@dataclass(frozen=True, slots=True)
class Easter:
    offset: int
    name: str


@dataclass(frozen=True, slots=True)
class Weekday:
    month: int
    weekday: int  # Monday = 0
    n: int        # 1..5, or -1 for the last one of the month
    name: str


Rule = Fixed | Easter | Weekday

NEW_YEAR = Fixed(1, 1, "New Year's Day")
GOOD_FRIDAY = Easter(-2, "Good Friday")
EASTER_MONDAY = Easter(1, "Easter Monday")
ASCENSION = Easter(39, "Ascension Day")
WHIT_MONDAY = Easter(50, "Whit Monday")
CORPUS_CHRISTI = Easter(60, "Corpus Christi")
LABOUR_DAY = Fixed(5, 1, "Labour Day")
ASSUMPTION = Fixed(8, 15, "Assumption Day")
ALL_SAINTS = Fixed(11, 1, "All Saints' Day")
CHRISTMAS = Fixed(12, 25, "Christmas Day")
ST_STEPHEN = Fixed(12, 26, "St Stephen's Day")
EPIPHANY = Fixed(1, 6, "Epiphany")
IMMACULATE_CONCEPTION = Fixed(12, 8, "Immaculate Conception")

COUNTRY_RULES: dict[str, tuple[Rule, ...]] = {
    "FR": (NEW_YEAR, EASTER_MONDAY, LABOUR_DAY, Fixed(5, 8, "Victory in Europe Day"), ASCENSION, WHIT_MONDAY,
           Fixed(7, 14, "Bastille Day"), ASSUMPTION, ALL_SAINTS, Fixed(11, 11, "Armistice Day"), CHRISTMAS),
    "CH": (NEW_YEAR, Fixed(1, 2, "Berchtold's Day"), GOOD_FRIDAY, EASTER_MONDAY, ASCENSION, WHIT_MONDAY,
           Fixed(8, 1, "Swiss National Day"), CHRISTMAS, ST_STEPHEN),
    "DE": (NEW_YEAR, GOOD_FRIDAY, EASTER_MONDAY, LABOUR_DAY, ASCENSION, WHIT_MONDAY,
           Fixed(10, 3, "German Unity Day"), CHRISTMAS, Fixed(12, 26, "Second Day of Christmas")),
    "IT": (NEW_YEAR, EPIPHANY, EASTER_MONDAY, Fixed(4, 25, "Liberation Day"), LABOUR_DAY,
           Fixed(6, 2, "Republic Day"), ASSUMPTION, ALL_SAINTS, IMMACULATE_CONCEPTION, CHRISTMAS, ST_STEPHEN),
    "AT": (NEW_YEAR, EPIPHANY, EASTER_MONDAY, LABOUR_DAY, ASCENSION, WHIT_MONDAY, CORPUS_CHRISTI, ASSUMPTION,
           Fixed(10, 26, "National Day"), ALL_SAINTS, IMMACULATE_CONCEPTION, CHRISTMAS, ST_STEPHEN),
    "BE": (NEW_YEAR, EASTER_MONDAY, LABOUR_DAY, ASCENSION, WHIT_MONDAY, Fixed(7, 21, "Belgian National Day"),
           ASSUMPTION, ALL_SAINTS, Fixed(11, 11, "Armistice Day"), CHRISTMAS),
    "GB": (Fixed(1, 1, "New Year's Day", "gb"), GOOD_FRIDAY, EASTER_MONDAY,
           Weekday(5, 0, 1, "Early May Bank Holiday"), Weekday(5, 0, -1, "Spring Bank Holiday"),
           Weekday(8, 0, -1, "Summer Bank Holiday"), Fixed(12, 25, "Christmas Day", "gb"),
           Fixed(12, 26, "Boxing Day", "gb")),
    "US": (Fixed(1, 1, "New Year's Day", "us"), Weekday(1, 0, 3, "Martin Luther King Jr. Day"),
           Weekday(2, 0, 3, "Washington's Birthday"), Weekday(5, 0, -1, "Memorial Day"),
           Fixed(6, 19, "Juneteenth", "us"), Fixed(7, 4, "Independence Day", "us"),
           Weekday(9, 0, 1, "Labor Day"), Weekday(10, 0, 2, "Columbus Day"),
           Fixed(11, 11, "Veterans Day", "us"), Weekday(11, 3, 4, "Thanksgiving Day"),
           Fixed(12, 25, "Christmas Day", "us")),
    "ES": (NEW_YEAR, EPIPHANY, GOOD_FRIDAY, LABOUR_DAY, ASSUMPTION, Fixed(10, 12, "National Day of Spain"),
           ALL_SAINTS, Fixed(12, 6, "Constitution Day"), IMMACULATE_CONCEPTION, CHRISTMAS),
}


def supported_countries() -> tuple[str, ...]:
    return tuple(sorted(COUNTRY_RULES))


def easter(year: int) -> dt.date:
    """Easter Sunday of `year` (Gregorian calendar; anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th `weekday` (Monday=0) of the month; n=-1 is the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def country_holidays(country: str, year: int) -> list[tuple[dt.date, str]]:
    """(date, English name) of every public holiday of `country` in `year`, sorted by date.

    An unknown country has none (the UI says which countries are known).
    """
    return [(day, name) for day, name, _ in _compute(country, year)]


def country_holiday_entries(country: str, year: int) -> list[dict]:
    """The holidays of `country` in `year` with the time-range holiday that stands for each:
    {"date": "YYYY-MM-DD", "weekday": 0-6, "name": ..., "holiday": {"kind": "yearly"|"easter"|"fixed", ...}}
    (a fixed date every year -> yearly, Easter-relative -> easter, anything else -> that year's date)."""
    return [{"date": day.isoformat(), "weekday": day.weekday(), "name": name, "holiday": {**entry, "name": name}}
            for day, name, entry in _compute(country, year)]


def _compute(country: str, year: int) -> list[tuple[dt.date, str, dict]]:
    rules = COUNTRY_RULES.get((country or "").upper(), ())
    found: list[tuple[dt.date, str, dict]] = []
    substitutes: list[Fixed] = []
    for rule in rules:
        if isinstance(rule, Fixed):
            found.append((dt.date(year, rule.month, rule.day), rule.name,
                          {"kind": "yearly", "date": f"{rule.month:02d}-{rule.day:02d}"}))
            if rule.observed:
                substitutes.append(rule)
        elif isinstance(rule, Easter):
            found.append((easter(year) + dt.timedelta(days=rule.offset), rule.name,
                          {"kind": "easter", "offset": rule.offset}))
        else:
            day = nth_weekday(year, rule.month, rule.weekday, rule.n)
            found.append((day, rule.name, {"kind": "fixed", "date": day.isoformat()}))
    taken = {day for day, _, _ in found}
    for rule in substitutes:
        day = dt.date(year, rule.month, rule.day)
        if day.weekday() < 5:
            continue
        if rule.observed == "us":
            shifted = day - dt.timedelta(days=1) if day.weekday() == 5 else day + dt.timedelta(days=1)
            if shifted.year != year:
                continue  # New Year on a Saturday: observed on 31 December of the year before
            name = f"{rule.name} (observed)"
        else:
            shifted = day
            while shifted.weekday() >= 5 or shifted in taken:
                shifted += dt.timedelta(days=1)
            name = f"{rule.name} (substitute day)"
        found.append((shifted, name, {"kind": "fixed", "date": shifted.isoformat()}))
        taken.add(shifted)
    # US: New Year's Day of next year on a Saturday is observed on 31 December of this year.
    for rule in substitutes:
        if rule.observed == "us" and (rule.month, rule.day) == (1, 1) and dt.date(year + 1, 1, 1).weekday() == 5:
            found.append((dt.date(year, 12, 31), f"{rule.name} (observed)",
                          {"kind": "fixed", "date": f"{year}-12-31"}))
    return sorted(found, key=lambda item: item[0])


@functools.lru_cache(maxsize=64)
def _by_date(country: str, year: int) -> dict[dt.date, str]:
    names: dict[dt.date, str] = {}
    for date, name in country_holidays(country, year):
        names[date] = f"{names[date]}, {name}" if date in names else name
    return names


def holiday_name(country: str, day: dt.date) -> str | None:
    """The name of the public holiday of `country` on `day`, or None (computed once per country and year)."""
    return _by_date((country or "").upper(), day.year).get(day)
