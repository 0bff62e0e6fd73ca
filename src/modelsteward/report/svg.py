"""Tiny inline-SVG charts (no JavaScript, no external files); every string is escaped.

    >>> svg = bar_chart(["a", "<b>"], [("ref", [0.5, 0.5], "#888")], title="t")
    >>> svg.startswith("<svg") and "&lt;b&gt;" in svg and "<b>" not in svg
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["MUTED", "PALETTE", "bar_chart", "line_chart", "sparkline"]

MUTED = "#d0d0d0"  # series drawn without a legend entry
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f"]


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]], *,
              title: str = "", width: int = 560, height: int = 220) -> str:
    """Grouped bars: one group per label, one bar per series (e.g. reference vs current)."""
    left, right, top, bottom = 44, 10, 40, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = max([max(vals, default=0.0) for _, vals, _ in series] + [1e-9])
    n = max(len(labels), 1)
    group = plot_w / n
    bar = group * 0.8 / max(len(series), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
             f'<title>{_e(title)}</title>',
             f'<text x="{left}" y="15" class="ct">{_e(title)}</text>']
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" class="ax" text-anchor="end">'
                     f'{_fmt(vmax * frac)}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group + group * 0.1
        for j, (name, vals, color) in enumerate(series):
            v = float(vals[i]) if i < len(vals) else 0.0
            h = plot_h * v / vmax
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{_e(color)}"><title>{_e(name)} {_e(label)}: '
                f'{v:.3f}</title></rect>')
        cx = left + i * group + group / 2
        parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 12}" class="ax" text-anchor="end" '
                     f'transform="rotate(-35 {cx:.1f} {top + plot_h + 12})">'
                     f'{_e(label[:18])}</text>')
    for j, (name, _, color) in enumerate(series):
        x = left + j * 110
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{_e(color)}"/>'
                     f'<text x="{x + 14}" y="31" class="ax">{_e(name[:16])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], str]],
               *, title: str = "", hlines: Sequence[tuple[float, str, str]] = (),
               width: int = 720, height: int = 260, ymin: float | None = 0.0,
               ymax: float | None = None) -> str:
    """Lines over windows; ``None`` values leave gaps; ``hlines`` = (y, label, color)."""
    left, right, top, bottom = 70, 110, 42, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vals, _ in series for v in vals if v is not None]
    values += [y for y, _, _ in hlines]
    lo = ymin if ymin is not None else (min(values) if values else 0.0)
    hi = ymax if ymax is not None else (max(values) if values else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    n = max(len(x_labels), 1)

    def px(i: int) -> float:
        return left + (plot_w * (i / (n - 1)) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
             f'<title>{_e(title)}</title>',
             f'<text x="{left}" y="15" class="ct">{_e(title)}</text>']
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        tick = lo + (hi - lo) * frac
        y = py(tick)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" class="ax" text-anchor="end">'
                     f'{_fmt(tick)}</text>')
    step = max(1, n // 12)
    for i, label in enumerate(x_labels):
        if i % step:
            continue
        x = px(i)
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 12}" class="ax" text-anchor="end" '
                     f'transform="rotate(-35 {x:.1f} {top + plot_h + 12})">{_e(label)}</text>')
    for y, label, color in hlines:
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
                     f'stroke="{_e(color)}" stroke-dasharray="5,4"/>'
                     f'<text x="{left + plot_w + 4}" y="{py(y) + 4:.1f}" class="ax" '
                     f'fill="{_e(color)}">{_e(label)}</text>')
    for name, vals, color in series:
        segs: list[list[str]] = [[]]
        for i, v in enumerate(vals):
            if v is None:
                segs.append([])
                continue
            segs[-1].append(f"{px(i):.1f},{py(float(v)):.1f}")
        for seg in segs:
            if len(seg) > 1:
                parts.append(f'<polyline fill="none" stroke="{_e(color)}" stroke-width="1.8" '
                             f'points="{" ".join(seg)}"><title>{_e(name)}</title></polyline>')
        for i, v in enumerate(vals):
            if v is not None:
                parts.append(f'<circle cx="{px(i):.1f}" cy="{py(float(v)):.1f}" r="2.5" '
                             f'fill="{_e(color)}"><title>{_e(name)} {_e(x_labels[i])}: '
                             f'{float(v):.3f}</title></circle>')

    legend = [(name, color) for name, _, color in series if color != MUTED][:8]
    for k, (name, color) in enumerate(legend):
        x = left + k * 110
        parts.append(f'<rect x="{x}" y="26" width="10" height="3" fill="{_e(color)}"/>'
                     f'<text x="{x + 14}" y="31" class="ax">{_e(name[:16])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float | None], *, width: int = 90, height: int = 18,
              vmax: float | None = None, color: str = "#1f77b4") -> str:
    """A small trend line for table cells."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return ""
    hi = vmax if vmax is not None else max(vals)
    hi = hi if hi > 0 else 1.0
    n = len(values)
    pts = [f"{i * (width - 2) / (n - 1) + 1:.1f},{height - 1 - (height - 2) * min(v, hi) / hi:.1f}"
           for i, v in enumerate(values) if v is not None]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'aria-hidden="true"><polyline fill="none" stroke="{_e(color)}" stroke-width="1.3" '
            f'points="{" ".join(pts)}"/></svg>')
