"""Sample messages for tests, benchmarks and connector developers."""

from __future__ import annotations

from typing import Any

from hub.core.envelope import Envelope

AGENCY = "000.00.01.H22"  # Bình Định province, Department of Justice style code


def dossier_submitted_payload(counter: int = 1, personal_id: str = "052090001234") -> dict[str, Any]:
    return {
        "MaHoSo": f"{AGENCY}-231115-{counter % 10_000:04d}",
        "MaTTHC": "1.001612",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "HT",
        "TenLinhVuc": "Hộ tịch",
        "ChuHoSo": {"HoVaTen": "Nguyễn Thị Lan", "SoDinhDanh": personal_id, "NgaySinh": "1990-04-12",
                    "GioiTinh": 1, "DiaChi": "Phường Lê Lợi, TP Quy Nhơn, Bình Định"},
        "LoaiDoiTuong": 1,
        "NgayTiepNhan": "2023-11-15T08:30:00+07:00",
        "NgayHenTra": "2023-11-20T17:00:00+07:00",
        "DonViXuLy": AGENCY,
        "KenhThucHien": 2,
        "MucDo": "toan_trinh",
        "TrangThaiHoSo": 2,
    }


def dossier_submitted(source: str = "mot-cua", counter: int = 1, **fields: Any) -> Envelope:
    payload = dossier_submitted_payload(counter)
    return Envelope.new("dossier.submitted", 1, source, payload, key=payload["MaHoSo"], **fields)
