"""Issue 9 items 2 and 13: bad rows in the prediction log or in files never stop the monitor;
they are skipped, counted per window and reported. Text outcomes are mapped or explained."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
from click.testing import CliRunner

from modelsteward.baseline import Baseline
from modelsteward.cli import main
from modelsteward.monitor import run_monitor


def _fill_log(url: str, frame: pd.DataFrame, model: str = "churn") -> list[str]:
    from modelsteward.store import PredictionLog

    log = PredictionLog(url)
    features = frame.drop(columns=["timestamp", "prediction", "outcome"])
    rows = []
    for rec, pred, ts in zip(features.to_dict("records"), frame["prediction"],
                             frame["timestamp"], strict=True):
        rows += PredictionLog.make_rows(model, "2", [rec], [pred], timestamp=ts.timestamp())
    log.write_rows(rows)
    ids = [r["id"] if isinstance(r, dict) else r[0] for r in rows]
    log.log_outcomes({i: y for i, y in zip(ids, frame["outcome"], strict=True)
                      if not np.isnan(y)})
    log.close()
    return ids


def _poison(db, ids: list[str]) -> None:
    """Write bad rows straight into the log with SQL, bypassing the service."""
    con = sqlite3.connect(db)
    with con:
        # 12 infinite outcomes in the first week, 3 text outcomes in the second
        for pid in ids[:12]:
            con.execute("UPDATE outcomes SET value = ? WHERE prediction_id = ?", (1e400, pid))
        for pid in ids[700:703]:
            con.execute("UPDATE outcomes SET value = 'yes' WHERE prediction_id = ?", (pid,))
        # 5 rows of the third week with features that are not JSON
        for pid in ids[1400:1405]:
            con.execute("UPDATE predictions SET features = '{not json' WHERE id = ?", (pid,))
        # 2 non-finite predictions in the fourth week
        for pid in ids[2100:2102]:
            con.execute("UPDATE predictions SET prediction = 'Infinity' WHERE id = ?", (pid,))
    con.close()


def test_bad_rows_in_the_log_are_skipped_counted_and_reported(
        tmp_path, baseline, make_stream) -> None:
    frame = make_stream(weeks=4, seed=61)
    db = tmp_path / "predictions.db"
    url = f"sqlite:///{db}"
    ids = _fill_log(url, frame)
    _poison(db, ids)
    rep = run_monitor("churn", url, baseline=baseline, model_version="2", sinks=[])
    skipped = [w.skipped for w in rep.windows]
    assert skipped == [{"non-finite outcome": 12},
                       {"text outcome (the model's classes are not recorded)": 3},
                       {"undecodable features JSON": 5},
                       {"non-finite prediction": 2}]
    assert "12 rows skipped: non-finite outcome" in rep.windows[0].notes
    assert rep.windows[2].n_rows == 700 - 5 and rep.windows[2].status == "ok"
    assert all(w.concept is not None and w.concept.correlation is not None
               for w in rep.windows)
    doc = json.loads(rep.to_json())
    assert doc["summary"]["skipped_rows"]["non-finite outcome"] == 12
    assert doc["windows"][0]["skipped_rows"] == {"non-finite outcome": 12}
    paths = rep.write(tmp_path / "report")
    html = paths["html"].read_text()
    assert "12 rows skipped: non-finite outcome" in html

    res = CliRunner().invoke(main, ["monitor", "--model", "churn", "--log", url,
                                    "--baseline", _save(baseline, tmp_path), "--sink",
                                    f"jsonl:{tmp_path / 'a.jsonl'}"])
    assert res.exit_code == 0, res.output
    assert "12 rows skipped: non-finite outcome" in res.output
    assert "5 rows skipped: undecodable features JSON" in res.output


def _save(baseline: Baseline, tmp_path) -> str:
    path = tmp_path / "baseline"
    if not path.exists():
        baseline.save(path)
    return str(path)


def test_bad_rows_in_a_csv_never_stop_the_monitor(tmp_path, baseline, make_stream) -> None:
    frame = make_stream(weeks=3, seed=62)
    frame["outcome"] = frame["outcome"].astype(object)
    frame.loc[3, "outcome"] = "inf"
    frame.loc[4, "outcome"] = "[1, 2]"
    frame["prediction"] = frame["prediction"].astype(object)
    frame.loc[800, "prediction"] = "-inf"
    frame["timestamp"] = frame["timestamp"].astype(str)
    frame.loc[1500, "timestamp"] = "not a time"
    data = tmp_path / "prod.csv"
    frame.to_csv(data, index=False)
    res = CliRunner().invoke(main, ["monitor", "--model", "churn", "--data", str(data),
                                    "--baseline", _save(baseline, tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["windows"][0]["skipped_rows"] == {"non-finite outcome": 1,
                                                 "text outcome (the model's classes are not "
                                                 "recorded)": 1}
    assert doc["windows"][1]["skipped_rows"] == {"non-finite prediction": 1}
    assert doc["summary"]["skipped_rows"]["unreadable timestamp"] == 1


def test_text_outcomes_are_mapped_when_the_baseline_records_the_classes(
        tmp_path, make_stream) -> None:
    rng = np.random.default_rng(3)
    cols = {"f0": rng.normal(size=3000), "f1": rng.normal(size=3000)}
    p = 1 / (1 + np.exp(-(1.2 * cols["f0"] - 0.8 * cols["f1"])))
    y = (rng.uniform(size=p.size) < p).astype(float)
    with_classes = Baseline.fit(cols, predictions=p, outcomes=y,
                                metadata={"classes": '["no", "yes"]'})
    without = Baseline.fit(cols, predictions=p, outcomes=y)
    frame = make_stream(weeks=2, seed=63)[["timestamp", "f0", "f1", "prediction", "outcome"]]
    text = frame.assign(outcome=np.where(frame["outcome"] == 1, "yes", "no"))

    mapped = run_monitor("churn", text, baseline=with_classes, sinks=[])
    numeric = run_monitor("churn", frame, baseline=with_classes, sinks=[])
    assert [w.concept.correlation for w in mapped.windows] == \
        [w.concept.correlation for w in numeric.windows]
    assert mapped.windows[0].concept.coverage == 1.0
    assert any("no=0, yes=1" in n for n in mapped.warnings)

    ignored = run_monitor("churn", text, baseline=without, sinks=[])
    assert any("text labels ('no', 'yes')" in n and "classes" in n for n in ignored.warnings)
    assert ignored.windows[0].skipped == {
        "text outcome (the model's classes are not recorded)": 700}

    booleans = run_monitor("churn", frame.assign(outcome=frame["outcome"] == 1), baseline=without,
                       sinks=[])
    assert [w.concept.correlation for w in booleans.windows] == \
        [w.concept.correlation for w in numeric.windows]


def test_empty_and_garbage_files_give_one_line_errors(tmp_path, baseline) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.csv"
    header_only.write_text("\n")
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"\x00\x01not parquet at all" * 10)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    runner = CliRunner()
    bdir = _save(baseline, tmp_path)
    cases = [
        ["monitor", "--model", "churn", "--baseline", bdir, "--data", str(empty)],
        ["monitor", "--model", "churn", "--baseline", bdir, "--data", str(header_only)],
        ["monitor", "--model", "churn", "--baseline", bdir, "--data", str(garbage)],
        ["monitor", "--model", "churn", "--baseline", bdir, "--data", str(binary)],
        ["drift", str(empty), str(empty)],
        ["drift", str(garbage), str(empty)],
        ["drift", str(binary), str(binary)],
        ["baseline", "fit", str(empty), str(tmp_path / "b1")],
        ["baseline", "fit", str(garbage), str(tmp_path / "b2")],
        ["baseline", "fit", str(binary), str(tmp_path / "b3")],
    ]
    for args in cases:
        res = runner.invoke(main, args)
        assert res.exit_code == 2, (args, res.output, res.exception)
        assert res.output.startswith("error: "), (args, res.output)
        assert res.output.count("\n") == 1, (args, res.output)
        assert "Traceback" not in res.output


def test_reading_a_log_never_creates_a_database_or_tables(tmp_path, baseline) -> None:
    bdir = _save(baseline, tmp_path)
    typo = tmp_path / "typo.db"
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE mine (a)")
    con.commit()
    con.close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not sqlite" * 100)
    for db, says in ((typo, "does not exist"), (other, "not a modelsteward prediction log"),
                     (garbage, "not a SQLite database")):
        res = CliRunner().invoke(main, ["monitor", "--model", "churn", "--baseline", bdir,
                                        "--log", f"sqlite:///{db}"])
        assert res.exit_code == 2 and says in res.output, res.output
        assert res.output.count("\n") == 1
    assert not typo.exists()
    con = sqlite3.connect(other)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["mine"]
    con.close()


def test_baseline_fit_bounds_bins_and_reports_an_unwritable_out_dir(tmp_path) -> None:
    data = tmp_path / "n.csv"
    pd.DataFrame({"x": np.arange(100.0)}).to_csv(data, index=False)
    res = CliRunner().invoke(main, ["baseline", "fit", str(data), str(tmp_path / "b"),
                                    "--bins", str(10**9)])
    assert res.exit_code == 2 and "--bins" in res.output  # refused before allocating
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = CliRunner().invoke(main, ["baseline", "fit", str(data), str(afile)])
    assert res.exit_code == 2, (res.output, res.exception)
    assert res.output.startswith("error: ") and res.output.count("\n") == 1


def test_a_feature_value_of_the_wrong_type_is_skipped_not_fatal(
        tmp_path, baseline, make_stream) -> None:
    frame = make_stream(weeks=2, seed=64)
    db = tmp_path / "predictions.db"
    ids = _fill_log(f"sqlite:///{db}", frame)
    con = sqlite3.connect(db)
    with con:
        row = json.loads(con.execute("SELECT features FROM predictions WHERE id = ?",
                                     (ids[0],)).fetchone()[0])
        for pid, f0, plan in ((ids[0], "text", "basic"), (ids[1], {"a": 1}, ["x"]),
                              (ids[800], [1, 2], {"k": "v"})):
            row.update(f0=f0, plan=plan)
            con.execute("UPDATE predictions SET features = ? WHERE id = ?",
                        (json.dumps(row), pid))
    con.close()
    rep = run_monitor("churn", f"sqlite:///{db}", baseline=baseline, sinks=[])
    assert rep.windows[0].skipped == {"feature 'f0' not a number": 2}
    assert rep.windows[1].skipped == {"feature 'f0' not a number": 1}
    assert all(w.status == "ok" for w in rep.windows)
