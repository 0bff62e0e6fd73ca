"""The HTML report: self-contained, escaped, size independent of rows; checked in Chromium."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelsteward.baseline import Baseline
from modelsteward.monitor import run_monitor
from modelsteward.report import render_html, write_report

EVIL = "<img src=x onerror=alert(1)>"
EVIL_MODEL = "churn</title><script>alert(2)</script>"
CHROMIUM = "/usr/bin/chromium"


def _frames(per_week: int, seed: int = 0) -> tuple[Baseline, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def feats(n: int) -> dict[str, np.ndarray]:
        return {"age": rng.normal(40, 10, n), EVIL: rng.normal(size=n),
                "plan": rng.choice(np.array(["a", "b", "<b>c</b>"]), size=n),
                "spend": rng.gamma(2.0, 10.0, n)}

    ref = feats(5_000)
    p = 1 / (1 + np.exp(-(ref["age"] - 40) / 10))
    base = Baseline.fit(ref, predictions=p, outcomes=(rng.uniform(size=p.size) < p).astype(float))
    weeks = 6
    n = weeks * per_week
    cur = feats(n)
    week = np.arange(n) // per_week
    cur[EVIL] = cur[EVIL] + np.where(week >= 3, 1.0, 0.0)
    cur["spend"] = np.where(week == 4, np.nan, cur["spend"])
    frame = pd.DataFrame(cur)
    frame.insert(0, "timestamp", pd.Timestamp("2026-03-02", tz="UTC")
                 + pd.Timedelta(days=7) / per_week * np.arange(n))
    pc = 1 / (1 + np.exp(-(frame["age"].to_numpy() - 40) / 10))
    y = (rng.uniform(size=n) < pc).astype(float)
    y[week >= 5] = (rng.uniform(size=int((week >= 5).sum())) < 0.5)
    frame["prediction"] = pc
    frame["outcome"] = y
    return base, frame


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    base, frame = _frames(800)
    rep = run_monitor(EVIL_MODEL, frame, baseline=base, model_version="3", sinks=[])
    out = tmp_path_factory.mktemp("report")
    rep.write(out)
    return out


def test_json_and_html_are_written_and_valid(report_dir: Path) -> None:
    data = json.loads((report_dir / "report.json").read_text())
    assert data["model"]["name"] == EVIL_MODEL
    assert data["summary"]["windows"] == 6
    html = (report_dir / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    # alerts come first, then the model version, then the features
    order = [html.index(f"id={s}") for s in ("alerts", "model", "features", "distributions",
                                             "psi", "concept")]
    assert order == sorted(order)


def test_no_external_resources_and_strings_escaped(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert "<script" not in html.lower()
    assert EVIL not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>c</b>" not in html
    assert "Content-Security-Policy" in html


def test_size_does_not_grow_with_rows(tmp_path: Path) -> None:
    sizes = []
    for per_week in (500, 5_000):
        base, frame = _frames(per_week, seed=1)
        rep = run_monitor("m", frame, baseline=base, sinks=[])
        paths = write_report(rep, tmp_path / str(per_week))
        sizes.append((os.path.getsize(paths["html"]), os.path.getsize(paths["json"])))
    (h1, j1), (h2, j2) = sizes
    assert abs(h2 - h1) / h1 < 0.15 and abs(j2 - j1) / j1 < 0.15
    assert h2 < 200_000


def test_render_html_accepts_minimal_dict() -> None:
    page = render_html({"model": {"name": "x", "version": "1"}, "windows": []})
    assert "No alert" in page


def _watch(page, requests: list[str], console: list[str]) -> None:
    """Record the page's requests, and its console errors and warnings and page errors."""
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))


def _launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])


@pytest.mark.integration
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed at "
                    "/usr/bin/chromium (apt-get install chromium)")
def test_renders_in_headless_chromium_without_network_errors_or_dialogs(report_dir) -> None:
    from playwright.sync_api import sync_playwright

    url = (report_dir / "report.html").resolve().as_uri()
    requests: list[str] = []
    console: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page()
            _watch(page, requests, console)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url, wait_until="load")
            page.wait_for_timeout(300)
            assert page.title().startswith(EVIL_MODEL)
            assert page.locator("h2").first.inner_text() == "Overview"
            assert page.locator("h2#alerts").inner_text() == "Alerts"
            assert page.locator("svg").count() >= 5
            assert page.locator("img").count() == 0 and page.locator("script").count() == 0
            # the hostile feature name is shown as text, in the table and as a chart title
            assert page.get_by_text(EVIL, exact=True).count() >= 1
            body = page.inner_text("body")
            assert EVIL in body and EVIL_MODEL in body
            box = page.locator("svg[role=img]").first.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
        finally:
            browser.close()
    assert requests == [url]  # the page itself, nothing else
    assert console == [] and dialogs == []


def test_nan_from_outside_sources_becomes_null(tmp_path: Path) -> None:
    data = {"kind": "modelsteward.monitor_report", "model": {"name": "m", "version": "1"},
            "description": {"metrics": {"f1": float("nan"), "auc": float("inf")}},
            "windows": []}
    paths = write_report(data, tmp_path)
    assert json.loads(paths["json"].read_text())["description"]["metrics"] == {
        "f1": None, "auc": None}
    assert "nan" not in paths["html"].read_text().lower().replace("nano", "")


def _alert_tags(html: str) -> list[str]:
    """The element names carrying the ``alert`` class (each alert or message)."""
    return re.findall(r'<(\w+) class="alert [a-z]+"', html)


def test_alerts_are_folded_after_the_overview_and_people_stay_visible() -> None:
    alert = {"key": "distribution:f2", "kind": "distribution", "feature": "f2",
             "alert_type": "distribution", "severity": "critical", "since_window": "W1",
             "message": "f2 moved: PSI 0.61 >= psi_critical 0.2 (preset default) " * 5}
    report = {
        "model": {"name": "m", "version": "1"}, "windows": [],
        "open_alerts": [alert],
        "notifications": [{"window_label": "W1", "severity": "critical", "title": "[critical] m",
                           "events": [{"text": "new: " + alert["message"]}], "still_open": 2}],
        "state": {"silences": [{"feature": "f9", "until": "2026-05-01", "created_by": "ana",
                                "created_at": "2026-04-01", "reason": "known migration"}]},
    }
    html = render_html(report)
    assert html.index("id=overview") < html.index("id=alerts") < html.index("id=people")
    assert _alert_tags(html) == ["details", "details"]  # the open alert and the message
    assert "<summary>" in html and "f2: distribution since W1" in html
    # the silences table is not folded: it lies after the last </details>
    assert html.rindex("</details>") < html.index("known migration")
    assert "<script" not in html.lower()


@pytest.mark.integration
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed at "
                    "/usr/bin/chromium (apt-get install chromium)")
def test_alert_texts_are_folded_in_details_in_chromium(report_dir) -> None:
    from playwright.sync_api import sync_playwright

    html = (report_dir / "report.html").read_text(encoding="utf-8")
    tags = _alert_tags(html)
    assert tags and set(tags) == {"details"}, tags
    url = (report_dir / "report.html").resolve().as_uri()
    requests: list[str] = []
    console: list[str] = []
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page()
            _watch(page, requests, console)
            page.goto(url, wait_until="load")
            assert page.locator("h2").first.inner_text() == "Overview"
            folded = page.locator("details.alert")
            assert folded.count() == len(tags)
            # every alert comes after the alerts heading, which comes after the overview
            assert page.locator("h2#overview ~ h2#alerts ~ details.alert").count() == len(tags)
            assert page.locator("div.alert").count() == 0
            assert page.locator("details.alert[open]").count() == 0  # folded by default
            first = folded.first
            text = first.locator(".ev").first
            assert first.locator("summary").is_visible() and not text.is_visible()
            first.locator("summary").click()  # native disclosure, no script involved
            assert text.is_visible() and len(text.inner_text()) > 20
            assert page.locator("script").count() == 0
        finally:
            browser.close()
    assert requests == [url]  # the page itself, nothing else
    assert console == []
