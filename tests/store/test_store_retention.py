"""Export to partitioned Parquet and prune by age, on SQLite and PostgreSQL, also while a
writer commits (issue 13 item 3)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.errors import StoreError
from modelsteward.store import GroupCommitWriter, PredictionLog, export_parquet, parse_age, prune

DAY = 86_400.0
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()  # a midnight UTC


def _fill(log: PredictionLog) -> dict[str, dict[str, Any]]:
    """Three days x two models; churn switches version on day 2. Returns id -> expected."""
    expected: dict[str, dict[str, Any]] = {}
    for day in range(3):
        for model, version in (("churn", "1" if day < 1 else "2"), ("fraud", "7")):
            feats = [{"age": 20.0 + day + i, "plan": f"p{i}", "date": f"d{day}"}
                     for i in range(4)]
            preds = [0.1 * i + day for i in range(4)]
            rows = log.make_rows(model, version, feats, preds, timestamp=T0 + day * DAY + 3600)
            log.write_rows(rows)
            for row, f, p in zip(rows, feats, preds, strict=True):
                expected[row[0]] = {"model": model, "version": version, "day": day,
                                    "prediction": p, **f}
    outcome_ids = [pid for pid, e in expected.items() if e["plan"] == "p0"]
    log.log_outcomes({pid: 1.0 for pid in outcome_ids}, timestamp=T0 + 5 * DAY)
    for pid in outcome_ids:
        expected[pid]["outcome"] = 1.0
    return expected


def test_export_writes_hive_partitions_with_every_value(log: PredictionLog,
                                                        tmp_path: Path) -> None:
    expected = _fill(log)
    out = tmp_path / "export"
    result = export_parquet(log, out, since=T0 + DAY, until=T0 + 3 * DAY)
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table().to_pandas()
    want = {pid: e for pid, e in expected.items() if e["day"] in (1, 2)}
    assert result.rows == len(table) == len(want) == 16
    assert set(table["prediction_id"]) == set(want)
    assert sorted(set(result.partitions)) == [
        ("churn", "2", "2026-03-02"), ("churn", "2", "2026-03-03"),
        ("fraud", "7", "2026-03-02"), ("fraud", "7", "2026-03-03")]
    dirs = {p.relative_to(out).parent.as_posix() for p in out.rglob("*.parquet")}
    assert "model=churn/version=2/date=2026-03-02" in dirs and len(dirs) == 4
    for rec in table.to_dict("records"):
        e = want[rec["prediction_id"]]
        assert (rec["model"], str(rec["version"])) == (e["model"], e["version"])
        assert str(rec["date"]) == (dt.date(2026, 3, 1) + dt.timedelta(days=e["day"])).isoformat()
        assert rec["age"] == e["age"] and rec["plan"] == e["plan"]
        assert rec["feature_date"] == e["date"]  # a feature named like a partition key
        assert rec["prediction"] == pytest.approx(e["prediction"])
        assert rec["timestamp"].timestamp() == pytest.approx(T0 + e["day"] * DAY + 3600)
        if "outcome" in e:
            assert rec["outcome"] == 1.0
        else:
            assert rec["outcome"] != rec["outcome"]  # NaN


def test_export_again_replaces_instead_of_duplicating(log: PredictionLog,
                                                      tmp_path: Path) -> None:
    _fill(log)
    out = tmp_path / "export"
    export_parquet(log, out, model_name="fraud")
    export_parquet(log, out, model_name="fraud")
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 12
    assert set(table.column("model").to_pylist()) == {"fraud"}


def test_export_refuses_an_empty_window(log: PredictionLog, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not after"):
        export_parquet(log, tmp_path / "x", since=T0 + DAY, until=T0)


def test_prune_dry_run_deletes_nothing_then_prune_deletes_old_with_outcomes(
        log: PredictionLog) -> None:
    expected = _fill(log)
    now = T0 + 2 * DAY + 7200  # day 0 and day 1 rows are older than 1 day; day 2 not
    dry = prune(log, older_than=DAY, dry_run=True, now=now)
    assert (dry.predictions, dry.outcomes, dry.dry_run) == (16, 4, True)
    assert log.count() == 24
    assert log.read_frame("churn")["outcome"].notna().sum() == 3
    done = prune(log, older_than=DAY, now=now)
    assert (done.predictions, done.outcomes) == (16, 4)
    kept = set(log.prediction_ids())
    assert kept == {pid for pid, e in expected.items() if e["day"] == 2}
    frame = log.read_frame("fraud")
    assert frame["outcome"].notna().sum() == 1
    with log._engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM outcomes")).scalar_one() == 2


def test_export_and_prune_while_a_writer_commits(log: PredictionLog, tmp_path: Path) -> None:
    _fill(log)
    writer = GroupCommitWriter(log)
    stop = threading.Event()
    acked: list[str] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set():
                rows = log.make_rows("churn", "3", [{"age": 1.0, "plan": "x", "date": "n"}] * 50,
                                     [0.5] * 50)
                writer.submit(rows).result(timeout=30)
                acked.extend(r[0] for r in rows)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while len(acked) < 200:
            time.sleep(0.01)
        result = export_parquet(log, tmp_path / "export", until=T0 + 3 * DAY)
        pruned = prune(log, older_than=time.time() - (T0 + 3 * DAY))
        while len(acked) < 400:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=60)
        writer.close()
    assert not errors
    assert result.rows == 24 and pruned.predictions == 24 and pruned.outcomes == 6
    assert set(log.prediction_ids()) == set(acked)  # every acknowledged row, nothing old


def test_parse_age() -> None:
    assert parse_age("180d") == 180 * DAY
    assert parse_age("2w") == 14 * DAY
    assert parse_age("90m") == 5400
    for bad in ("180", "d", "-3d", "1y"):
        with pytest.raises(StoreError, match="180d"):
            parse_age(bad)


def test_log_export_and_prune_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    plog = PredictionLog(url)
    _fill(plog)
    plog.close()
    runner = CliRunner()
    res = runner.invoke(main, ["log", "export", "--log", url, "--model", "churn",
                               "--since", "2026-03-02", "--until", "2026-03-03",
                               "--to", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "exported 4 predictions" in res.output
    table = ds.dataset(tmp_path / "out", partitioning="hive").to_table()
    assert set(table.column("model").to_pylist()) == {"churn"} and table.num_rows == 4
    res = runner.invoke(main, ["log", "prune", "--log", url, "--older-than", "1d",
                               "--dry-run", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["predictions"] == 24  # every row is months old
    res = runner.invoke(main, ["log", "prune", "--log", url, "--older-than", "1d"])
    assert res.exit_code == 0 and "deleted 24 predictions and 6 outcomes" in res.output
    res = runner.invoke(main, ["log", "prune", "--log", url, "--older-than", "soon"])
    assert res.exit_code == 2 and "180d" in res.output


@pytest.mark.integration
@pytest.mark.slow
def test_spark_reads_the_export(tmp_path: Path) -> None:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    plog = PredictionLog(f"sqlite:///{tmp_path / 'p.db'}")
    _fill(plog)
    export_parquet(plog, tmp_path / "out")
    plog.close()
    spark = (pyspark_sql.SparkSession.builder.master("local[1]").appName("steward-export")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        df = spark.read.parquet(str(tmp_path / "out"))
        assert df.count() == 24
        assert {"model", "version", "date", "timestamp", "age"} <= set(df.columns)
        by = {(r["model"], str(r["version"])): r["count"]
              for r in df.groupBy("model", "version").count().collect()}
        assert by == {("churn", "1"): 4, ("churn", "2"): 8, ("fraud", "7"): 8 + 4}
    finally:
        spark.stop()
