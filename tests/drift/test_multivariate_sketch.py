"""The joint reference in sketch mode: fitted on a reservoir sample taken while profiling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward.baseline import Baseline
from modelsteward.baseline.joint import RowSampler
from modelsteward.drift.multivariate import detect_reconstruction_drift

RHO = 0.8
WINDOW = 1_000


def frame(n: int, rho: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    a = rng.normal(size=n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
    d: dict[str, np.ndarray] = {"x": a, "y": b}
    for i in range(4):
        d[f"n{i}"] = rng.normal(size=n)
    d["c"] = rng.choice(np.array(["a", "b", "c"], dtype=object), size=n, p=[0.5, 0.3, 0.2])
    return d


def _catches_decoupling(base: Baseline) -> None:
    assert base.joint is not None
    assert base.joint.columns == ["x", "y", "n0", "n1", "n2", "n3", "c"]
    caught = quiet = 0
    for s in range(10):
        rng = np.random.default_rng(900 + s)
        caught += detect_reconstruction_drift(base.joint, frame(WINDOW, 0.0, rng),
                                              alpha=0.01).is_drifted
        quiet += not detect_reconstruction_drift(base.joint, frame(WINDOW, RHO, rng),
                                                 alpha=0.01).is_drifted
    assert caught >= 9
    assert quiet >= 9


def test_sketch_mode_fit_on_a_frame_has_a_joint_reference_that_sees_decoupling() -> None:
    base = Baseline.fit(frame(30_000, RHO, np.random.default_rng(3)), mode="sketch",
                        joint=True, sample_size=8_000)
    assert base.metadata["baseline_mode"] == "sketch"
    assert base.columns["x"].mode == "sketch"
    assert base.joint is not None and base.joint.sample.shape == (8_000, 7)
    _catches_decoupling(base)


def test_sketch_mode_fit_on_parquet_files_samples_across_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    for i in range(3):
        data = frame(10_000, RHO, rng)
        data["src"] = np.full(10_000, float(i))  # which file a row came from
        pq.write_table(pa.table(data), tmp_path / f"part-{i}.parquet")
    base = Baseline.fit(tmp_path, mode="sketch", joint=True, sample_size=6_000)
    assert base.joint is not None and base.joint.sample.shape[0] == 6_000
    src = base.joint.sample[:, base.joint.columns.index("src")]
    counts = np.bincount(src.astype(int), minlength=3)
    assert counts.min() > 1_700  # a uniform sample of the union, not the first file's rows
    reloaded = Baseline.load(base.save(tmp_path / "saved"))
    assert reloaded.joint is not None and reloaded.joint.n_components == base.joint.n_components


def test_sketch_mode_parquet_fit_catches_decoupling(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for i in range(2):
        pq.write_table(pa.table(frame(10_000, RHO, rng)), tmp_path / f"part-{i}.parquet")
    _catches_decoupling(Baseline.fit(tmp_path, mode="sketch", joint=True, sample_size=10_000))


def test_sketch_mode_without_joint_keeps_no_sample() -> None:
    base = Baseline.fit(frame(2_000, RHO, np.random.default_rng(6)), mode="sketch")
    assert base.joint is None


def test_row_samplers_merge_through_bytes_to_the_sample_of_the_union() -> None:
    kinds = {"v": "numeric", "c": "categorical"}
    whole = RowSampler(kinds, k=200, seed=0)
    parts = [RowSampler(kinds, k=200, seed=s) for s in (1, 2)]
    vals = np.arange(3_000.0)
    labels = np.array([f"k{i % 7}" for i in range(3_000)], dtype=object)
    labels[::50] = None
    for lo in range(0, 3_000, 500):  # batches smaller and larger than k
        batch = {"v": vals[lo:lo + 500], "c": labels[lo:lo + 500]}
        whole.update(batch)
        parts[lo // 1_500].update(batch)
    merged = RowSampler.from_bytes(parts[0].to_bytes()).merge(
        RowSampler.from_bytes(parts[1].to_bytes()))
    assert len(merged) == 200 and merged.n_seen == 3_000
    cols = merged.columns()
    assert len(set(cols["v"].tolist())) == 200
    assert (cols["v"] < 1_500).sum() > 60 and (cols["v"] >= 1_500).sum() > 60
    for v, c in zip(cols["v"], cols["c"], strict=True):  # rows stay whole
        assert c == (None if int(v) % 50 == 0 else f"k{int(v) % 7}")
    assert len(whole) == 200 and whole.n_seen == 3_000
