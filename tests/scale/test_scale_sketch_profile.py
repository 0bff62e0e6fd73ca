"""Sketch profiles: merge associativity, order independence, serialisation, moments."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelsteward.baseline.sketch import (
    DEFAULT_K,
    EXACT_CATEGORY_CAPACITY,
    CategoricalSketch,
    NumericSketch,
    SketchProfile,
    kll_rank_error,
    merge_profiles,
)
from modelsteward.baseline.sketch_checks import sketch_ks, sketch_psi
from modelsteward.baseline.summary import ks_distance
from modelsteward.errors import BaselineFormatError, ColumnTypeError, DataError


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.02] = np.nan
    return {
        "x": x,
        "y": rng.exponential(2.0, n),
        "ties": rng.integers(0, 5, n).astype(float),
        "plan": rng.choice(np.array(["a", "b", "c", "d"]), n, p=[0.5, 0.3, 0.15, 0.05]),
    }


def _split(cols: dict[str, np.ndarray], parts: int) -> list[dict[str, np.ndarray]]:
    n = len(next(iter(cols.values())))
    cuts = np.linspace(0, n, parts + 1).astype(int)
    return [{k: v[a:b] for k, v in cols.items()} for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def _decisions(ref: SketchProfile, cur: SketchProfile) -> dict[str, bool]:
    out = {}
    for name, col in ref.columns.items():
        if isinstance(col, NumericSketch):
            other = cur.columns[name]
            assert isinstance(other, NumericSketch)
            out[name] = sketch_ks(col, other, p_threshold=0.01).is_significant
    return out


def test_default_k_states_its_rank_error() -> None:
    sk = NumericSketch("x")
    assert sk.k == DEFAULT_K >= 1024
    assert kll_rank_error() == pytest.approx(sk.kll.normalized_rank_error(False))
    assert 0 < kll_rank_error() < 0.002
    assert sk.update(np.arange(100.0)).rank_error == 0.0  # below k values the sketch is exact
    assert NumericSketch("x").update(np.arange(50_000.0)).rank_error == kll_rank_error()


def test_counts_and_moments_are_exact_after_any_split() -> None:
    rng = np.random.default_rng(1)
    cols = _frame(rng, 60_000)
    whole = SketchProfile.from_columns(cols)
    parts = [SketchProfile.from_columns(p, kinds=whole.kinds) for p in _split(cols, 7)]
    merged = merge_profiles(parts)
    x = cols["x"]
    mx = merged.columns["x"]
    assert isinstance(mx, NumericSketch)
    assert mx.n_rows == 60_000 and mx.n_null == int(np.isnan(x).sum())
    assert mx.mean == pytest.approx(np.nanmean(x), rel=1e-12)
    assert mx.variance == pytest.approx(np.nanvar(x), rel=1e-10)
    assert mx.minimum == np.nanmin(x) and mx.maximum == np.nanmax(x)
    plan = merged.columns["plan"]
    assert isinstance(plan, CategoricalSketch) and plan.is_exact
    vals, counts = np.unique(cols["plan"], return_counts=True)
    assert plan.counts() == dict(zip(vals.tolist(), counts.tolist(), strict=True))
    assert plan.n_distinct == 4
    ties = merged.columns["ties"]
    assert isinstance(ties, NumericSketch) and ties.n_distinct == 5


def test_merge_is_associative_and_order_independent() -> None:
    rng = np.random.default_rng(2)
    ref_cols = _frame(rng, 120_000)
    cur_cols = _frame(rng, 90_000, shift=0.05)
    kinds = SketchProfile.from_columns(_frame(rng, 10)).kinds
    parts = [SketchProfile.from_columns(p, kinds=kinds) for p in _split(ref_cols, 6)]
    cur = SketchProfile.from_columns(cur_cols, kinds=kinds)
    one_pass = SketchProfile.from_columns(ref_cols, kinds=kinds)
    a, b, c = parts[0], parts[1], parts[2]
    left = a.merge(b).merge(c)
    right = a.merge(b.merge(c))
    for name in ("x", "y", "ties"):
        lx, rx = left.columns[name], right.columns[name]
        assert isinstance(lx, NumericSketch) and isinstance(rx, NumericSketch)
        assert (lx.n_rows, lx.n_null, lx.minimum, lx.maximum) == (
            rx.n_rows, rx.n_null, rx.minimum, rx.maximum
        )
        assert lx.mean == pytest.approx(rx.mean, rel=1e-12)
        assert lx.variance == pytest.approx(rx.variance, rel=1e-10)
    assert left.columns["plan"].counts() == right.columns["plan"].counts()  # type: ignore[union-attr]
    expected = _decisions(one_pass, cur)
    for seed in range(6):
        order = np.random.default_rng(seed).permutation(len(parts))
        shuffled = merge_profiles([parts[i] for i in order])
        assert _decisions(shuffled, cur) == expected
        for name in ("x", "y", "ties"):
            s1, s2 = shuffled.columns[name], one_pass.columns[name]
            assert isinstance(s1, NumericSketch) and isinstance(s2, NumericSketch)
            d, bound = ks_distance(s1, s2)
            assert d <= bound  # same data: the two sketches differ by no more than their error
    # merging does not change its inputs
    assert parts[0].columns["x"].n_rows == 20_000


def test_bytes_and_json_round_trip_without_pickle() -> None:
    rng = np.random.default_rng(3)
    prof = SketchProfile.from_columns(_frame(rng, 30_000))
    raw = prof.to_bytes()
    assert b"pickle" not in raw and raw.startswith(b"MSSKETCH")
    text = json.dumps(prof.to_json())
    for back in (SketchProfile.from_bytes(raw), SketchProfile.from_json(text)):
        assert back.kinds == prof.kinds
        bx, px = back.columns["x"], prof.columns["x"]
        assert isinstance(bx, NumericSketch) and isinstance(px, NumericSketch)
        assert (bx.n_rows, bx.n_null, bx.mean, bx.m2, bx.minimum) == (
            px.n_rows, px.n_null, px.mean, px.m2, px.minimum
        )
        assert ks_distance(bx, px)[0] == 0.0
        assert back.columns["plan"].counts() == prof.columns["plan"].counts()  # type: ignore[union-attr]


def test_corrupt_or_foreign_bytes_raise_a_format_error() -> None:
    with pytest.raises(BaselineFormatError, match="magic"):
        SketchProfile.from_bytes(b"not a profile")
    prof = SketchProfile.from_columns({"x": np.arange(10.0)})
    with pytest.raises(BaselineFormatError):
        SketchProfile.from_bytes(prof.to_bytes()[:20])
    data = prof.to_json()
    data["format_version"] = 99
    with pytest.raises(BaselineFormatError, match="newer"):
        SketchProfile.from_json(data)


def test_merging_mismatched_profiles_is_a_clear_error() -> None:
    a = SketchProfile.from_columns({"x": np.arange(10.0)})
    b = SketchProfile.from_columns({"x": np.array(["a"] * 10)})
    with pytest.raises(DataError, match="numeric"):
        a.merge(b)
    c = SketchProfile.from_columns({"z": np.arange(10.0)})
    with pytest.raises(DataError, match="different columns"):
        a.merge(c)
    d = SketchProfile.from_columns({"x": np.arange(10.0)}, k=1024)
    with pytest.raises(DataError, match="k differs"):
        a.merge(d)
    with pytest.raises(ColumnTypeError, match="categorical"):
        SketchProfile.from_columns(
            {"x": np.array(["a", 1.0], dtype=object)}, kinds={"x": "numeric"}
        )


def test_high_cardinality_categories_state_their_count_error() -> None:
    rng = np.random.default_rng(4)
    n = 200_000
    values = np.concatenate(
        [np.array(["head"] * 50_000), rng.integers(0, 10**9, n - 50_000).astype(str)]
    )
    sk = CategoricalSketch("id").update(values)
    assert not sk.is_exact and sk.count_error > 0
    assert abs(sk.counts()["head"] - 50_000) <= sk.count_error
    assert sk.n_distinct == pytest.approx(len(np.unique(values)), rel=0.05)
    assert EXACT_CATEGORY_CAPACITY >= 1000


def test_empty_and_all_null_columns_give_defined_answers() -> None:
    prof = SketchProfile.from_columns(
        {"x": np.full(100, np.nan), "c": np.array([None] * 100, dtype=object)},
        kinds={"x": "numeric", "c": "categorical"},
    )
    x = prof.columns["x"]
    assert isinstance(x, NumericSketch)
    assert (x.n_rows, x.n_null, x.n_present, x.variance, x.n_distinct) == (100, 100, 0, 0.0, 0)
    other = NumericSketch("x").update(np.arange(10.0))
    assert sketch_ks(x, other).is_significant is False
    assert sketch_psi(x, other).psi == 0.0
    assert prof.to_json()["columns"][0]["minimum"] is None
    back = SketchProfile.from_bytes(prof.to_bytes())
    assert back.columns["c"].n_null == 100


def test_hyperloglog_distinct_counts_and_merges() -> None:
    from modelsteward.baseline.sketch import HyperLogLog

    rng = np.random.default_rng(9)
    for d in (1, 7, 300, 12_000, 60_000, 400_000):
        vals = rng.normal(size=d)
        parts = np.array_split(np.concatenate([vals, vals[: d // 2]]), 5)
        sketches = [HyperLogLog().update(p) for p in parts]
        left = sketches[0]
        for sk in sketches[1:]:
            left = left.merge(sk)
        right = sketches[-1]
        for sk in reversed(sketches[:-1]):
            right = sk.merge(right)
        assert np.array_equal(left.registers, right.registers)
        assert left.estimate() == pytest.approx(d, rel=0.04)
    back = HyperLogLog.from_bytes(left.to_bytes())
    assert back.estimate() == left.estimate()
    assert HyperLogLog().update(np.array([0.0, -0.0])).estimate() == pytest.approx(1.0, abs=0.01)
    assert HyperLogLog().estimate() == 0.0
