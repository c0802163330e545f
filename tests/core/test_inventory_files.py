"""The province's inventory as the operator loads it: a file of its own, or the inventory part of a scenario."""

from __future__ import annotations

import pytest

from hub.core.inventory import InventoryError, load_inventory
from tests.support import ROOT
from tests.support.inventory import INVENTORY

SCENARIO = ROOT / "scenarios" / "binh-dinh-2023.toml"


def test_a_scenario_file_gives_its_inventory_alone():
    inventory = load_inventory(SCENARIO)
    assert inventory.province.name == "Bình Định" and inventory.systems_serving_citizens_businesses()
    assert set(inventory.model_dump()) == {"province", "agencies", "systems"}


def test_an_inventory_file_of_its_own_loads(tmp_path):
    path = tmp_path / "inventory.toml"
    path.write_text(INVENTORY.replace("{owner}", "000.00.01.H22"), encoding="utf-8")
    assert [system.id for system in load_inventory(path).systems] == ["mot-cua"]


@pytest.mark.parametrize("text, named", [
    (INVENTORY.replace("{owner}", "999.99.99.H22"), "systems[0].owner"),  # an owner that is not an agency
    (INVENTORY.replace("{owner}", "000.00.01.H22").replace('"052"', '"999"'), "province.code"),
    (INVENTORY.replace("{owner}", "000.00.01.H22").replace("= true", '= "yes"'), "systems.0.serves_citizens"),
    ("[province\n", "inventory.toml"),  # not TOML
])
def test_a_broken_inventory_names_the_file_and_the_field(tmp_path, text, named):
    path = tmp_path / "inventory.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError) as refused:
        load_inventory(path)
    assert str(path) in str(refused.value) and named in str(refused.value)

