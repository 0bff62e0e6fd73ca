"""Reports of a monitoring run: JSON and one self-contained HTML file.

The report part only reads the plain dict of a ``MonitorReport`` (``to_dict()``), so it
depends on no higher part; the page is built from summaries (bins, per-window figures),
so its size does not grow with the number of rows.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from modelsteward.report.page import render_html

_SECRETISH = re.compile(r"(?i)(passw|secret|token|api[_-]?key|bearer|authorization)")

__all__ = ["finite", "redacted", "render_html", "render_json", "write_report"]


def _as_dict(report: Any) -> dict[str, Any]:
    return report.to_dict() if hasattr(report, "to_dict") else dict(report)


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (valid JSON everywhere)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def redacted(value: Any) -> Any:
    """``value`` with every string passed through :func:`modelsteward.redact.redact_text`:
    a tracking URI or an error text with a password never reaches a report file."""
    from modelsteward.redact import redact_text

    if isinstance(value, str):
        # only texts that can hold a secret: redact_text also masks "basic <word>", which
        # would mangle a category named "basic" in an alert summary
        return redact_text(value) if ("://" in value or _SECRETISH.search(value)) else value
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redacted(v) for v in value]
    return value


def render_json(report: Any) -> str:
    """The report as strict JSON (a NaN from an outside source, e.g. a registry metric,
    becomes null; secrets in URIs and error texts are masked)."""
    return json.dumps(redacted(finite(_as_dict(report))), indent=2, default=str,
                      allow_nan=False)


def write_report(report: Any, out_dir: str | Path, *, stem: str = "report") -> dict[str, Path]:
    """Write ``<stem>.json`` and ``<stem>.html`` into ``out_dir``; returns both paths."""
    from modelsteward.errors import ConfigError

    data = redacted(finite(_as_dict(report)))
    out = Path(out_dir)
    json_path = out / f"{stem}.json"
    html_path = out / f"{stem}.html"
    try:
        out.mkdir(parents=True, exist_ok=True)
        json_path.write_text(render_json(data), encoding="utf-8")
        html_path.write_text(render_html(data), encoding="utf-8")
    except OSError as exc:  # not writable, a file in the way, disk full
        raise ConfigError(f"cannot write the report into {out} ({exc.strerror or exc}); pass "
                          "a directory you can write to") from None
    return {"json": json_path, "html": html_path}
