"""The report's overview and performance section for multiclass and regression models:
verdicts, heat map, chart with bands and coverage, never NaN; rendered in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelsteward.baseline import Baseline
from modelsteward.monitor import run_monitor
from modelsteward.report import render_html
from modelsteward.report.overview import verdict

CHROMIUM = "/usr/bin/chromium"


def _multiclass(tmp: Path) -> Path:
    rng = np.random.default_rng(0)
    classes = np.array(["bird", "cat", "dog"])

    def make(n: int, scale: float = 1.0, shift: float = 0.0):
        x = rng.normal(size=(n, 2))
        logits = np.column_stack([x[:, 0], x[:, 1], -x[:, 0] - x[:, 1]]) * 1.5
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        true = np.exp(logits * scale) / np.exp(logits * scale).sum(axis=1, keepdims=True)
        y = (rng.uniform(size=(n, 1)) > np.cumsum(true, axis=1)).sum(axis=1)
        return x[:, 0] + shift, proba, classes[np.minimum(y, 2)].astype(object)

    x, proba, y = make(4_000)
    base = Baseline.fit({"x": x}, predictions=proba, outcomes=y)
    parts = [make(800), make(800, shift=1.0), make(800, scale=0.1), make(800)]
    y_all = np.concatenate([p[2] for p in parts])
    y_all[2_400:] = None  # the last week: no labels yet
    ts = pd.Timestamp("2026-03-02", tz="UTC") + pd.Timedelta(days=7) / 800 * np.arange(3_200)
    frame = pd.DataFrame({"timestamp": ts, "x": np.concatenate([p[0] for p in parts]),
                          "prediction": [list(r) for p in parts for r in p[1]],
                          "outcome": y_all})
    rep = run_monitor("zoo", frame, baseline=base, sinks=[])
    out = tmp / "multiclass"
    rep.write(out)
    return out


def _regression(tmp: Path) -> Path:
    rng = np.random.default_rng(1)
    x = rng.normal(size=4_000)
    base = Baseline.fit({"x": x}, predictions=x, outcomes=x + rng.normal(size=4_000))
    x2 = rng.normal(size=3_000)
    y2 = x2 + rng.normal(size=3_000) * np.repeat([1.0, 1.0, 1.4], 1_000)
    ts = pd.Timestamp("2026-03-02", tz="UTC") + pd.Timedelta(days=7) / 1_000 * np.arange(3_000)
    rep = run_monitor("price", pd.DataFrame({"timestamp": ts, "x": x2, "prediction": x2,
                                         "outcome": y2}), baseline=base, sinks=[])
    out = tmp / "regression"
    rep.write(out)
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("perf-report")
    return {"multiclass": _multiclass(tmp), "regression": _regression(tmp)}


def test_overview_and_performance_section_in_the_html(reports: dict[str, Path]) -> None:
    mc = (reports["multiclass"] / "report.html").read_text(encoding="utf-8")
    assert mc.index("id=overview") < mc.index("id=alerts") < mc.index("id=performance")
    assert "macro_f1: realized" in mc and "concept_drift" in mc
    assert "nan" not in mc.lower().replace("nannyml", "")
    rg = (reports["regression"] / "report.html").read_text(encoding="utf-8")
    assert "mae: realized" in rg and "performance drop (mae)" in rg
    for path in reports.values():
        text = (path / "report.json").read_text(encoding="utf-8")
        assert "NaN" not in text and "Infinity" not in text


def test_verdict_lines_name_the_cause() -> None:
    w = {"status": "ok", "alerts": [{"feature": "age", "severity": "critical"},
                                    {"feature": "spend", "severity": "info"}],
         "performance": {"diagnosis": {"kind": "covariate_shift", "metric": "roc_auc"}}}
    assert verdict(w) == "covariate shift (roc_auc); features moved: age"
    assert verdict({"status": "empty"}) == "no usable rows"
    assert "Overview" in render_html({"windows": []})


@pytest.mark.integration
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed at "
                    "/usr/bin/chromium (apt-get install chromium)")
def test_overview_renders_in_headless_chromium(reports: dict[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            for kind, path in reports.items():
                url = (path / "report.html").resolve().as_uri()
                requests: list[str] = []
                console: list[str] = []
                page = browser.new_page()
                page.on("request", lambda r, acc=requests: acc.append(r.url))
                page.on("console", lambda m, acc=console: acc.append(m.text)
                        if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e, acc=console: acc.append(str(e)))
                page.goto(url, wait_until="load")
                assert page.locator("h2").first.inner_text() == "Overview"
                chart = page.locator("#overview ~ svg[role=img]").first
                box = chart.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 100, kind
                assert page.locator("h2#performance").count() == 1
                assert page.locator("script").count() == 0
                assert requests == [url] and console == [], (kind, requests, console)
                page.close()
        finally:
            browser.close()
