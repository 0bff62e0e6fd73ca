"""Exact vs sketch mode through the public API: the drift-core scenarios, files, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward.baseline import Baseline
from modelsteward.baseline.sketch import SketchProfile
from modelsteward.drift import detect_data_drift, detect_feature_degradation
from modelsteward.errors import DataError, EmptyDataError, InvalidParameterError

N = 200_000  # per side; above the crossover set below
CROSSOVER = 100_000


def _scenario(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], set[str]]:
    """The drift-core cases (peers.md): f0-f9 drift, c0-c9 do not."""
    rng = np.random.default_rng(seed)

    def normal(n: int, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
        return rng.normal(mean, sd, n)

    def nulls(x: np.ndarray, rate: float) -> np.ndarray:
        x = x.copy()
        x[rng.random(x.size) < rate] = np.nan
        return x

    def mixture(n: int, share: float) -> np.ndarray:
        x = normal(n)
        moved = rng.random(n) < share
        x[moved] = rng.normal(3.0, 1.0, int(moved.sum()))
        return x

    ref = {
        "f0": normal(N), "f1": normal(N), "f2": normal(N), "f3": rng.lognormal(0, 1.0, N),
        "f4": rng.poisson(10.0, N).astype(float), "f5": normal(N), "f6": normal(N),
        "f7": nulls(normal(N), 0.02), "f8": normal(N), "f9": normal(N),
    }
    cur = {
        "f0": normal(N, 0.05), "f1": normal(N, 0.2), "f2": normal(N, 0, 1.5**0.5),
        "f3": rng.lognormal(0, 1.2, N), "f4": rng.poisson(11.0, N).astype(float),
        "f5": mixture(N, 0.1), "f6": np.full(N, 0.3), "f7": nulls(normal(N), 0.3),
        "f8": np.round(np.clip(normal(N), -1, 1)), "f9": normal(N) * 100,
    }
    for i in range(10):
        family = i % 3
        if family == 0:
            ref[f"c{i}"], cur[f"c{i}"] = normal(N), normal(N)
        elif family == 1:
            ref[f"c{i}"] = rng.exponential(2.0, N)
            cur[f"c{i}"] = rng.exponential(2.0, N)
        else:  # heavy ties
            ref[f"c{i}"] = rng.integers(1, 6, N).astype(float)
            cur[f"c{i}"] = rng.integers(1, 6, N).astype(float)
    drifted = {f"f{i}" for i in range(10)} - {"f7"}  # f7: nulls only, degradation's case
    return ref, cur, drifted


def test_sketch_mode_flags_the_same_features_as_exact_mode() -> None:
    ref, cur, expected = _scenario(11)
    exact_base = Baseline.fit(ref, mode="exact")
    sketch_base = Baseline.fit(ref, exact_max_rows=CROSSOVER)  # auto: above the crossover
    assert {p.mode for p in sketch_base.columns.values()} == {"sketch"}
    exact = detect_data_drift(exact_base, cur, mode="exact")
    sketch = detect_data_drift(sketch_base, cur, exact_max_rows=CROSSOVER)
    auto = detect_data_drift(exact_base, cur, exact_max_rows=CROSSOVER)
    assert {r.mode for r in exact} == {"exact"}
    assert {r.mode for r in sketch} == {"sketch"} == {r.mode for r in auto}
    flagged_exact = {r.feature for r in exact if r.is_drifted}
    flagged_sketch = {r.feature for r in sketch if r.is_drifted}
    assert flagged_exact == expected
    assert flagged_sketch == flagged_exact
    assert {r.feature for r in auto if r.is_drifted} == flagged_exact
    by_name = {r.feature: r for r in exact}
    for r in sketch:
        e = by_name[r.feature]
        assert abs(r.statistic - e.statistic) <= r.statistic_bound
        assert r.statistic_bound > 0 and r.p_threshold == e.p_threshold
        assert abs(r.psi - e.psi) <= r.psi_bound + 0.01  # edges differ within the rank error
        assert r.n_reference == e.n_reference and r.n_current == e.n_current
    assert [r.feature for r in sketch][:1] == [r.feature for r in exact][:1]  # worst first
    exact_alerts = {(a.feature, a.alert_type) for a in
                    detect_feature_degradation(exact_base, cur, mode="exact")}
    sketch_alerts = {(a.feature, a.alert_type) for a in
                     detect_feature_degradation(sketch_base, cur, exact_max_rows=CROSSOVER)}
    assert ("f7", "null_rate") in exact_alerts and ("f6", "low_variance") in exact_alerts
    assert sketch_alerts == exact_alerts


def test_min_effect_and_threshold_reach_the_sketch_decision() -> None:
    ref, cur, _ = _scenario(12)
    base = Baseline.fit({"f0": ref["f0"], "f1": ref["f1"]}, mode="sketch")
    now = {"f0": cur["f0"], "f1": cur["f1"]}
    loose = {r.feature for r in detect_data_drift(base, now) if r.is_drifted}
    strict = {r.feature for r in detect_data_drift(base, now, min_effect=0.05) if r.is_drifted}
    assert loose == {"f0", "f1"} and strict == {"f1"}  # D(f0) ~ 0.02, D(f1) ~ 0.08


def test_sketch_baseline_saves_and_reloads_to_identical_results(tmp_path: Path) -> None:
    ref, cur, _ = _scenario(13)
    cols = {k: ref[k] for k in ("f1", "f3", "c2")}
    cols["plan"] = np.array(["a", "b", "c"] * (N // 3) + ["a"] * (N % 3), dtype=object)
    base = Baseline.fit(cols, mode="sketch")
    back = Baseline.load(base.save(tmp_path / "b"))
    now = {k: cur[k] for k in ("f1", "f3", "c2")}
    now["plan"] = np.array(["a", "b"] * (N // 2), dtype=object)
    first = [r.to_dict() for r in detect_data_drift(base, now)]
    again = [r.to_dict() for r in detect_data_drift(back, now)]
    assert [(r["feature"], r["is_drifted"], r["mode"]) for r in first] == [
        (r["feature"], r["is_drifted"], r["mode"]) for r in again
    ]
    for a, b in zip(first, again, strict=True):
        assert b["statistic"] == pytest.approx(a["statistic"], abs=a["statistic_bound"] + 1e-12)
    assert back.columns["plan"].category_counts == base.columns["plan"].category_counts
    assert back.columns["f1"].extra["rank_error"] == base.columns["f1"].extra["rank_error"]


def test_fit_and_check_parquet_files(tmp_path: Path) -> None:
    ref, cur, _ = _scenario(14)
    names = ["f1", "f7", "c0"]
    for side, data in (("ref", ref), ("cur", cur)):
        (tmp_path / side).mkdir()
        for i in range(4):
            part = slice(i * N // 4, (i + 1) * N // 4)
            pq.write_table(pa.table({n: data[n][part] for n in names}),
                           tmp_path / side / f"part-{i}.parquet")
    small = Baseline.fit(tmp_path / "ref")  # 200k rows: below the default crossover
    assert {p.mode for p in small.columns.values()} == {"exact"}
    big = Baseline.fit(str(tmp_path / "ref" / "*.parquet"), exact_max_rows=CROSSOVER)
    assert {p.mode for p in big.columns.values()} == {"sketch"}
    assert big.columns["f7"].n_null == small.columns["f7"].n_null
    exact = {r.feature: r for r in detect_data_drift(small, tmp_path / "cur")}
    sketch = {r.feature: r for r in detect_data_drift(big, tmp_path / "cur")}
    assert exact["f1"].mode == "exact" and sketch["f1"].mode == "sketch"
    assert {f for f, r in exact.items() if r.is_drifted} == {
        f for f, r in sketch.items() if r.is_drifted
    } == {"f1"}
    alerts = detect_feature_degradation(big, tmp_path / "cur")
    assert [(a.feature, a.alert_type) for a in alerts] == [("f7", "null_rate")]
    profile = SketchProfile.from_columns({n: cur[n] for n in names})
    from_profile = {r.feature: r for r in detect_data_drift(small, profile)}
    assert from_profile["f1"].is_drifted and from_profile["f1"].mode == "sketch"


def test_mode_errors_name_the_fix() -> None:
    with pytest.raises(InvalidParameterError, match="mode must be one of 'auto'"):
        Baseline.fit({"x": np.arange(10.0)}, mode="fast")
    base = Baseline.fit({"x": np.arange(10.0)})
    prof = SketchProfile.from_columns({"x": np.arange(10.0)})
    with pytest.raises(DataError, match="exact mode needs the raw values"):
        detect_data_drift(base, prof, mode="exact")
    with pytest.raises(InvalidParameterError, match="detect_data_drift: mode must be one of"):
        detect_data_drift(base, {"x": np.arange(10.0)}, mode="approx")


def test_missing_feature_and_pandas_current_in_sketch_mode() -> None:
    base = Baseline.fit({"x": np.arange(5_000.0), "y": np.arange(5_000.0)}, mode="sketch")
    res = detect_data_drift(base, pd.DataFrame({"x": np.arange(3_000.0)}))
    missing = [r for r in res if r.feature == "y"][0]
    assert (missing.test, missing.statistic, missing.is_drifted, missing.mode) == (
        "missing", 1.0, True, "sketch"
    )
    alerts = detect_feature_degradation(base, pd.DataFrame({"x": np.arange(3_000.0)}))
    assert [(a.feature, a.alert_type) for a in alerts] == [("y", "missing_feature")]


def test_csv_sources_small_exact_large_sketch(tmp_path: Path) -> None:
    rng = np.random.default_rng(15)
    pd.DataFrame({"x": rng.normal(size=4_000), "c": rng.choice(["a", "b"], 4_000)}).to_csv(
        tmp_path / "ref.csv", index=False
    )
    pd.DataFrame({"x": rng.normal(0.3, 1, 4_000), "c": rng.choice(["a", "b"], 4_000)}).to_csv(
        tmp_path / "cur.csv", index=False
    )
    small = Baseline.fit(tmp_path / "ref.csv")  # small CSV: read whole, counted, exact
    assert {p.mode for p in small.columns.values()} == {"exact"}
    assert small.kinds == {"x": "numeric", "c": "categorical"}
    big = Baseline.fit(tmp_path / "ref.csv", exact_max_rows=1_000)
    assert {p.mode for p in big.columns.values()} == {"sketch"}
    exact = {r.feature: r for r in detect_data_drift(small, tmp_path / "cur.csv")}
    sketch = {r.feature: r for r in detect_data_drift(big, tmp_path / "cur.csv")}
    assert (exact["x"].mode, sketch["x"].mode) == ("exact", "sketch")
    assert exact["x"].is_drifted and sketch["x"].is_drifted
    assert not exact["c"].is_drifted and not sketch["c"].is_drifted
    assert sketch["c"].statistic == pytest.approx(exact["c"].statistic, rel=1e-9)


def test_compute_psi_on_a_sketch_profile_is_close_to_the_exact_psi() -> None:
    from modelsteward import compute_psi

    rng = np.random.default_rng(11)
    ref = rng.normal(0.0, 1.0, 300_000)
    cur = rng.normal(0.5, 1.0, 50_000)
    exact = compute_psi(ref, cur)
    sketch = compute_psi(Baseline.fit({"x": ref}, mode="sketch").columns["x"], cur)
    assert exact > 0.2  # a real shift, so both must see it
    # the sketch's deciles sit within its rank error of the exact ones
    assert abs(sketch - exact) < 0.02 * exact
    # and a profile that kept neither values nor bins says what to do
    empty = Baseline.fit({"x": np.full(10, np.nan)}, mode="sketch").columns["x"]
    with pytest.raises(EmptyDataError, match="refit"):
        compute_psi(empty, cur)
