"""The national portal's field set: what NDXP checks in a dossier event, and its date format.

Inside the hub dates are ISO 8601 with an offset; the national portal wants `yyyyMMddHHmmss` in
Asia/Ho_Chi_Minh. The mapping happens here, at the NDXP edge.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.core.clock import VN_TZ

PORTAL_FORMAT = "%Y%m%d%H%M%S"
DATE_FIELDS = ("NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "ThoiDiem")
REQUIRED = {
    "dossier.submitted": ("MaHoSo", "MaTTHC", "NgayTiepNhan", "NgayHenTra", "TrangThaiHoSo", "DonViXuLy"),
    "dossier.status_changed": ("MaHoSo", "TrangThaiHoSo", "ThoiDiem"),
    "dossier.completed": ("MaHoSo", "TrangThaiHoSo", "NgayKetThucXuLy", "NgayHenTra"),
}

# What the national portal receives of a dossier event (the members of every dossier.* type it syncs): the
# applicant's name and ID, which the national dossier is filed under, but not their birth date, sex or address.
NATIONAL_FIELDS = ("/MaHoSo", "/MaTTHC", "/TenTTHC", "/MaLinhVuc", "/TenLinhVuc", "/LoaiDoiTuong",
                   "/ChuHoSo/HoVaTen", "/ChuHoSo/SoDinhDanh", "/ChuHoSo/MaSoDoanhNghiep", "/NgayTiepNhan",
                   "/NgayHenTra", "/DonViXuLy", "/KenhThucHien", "/MucDo", "/TrangThaiHoSo", "/ThoiDiem", "/GhiChu",
                   "/NgayKetThucXuLy", "/NgayTra", "/SoNgayBoSung", "/SoLanBoSung", "/KetQuaKySo")


def portal_date(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(VN_TZ).strftime(PORTAL_FORMAT)


def to_national(type: str, payload: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The record NDXP stores, and the national rules it breaks (empty when it is accepted)."""
    problems = [f"{name}: required by the national field set" for name in REQUIRED[type] if name not in payload]
    record = dict(payload)
    for name in DATE_FIELDS:
        if name in record:
            try:
                record[name] = portal_date(record[name])
            except (TypeError, ValueError):
                problems.append(f"{name}: not a date-time")
    status = record.get("TrangThaiHoSo")
    if not (isinstance(status, int) and 1 <= status <= 10):
        problems.append("TrangThaiHoSo: must be a national status code 1-10")
    return record, problems
