"""One self-contained HTML file from a monitor report dict: the overview first (heat map,
performance chart, one verdict per window), then the alerts, each folded in a ``<details>``
element whose one-line summary stays visible (no JavaScript), the silences and
acknowledgements (never folded), the model version, features worst first, distributions of
flagged features, PSI over windows and the concept-drift panel. Inline CSS and SVG only; a
Content-Security-Policy forbids scripts and network loads; every user-supplied string is
escaped.

    >>> page = render_html({"model": {"name": "<m>", "version": "1"}, "windows": []})
    >>> "&lt;m&gt;" in page and "<m>" not in page
    True
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from modelsteward.report.overview import overview_section
from modelsteward.report.performance import performance_section
from modelsteward.report.svg import MUTED, PALETTE, bar_chart, line_chart, sparkline

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}main{max-width:1100px;margin:0 auto;padding:18px 24px 60px}
h1{font-size:22px;margin:6px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;
padding-bottom:4px}h3{font-size:14px;margin:16px 0 4px}.sub{color:#666}
table{border-collapse:collapse;margin:6px 0;background:#fff}td,th{border:1px solid #e1e1e1;
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f1f1f1}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.b{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;color:#fff}
.critical{background:#c62828}.warning{background:#ef6c00}.info{background:#1565c0}
.none{background:#9e9e9e}.ok{background:#2e7d32}
.alert{background:#fff;border-left:4px solid #999;padding:6px 10px;margin:6px 0}
.alert.critical{border-color:#c62828;background:#fff5f5}.alert.warning{border-color:#ef6c00;
background:#fffaf2}.alert.info{border-color:#1565c0;background:#f5f9ff}
details.alert>summary{cursor:pointer}details.alert[open]>summary{margin-bottom:4px}
.ev{margin:2px 0 2px 12px}svg{background:#fff;margin:4px 0}.ct{font-size:13px;font-weight:600}
.ax{font-size:10px;fill:#555}
.nochart{width:560px;background:#fff;padding:4px 8px}.grid{stroke:#eee}
.grid2{display:flex;flex-wrap:wrap;gap:8px}
pre{white-space:pre-wrap;margin:0}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return _e(value)


def _badge(severity: str | None) -> str:
    sev = severity or "none"
    css = sev if sev in ("critical", "warning", "info", "ok") else "none"
    return f'<span class="b {css}">{_e(sev)}</span>'


def _kv_table(data: Any, depth: int = 0) -> str:
    if depth > 8:  # a hand-edited report.json: no recursion without end
        return _e(json.dumps(data, default=str)[:200]) if depth < 50 else "…"
    if isinstance(data, dict):
        if not data:
            return '<span class="sub">none</span>'
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_kv_table(v, depth + 1)}</td></tr>"
                       for k, v in data.items())
        return f"<table>{rows}</table>"
    if isinstance(data, list):
        return "<br>".join(_kv_table(v, depth + 1) for v in data) or '<span class="sub">none</span>'
    if isinstance(data, float):
        return _num(data, 4)
    return _e(data)


def _open_alert_summary(a: dict[str, Any]) -> str:
    """The visible line of an open alert: ``f2: distribution since 2026-W05``."""
    what = a.get("feature") or a.get("kind") or a.get("key") or "alert"
    kind = str(a.get("alert_type") or "").replace("_", " ")
    since = a.get("since_window")
    return f"{what}: {kind}" + (f" since {since}" if since else "")


def _alerts_section(report: dict[str, Any]) -> str:
    """Open alerts and the timeline of messages sent; each item is a ``<details>`` whose
    summary (severity, what, window) is visible and whose long text is folded."""
    out = ["<h2 id=alerts>Alerts</h2>"]
    open_alerts = report.get("open_alerts") or []
    notes = report.get("notifications") or []
    if not open_alerts and not notes:
        out.append('<p><span class="b ok">ok</span> No alert reached the notification '
                   "threshold in any window.</p>")
    else:
        out.append(f'<p class="sub">{len(open_alerts)} alert(s) open at the last tested window'
                   f" · {len(notes)} message(s) sent · open an item for its full text.</p>")
    if open_alerts:
        out.append(f"<h3>Open at the last tested window ({len(open_alerts)})</h3>")
        for a in open_alerts:
            out.append(f'<details class="alert {_e(a["severity"])}"><summary>'
                       f'{_badge(a["severity"])} {_e(_open_alert_summary(a))}</summary>'
                       f'<div class="ev">{_e(a["message"])}</div></details>')
    if notes:
        out.append(f"<h3>Timeline: what was sent ({len(notes)} message(s))</h3>")
        for n in notes:
            events = "".join(f'<div class="ev">{_e(ev["text"])}</div>' for ev in n["events"])
            still = (f'<div class="ev sub">{int(n["still_open"])} earlier alert(s) still open'
                     "</div>" if n.get("still_open") else "")
            out.append(f'<details class="alert {_e(n["severity"])}"><summary><b>'
                       f'{_e(n["window_label"])}</b> {_badge(n["severity"])} {_e(n["title"])}'
                       f"</summary>{events}{still}</details>")
    failures = report.get("sink_failures") or []
    if failures:
        rows = "".join(
            f"<tr><td>{_e(f['sink'])}</td><td>{_e(f['window_label'])}</td><td>{_e(f['error'])}"
            f"</td><td class=n>{_e(f['attempts'])}</td>"
            f"<td>{'yes' if f['delivered_later'] else 'no'}</td></tr>" for f in failures)
        out.append("<h3>Sink failures</h3><table><tr><th>sink</th><th>window</th><th>error</th>"
                   f"<th>attempts</th><th>delivered later</th></tr>{rows}</table>")
    if report.get("undelivered"):
        where = (f"kept in the outbox <code>{_e(report['outbox'])}</code> and retried first on "
                 "the next run, and in report.json under <code>undelivered</code>"
                 if report.get("outbox") else "kept in report.json under <code>undelivered"
                 "</code>")
        out.append(f"<p><b>{len(report['undelivered'])} notification(s) not delivered</b>; "
                   f"{where}.</p>")
    return "".join(out)


def _people_section(report: dict[str, Any]) -> str:
    """Silences and acknowledgements recorded in the state store: who, when, why, until."""
    state = report.get("state") or {}
    silences, acks = state.get("silences") or [], state.get("acks") or []
    if not silences and not acks:
        return ""
    out = ["<h2 id=people>Silences and acknowledgements</h2>"]
    if silences:
        rows = "".join(
            f"<tr><td>{_e(s.get('feature'))}</td><td>{_e(s.get('until'))}</td>"
            f"<td>{_e(s.get('created_by'))}</td><td>{_e(s.get('created_at'))}</td>"
            f"<td>{_e(s.get('reason'))}</td></tr>" for s in silences)
        out.append("<h3>Silenced features (alerts shown here, not sent)</h3><table><tr>"
                   "<th>feature</th><th>until</th><th>by</th><th>when</th><th>reason</th>"
                   f"</tr>{rows}</table>")
    if acks:
        rows = "".join(
            f"<tr><td class=n>{_e(a.get('id'))}</td><td>{_e(a.get('alert_key'))}</td>"
            f"<td>{_badge(a.get('ack_severity'))}</td><td>{_e(a.get('opened_label'))}</td>"
            f"<td>{_e(a.get('ack_by'))}</td><td>{_e(a.get('ack_at'))}</td>"
            f"<td>{_e(a.get('ack_reason'))}</td></tr>" for a in acks)
        out.append("<h3>Acknowledged episodes (no reminders until the severity rises)</h3>"
                   "<table><tr><th>episode</th><th>alert</th><th>acknowledged at</th>"
                   "<th>open since</th><th>by</th><th>when</th><th>reason</th></tr>"
                   f"{rows}</table>")
    return "".join(out)


def _skipped_text(summary: dict[str, Any]) -> str:
    """`` · 12 rows skipped: non-finite outcome`` for the intro line ('' when none)."""
    skipped = summary.get("skipped_rows") or {}
    if not isinstance(skipped, dict) or not skipped:
        return ""
    parts = [f"{_e(n)} rows skipped: {_e(reason)}" for reason, n in skipped.items()]
    return " · " + "; ".join(parts)


def _model_section(report: dict[str, Any]) -> str:
    model = report.get("model") or {}
    desc = report.get("description")
    out = ["<h2 id=model>Model version</h2>",
           f"<p>{_e(model.get('name'))} version <b>{_e(model.get('version'))}</b>, stage "
           f"{_e(model.get('stage'))}"
           + (f", training run {_e(model.get('run_id'))}" if model.get("run_id") else "")
           + "</p>"]
    if not desc:
        out.append('<p class="sub">No registry description (baseline given directly).</p>')
        return "".join(out)
    questions = [
        ("What hyperparameters was it trained with?", ("params", "hyperparameters")),
        ("What version of the training data did it use?",
         ("data_digest", "data_source", "mlflow_dataset_digest", "data")),
        ("How did it perform on the evaluation set?", ("metrics",)),
        ("When was it last trained, registered and promoted?",
         ("trained_at", "registered_at", "promoted_at", "promoted_by", "promotion_reason")),
    ]
    used: set[str] = set()
    for question, keys in questions:
        found = {k: desc[k] for k in keys if k in desc}
        used |= set(found)
        out.append(f"<h3>{_e(question)}</h3>{_kv_table(found)}")
    rest = {k: v for k, v in desc.items() if k not in used}
    if rest:
        out.append(f"<h3>More</h3>{_kv_table(rest)}")
    return "".join(out)


def _psi_series(report: dict[str, Any]) -> tuple[list[str], dict[str, list[float | None]]]:
    windows = report.get("windows") or []
    labels = [w["label"] for w in windows]
    series: dict[str, list[float | None]] = {}
    for i, w in enumerate(windows):
        for f in w.get("features", []):
            series.setdefault(f["feature"], [None] * len(windows))[i] = f.get("psi")
    return labels, series


def _feature_section(report: dict[str, Any]) -> str:
    table = report.get("feature_table") or []
    _, series = _psi_series(report)
    crit = _threshold(report, "psi_critical", 0.2)
    rows = []
    for r in table:
        vmax = max(crit * 1.5, r["max_psi"] or 0.0)
        rows.append(
            f"<tr><td>{_e(r['feature'])}</td><td>{_e(r['kind'])}</td>"
            f"<td>{_badge(r['worst_severity'])}</td><td class=n>{_num(r['max_psi'])}</td>"
            f"<td class=n>{_num(r['last_psi'])}</td>"
            f"<td>{sparkline(series.get(r['feature'], []), vmax=vmax)}</td>"
            f"<td class=n>{_num(r['min_p_value'])}</td>"
            f"<td class=n>{r['max_null_rate']:.1%}</td><td>{_e(r['first_flagged'] or '')}</td>"
            f"<td>{_e(', '.join(r['alert_types']))}</td></tr>")
    return ("<h2 id=features>Features, worst first</h2><table><tr><th>feature</th><th>kind</th>"
            "<th>worst</th><th>max PSI</th><th>last PSI</th><th>PSI over windows</th>"
            "<th>min p</th><th>max null rate</th><th>first flagged</th><th>alerts</th></tr>"
            + "".join(rows) + "</table>")


def _threshold(report: dict[str, Any], name: str, default: float) -> float:
    try:
        return float(report["policy"]["thresholds"][name]["value"])
    except (KeyError, TypeError, ValueError):
        return default


def _distribution_section(report: dict[str, Any]) -> str:
    ref = (report.get("reference") or {}).get("features") or {}
    flagged = [r["feature"] for r in report.get("feature_table") or []
               if r["worst_severity"] in ("warning", "critical")]
    out = ["<h2 id=distributions>Reference vs current, flagged features</h2>"]
    if not flagged:
        out.append('<p class="sub">No feature reached warning.</p>')
        return "".join(out)
    charts = []
    for name in flagged[:24]:
        info = ref.get(name) or {}
        rank = {"critical": 3, "warning": 2, "info": 1}
        best: tuple[int, float] = (-1, -1.0)
        worst_w, current, null_rate = None, None, 0.0
        for w in report.get("windows") or []:
            for f in w.get("features", []):
                if f["feature"] != name:
                    continue
                key = (rank.get(f.get("severity") or "", 0), f.get("psi") or 0.0)
                if key > best:
                    best, worst_w = key, w["label"]
                    current, null_rate = f.get("current"), f.get("null_rate", 0.0)
        if info.get("bins") is None or current is None:
            why = (f"no non-null value in window {worst_w} (null rate {null_rate:.0%})"
                   if worst_w else "no binned summary")
            charts.append(f'<div class="nochart"><h3>{_e(name)}</h3><p class="sub">{_e(why)}'
                          "</p></div>")
            continue
        charts.append(bar_chart(info["bins"], [("reference", info["reference"], "#9e9e9e"),
                                               (f"{worst_w}", current, "#d62728")],
                                title=f"{name}: share per reference bin, window {worst_w}"))
    out.append('<div class="grid2">' + "".join(charts) + "</div>")
    return "".join(out)


def _psi_section(report: dict[str, Any]) -> str:
    labels, series = _psi_series(report)
    warn = _threshold(report, "psi_warning", 0.1)
    crit = _threshold(report, "psi_critical", 0.2)
    table = report.get("feature_table") or []
    flagged = [r["feature"] for r in table if r["worst_severity"] in ("warning", "critical")]
    others = [r["feature"] for r in table if r["feature"] not in flagged]
    lines: list[tuple[str, list[float | None], str]] = []
    for i, name in enumerate(flagged[:10]):
        lines.append((name, series.get(name, []), PALETTE[i % len(PALETTE)]))
    for name in others:
        lines.append((name, series.get(name, []), MUTED))
    lines.reverse()  # flagged drawn last, on top
    top = max([v for _, vals, _ in lines for v in vals if v is not None] + [crit * 1.5])
    chart = line_chart(labels, lines, title="PSI per feature over windows (grey: not flagged)",
                       hlines=[(warn, f"warning {warn:g}", "#ef6c00"),
                               (crit, f"critical {crit:g}", "#c62828")],
                       ymax=min(top, max(crit * 4, 1.0)))
    return f"<h2 id=psi>PSI over windows</h2>{chart}"


def _concept_section(report: dict[str, Any]) -> str:
    windows = report.get("windows") or []
    concepts = [(w["label"], w.get("concept")) for w in windows]
    out = ["<h2 id=concept>Concept drift: prediction-outcome correlation</h2>"]
    if not any(c for _, c in concepts):
        notes = [n for n in report.get("warnings") or [] if "concept" in n]
        out.append(f'<p class="sub">{_e("; ".join(notes) or "not checked")}</p>')
        return "".join(out)
    labels = [lbl for lbl, _ in concepts]
    corr = [c.get("correlation") if c else None for _, c in concepts]
    cov = [c.get("coverage") if c else None for _, c in concepts]
    ref = next(c["reference_correlation"] for _, c in concepts if c)
    min_drop = next(c["min_drop"] for _, c in concepts if c)
    out.append(line_chart(labels, [("correlation", corr, "#1f77b4"),
                                   ("label coverage", cov, "#9e9e9e")],
                          title="correlation (blue) and share of predictions with an outcome",
                          hlines=[(ref, f"reference {ref:.2f}", "#2e7d32"),
                                  (ref - min_drop, "ref - min_drop", "#c62828")],
                          ymin=min([0.0, *[v for v in corr if v is not None]]), ymax=1.0))
    ref_info = (report.get("reference") or {}).get("concept") or {}
    if ref_info:
        perf = ", ".join(f"{_e(k)} {_num(v)}" for k, v in (ref_info.get("metrics") or {}).items())
        out.append(f'<p class="sub">Reference: correlation {_num(ref_info.get("correlation"))} '
                   f'on {_e(ref_info.get("n"))} held-out rows ({_e(ref_info.get("task"))})'
                   + (f"; {perf}" if perf else "") + ". Each window is tested against it "
                   "(one-sided Fisher z), on labelled rows only.</p>")
    metric_names: list[str] = []
    for _, c in concepts:
        for k in (c or {}).get("performance", {}):
            if k not in metric_names:
                metric_names.append(k)
    head = "".join(f"<th>{_e(k)}</th>" for k in metric_names)
    rows = []
    for label, c in concepts:
        if not c:
            continue
        status = c["status"]
        badge = _badge({"drifted": "critical", "ok": "ok"}.get(status, "none")).replace(
            ">critical<", ">drifted<").replace(">none<", f">{_e(status)}<")
        perf = "".join(f"<td class=n>{_num(c['performance'].get(k))}</td>" for k in metric_names)
        rows.append(f"<tr><td>{_e(label)}</td><td class=n>{c['n']}</td><td class=n>"
                    f"{c['coverage']:.0%}</td><td class=n>{_num(c['correlation'])}</td>"
                    f"<td class=n>{_num(c['drop'])}</td><td class=n>{_num(c['p_value'])}</td>"
                    f"<td>{badge}</td>{perf}<td>{_e(c.get('reason', ''))}</td></tr>")
    out.append("<table><tr><th>window</th><th>labelled</th><th>coverage</th><th>correlation</th>"
               f"<th>drop</th><th>p (Fisher z)</th><th>status</th>{head}<th>note</th></tr>"
               + "".join(rows) + "</table>")
    return "".join(out)


def _multivariate_section(report: dict[str, Any]) -> str:
    """Reconstruction error over windows with each window's no-change band; classifier table."""
    windows = [w for w in report.get("windows") or [] if w.get("multivariate")]
    if not windows:
        return ""
    labels = [w["label"] for w in windows]
    rec = [next((r for r in w["multivariate"] if r["method"] == "reconstruction"), None)
           for w in windows]
    series = [("band upper", [r["upper"] if r else None for r in rec], "#9e9e9e"),
              ("band lower", [r["lower"] if r else None for r in rec], MUTED),
              ("mean error", [r["statistic"] if r else None for r in rec], "#1f77b4")]
    vals = [v for _, vs, _ in series for v in vs if v is not None]
    out = ["<h2 id=multivariate>Multivariate drift: features moving together</h2>",
           line_chart(labels, series, title="mean PCA reconstruction error (blue) and the "
                      "no-change band for each window's size (grey)",
                      ymin=min(vals) * 0.95 if vals else 0.0,
                      ymax=max(vals) * 1.05 if vals else 1.0)]
    rows = []
    for w in windows:
        for r in w["multivariate"]:
            top = ", ".join(f"{_e(t['feature'])} ({_num(t['score'])})" for t in r["top_features"])
            band = f"[{_num(r['lower'])}, {_num(r['upper'])}]"
            rows.append(f"<tr><td>{_e(w['label'])}</td><td>{_e(r['method'])}</td><td class=n>"
                        f"{r['n']}</td><td class=n>{_num(r['statistic'])}</td><td class=n>"
                        f"{band}</td><td class=n>{_num(r.get('p_value'))}</td><td>"
                        f"{_badge('warning' if r['is_drifted'] else 'ok')}</td><td>{top}</td></tr>")
    out.append('<p class="sub">Reconstruction: mean squared error of a PCA fitted on the '
               "reference, against a bootstrap band at the window's row count. Classifier: "
               "cross-validated AUC of a model telling reference rows from the window (band: "
               "0.5 to the critical AUC). Features: largest error increase / permutation "
               "importance.</p>")
    out.append("<table><tr><th>window</th><th>check</th><th>rows</th><th>statistic</th>"
               "<th>band</th><th>p</th><th>status</th><th>features that moved</th></tr>"
               + "".join(rows) + "</table>")
    return "".join(out)


def _windows_section(report: dict[str, Any]) -> str:
    rows = []
    for w in report.get("windows") or []:
        sev = max((a["severity"] for a in w.get("alerts", [])),
                  key=lambda s: ("info", "warning", "critical").index(s), default=None)
        rows.append(f"<tr><td>{_e(w['label'])}</td><td>{_e((w.get('start') or '')[:16])}</td>"
                    f"<td class=n>{_e(w['n_rows'])}</td><td>{_e(w['status'])}</td>"
                    f"<td>{_badge(sev) if sev else ''}</td><td class=n>{len(w.get('alerts', []))}"
                    f"</td><td>{_e(' '.join(w.get('notes', [])))}</td></tr>")
    return ("<h2 id=windows>Windows</h2><table><tr><th>window</th><th>start</th><th>rows</th>"
            "<th>status</th><th>worst</th><th>alerts</th><th>notes</th></tr>"
            + "".join(rows) + "</table>")


def _policy_section(report: dict[str, Any]) -> str:
    pol = report.get("policy") or {}
    rows = "".join(f"<tr><td>{_e(k)}</td><td class=n>{_e(t.get('value'))}</td>"
                   f"<td>{_e(t.get('source'))}</td><td>{_e(t.get('meaning'))}</td></tr>"
                   for k, t in (pol.get("thresholds") or {}).items())
    warn = "".join(f"<li>{_e(w)}</li>" for w in report.get("warnings") or [])
    return (f"<h2 id=policy>Policy {_e(pol.get('name', ''))}</h2><table><tr><th>threshold</th>"
            f"<th>value</th><th>source</th><th>meaning</th></tr>{rows}</table>"
            + (f"<h3>Warnings</h3><ul>{warn}</ul>" if warn else ""))


def render_html(report: dict[str, Any]) -> str:
    """The report page as one string (no external resources)."""
    model = report.get("model") or {}
    summary = report.get("summary") or {}
    counts = summary.get("alerts_by_severity") or {}
    title = f"{model.get('name', '')} {model.get('version', '')}: monitoring report"
    head = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:; script-src 'none'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
    )
    intro = (
        f"<h1>{_e(model.get('name'))} <span class=sub>version {_e(model.get('version'))} · "
        f"{_e(model.get('stage'))}</span></h1>"
        f"<p class=sub>Generated {_e(report.get('created_at'))} · windows: "
        f"{_e(report.get('window'))} ({_e(report.get('tz'))}) · "
        f"{_e(summary.get('windows', 0))} windows, {_e(summary.get('rows', 0))} rows · policy "
        f"{_e((report.get('policy') or {}).get('name'))} · findings over all windows: "
        f"{_e(counts.get('critical', 0))} critical, {_e(counts.get('warning', 0))} warning, "
        f"{_e(counts.get('info', 0))} info · {_e(summary.get('notifications', 0))} message(s) "
        f"sent{_skipped_text(summary)}</p>"
    )
    body = [
        overview_section(report),
        _alerts_section(report), _people_section(report),
        _model_section(report), _feature_section(report),
        _distribution_section(report), _psi_section(report), performance_section(report),
        _concept_section(report),
        _multivariate_section(report), _windows_section(report), _policy_section(report),
    ]
    return head + intro + "".join(body) + "</main></body></html>"
