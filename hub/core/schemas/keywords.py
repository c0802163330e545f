"""Domain rules that plain JSON Schema cannot state, as custom keywords.

`x-personal-id` (on a string): the 12-digit personal ID structure.
`x-birth-year-matches` (on an object, `[id_field, birth_date_field]`): the ID's
birth-year digits agree with the birth date given beside it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.core import personal_id


class PersonalIdKeyword:
    def __init__(self, parent_schema: dict, value: Any, schema_path: list) -> None:
        self.enabled = bool(value)

    def validate(self, instance: Any) -> None:
        if self.enabled and isinstance(instance, str) and (problem := personal_id.problem(instance)):
            raise ValueError(f"personal ID {problem}")


class BirthYearMatchesKeyword:
    def __init__(self, parent_schema: dict, value: Any, schema_path: list) -> None:
        self.id_field, self.birth_date_field = value

    def validate(self, instance: Any) -> None:
        if not isinstance(instance, dict):
            return
        pid, born = instance.get(self.id_field), instance.get(self.birth_date_field)
        if not (isinstance(pid, str) and isinstance(born, str)):
            return
        try:
            birth_date = date.fromisoformat(born)
        except ValueError:
            return  # the field's own `format: date` reports this
        try:
            encoded = personal_id.birth_year(pid)
        except ValueError:
            return  # the ID's own `x-personal-id` reports this
        if encoded != birth_date.year:
            raise ValueError(f"{self.id_field} encodes birth year {encoded} but {self.birth_date_field} "
                             f"is in {birth_date.year}")


KEYWORDS = {"x-personal-id": PersonalIdKeyword, "x-birth-year-matches": BirthYearMatchesKeyword}
