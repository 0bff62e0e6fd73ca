"""The monitor pipeline: windows, sources, measure once → judge many, the judge's extension."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import modelsteward.monitor.measure as measure_mod
from modelsteward.baseline import Baseline
from modelsteward.errors import ConfigError, DataError, StewardError
from modelsteward.monitor import FrameSource, load_policy, run_monitor
from modelsteward.monitor.alerts import Alert
from modelsteward.monitor.calibrate import Incident, calibrate
from modelsteward.monitor.judge import JudgeContext, judge_window
from modelsteward.monitor.measure import WindowMeasurement, measure_window
from modelsteward.monitor.windows import split_windows

LABELS = ["2026-W02", "2026-W03", "2026-W04", "2026-W05", "2026-W06", "2026-W07"]


def test_calendar_weeks_raise_no_deprecation_warning() -> None:
    ts = pd.date_range("2026-01-07", periods=500, freq="h", tz="UTC")  # a Wednesday
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' "Timestamp.dayofweek is deprecated" included
        wins = split_windows(ts, "2W", tz="Europe/Berlin")
    assert wins[0].start == pd.Timestamp("2026-01-05", tz="Europe/Berlin")  # the Monday
    assert sum(w.n for w in wins) == 500


def test_row_windows_need_no_timestamps_but_time_windows_do() -> None:
    assert [w.n for w in split_windows(window=4, n_rows=10)] == [4, 4, 2]
    assert [w.label for w in split_windows(None, "3rows", n_rows=3)] == ["rows 0-2"]
    with pytest.raises(DataError, match="need timestamps"):
        split_windows(None, "7D", n_rows=10)


def test_a_measurement_round_trips_through_json() -> None:
    rng = np.random.default_rng(5)
    joint_base = Baseline.fit({"a": rng.normal(size=800), "b": rng.normal(size=800),
                               "c": rng.choice(["x", "y"], 800)}, joint=True)
    a = rng.normal(size=300)
    window = pd.DataFrame({"a": a, "b": a + rng.normal(0, 0.1, 300),  # a and b now coupled
                           "c": rng.choice(["x", "z"], 300)})
    window.loc[:50, "b"] = np.nan
    pols = [load_policy("lenient"), load_policy("strict")]
    m = measure_window(joint_base, window, index=3, label="2026-W05", policies=pols,
                       start=pd.Timestamp("2026-01-26", tz="UTC"),
                       end=pd.Timestamp("2026-02-02", tz="UTC"))
    assert len(m.degradation) == 2 and len(m.joint) == 2  # one per distinct threshold set
    assert m.degradation_for(pols[1])  # strict flags b's nulls / c's new category
    back = WindowMeasurement.from_dict(json.loads(json.dumps(m.to_dict())))
    assert back == m
    ctx = JudgeContext("m", "1")
    for p in pols:  # a stored measurement judges exactly like the original
        assert judge_window(back, p, ctx).alerts == judge_window(m, p, ctx).alerts


def test_judging_under_thresholds_not_measured_is_an_error(baseline, make_stream) -> None:
    rows = make_stream(weeks=1, seed=8)
    m = measure_window(baseline, rows, index=0, label="w", policies=[load_policy("lenient")])
    with pytest.raises(StewardError, match="degradation thresholds"):
        judge_window(m, load_policy("strict"), JudgeContext("m", "1"))


def test_calibrate_measures_each_window_once_and_judges_like_full_runs(
        baseline, make_stream, monkeypatch) -> None:
    # the baseline holds predictions and outcomes: performance is measured and judged too;
    # from week 4 on the outcomes no longer follow the predictions (a real performance drop)
    frame = make_stream(weeks=6, shift={2: 0.2, 3: 0.4, 4: 0.6, 5: 0.6}, null_week=3,
                        concept_from=4, seed=63)
    cands = {n: load_policy(n) for n in ("lenient", "default", "strict")}
    cands["loose"] = load_policy({"psi_warning": 0.6, "psi_critical": 1.2})
    cands["loose_alpha"] = load_policy({"psi_warning": 0.6, "psi_critical": 1.2,  # narrow bands
                                        "performance_alpha": 0.4, "performance_min_drop": 0.0})
    calls: list[str] = []
    perf_calls: list[float] = []
    real = measure_mod.measure_window

    def counting(*args, **kwargs):
        calls.append(kwargs["label"])
        return real(*args, **kwargs)

    import modelsteward.monitor.performance_checks as perf_mod
    import modelsteward.monitor.sources as sources

    real_perf = perf_mod.measure

    def counting_perf(frame, windows, base, policy, **kwargs):
        perf_calls.append(policy.value("performance_alpha"))
        return real_perf(frame, windows, base, policy, **kwargs)

    monkeypatch.setattr(sources, "measure_window", counting)
    monkeypatch.setattr(perf_mod, "measure", counting_perf)
    res = calibrate("m", frame, [Incident.parse(LABELS[4], "f2"),
                                 Incident.parse(LABELS[4], "concept")],
                    candidates=cands, baseline=baseline)
    assert sorted(calls) == LABELS  # once per window, not once per window and candidate
    # performance once per distinct (alpha, metrics, min_drop, row minimums): loose shares
    # default's, loose_alpha has its own
    assert sorted(perf_calls) == [0.001, 0.01, 0.05, 0.4]
    monkeypatch.setattr(perf_mod, "measure", real_perf)
    perf_sent: dict[str, int] = {}
    for score in res.candidates:  # the same notifications as a monitor run per policy
        rep = run_monitor("m", frame, baseline=baseline, policy=cands[score.name], sinks=[],
                          describe=False)
        events = [e for n in rep.notifications for e in n.events
                  if e.event in ("new", "escalated")]
        assert score.alerts_sent == len(events), score.name
        perf_sent[score.name] = sum(e.alert.kind == "performance" for e in events)
    assert len({s.alerts_sent for s in res.candidates}) > 1  # the policies do differ
    assert perf_sent["default"] > 0  # the drop is alerted on and counted
    by = {s.name: s for s in res.candidates}
    assert by["lenient"].lead_windows[1] is not None  # the concept incident is caught
    # narrower performance bands change what is sent under the same feature thresholds
    assert perf_sent["loose_alpha"] != perf_sent["loose"]
    assert by["loose_alpha"].alerts_sent != by["loose"].alerts_sent


def test_extra_judges_and_measures_join_the_pipeline(baseline, make_stream,
                                                     monkeypatch) -> None:
    import modelsteward.monitor.judge as judge_mod

    def rows_measure(base, rows, m):
        return {"rows": len(rows)}

    def too_many_rows(m, policy, ctx):
        if m.extra["volume"]["rows"] < 100:
            return []
        return [Alert(key="volume:rows", kind="volume", feature=None, alert_type="rows",
                      severity="critical", summary=f"{m.n_rows} rows", value=float(m.n_rows),
                      baseline_value=None, threshold_name="rows", threshold=100,
                      threshold_source="test", action="look", **ctx.common(m))]

    monkeypatch.setattr(measure_mod, "MEASURES", [("volume", rows_measure)])
    monkeypatch.setattr(judge_mod, "JUDGES", [too_many_rows])
    rep = run_monitor("m", make_stream(weeks=2, seed=9), baseline=baseline, sinks=[],
                      describe=False)
    assert all(any(a.key == "volume:rows" for a in w.alerts) for w in rep.windows)
    first = rep.notifications[0]
    assert any(e.alert.key == "volume:rows" for e in first.events)  # through fatigue control
    # one episode: the second window's alert continues it, nothing is sent again for it
    assert not any(e.alert.key == "volume:rows" and e.event == "new"
                   for n in rep.notifications[1:] for e in n.events)


def test_a_prepared_frame_source_gives_the_run_of_the_data(baseline, make_stream) -> None:
    frame = make_stream(weeks=3, shift={2: 0.8}, seed=10)
    direct = run_monitor("m", frame, baseline=baseline, sinks=[], describe=False)
    source = FrameSource.prepare(frame, "m", baseline)
    via = run_monitor("m", None, baseline=baseline, sinks=[], describe=False, source=source)
    strip = lambda d: {k: v for k, v in d.items() if k != "created_at"}  # noqa: E731
    assert strip(direct.to_dict()) == strip(via.to_dict())
    assert any(a.alert_type == "distribution" for a in via.alerts)
    with pytest.raises(ConfigError, match="not both"):
        run_monitor("m", frame, baseline=baseline, sinks=[], source=source)
    daily = FrameSource.prepare(frame, "m", baseline, window="1D", tz="Europe/Berlin")
    rep = run_monitor("m", None, baseline=baseline, sinks=[], describe=False, source=daily)
    assert (rep.window, rep.tz) == ("day", "Europe/Berlin")  # the source's cut applies


def test_sketch_bins_equal_the_exact_bins_while_the_sketch_holds_every_value() -> None:
    from modelsteward.baseline.sketch import SketchProfile
    from modelsteward.monitor.bins import current_bins, sketch_bins

    rng = np.random.default_rng(11)
    base = Baseline.fit({"x": rng.normal(size=5_000),
                         "c": rng.choice(["a", "b", "c", "d"], 5_000)})
    x = np.concatenate([rng.normal(0.7, 1.0, 900), [np.inf, -np.inf]])
    c = rng.choice(["a", "b", "e"], 902).astype(object)
    prof = SketchProfile.from_columns({"x": x, "c": c}, kinds={"x": "numeric",
                                                               "c": "categorical"})
    for name, values in (("x", x), ("c", c)):
        exact = current_bins(base.columns[name], values)
        sketched = sketch_bins(base.columns[name], prof.columns[name])
        assert exact is not None and sketched == pytest.approx(exact, abs=1e-12), name
    assert sum(current_bins(base.columns["x"], x)[:3]) > 0  # the window did land in bins
