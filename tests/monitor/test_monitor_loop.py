"""run_monitor(): windows against the baseline, planted events, small windows, inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from modelsteward.errors import ConfigError, DataError
from modelsteward.monitor import run_monitor


def _flags(report, kind: str) -> list[list[str]]:
    return [sorted({str(a.feature) for a in w.alerts if a.kind == kind
                    and a.severity in ("warning", "critical")}) for w in report.windows]


def test_no_drift_gives_no_notification(baseline, make_stream) -> None:
    rep = run_monitor("m", make_stream(weeks=10, seed=2), baseline=baseline, sinks=[])
    assert [w.status for w in rep.windows] == ["ok"] * 10
    assert rep.notifications == ()
    sent = [a for a in rep.alerts if a.severity != "info"]
    assert sent == []
    # KS at p < 0.01 may flag ~1 % of 80 feature-windows as info; never more than a few
    assert sum(a.severity == "info" for a in rep.alerts) <= 4


def test_planted_events_alert_in_their_windows_only(baseline, make_stream) -> None:
    frame = make_stream(weeks=10, shift={4: 0.15, 5: 0.35, 6: 0.7, 7: 0.7}, null_week=6,
                        const_week=6, concept_from=8, seed=3)
    rep = run_monitor("m", frame, baseline=baseline, sinks=[], model_version="7")
    drift = _flags(rep, "data_drift")
    assert [("f2" in d) for d in drift] == [False] * 5 + [True] * 3 + [False] * 2
    degr = _flags(rep, "degradation")
    assert degr[6] == ["f3", "f4"] and all(not d for i, d in enumerate(degr) if i != 6)
    concept = [any(a.kind == "concept_drift" and a.severity == "critical" for a in w.alerts)
               for w in rep.windows]
    assert concept == [False] * 8 + [True] * 2
    # severity escalates: warning at PSI ~0.12, critical once PSI passes 0.2
    f2 = [next((a.severity for a in w.alerts if a.feature == "f2" and a.kind == "data_drift"),
               None) for w in rep.windows]
    assert f2[5] == "warning" and f2[6] == "critical"
    # every alert names its threshold and its source, the version and an action
    for a in rep.alerts:
        assert a.threshold_source.startswith(("preset default", "detector"))
        assert "v7" in a.message and "What to do:" in a.message and a.threshold_name in a.message


def test_timeline_and_fatigue_over_a_run(baseline, make_stream) -> None:
    frame = make_stream(weeks=10, shift={5: 0.35, 6: 0.7, 7: 0.7}, null_week=6, seed=4)
    rep = run_monitor("m", frame, baseline=baseline, sinks=[])
    events = {n.window_label: sorted((e.event, e.alert.alert_type) for e in n.events)
              for n in rep.notifications}
    labels = [w.label for w in rep.windows]
    assert events[labels[5]] == [("new", "distribution")]
    assert sorted(events[labels[6]]) == [("escalated", "distribution"), ("new", "null_rate")]
    assert labels[7] not in events or ("new", "distribution") not in events[labels[7]]
    assert ("resolved", "null_rate") in events[labels[7]]
    assert ("resolved", "distribution") in events[labels[8]]
    # one message per window
    assert len({n.window_label for n in rep.notifications}) == len(rep.notifications)


def test_too_small_windows_say_so_instead_of_alerting(baseline, make_stream) -> None:
    frame = make_stream(weeks=3, per_week=40, shift={0: 3.0, 1: 3.0, 2: 3.0}, seed=5)
    rep = run_monitor("m", frame, baseline=baseline, sinks=[])
    assert {w.status for w in rep.windows} == {"too_small"}
    assert rep.alerts == [] and rep.notifications == ()
    assert "too small" in rep.windows[0].notes[0]


def test_psi_noise_floor_blocks_psi_bands_in_small_windows(baseline, make_stream) -> None:
    # 120 rows: enough to test, too few for PSI bands: (10-1)(1/6000 + 1/120) * 3 > 0.1
    frame = make_stream(weeks=4, per_week=120, seed=6)
    rep = run_monitor("m", frame, baseline=baseline, sinks=[])
    for w in rep.windows:
        assert w.status == "ok"
        assert all(not f.psi_reliable for f in w.features if f.kind == "numeric")
        assert all(a.severity == "info" for a in w.alerts if a.kind == "data_drift")
        assert any("too small for PSI" in n for n in w.notes)


def test_empty_weeks_are_reported(baseline, make_stream) -> None:
    a = make_stream(weeks=1, seed=7)
    b = make_stream(weeks=1, seed=8, start="2026-01-26")
    rep = run_monitor("m", pd.concat([a, b], ignore_index=True), baseline=baseline, sinks=[])
    assert [w.status for w in rep.windows] == ["ok", "empty", "empty", "ok"]
    assert [w.n_rows for w in rep.windows] == [700, 0, 0, 700]


def test_late_outcomes_lower_coverage_and_skip_the_test(baseline, make_stream) -> None:
    frame = make_stream(weeks=4, seed=9, late_weeks={2: 0.5, 3: 0.02})
    rep = run_monitor("m", frame, baseline=baseline, sinks=[])
    cov = [round(c.coverage, 2) for c in rep.concept]
    assert cov == [1.0, 1.0, 0.5, 0.02]
    assert rep.concept[3].status == "insufficient_data"
    assert rep.concept[2].status == "ok"


def test_hourly_windows_warn_that_they_are_noisy(baseline, make_stream) -> None:
    frame = make_stream(weeks=1, per_week=700, seed=10).iloc[:200]
    with pytest.warns(UserWarning, match="noisy"):
        rep = run_monitor("m", frame, baseline=baseline, sinks=[], window="1h")
    assert any("noisy" in w for w in rep.warnings)


def test_daily_and_row_windows(baseline, make_stream) -> None:
    frame = make_stream(weeks=1, per_week=1_400, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        daily = run_monitor("m", frame, baseline=baseline, sinks=[], window="1D")
    assert len(daily.windows) == 7 and all(w.n_rows == 200 for w in daily.windows)
    rows = run_monitor("m", frame.drop(columns=["timestamp"]), baseline=baseline, sinks=[],
                   window=500)
    assert [w.n_rows for w in rows.windows] == [500, 500, 400]


def test_csv_parquet_glob_and_frame_agree(tmp_path, baseline, make_stream) -> None:
    frame = make_stream(weeks=4, shift={3: 0.7}, seed=12)
    frame.iloc[:1_400].to_csv(tmp_path / "part1.csv", index=False)
    frame.iloc[1_400:].to_parquet(tmp_path / "part2.parquet", index=False)
    frame.iloc[1_400:].to_csv(tmp_path / "part2.csv", index=False)
    a = run_monitor("m", frame, baseline=baseline, sinks=[])
    b = run_monitor("m", str(tmp_path / "part*.csv"), baseline=baseline, sinks=[])
    c = run_monitor("m", [tmp_path / "part1.csv", tmp_path / "part2.parquet"], baseline=baseline,
                sinks=[])

    def key(r):
        return [(w.label, w.n_rows, [(f.feature, round(f.psi or 0, 9)) for f in w.features],
                 [x.key for x in w.alerts]) for w in r.windows]

    assert key(a) == key(b) == key(c)


def test_outcomes_argument_forms(baseline, make_stream) -> None:
    frame = make_stream(weeks=2, seed=13)
    y = frame.pop("outcome").to_numpy()
    by_array = run_monitor("m", frame, baseline=baseline, sinks=[], outcomes=y)
    frame2 = frame.assign(label=y)
    by_column = run_monitor("m", frame2, baseline=baseline, sinks=[], outcomes="label")
    ids = [f"p{i}" for i in range(len(frame))]
    frame3 = frame.assign(prediction_id=ids)
    by_id = run_monitor("m", frame3, baseline=baseline, sinks=[],
                    outcomes=pd.DataFrame({"prediction_id": ids[::-1], "outcome": y[::-1]}))
    corr = [[c.correlation for c in r.concept] for r in (by_array, by_column, by_id)]
    assert corr[0] == corr[1] == corr[2] and all(v is not None for v in corr[0])
    none = run_monitor("m", frame, baseline=baseline, sinks=[])
    assert none.concept == [] and any("no outcomes" in w for w in none.warnings)


def test_bad_inputs_are_typed_errors(baseline, make_stream) -> None:
    frame = make_stream(weeks=1, seed=14)
    with pytest.raises(DataError, match="timestamp"):
        run_monitor("m", frame.drop(columns=["timestamp"]), baseline=baseline, sinks=[])
    with pytest.raises(ConfigError, match="policy"):
        run_monitor("m", frame, baseline=baseline, sinks=[], policy="paranoid")
    with pytest.raises(DataError, match="none of the baseline"):
        run_monitor("m", pd.DataFrame({"timestamp": frame["timestamp"], "zz": 1.0}),
                baseline=baseline, sinks=[])
    with pytest.raises(DataError, match="does not exist"):
        run_monitor("m", "/nonexistent/file.csv", baseline=baseline, sinks=[])


def test_report_dict_has_no_nan_and_feature_table_is_worst_first(baseline, make_stream) -> None:
    import json

    frame = make_stream(weeks=6, shift={4: 0.7, 5: 0.7}, null_week=5, seed=15)
    rep = run_monitor("m", frame, baseline=baseline, sinks=[])
    json.loads(rep.to_json())  # allow_nan=False inside: raises on NaN
    table = rep.feature_table()
    ranks = [{"critical": 3, "warning": 2, "info": 1, None: 0}[r["worst_severity"]] for r in table]
    assert ranks == sorted(ranks, reverse=True)
    assert {table[0]["feature"], table[1]["feature"]} == {"f2", "f3"}
    assert np.isclose(sum(rep.reference["features"]["f0"]["reference"]), 1.0)


@pytest.mark.filterwarnings(  # pyarrow / polars call Series.values internally (pandas 3.1)
    "ignore:Series.values returning an ndarray that drops timezone:DeprecationWarning")
def test_polars_input_and_progress_bar(baseline, make_stream) -> None:
    import polars as pl

    frame = make_stream(weeks=3, shift={2: 0.7}, seed=16)
    a = run_monitor("m", frame, baseline=baseline, sinks=[])
    b = run_monitor("m", pl.from_pandas(frame), baseline=baseline, sinks=[], progress=True)
    assert [[x.key for x in w.alerts] for w in a.windows] == [
        [x.key for x in w.alerts] for w in b.windows]


def test_since_until_filter_frames(baseline, make_stream) -> None:
    frame = make_stream(weeks=4, seed=17)
    rep = run_monitor("m", frame, baseline=baseline, sinks=[], since="2026-01-12",
                  until="2026-01-26T00:00:00Z")
    assert [w.label for w in rep.windows] == ["2026-W03", "2026-W04"]
    assert sum(w.n_rows for w in rep.windows) == 1400


def test_empty_window_neither_resolves_nor_repeats_an_open_alert(baseline, make_stream) -> None:
    a = make_stream(weeks=1, shift={0: 0.7}, seed=18)
    b = make_stream(weeks=1, shift={0: 0.7}, seed=19, start="2026-01-19")
    rep = run_monitor("m", pd.concat([a, b], ignore_index=True), baseline=baseline, sinks=[])
    assert [w.status for w in rep.windows] == ["ok", "empty", "ok"]
    assert [n.window_label for n in rep.notifications] == ["2026-W02"]
    last = [x for x in rep.windows[2].alerts if x.feature == "f2"]
    assert last and last[0].since_window == "2026-W02"
