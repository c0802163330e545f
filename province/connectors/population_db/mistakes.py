"""The mistakes applicants and officers make when they type a citizen's data, and how names are compared."""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from province.connectors.population_db.population import Citizen

_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng as combining marks


def normalised_name(name: str) -> str:
    """A name as compared: Unicode NFC, case-folded, runs of whitespace collapsed to one space."""
    return " ".join(unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold()).split())


def mistyped(born: date, rng: random.Random) -> date:
    """Another date in the same year (so the ID's year digits still agree): day and month swapped,
    or a few days off."""
    if born.day <= 12 and born.day != born.month and rng.random() < 0.5:
        return born.replace(month=born.day, day=born.month)
    days = timedelta(days=rng.randint(1, 30))
    wrong = born + days if rng.random() < 0.5 else born - days
    return wrong if wrong.year == born.year else born - (wrong - born)


def _without_marks(word: str) -> str:
    """Nguyễn → Nguyen, Đặng → Dang: the name typed on a keyboard without Vietnamese input."""
    bare = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D")


def _other_tone(word: str, rng: random.Random) -> str:
    """Hương → Hường: the wrong tone mark (or one added where there was none)."""
    letters = list(unicodedata.normalize("NFD", word))
    tone_at = next((i for i, c in enumerate(letters) if c in _TONES), None)
    if tone_at is None:
        vowel_at = next((i for i, c in enumerate(letters) if c in "aeiouyAEIOUY"), None)
        if vowel_at is None:
            return word
        letters.insert(vowel_at + 1, rng.choice(_TONES))
    else:
        letters[tone_at] = rng.choice(_TONES.replace(letters[tone_at], ""))
    return unicodedata.normalize("NFC", "".join(letters))


def misspelt(citizen: Citizen, rng: random.Random) -> str:
    family, middle, given = citizen.family_name, citizen.middle_name, citizen.given_name
    spellings = [f"{family} {given}",  # the middle name left out
                 f"{family} {middle} {_other_tone(given, rng)}",
                 f"{_without_marks(family)} {middle} {given}",
                 f"{family} {middle} {_without_marks(given)}"]
    wrong = [s for s in spellings if normalised_name(s) != normalised_name(citizen.full_name)]
    return rng.choice(wrong)
