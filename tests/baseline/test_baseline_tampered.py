"""Baseline.load on a tampered directory: a BaselineFormatError naming the file and field,
never a raw TypeError, RecursionError or MemoryError, and never silently wrong arrays."""

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelsteward.baseline import Baseline
from modelsteward.drift import detect_data_drift
from modelsteward.errors import BaselineError, BaselineFormatError


def _saved(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    data = {"x": rng.normal(size=200), "c": np.array(["a", "b"] * 100)}
    return Baseline.fit(data, predictions=data["x"], outcomes=data["x"] * 2 + 1).save(
        tmp_path / "b"
    )


def _edit(root: Path, change: Any) -> None:
    path = root / "baseline.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _x_file(root: Path, key: str) -> Path:
    doc = json.loads((root / "baseline.json").read_text())
    return root / doc["columns"][0]["arrays"][key]


def test_an_untouched_baseline_still_loads(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    b = Baseline.load(root)
    assert b.feature_names == ["x", "c"] and b.concept is not None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.__setitem__("columns", {"x": 1}), "columns must be a list"),
        (lambda d: d["columns"].__setitem__(0, "x"), r"columns\[0\] must be an object"),
        (lambda d: d["columns"][0].__setitem__("n_rows", "200"), r"columns\[0\].n_rows"),
        (lambda d: d["columns"][0].__setitem__("n_rows", True), r"columns\[0\].n_rows"),
        (lambda d: d["columns"][0].__setitem__("n_null", 10**6), r"columns\[0\].n_null"),
        (lambda d: d["columns"][0].__setitem__("kind", "image"), r"columns\[0\].kind"),
        (lambda d: d["columns"][0].__setitem__("mean", [1]), r"columns\[0\].mean"),
        (lambda d: d["columns"][0].pop("name"), r"columns\[0\].name"),
        (lambda d: d["columns"][0].__setitem__("arrays", ["a.npy"]), r"columns\[0\].arrays"),
        (lambda d: d["columns"][0].__setitem__("extra", {"k": 3}), r"columns\[0\].extra.k"),
        (lambda d: d["columns"][1].__setitem__("category_counts", {"a": -1}), "category_counts"),
        (lambda d: d["columns"][1].__setitem__("category_counts", {"a": 1}), "add up to 1"),
        (lambda d: d.__setitem__("metadata", "x"), "metadata must be an object"),
        (lambda d: d.__setitem__("concept", {"correlation": "high"}), "concept.correlation"),
        (lambda d: d.__setitem__("n_bins", 10**9), "n_bins"),
        (lambda d: d.__setitem__("created_at", 5), "created_at"),
        (lambda d: d["columns"].append(dict(d["columns"][1])), "repeats the column name 'c'"),
    ],
)
def test_wrong_structure_names_the_field(tmp_path: Path, change: Any, field: str) -> None:
    root = _saved(tmp_path)
    _edit(root, change)
    with pytest.raises(BaselineFormatError, match=field) as info:
        Baseline.load(root)
    assert "baseline.json" in str(info.value)


def test_non_finite_json_numbers_are_refused(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    path = root / "baseline.json"
    path.write_text(path.read_text().replace('"variance": ', '"variance": NaN, "v0": ', 1))
    with pytest.raises(BaselineFormatError, match="NaN"):
        Baseline.load(root)


def test_deeply_nested_json(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    (root / "baseline.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BaselineFormatError, match="baseline.json.*nested too deeply"):
        Baseline.load(root)


def test_nested_json_inside_a_field(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    path = root / "baseline.json"
    text = path.read_text().replace('"metadata": {}', '"metadata": ' + "[" * 50_000 + "]" * 50_000)
    path.write_text(text)
    with pytest.raises(BaselineFormatError, match="nested too deeply"):
        Baseline.load(root)


def test_lying_npy_header_is_refused_before_allocating(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    target = _x_file(root, "sorted_values")
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"
    header += " " * (117 - len(header)) + "\n"  # magic 6 + version 2 + length 2 + header 118
    target.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    assert target.stat().st_size == 128
    with pytest.raises(BaselineFormatError, match=r"sorted_values.*claims 100000000000 values"):
        Baseline.load(root)


def test_truncated_npy_and_object_dtype(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    target = _x_file(root, "sorted_values")
    target.write_bytes(target.read_bytes()[:-8])
    with pytest.raises(BaselineFormatError, match="sorted_values"):
        Baseline.load(root)
    target.write_bytes(b"garbage")
    with pytest.raises(BaselineFormatError, match="sorted_values.*not a readable .npy"):
        Baseline.load(root)


def test_unsorted_sorted_values_are_refused(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    target = _x_file(root, "sorted_values")
    values = np.load(target)
    np.save(target, values[::-1].copy())
    with pytest.raises(BaselineFormatError, match="sorted_values.*not sorted"):
        Baseline.load(root)
    nan_tail = values.copy()
    nan_tail[0] = np.nan
    np.save(target, nan_tail)
    with pytest.raises(BaselineFormatError, match="sorted_values"):
        Baseline.load(root)


def test_string_sorted_values_are_refused(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    target = _x_file(root, "sorted_values")
    np.save(target, np.sort(np.load(target).astype(str)))
    with pytest.raises(BaselineFormatError, match="sorted_values.*dtype"):
        Baseline.load(root)


def test_wrong_length_and_shape(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    target = _x_file(root, "sorted_values")
    values = np.load(target)
    np.save(target, values[:-1])
    with pytest.raises(BaselineFormatError, match="holds 199 values but the manifest says 200"):
        Baseline.load(root)
    np.save(target, values.reshape(20, 10))
    with pytest.raises(BaselineFormatError, match="one-dimensional"):
        Baseline.load(root)


def test_psi_arrays_must_agree(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    counts = _x_file(root, "psi_reference_counts")
    c = np.load(counts)
    np.save(counts, c[:-1])
    with pytest.raises(BaselineFormatError, match="psi_reference_counts"):
        Baseline.load(root)
    np.save(counts, c.astype(np.float64))
    with pytest.raises(BaselineFormatError, match="psi_reference_counts.*dtype"):
        Baseline.load(root)
    np.save(counts, c)
    edges = _x_file(root, "psi_edges")
    np.save(edges, np.load(edges)[::-1].copy())
    with pytest.raises(BaselineFormatError, match="psi_edges"):
        Baseline.load(root)


def test_a_validated_reload_gives_the_same_results(tmp_path: Path) -> None:
    root = _saved(tmp_path)
    rng = np.random.default_rng(1)
    window = {"x": rng.normal(0.3, 1, 300), "c": np.array(["a"] * 200 + ["b"] * 100)}
    before = [r.to_dict() for r in detect_data_drift(Baseline.load(root), window)]
    assert before == [r.to_dict() for r in detect_data_drift(Baseline.load(root), window)]
    assert issubclass(BaselineFormatError, BaselineError)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda raw: raw[:40],
        lambda raw: raw[:8] + b"\xff" * 8 + raw[16:],
        lambda raw: raw[:-50],
        lambda raw: raw[:8] + b"[" * 50_000,
        lambda raw: raw[:4] + struct.pack("<I", 2) + b"[]",
    ],
)
def test_corrupt_sketch_blobs_fail_at_load_naming_the_file(tmp_path: Path, corrupt: Any) -> None:
    data = {"x": np.arange(1_000.0), "c": np.array(["a", "b"] * 500)}
    root = Baseline.fit(data, mode="sketch").save(tmp_path / "s")
    for blob in sorted(root.glob("*.bin")):
        raw = blob.read_bytes()
        blob.write_bytes(corrupt(raw))
        with pytest.raises(BaselineFormatError, match=rf"{blob.name}.*extra.sketch"):
            Baseline.load(root)
        blob.write_bytes(raw)
    Baseline.load(root)
