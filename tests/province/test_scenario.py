"""Scenario files load, carry the sources' figures, and bad scenarios are refused naming the field."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from province.scenario import Scenario, ScenarioError, bundled_scenario_names, bundled_scenarios_dir, load_scenario

BUNDLED = ["binh-dinh-2023", "dong-nai-2020"]


@pytest.fixture(scope="module")
def binh_dinh_data() -> dict[str, Any]:
    return tomllib.loads((bundled_scenarios_dir() / "binh-dinh-2023.toml").read_text(encoding="utf-8"))


def refusal(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(dotted field, message) of every broken rule."""
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in info.value.errors()]


# --- the bundled scenarios ----------------------------------------------------------------------


def test_bundled_scenarios_are_found_by_name() -> None:
    assert set(BUNDLED) <= set(bundled_scenario_names())


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_loads_by_name_and_by_path(name: str) -> None:
    by_name = load_scenario(name)
    assert load_scenario(bundled_scenarios_dir() / f"{name}.toml") == by_name
    assert load_scenario(str(bundled_scenarios_dir() / f"{name}.toml")) == by_name
    assert 20 <= len(by_name.systems) <= 30
    assert any(s.kind == "dossier_system" and s.connected for s in by_name.systems)


def test_binh_dinh_carries_the_sources_figures() -> None:
    scenario = load_scenario("binh-dinh-2023")
    assert (scenario.province.code, scenario.province.name) == ("052", "Bình Định")
    assert (scenario.province.services_total, scenario.province.services_fully_online) == (2070, 900)
    targets = scenario.province.targets
    assert (targets.connected_systems, targets.online_dossiers, targets.electronic_documents) == (0.60, 0.30, 0.90)
    assert targets.signed_results == 1.0
    connected_sector = [s for s in scenario.systems if s.kind == "sector_database" and s.connected]
    assert len(connected_sector) == 10  # "tích hợp, kết nối với 10 cơ sở dữ liệu, phần mềm chuyên ngành"
    assert {a.code[-3:] for a in scenario.agencies} == {"H22"}
    assert {a.level for a in scenario.agencies} == {"province", "district", "commune"}


def test_dong_nai_carries_the_sources_figures() -> None:
    scenario = load_scenario("dong-nai-2020")
    assert (scenario.province.code, scenario.province.name) == ("075", "Đồng Nai")
    assert scenario.province.targets.online_dossiers == 0.30
    assert scenario.province.targets.inter_agency_dossiers_online == 0.50


def test_connected_systems_denominator_counts_systems_serving_citizens_and_businesses() -> None:
    scenario = load_scenario("binh-dinh-2023")
    serving = [s for s in scenario.systems if s.serves_citizens_businesses]
    assert scenario.connected_systems_denominator() == len(serving) == 22
    assert len(serving) < len(scenario.systems)  # internal systems (e-mail, IOC …) are not counted
    assert scenario.connected_systems_share() == pytest.approx(14 / 22)
    assert load_scenario("dong-nai-2020").connected_systems_share() < 0.60  # 2020: target not yet met


def test_lookups() -> None:
    scenario = load_scenario("binh-dinh-2023")
    assert scenario.agency("000.00.01.H22").name == "Sở Tư pháp"
    assert scenario.procedure("1.001612").name == "Đăng ký khai sinh"


def test_outage_window_is_counted_from_the_first_day() -> None:
    scenario = load_scenario("binh-dinh-2023")
    start, end = scenario.outages[0].window(scenario.calendar.start)
    assert start.isoformat() == "2023-08-29T14:00:00+07:00"
    assert (end - start).total_seconds() == 3 * 3600


# --- loading errors -----------------------------------------------------------------------------


def test_unknown_name_lists_the_bundled_ones() -> None:
    with pytest.raises(ScenarioError, match="no scenario named 'ha-noi-2030'.*binh-dinh-2023"):
        load_scenario("ha-noi-2030")


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[province\nname = 1", encoding="utf-8")
    with pytest.raises(ScenarioError, match="broken.toml"):
        load_scenario(path)


def test_file_errors_name_the_file_the_field_and_the_rule(tmp_path: Path) -> None:
    text = (bundled_scenarios_dir() / "binh-dinh-2023.toml").read_text(encoding="utf-8")
    text = text.replace("share_online = 0.25", "share_online = 1.25").replace('code = "052"', 'code = "052"\npop = 1')
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "bad.toml" in message
    assert "traffic.share_online: Input should be less than or equal to 1" in message
    assert "province.pop: Extra inputs are not permitted" in message


# --- rules, each named by its field -------------------------------------------------------------


def test_valid_data_passes(binh_dinh_data: dict[str, Any]) -> None:
    assert Scenario.model_validate(binh_dinh_data).province.name == "Bình Định"


def test_extra_fields_are_refused(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["systems"][0]["vendor"] = "VNPT"
    assert ("systems.0.vendor", "Extra inputs are not permitted") in refusal(data)


def test_flags_must_be_booleans(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["systems"][0]["serves_citizens_businesses"] = "yes"
    assert refusal(data)[0] == ("systems.0.serves_citizens_businesses", "Input should be a valid boolean")


@pytest.mark.parametrize(
    ("section", "field", "value", "rule"),
    [
        ("traffic", "share_online", 1.5, "less than or equal to 1"),
        ("traffic", "share_refused", -0.1, "greater than or equal to 0"),
        ("traffic", "dossiers_per_day", 0, "greater than 0"),
        ("province", "code", "999", "not a province code"),
        ("province", "name", "", "at least 1 character"),
    ],
)
def test_field_rules(binh_dinh_data: dict[str, Any], section: str, field: str, value: Any, rule: str) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data[section][field] = value
    problems = refusal(data)
    assert any(where == f"{section}.{field}" and rule in message for where, message in problems), problems


def test_province_name_must_match_its_code(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["province"]["code"] = "075"
    [(where, message)] = refusal(data)
    assert where == "province" and "075 is Đồng Nai" in message


def test_share_targets_stay_in_unit_range(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["province"]["targets"]["connected_systems"] = 60
    assert refusal(data)[0][0] == "province.targets.connected_systems"


def test_agency_code_pattern(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["agencies"][0]["code"] = "00.00.01.H22"
    where, message = refusal(data)[0]
    assert where == "agencies.0.code" and "pattern" in message


def test_agency_codes_are_unique_and_of_one_province(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["agencies"][1]["code"] = data["agencies"][0]["code"]
    where, message = refusal(data)[0]
    assert where == "agencies" and "unique" in message and "000.00.01.H22" in message

    data = copy.deepcopy(binh_dinh_data)
    data["agencies"][1]["code"] = "000.00.02.H19"
    where, message = refusal(data)[0]
    assert where == "agencies" and "H19" in message


def test_system_owner_must_be_an_agency(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["systems"][3]["owner"] = "000.00.99.H22"
    [(_, message)] = refusal(data)
    assert "systems[3].owner" in message and "000.00.99.H22" in message


def test_procedure_agencies_must_be_agencies(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["procedures"][2]["agencies"].append("000.09.09.H22")
    [(_, message)] = refusal(data)
    assert "procedures[2].agencies" in message and "000.09.09.H22" in message


@pytest.mark.parametrize(("section", "key"), [("systems", "id"), ("procedures", "code")])
def test_ids_and_codes_are_unique(binh_dinh_data: dict[str, Any], section: str, key: str) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data[section][1][key] = data[section][0][key]
    where, message = refusal(data)[0]
    assert where == section and "unique" in message


def test_procedure_fields(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["procedures"][0].update(code="1001612", level="muc_4", legal_days=0, agencies=[])
    fields = {where for where, _ in refusal(data)}
    assert {"procedures.0.code", "procedures.0.level", "procedures.0.legal_days", "procedures.0.agencies"} <= fields


def test_channels_cannot_exceed_the_whole(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["traffic"].update(share_online=0.8, share_by_post=0.3)
    where, message = refusal(data)[0]
    assert where == "traffic" and "share_online + share_by_post" in message


def test_distribution_parameters(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["traffic"]["processing"] = {"kind": "uniform", "low": 2, "high": 1}
    where, message = refusal(data)[0]
    assert where == "traffic.processing.uniform" and "high must be greater than low" in message

    data["traffic"]["processing"] = {"kind": "gamma", "shape": 2}
    assert refusal(data)[0][0] == "traffic.processing"


def test_every_channel_and_applicant_kind_needs_a_procedure(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    for procedure in data["procedures"]:
        if procedure["applicants"] in ("business", "both"):
            procedure["level"] = "truc_tiep"
    [(_, message)] = refusal(data)
    assert "no procedure takes business dossiers online" in message

    data["traffic"]["share_online"] = 0  # no online traffic: then nothing is missing
    Scenario.model_validate(data)


def test_office_hours_and_outages(binh_dinh_data: dict[str, Any]) -> None:
    data = copy.deepcopy(binh_dinh_data)
    data["calendar"]["office_hours"] = ["13:30-17:00", "07:00-11:30"]
    where, message = refusal(data)[0]
    assert where == "calendar.office_hours" and "in order" in message

    data = copy.deepcopy(binh_dinh_data)
    data["outages"][0].update(connector="NDXP Stub", duration_hours=0)
    assert {where for where, _ in refusal(data)} == {"outages.0.connector", "outages.0.duration_hours"}
