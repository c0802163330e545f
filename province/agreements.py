"""The province's data-sharing agreements, declared when the simulation starts: each consumer of the
bundled connectors receives only the fields it has a purpose for."""

from __future__ import annotations

from typing import Any

from hub.core.deadlines import DOSSIER_TYPES
from hub.operator.kpi.dossiers import INDICATOR_FIELDS
from hub.operator.observer import KPI_CONNECTOR
from province.connectors.dossier_system.connector import ID as DOSSIER_SYSTEM
from province.connectors.dossier_system.connector import POPULATION_DB, VERIFICATION_FIELDS
from province.connectors.ndxp.connector import ID as NDXP
from province.connectors.ndxp.national import NATIONAL_FIELDS

VALID_FROM = "2025-01-01T00:00:00+07:00"


def agreements() -> list[tuple[str, dict[str, Any]]]:
    """(id, terms) of every agreement the province runs under."""
    return [
        ("xac-thuc-cong-dan", {
            "provider": POPULATION_DB, "consumer": DOSSIER_SYSTEM, "types": ["citizen.verify.reply"],
            "fields": list(VERIFICATION_FIELDS),
            "purpose": {"code": "XAC_THUC_CONG_DAN",
                        "text": "Xác thực thông tin công dân khi tiếp nhận hồ sơ thủ tục hành chính"},
            "legal_basis": "Nghị định 47/2020/NĐ-CP về quản lý, kết nối và chia sẻ dữ liệu số của cơ quan nhà "
                           "nước; Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân",
            "valid_from": VALID_FROM}),
        ("dong-bo-ho-so-quoc-gia", {
            "provider": DOSSIER_SYSTEM, "consumer": NDXP, "types": list(DOSSIER_TYPES),
            "fields": list(NATIONAL_FIELDS),
            "purpose": {"code": "DONG_BO_HO_SO_DVC",
                        "text": "Đồng bộ hồ sơ thủ tục hành chính lên Cổng Dịch vụ công quốc gia"},
            "legal_basis": "Nghị định 61/2018/NĐ-CP về thực hiện cơ chế một cửa, một cửa liên thông (sửa đổi bởi "
                           "Nghị định 107/2021/NĐ-CP); Nghị định 47/2020/NĐ-CP",
            "valid_from": VALID_FROM}),
        ("bo-chi-so-lgsp", {
            "provider": DOSSIER_SYSTEM, "consumer": KPI_CONNECTOR, "types": list(DOSSIER_TYPES),
            "fields": list(INDICATOR_FIELDS),
            "purpose": {"code": "THEO_DOI_CHI_SO",
                        "text": "Theo dõi chỉ số giải quyết thủ tục hành chính của tỉnh (không gồm thông tin cá nhân)"},
            "legal_basis": "Nghị định 47/2020/NĐ-CP; Nghị định 13/2023/NĐ-CP (tối thiểu hóa dữ liệu)",
            "valid_from": VALID_FROM}),
    ]
