"""`document.sent` and `document.status` payloads as an e-office system writes them (edXML fields of QCVN 102)."""

from __future__ import annotations

from typing import Any

NAMES = {"000.00.01.H22": "Sở Tư pháp", "000.00.02.H22": "Sở Kế hoạch và Đầu tư", "000.00.03.H22": "Sở Xây dựng"}


def organ(code: str) -> dict[str, str]:
    return {"OrganId": code, "OrganName": NAMES.get(code, f"Cơ quan {code}")}


def document_id(sender: str, promulgated: str, number: int) -> str:
    return f"{sender},{promulgated},{number}/UBND-VP"


def sent(sender: str, receivers: list[str], promulgated: str, number: int, paper: int = 0, due: str | None = None,
         kind: int = 0) -> dict[str, Any]:
    """A document of `sender` numbered `number`, promulgated on `promulgated` (yyyy/MM/dd) and sent that day
    at 08:00; `kind` is its BussinessDocType (0 new, 1 revocation, 2 update, 3 replacement)."""
    payload: dict[str, Any] = {
        "From": organ(sender), "To": [organ(code) for code in receivers],
        "Code": {"CodeNumber": str(number), "CodeNotation": "UBND-VP"},
        "PromulgationInfo": {"Place": "Quy Nhơn", "PromulgationDate": promulgated},
        "DocumentType": {"Type": 2, "TypeName": "Công văn"}, "Subject": f"Công văn số {number}",
        "SignerInfo": {"Competence": "KT.", "Position": "Giám đốc", "FullName": "Nguyễn Văn Bình"}, "SteeringType": 0,
        "DocumentId": document_id(sender, promulgated, number),
        "TraceHeaderList": {"TraceHeader": [{"OrganId": sender, "Timestamp": f"{promulgated} 08:00:00"}],
                            "Bussiness": {"BussinessDocType": kind, "Paper": paper}},
    }
    if due is not None:
        payload["DueDate"] = due
    return payload


def status(reporter: str, document: dict[str, Any], code: str, at: str) -> dict[str, Any]:
    """What `reporter`, a receiver of `document` (a sent() payload), says of it at `at` (yyyy/MM/dd HH:mm:ss)."""
    return {"From": organ(reporter),
            "ResponseFor": {"OrganId": document["From"]["OrganId"],
                            "Code": f"{document['Code']['CodeNumber']}/{document['Code']['CodeNotation']}",
                            "PromulgationDate": document["PromulgationInfo"]["PromulgationDate"],
                            "DocumentId": document["DocumentId"]},
            "StatusCode": code, "Timestamp": at}
