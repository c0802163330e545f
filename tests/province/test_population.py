"""The population-database stub: synthetic citizens and the citizen.verify contract."""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from datetime import date
from typing import Any

import orjson
import pytest

from hub.core import personal_id
from hub.core.schemas.registry import bundled_schemas_dir, compile_schema
from province.connectors.population_db.population import (
    KHONG_HOP_LE,
    KHONG_TON_TAI,
    KHOP,
    NO_REQUEST_ID,
    REQUEST_FIELDS,
    SAI_LECH,
    Citizen,
    Population,
    normalised_name,
)

POPULATION = Population(seed=2023, size=20_000)
ABSENT = object()  # marks a field to leave out of a request


def validator(type: str):
    return compile_schema(orjson.loads((bundled_schemas_dir() / type / "v1.json").read_bytes()))


REQUEST_SCHEMA = validator("citizen.verify.request")
REPLY_SCHEMA = validator("citizen.verify.reply")


def request_for(citizen: Citizen, **fields: Any) -> dict[str, Any]:
    request = {"MaYeuCau": "yc-0001", "MaDichVu": "XAC_THUC_CONG_DAN", "MaCanBo": "CB.052.0042",
               "SoDinhDanh": citizen.personal_id, "HoVaTen": citizen.full_name,
               "NgaySinh": citizen.birth_date.isoformat()}
    if citizen.old_id:
        request["SoCMND"] = citizen.old_id
    request.update(fields)
    return {key: value for key, value in request.items() if value is not ABSENT}


def with_old_id(population: Population = POPULATION) -> Citizen:
    return next(c for c in population if c.old_id)


def unknown_id(population: Population = POPULATION) -> str:
    """A well-formed personal ID that belongs to no one in `population`."""
    return next(pid for n in range(1000) if population.lookup(pid := personal_id.make("052", 1990, False, n)) is None)


# --- the people ---------------------------------------------------------------------------------
def test_same_seed_gives_the_same_people() -> None:
    assert list(Population(7, 3000)) == list(Population(7, 3000))
    assert list(Population(7, 3000)) != list(Population(8, 3000))
    assert list(Population(7, 5000))[:3000] == list(Population(7, 3000))  # growing keeps the first ones


def test_every_personal_id_is_well_formed_and_agrees_with_the_citizen() -> None:
    for citizen in POPULATION:
        assert personal_id.problem(citizen.personal_id, citizen.birth_date) is None, citizen
        pid = personal_id.parse(citizen.personal_id)
        assert pid.female == citizen.female
        assert pid.birth_year == citizen.birth_date.year
        assert pid.province_code == citizen.birth_province
        assert citizen.personal_id[3] in ("1" if citizen.female else "0") + ("3" if citizen.female else "2")
        assert 0 <= citizen.age(POPULATION.as_of) <= 95


def test_personal_ids_are_unique_and_lead_back_to_their_citizen() -> None:
    citizens = list(POPULATION)
    assert len({c.personal_id for c in citizens}) == len(citizens)
    assert all(POPULATION.lookup(c.personal_id) == c for c in citizens)


def test_lookup_of_anyone_else_finds_no_one() -> None:
    citizen = POPULATION[0]
    other_province = "075" if citizen.birth_province != "075" else "001"
    assert POPULATION.lookup(other_province + citizen.personal_id[3:]) is None
    assert POPULATION.lookup(unknown_id()) is None
    for junk in (None, 52090001234, "", "abc", "999090001234", citizen.personal_id + "0"):
        assert POPULATION.lookup(junk) is None


def test_the_population_looks_like_a_binh_dinh_one() -> None:
    citizens = list(POPULATION)
    family = Counter(c.family_name for c in citizens)
    assert 0.33 < family["Nguyễn"] / len(citizens) < 0.43
    assert family.most_common(4) == [(name, family[name]) for name in ("Nguyễn", "Trần", "Lê", "Phạm")]
    assert {"Huỳnh", "Võ", "Hồ", "Ngô", "Dương", "Lý", "Đặng", "Bùi", "Đỗ"} <= family.keys()
    assert 0.45 < sum(c.female for c in citizens) / len(citizens) < 0.55
    assert 0.80 < sum(c.birth_province == "052" for c in citizens) / len(citizens) < 0.90
    assert {c.birth_province for c in citizens} <= personal_id.province_codes().keys()
    assert len({c.birth_province for c in citizens}) > 40
    assert all(c.address.endswith(", tỉnh Bình Định") for c in citizens)
    assert any("thành phố Quy Nhơn" in c.address for c in citizens)
    assert any("huyện Phù Cát" in c.address for c in citizens)
    assert all(c.middle_name in ("Văn", "Thị") or c.middle_name != c.given_name for c in citizens)
    women = [c for c in citizens if c.female]
    assert not any(c.middle_name == "Văn" for c in women)
    assert not any(c.middle_name == "Thị" for c in citizens if not c.female)


def test_old_identity_cards_only_for_people_born_before_2000() -> None:
    for citizen in POPULATION:
        if citizen.old_id is not None:
            assert citizen.birth_date.year < 2000
            assert len(citizen.old_id) == 9 and citizen.old_id.isdigit() and citizen.old_id.startswith("21")
    older = [c for c in POPULATION if c.birth_date.year < 2000]
    assert 0.75 < sum(c.old_id is not None for c in older) / len(older) < 0.95


def test_another_home_province() -> None:
    dong_nai = Population(1, 2000, home_province="075")
    assert all(c.address.endswith(", tỉnh Đồng Nai") for c in dong_nai)
    assert sum(c.birth_province == "075" for c in dong_nai) > 1500
    assert Population(1, 10, home_province="079")[0].address.endswith(", thành phố Hồ Chí Minh")
    with pytest.raises(ValueError):
        Population(1, 10, home_province="999")
    with pytest.raises(ValueError):
        Population(1, 1_000_001)
    with pytest.raises(IndexError):
        POPULATION[POPULATION.size]


def test_sample_picks_adult_applicants_deterministically() -> None:
    picks = [POPULATION.sample(random.Random(5)) for _ in range(3)]
    assert picks[0] == picks[1] == picks[2]
    rng = random.Random(6)
    assert all(POPULATION.sample(rng).age(POPULATION.as_of) >= 18 for _ in range(500))
    assert POPULATION.sample(rng).applicant()["GioiTinh"] in (0, 1)


def test_altered_applicant_data_mismatches_in_one_field() -> None:
    rng = random.Random(11)
    mismatched = Counter()
    for _ in range(1000):
        citizen = POPULATION.sample(rng)
        applicant = POPULATION.altered(citizen, rng)
        assert applicant["SoDinhDanh"] == citizen.personal_id
        request = request_for(citizen, HoVaTen=applicant["HoVaTen"], NgaySinh=applicant["NgaySinh"])
        assert REQUEST_SCHEMA.is_valid(request), request  # still gets past the hub's validation
        reply = POPULATION.verify(request)
        assert reply["KetQua"] == SAI_LECH and len(reply["TruongSaiLech"]) == 1, (citizen, applicant)
        mismatched.update(reply["TruongSaiLech"])
    assert mismatched["HoVaTen"] > 300 and mismatched["NgaySinh"] > 300


# --- verify ------------------------------------------------------------------------------------
def test_match() -> None:
    citizen = with_old_id()
    reply = POPULATION.verify(request_for(citizen))
    assert reply == {"MaYeuCau": "yc-0001", "KetQua": KHOP, "TonTai": True, "KhopDuLieu": True}
    # only the required fields: still a match
    assert POPULATION.verify(request_for(citizen, NgaySinh=ABSENT, SoCMND=ABSENT))["KetQua"] == KHOP


@pytest.mark.parametrize("field, wrong", [("HoVaTen", "Nguyễn Văn Không Có"), ("NgaySinh", None),
                                          ("SoCMND", "000000000")])
def test_each_mismatched_field_is_named(field: str, wrong: str | None) -> None:
    citizen = with_old_id()
    if field == "NgaySinh":
        wrong = citizen.birth_date.replace(day=1 if citizen.birth_date.day != 1 else 2).isoformat()
    reply = POPULATION.verify(request_for(citizen, **{field: wrong}))
    assert reply == {"MaYeuCau": "yc-0001", "KetQua": SAI_LECH, "TonTai": True, "KhopDuLieu": False,
                     "TruongSaiLech": [field]}


def test_all_fields_mismatched_and_old_id_given_for_someone_without_one() -> None:
    citizen = with_old_id()
    reply = POPULATION.verify(request_for(citizen, HoVaTen="Ai Đó", SoCMND="123456789",
                                          NgaySinh=date(citizen.birth_date.year, 12, 31).isoformat()
                                          if citizen.birth_date.month != 12 else f"{citizen.birth_date.year}-01-01"))
    assert reply["TruongSaiLech"] == ["HoVaTen", "NgaySinh", "SoCMND"]
    young = next(c for c in POPULATION if c.old_id is None)
    assert POPULATION.verify(request_for(young, SoCMND="211234567"))["TruongSaiLech"] == ["SoCMND"]


def test_unknown_citizen() -> None:
    reply = POPULATION.verify(request_for(POPULATION[0], SoDinhDanh=unknown_id(), NgaySinh=ABSENT, SoCMND=ABSENT))
    assert reply["KetQua"] == KHONG_TON_TAI and reply["TonTai"] is False and reply["KhopDuLieu"] is False
    assert "TruongSaiLech" not in reply


@pytest.mark.parametrize("pid", [None, 52090001234, 5.2e11, ["052090001234"], "", "05209000123", "0520900012345",
                                 "05209000123x", "999090001234", "052430001234", "０５２０９０００１２３４",
                                 "052090001234\n", " 052090001234"])
def test_malformed_personal_id(pid: object) -> None:
    reply = POPULATION.verify(request_for(POPULATION[0], SoDinhDanh=pid, NgaySinh=ABSENT, SoCMND=ABSENT))
    assert reply["KetQua"] == KHONG_HOP_LE and reply["TonTai"] is False and reply["KhopDuLieu"] is False
    assert reply["MaYeuCau"] == "yc-0001"
    assert reply["ThongBao"].startswith("SoDinhDanh")
    if isinstance(pid, str):
        assert personal_id.problem(pid) in reply["ThongBao"]


@pytest.mark.parametrize("fields, rule", [
    ({"HoVaTen": ABSENT}, "HoVaTen"), ({"HoVaTen": "A"}, "HoVaTen"), ({"HoVaTen": 42}, "HoVaTen"),
    ({"MaDichVu": ""}, "MaDichVu"), ({"MaCanBo": None}, "MaCanBo"), ({"MaYeuCau": "x" * 65}, "MaYeuCau"),
    ({"SoCMND": "21123456"}, "SoCMND"), ({"SoCMND": 211234567}, "SoCMND"), ({"SoCMND": None}, "SoCMND"),
    ({"NgaySinh": "12/04/1990"}, "NgaySinh"), ({"NgaySinh": "19900412"}, "NgaySinh"),
    ({"NgaySinh": "1990-02-30"}, "NgaySinh"), ({"NgaySinh": date(1990, 4, 12)}, "NgaySinh"),
    ({"NgaySinh": "1901-01-01"}, "encodes birth year"), ({"GioiTinh": 1}, "unknown field 'GioiTinh'"),
])
def test_malformed_request_names_the_rule(fields: dict, rule: str) -> None:
    reply = POPULATION.verify(request_for(with_old_id(), **fields))
    assert reply["KetQua"] == KHONG_HOP_LE and rule in reply["ThongBao"], reply
    assert REPLY_SCHEMA.is_valid(reply)


@pytest.mark.parametrize("request_", [None, [], "yc-0001", 42, {}, {"MaYeuCau": None}, {1: 2}])
def test_not_a_request_at_all(request_: object) -> None:
    reply = POPULATION.verify(request_)
    assert reply["KetQua"] == KHONG_HOP_LE and reply["MaYeuCau"] == NO_REQUEST_ID
    assert REPLY_SCHEMA.is_valid(reply)


@pytest.mark.parametrize("spelling", [
    lambda name: name.upper(),
    lambda name: name.lower(),
    lambda name: unicodedata.normalize("NFD", name),
    lambda name: "  " + name.replace(" ", " \t\u00a0 ") + "\n",
    lambda name: unicodedata.normalize("NFD", name.upper()).replace(" ", "   "),
])
def test_names_compare_after_normalisation(spelling) -> None:
    citizen = next(c for c in POPULATION if c.family_name == "Nguyễn" and c.old_id)
    assert POPULATION.verify(request_for(citizen, HoVaTen=spelling(citizen.full_name)))["KetQua"] == KHOP


def test_diacritics_still_count() -> None:
    citizen = next(c for c in POPULATION if c.family_name == "Nguyễn" and c.old_id)
    reply = POPULATION.verify(request_for(citizen, HoVaTen=citizen.full_name.replace("Nguyễn", "Nguyen")))
    assert reply["TruongSaiLech"] == ["HoVaTen"]
    assert normalised_name(" NGUYỄN  văn\tAn ") == "nguyễn văn an"


# --- verify never raises and always answers within its contract -------------------------------
JUNK = [None, True, 0, -1, 1.5, [], {}, [1], "", " ", "x" * 65, "x" * 300, "Ngô", "\x00", "đ", "😀" * 3]


def random_text(rng: random.Random) -> str:
    alphabet = "0123456789-ĐđăâêôơưẠạỄễ \t\nabcXYZ/:" + "\u0301\u0323"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))


def random_field(field: str, citizen: Citizen, rng: random.Random) -> object:
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(JUNK)
    if roll < 0.25:
        return random_text(rng)
    if field == "SoDinhDanh":
        choices = [citizen.personal_id, unknown_id(), citizen.personal_id[:11], citizen.personal_id + "1",
                   rng.choice(["999", "000", "052", "079"]) + "".join(rng.choice("0123456789") for _ in range(9))]
        return rng.choice(choices)
    if field == "HoVaTen":
        return rng.choice([citizen.full_name, citizen.full_name.upper(), unicodedata.normalize("NFD", citizen.full_name),
                           POPULATION.altered(citizen, rng)["HoVaTen"], "A", "Trần Thị B"])
    if field == "NgaySinh":
        return rng.choice([citizen.birth_date.isoformat(), POPULATION.altered(citizen, rng)["NgaySinh"],
                           "1990-02-30", "1990-4-12", "2000-01-01", f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-"
                           f"{rng.randint(0, 32):02d}"])
    if field == "SoCMND":
        return rng.choice([citizen.old_id or "212345678", "212345678", "21234567", "2123456789"])
    return rng.choice(["yc-1", "DV01", "CB.052.7", "a", "y" * 64])


def random_request(rng: random.Random) -> object:
    if rng.random() < 0.03:
        return rng.choice(JUNK)
    citizen = POPULATION.sample(rng, min_age=0)
    request = request_for(citizen) if rng.random() < 0.5 else request_for(POPULATION[0], SoDinhDanh=unknown_id(),
                                                                          NgaySinh=ABSENT, SoCMND=ABSENT)
    for field in rng.sample(REQUEST_FIELDS, rng.choice([0, 0, 1, 1, 2, 3, 7])):  # a few fields garbled
        if rng.random() < 0.15:
            request.pop(field, None)
        else:
            request[field] = random_field(field, citizen, rng)
    if rng.random() < 0.05:
        request[rng.choice(["GioiTinh", "sodinhdanh", "", "x" * 500])] = rng.choice(JUNK)
    return request


def test_verify_never_raises_and_always_replies_within_the_contract() -> None:
    rng = random.Random(20231115)
    outcomes = Counter()
    for _ in range(4000):
        request = random_request(rng)
        reply = POPULATION.verify(request)
        assert REPLY_SCHEMA.is_valid(reply), (request, reply)
        outcome = reply["KetQua"]
        outcomes[outcome] += 1
        assert reply["TonTai"] == (outcome in (KHOP, SAI_LECH)), reply
        assert reply["KhopDuLieu"] == (outcome == KHOP), reply
        assert ("TruongSaiLech" in reply) == (outcome == SAI_LECH), reply
        # malformed exactly when the hub's own validation of the request would reject it
        assert (outcome == KHONG_HOP_LE) == (not REQUEST_SCHEMA.is_valid(request)), (request, reply)
        if isinstance(request, dict) and outcome != KHONG_HOP_LE:
            assert reply["MaYeuCau"] == request["MaYeuCau"]
    assert min(outcomes.values()) > 50, outcomes  # every outcome was exercised
