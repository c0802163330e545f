"""A citizen's disclosures for people: the rows as words in Vietnamese or English (the `lgsp-hub disclosures`
table) and one printable, self-contained HTML page (GET /v1/people/{personal_id}/disclosures/page).

Both read the answer of GET /v1/people/{personal_id}/disclosures, so the terminal, the page and the JSON
never disagree. Times are shown in Vietnam's time, the zone the citizen reads them in.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from hub.core.clock import VN_TZ

Lang = Literal["vi", "en"]

COLUMNS = ("when", "agency", "system", "fields", "agreement", "purpose", "legal_basis")

LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Thông báo về việc chia sẻ dữ liệu cá nhân",
        "intro": "Mỗi dòng là một lần hệ thống LGSP chuyển cho một cơ quan thông điệp có số định danh cá nhân "
                 "dưới đây: khi nào, cơ quan và hệ thống nào nhận, những trường dữ liệu nào, theo thỏa thuận, "
                 "mục đích và căn cứ pháp lý nào (Nghị định 13/2023/NĐ-CP).",
        "personal_id": "Số định danh cá nhân", "made": "Ngày lập", "zone": "Giờ Việt Nam (UTC+7)",
        "count": "{rows} lần chia sẻ, từ {messages} thông điệp",
        "none": "Không có lần chia sẻ nào được ghi nhận.",
        "when": "Thời gian (giờ Việt Nam)", "agency": "Cơ quan nhận", "system": "Hệ thống nhận",
        "fields": "Trường dữ liệu",
        "agreement": "Thỏa thuận", "purpose": "Mục đích", "legal_basis": "Căn cứ pháp lý",
        "whole": "toàn bộ thông điệp (quyền theo loại thông điệp, không có thỏa thuận)",
        "version": "phiên bản", "unknown": "—",
    },
    "en": {
        "title": "Disclosures of personal data",
        "intro": "Each row is one delivery by the LGSP hub, to an agency, of a message carrying the personal ID "
                 "below: when, which agency and system received it, which fields, under which agreement, purpose "
                 "and legal basis (Decree 13/2023/NĐ-CP).",
        "personal_id": "Personal ID", "made": "Made on", "zone": "Vietnam time (UTC+7)",
        "count": "{rows} deliveries, of {messages} messages",
        "none": "No delivery is recorded.",
        "when": "When (Vietnam time)", "agency": "Agency", "system": "System", "fields": "Fields",
        "agreement": "Agreement", "purpose": "Purpose", "legal_basis": "Legal basis",
        "whole": "whole message (type grant, no agreement)",
        "version": "version", "unknown": "—",
    },
}

_TIME = {"vi": "%d/%m/%Y %H:%M:%S", "en": "%Y-%m-%d %H:%M:%S"}


def vietnam_time(at: str | datetime, lang: Lang) -> str:
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(VN_TZ).strftime(_TIME[lang])


def _agency(code: str | None, agencies: Mapping[str, str]) -> str | None:
    """The agency's name where the inventory knows it, with its code: a citizen reads names."""
    if code is None or code not in agencies:
        return code
    return f"{agencies[code]} ({code})"


def shown_row(row: Mapping[str, Any], lang: Lang, agencies: Mapping[str, str]) -> dict[str, str]:
    """One delivery as words, one per column of COLUMNS."""
    words, agreement = LABELS[lang], row.get("agreement")
    purpose = agreement and agreement.get("purpose")
    return {
        "when": vietnam_time(row["at"], lang),
        "agency": _agency(row.get("agency"), agencies) or words["unknown"],
        "system": " — ".join(filter(None, (row.get("system"), row.get("consumer")))) or words["unknown"],
        "fields": words["whole"] if row.get("fields") is None else ", ".join(row["fields"]),
        "agreement": (f"{agreement['id']} ({words['version']} {agreement['version']})" if agreement
                      else words["unknown"]),
        "purpose": f"{purpose['text']} ({purpose['code']})" if purpose else words["unknown"],
        "legal_basis": (agreement and agreement.get("legal_basis")) or words["unknown"],
    }


def shown_rows(report: Mapping[str, Any], lang: Lang,
               agencies: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    return [shown_row(row, lang, agencies or {}) for row in report["disclosures"]]


_STYLE = """body{font-family:system-ui,"Segoe UI","Noto Sans",sans-serif;color:#1a1a1a;max-width:1100px;
margin:2rem auto;padding:0 1rem;line-height:1.4}
h1{font-size:1.4rem;margin-bottom:.5rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0}table{border-collapse:collapse;width:100%;margin-top:1rem;font-size:.9rem}
th,td{border:1px solid #bbb;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#eef1f5}tbody tr:nth-child(even){background:#f8f9fb}.whole{font-style:italic}
@media print{@page{size:A4 landscape;margin:12mm}body{margin:0;max-width:none;font-size:10pt}
th{background:#eee !important;-webkit-print-color-adjust:exact;print-color-adjust:exact}
thead{display:table-header-group}tr{break-inside:avoid}}"""


def _cell(column: str, text: str, whole: str) -> str:
    css = ' class="whole"' if column == "fields" and text == whole else ""
    return f'<td data-column="{column}"{css}>{html.escape(text)}</td>'


def _table(rows: list[dict[str, str]], words: Mapping[str, str]) -> str:
    if not rows:
        return f'<p class="none">{html.escape(words["none"])}</p>'
    head = "".join(f'<th scope="col">{html.escape(words[column])}</th>' for column in COLUMNS)
    body = "".join("<tr>" + "".join(_cell(column, row[column], words["whole"]) for column in COLUMNS) + "</tr>"
                   for row in rows)
    return f'<table id="disclosures"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_page(report: Mapping[str, Any], lang: Lang = "vi", agencies: Mapping[str, str] | None = None,
                made: datetime | None = None) -> str:
    """The printable page: no script, no outside resource, so it prints (and is kept) as it is."""
    words = LABELS[lang]
    rows = shown_rows(report, lang, agencies)
    made_on = vietnam_time(made or datetime.now(VN_TZ), lang)
    count = words["count"].format(rows=len(rows), messages=report.get("messages", len(rows)))
    e = html.escape
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="referrer" content="no-referrer"><title>{e(words["title"])}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{e(words['title'])}</h1><p>{e(words['intro'])}</p><dl>"
            f'<dt>{e(words["personal_id"])}</dt><dd id="personal-id">{e(str(report["personal_id"]))}</dd>'
            f'<dt>{e(words["made"])}</dt><dd id="made">{e(made_on)} — {e(words["zone"])}</dd></dl>'
            f'<p id="count">{e(count)}</p>{_table(rows, words)}</body></html>')
