"""The indicators for people: terminal tables (`lgsp-hub kpi`) and a self-contained HTML report.

The report carries its data as JSON and draws its charts with the dashboard's chart module, inlined: one
chart engine for both pages.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.table import Table


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _met(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "not met")


def indicator_rows(connectivity: dict[str, Any], dossiers: dict[str, Any],
                   documents: dict[str, Any] | None = None) -> list[tuple[str, str, str, str]]:
    """(indicator, value, target, status) — the same rows for the terminal and the report."""
    return [*_dossier_rows(connectivity, dossiers.get("cumulative") or {}),
            *_document_rows((documents or {}).get("cumulative") or {})]


def _dossier_rows(connectivity: dict[str, Any], c: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    late = c.get("late_share")
    return [
        ("Systems connected through the LGSP", f"{_pct(connectivity.get('share'))} "
         f"({connectivity.get('connected')}/{connectivity.get('total')})",
         f"≥ {_pct(connectivity.get('target'))}", _met(connectivity.get("met"))),
        ("Dossiers received", str(c.get("received", 0)), "", ""),
        ("Dossiers submitted online", _pct(c.get("online_share")), f"≥ {_pct(c.get('online_target'))}",
         _met(c.get("online_met"))),
        ("Completed on time / late", f"{c.get('on_time', 0)} / {c.get('late', 0)} (late {_pct(late)})", "", ""),
        ("Open and already late", str(c.get("open_late", 0)), "0", ""),
        ("Results digitally signed", _pct(c.get("signed_share")), _pct(c.get("signed_target")),
         _met(c.get("signed_met"))),
    ]


def _document_rows(c: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        ("Documents exchanged electronically", f"{_pct(c.get('electronic_share'))} "
         f"({c.get('electronic', 0)}/{c.get('documents', 0)})", f"≥ {_pct(c.get('electronic_target'))}",
         _met(c.get("electronic_met"))),
        ("Documents revoked", str(c.get("revoked", 0)), "", ""),
        ("Documents processed on time / late", f"{c.get('on_time', 0)} / {c.get('late', 0)} "
         f"(refused {c.get('refused', 0)})", "", ""),
        ("Documents open past their due date", str(c.get("open_late", 0)), "0", ""),
    ]


def indicator_tables(connectivity: dict[str, Any], dossiers: dict[str, Any],
                     documents: dict[str, Any] | None = None) -> list[Table]:
    summary = Table("indicator", "value", "target", "status", title="Province indicators")
    for row in indicator_rows(connectivity, dossiers, documents):
        summary.add_row(*row)
    levels = Table("level", "connected", "total", "share", title="Connectivity by level")
    for level in connectivity.get("by_level", []):
        levels.add_row(level["level"], str(level["connected"]), str(level["total"]), _pct(level["share"]))
    late = Table("agency", "code", "completed", "late", "late share", "open late", title="Late dossiers by agency")
    for agency in dossiers.get("late_by_agency", [])[:15]:
        late.add_row(agency["name"], agency["agency"], str(agency["completed"]), str(agency["late"]),
                     _pct(agency["late_share"]), str(agency["open_late"]))
    return [summary, levels, late, *_document_tables(documents or {})]


def _document_tables(documents: dict[str, Any]) -> list[Table]:
    months = Table("month", "documents", "electronic", "share", "status",
                   title="Documents sent electronically by month")
    for month in documents.get("monthly", []):
        months.add_row(month["month"], str(month["documents"]), str(month["electronic"]), _pct(month["share"]),
                       _met(month["met"]))
    receivers = Table("agency", "code", "processed", "late", "most days late", "open", "open late",
                      title="Documents processed by receiving agency")
    for agency in documents.get("late_by_agency", [])[:15]:
        receivers.add_row(agency["name"] or "", agency["agency"], str(agency["processed"]), str(agency["late"]),
                          str(agency["days_late_max"]), str(agency["open"]), str(agency["open_late"]))
    return [months, receivers]


# --- HTML report: the dashboard's own chart module draws the charts, inlined ---------------------
DASHBOARD = Path(__file__).resolve().parent / "dashboard"
# None has an import statement (report-charts.js calls the other two), so one inline module holds them all.
INLINED_SCRIPTS = ("format.js", "charts.js", "report-charts.js")
INLINED_STYLES = ("palette.css", "charts.css")
CHARTS = (  # data-chart (what report-charts.js draws in it), caption
    ("connectivity", "Systems connected (share) over the simulated period"),
    ("received", "Dossiers received per day (online inside), late beside"),
    ("online", "Share submitted online per day"),
    ("late", "Share of completed dossiers late, per day"),
    ("signed", "Share of results digitally signed, per day"),
    ("documents", "Share of documents between agencies sent electronically, per month"),
)

_STYLE = """body{font-family:var(--font);max-width:780px;margin:2rem auto;color:var(--ink)}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;margin:1rem 0}
td,th{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
.chart-box{background:var(--line-2)}.met{color:var(--met)}.not{color:var(--notmet)}"""


def _inlined(names: tuple[str, ...]) -> str:
    text = "\n".join((DASHBOARD / name).read_text(encoding="utf-8") for name in names)
    if "</script" in text or "</style" in text:  # would end the inline element early
        raise ValueError(f"{names} cannot be inlined as they are")
    return text


def _json_for_script(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _figure(chart: str, caption: str) -> str:
    return (f'<figure><figcaption>{html.escape(caption)}</figcaption><div class="chart-box">'
            f'<svg class="chart" id="chart-{chart}" data-chart="{chart}" role="img"></svg></div></figure>')


def render_report(connectivity: dict[str, Any], history: dict[str, Any], dossiers: dict[str, Any],
                  documents: dict[str, Any] | None = None) -> str:
    """One self-contained file: the indicator tables, and charts drawn in the browser from the data it carries."""
    documents = documents or {}
    province = (connectivity.get("province") or {}).get("name", "")
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td>"
        f"<td class=\"{'met' if d == 'met' else 'not' if d else ''}\">{d}</td></tr>"
        for a, b, c, d in indicator_rows(connectivity, dossiers, documents))
    cumulative = dossiers.get("cumulative") or {}
    sent = documents.get("cumulative") or {}
    data = {"history": history, "daily": dossiers.get("daily", []), "monthly": documents.get("monthly", []),
            "targets": {"online": cumulative.get("online_target"), "signed": cumulative.get("signed_target"),
                        "documents": sent.get("electronic_target")}}
    late = "".join(f"<tr><td>{html.escape(a['name'] or '')}</td><td>{html.escape(a['agency'])}</td>"
                   f"<td>{a['late']}</td><td>{a['completed']}</td><td>{_pct(a['late_share'])}</td></tr>"
                   for a in dossiers.get("late_by_agency", [])[:20])
    receivers = "".join(f"<tr><td>{html.escape(a['name'] or '')}</td><td>{html.escape(a['agency'])}</td>"
                        f"<td>{a['processed']}</td><td>{a['late']}</td><td>{a['days_late_max']}</td>"
                        f"<td>{a['open_late']}</td></tr>" for a in documents.get("late_by_agency", [])[:20])
    written = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (f"<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>LGSP report — {html.escape(province)}"
            f"</title><style>{_inlined(INLINED_STYLES)}\n{_STYLE}</style>"
            f"<h1>LGSP indicators — {html.escape(province)}</h1>"
            f"<p>Simulated time {html.escape(str(dossiers.get('as_of') or connectivity.get('as_of') or '—'))}; "
            f"written {written}.</p><table><tr><th>Indicator</th><th>Value</th><th>Target</th><th></th></tr>{rows}"
            f"</table>{''.join(_figure(*chart) for chart in CHARTS)}<h2>Late dossiers by agency</h2><table><tr>"
            f"<th>Agency</th><th>Code</th><th>Late</th><th>Completed</th><th>Late share</th></tr>{late}</table>"
            f"<h2>Documents by receiving agency</h2><table><tr><th>Agency</th><th>Code</th><th>Processed</th>"
            f"<th>Late</th><th>Most days late</th><th>Open, overdue</th></tr>{receivers}</table>"
            f'<script type="application/json" id="report-data">{_json_for_script(data)}</script>'
            f'<script type="module">{_inlined(INLINED_SCRIPTS)}</script></html>')
