"""Pieces of the service without a server: batching, validation, config, metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelsteward.errors import ConfigError, DataError
from modelsteward.serve.batching import MicroBatcher, split_predictions
from modelsteward.serve.config import ServeConfig, stage_alias
from modelsteward.serve.metrics import Metrics
from modelsteward.serve.validation import InputSchema, ParsedBatch, RequestValidationError

SCHEMA = InputSchema.from_spec([("x", "double", True), ("n", "long", True),
                                ("tag", "string", False)])


def test_concurrent_requests_share_one_model_call() -> None:
    calls: list[int] = []

    def predict(columns: dict[str, list[Any]]) -> np.ndarray:
        calls.append(len(columns["x"]))
        return np.asarray(columns["x"]) * 2

    async def main() -> list[list[Any]]:
        batcher = MicroBatcher(predict)
        batches = [ParsedBatch({"x": [float(i), float(i) + 0.5]}, 2) for i in range(10)]
        return await asyncio.gather(*(batcher.predict(b) for b in batches))

    results = asyncio.run(main())
    assert calls == [20]  # ten requests, one call
    assert results == [[2.0 * i, 2.0 * i + 1.0] for i in range(10)]  # each gets its own rows


def test_a_failing_request_does_not_fail_its_neighbours() -> None:
    def predict(columns: dict[str, list[Any]]) -> list[float]:
        if any(v < 0 for v in columns["x"]):
            raise ValueError("negative input")
        return list(columns["x"])

    async def main() -> list[Any]:
        batcher = MicroBatcher(predict)
        batches = [ParsedBatch({"x": [v]}, 1) for v in (1.0, -1.0, 3.0)]
        return await asyncio.gather(*(batcher.predict(b) for b in batches),
                                    return_exceptions=True)

    good, bad, other = asyncio.run(main())
    assert good == [1.0] and other == [3.0] and isinstance(bad, ValueError)


def test_split_predictions_shapes() -> None:
    assert split_predictions(np.array([1, 0]), 2) == [1, 0]
    assert split_predictions(pd.Series(["a", "b"]), 2) == ["a", "b"]
    assert split_predictions(np.array([[0.2, 0.8], [0.6, 0.4]]), 2) == [[0.2, 0.8], [0.6, 0.4]]
    frame = pd.DataFrame({"p": [0.1, 0.2], "q": [1, 2]})
    assert split_predictions(frame, 2) == [{"p": 0.1, "q": 1}, {"p": 0.2, "q": 2}]
    with pytest.raises(ValueError, match="3 predictions for 2 rows"):
        split_predictions([1, 2, 3], 2)


def test_validation_types_and_frame_dtypes() -> None:
    batch = SCHEMA.parse([{"x": 1, "n": 2.0, "tag": "a"}, {"x": 2.5, "n": 3}])
    assert batch.columns == {"x": [1.0, 2.5], "n": [2, 3], "tag": ["a", None]}
    frame = SCHEMA.frame(batch.columns)
    assert frame["x"].dtype == np.float64 and frame["n"].dtype == np.int64
    assert list(frame.columns) == ["x", "n", "tag"]
    for body, field in [
        ([{"x": float("inf"), "n": 1}], "x"),
        ([{"x": "1", "n": 1}], "x"),
        ([{"x": 1.0, "n": True}], "n"),
        ({"columns": {"x": [1.0, 2.0], "n": [1]}}, "n"),
        ([{"x": 1.0, "n": 1, "tag": ["a"]}], "tag"),
    ]:
        with pytest.raises(RequestValidationError) as info:
            SCHEMA.parse(body)
        assert info.value.field == field


def test_tensor_signature_is_refused_with_a_fix() -> None:
    from mlflow.types.schema import Schema, TensorSpec

    with pytest.raises(DataError, match="column signature"):
        InputSchema.from_mlflow(Schema([TensorSpec(np.dtype("float64"), (-1, 3))]))


def test_stage_alias_and_config() -> None:
    assert stage_alias("Production") == "production" and stage_alias("STAGING") == "staging"
    with pytest.raises(ConfigError, match="production or --stage staging"):
        stage_alias("archived")
    with pytest.raises(ConfigError):
        ServeConfig(model_name="m", poll_interval=0)
    cfg = ServeConfig(model_name="m", token="t")
    assert ServeConfig.from_json(cfg.to_json()) == cfg
    assert cfg.to_dict()["token"] == "***"


def test_metrics_histogram_is_cumulative() -> None:
    m = Metrics()
    for seconds in (0.0005, 0.003, 0.003, 20.0):
        m.observe("/predict", 200, seconds)
    text = m.render({"steward_x": ("help", [({"a": 'q"'}, 1.0)])})
    assert 'steward_request_duration_seconds_bucket{route="/predict",le="0.001"} 1' in text
    assert 'steward_request_duration_seconds_bucket{route="/predict",le="0.005"} 3' in text
    assert 'steward_request_duration_seconds_bucket{route="/predict",le="10.0"} 3' in text
    assert 'steward_request_duration_seconds_bucket{route="/predict",le="+Inf"} 4' in text
    assert 'steward_x{a="q\\""} 1' in text


def test_models_without_signature_take_records_or_columns() -> None:
    from modelsteward.serve.validation import schemaless_parse

    batch = schemaless_parse([{"a": 1, "b": "x"}, {"b": "y", "c": 2.5}])
    assert batch.n_rows == 2
    assert batch.columns == {"a": [1, None], "b": ["x", "y"], "c": [None, 2.5]}
    assert schemaless_parse({"columns": {"a": [1, 2]}}).n_rows == 2
    for bad in ([], {"columns": {"a": [1], "b": [1, 2]}}, [1, 2], "x"):
        with pytest.raises(RequestValidationError):
            schemaless_parse(bad)


def test_nan_predictions_answer_null() -> None:
    import json

    from modelsteward.serve.app import _json

    response = _json({"predictions": [1.0, float("nan"), [float("inf")]]})
    assert json.loads(response.body) == {"predictions": [1.0, None, [None]]}


def test_body_parser_falls_back_for_what_orjson_rejects() -> None:
    """NaN literals and huge ints still parse (validation then names them); bad JSON fails."""
    from modelsteward.serve.app import _read_json

    class _Req:
        def __init__(self, body: bytes) -> None:
            self.body = body

        async def stream(self) -> Any:
            yield self.body

    def parse(body: bytes) -> Any:
        return asyncio.run(_read_json(_Req(body), 1 << 20))  # type: ignore[arg-type]

    assert parse(b'[{"x": 1.5, "n": 2}]') == [{"x": 1.5, "n": 2}]
    value = parse(b'[{"x": NaN, "n": 123456789012345678901234567890}]')
    assert np.isnan(value[0]["x"]) and value[0]["n"] == 123456789012345678901234567890
    with pytest.raises(RequestValidationError, match="finite"):
        SCHEMA.parse(value)
    with pytest.raises(ValueError):
        parse(b'[{"x": 1.5,')


def test_model_calls_known_to_be_short_run_on_the_loop_and_long_ones_in_the_executor() -> None:
    """The first call goes to the executor; then a call expected (the last one's duration,
    scaled up by rows) to take under 2 ms runs on the loop, a bigger or slower one does not."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        batcher = MicroBatcher(lambda columns: list(columns["x"]), pool)
        asyncio.run(batcher.predict(ParsedBatch({"x": [1.0] * 1000}, 1000)))
        assert batcher.offloaded == 1 and batcher._last_rows == 1000
        batcher._last_seconds = 0.0015  # a 1,000-row call took 1.5 ms
        assert batcher._inline(ParsedBatch({"x": [1.0]}, 1000))
        assert batcher._inline(ParsedBatch({"x": [1.0]}, 10))  # never scaled down
        assert not batcher._inline(ParsedBatch({"x": [1.0]}, 2000))  # 3 ms expected
        batcher._last_seconds = 0.004  # the model got slow: back to the executor
        assert not batcher._inline(ParsedBatch({"x": [1.0]}, 1000))
        batcher._last_seconds = 0.0001
        asyncio.run(batcher.predict(ParsedBatch({"x": [1.0] * 500}, 500)))
        assert batcher.offloaded == 1 and batcher._last_rows == 500  # ran on the loop


def test_a_lone_request_commits_in_place_unless_others_are_in_progress() -> None:
    from modelsteward.serve.app import _LogCoalescer

    class Writer:
        def __init__(self) -> None:
            self.inline: list[int] = []
            self.queued: list[int] = []

        def try_commit_now(self, rows: list[Any]) -> bool:
            self.inline.append(len(rows))
            return True

        def submit_many(self, parts: list[list[Any]]) -> list[Any]:
            from concurrent.futures import Future

            self.queued += [len(p) for p in parts]
            futures: list[Future[None]] = [Future() for _ in parts]
            for f in futures:
                f.set_result(None)
            return futures

    busy = {"v": False}
    writer = Writer()
    coalescer = _LogCoalescer(writer, lambda: busy["v"])  # type: ignore[arg-type]

    async def main() -> None:
        await coalescer.commit([(1,)] * 1000)  # alone: committed on the loop
        busy["v"] = True
        await coalescer.commit([(1,)] * 1000)  # others in progress: the writer thread
        busy["v"] = False
        await coalescer.commit([(1,)] * 1001)  # over INLINE_COMMIT_ROWS: the writer thread

    asyncio.run(main())
    assert writer.inline == [1000] and writer.queued == [1000, 1001]
