import re
from datetime import date

import pytest

from hub.core import personal_id


def test_well_formed_id_parses_province_year_and_sex():
    pid = personal_id.parse("052190001234")
    assert (pid.province_code, pid.birth_year, pid.female) == ("052", 1990, True)
    assert personal_id.parse("075205000001").birth_year == 2005


@pytest.mark.parametrize(("value", "fragment"), [
    ("05219000123", "12 digits"),
    ("0521900012345", "12 digits"),
    ("05219000123a", "12 digits"),
    ("０５２１９０００１２３４", "12 digits"),  # full-width digits are not ASCII
    ("003190001234", "not a province code"),
    ("999190001234", "not a province code"),
])
def test_structure_rules(value, fragment):
    assert fragment in personal_id.problem(value)


def test_century_digit_must_not_put_birth_in_the_future():
    assert "future" in personal_id.problem("052499001234", today=date(2026, 1, 1))


def test_birth_date_must_agree_with_year_digits():
    assert personal_id.problem("052190001234", date(1990, 5, 1)) is None
    assert "1991" in personal_id.problem("052190001234", date(1991, 5, 1))


@pytest.mark.parametrize(("year", "female"), [(1955, False), (1990, True), (2003, False), (2019, True)])
def test_make_builds_ids_that_parse_back(year, female):
    value = personal_id.make("052", year, female, serial=42)
    assert personal_id.problem(value, date(year, 6, 1)) is None
    parsed = personal_id.parse(value)
    assert (parsed.birth_year, parsed.female) == (year, female)


def test_mask_hides_the_middle():
    assert personal_id.mask("052190001234") == "052******234"
    assert "190001" not in personal_id.mask("052190001234")


def test_all_63_province_codes_loaded():
    codes = personal_id.province_codes()
    assert len(codes) == 63 and codes["052"] == "Bình Định" and codes["075"] == "Đồng Nai"


def test_pattern_accepts_exactly_the_well_formed_structures():
    # Every 3-digit prefix and century digit. With year digits 00 only a century not yet begun (4-7) puts the
    # birth in the future, which the pattern leaves out too. (Python's `$` also matches before a final newline.)
    structure = re.compile(personal_id.pattern())
    for value in (f"{prefix:03d}{century}00123456" for prefix in range(1000) for century in range(10)):
        assert bool(structure.match(value)) == (personal_id.problem(value) is None), value
    assert not structure.match("05219000123") and not structure.match("0521900012345")
