"""Spark local[2]: profiles and per-window checks equal the pandas path within the bound."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark")

from modelsteward.baseline import Baseline  # noqa: E402
from modelsteward.baseline.sketch import NumericSketch, SketchProfile  # noqa: E402
from modelsteward.baseline.summary import ks_distance  # noqa: E402
from modelsteward.drift import (  # noqa: E402
    detect_data_drift,
    detect_feature_degradation,
)
from modelsteward.errors import ConfigError  # noqa: E402
from modelsteward.monitor import load_policy, run_monitor  # noqa: E402
from modelsteward.monitor.concept import detect_concept_drift  # noqa: E402
from modelsteward.monitor.judge import judge_concept_result  # noqa: E402
from modelsteward.monitor.spark_source import SparkSource  # noqa: E402
from modelsteward.spark import baseline_from_spark, profile_spark  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    saved = {k: os.environ.get(k) for k in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    for key in saved:  # workers must import modelsteward: the venv's python
        os.environ.setdefault(key, sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("modelsteward-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _training(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    y = rng.lognormal(0, 1, n)
    y[rng.random(n) < 0.01] = np.nan
    plan = rng.choice(np.array(["basic", "pro", "team"]), n, p=[0.6, 0.3, 0.1]).astype(object)
    score = 1 / (1 + np.exp(-(x + rng.normal(0, 1, n))))
    label = (rng.random(n) < score).astype(float)
    return pd.DataFrame({"x": x, "y": y, "plan": plan, "score": score, "label": label})


def _production(seed: int = 1) -> pd.DataFrame:
    """Three weeks: week 1 clean, week 2 x shifts and y turns 40% null, week 3 the
    prediction stops tracking the outcome (concept drift)."""
    rng = np.random.default_rng(seed)
    frames = []
    for week in range(3):
        n = 6_000
        df = _training(n, seed=10 + week)
        if week == 1:
            df["x"] = df["x"] + 0.5
            df.loc[rng.random(n) < 0.4, "y"] = np.nan
        if week == 2:
            df["label"] = (rng.random(n) < 0.5).astype(float)
        df.loc[rng.random(n) < 0.2, "label"] = np.nan  # late labels
        start = pd.Timestamp("2026-03-02", tz="UTC") + pd.Timedelta(weeks=week)
        df["ts"] = start + pd.to_timedelta(rng.integers(0, 7 * 86400, n), unit="s")
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


FEATURES = ["x", "y", "plan"]


def test_spark_profile_equals_the_pandas_profile(spark: Any) -> None:
    train = _training(30_000)
    sdf = spark.createDataFrame(train[FEATURES]).repartition(3)
    sp = profile_spark(sdf)
    pp = SketchProfile.from_columns(
        {c: train[c].to_numpy() for c in FEATURES},
        kinds={"x": "numeric", "y": "numeric", "plan": "categorical"},
    )
    assert sp.kinds == pp.kinds
    for name in ("x", "y"):
        s, p = sp.columns[name], pp.columns[name]
        assert isinstance(s, NumericSketch) and isinstance(p, NumericSketch)
        assert (s.n_rows, s.n_null, s.n_finite) == (p.n_rows, p.n_null, p.n_finite)
        assert s.mean == pytest.approx(p.mean, rel=1e-12)
        assert s.variance == pytest.approx(p.variance, rel=1e-9)
        assert (s.minimum, s.maximum) == (p.minimum, p.maximum)
        assert s.n_distinct == p.n_distinct  # HyperLogLog merges exactly
        d, bound = ks_distance(s, p)
        assert d <= bound
    assert sp.columns["plan"].counts() == pp.columns["plan"].counts()  # type: ignore[union-attr]
    assert sp.columns["plan"].n_null == 0


def test_spark_baseline_and_windows_match_the_pandas_path(spark: Any) -> None:
    train = _training(20_000)
    prod = _production()
    sdf_train = spark.createDataFrame(train)
    base_spark = baseline_from_spark(
        sdf_train, predictions_col="score", outcomes_col="label", columns=[*FEATURES]
    )
    base_pandas = Baseline.fit(
        train[FEATURES], predictions=train["score"].to_numpy(),
        outcomes=train["label"].to_numpy(),
    )
    assert base_spark.columns["x"].mode == "sketch" and base_pandas.columns["x"].mode == "exact"
    assert base_spark.concept is not None and base_pandas.concept is not None
    assert base_spark.concept.correlation == pytest.approx(base_pandas.concept.correlation,
                                                           rel=1e-9)
    assert base_spark.concept.n == base_pandas.concept.n
    for name in FEATURES:
        s, p = base_spark.columns[name], base_pandas.columns[name]
        assert (s.n_rows, s.n_null) == (p.n_rows, p.n_null)
    assert base_spark.columns["plan"].category_counts == base_pandas.columns["plan"].category_counts

    source = SparkSource(spark.createDataFrame(prod), base_spark, timestamp_col="ts",
                         window="7D", prediction_col="score", outcome_col="label")
    concept_pd = detect_concept_drift(
        prod["score"].to_numpy(), prod["label"].to_numpy(), prod["ts"],
        reference_correlation=base_pandas.concept, window="7D",
    )
    assert [w.label for w in source.windows] == [c.label for c in concept_pd] == [
        "2026-W10", "2026-W11", "2026-W12"
    ]
    pol = load_policy("default")  # its thresholds are the detectors' defaults
    concepts = source.concepts(source.windows, base_spark, [])
    flagged = []
    for w, c in zip(source.windows, concept_pd, strict=True):
        m = source.measure(w, base_spark, [pol], concepts[w.index])
        rows = prod[(prod["ts"] >= w.start) & (prod["ts"] < w.end)]
        assert m.n_rows == len(rows)
        exact = {r.feature: r for r in detect_data_drift(base_pandas, rows[FEATURES],
                                                         mode="exact")}
        for f in m.features:
            e = exact[f.feature]
            assert f.mode == "sketch" and e.mode == "exact"
            if f.test == "ks":
                assert abs(f.statistic - e.statistic) <= f.statistic_bound + 1e-12
            else:
                assert f.statistic == pytest.approx(e.statistic, rel=1e-9)
            assert (f.p_value < 0.01) == e.is_drifted, (w.label, f, e)
        exact_alerts = detect_feature_degradation(base_pandas, rows[FEATURES], mode="exact")
        assert sorted((a.feature, a.alert_type) for a in m.degradation_for(pol)) == sorted(
            (a.feature, a.alert_type) for a in exact_alerts
        )
        sc = judge_concept_result(m.concept, pol)
        assert sc is not None
        assert (sc.n, sc.n_predictions, sc.status) == (c.n, c.n_predictions, c.status)
        assert sc.correlation == pytest.approx(c.correlation, rel=1e-9)
        assert sc.p_value == pytest.approx(c.p_value, rel=1e-6, abs=1e-300)
        assert sc.coverage == pytest.approx(c.coverage)
        assert sc.performance["f1"] == pytest.approx(c.performance["f1"], rel=1e-12)
        assert sc.performance["roc_auc"] == pytest.approx(c.performance["roc_auc"], rel=1e-12)
        flagged.append((
            sorted(f.feature for f in m.features if f.p_value < 0.01),
            sorted(a.alert_type for a in m.degradation_for(pol)),
            sc.is_drifted,
        ))
    assert flagged[0] == ([], [], False)
    assert "x" in flagged[1][0] and "null_rate" in flagged[1][1]
    assert flagged[2][2] is True


#: the figures a sketch gives within its stated bound (and the texts that print them)
SKETCH_FIELDS = {"statistic", "p_value", "psi", "current", "mode", "statistic_bound",
                 "psi_bound", "max_psi", "last_psi", "min_p_value", "created_at"}


def _without_sketch_figures(obj: Any, in_drift: bool = False) -> Any:
    """The report with the sketch-bounded figures removed and other floats rounded (Spark's
    corr and numpy's Pearson r differ in the last bits)."""
    if isinstance(obj, dict):
        drift = (in_drift or obj.get("kind") == "data_drift" or "psi_reliable" in obj
                 or (isinstance(obj.get("alert"), dict)
                     and obj["alert"].get("kind") == "data_drift"))
        # a notification's text joins its events' texts, compared one by one
        joined = "events" in obj
        return {k: _without_sketch_figures(v, drift) for k, v in obj.items()
                if k not in SKETCH_FIELDS and not (joined and k == "text")
                and not (drift and k in ("summary", "message", "value", "text"))}
    if isinstance(obj, list):
        return [_without_sketch_figures(v, in_drift) for v in obj]
    if isinstance(obj, float):
        return float(f"{obj:.9g}")
    return obj


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_the_pandas_and_the_spark_source_give_the_same_alerts_and_report(spark: Any) -> None:
    train = _training(20_000)
    prod = _production()
    base = Baseline.fit(train[FEATURES], predictions=train["score"].to_numpy(),
                        outcomes=train["label"].to_numpy())
    common: dict[str, Any] = dict(baseline=base, sinks=[], policy="default", describe=False)
    pandas_rep = run_monitor("m", prod, timestamp_column="ts", prediction_column="score",
                             outcome_column="label", **common)
    source = SparkSource(spark.createDataFrame(prod).repartition(3), base, timestamp_col="ts",
                         prediction_col="score", outcome_col="label")
    spark_rep = run_monitor("m", None, source=source, **common)

    def identity(rep: Any) -> list[tuple[Any, ...]]:
        return [(a.window_label, a.key, a.severity, a.threshold_name, a.threshold,
                 a.since_window) for a in rep.alerts]

    assert identity(pandas_rep) == identity(spark_rep)
    assert {a.alert_type for a in spark_rep.alerts} >= {"distribution", "null_rate",
                                                        "correlation_drop"}
    assert pandas_rep.timeline() == spark_rep.timeline()
    for p, s in zip(pandas_rep.alerts, spark_rep.alerts, strict=True):
        if p.kind == "data_drift":  # PSI: within the sketch's bound of the exact figure
            bound = next(f.psi_bound for w in spark_rep.windows for f in w.features
                         if w.label == s.window_label and f.feature == s.feature)
            assert abs(p.value - s.value) <= bound + 1e-9
    pd_dict = _without_sketch_figures(pandas_rep.to_dict())
    sp_dict = _without_sketch_figures(spark_rep.to_dict())
    diffs = _differences(pd_dict, sp_dict)
    assert diffs == [], "\n".join(d[:300] for d in diffs)
    assert all(f.mode == "sketch" for w in spark_rep.windows for f in w.features)
    assert all(f.mode == "exact" for w in pandas_rep.windows for f in w.features)


def test_the_spark_source_runs_incrementally_with_a_state_store(spark: Any, tmp_path: Any) -> None:
    train = _training(5_000)
    prod = _production()
    base = Baseline.fit(train[FEATURES])
    source = SparkSource(spark.createDataFrame(prod), base, timestamp_col="ts")
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = run_monitor("m", None, baseline=base, source=source, sinks=[], state=url,
                        describe=False)
    # the clock is the last timestamp Spark saw: the last week is still open
    assert [w.status for w in first.windows] == ["ok", "ok", "in_progress"]
    assert first.notifications and "no outcomes in the data" in " ".join(first.warnings)
    again = run_monitor("m", None, baseline=base, source=source, sinks=[], state=url,
                        describe=False)
    assert again.already_checked == 2 and not again.notifications
    assert [w.label for w in again.windows] == ["2026-W12"]


def test_spark_rejects_windows_it_cannot_cut(spark: Any) -> None:
    base = Baseline.fit({"x": np.arange(100.0)})
    sdf = spark.createDataFrame(pd.DataFrame({"x": [1.0], "ts": [pd.Timestamp("2026-01-01")]}))
    with pytest.raises(ConfigError, match="calendar week"):
        SparkSource(sdf, base, timestamp_col="ts", window="500rows")
    with pytest.raises(ConfigError, match="concept reference"):
        SparkSource(sdf.withColumn("p", sdf.x), base, timestamp_col="ts",
                    prediction_col="p", outcome_col="x")


def test_files_profiled_on_spark_executors_equal_streaming(spark: Any, tmp_path: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from modelsteward.baseline.streaming import profile_dataset
    from modelsteward.spark import profile_files_on_spark

    train = _training(12_000)
    for i in range(3):
        part = train.iloc[i * 4_000 : (i + 1) * 4_000]
        pq.write_table(pa.Table.from_pandas(part[FEATURES], preserve_index=False),
                       tmp_path / f"part-{i}.parquet")
    on_spark = profile_files_on_spark(spark, tmp_path)
    local = profile_dataset(tmp_path)
    assert on_spark.kinds == local.kinds
    for name in ("x", "y"):
        s, p = on_spark.columns[name], local.columns[name]
        assert isinstance(s, NumericSketch) and isinstance(p, NumericSketch)
        assert (s.n_rows, s.n_null, s.n_distinct) == (p.n_rows, p.n_null, p.n_distinct)
        assert s.mean == pytest.approx(p.mean, rel=1e-12)
        d, bound = ks_distance(s, p)
        assert d <= bound
    assert on_spark.columns["plan"].counts() == local.columns["plan"].counts()  # type: ignore[union-attr]


def test_baseline_from_spark_joint_samples_every_partition_and_sees_decoupling(
    spark: Any,
) -> None:
    """A joint reference from per-partition reservoirs merged on the driver."""
    from modelsteward.drift.multivariate import detect_reconstruction_drift

    def pair(n: int, rho: float, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        a = rng.normal(size=n)
        b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
        plan = rng.choice(np.array(["basic", "pro"]), n).astype(object)
        return pd.DataFrame({"x": a, "y": b, "z": rng.normal(size=n), "plan": plan})

    ref = pair(8_000, 0.8, 0)
    ref["part"] = np.repeat([0.0, 1.0], 4_000)  # which partition a row lives in
    df = spark.createDataFrame(ref).repartition(2, "part")
    base = baseline_from_spark(df, joint=True, sample_size=2_000)
    assert base.joint is not None and base.joint.sample.shape[0] == 2_000
    assert base.joint.columns == ["x", "y", "z", "plan", "part"]
    src = base.joint.sample[:, 4]
    assert 800 < (src == 0).sum() < 1_200  # both partitions sampled, in proportion
    caught = quiet = 0
    for s in range(5):
        window = pair(1_000, 0.0, 100 + s)
        window["part"] = np.repeat([0.0, 1.0], 500)
        same = pair(1_000, 0.8, 200 + s)
        same["part"] = np.repeat([0.0, 1.0], 500)
        caught += detect_reconstruction_drift(base.joint, window, alpha=0.01).is_drifted
        quiet += not detect_reconstruction_drift(base.joint, same, alpha=0.01).is_drifted
    assert caught == 5 and quiet >= 4
    assert baseline_from_spark(df).joint is None
