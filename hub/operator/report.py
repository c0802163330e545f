"""The indicators for people: terminal tables (`lgsp-hub kpi`) and a self-contained HTML report."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from rich.table import Table


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _met(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "not met")


def indicator_rows(connectivity: dict[str, Any], dossiers: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(indicator, value, target, status) — the same rows for the terminal and the report."""
    c = dossiers.get("cumulative") or {}
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


def indicator_tables(connectivity: dict[str, Any], dossiers: dict[str, Any]) -> list[Table]:
    summary = Table("indicator", "value", "target", "status", title="Province indicators")
    for row in indicator_rows(connectivity, dossiers):
        summary.add_row(*row)
    levels = Table("level", "connected", "total", "share", title="Connectivity by level")
    for level in connectivity.get("by_level", []):
        levels.add_row(level["level"], str(level["connected"]), str(level["total"]), _pct(level["share"]))
    late = Table("agency", "code", "completed", "late", "late share", "open late", title="Late dossiers by agency")
    for agency in dossiers.get("late_by_agency", [])[:15]:
        late.add_row(agency["name"], agency["agency"], str(agency["completed"]), str(agency["late"]),
                     _pct(agency["late_share"]), str(agency["open_late"]))
    return [summary, levels, late]


# --- SVG charts, small enough to write by hand and embed -------------------------------------
W, H, PAD = 720, 240, 40


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    return out_low + (value - low) / ((high - low) or 1) * (out_high - out_low)


def svg_line(points: list[tuple[float, float]], target: float | None, title: str) -> str:
    """A share (0..1) over time, with the target as a dashed line."""
    if not points:
        return f"<p>{html.escape(title)}: no samples yet.</p>"
    xs = [x for x, _ in points]
    to_x = lambda x: _scale(x, min(xs), max(xs), PAD, W - PAD)  # noqa: E731
    to_y = lambda y: _scale(y, 0, 1, H - PAD, PAD)  # noqa: E731
    path = " ".join(f"{'M' if i == 0 else 'L'}{to_x(x):.1f},{to_y(y):.1f}" for i, (x, y) in enumerate(points))
    target_line = "" if target is None else (
        f'<line x1="{PAD}" x2="{W - PAD}" y1="{to_y(target):.1f}" y2="{to_y(target):.1f}" class="target"/>'
        f'<text x="{W - PAD}" y="{to_y(target) - 4:.1f}" text-anchor="end">target {_pct(target)}</text>')
    axis = "".join(f'<text x="{PAD - 6}" y="{to_y(v) + 4:.1f}" text-anchor="end">{v:.0%}</text>'
                   for v in (0, 0.5, 1))
    return (f'<figure><figcaption>{html.escape(title)}</figcaption><svg viewBox="0 0 {W} {H}" role="img">'
            f'{axis}{target_line}<path d="{path}" class="series"/></svg></figure>')


def svg_bars(labels: list[str], values: list[float], title: str, percent: bool = False) -> str:
    if not values:
        return f"<p>{html.escape(title)}: no data yet.</p>"
    high = max(max(values), 1e-9)
    width = (W - 2 * PAD) / len(values)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        top = _scale(value, 0, high, H - PAD, PAD)
        shown = _pct(value) if percent else f"{value:g}"
        bars.append(f'<rect x="{PAD + i * width + 1:.1f}" y="{top:.1f}" width="{max(width - 2, 1):.1f}" '
                    f'height="{H - PAD - top:.1f}"><title>{html.escape(label)}: {shown}</title></rect>')
    ticks = "".join(f'<text x="{PAD + i * width + width / 2:.1f}" y="{H - PAD + 14}" text-anchor="middle">'
                    f'{html.escape(label[5:])}</text>' for i, label in enumerate(labels)
                    if i % max(len(labels) // 10, 1) == 0)
    return (f'<figure><figcaption>{html.escape(title)}</figcaption><svg viewBox="0 0 {W} {H}" role="img">'
            f'{"".join(bars)}{ticks}</svg></figure>')


_STYLE = """body{font-family:system-ui,sans-serif;max-width:780px;margin:2rem auto;color:#1d2733}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;margin:1rem 0}
td,th{border-bottom:1px solid #dde3ea;padding:.35rem .5rem;text-align:left}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
svg{width:100%;background:#f7f9fb;font-size:11px}.series{fill:none;stroke:#0b6bcb;stroke-width:2}
.target{stroke:#c0392b;stroke-dasharray:6 4}rect{fill:#0b6bcb}.met{color:#1e8449}.not{color:#c0392b}"""


def render_report(connectivity: dict[str, Any], history: dict[str, Any], dossiers: dict[str, Any]) -> str:
    province = (connectivity.get("province") or {}).get("name", "")
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td>"
        f"<td class=\"{'met' if d == 'met' else 'not' if d else ''}\">{d}</td></tr>"
        for a, b, c, d in indicator_rows(connectivity, dossiers))
    points = [(datetime.fromisoformat(p["at"]).timestamp(), p["share"]) for p in history.get("points", [])]
    daily = dossiers.get("daily", [])
    days = [d["day"] for d in daily]
    charts = [
        svg_line(points, history.get("target"), "Systems connected (share) over the simulated period"),
        svg_bars(days, [d["received"] for d in daily], "Dossiers received per day"),
        svg_bars(days, [d["online_share"] or 0 for d in daily], "Share submitted online per day", percent=True),
        svg_bars(days, [d["late_share"] or 0 for d in daily], "Share of completed dossiers late, per day",
                 percent=True),
        svg_bars(days, [d["signed_share"] or 0 for d in daily], "Share of results digitally signed, per day",
                 percent=True),
    ]
    late = "".join(f"<tr><td>{html.escape(a['name'])}</td><td>{a['agency']}</td><td>{a['late']}</td>"
                   f"<td>{a['completed']}</td><td>{_pct(a['late_share'])}</td></tr>"
                   for a in dossiers.get("late_by_agency", [])[:20])
    written = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (f"<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>LGSP report — {html.escape(province)}"
            f"</title><style>{_STYLE}</style><h1>LGSP indicators — {html.escape(province)}</h1>"
            f"<p>Simulated time {html.escape(str(dossiers.get('as_of') or connectivity.get('as_of') or '—'))}; "
            f"written {written}.</p><table><tr><th>Indicator</th><th>Value</th><th>Target</th><th></th></tr>{rows}"
            f"</table>{''.join(charts)}<h2>Late dossiers by agency</h2><table><tr><th>Agency</th><th>Code</th>"
            f"<th>Late</th><th>Completed</th><th>Late share</th></tr>{late}</table></html>")
