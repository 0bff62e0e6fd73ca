"""Schema 2: requests of many rows keep their features as one Arrow IPC stream; schema 3:
such a request is one row holding its predictions too (ids ``<batch>-<row>``); logs of
schemas 1 and 2 are migrated in place and stay readable (issue 13 items 1 and 2)."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelsteward.store import PredictionLog, new_prediction_ids, prune
from modelsteward.store._schema import SCHEMA_VERSION

N = 120


def _columns(offset: int = 0) -> dict[str, list[Any]]:
    return {
        "age": [20.5 + i + offset for i in range(N)],
        "visits": [i % 7 for i in range(N)],
        "active": [i % 3 == 0 for i in range(N)],
        "plan": ["abc"[i % 3] + ("," if i % 5 == 0 else "") for i in range(N)],
        "score": [math.nan if i % 11 == 0 else i / 10 for i in range(N)],
    }


def _records(cols: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


@pytest.fixture(params=["sqlite", "postgresql"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Two empty logs: one written row by row (JSON), one by columns (Arrow batches)."""
    if request.param == "sqlite":
        urls = [f"sqlite:///{tmp_path / 'json.db'}", f"sqlite:///{tmp_path / 'arrow.db'}"]
    else:
        base = request.getfixturevalue("store_pg_url")
        urls = [base, base]
    logs = [PredictionLog(u) for u in urls]
    if request.param == "postgresql":
        from sqlalchemy import text

        with logs[0]._writer_engine.begin() as conn:
            for table in ("outcomes", "predictions", "feature_batches"):
                conn.execute(text(f"DELETE FROM {table}"))
    yield logs
    for log in logs:
        log.close()


def _write_both(json_log: PredictionLog, arrow_log: PredictionLog, model: str) -> list[str]:
    all_ids = []
    for k, (version, ts) in enumerate((("1", 1_000.0), ("1", 2_000.0), ("2", 3_000.0))):
        cols = _columns(100 * k)
        preds = [i % 2 for i in range(N)]
        ids = new_prediction_ids(N)  # the JSON log's ids differ (one PostgreSQL database)
        json_log.write_rows(PredictionLog.make_rows(model + "_j", version, _records(cols), preds,
                                                    ids=new_prediction_ids(N), timestamp=ts))
        rows = PredictionLog.make_rows_from_columns(model + "_a", version, cols, preds, ids=ids,
                                                    timestamp=ts)
        assert len(getattr(rows, "batches", [])) == 1 and not rows  # ONE row for the request
        ids = rows.ids  # "<batch id>-<row>"
        assert ids is not None and len(set(ids)) == N
        arrow_log.write_rows(rows)
        small = {"age": [1.5], "visits": [3], "active": [True], "plan": ["z"], "score": [0.5]}
        one = new_prediction_ids(1)  # a small request keeps JSON: the two layouts interleave
        for log, name, pid in ((json_log, model + "_j", new_prediction_ids(1)),
                               (arrow_log, model + "_a", one)):
            log.write_rows(PredictionLog.make_rows_from_columns(
                name, version, small, [1], ids=pid, timestamp=ts + 1))
        all_ids += ids + one
    return all_ids


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.drop(columns=["model_name", "prediction_id"])
    b = b.drop(columns=["model_name", "prediction_id"])
    pd.testing.assert_frame_equal(a, b)


def test_arrow_batches_read_back_as_the_json_layout(pair: list[PredictionLog]) -> None:
    json_log, arrow_log = pair
    ids = _write_both(json_log, arrow_log, "lay")
    full_j, full_a = json_log.read_frame("lay_j"), arrow_log.read_frame("lay_a")
    assert full_a["prediction_id"].tolist() == ids
    _same(full_j, full_a)
    assert full_a["plan"].iloc[0] == "a," and math.isnan(full_a["score"].iloc[0])
    assert full_a["visits"].dtype.kind == "i" and full_a["active"].dtype == bool
    _same(json_log.read_frame("lay_j", since=1_500, until=3_000.5),
          arrow_log.read_frame("lay_a", since=1_500, until=3_000.5))
    _same(json_log.read_frame("lay_j", model_version="2"),
          arrow_log.read_frame("lay_a", model_version="2"))
    with arrow_log._engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM feature_batches WHERE model_name = "
                                 "'lay_a'")).scalar_one() == 3
        # schema 3: a batched request is one row of feature_batches, none of predictions
        assert conn.execute(text("SELECT count(*) FROM predictions WHERE model_name = "
                                 "'lay_a'")).scalar_one() == 3
    assert arrow_log.count("lay_a") == 3 * (N + 1) == json_log.count("lay_j")
    assert arrow_log.prediction_ids("lay_a") == ids


def test_prune_removes_the_arrow_batches_of_pruned_rows(pair: list[PredictionLog]) -> None:
    _, arrow_log = pair
    _write_both(pair[0], arrow_log, "pr")
    prune(arrow_log, older_than=0.0, now=2_500.0)  # the first two requests go
    frame = arrow_log.read_frame("pr_a")
    assert len(frame) == N + 1 and set(frame["model_version"]) == {"2"}
    with arrow_log._engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM feature_batches WHERE model_name = "
                                 "'pr_a'")).scalar_one() == 1


_V1_DDL = """
CREATE TABLE steward_schema (id INTEGER NOT NULL, version INTEGER NOT NULL,
    created_at FLOAT NOT NULL, PRIMARY KEY (id));
CREATE TABLE predictions (id VARCHAR(32) NOT NULL, ts FLOAT NOT NULL,
    model_name VARCHAR(256) NOT NULL, model_version VARCHAR(64) NOT NULL,
    features TEXT NOT NULL, prediction TEXT NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_predictions_model_ts ON predictions (model_name, ts);
CREATE TABLE outcomes (prediction_id VARCHAR(32) NOT NULL, ts FLOAT NOT NULL,
    value FLOAT NOT NULL, PRIMARY KEY (prediction_id),
    FOREIGN KEY(prediction_id) REFERENCES predictions (id));
INSERT INTO steward_schema VALUES (1, 1, 0.0);
"""


def test_a_schema_1_log_is_migrated_and_stays_readable(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # the tables exactly as modelsteward 0.x made them
        conn.executescript(_V1_DDL)
        conn.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?)", [
            ("a" * 32, 10.0, "old", "1", '{"age":41.5,"plan":"b"}', "0.25"),
            ("b" * 32, 11.0, "old", "1", '{"age":29,"plan":"a"}', "0.75"),
        ])
        conn.execute("INSERT INTO outcomes VALUES (?, ?, ?)", ("a" * 32, 12.0, 1.0))
    log = PredictionLog(f"sqlite:///{db}")
    assert log.schema_version() == SCHEMA_VERSION == 3
    before = log.read_frame("old")
    assert before["prediction_id"].tolist() == ["a" * 32, "b" * 32]
    assert before["age"].tolist() == [41.5, 29.0] and before["plan"].tolist() == ["b", "a"]
    assert before["prediction"].tolist() == [0.25, 0.75]
    assert before["outcome"].iloc[0] == 1.0 and math.isnan(before["outcome"].iloc[1])
    cols = {"age": [float(i) for i in range(40)], "plan": ["c"] * 40}
    log.write_rows(PredictionLog.make_rows_from_columns("old", "2", cols, [0.5] * 40,
                                                        ids=new_prediction_ids(40),
                                                        timestamp=20.0))
    after = log.read_frame("old")
    assert len(after) == 42 and after["model_version"].tolist() == ["1", "1"] + ["2"] * 40
    assert after["age"].tolist() == [41.5, 29.0] + [float(i) for i in range(40)]
    pd.testing.assert_frame_equal(after.iloc[:2], before)
    log.close()
    PredictionLog(f"sqlite:///{db}").close()  # opening again: no second migration
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version FROM steward_schema").fetchone()[0] == 3


def test_read_rows_is_the_window_read_frame_decodes(pair: list[PredictionLog]) -> None:
    """The public seam the monitor's tolerant reader uses: only the window's rows, the Arrow
    batches they point at, and the same frame as read_frame."""
    _, arrow_log = pair
    _write_both(*pair, model="seam")
    read = arrow_log.read_rows("seam_a", since=1_500.0, until=3_500.0)
    assert {r[1] for r in read.rows} == {2_000.0, 2_001.0, 3_000.0, 3_001.0}
    assert len(read.rows) == 2 * (N + 1)
    assert sorted(read.blobs) == sorted({r[8] for r in read.rows if r[8] is not None})
    assert len(read.blobs) == 2
    frame = arrow_log.read_frame("seam_a", since=1_500.0, until=3_500.0)
    pd.testing.assert_frame_equal(read.to_frame(), frame)
    unordered = arrow_log.read_rows("seam_a", ordered=False)
    assert len(unordered.rows) == 3 * (N + 1)


def test_json_rows_decode_column_wise_with_the_stdlib_values(tmp_path: Path) -> None:
    """Single-row requests' JSON is decoded in chunks by orjson; a chunk holding NaN or an int
    beyond 64 bits falls back to the stdlib parser, and rows with other keys keep theirs."""
    log = PredictionLog(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        rows = [({"a": float(i), "b": "x"}, i) for i in range(20)]
        rows += [({"a": math.nan, "b": "y"}, 2**70), ({"a": 1.5, "c": True}, 0.25)]
        for k, (feats, pred) in enumerate(rows):
            log.write_rows(PredictionLog.make_rows("m", "1", [feats], [pred],
                                                   timestamp=1_000.0 + k))
        frame = log.read_frame("m")
        assert list(frame["a"][:20]) == [float(i) for i in range(20)]
        assert math.isnan(frame["a"][20]) and frame["a"][21] == 1.5
        assert frame["prediction"][20] == 2**70 and frame["prediction"][21] == 0.25
        assert frame["c"][21] is True or frame["c"][21] == 1
        assert frame["b"][20] == "y" and pd.isna(frame["b"][21])
    finally:
        log.close()


_V2_DDL = _V1_DDL.replace("INSERT INTO steward_schema VALUES (1, 1, 0.0);", """
ALTER TABLE predictions ADD COLUMN batch_id VARCHAR(32);
ALTER TABLE predictions ADD COLUMN batch_row INTEGER;
CREATE TABLE feature_batches (id VARCHAR(32) NOT NULL, ts FLOAT NOT NULL,
    model_name VARCHAR(256) NOT NULL, n_rows INTEGER NOT NULL, features BLOB NOT NULL,
    PRIMARY KEY (id));
CREATE INDEX ix_feature_batches_model_ts ON feature_batches (model_name, ts);
INSERT INTO steward_schema VALUES (1, 2, 0.0);
""")


def test_a_schema_2_log_is_migrated_its_batched_rows_stay_readable(tmp_path: Path) -> None:
    """Schema 2 kept one predictions row per batched row (pointing at the Arrow block) and a
    foreign key on outcomes: after the migration those rows read as before, take outcomes,
    and new batched requests (one row each) take outcomes by their derived ids."""
    import pyarrow as pa

    db = tmp_path / "v2.db"
    table = pa.table({"age": [30.5, 31.5, 32.5], "plan": ["a", "b", "c"]})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    bid = "c" * 32
    with sqlite3.connect(db) as conn:  # a batch of 3 rows as schema 2 wrote it
        conn.executescript(_V2_DDL)
        conn.execute("INSERT INTO feature_batches VALUES (?, ?, ?, ?, ?)",
                     (bid, 10.0, "old", 3, sink.getvalue().to_pybytes()))
        conn.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (f"{i}" * 32, 10.0, "old", "1", "", str(i / 10), bid, i) for i in range(3)])
        conn.execute("INSERT INTO outcomes VALUES (?, ?, ?)", ("0" * 32, 12.0, 1.0))
    log = PredictionLog(f"sqlite:///{db}")
    try:
        assert log.schema_version() == SCHEMA_VERSION == 3
        before = log.read_frame("old")
        assert before["prediction_id"].tolist() == [f"{i}" * 32 for i in range(3)]
        assert before["age"].tolist() == [30.5, 31.5, 32.5]
        assert before["plan"].tolist() == ["a", "b", "c"]
        assert before["prediction"].tolist() == [0.0, 0.1, 0.2]
        assert before["outcome"].iloc[0] == 1.0 and before["outcome"].iloc[1:].isna().all()
        assert log.count("old") == 3
        assert log.log_outcomes({"1" * 32: 0.0}) == 1  # an old row still takes an outcome
        cols = {"age": [float(i) for i in range(40)], "plan": ["d"] * 40}
        rows = PredictionLog.make_rows_from_columns("old", "2", cols, [0.5] * 40,
                                                    ids=new_prediction_ids(40), timestamp=20.0)
        log.write_rows(rows)
        assert rows.ids is not None
        # no foreign key any more: a batched row's outcome is accepted
        assert log.log_outcomes({rows.ids[39]: 1.0}) == 1
        after = log.read_frame("old")
        assert len(after) == 43 and log.count("old") == 43
        assert after["prediction_id"].tolist()[3:] == rows.ids
        assert after["outcome"].iloc[1] == 0.0 and after["outcome"].iloc[42] == 1.0
        assert after["outcome"].iloc[3:42].isna().all()
        changed = ["outcome", "outcome_timestamp"]  # row 1's outcome came after `before`
        pd.testing.assert_frame_equal(after.iloc[:3].drop(columns=changed),
                                      before.drop(columns=changed))
    finally:
        log.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA foreign_key_list(outcomes)").fetchall() == []


def test_outcomes_of_batched_rows_are_checked_and_read_back(pair: list[PredictionLog]
                                                            ) -> None:
    """A derived id names an existing batch and a row below its size; anything else is
    reported unknown and nothing is written. Pruning the batch removes its outcomes."""
    from modelsteward.errors import UnknownPredictionError

    _, log = pair
    ids = _write_both(*pair, model="oc")
    batched = [pid for pid in ids if "-" in pid]
    assert len(batched) == 3 * N
    bid = batched[0].split("-")[0]
    bad = [f"{bid}-{N:07d}", f"{bid}-1", "f" * 24 + "-0000000", f"{bid}-000000x"]
    for wrong in bad:
        with pytest.raises(UnknownPredictionError) as info:
            log.log_outcomes({batched[0]: 1.0, wrong: 0.0})
        assert info.value.ids == [wrong]  # type: ignore[attr-defined]
    assert log.read_frame("oc_a")["outcome"].isna().all()  # nothing was written
    assert log.log_outcomes({batched[0]: 1.0, batched[-1]: 0.0, ids[N]: 1.0}) == 3
    assert log.log_outcomes({batched[0]: 0.0}) == 0  # the first outcome is kept
    frame = log.read_frame("oc_a").set_index("prediction_id")
    assert frame.loc[batched[0], "outcome"] == 1.0 and frame.loc[batched[-1], "outcome"] == 0.0
    assert frame.loc[ids[N], "outcome"] == 1.0 and frame["outcome"].notna().sum() == 3
    # the first batch (t=1000) and the single row after it (t=1001), one outcome each
    # (on PostgreSQL the JSON log's model shares the database: its N + 1 go too)
    old = (N + 1) * (2 if pair[0].url == log.url else 1)
    dry = prune(log, older_than=0.0, now=1_500.0, dry_run=True)
    assert (dry.predictions, dry.outcomes) == (old, 2)
    done = prune(log, older_than=0.0, now=1_500.0)
    assert (done.predictions, done.outcomes) == (old, 2)
    assert log.count("oc_a") == 2 * N + 2 and log.read_frame("oc_a")["outcome"].notna().sum() == 1
    with pytest.raises(UnknownPredictionError):
        log.log_outcomes({batched[1]: 1.0})  # its batch was pruned


def test_a_schema_2_log_on_postgresql_loses_the_outcomes_foreign_key(
        postgres_database: Any) -> None:
    """PostgreSQL: the migration drops the outcomes' foreign key (a batched row has no
    predictions row) and adds the batch column; old outcomes stay."""
    from sqlalchemy import create_engine, inspect, text

    url = postgres_database("ms_v2")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    ddl = [s for s in _V2_DDL.replace("BLOB", "BYTEA").split(";") if s.strip()]
    with engine.begin() as conn:
        for statement in ddl:
            conn.execute(text(statement))
        conn.exec_driver_sql("INSERT INTO predictions VALUES ('" + "a" * 32 + "', 1.0, 'm', "
                             "'1', '{\"x\":1}', '0.5', NULL, NULL)")
        conn.exec_driver_sql("INSERT INTO outcomes VALUES ('" + "a" * 32 + "', 2.0, 1.0)")
        assert inspect(conn).get_foreign_keys("outcomes")
    log = PredictionLog(url)
    try:
        assert log.schema_version() == 3
        rows = PredictionLog.make_rows_from_columns("m", "1", {"x": [1.0] * 40}, [0] * 40,
                                                    ids=new_prediction_ids(40), timestamp=3.0)
        log.write_rows(rows)
        assert rows.ids is not None and log.log_outcomes({rows.ids[5]: 0.0}) == 1
        frame = log.read_frame("m")
        assert len(frame) == 41 and frame["outcome"].notna().sum() == 2
        with engine.connect() as conn:
            assert inspect(conn).get_foreign_keys("outcomes") == []
    finally:
        log.close()
        engine.dispose()
