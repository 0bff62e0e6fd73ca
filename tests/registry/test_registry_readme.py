"""The README's Registry example runs, in order, on a fresh registry."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _registry_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Registry"):]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Registry section has one python example"
    return blocks[0]


def test_readme_registry_example_runs_on_a_fresh_registry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, template_db: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".steward").mkdir()
    shutil.copy(template_db, tmp_path / ".steward" / "mlflow.db")  # empty, already migrated
    namespace: dict[str, object] = {}
    exec(compile(_registry_block(), "README.md", "exec"), namespace)  # noqa: S102

    from modelsteward.registry import current_version, history

    assert current_version("churn_model").version == "1"  # rolled back to the first release
    assert [(m.version, m.to_stage, m.kind) for m in history("churn_model")] == [
        ("1", "Production", "promote"), ("2", "Production", "promote"),
        ("1", "Archived", "replace"), ("1", "Production", "rollback"),
        ("2", "Archived", "rollback")]
    assert hasattr(namespace["model"], "predict_proba")
    assert namespace["baseline"].columns  # type: ignore[attr-defined]
