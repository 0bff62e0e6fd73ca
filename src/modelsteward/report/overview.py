"""The report's overview, taken in at a glance: a one-line verdict per window, a features x
windows heat map of the worst finding per feature, and the performance chart (realized and
estimated with bands and label coverage). Plain HTML and inline SVG, no JavaScript.

    >>> w = {"label": "2026-W02", "status": "ok", "n_rows": 500, "alerts": [],
    ...      "features": [{"feature": "x", "psi": 0.01, "severity": None}]}
    >>> html = overview_section({"windows": [w]})
    >>> "2026-W02" in html and "nothing flagged" in html
    True
"""

from __future__ import annotations

from html import escape
from typing import Any

from modelsteward.report.performance import performance_chart

__all__ = ["overview_section", "verdict"]

_RANK = {"info": 1, "warning": 2, "critical": 3}
_COLOR = {0: "#ffffff", 1: "#dbe9fb", 2: "#ffd8a8", 3: "#f4a6a6"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _worst(alerts: list[dict[str, Any]]) -> str | None:
    best = max((_RANK.get(a.get("severity", ""), 0) for a in alerts), default=0)
    return {v: k for k, v in _RANK.items()}.get(best)


def verdict(window: dict[str, Any]) -> str:
    """One line for one window: what is wrong, worst first, or that nothing is.

    >>> verdict({"status": "too_small", "n_rows": 12, "alerts": []})
    'too small to test (12 rows)'
    """
    status = window.get("status")
    if status == "empty":
        return "no usable rows"
    if status == "too_small":
        return f"too small to test ({window.get('n_rows', 0)} rows)"
    if status == "in_progress":
        return "still open: not checked yet"
    alerts = window.get("alerts") or []
    parts = []
    diag = ((window.get("performance") or {}).get("diagnosis") or {})
    if diag.get("kind") not in (None, "ok"):
        parts.append(str(diag["kind"]).replace("_", " ") + f" ({diag.get('metric')})")
    feats: dict[str, int] = {}
    for a in alerts:
        if a.get("feature"):
            feats[a["feature"]] = max(feats.get(a["feature"], 0),
                                      _RANK.get(a.get("severity", ""), 0))
    flagged = [f for f, r in sorted(feats.items(), key=lambda kv: -kv[1]) if r >= 2]
    if flagged:
        shown = ", ".join(flagged[:4]) + (f" +{len(flagged) - 4}" if len(flagged) > 4 else "")
        parts.append(f"features moved: {shown}")
    if any(a.get("kind") == "concept_drift" and a.get("severity") == "critical"
           for a in alerts):
        parts.append("prediction-outcome correlation fell")
    return "; ".join(parts) if parts else "nothing flagged"


def _heat_map(windows: list[dict[str, Any]]) -> str:
    names: list[str] = []
    for w in windows:
        for f in w.get("features") or []:
            if f.get("feature") not in names:
                names.append(f["feature"])
    if not names:
        return ""
    sev: dict[tuple[str, int], int] = {}
    for i, w in enumerate(windows):
        for a in w.get("alerts") or []:
            if a.get("feature"):
                key = (a["feature"], i)
                sev[key] = max(sev.get(key, 0), _RANK.get(a.get("severity", ""), 0))
    names.sort(key=lambda n: (-max((sev.get((n, i), 0) for i in range(len(windows))),
                                   default=0), n))
    shown = names[:40]
    head = "".join(f'<th title="{_e(w.get("label"))}">{i}</th>' for i, w in enumerate(windows))
    rows = []
    for name in shown:
        cells = []
        for i, w in enumerate(windows):
            fc = next((f for f in w.get("features") or [] if f.get("feature") == name), None)
            level = sev.get((name, i), 0)
            psi = fc.get("psi") if fc else None
            tip = f"{name}, {w.get('label')}: " + (f"PSI {psi:.3f}" if isinstance(psi, float)
                                                   else "not tested")
            cells.append(f'<td style="background:{_COLOR[level]};min-width:14px" '
                         f'title="{_e(tip)}"></td>')
        rows.append(f"<tr><th>{_e(name)}</th>{''.join(cells)}</tr>")
    more = (f'<p class="sub">{len(names) - len(shown)} more features, none worse than those '
            "shown.</p>" if len(names) > len(shown) else "")
    return ('<h3>Drift and degradation per feature (columns: windows; white none, blue info, '
            'orange warning, red critical; hover for PSI)</h3>'
            f"<table><tr><th>feature</th>{head}</tr>{''.join(rows)}</table>{more}")


def overview_section(report: dict[str, Any]) -> str:
    """``<h2>`` Overview: verdicts, heat map, performance chart."""
    windows = report.get("windows") or []
    lines = []
    for w in windows:
        worst = _worst(w.get("alerts") or [])
        badge = f'<span class="b {worst or "ok"}">{_e(worst or "ok")}</span>'
        lines.append(f"<tr><td>{_e(w.get('label'))}</td><td>{badge}</td>"
                     f"<td>{_e(verdict(w))}</td></tr>")
    out = ["<h2 id=overview>Overview</h2>"]
    if lines:
        out.append("<table><tr><th>window</th><th>worst</th><th>verdict</th></tr>"
                   + "".join(lines) + "</table>")
    out.append(_heat_map(windows))
    chart = performance_chart(report)
    if chart:
        out.append(chart)
    return "".join(out)
