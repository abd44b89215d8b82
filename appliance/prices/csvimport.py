"""Reading and writing a price list's rates as CSV, with the manual's columns.

The file: UTF-8 (a byte-order mark is fine), a header row naming the columns (any order, case and
spaces ignored: "billing block" = "billing_block"), fields separated by ';' or ',' (whichever the header
uses), decimals with a point or a comma ("0,05"; with ',' as separator such a value must be quoted).
Only `dialprefix` and `rate` are required columns; the others default to: destination "",
min_duration 0, billing_block 60, connect_charge 0, start_day 1, stop_day 7, start_time 0,
stop_time 86400. Every row is checked; a file with any bad row is refused as a whole, listing each
bad line (line number in the file, column, reason).
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation

from appliance.errors import ValidationError

COLUMNS = ("dialprefix", "destination", "rate", "min_duration", "billing_block", "connect_charge",
           "start_day", "stop_day", "start_time", "stop_time")
REQUIRED = ("dialprefix", "rate")
DEFAULTS = {"destination": "", "min_duration": 0, "billing_block": 60, "connect_charge": Decimal(0),
            "start_day": 1, "stop_day": 7, "start_time": 0, "stop_time": 86400}
MAX_BYTES = 8 * 1024 * 1024  # 100000 rates with long destination names
MAX_ROWS = 100_000
MAX_ERRORS = 200  # errors listed; past that the message says how many more
PREFIX_RE = re.compile(r"^\+?[0-9]{1,31}$")
DECIMAL_RE = re.compile(r"^[0-9]+([.,][0-9]+)?$")
MONEY_MAX = Decimal(1_000_000)
DESTINATION_MAX = 128
INTEGERS = {  # column -> (lowest, highest)
    "min_duration": (0, 86400), "billing_block": (1, 3600), "start_day": (1, 7), "stop_day": (1, 7),
    "start_time": (0, 86400), "stop_time": (0, 86400),
}


class CsvErrors(ValidationError):
    """A refused file: `errors` lists {"line", "column", "message"}; nothing was imported."""

    def __init__(self, errors: list[dict], total: int | None = None):
        self.errors = errors
        self.total = total if total is not None else len(errors)
        first = errors[0]
        where = f"line {first['line']}" + (f", {first['column']}" if first.get("column") else "")
        more = f" (and {self.total - 1} more)" if self.total > 1 else ""
        super().__init__("rates", f"{where}: {first['message']}{more}; nothing was imported")


def _column_name(raw: str) -> str:
    return "_".join(raw.strip().lower().replace("-", " ").split())


def _integer(text: str, column: str) -> int:
    low, high = INTEGERS[column]
    if not text.isdigit() or not (low <= int(text) <= high):
        raise ValueError(f"must be a whole number from {low} to {high}")
    return int(text)


def _money(text: str) -> Decimal:
    if not DECIMAL_RE.match(text):
        raise ValueError("must be a number such as 0.05 or 0,05 (no sign, no currency)")
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise ValueError("must be a number such as 0.05") from None
    if value >= MONEY_MAX:
        raise ValueError(f"must be below {MONEY_MAX}")
    return value


def _check(column: str, text: str):
    """The value of one cell, or ValueError saying what is wrong."""
    if column == "dialprefix":
        prefix = text.replace(" ", "")
        if not PREFIX_RE.match(prefix):
            raise ValueError("must be digits, optionally after a '+' (at most 31)")
        return prefix
    if column == "destination":
        if len(text) > DESTINATION_MAX:
            raise ValueError(f"must be at most {DESTINATION_MAX} characters long")
        if text[0] in "=+-@" or any(ord(c) < 32 for c in text):
            raise ValueError("must not start with = + - @ (a spreadsheet formula) nor hold control characters")
        return text
    if column in ("rate", "connect_charge"):
        return _money(text)
    return _integer(text, column)


def parse(data: bytes) -> list[dict]:
    """The rows of a price-list file as dicts of the manual's columns; CsvErrors listing every bad line."""
    if len(data) > MAX_BYTES:
        raise CsvErrors([{"line": 0, "column": None,
                          "message": f"the file must be at most {MAX_BYTES // (1024 * 1024)} MB"}])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CsvErrors([{"line": line, "column": None,
                          "message": "is not UTF-8 text (save the file as CSV UTF-8)"}]) from None
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise CsvErrors([{"line": 1, "column": None,
                          "message": "the file is empty: a header row naming the columns is required"}])
    header_line = lines[header_index]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") and ";" in header_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    errors: list[dict] = []
    total_errors = 0

    def bad(line: int, column: str | None, message: str) -> None:
        nonlocal total_errors
        total_errors += 1
        if len(errors) < MAX_ERRORS:
            errors.append({"line": line, "column": column, "message": message})

    header: list[str] | None = None
    rows: list[dict] = []
    seen: dict[tuple, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [_column_name(cell) for cell in record]
                for position, name in enumerate(header):
                    if name not in COLUMNS:
                        bad(line, name or f"column {position + 1}",
                            "is not a known column (expected: " + ", ".join(COLUMNS) + ")")
                    elif header.index(name) != position:
                        bad(line, name, "appears twice in the header")
                for name in REQUIRED:
                    if name not in header:
                        bad(line, name, "the header must name this column")
                if total_errors:
                    raise CsvErrors(errors, total_errors)
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvErrors([{"line": line, "column": None,
                                  "message": f"a price list holds at most {MAX_ROWS} rates"}])
            if len(record) != len(header):
                bad(line, None, f"has {len(record)} fields, the header {len(header)}")
                continue
            row = dict(DEFAULTS)
            ok = True
            for name, cell in zip(header, record, strict=True):
                value = cell.strip()
                if value == "" and name not in REQUIRED:
                    continue
                if value == "":
                    bad(line, name, "is required")
                    ok = False
                    continue
                try:
                    row[name] = _check(name, value)
                except ValueError as exc:
                    bad(line, name, str(exc))
                    ok = False
            if not ok:
                continue
            if row["start_time"] == row["stop_time"]:
                bad(line, "stop_time", "must differ from start_time (0 and 86400 cover the whole day)")
                continue
            key = (row["dialprefix"], row["start_day"], row["stop_day"], row["start_time"], row["stop_time"])
            if key in seen:
                bad(line, "dialprefix", f"same prefix and time band as line {seen[key]}")
                continue
            seen[key] = line
            row["line"] = line
            rows.append(row)
    except csv.Error as exc:
        bad(reader.line_num, None, f"cannot be read as CSV: {exc}")
    if header is None:
        raise CsvErrors([{"line": 1, "column": None,
                          "message": "the file is empty: a header row naming the columns is required"}])
    if total_errors:
        raise CsvErrors(errors, total_errors)
    return rows


def number_text(value) -> str:
    """A rate or charge as the file writes it: "0.05", "0", never "5E-2" nor float noise."""
    return format(Decimal(str(value)).normalize(), "f")


def export(rates) -> str:
    """The rates as CSV (';' separated, '.' decimals, the manual's columns), importable again."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rates:
        writer.writerow([r.dialprefix, r.destination, number_text(r.rate), r.min_duration, r.billing_block,
                         number_text(r.connect_charge), r.start_day, r.stop_day, r.start_time, r.stop_time])
    return out.getvalue()
