"""The report's performance section: realized and estimated performance per window with
their bands, label coverage and the diagnosis, from the plain report dict only.

    >>> html = performance_section({"windows": []})
    >>> "Performance" in html and "not checked" in html
    True
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from modelsteward.report.svg import MUTED, line_chart

__all__ = ["performance_chart", "performance_section"]

_KIND_BADGE = {"ok": "ok", "covariate_shift": "warning", "concept_drift": "critical",
               "performance_drop": "critical", "early_warning": "warning",
               "estimate_not_confirmed": "info"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _n(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.3f}"
    return "–"


def _v(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def _chart(labels: list[str], perfs: list[dict[str, Any] | None], metric: str) -> str:
    def series(key: str) -> list[float | None]:
        out: list[float | None] = []
        for p in perfs:
            c = next((c for c in (p or {}).get("checks", []) if c["metric"] == metric), None)
            out.append(_v(c.get(key)) if c else None)
        return out

    realized, estimated = series("value"), series("estimated")
    lower, upper = series("lower"), series("upper")
    e_lower, e_upper = series("estimated_lower"), series("estimated_upper")
    coverage = [_v((p or {}).get("coverage")) for p in perfs]
    lines = [("band", lower, "#9e9e9e"), ("band upper", upper, MUTED),
             ("est. band", e_lower, "#f4b183"), ("est. band upper", e_upper, MUTED),
             ("estimated", estimated, "#ff7f0e"), ("realized", realized, "#1f77b4")]
    values = [v for _, vs, _ in lines for v in vs if v is not None]
    lo = min(values) if values else 0.0
    hi = max(values) if values else 1.0
    pad = max((hi - lo) * 0.1, 0.01)
    span = (lo - pad, hi + pad)
    # coverage drawn on the metric's scale (0 -> bottom, 100% -> top)
    cov = [span[0] + c * (span[1] - span[0]) if c is not None else None for c in coverage]
    lines.append(("label coverage", cov, "#bdbdbd"))
    return line_chart(labels, lines,
                      title=f"{metric}: realized, estimated before labels, bands at each "
                            "window's size; coverage 0-100%",
                      ymin=span[0], ymax=span[1])


def performance_chart(report: dict[str, Any]) -> str:
    """The chart of the first watched metric ("" when performance was not checked)."""
    windows = report.get("windows") or []
    perfs = [w.get("performance") for w in windows]
    first = next((p for p in perfs if p), None)
    if first is None or not first.get("checks"):
        return ""
    labels = [str(w.get("label", "")) for w in windows]
    return _chart(labels, perfs, str(first["checks"][0]["metric"]))


def performance_section(report: dict[str, Any]) -> str:
    """``<h2>`` Performance: a chart per watched metric and a table of windows."""
    windows = report.get("windows") or []
    perfs = [w.get("performance") for w in windows]
    out = ["<h2 id=performance>Performance: realized, estimated, diagnosis</h2>"]
    if not any(perfs):
        notes = [n for n in report.get("warnings") or [] if "performance" in n]
        why = "; ".join(notes) or ("not checked (the baseline has no performance reference, "
                                   "or the data has no predictions)")
        out.append(f'<p class="sub">{_e(why)}</p>')
        return "".join(out)
    labels = [str(w.get("label", "")) for w in windows]
    first = next(p for p in perfs if p)
    metrics = [c["metric"] for c in first.get("checks", [])]
    for metric in metrics:
        out.append(_chart(labels, perfs, metric))
    out.append(f'<p class="sub">Task {_e(first.get("task"))}. Bands: the held-out split '
               "resampled at each window's size (bootstrap), one-sided level "
               f"{_e(first.get('alpha'))}, widened for the reference's own uncertainty. "
               "Estimated: expected performance from the calibrated probabilities alone "
               "(confidence-based performance estimation); it assumes the concept holds, so "
               "realized below estimated means concept drift, both falling together means "
               "covariate shift.</p>")
    head = "".join(f"<th>{_e(m)} realized</th><th>{_e(m)} estimated</th>" for m in metrics)
    rows = []
    for label, p in zip(labels, perfs, strict=True):
        if not p:
            continue
        d = p.get("diagnosis") or {}
        kind = str(d.get("kind", "ok"))
        badge = f'<span class="b {_KIND_BADGE.get(kind, "none")}">{_e(kind)}</span>'
        cells = ""
        for m in metrics:
            c: dict[str, Any] = next((c for c in p.get("checks", []) if c["metric"] == m), {})
            flag_r = " ▼" if c.get("status") == "drop" else ""
            flag_e = " ▼" if c.get("estimated_status") == "drop" else ""
            cells += (f"<td class=n>{_n(c.get('value'))}{flag_r}</td>"
                      f"<td class=n>{_n(c.get('estimated'))}{flag_e}</td>")
        note = " ".join([str(d.get("summary", "")) if kind != "ok" else "",
                         *[str(n) for n in p.get("notes", [])]]).strip()
        rows.append(f"<tr><td>{_e(label)}</td><td class=n>{_e(p.get('n_labelled'))}</td>"
                    f"<td class=n>{_n(p.get('coverage'))}</td>{cells}<td>{badge}</td>"
                    f"<td>{_e(note)}</td></tr>")
    out.append("<table><tr><th>window</th><th>labelled</th><th>coverage</th>"
               f"{head}<th>diagnosis</th><th>note</th></tr>" + "".join(rows) + "</table>")
    return "".join(out)
