"""`steward drift`, `steward baseline fit/show`, and the README's drift example."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from modelsteward.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"age": rng.normal(40, 10, 3000), "plan": rng.choice(["a", "b"], 3000)})
    cur = pd.DataFrame({"age": rng.normal(45, 10, 800), "plan": rng.choice(["a", "b"], 800)})
    cur.loc[:100, "plan"] = None
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.csv"


def test_drift_json_worst_first(tmp_path: Path) -> None:
    ref, cur = _files(tmp_path)
    out = CliRunner().invoke(main, ["drift", str(ref), str(cur), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert [r["feature"] for r in doc["drift"]][0] == "age"
    assert doc["drift"][0]["is_drifted"] and doc["n_drifted"] >= 1
    assert {a["alert_type"] for a in doc["degradation"]} == {"null_rate"}


def test_drift_table_and_threshold(tmp_path: Path) -> None:
    ref, cur = _files(tmp_path)
    out = CliRunner().invoke(main, ["drift", str(ref), str(cur), "--p-threshold", "1e-300"])
    assert out.exit_code == 0, out.output
    assert "age" in out.output and "null_rate" in out.output


def test_baseline_fit_show_then_drift_against_it(tmp_path: Path) -> None:
    ref, cur = _files(tmp_path)
    runner = CliRunner()
    out = runner.invoke(
        main, ["baseline", "fit", str(ref), str(tmp_path / "bl"), "--kind", "plan=categorical"]
    )
    assert out.exit_code == 0, out.output
    assert (tmp_path / "bl" / "baseline.json").is_file()
    shown = runner.invoke(main, ["baseline", "show", str(tmp_path / "bl"), "--json"])
    assert json.loads(shown.output)["columns"][0]["name"] == "age"
    table = runner.invoke(main, ["baseline", "show", str(tmp_path / "bl")], env={"COLUMNS": "200"})
    assert "categorical" in table.output
    out = runner.invoke(main, ["drift", str(tmp_path / "bl"), str(cur), "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["drift"][0]["feature"] == "age"


def test_cli_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    ref, _ = _files(tmp_path)
    bad = tmp_path / "x.txt.json"
    bad.write_text("{}")
    runner = CliRunner()
    out = runner.invoke(main, ["drift", str(ref), str(bad)])
    assert out.exit_code == 2 and "error:" in out.output
    out = runner.invoke(main, ["baseline", "fit", str(ref), str(tmp_path / "o"), "--kind", "age"])
    assert out.exit_code != 0
    out = runner.invoke(
        main, ["baseline", "fit", str(ref), str(tmp_path / "o"), "--kind", "nope=numeric"]
    )
    assert out.exit_code == 2 and "error:" in out.output
    out = runner.invoke(main, ["baseline", "show", str(tmp_path)])
    assert out.exit_code == 2 and "no baseline.json" in out.output


def test_readme_ten_line_example_runs(capsys) -> None:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    example = next(b for b in blocks if "detect_feature_degradation" in b)
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "age ks" in printed and "plan chi2" in printed
    assert "unseen_categories" not in printed or "DegradationAlert" in printed
