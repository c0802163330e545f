"""A synthetic, deterministic population and the verification the population database answers.

Citizens are not stored: citizen number `serial` (0 ≤ serial < size) is computed on demand from
two 64-bit hashes of (seed, serial), so building a population costs nothing and any citizen costs a
few microseconds. The six random digits of the personal ID are a keyed permutation of the serial,
so a personal ID leads back to its serial and `lookup` needs no index.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.core.personal_id import make, problem, province_codes
from province.connectors.population_db.mistakes import misspelt, mistyped, normalised_name

# --- names -------------------------------------------------------------------------------------
# Family names with weights close to their national frequency (Nguyễn ≈ 38%), central-coast spelling
# (Huỳnh, Võ) ahead of the northern one (Hoàng, Vũ).
FAMILY_NAMES = {
    "Nguyễn": 380, "Trần": 110, "Lê": 95, "Phạm": 70, "Phan": 45, "Huỳnh": 35, "Võ": 27, "Đặng": 21,
    "Bùi": 20, "Hoàng": 16, "Đỗ": 14, "Hồ": 13, "Ngô": 13, "Vũ": 12, "Dương": 10, "Trương": 10,
    "Đoàn": 8, "Đinh": 7, "Đào": 7, "Lý": 5, "Mai": 5, "Lương": 5, "Hà": 5, "Cao": 4, "Lâm": 4,
    "Châu": 3, "Tạ": 2,
}
MIDDLE_NAMES = {  # after the traditional Văn / Thị, which older generations carry far more often
    False: ("Hữu", "Đức", "Minh", "Quốc", "Công", "Thanh", "Ngọc", "Xuân", "Tấn", "Quang", "Đình",
            "Trọng", "Hoàng", "Gia", "Anh", "Thành"),
    True: ("Ngọc", "Thu", "Thanh", "Minh", "Kim", "Phương", "Bảo", "Mỹ", "Diệu", "Khánh", "Thùy",
           "Hồng", "Bích", "Hoài", "Thảo", "Như"),
}
GIVEN_NAMES = {
    False: ("Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy",
            "Khang", "Khoa", "Khôi", "Kiên", "Long", "Lộc", "Minh", "Nam", "Nghĩa", "Phát", "Phong",
            "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thành", "Thắng", "Thịnh", "Toàn", "Trung", "Tuấn",
            "Tùng", "Việt", "Vinh", "Vũ", "Tâm", "Hưng"),
    True: ("An", "Anh", "Châu", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng",
           "Hương", "Huyền", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Nhi",
           "Oanh", "Phương", "Quyên", "Quỳnh", "Tâm", "Thảo", "Thu", "Thúy", "Trang", "Trâm", "Tuyết",
           "Uyên", "Vân", "Vy", "Yến", "Lệ"),
}
TRADITIONAL_MIDDLE = {False: "Văn", True: "Thị"}

# --- ages: share of the population per ten-year band, in tenths of a percent --------------------
AGE_BANDS = ((0, 150), (10, 150), (20, 140), (30, 160), (40, 140), (50, 110), (60, 90), (70, 40),
             (80, 16), (90, 4))
OLDEST = 95

# --- where people live --------------------------------------------------------------------------
# Home province → districts (weight ≈ population in ten thousands) → communes.
DISTRICTS: dict[str, tuple[tuple[str, int, tuple[str, ...]], ...]] = {
    "052": (  # Bình Định
        ("thành phố Quy Nhơn", 29, ("phường Lê Lợi", "phường Trần Phú", "phường Lý Thường Kiệt",
                                     "phường Nguyễn Văn Cừ", "phường Ngô Mây", "phường Ghềnh Ráng",
                                     "phường Quang Trung", "phường Nhơn Bình", "phường Nhơn Phú",
                                     "phường Đống Đa", "phường Thị Nại", "phường Trần Quang Diệu",
                                     "phường Bùi Thị Xuân", "xã Nhơn Lý", "xã Nhơn Hải", "xã Nhơn Hội",
                                     "xã Phước Mỹ")),
        ("thị xã An Nhơn", 18, ("phường Bình Định", "phường Đập Đá", "phường Nhơn Thành",
                                "phường Nhơn Hưng", "phường Nhơn Hòa", "xã Nhơn An", "xã Nhơn Hạnh",
                                "xã Nhơn Hậu", "xã Nhơn Khánh", "xã Nhơn Lộc", "xã Nhơn Mỹ",
                                "xã Nhơn Phong", "xã Nhơn Phúc", "xã Nhơn Tân", "xã Nhơn Thọ")),
        ("thị xã Hoài Nhơn", 21, ("phường Bồng Sơn", "phường Tam Quan", "phường Tam Quan Bắc",
                                  "phường Tam Quan Nam", "phường Hoài Đức", "phường Hoài Hảo",
                                  "phường Hoài Hương", "phường Hoài Tân", "phường Hoài Thanh",
                                  "phường Hoài Xuân", "xã Hoài Châu", "xã Hoài Mỹ", "xã Hoài Phú",
                                  "xã Hoài Sơn", "xã Hoài Hải")),
        ("huyện Tuy Phước", 18, ("thị trấn Tuy Phước", "thị trấn Diêu Trì", "xã Phước An", "xã Phước Hiệp",
                                 "xã Phước Hòa", "xã Phước Hưng", "xã Phước Lộc", "xã Phước Nghĩa",
                                 "xã Phước Quang", "xã Phước Sơn", "xã Phước Thành", "xã Phước Thắng",
                                 "xã Phước Thuận")),
        ("huyện Phù Cát", 19, ("thị trấn Ngô Mây", "thị trấn Cát Tiến", "xã Cát Hanh", "xã Cát Hải",
                               "xã Cát Hiệp", "xã Cát Khánh", "xã Cát Lâm", "xã Cát Minh", "xã Cát Nhơn",
                               "xã Cát Sơn", "xã Cát Tài", "xã Cát Tân", "xã Cát Thắng", "xã Cát Thành",
                               "xã Cát Trinh", "xã Cát Tường", "xã Cát Chánh", "xã Cát Hưng")),
        ("huyện Phù Mỹ", 17, ("thị trấn Phù Mỹ", "thị trấn Bình Dương", "xã Mỹ An", "xã Mỹ Cát",
                              "xã Mỹ Chánh", "xã Mỹ Đức", "xã Mỹ Hiệp", "xã Mỹ Hòa", "xã Mỹ Lộc",
                              "xã Mỹ Lợi", "xã Mỹ Phong", "xã Mỹ Quang", "xã Mỹ Tài", "xã Mỹ Thành",
                              "xã Mỹ Thắng", "xã Mỹ Thọ", "xã Mỹ Trinh")),
        ("huyện Tây Sơn", 12, ("thị trấn Phú Phong", "xã Bình Hòa", "xã Bình Nghi", "xã Bình Tân",
                               "xã Bình Thành", "xã Bình Thuận", "xã Bình Tường", "xã Tây An", "xã Tây Bình",
                               "xã Tây Giang", "xã Tây Phú", "xã Tây Thuận", "xã Tây Vinh", "xã Tây Xuân",
                               "xã Vĩnh An")),
        ("huyện Hoài Ân", 9, ("thị trấn Tăng Bạt Hổ", "xã Ân Đức", "xã Ân Hảo Đông", "xã Ân Hảo Tây",
                              "xã Ân Hữu", "xã Ân Mỹ", "xã Ân Nghĩa", "xã Ân Phong", "xã Ân Sơn",
                              "xã Ân Thạnh", "xã Ân Tín", "xã Ân Tường Đông", "xã Ân Tường Tây",
                              "xã Bok Tới", "xã Đak Mang")),
        ("huyện An Lão", 3, ("thị trấn An Lão", "xã An Hòa", "xã An Hưng", "xã An Nghĩa", "xã An Quang",
                             "xã An Tân", "xã An Toàn", "xã An Trung", "xã An Vinh", "xã An Dũng")),
        ("huyện Vân Canh", 3, ("thị trấn Vân Canh", "xã Canh Hiển", "xã Canh Hiệp", "xã Canh Hòa",
                               "xã Canh Liên", "xã Canh Thuận", "xã Canh Vinh")),
        ("huyện Vĩnh Thạnh", 3, ("thị trấn Vĩnh Thạnh", "xã Vĩnh Hảo", "xã Vĩnh Hiệp", "xã Vĩnh Hòa",
                                 "xã Vĩnh Kim", "xã Vĩnh Quang", "xã Vĩnh Sơn", "xã Vĩnh Thịnh",
                                 "xã Vĩnh Thuận")),
    ),
    "075": (  # Đồng Nai
        ("thành phố Biên Hòa", 110, ("phường Tân Phong", "phường Tân Hiệp", "phường Trảng Dài",
                                     "phường Long Bình", "phường Hố Nai", "phường Tam Hiệp",
                                     "phường Quyết Thắng", "phường Thống Nhất", "phường Bửu Long",
                                     "xã Hóa An")),
        ("thành phố Long Khánh", 17, ("phường Xuân An", "phường Xuân Bình", "phường Xuân Hòa",
                                      "phường Xuân Trung", "phường Phú Bình", "xã Bảo Vinh")),
        ("huyện Trảng Bom", 36, ("thị trấn Trảng Bom", "xã Bắc Sơn", "xã Hố Nai 3", "xã Quảng Tiến",
                                 "xã Sông Trầu", "xã Bàu Hàm")),
        ("huyện Long Thành", 27, ("thị trấn Long Thành", "xã An Phước", "xã Bình Sơn", "xã Long An",
                                  "xã Long Đức", "xã Phước Thái")),
        ("huyện Nhơn Trạch", 26, ("xã Hiệp Phước", "xã Phú Hội", "xã Long Tân", "xã Phước Thiền",
                                  "xã Long Thọ", "xã Phú Đông")),
        ("huyện Vĩnh Cửu", 15, ("thị trấn Vĩnh An", "xã Thạnh Phú", "xã Tân Bình", "xã Trị An")),
        ("huyện Thống Nhất", 16, ("thị trấn Dầu Giây", "xã Gia Tân 1", "xã Quang Trung", "xã Xuân Thiện")),
        ("huyện Xuân Lộc", 23, ("thị trấn Gia Ray", "xã Xuân Định", "xã Xuân Hiệp", "xã Xuân Tâm")),
        ("huyện Cẩm Mỹ", 16, ("thị trấn Long Giao", "xã Xuân Mỹ", "xã Sông Ray", "xã Nhân Nghĩa")),
        ("huyện Định Quán", 20, ("thị trấn Định Quán", "xã Phú Ngọc", "xã La Ngà", "xã Gia Canh")),
        ("huyện Tân Phú", 17, ("thị trấn Tân Phú", "xã Phú Lâm", "xã Phú Xuân", "xã Nam Cát Tiên")),
    ),
}
CENTRAL_CITIES = {"001", "031", "048", "079", "092"}  # "thành phố …" rather than "tỉnh …"

# Old 9-digit identity cards (CMND) start with the code of the issuing province (where the holder
# lived), where known; elsewhere the last two digits of the province code stand in for it.
OLD_ID_PREFIX = {"001": "01", "079": "02", "031": "03", "052": "21", "051": "21", "075": "27"}

HOME_SHARE = 85  # % of residents whose birth was registered in the home province
OLD_ID_SHARE = 85  # % of residents born before 2000 with an old identity card on record
DEFAULT_AS_OF = date(2025, 1, 1)  # the population's "today": ages are counted from it
NO_REQUEST_ID = "khong_ro"  # echoed when the request carries no usable MaYeuCau

# --- the verification contract (schemas/citizen.verify.*/v1.json) ------------------------------
KHOP, SAI_LECH, KHONG_TON_TAI, KHONG_HOP_LE = "khop", "sai_lech", "khong_ton_tai", "khong_hop_le"
REQUEST_FIELDS = ("MaYeuCau", "MaDichVu", "MaCanBo", "SoDinhDanh", "SoCMND", "HoVaTen", "NgaySinh")
_OLD_ID = re.compile(r"[0-9]{9}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(state: int) -> int:
    """splitmix64's output function: a well-spread 64-bit hash of `state`."""
    z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _by_weight(weights: dict[Any, int]) -> tuple[Any, ...]:
    """Each item repeated by its weight: a uniform index then picks by weight in O(1)."""
    return tuple(item for item, weight in weights.items() for _ in range(weight))


_FAMILY = _by_weight(FAMILY_NAMES)
_AGES = _by_weight({age: share * 60 // len(band)  # spread each band's share over its years
                    for start, share in AGE_BANDS
                    for band in [range(start, min(start + 10, OLDEST + 1))] for age in band})


def _traditional_share(birth_year: int) -> int:
    """% of people born in `birth_year` whose middle name is Văn / Thị."""
    return 70 if birth_year < 1970 else 50 if birth_year < 1990 else 30 if birth_year < 2005 else 15


@dataclass(frozen=True, slots=True)
class Citizen:
    personal_id: str  # số định danh cá nhân
    family_name: str  # họ
    middle_name: str  # tên đệm
    given_name: str  # tên
    female: bool
    birth_date: date
    birth_province: str  # province code of birth registration
    old_id: str | None  # số CMND (9 digits), for people who had the old card
    address: str  # nơi thường trú, in the home province

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.middle_name} {self.given_name}"

    @property
    def sex(self) -> str:
        return "Nữ" if self.female else "Nam"

    def age(self, on: date) -> int:
        born = self.birth_date
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    def applicant(self) -> dict[str, Any]:
        """The citizen as a dossier's ChuHoSo (the fields a verification request also carries)."""
        return {"HoVaTen": self.full_name, "SoDinhDanh": self.personal_id,
                "NgaySinh": self.birth_date.isoformat(), "GioiTinh": int(self.female), "DiaChi": self.address}


class Population:
    """`size` citizens (at most 1,000,000) living in `home_province`, the same ones for the same seed."""

    def __init__(self, seed: int, size: int, home_province: str = "052", as_of: date = DEFAULT_AS_OF) -> None:
        provinces = province_codes()
        if home_province not in provinces:
            raise ValueError(f"{home_province} is not a province code")
        if not 1 <= size <= 1_000_000:
            raise ValueError("size must be between 1 and 1,000,000 (six serial digits in a personal ID)")
        self.seed, self.size, self.home_province, self.as_of = seed, size, home_province, as_of
        self._as_of_day = as_of.toordinal()
        self._key = _mix((seed * _GOLDEN) & _MASK)
        self._round_keys = tuple(_mix(self._key + i) & 0xFFFF for i in range(4))
        self._other_provinces = tuple(code for code in provinces if code != home_province)
        self._old_id_prefix = OLD_ID_PREFIX.get(home_province, home_province[1:])
        province = provinces[home_province]
        self._province_label = f"{'thành phố' if home_province in CENTRAL_CITIES else 'tỉnh'} {province}"
        self._districts = _by_weight({(name, communes): weight
                                      for name, weight, communes in DISTRICTS.get(home_province, ())})

    # --- the people ---
    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[Citizen]:
        return map(self.__getitem__, range(self.size))

    def __getitem__(self, serial: int) -> Citizen:
        if not 0 <= serial < self.size:
            raise IndexError(f"citizen serial {serial} outside 0..{self.size - 1}")
        h = _mix((self._key + (2 * serial + 1) * _GOLDEN) & _MASK)
        g = _mix((self._key + (2 * serial + 2) * _GOLDEN) & _MASK)

        h, female = divmod(h, 2)
        female = bool(female)
        h, i = divmod(h, len(_FAMILY))
        family_name = _FAMILY[i]
        h, i = divmod(h, len(_AGES))
        age = _AGES[i]
        h, day = divmod(h, 365)
        birth_date = date.fromordinal(self._as_of_day - age * 365 - age // 4 - day)
        h, i = divmod(h, 100)
        if i < _traditional_share(birth_date.year):
            middle_name = TRADITIONAL_MIDDLE[female]
        else:
            h, i = divmod(h, len(MIDDLE_NAMES[female]))
            middle_name = MIDDLE_NAMES[female][i]
        givens = GIVEN_NAMES[female]
        h, i = divmod(h, len(givens))
        given_name = givens[i] if givens[i] != middle_name else givens[i - 1]

        g, i = divmod(g, 100)
        if i < HOME_SHARE:
            birth_province = self.home_province
        else:
            g, i = divmod(g, len(self._other_provinces))
            birth_province = self._other_provinces[i]
        g, i = divmod(g, 100)
        old_id = None
        if birth_date.year < 2000 and i < OLD_ID_SHARE:
            g, number = divmod(g, 10_000_000)
            old_id = f"{self._old_id_prefix}{number:07d}"

        return Citizen(
            personal_id=make(birth_province, birth_date.year, female, self._scramble(serial)),
            family_name=family_name, middle_name=middle_name, given_name=given_name, female=female,
            birth_date=birth_date, birth_province=birth_province, old_id=old_id, address=self._address(g))

    def _address(self, g: int) -> str:
        g, unit = divmod(g, 20)
        if not self._districts:
            return f"Tổ {unit + 1}, {self._province_label}"
        g, i = divmod(g, len(self._districts))
        district, communes = self._districts[i]
        commune = communes[g % len(communes)]
        return f"{'Thôn' if commune.startswith('xã') else 'Tổ'} {unit + 1}, {commune}, {district}, {self._province_label}"

    # The six random digits of a personal ID: a 4-round Feistel permutation of the serial over
    # 000000–999999 (two halves of three digits), keyed by the seed, so it can be undone.
    def _round(self, half: int, key: int) -> int:
        return ((half ^ key) * 0x9E3779B1 >> 16) % 1000

    def _scramble(self, serial: int) -> int:
        left, right = divmod(serial, 1000)
        for key in self._round_keys:
            left, right = right, (left + self._round(right, key)) % 1000
        return left * 1000 + right

    def _unscramble(self, digits: int) -> int:
        left, right = divmod(digits, 1000)
        for key in reversed(self._round_keys):
            left, right = (right - self._round(left, key)) % 1000, left
        return left * 1000 + right

    # --- what the traffic model asks ---
    def sample(self, rng: random.Random, min_age: int = 18) -> Citizen:
        """An applicant for a dossier: a random resident at least `min_age` years old (when there is one)."""
        for _ in range(100):
            citizen = self[rng.randrange(self.size)]
            if citizen.age(self.as_of) >= min_age:
                break
        return citizen

    def altered(self, citizen: Citizen, rng: random.Random) -> dict[str, Any]:
        """`citizen.applicant()` with a mistyped birth date (same year) or a misspelt name."""
        applicant = citizen.applicant()
        if rng.random() < 0.5:
            applicant["NgaySinh"] = mistyped(citizen.birth_date, rng).isoformat()
        else:
            applicant["HoVaTen"] = misspelt(citizen, rng)
        return applicant

    # --- what the population database answers ---
    def lookup(self, personal_id: object) -> Citizen | None:
        """The citizen with this personal ID, or None (also for anything that is not a well-formed ID)."""
        if not isinstance(personal_id, str) or problem(personal_id) is not None:
            return None
        serial = self._unscramble(int(personal_id[6:]))
        if serial >= self.size:
            return None
        citizen = self[serial]
        return citizen if citizen.personal_id == personal_id else None

    def verify(self, request: object) -> dict[str, Any]:
        """The citizen.verify.reply/v1 payload for a citizen.verify.request/v1 payload. Never raises."""
        if not isinstance(request, dict):
            return _reply(NO_REQUEST_ID, KHONG_HOP_LE, message="the request must be a JSON object")
        request_id = request.get("MaYeuCau")
        request_id = request_id if _is_text(request_id, 1, 64) else NO_REQUEST_ID
        if broken := _broken_rule(request):
            return _reply(request_id, KHONG_HOP_LE, message=broken)
        citizen = self.lookup(request["SoDinhDanh"])
        if citizen is None:
            return _reply(request_id, KHONG_TON_TAI, message="no citizen has this SoDinhDanh")
        mismatched = []
        if normalised_name(request["HoVaTen"]) != normalised_name(citizen.full_name):
            mismatched.append("HoVaTen")
        if "NgaySinh" in request and request["NgaySinh"] != citizen.birth_date.isoformat():
            mismatched.append("NgaySinh")
        if "SoCMND" in request and request["SoCMND"] != citizen.old_id:
            mismatched.append("SoCMND")
        return _reply(request_id, SAI_LECH if mismatched else KHOP, mismatched)


def _is_text(value: object, shortest: int, longest: int) -> bool:
    return isinstance(value, str) and shortest <= len(value) <= longest


def _broken_rule(request: dict) -> str | None:
    """The first rule of citizen.verify.request/v1 that `request` breaks, or None."""
    unknown = next((key for key in request if key not in REQUEST_FIELDS), None)
    if unknown is not None:
        return f"unknown field {str(unknown)[:100]!r}"
    for field in ("MaYeuCau", "MaDichVu", "MaCanBo"):
        if not _is_text(request.get(field), 1, 64):
            return f"{field} is required: a string of 1 to 64 characters"
    pid = request.get("SoDinhDanh")
    if not isinstance(pid, str):
        return "SoDinhDanh is required: a string of 12 digits"
    if broken := problem(pid):
        return f"SoDinhDanh {broken}"
    if not _is_text(request.get("HoVaTen"), 2, 200):
        return "HoVaTen is required: a string of 2 to 200 characters"
    if "SoCMND" in request and not (isinstance(request["SoCMND"], str) and _OLD_ID.fullmatch(request["SoCMND"])):
        return "SoCMND must be exactly 9 digits"
    if "NgaySinh" in request:
        born = _iso_date(request["NgaySinh"])
        if born is None:
            return "NgaySinh must be a date written YYYY-MM-DD"
        if broken := problem(pid, born):
            return f"SoDinhDanh {broken}"
    return None


def _iso_date(value: object) -> date | None:
    if not (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _reply(request_id: str, outcome: str, mismatched: list[str] | None = None,
           message: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"MaYeuCau": request_id, "KetQua": outcome,
                             "TonTai": outcome in (KHOP, SAI_LECH), "KhopDuLieu": outcome == KHOP}
    if mismatched:
        reply["TruongSaiLech"] = mismatched
    if message:
        reply["ThongBao"] = message[:500]
    return reply
