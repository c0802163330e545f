"""Vietnamese personal identification numbers (số định danh cá nhân).

Twelve digits: a 3-digit province code of birth registration, one digit that
encodes century and sex, the last two digits of the birth year, then six
random digits.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from functools import cache
from importlib import resources
from typing import NamedTuple

# Century digit → (first year of the century, sex). 0/1 = 1900s male/female,
# 2/3 = 2000s, 4/5 = 2100s, 6/7 = 2200s, 8/9 = 1800s (per Circular 07/2016).
_CENTURY = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100, 6: 2200, 7: 2200, 8: 1800, 9: 1800}


@cache
def province_codes() -> dict[str, str]:
    """Province code → province name, from the official list of 63 codes."""
    text = resources.files("hub.core").joinpath("province-codes.csv").read_text(encoding="utf-8")
    return {row["code"]: row["province"] for row in csv.DictReader(text.splitlines())}


class PersonalId(NamedTuple):  # a tuple: built on every validated message, so it must be cheap
    province_code: str
    birth_year: int
    female: bool


_PROVINCES = province_codes()

# Time only moves forward: a birth year up to the year this module was loaded is never in the future.
_PAST_YEAR = date.today().year


def pattern() -> str:
    """The ID's structure as a JSON Schema `pattern`, for validators that do not know `x-personal-id`.

    The province codes come from the CSV; the century digit is one whose century has begun (4-7 are the
    2100s and 2200s). That the birth year is not in the future stays a hub rule: it moves every year.
    """
    codes = "|".join(sorted(_PROVINCES))
    centuries = "".join(str(digit) for digit, first in sorted(_CENTURY.items()) if first <= _PAST_YEAR)
    return f"^({codes})[{centuries}][0-9]{{2}}[0-9]{{6}}$"


def birth_year(value: str) -> int:
    """The birth year of a well-formed ID, checked like parse() but without building a PersonalId."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        raise ValueError("must be exactly 12 digits")
    if value[:3] not in _PROVINCES:
        raise ValueError(f"starts with {value[:3]}, which is not a province code")
    return _CENTURY[int(value[3])] + int(value[4:6])


def parse(value: str) -> PersonalId:
    """Parse a personal ID, raising ValueError that says which rule failed."""
    return PersonalId(value[:3], birth_year(value), female=int(value[3]) % 2 == 1)


def problem(value: str, birth_date: date | None = None, today: date | None = None) -> str | None:
    """The first structural rule `value` breaks, or None when it is well formed."""
    try:
        year = birth_year(value)
    except ValueError as exc:
        return str(exc)
    if (today is not None or year > _PAST_YEAR) and year > (today or date.today()).year:
        return f"century digit {value[3]} with year digits {value[4:6]} gives birth year {year}, in the future"
    if birth_date is not None and birth_date.year != year:
        return f"encodes birth year {year} but the birth date is in {birth_date.year}"
    return None


def make(province_code: str, birth_year: int, female: bool, serial: int) -> str:
    """Build a well-formed personal ID (used by the population simulator)."""
    century_digit = {1800: 8, 1900: 0, 2000: 2, 2100: 4, 2200: 6}[birth_year // 100 * 100] + int(female)
    return f"{province_code}{century_digit}{birth_year % 100:02d}{serial % 1_000_000:06d}"


def mask(value: str) -> str:
    """Keep the province code and the last 3 digits: enough to correlate, not to identify."""
    return value[:3] + "*" * max(len(value) - 6, 0) + value[-3:] if len(value) > 6 else "*" * len(value)


_DIGIT_RUN = re.compile(r"\d{9,}")


def mask_text(text: str) -> str:
    """Mask every run of nine or more digits (personal and old ID numbers) in a message meant for people."""
    return _DIGIT_RUN.sub(lambda match: mask(match.group()), text)
