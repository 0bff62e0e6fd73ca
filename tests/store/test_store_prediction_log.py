"""The prediction log on SQLite and PostgreSQL: schema, writes, outcomes, read_frame."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelsteward.errors import StoreError, UnknownPredictionError
from modelsteward.store import GroupCommitWriter, PredictionLog
from modelsteward.store._schema import SCHEMA_VERSION

FEATURES = [
    {"age": 41.5, "visits": 3, "plan": "b", "active": True},
    {"age": 29.0, "visits": 0, "plan": "a", "active": False},
    {"age": 63.25, "visits": 12, "plan": "c", "active": True},
]


def test_default_location_is_steward_dir_in_wal_mode(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plog = PredictionLog()
    plog.log_predictions("m", "1", [{"x": 1.0}], [0.5])
    plog.close()
    db = tmp_path / ".steward" / "predictions.db"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("select count(*) from predictions").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"predictions", "outcomes", "steward_schema"} <= tables


def test_schema_version_recorded_and_newer_schema_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    plog = PredictionLog(url)
    assert plog.schema_version() == SCHEMA_VERSION
    plog.close()
    with sqlite3.connect(tmp_path / "p.db") as conn:
        conn.execute("update steward_schema set version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer"):
        PredictionLog(url)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://x@y/z", "nonsense"])
def test_unusable_urls_are_refused_with_a_fix(url: str) -> None:
    with pytest.raises(StoreError, match="sqlite:///"):
        PredictionLog(url)


def test_round_trip_frame_layout_and_types(log: PredictionLog) -> None:
    ids = log.log_predictions("churn", "3", FEATURES, [0.9, 0.1, 0.7])
    assert len(ids) == len(set(ids)) == 3
    log.log_predictions("other", "1", [{"z": 1.0}], [1])
    frame = log.read_frame("churn")
    assert list(frame.columns) == [
        "prediction_id", "timestamp", "model_name", "model_version",
        "age", "visits", "plan", "active", "prediction", "outcome", "outcome_timestamp",
    ]
    assert list(frame["prediction_id"]) == ids
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert frame["age"].dtype == np.float64 and frame["visits"].dtype == np.int64
    assert frame["plan"].tolist() == ["b", "a", "c"]
    assert frame["active"].tolist() == [True, False, True]
    assert frame["prediction"].dtype == np.float64
    assert frame["prediction"].tolist() == [0.9, 0.1, 0.7]
    assert frame["outcome"].isna().all() and frame["outcome_timestamp"].isna().all()
    assert set(frame["model_version"]) == {"3"}


def test_outcomes_join_unknown_rejected_duplicates_idempotent(log: PredictionLog) -> None:
    ids = log.log_predictions("churn", "1", FEATURES, [1, 0, 1])
    assert log.log_outcomes({ids[0]: 1, ids[2]: 0.0}) == 2
    assert log.log_outcomes({ids[0]: 1}) == 0  # same outcome again: no-op
    with pytest.raises(UnknownPredictionError) as info:
        log.log_outcomes({ids[1]: 1.0, "nope-1": 0.0, "nope-2": 1.0})
    assert "nope-1" in str(info.value) and "nope-2" in str(info.value)
    assert info.value.ids == ["nope-1", "nope-2"]  # type: ignore[attr-defined]
    frame = log.read_frame("churn").set_index("prediction_id")
    assert frame.loc[ids[0], "outcome"] == 1.0 and frame.loc[ids[2], "outcome"] == 0.0
    assert np.isnan(frame.loc[ids[1], "outcome"])  # the rejected batch wrote nothing
    assert frame["outcome_timestamp"].notna().sum() == 2
    with pytest.raises(StoreError, match="not a number"):
        log.log_outcomes({ids[1]: "yes"})  # type: ignore[dict-item]


def test_time_and_version_filters(log: PredictionLog) -> None:
    rows = PredictionLog.make_rows("m", "1", FEATURES[:2], [0, 1], timestamp=1_000.0)
    log.write_rows(rows)
    log.write_rows(PredictionLog.make_rows("m", "2", FEATURES[2:], [1], timestamp=2_000.0))
    assert len(log.read_frame("m", since=1_500)) == 1
    assert len(log.read_frame("m", until=pd.Timestamp(1_500, unit="s", tz="UTC"))) == 2
    assert len(log.read_frame("m", since="1970-01-01T00:16:40", until=2_000.0)) == 2
    assert log.read_frame("m", model_version="2")["model_version"].tolist() == ["2"]
    empty = log.read_frame("absent")
    assert empty.empty and "prediction_id" in empty.columns and "outcome" in empty.columns


def test_concurrent_outcomes_for_the_same_ids(log: PredictionLog) -> None:
    ids = log.log_predictions("c", "1", [{"x": float(i)} for i in range(60)], [0] * 60)
    # 6 threads send overlapping outcome sets: every id twice
    chunks = [dict.fromkeys(ids[i * 20:(i + 1) * 20], 1.0) for i in range(3)] * 2
    with ThreadPoolExecutor(6) as pool:
        recorded = list(pool.map(log.log_outcomes, chunks))
    assert sum(recorded) == 60
    frame = log.read_frame("c")
    assert frame["outcome"].notna().all()


def test_group_commit_batches_waiting_writers(tmp_path: Path) -> None:
    class SlowLog(PredictionLog):
        gate = threading.Event()
        calls: list[int] = []

        def write_rows(self, rows: Any) -> None:
            self.calls.append(len(rows))
            self.gate.wait(10)
            super().write_rows(rows)

    plog = SlowLog(f"sqlite:///{tmp_path / 'g.db'}")
    writer = GroupCommitWriter(plog)
    first = writer.submit(plog.make_rows("g", "1", [{"x": 0.0}], [0]))
    while not plog.calls:  # the writer is now inside its first commit
        threading.Event().wait(0.01)
    rest = [writer.submit(plog.make_rows("g", "1", [{"x": float(i)}], [i])) for i in range(10)]
    assert writer.backlog == 11
    assert not first.done()  # nothing is acknowledged before its commit
    SlowLog.gate.set()
    for fut in [first, *rest]:
        fut.result(timeout=10)
    assert plog.calls == [1, 10]  # ten waiting requests, one transaction
    assert writer.backlog == 0 and plog.count("g") == 11
    writer.close()
    plog.close()


def test_group_commit_isolates_a_bad_request(tmp_path: Path) -> None:
    plog = PredictionLog(f"sqlite:///{tmp_path / 'b.db'}")
    good = plog.make_rows("b", "1", [{"x": 1.0}], [0])
    dup = plog.make_rows("b", "1", [{"x": 2.0}], [1], ids=[good[0][0]])  # duplicate key
    plog.write_rows(good)
    writer = GroupCommitWriter(plog)
    fine = plog.make_rows("b", "1", [{"x": 3.0}], [1])
    futs = [writer.submit(dup), writer.submit(fine)]
    with pytest.raises(StoreError):
        futs[0].result(timeout=10)
    futs[1].result(timeout=10)
    assert plog.count("b") == 2
    writer.close()
    plog.close()


def test_read_frame_is_fast_enough_for_the_monitor(tmp_path: Path) -> None:
    plog = PredictionLog(f"sqlite:///{tmp_path / 'big.db'}")
    rng = np.random.default_rng(0)
    feats = [{"a": float(v), "b": int(v * 10), "c": "x"} for v in rng.normal(size=20_000)]
    plog.log_predictions("big", "1", feats, [float(v) for v in rng.random(20_000)])
    frame = plog.read_frame("big")
    assert len(frame) == 20_000
    np.testing.assert_allclose(frame["a"].to_numpy(), [f["a"] for f in feats])
    assert frame["b"].dtype == np.int64
    plog.close()


def test_sqlite_synchronous_level_from_the_url(tmp_path: Path) -> None:
    normal = PredictionLog(f"sqlite:///{tmp_path / 's.db'}?synchronous=normal")
    assert normal.synchronous == "NORMAL"
    normal.log_predictions("s", "1", [{"x": 1.0}], [0])
    with normal._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    normal.close()
    full = PredictionLog(f"sqlite:///{tmp_path / 's.db'}")
    with full._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL, the default
    assert full.count("s") == 1
    full.close()
    with pytest.raises(StoreError, match="synchronous=off"):
        PredictionLog(f"sqlite:///{tmp_path / 's.db'}?synchronous=off")


def test_commit_in_place_only_when_the_writer_is_idle(tmp_path: Path) -> None:
    plog = PredictionLog(f"sqlite:///{tmp_path / 'i.db'}")
    writer = GroupCommitWriter(plog)
    assert writer.try_commit_now(plog.make_rows("i", "1", [{"x": 1.0}], [0]))
    assert plog.count("i") == 1
    with writer._commit_lock:  # the writer thread is committing: callers must queue
        assert not writer.try_commit_now(plog.make_rows("i", "1", [{"x": 2.0}], [0]))
    futs = writer.submit_many([plog.make_rows("i", "1", [{"x": float(i)}], [i])
                               for i in range(5)])
    for fut in futs:
        fut.result(timeout=10)
    assert plog.count("i") == 6
    writer.close()
    plog.close()


def test_large_write_keeps_every_row_value_and_order(log: PredictionLog) -> None:
    """1,003 rows go through the multi-row INSERTs (128/32/8 rows) and a row-by-row rest."""
    from modelsteward.store import new_prediction_ids

    rng = np.random.default_rng(7)
    n = 1003
    columns = {"x": rng.normal(size=n).round(6).tolist(),
               "k": rng.integers(-5, 5, size=n).tolist(),
               "big": [2**70] + [1] * (n - 1),  # beyond 64 bits: the stdlib encoder's job
               "tag": [f"t,{i}" for i in range(n)]}  # commas inside strings
    preds = [float("nan")] + rng.random(size=n - 1).tolist()
    ids = new_prediction_ids(n)
    assert len(set(ids)) == n and ids == sorted(ids) and all(len(i) == 32 for i in ids)
    log.write_rows(PredictionLog.make_rows_from_columns("big", "2", columns, preds, ids=ids))
    frame = log.read_frame("big")
    assert frame["prediction_id"].tolist() == ids
    assert frame["x"].tolist() == columns["x"]
    assert frame["k"].tolist() == columns["k"]
    assert frame["tag"].tolist() == columns["tag"]
    assert int(frame["big"].iloc[0]) == 2**70
    assert np.isnan(frame["prediction"].iloc[0])
    assert frame["prediction"].iloc[1:].tolist() == preds[1:]


def test_a_duplicate_id_in_a_large_write_writes_nothing(log: PredictionLog) -> None:
    from modelsteward.store import new_prediction_ids

    ids = new_prediction_ids(200)
    ids[150] = ids[3]
    # nested values keep one JSON row per prediction (plain columns: one batch row)
    rows = PredictionLog.make_rows_from_columns("dup", "1", {"x": [[1.0]] * 200}, [0] * 200,
                                                ids=ids)
    assert len(rows) == 200 and not getattr(rows, "batches", None)
    with pytest.raises(StoreError):
        log.write_rows(rows)
    assert log.count("dup") == 0


def test_a_failing_group_of_batches_writes_none_of_them(log: PredictionLog) -> None:
    """Two batched requests in one transaction, the second reusing the first's batch id:
    neither is written (the batch row and its predictions are one insert)."""
    from modelsteward.store import new_prediction_ids
    from modelsteward.store.prediction_log import RowList

    ids = new_prediction_ids(64)
    one = PredictionLog.make_rows_from_columns("dupb", "1", {"x": [1.0] * 64}, [0] * 64, ids=ids)
    two = PredictionLog.make_rows_from_columns("dupb", "1", {"x": [2.0] * 64}, [1] * 64, ids=ids)
    with pytest.raises(StoreError):
        log.write_rows(RowList.join([one, two]))
    assert log.count("dupb") == 0 and log.read_frame("dupb").empty
    log.write_rows(one)
    assert log.count("dupb") == 64


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan"), 10**400, "inf"])
def test_non_finite_outcomes_are_refused_and_nothing_is_written(log: PredictionLog,
                                                                 bad: Any) -> None:
    ids = log.log_predictions("churn", "1", FEATURES[:2], [1, 0])
    with pytest.raises(StoreError, match="not a finite number"):
        log.log_outcomes({ids[0]: 1.0, ids[1]: bad})
    assert log.read_frame("churn")["outcome"].isna().all()  # not even the good one
    assert log.log_outcomes({ids[1]: 0.0}) == 1  # the real outcome is still accepted


def test_sqlite_log_and_its_new_directory_are_private(tmp_path: Path) -> None:
    import stat

    directory = tmp_path / "project" / ".steward"
    plog = PredictionLog(f"sqlite:///{directory / 'predictions.db'}")
    plog.log_predictions("m", "1", FEATURES[:1], [1])
    try:
        files = [directory / "predictions.db", directory / "predictions.db-wal"]
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    finally:
        plog.close()
    existing = tmp_path / "shared"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    PredictionLog(f"sqlite:///{existing / 'p.db'}").close()
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755  # a directory we did not make
    assert stat.S_IMODE((existing / "p.db").stat().st_mode) == 0o600


def test_store_errors_hold_no_password_or_secret_query() -> None:
    with pytest.raises(StoreError) as info:
        PredictionLog("postgresql://ml:hunter2@127.0.0.1:1/db?sslpassword=q-secret-9")
    text = str(info.value)
    assert "127.0.0.1" in text
    assert "hunter2" not in text and "q-secret-9" not in text


def test_non_finite_time_bounds_are_refused(tmp_path: Path) -> None:
    plog = PredictionLog(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        plog.log_predictions("m", "1", FEATURES[:1], [1])
        for bad in (float("nan"), float("inf"), 10**400):
            with pytest.raises(StoreError, match="not a time"):
                plog.read_frame("m", since=bad)
        assert len(plog.read_frame("m", since=0)) == 1
    finally:
        plog.close()
