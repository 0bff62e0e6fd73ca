"""Issue 9 item 9: user strings printed through rich are escaped and stripped of control
characters: a column named ``[/]``, a model named ``[/]``, ANSI escapes in a feature name."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from modelsteward.baseline import Baseline
from modelsteward.cli import main

ANSI = "\x1b[31m"


def _frames(tmp_path, names):
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({n: rng.normal(size=600) for n in names})
    cur = pd.DataFrame({n: rng.normal(0.8, size=600) for n in names})
    ref_path, cur_path = tmp_path / "ref.csv", tmp_path / "cur.csv"
    ref.to_csv(ref_path, index=False)
    cur.to_csv(cur_path, index=False)
    return ref_path, cur_path


def test_drift_prints_markup_and_ansi_column_names_as_text(tmp_path) -> None:
    names = ["[/]", f"{ANSI}red[0m", "[bold]x", "ok"]
    ref, cur = _frames(tmp_path, names)
    res = CliRunner().invoke(main, ["drift", str(ref), str(cur)])
    assert res.exit_code == 0, (res.output, res.exception)
    assert "[/]" in res.output and "[bold]x" in res.output
    assert "\x1b" not in res.output
    assert "4 of 4 features drifted" in res.output
    bdir = tmp_path / "b"
    res = CliRunner().invoke(main, ["baseline", "fit", str(ref), str(bdir)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["baseline", "show", str(bdir)])
    assert res.exit_code == 0, (res.output, res.exception)
    assert "[/]" in res.output and "\x1b" not in res.output


def test_monitor_with_a_markup_model_name_and_ansi_feature(tmp_path, make_stream) -> None:
    frame = make_stream(weeks=3, shift={2: 1.0}, seed=9)
    frame = frame.rename(columns={"f2": f"f2{ANSI}"})
    base = Baseline.fit(frame.drop(columns=["timestamp", "prediction", "outcome"]).assign(
        **{f"f2{ANSI}": np.random.default_rng(1).normal(size=len(frame))}))
    bdir = tmp_path / "b"
    base.save(bdir)
    data = tmp_path / "prod.csv"
    frame.to_csv(data, index=False)
    alerts = tmp_path / "alerts.jsonl"
    res = CliRunner().invoke(main, ["monitor", "--model", "[/]", "--baseline", str(bdir),
                                    "--data", str(data), "--sink", "console", "--sink",
                                    f"jsonl:{alerts}", "--include-partial"])
    assert res.exit_code == 0, (res.output, res.exception)
    assert "[/] version unregistered" in res.output
    assert "\x1b" not in res.output
    assert "Alert timeline" in res.output
    assert alerts.read_text().strip()  # the alerts were sent before the summary printed
    res = CliRunner().invoke(main, ["monitor", "--model", "[/]", "--baseline", str(bdir),
                                    "--data", str(data), "--json"])
    assert json.loads(res.output)["model"]["name"] == "[/]"


def test_helpers() -> None:
    from modelsteward.cli._console import esc, plain

    assert plain("a\x1b[2J\x1b]0;pwned\x07b\x9b31mc\x00") == "abc"
    assert plain("x\ny", keep_newlines=False) == "xy"
    assert esc("[red]x[/red]") == "\\[red]x\\[/red]"
