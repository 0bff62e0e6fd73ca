"""The README's Monitoring and "Beyond one machine" examples run as written.

The Ten-lines example runs in tests/drift/test_drift_cli.py and the Registry example in
tests/registry/test_registry_readme.py; together every ```python block of the README runs.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"expected one README python block containing {marker!r}"
    return found[0]


def test_every_python_block_is_covered() -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    markers = ("detect_feature_degradation", "train_and_register",
               "from modelsteward import run_monitor", "baseline_from_spark")
    for block in blocks:
        assert any(m in block for m in markers), f"a README python block no test runs:\n{block}"


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.mark.slow
@pytest.mark.integration
def test_readme_monitoring_example_runs_after_the_demo(in_tmp: Path, monkeypatch) -> None:
    """`make demo`'s data laid out as the embedded default, then the README block as written."""
    from modelsteward.examples.demo import run_demo

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run_demo(in_tmp / ".steward", echo=lambda _line: None)
    namespace: dict[str, Any] = {}
    exec(compile(_block("from modelsteward import run_monitor"), "README.md", "exec"), namespace)
    report = namespace["report"]
    timeline = report.timeline()
    assert timeline, "the demo's planted events must produce notifications"
    assert all(isinstance(title, str) and title for _window, title in timeline)
    assert (in_tmp / "reports" / "report.html").exists()
    assert (in_tmp / "reports" / "report.json").exists()
    lines = (in_tmp / "alerts.jsonl").read_text().splitlines()
    assert len(lines) >= len(timeline)


class _HereSpark:
    """The session with `read.parquet` resolving relative paths against this test's folder:
    the JVM keeps the working directory of whichever test started it."""

    def __init__(self, spark: Any, here: Path) -> None:
        self._spark, self._here = spark, here
        self.read = self

    def parquet(self, path: str) -> Any:
        return self._spark.read.parquet(str(self._here / path))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spark, name)


def _frames(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    x = rng.normal(shift, 1.0, n)
    score = 1.0 / (1.0 + np.exp(-x))
    return pd.DataFrame({"f0": x, "f1": rng.normal(0, 1, n), "score": score,
                         "label": (rng.uniform(size=n) < score).astype(float)})


@pytest.mark.slow
@pytest.mark.integration
def test_readme_beyond_one_machine_example_runs(in_tmp: Path, capsys) -> None:
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    rng = np.random.default_rng(3)
    train = _frames(rng, 20_000, 0.0)
    (in_tmp / "data" / "train").mkdir(parents=True)
    for i in range(2):
        train.iloc[i::2].to_parquet(in_tmp / "data" / "train" / f"part-{i}.parquet")
    for day in (2, 9):
        prod = _frames(rng, 5_000, 0.5)
        prod.insert(0, "ts", pd.Timestamp(f"2026-03-{day:02d}", tz="UTC")
                    + pd.to_timedelta(rng.uniform(0, 86_400, len(prod)), unit="s"))
        folder = in_tmp / "prod" / f"2026-03-{day:02d}"
        folder.mkdir(parents=True)
        prod.to_parquet(folder / "part-0.parquet", coerce_timestamps="us",  # Spark: no NANOS
                        allow_truncated_timestamps=True)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[2]").appName("readme")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    namespace: dict[str, Any] = {"frame": train, "spark": _HereSpark(spark, in_tmp)}
    exec(compile(_block("baseline_from_spark"), "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    # f0 moved by half a standard deviation: every engine must call it drifted
    f0 = [line for line in printed.splitlines() if line.startswith("f0 ")]
    assert f0 and f0[0].endswith("True")
    f1 = [line for line in printed.splitlines() if line.startswith("f1 ")]
    assert f1 and f1[0].split()[1] == "sketch"
    report = namespace["report"]  # the Spark source through run_monitor's whole pipeline
    assert [w.label for w in report.windows] == ["2026-W10", "2026-W11"]
    assert all(w.status == "ok" and w.n_rows == 5_000 for w in report.windows)
    for w in report.windows:  # f0 moved half a standard deviation in both weeks
        assert any(a.key == "data_drift:f0:distribution" and a.severity != "info"
                   for a in w.alerts), w.alerts
        assert {f.mode for f in w.features} == {"sketch"}
    assert report.notifications and report.concept
