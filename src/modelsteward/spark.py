"""Spark adapter: sketch profiles from a Spark DataFrame, and the checks per window on Spark.

Each partition is profiled where it lives (``mapInArrow``: Arrow batches in, one serialised
:class:`~modelsteward.baseline.sketch.SketchProfile` out), and the partition profiles are
tree-merged (``treeReduce``); only profiles, never rows, reach the driver. The same
sketch-mode detectors then run as on pandas data, so the results equal the pandas path's
to within the sketches' stated bound. Needs the ``spark`` extra (``pip install
'modelsteward[spark]'``).

    from pyspark.sql import SparkSession
    from modelsteward import Baseline
    from modelsteward.spark import baseline_from_spark, check_windows

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    train = spark.read.parquet("s3://bucket/train/")
    baseline = baseline_from_spark(train.drop("label"))
    for window in check_windows(baseline, spark.read.parquet("s3://bucket/prod/"),
                                timestamp_col="ts", prediction_col="score",
                                outcome_col="label"):
        print(window.label, [r.feature for r in window.drift if r.is_drifted])
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from modelsteward.baseline.baseline import baseline_from_profile
from modelsteward.baseline.joint import RowSampler
from modelsteward.baseline.sketch import DEFAULT_K, SketchProfile
from modelsteward.baseline.streaming import _numpy_of, update_profile_from_arrow
from modelsteward.errors import ConfigError, DataError, MissingColumnError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from modelsteward.baseline import Baseline
    from modelsteward.drift import ConceptDriftResult, DegradationAlert, DriftResult

__all__ = [
    "SparkWindowCheck",
    "baseline_from_spark",
    "check_windows",
    "profile_files_on_spark",
    "profile_spark",
    "sample_spark",
    "spark_kinds",
]

_KEY = "__ms_window__"


def _require_spark() -> Any:
    try:
        import pyspark
    except ImportError:  # pragma: no cover - the extra is installed in the test venv
        raise ConfigError(
            "modelsteward.spark needs pyspark; install it with pip install 'modelsteward[spark]'"
        ) from None
    return pyspark


def spark_kinds(df: DataFrame) -> dict[str, str]:
    """Kinds from a Spark schema: numeric types numeric, everything else categorical."""
    from pyspark.sql.types import BooleanType, NumericType

    out = {}
    for f in df.schema.fields:
        numeric = isinstance(f.dataType, NumericType) and not isinstance(f.dataType, BooleanType)
        out[f.name] = "numeric" if numeric else "categorical"
    return out


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

    def build(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        profile = SketchProfile.empty(resolved, k=k)
        for batch in batches:
            update_profile_from_arrow(profile, batch)
        yield pa.RecordBatch.from_pydict(
            {"profile": [profile.to_bytes()]}, schema=pa.schema([("profile", pa.binary())])
        )

    with _session_conf(df.sparkSession, _ARROW_BATCH):
        blobs = (
            df.select(*names).mapInArrow(build, "profile binary").rdd.map(lambda r: bytes(r[0]))
        )
        if blobs.getNumPartitions() == 0:  # every partition yields a profile, even if empty
            return SketchProfile.empty(resolved, k=k)
        return SketchProfile.from_bytes(blobs.treeReduce(_merge_bytes, depth=2))


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
    from modelsteward.baseline.streaming import (
        dataset_schema,
        infer_kinds,
        profile_dataset,
        resolve_paths,
    )

    files = [str(p) for p in resolve_paths(source)]
    schema = dataset_schema(files, kinds)
    names = list(columns) if columns is not None else list(schema.names)
    inferred = infer_kinds(schema)
    resolved = {n: (kinds or {}).get(n) or inferred[n] for n in names}

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
    from modelsteward.baseline.concept import ConceptReference

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
        from modelsteward.baseline.sketch_baseline import joint_from_sampler

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

    def build(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        part = ctx.partitionId() if ctx is not None else 0
        sampler = RowSampler(kinds, sample_size, seed=int(np.random.SeedSequence(
            [int(seed), int(part)]).generate_state(1)[0]))
        for batch in batches:
            sampler.update({n: _numpy_of(batch.column(i)) for i, n in enumerate(names)})
        yield pa.RecordBatch.from_pydict(
            {"sample": [sampler.to_bytes()]}, schema=pa.schema([("sample", pa.binary())])
        )

    with _session_conf(df.sparkSession, _ARROW_BATCH):
        blobs = (
            df.select(*names).mapInArrow(build, "sample binary").rdd.map(lambda r: bytes(r[0]))
        )
        if blobs.getNumPartitions() == 0:
            return RowSampler(kinds, sample_size, seed=seed)
        return RowSampler.from_bytes(blobs.treeReduce(_merge_samples_bytes, depth=2))


# --- windows ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SparkWindowCheck:
    """The checks of one window: data drift, degradation and (with outcomes) concept drift."""

    label: str
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    n_rows: int
    drift: list[DriftResult] = field(default_factory=list)
    degradation: list[DegradationAlert] = field(default_factory=list)
    concept: ConceptDriftResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "window_start": None if self.window_start is None else self.window_start.isoformat(),
            "window_end": None if self.window_end is None else self.window_end.isoformat(),
            "n_rows": self.n_rows,
            "drift": [r.to_dict() for r in self.drift],
            "degradation": [a.to_dict() for a in self.degradation],
            "concept": None if self.concept is None else self.concept.to_dict(),
        }


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


def _concept_result(
    row: Any, reference: Any, window: Any, p_threshold: float, min_drop: float,
    min_samples: int, roc_auc: float | None = None,
) -> ConceptDriftResult:
    from scipy.stats import norm

    from modelsteward.drift import ConceptDriftResult
    from modelsteward.stats import fisher_z_drop_pvalue

    r_ref = float(reference.correlation)
    n_ref = getattr(reference, "n", None)
    task = getattr(reference, "task", None) or ("binary" if row is not None and row["binary"]
                                                 else "numeric")
    n = int(row["n"]) if row is not None else 0
    n_pred = int(row["n_pred"]) if row is not None else 0
    perf: dict[str, float] = {}
    if n:
        if task == "binary":
            denom = float(row["hard_sum"] + row["y_sum"])
            if roc_auc is not None:
                perf["roc_auc"] = roc_auc
            perf["f1"] = float(2 * row["tp"] / denom) if denom else 0.0
        else:
            perf["mae"] = float(row["abs_err"] / n)
            perf["rmse"] = float(math.sqrt(row["sq_err"] / n))
    constant = row is None or not (row["p_sd"] and row["o_sd"]) or n < 3
    r = None if constant or row["r"] is None or not math.isfinite(row["r"]) else float(row["r"])
    common: dict[str, Any] = dict(
        window_start=window.start, window_end=window.end, n=n,
        coverage=float(n / n_pred) if n_pred else 0.0, reference_correlation=r_ref,
        n_predictions=n_pred, reference_n=n_ref, p_threshold=p_threshold, min_drop=min_drop,
        task=task, label=window.label, performance=perf,
    )
    if n < min_samples:
        return ConceptDriftResult(
            correlation=r, p_value=None, is_drifted=False, status="insufficient_data",
            reason=f"{n} labelled rows < min_samples={min_samples}; no test run", **common,
        )
    if r is None:
        return ConceptDriftResult(
            correlation=None, p_value=None, is_drifted=False, status="insufficient_data",
            reason="predictions or outcomes are constant in this window", **common,
        )
    if n_ref is not None:
        p_value = float(fisher_z_drop_pvalue(r_ref, int(n_ref), r, n))
    else:
        clip = 1.0 - 1e-12
        z = math.atanh(max(-clip, min(clip, r_ref))) - math.atanh(max(-clip, min(clip, r)))
        p_value = float(norm.sf(z * math.sqrt(n - 3)))
    drop = r_ref - r
    drifted = p_value < p_threshold and drop >= min_drop
    return ConceptDriftResult(
        correlation=r, p_value=p_value, is_drifted=drifted, drop=drop,
        status="drifted" if drifted else "ok", **common,
    )


def check_windows(
    baseline: Baseline,
    df: DataFrame,
    *,
    timestamp_col: str,
    window: str = "7D",
    tz: str = "UTC",
    p_threshold: float = 0.01,
    min_effect: float = 0.0,
    prediction_col: str | None = None,
    outcome_col: str | None = None,
    concept_p_threshold: float = 0.01,
    min_drop: float = 0.1,
    min_samples: int = 30,
    k: int = DEFAULT_K,
    degradation: Mapping[str, float] | None = None,
) -> list[SparkWindowCheck]:
    """Data drift, feature degradation and concept drift per calendar window, on Spark.

    Windows are calendar weeks, days or hours in ``tz`` (``"7D"``/``"W"``, ``"1D"``, ``"1h"``;
    edges and labels exactly as :func:`modelsteward.drift.concept.split_windows`; empty windows
    in between are kept). Each window's features are profiled on the executors and compared
    with the baseline in sketch mode; concept drift uses Spark aggregates (Pearson r; ROC AUC
    and F1, or MAE and RMSE, on the pooled labelled rows of each window).
    ``degradation`` passes thresholds to ``detect_feature_degradation``.
    """
    _require_spark()
    from modelsteward.drift import detect_data_drift, detect_feature_degradation
    from modelsteward.drift.concept import parse_window, split_windows

    spec = parse_window(window)
    if spec.unit == "rows" or spec.count != 1:
        raise ConfigError(
            f"window={window!r}: on Spark, windows are one calendar week, day or hour "
            "('7D', '1D', '1h'); row-count and multi-unit windows need the pandas path"
        )
    if timestamp_col not in df.columns:
        raise MissingColumnError(f"timestamp column {timestamp_col!r} is not in the DataFrame")
    if outcome_col and not prediction_col:
        raise ConfigError("outcome_col needs prediction_col (concept drift compares the two)")
    if outcome_col and baseline.concept is None:
        raise ConfigError(
            "concept drift needs the baseline's concept reference; fit the baseline with "
            "predictions and outcomes (or predictions_col/outcomes_col)"
        )
    features = [n for n in baseline.feature_names if n in df.columns]
    kinds = {n: baseline.columns[n].kind for n in features}
    with _session_conf(df.sparkSession, {"spark.sql.session.timeZone": tz, **_ARROW_BATCH}):
        keyed = _window_key(df, timestamp_col, spec.unit)
        profiles = _profiles_by_window(keyed, kinds, k)
        concept_rows: dict[int, Any] = {}
        aucs: dict[int, float] = {}
        if prediction_col and outcome_col:
            stats = _concept_stats(keyed, prediction_col, outcome_col, key=_KEY)
            concept_rows = {int(r[_KEY]): r for _, r in stats.iterrows()}
            task = getattr(baseline.concept, "task", None)
            if task == "binary" or (task is None and bool(stats["binary"].all())):
                aucs = _roc_auc_by_window(keyed, prediction_col, outcome_col, _KEY)
    if not profiles:
        return []
    starts = pd.to_datetime(sorted(profiles), unit="us", utc=True).tz_convert(tz)
    windows = split_windows(starts, spec, tz=tz)
    by_start = {int(pd.Timestamp(w.start).value // 1000): w for w in windows}
    results: list[SparkWindowCheck] = []
    for key, w in sorted(by_start.items()):
        prof = profiles.get(key)
        n_rows = prof.n_rows if prof is not None else 0
        drift: list[DriftResult] = []
        degr: list[DegradationAlert] = []
        if prof is not None and n_rows > 0:
            drift = detect_data_drift(
                baseline, prof, p_threshold=p_threshold, mode="sketch", min_effect=min_effect
            )
            thresholds: dict[str, Any] = dict(degradation or {})
            degr = detect_feature_degradation(baseline, prof, mode="sketch", **thresholds)
        concept = None
        if outcome_col and baseline.concept is not None:
            concept = _concept_result(concept_rows.get(key), baseline.concept, w,
                                      concept_p_threshold, min_drop, min_samples,
                                      aucs.get(key))
        results.append(SparkWindowCheck(
            label=w.label, window_start=w.start, window_end=w.end, n_rows=int(n_rows),
            drift=drift, degradation=degr, concept=concept,
        ))
    return results
