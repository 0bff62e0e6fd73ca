"""Derived reference state (the KS cell grid, value multiplicities, the decoded sketch) is
fitted state of each column profile: saved with the baseline and restored by
``Baseline.load``, so the first check after loading rebuilds nothing; no module caches."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import modelsteward.baseline.profile as profile_module
from modelsteward.baseline import Baseline
from modelsteward.drift import detect_data_drift, detect_feature_degradation
from modelsteward.errors import BaselineFormatError

SRC = Path(__file__).resolve().parents[2] / "src" / "modelsteward"


def _data(seed: int, n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=n),
        "ties": np.round(rng.normal(size=n), 1),
        "c": rng.choice(np.array(["a", "b", "c"]), n),
    }


def test_first_check_after_load_rebuilds_no_grid(tmp_path: Path, monkeypatch) -> None:
    base = Baseline.fit(_data(0, 40_000))
    window = _data(1, 60_000)
    fresh_drift = detect_data_drift(base, window)
    fresh_alerts = detect_feature_degradation(base, window)
    loaded = Baseline.load(base.save(tmp_path))
    assert loaded.columns["x"]._fitted.keys() >= {"grid", "multiplicities"}

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the grid was rebuilt after Baseline.load")

    monkeypatch.setattr(profile_module, "build_grid", forbidden)
    assert detect_data_drift(loaded, window) == fresh_drift
    assert detect_feature_degradation(loaded, window) == fresh_alerts
    grid, saved = loaded.columns["x"].grid(), base.columns["x"].grid()
    assert grid is not None and saved is not None
    np.testing.assert_array_equal(grid.ref_before, saved.ref_before)


def test_tampered_fitted_state_is_a_format_error(tmp_path: Path) -> None:
    base = Baseline.fit(_data(0, 5_000))
    out = base.save(tmp_path)
    (path,) = out.glob("col00000.extra.fitted_grid_ref_before.npy")
    arr = np.load(path)
    arr[5] += 1_000_000  # no longer ends at the number of reference values / not monotone
    arr[-1] += 1
    np.save(path, arr)
    with pytest.raises(BaselineFormatError, match="fitted state"):
        Baseline.load(out)
    base.save(tmp_path)
    (path,) = out.glob("col00000.extra.fitted_mult_times.npy")
    np.save(path, np.load(path) * 2)
    with pytest.raises(BaselineFormatError, match="multiplicities"):
        Baseline.load(out)


def test_a_baseline_saved_without_fitted_state_still_loads(tmp_path: Path) -> None:
    """Baselines written before fitted state was saved load and fit it on first use."""
    base = Baseline.fit(_data(0, 5_000))
    out = base.save(tmp_path)
    for f in out.glob("*.fitted_*"):
        f.unlink()
    import json

    doc = json.loads((out / "baseline.json").read_text())
    for col in doc["columns"]:
        col["extra"] = {k: v for k, v in col["extra"].items() if not k.startswith("fitted_")}
    (out / "baseline.json").write_text(json.dumps(doc))
    loaded = Baseline.load(out)
    assert "grid" not in loaded.columns["x"]._fitted
    window = _data(2, 40_000)
    assert detect_data_drift(loaded, window) == detect_data_drift(base, window)


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
            "modelsteward"
        ):
            found.add(node.module)
    return found


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_no_import_circle_and_no_local_imports_in_the_rule_layers() -> None:
    """drift -> baseline -> stats, no cycle among their modules, and no function-local import
    of a modelsteward module used to break one (the old baseline <-> sketch_baseline <->
    sketch_checks circle)."""
    parts = ("baseline", "drift", "stats")
    files = [p for part in parts for p in (SRC / part).glob("*.py")]
    graph = {_module_name(p): _top_level_imports(p) for p in files}
    for p in files:
        if p.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith(
                        "modelsteward"
                    ):
                        pytest.fail(f"{p.name}:{inner.lineno} imports {inner.module} locally")
    state: dict[str, int] = {}

    def visit(mod: str, stack: list[str]) -> None:
        state[mod] = 1
        for dep in graph.get(mod, ()):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                pytest.fail("import circle: " + " -> ".join([*stack, mod, dep]))
            if dep not in state:
                visit(dep, [*stack, mod])
        state[mod] = 2

    for mod in graph:
        if mod not in state:
            visit(mod, [])
    order = {"stats": 0, "baseline": 1, "drift": 2}
    for mod, deps in graph.items():
        for dep in deps:
            a, b = mod.split(".")[1], dep.split(".")[1] if "." in dep[13:] else ""
            if a in order and b in order:
                assert order[b] <= order[a], f"{mod} imports {dep}: imports point down"


def test_sketch_baseline_with_a_long_tail_of_categories_saves_and_loads(tmp_path: Path) -> None:
    """Past the frequent-items capacity the sketch keeps only the head of the counts: its
    fitted state must not claim (or require) counts that add up to every row."""
    rng = np.random.default_rng(3)
    data = {"c": np.array([f"v{i}" for i in rng.integers(0, 20_000, 60_000)]),
            "x": rng.normal(size=60_000)}
    base = Baseline.fit(data, mode="sketch")
    loaded = Baseline.load(base.save(tmp_path))
    window = {"c": data["c"][:5_000], "x": data["x"][:5_000]}
    assert [a.alert_type for a in detect_feature_degradation(loaded, window)] == [
        a.alert_type for a in detect_feature_degradation(base, window)]
    assert loaded.columns["c"].categories_error > 0
