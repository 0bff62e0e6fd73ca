"""Spark adapter: sketch profiles and samples of a Spark DataFrame, baselines fitted on Spark,
and per-window summaries for the monitor.

Each partition is profiled where it lives (``mapInArrow``: Arrow batches in, one serialised
:class:`~modelsteward.baseline.sketch.SketchProfile` out), and the partition profiles are
tree-merged (``treeReduce``); only profiles, never rows, reach the driver. Nothing here
judges: the monitor's Spark window source
(:class:`modelsteward.monitor.spark_source.SparkSource`) hands the summaries of
:func:`summarize_windows` to the same measure → judge → alerts → sinks → report pipeline as
every other source. Needs the ``spark`` extra (``pip install 'modelsteward[spark]'``).

    from pyspark.sql import SparkSession
    from modelsteward import run_monitor
    from modelsteward.monitor.spark_source import SparkSource
    from modelsteward.spark import baseline_from_spark

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    baseline = baseline_from_spark(spark.read.parquet("s3://bucket/train/").drop("label"))
    source = SparkSource(spark.read.parquet("s3://bucket/prod/"), baseline,
                         timestamp_col="ts", prediction_col="score", outcome_col="label")
    report = run_monitor("churn_model", None, baseline=baseline, source=source)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from modelsteward.baseline.baseline import baseline_from_profile
from modelsteward.baseline.columns import infer_kind
from modelsteward.baseline.concept import ConceptReference
from modelsteward.baseline.joint import RowSampler
from modelsteward.baseline.sketch import DEFAULT_K, SketchProfile
from modelsteward.baseline.sketch_baseline import joint_from_sampler
from modelsteward.baseline.streaming import (
    _numpy_of,
    profile_dataset,
    resolve_kinds,
    update_profile_from_arrow,
)
from modelsteward.errors import ConfigError, DataError, MissingColumnError
from modelsteward.io import dataset_schema, resolve_paths

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from modelsteward.baseline import Baseline

__all__ = [
    "WindowSummaries",
    "baseline_from_spark",
    "profile_files_on_spark",
    "profile_spark",
    "sample_spark",
    "spark_kinds",
    "summarize_windows",
]

_KEY = "__ms_window__"


def _require_spark() -> Any:
    # pyspark is an optional extra: it is imported inside the functions that use it
    try:
        import pyspark
    except ImportError:  # pragma: no cover - the extra is installed in the test venv
        raise ConfigError(
            "modelsteward.spark needs pyspark; install it with pip install 'modelsteward[spark]'"
        ) from None
    return pyspark


def spark_kinds(df: DataFrame) -> dict[str, str]:
    """Kinds from a Spark schema, by the one rule of every fit path
    (:func:`~modelsteward.baseline.columns.infer_kind` on the column's Arrow type): numbers,
    timestamps, dates, day-time intervals and all-null columns numeric, the rest categorical."""
    return {f.name: infer_kind(_arrow_type_of(f.dataType)) for f in df.schema.fields}


def _arrow_type_of(dt: Any) -> pa.DataType:
    """The Arrow type family of a Spark type (what ``mapInArrow`` hands the profiler)."""
    from pyspark.sql import types as st

    if isinstance(dt, st.NullType):
        return pa.null()
    if isinstance(dt, st.NumericType):
        return pa.float64()
    if isinstance(dt, (st.TimestampType, st.TimestampNTZType)):
        return pa.timestamp("us")
    if isinstance(dt, st.DateType):
        return pa.date32()
    if isinstance(dt, st.DayTimeIntervalType):
        return pa.duration("us")
    if isinstance(dt, st.BooleanType):
        return pa.bool_()
    return pa.string()


@contextmanager
def _session_conf(spark: Any, settings: Mapping[str, str]) -> Iterator[None]:
    """Set session configs for one job and put the previous values back afterwards."""
    old = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


#: Arrow batch size handed to the profiling function (Spark's default of 10,000 rows makes
#: the per-batch overhead of 20+ column sketches visible)
_ARROW_BATCH = {"spark.sql.execution.arrow.maxRecordsPerBatch": "131072"}


def _merge_bytes(a: bytes, b: bytes) -> bytes:
    return SketchProfile.from_bytes(a).merge(SketchProfile.from_bytes(b)).to_bytes()


def _resolve(
    df: DataFrame, kinds: Mapping[str, str] | None, columns: Sequence[str] | None
) -> dict[str, str]:
    names = list(columns) if columns is not None else list(df.columns)
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise MissingColumnError(
            f"column(s) {missing} are not in the DataFrame (it has {df.columns}); check names"
        )
    inferred = spark_kinds(df)
    return {n: (kinds or {}).get(n) or inferred[n] for n in names}


def profile_spark(
    df: DataFrame,
    kinds: Mapping[str, str] | None = None,
    *,
    columns: Sequence[str] | None = None,
    k: int = DEFAULT_K,
) -> SketchProfile:
    """One :class:`SketchProfile` for the DataFrame: per partition, then a tree merge."""
    _require_spark()
    resolved = _resolve(df, kinds, columns)
    names = list(resolved)

    def profile_of(batches: Iterator[pa.RecordBatch]) -> bytes:
        profile = SketchProfile.empty(resolved, k=k)
        for batch in batches:
            update_profile_from_arrow(profile, batch)
        return profile.to_bytes()

    blob = _merge_partitions(df, names, profile_of, _merge_bytes)
    return SketchProfile.empty(resolved, k=k) if blob is None else SketchProfile.from_bytes(blob)


def _merge_partitions(
    df: DataFrame, names: list[str], blob_of: Callable[[Iterator[pa.RecordBatch]], bytes],
    merge: Callable[[bytes, bytes], bytes],
) -> bytes | None:
    """One blob per partition (``blob_of`` its Arrow batches of ``names``, on the executor),
    tree-merged by ``merge``; None when the DataFrame has no partitions (every partition
    yields a blob, even an empty one)."""

    def build(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield pa.RecordBatch.from_pydict(
            {"blob": [blob_of(batches)]}, schema=pa.schema([("blob", pa.binary())])
        )

    with _session_conf(df.sparkSession, _ARROW_BATCH):
        blobs = df.select(*names).mapInArrow(build, "blob binary").rdd.map(lambda r: bytes(r[0]))
        if blobs.getNumPartitions() == 0:
            return None
        return bytes(blobs.treeReduce(merge, depth=2))


def profile_files_on_spark(
    spark: Any,
    source: Any,
    kinds: Mapping[str, str] | None = None,
    *,
    columns: Sequence[str] | None = None,
    k: int = DEFAULT_K,
    batch_size: int = 131_072,
) -> SketchProfile:
    """Profile Parquet/CSV files with Spark as the scheduler only: each task reads its files
    with pyarrow on the executor (no JVM-to-Arrow hand-over, which was the bottleneck of
    :func:`profile_spark` here), then the profiles are tree-merged. The files must be
    readable at the same paths from every executor (a shared or mounted file system)."""
    _require_spark()
    files = [str(p) for p in resolve_paths(source)]
    names, resolved = resolve_kinds(dataset_schema(files, kinds), kinds, columns)

    def one(path: str) -> bytes:
        return profile_dataset(
            [path], resolved, columns=names, k=k, batch_size=batch_size
        ).to_bytes()

    rdd = spark.sparkContext.parallelize(files, numSlices=len(files)).map(one)
    return SketchProfile.from_bytes(rdd.treeReduce(_merge_bytes, depth=2))


def baseline_from_spark(
    df: DataFrame,
    kinds: Mapping[str, str] | None = None,
    *,
    columns: Sequence[str] | None = None,
    k: int = DEFAULT_K,
    n_bins: int = 10,
    predictions_col: str | None = None,
    outcomes_col: str | None = None,
    metadata: Mapping[str, str] | None = None,
    joint: bool = False,
    sample_size: int = 20_000,
    seed: int = 0,
) -> Baseline:
    """A sketch-mode :class:`~modelsteward.baseline.Baseline` fitted on a Spark DataFrame.

    ``joint=True`` also fits the joint reference of the multivariate checks: each partition
    keeps a bottom-k reservoir of ``sample_size`` rows (:func:`sample_spark`), the samples
    are merged into a uniform sample of the whole DataFrame and the reference is fitted on
    the driver.

    With ``predictions_col`` and ``outcomes_col`` (the held-out split), the concept reference
    (prediction-outcome correlation, size, task) is computed by Spark aggregates; those two
    columns are not profiled as features.
    """
    skip = {c for c in (predictions_col, outcomes_col) if c}
    names = [c for c in (columns or df.columns) if c not in skip]
    profile = profile_spark(df, kinds, columns=names, k=k)
    concept = None
    if predictions_col or outcomes_col:
        if not (predictions_col and outcomes_col):
            raise ConfigError("pass both predictions_col and outcomes_col, or neither")
        stats = _concept_stats(df, predictions_col, outcomes_col, key=None)
        row = stats.iloc[0] if len(stats) else None
        if row is None or row["r"] is None or not math.isfinite(row["r"]) or row["n"] < 4:
            raise DataError(
                "the reference correlation is undefined (fewer than 4 labelled rows or a "
                "constant column); use a larger, labelled reference split"
            )
        task = "binary" if bool(row["binary"]) else "numeric"
        concept = ConceptReference(correlation=float(row["r"]), n=int(row["n"]), task=task)
    joint_ref = None
    if joint:
        sampler = sample_spark(df, profile.kinds, sample_size=sample_size, seed=seed)
        joint_ref = joint_from_sampler(sampler, sample_size, seed=seed)
    return baseline_from_profile(profile, n_bins=n_bins, concept=concept, metadata=metadata,
                                 joint=joint_ref)


def _merge_samples_bytes(a: bytes, b: bytes) -> bytes:
    return RowSampler.from_bytes(a).merge(RowSampler.from_bytes(b)).to_bytes()


def sample_spark(
    df: DataFrame, kinds: Mapping[str, str], *, sample_size: int = 20_000, seed: int = 0
) -> RowSampler:
    """A uniform sample of at most ``sample_size`` rows of ``kinds``' columns: a bottom-k
    reservoir per partition (keys from a generator seeded by ``seed`` and the partition),
    tree-merged. Every partition sends at most ``sample_size`` rows."""
    _require_spark()
    kinds = dict(kinds)
    names = list(kinds)

    def sample_of(batches: Iterator[pa.RecordBatch]) -> bytes:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        part = ctx.partitionId() if ctx is not None else 0
        sampler = RowSampler(kinds, sample_size, seed=int(np.random.SeedSequence(
            [int(seed), int(part)]).generate_state(1)[0]))
        for batch in batches:
            sampler.update({n: _numpy_of(batch.column(i)) for i, n in enumerate(names)})
        return sampler.to_bytes()

    blob = _merge_partitions(df, names, sample_of, _merge_samples_bytes)
    if blob is None:
        return RowSampler(kinds, sample_size, seed=seed)
    return RowSampler.from_bytes(blob)


# --- the Spark window source -----------------------------------------------------------------
def _window_key(df: DataFrame, timestamp_col: str, unit: str) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, TimestampType

    ts = F.col(timestamp_col)
    dtype = df.schema[timestamp_col].dataType
    if isinstance(dtype, StringType):
        ts = F.to_timestamp(ts)
    elif not isinstance(dtype, TimestampType):
        ts = ts.cast("timestamp")
    return df.withColumn(_KEY, F.unix_micros(F.date_trunc(unit, ts)))


def _profiles_by_window(
    df: DataFrame, kinds: Mapping[str, str], k: int
) -> dict[int, SketchProfile]:
    names = list(kinds)

    def build(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        profiles: dict[int, SketchProfile] = {}
        for batch in batches:
            keys = batch.column(0)
            for key in pc.unique(keys).to_pylist():
                if key is None:
                    continue
                part = batch.filter(pc.equal(keys, key))
                prof = profiles.get(key)
                if prof is None:
                    prof = profiles[key] = SketchProfile.empty(kinds, k=k)
                update_profile_from_arrow(prof, part)
        schema = pa.schema([("key", pa.int64()), ("profile", pa.binary())])
        yield pa.RecordBatch.from_pydict(
            {"key": list(profiles), "profile": [p.to_bytes() for p in profiles.values()]},
            schema=schema,
        )

    pairs = (
        df.select(_KEY, *names)
        .mapInArrow(build, "key long, profile binary")
        .rdd.map(lambda r: (int(r[0]), bytes(r[1])))
        .reduceByKey(_merge_bytes)
        .collect()
    )
    return {key: SketchProfile.from_bytes(blob) for key, blob in pairs}


def _concept_stats(
    df: DataFrame, prediction_col: str, outcome_col: str, key: str | None
) -> pd.DataFrame:
    """Per window (or overall): prediction count, labelled n, Pearson r, F1 / MAE / RMSE
    parts, all Spark aggregates over the labelled rows (outcome not null and not NaN)."""
    from pyspark.sql import functions as F

    p = F.col(prediction_col).cast("double")
    o = F.col(outcome_col).cast("double")
    labelled = o.isNotNull() & ~F.isnan(o)
    lp = F.when(labelled, p)
    lo = F.when(labelled, o)
    hard = F.when(labelled, (p >= 0.5).cast("double"))
    aggs = [
        F.count(F.lit(1)).alias("n_pred"),
        F.count(lo).alias("n"),
        F.corr(lp, lo).alias("r"),
        F.min(lo).alias("o_min"),
        F.max(lo).alias("o_max"),
        F.sum(F.when(labelled, ((o == 0.0) | (o == 1.0)).cast("int"))).alias("n_01"),
        F.sum(hard * lo).alias("tp"),
        F.sum(hard).alias("hard_sum"),
        F.sum(lo).alias("y_sum"),
        F.sum(F.abs(lp - lo)).alias("abs_err"),
        F.sum((lp - lo) * (lp - lo)).alias("sq_err"),
        F.stddev_pop(lp).alias("p_sd"),
        F.stddev_pop(lo).alias("o_sd"),
    ]
    grouped = df.groupBy(key).agg(*aggs) if key else df.agg(*aggs)
    out: pd.DataFrame = pd.DataFrame(grouped.toPandas())
    out["binary"] = (out["n"] > 0) & (out["n_01"].fillna(0) == out["n"])
    return out


def _roc_auc_by_window(
    df: DataFrame, prediction_col: str, outcome_col: str, key: str
) -> dict[int, float]:
    """Exact ROC AUC per window on the labelled 0/1 rows (ties count one half, as sklearn):
    sum over distinct scores of positives x (negatives below + half the negatives tied),
    divided by positives x negatives. Shuffles one row per (window, distinct score)."""
    from pyspark.sql import Window as W
    from pyspark.sql import functions as F

    p = F.col(prediction_col).cast("double")
    o = F.col(outcome_col).cast("double")
    lab = df.where(o.isNotNull() & ~F.isnan(o)).select(key, p.alias("p"), o.alias("o"))
    per_score = lab.groupBy(key, "p").agg(
        F.sum((F.col("o") == 1.0).cast("long")).alias("pos"),
        F.sum((F.col("o") == 0.0).cast("long")).alias("neg"),
    )
    below = W.partitionBy(key).orderBy("p").rowsBetween(W.unboundedPreceding, -1)
    per_score = per_score.withColumn("neg_below", F.coalesce(F.sum("neg").over(below), F.lit(0)))
    agg = per_score.groupBy(key).agg(
        F.sum(F.col("pos") * (F.col("neg_below") + 0.5 * F.col("neg"))).alias("num"),
        F.sum("pos").alias("n_pos"),
        F.sum("neg").alias("n_neg"),
    ).collect()
    return {
        int(r[key]): float(r["num"]) / (r["n_pos"] * r["n_neg"])
        for r in agg
        if r["n_pos"] and r["n_neg"]
    }


@dataclass(frozen=True)
class WindowSummaries:
    """Per-window summaries computed on Spark, keyed by the window's start (epoch micros).

    ``profiles``: one merged :class:`SketchProfile` of the features per window;
    ``concept``: per window, the labelled count, prediction count, Pearson r and the parts of
    F1 / MAE / RMSE (Spark aggregates); ``roc_auc``: exact per-window ROC AUC (binary
    outcomes); ``last``: the latest timestamp seen (the clock of an incremental run);
    ``predictions``: a random sample of at most ``sample_per_window`` rows per window
    (columns ``window_key``, ``prediction``, ``outcome``) for performance with noise bands,
    and ``sampled``: whether any window was cut down to it.
    """

    profiles: dict[int, SketchProfile]
    concept: dict[int, dict[str, Any]] = field(default_factory=dict)
    roc_auc: dict[int, float] = field(default_factory=dict)
    last: pd.Timestamp | None = None
    predictions: pd.DataFrame | None = None
    sampled: bool = False


def summarize_windows(
    df: DataFrame,
    kinds: Mapping[str, str],
    *,
    timestamp_col: str,
    unit: str,
    tz: str = "UTC",
    prediction_col: str | None = None,
    outcome_col: str | None = None,
    binary: bool | None = None,
    k: int = DEFAULT_K,
    sample_per_window: int = 0,
) -> WindowSummaries:
    """Cut ``df`` into calendar ``unit`` s (``"week"``, ``"day"``, ``"hour"``) in ``tz`` and
    summarise each window where it lives: feature sketches per partition (``mapInArrow``),
    merged per window (``reduceByKey``); concept statistics by Spark aggregates. Only
    summaries reach the driver. ``binary`` (None: from the data) asks for ROC AUC.
    ``sample_per_window`` > 0 also brings a random sample of that many (prediction, outcome)
    rows per window to the driver (stratified by window; all rows of a smaller window)."""
    _require_spark()
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    if timestamp_col not in df.columns:
        raise MissingColumnError(f"timestamp column {timestamp_col!r} is not in the DataFrame")
    with _session_conf(df.sparkSession, {"spark.sql.session.timeZone": tz, **_ARROW_BATCH}):
        keyed = _window_key(df, timestamp_col, unit)
        profiles = _profiles_by_window(keyed, kinds, k)
        ts_col = F.col(timestamp_col)
        if not isinstance(df.schema[timestamp_col].dataType, TimestampType):
            ts_col = F.to_timestamp(ts_col)
        last_us = keyed.agg(F.unix_micros(F.max(ts_col))).collect()[0][0]
        concept: dict[int, dict[str, Any]] = {}
        aucs: dict[int, float] = {}
        if prediction_col and outcome_col:
            stats = _concept_stats(keyed, prediction_col, outcome_col, key=_KEY)
            concept = {int(r[_KEY]): dict(r) for _, r in stats.iterrows()}
            if binary or (binary is None and bool(stats["binary"].all())):
                aucs = _roc_auc_by_window(keyed, prediction_col, outcome_col, _KEY)
        sample, sampled = None, False
        if prediction_col and outcome_col and sample_per_window > 0 and concept:
            fractions = {key: min(1.0, sample_per_window / max(1, int(r["n_pred"])))
                         for key, r in concept.items()}
            rows = keyed.select(F.col(_KEY).alias("window_key"),
                                F.unix_micros(ts_col).alias("ts_us"),
                                F.col(prediction_col).cast("double").alias("prediction"),
                                F.col(outcome_col).cast("double").alias("outcome"))
            sampled = min(fractions.values()) < 1.0
            if sampled:
                rows = rows.sampleBy("window_key", fractions, seed=0)
            # time order, as a frame source holds its rows (bootstraps draw by position)
            sample = pd.DataFrame(rows.toPandas()).sort_values(
                ["window_key", "ts_us"], kind="stable", ignore_index=True)
    last = None if last_us is None else pd.Timestamp(int(last_us), unit="us", tz="UTC")
    return WindowSummaries(profiles, concept, aucs, last, sample, sampled)
