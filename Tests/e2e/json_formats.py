"""A jsonschema FormatChecker that really checks `date-time` and `time`.

jsonschema only checks those two formats when the optional `rfc3339-validator` package is installed;
without it any string passes, which would let the schema tests grade grammar output too leniently.
This module fills the gap with RFC 3339 checks (the `full-time` / `date-time` productions, with
calendar-valid dates and in-range fields) so tests do not depend on which extras are installed.
"""
import datetime
import re

import jsonschema

_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[zZ]|[+-](\d{2}):(\d{2}))")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_rfc3339_time(text):
    """RFC 3339 `full-time`: hh:mm:ss[.frac] with a Z or ±hh:mm offset (leap second 60 allowed)."""
    if not isinstance(text, str):
        return True
    m = _TIME.fullmatch(text)
    if not m:
        return False
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    if hour > 23 or minute > 59 or second > 60:
        return False
    if m[4] is not None and (int(m[4]) > 23 or int(m[5]) > 59):
        return False
    return True


def is_rfc3339_date(text):
    """RFC 3339 `full-date` that names a real day (years 0001-9999, as Python's calendar)."""
    if not isinstance(text, str):
        return True
    if not _DATE.fullmatch(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def is_rfc3339_date_time(text):
    """RFC 3339 `date-time`: full-date, T (or t), full-time."""
    if not isinstance(text, str):
        return True
    date, sep, time = text.partition("T") if "T" in text else text.partition("t")
    return bool(sep) and is_rfc3339_date(date) and is_rfc3339_time(time)


def format_checker():
    """The Draft 2020-12 format checker, with date-time and time checked even without extras."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers.update(jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers)
    for name, check in (("date", is_rfc3339_date), ("time", is_rfc3339_time), ("date-time", is_rfc3339_date_time)):
        if name not in checker.checkers:
            checker.checks(name)(check)
    return checker


def validator(schema):
    """A Draft 2020-12 validator for `schema` that checks formats."""
    return jsonschema.Draft202012Validator(schema, format_checker=format_checker())
