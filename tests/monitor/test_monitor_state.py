"""Issue 12: the monitor remembers between runs (state store), checks each complete window
once, keeps alert episodes across runs, and delivers each notification once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, insert

from modelsteward.cli import main
from modelsteward.monitor import run_monitor
from modelsteward.monitor.state import MonitorState, create_v1, target_key

START = pd.Timestamp("2026-01-05", tz="UTC")  # a Monday: week i is [START + i weeks, ...)
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _week(i: int) -> str:
    return (START + pd.Timedelta(weeks=i)).isoformat()


def _files(tmp_path, baseline, make_stream, **events):
    bdir = tmp_path / "baseline"
    if not bdir.exists():
        baseline.save(bdir)
    data = tmp_path / "prod.csv"
    make_stream(**events).to_csv(data, index=False)
    return bdir, data


EVENTS = dict(weeks=6, shift={2: 0.7, 3: 0.7}, null_week=4, seed=50)


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_state_schema_v1_is_migrated_not_lost(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    create_v1(engine)
    from modelsteward.monitor.state import _tables

    t = _tables(1).tables
    with engine.begin() as conn:
        conn.execute(insert(t["steward_monitor_windows"]), {
            "target": "m|1|p|W|UTC", "label": "2026-W02", "idx": 0, "start": _week(0),
            "end": _week(1), "n_rows": 10, "status": "ok", "coverage": 1.0,
            "concept_final": True, "result": json.dumps({"label": "2026-W02"}),
            "tracker": "{}", "checked_at": "2026-01-12T00:00:00+00:00"})
        conn.execute(insert(t["steward_monitor_episodes"]), {
            "target": "m|1|p|W|UTC", "alert_key": "k", "feature": "f", "opened_label": "2026-W02",
            "severity": "critical", "status": "open"})
    engine.dispose()
    state = MonitorState.open(url)
    assert state.schema_version() == 3
    assert list(state.checked("m|1|p|W|UTC")) == ["2026-W02"]
    (episode,) = state.episodes(open_only=True)
    assert episode.alert_key == "k" and episode.ack_at is None
    assert state.ack(episode.id, "known", by="ana").ack_reason == "known"  # the new columns
    assert state.silences() == []  # the new table
    state.publish("m|1|p|W|UTC", "2026-W02", "mlflow", {"rows": 10.0}, 1)  # schema 3's table
    assert state.published("m|1|p|W|UTC", "2026-W02", "mlflow") == ({"rows": 10.0}, 1)


def test_state_file_is_private(tmp_path) -> None:
    db = tmp_path / "st" / "monitor.db"
    MonitorState.open(f"sqlite:///{db}")
    assert db.stat().st_mode & 0o077 == 0 and db.parent.stat().st_mode & 0o077 == 0


def test_run_twice_the_second_run_sends_nothing(tmp_path, baseline, make_stream) -> None:
    bdir, data = _files(tmp_path, baseline, make_stream, **EVENTS)
    sink = tmp_path / "alerts.jsonl"
    args = ["monitor", "--model", "churn", "--baseline", str(bdir), "--data", str(data),
            "--sink", f"jsonl:{sink}", "--state", f"sqlite:///{tmp_path / 'state.db'}",
            "--now", _week(6)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, (first.output, first.exception)
    sent = _lines(sink)
    assert len(sent) >= 2 and all(n["id"].startswith("n-") for n in sent)
    assert len({n["id"] for n in sent}) == len(sent)
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert _lines(sink) == sent  # nothing sent again
    assert "6 window(s) already checked" in second.output
    assert "No alert reached the notification threshold." in second.output


def test_since_on_a_later_run_does_not_announce_old_alerts_as_new(
        tmp_path, baseline, make_stream) -> None:
    """The issue's --since 2026-03-23 case: episodes open for weeks are not 'new' again."""
    frame = make_stream(weeks=6, shift={2: 0.7, 3: 0.7, 4: 0.7, 5: 0.7}, seed=50)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    common = dict(baseline=baseline, sinks=[], state=url)
    run_monitor("churn", frame, now=_week(5), **common)
    rep = run_monitor("churn", frame, now=_week(6), since=_week(5), **common)
    assert [w.label for w in rep.windows] == ["2026-W07"]
    assert not any(e.event == "new" and e.alert.feature == "f2"
                   for n in rep.notifications for e in n.events)
    assert any(a.feature == "f2" for a in rep.open_alerts)


def test_weekly_increments_equal_the_full_replay(tmp_path, baseline, make_stream) -> None:
    frame = make_stream(weeks=10, shift={2: 0.7, 3: 0.7, 6: 1.0}, null_week=4, const_week=7,
                        concept_from=8, seed=7)
    full = run_monitor("churn", frame, baseline=baseline, sinks=[],
                   state=f"sqlite:///{tmp_path / 'full.db'}", now=_week(10))
    steps = []
    inc_url = f"sqlite:///{tmp_path / 'inc.db'}"
    for week in range(1, 11):  # a simulated clock: one run per Thursday, then the last Monday
        now = START + pd.Timedelta(weeks=week) + pd.Timedelta(days=3 if week < 10 else 0)
        rep = run_monitor("churn", frame, baseline=baseline, sinks=[], state=inc_url, now=now)
        assert [w.status for w in rep.windows if w.status == "in_progress"] == (
            ["in_progress"] if week < 10 else [])
        steps += list(rep.notifications)
    assert len(full.notifications) >= 4
    assert [(n.id, n.text) for n in steps] == [(n.id, n.text) for n in full.notifications]
    target = full.target
    assert target is not None

    def results(url: str) -> list[dict]:
        return MonitorState.open(url).window_results(target)

    assert results(inc_url) == results(f"sqlite:///{tmp_path / 'full.db'}")
    ep = [(e.alert_key, e.opened_label, e.severity, e.status, e.resolved_label)
          for e in MonitorState.open(inc_url).episodes()]
    assert ep == [(e.alert_key, e.opened_label, e.severity, e.status, e.resolved_label)
                  for e in MonitorState.open(f"sqlite:///{tmp_path / 'full.db'}").episodes()]


def test_open_window_is_in_progress_unless_include_partial(tmp_path, baseline,
                                                           make_stream) -> None:
    bdir, data = _files(tmp_path, baseline, make_stream, weeks=4, shift={3: 1.0}, seed=3)
    sink = tmp_path / "a.jsonl"
    args = ["monitor", "--model", "churn", "--baseline", str(bdir), "--data", str(data),
            "--sink", f"jsonl:{sink}", "--state", f"sqlite:///{tmp_path / 's.db'}"]
    res = CliRunner().invoke(main, args)  # files: the last week ends after the last row
    assert res.exit_code == 0, res.output
    assert "2026-W05: in progress (window still open, no alert raised)" in res.output
    assert _lines(sink) == []
    res = CliRunner().invoke(main, [*args, "--include-partial", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [n["window_label"] for n in doc["notifications"]] == ["2026-W05"]
    assert doc["state"]["in_progress"] == []
    assert [n["window_label"] for n in _lines(sink)] == ["2026-W05"]
    # the partial check was not recorded: the window is still to be checked when complete,
    # and its notification (same id) is not sent a second time
    res = CliRunner().invoke(main, [*args, "--now", _week(5), "--json"])
    doc = json.loads(res.output)
    assert [w["label"] for w in doc["windows"]] == ["2026-W05"]
    assert len(_lines(sink)) == 1


def test_rerun_recomputes_a_range_and_says_what_it_replaced(tmp_path, baseline,
                                                            make_stream) -> None:
    bdir, data = _files(tmp_path, baseline, make_stream, **EVENTS)
    sink = tmp_path / "a.jsonl"
    args = ["monitor", "--model", "churn", "--baseline", str(bdir), "--data", str(data),
            "--sink", f"jsonl:{sink}", "--state", f"sqlite:///{tmp_path / 's.db'}",
            "--now", _week(6)]
    assert CliRunner().invoke(main, args).exit_code == 0
    sent = _lines(sink)
    res = CliRunner().invoke(main, [*args, "--rerun", "--since", _week(3), "--until", _week(5)])
    assert res.exit_code == 0, res.output
    assert "--rerun replaced the results of 2 window(s): 2026-W05, 2026-W06" in res.output
    assert _lines(sink) == sent  # the same news has the same id: not sent again


class _Hook(HTTPServer):
    allow_reuse_address = True


def _serve(status: list[int]) -> tuple[_Hook, list[tuple[str, dict]]]:
    got: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if status[0] == 200:
                got.append((self.headers.get("Idempotency-Key", ""), body))
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = _Hook(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


def test_webhook_gets_an_idempotency_key_and_undelivered_is_retried(
        tmp_path, baseline, make_stream) -> None:
    bdir, data = _files(tmp_path, baseline, make_stream, **EVENTS)
    status = [503]
    server, got = _serve(status)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    args = ["monitor", "--model", "churn", "--baseline", str(bdir), "--data", str(data),
            "--sink", f"webhook:{url}", "--state", f"sqlite:///{tmp_path / 's.db'}",
            "--now", _week(6), "--sink-deadline", "20"]
    try:
        down = CliRunner().invoke(main, args)
        assert down.exit_code == 3, (down.output, down.exception)
        assert "not delivered" in down.output and got == []
        status[0] = 200
        back = CliRunner().invoke(main, args)
        assert back.exit_code == 0, back.output
        again = CliRunner().invoke(main, args)
        assert again.exit_code == 0
    finally:
        server.shutdown()
        server.server_close()
    assert len(got) >= 2
    keys = [k for k, _ in got]
    assert keys == [b["id"] for _, b in got] and len(set(keys)) == len(keys)
    deliveries = MonitorState.open(f"sqlite:///{tmp_path / 's.db'}").deliveries()
    assert {d["status"] for d in deliveries} == {"delivered"}
    assert max(d["attempts"] for d in deliveries) >= 2  # the failed tries are counted


def test_a_held_lock_stops_a_second_run_with_a_clear_message(tmp_path, baseline,
                                                              make_stream) -> None:
    frame = make_stream(**EVENTS)
    url = f"sqlite:///{tmp_path / 's.db'}"
    state = MonitorState.open(url)
    from modelsteward.monitor.policy import load_policy
    from modelsteward.monitor.state import MonitorBusyError

    target = target_key("churn", "unregistered", load_policy("default"), "calendar week", "UTC")
    rep = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(1))
    assert rep.target == target
    with state.lock(target), pytest.raises(MonitorBusyError, match="another monitor run"):
        run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(6))
    # a lock left by a crashed run is taken over once stale
    with state.lock(target):
        with state.engine.begin() as conn:
            conn.execute(state.t["steward_monitor_locks"].update().values(heartbeat_at=0.0))
        rep = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(6))
    assert [w.label for w in rep.windows] == [f"2026-W0{i}" for i in range(3, 8)]


def test_two_processes_at_once_send_each_notification_once(tmp_path, baseline,
                                                           make_stream) -> None:
    bdir, data = _files(tmp_path, baseline, make_stream, **EVENTS)
    sink = tmp_path / "a.jsonl"
    cmd = [sys.executable, "-c", "from modelsteward.cli import main; main()", "monitor",
           "--model", "churn", "--baseline", str(bdir), "--data", str(data),
           "--sink", f"jsonl:{sink}", "--state", f"sqlite:///{tmp_path / 's.db'}",
           "--now", _week(6)]
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = [subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes in ([0, 0], [0, 2]), outs
    if codes == [0, 2]:
        err = next(e for p, (_, e) in zip(procs, outs, strict=True) if p.returncode == 2)
        assert "another monitor run" in err and err.count("\n") == 1
    sent = _lines(sink)
    assert len(sent) >= 2
    assert len({n["id"] for n in sent}) == len(sent)  # each notification exactly once


def test_late_labels_rejudge_a_closed_window_and_alert_once(tmp_path, baseline,
                                                            make_stream) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    common = dict(baseline=baseline, sinks=[], state=url, now=_week(6))
    # week 5 (2026-W07) has its concept changed, but only 3% of its outcomes are in
    early = make_stream(weeks=6, concept_from=5, late_weeks={5: 0.03}, seed=11)
    rep = run_monitor("churn", early, **common)
    assert not any(a.kind == "concept_drift" for a in rep.alerts)
    state = MonitorState.open(url)
    assert state.checked(rep.target)["2026-W07"]["concept_final"] is False
    # three weeks later 82% of them arrived: the window is judged again and alerts, once
    later = make_stream(weeks=6, concept_from=5, late_weeks={5: 0.82}, seed=11)
    rep = run_monitor("churn", later, **{**common, "now": _week(9)})
    (note,) = rep.notifications
    assert note.window_label == "2026-W07" and note.late_note == "window 2026-W07, now 82% labelled"
    assert "now 82% labelled" in note.text
    # the correlation test and the realized performance (ROC AUC, F1) judged again
    assert [e.alert.kind for e in note.events] == ["concept_drift", "performance",
                                                    "performance"]
    assert {e.alert.alert_type for e in note.events[1:]} == {"concept_drift"}
    assert rep.late_labels == ("window 2026-W07, now 82% labelled",)
    again = run_monitor("churn", later, **{**common, "now": _week(9)})
    assert again.notifications == ()
    # the label delay passed (8 weeks by default): the window is final, not looked at again
    rep = run_monitor("churn", later, **{**common, "now": _week(15)})
    assert rep.notifications == () and state.checked(rep.target)["2026-W07"]["concept_final"]


def _f2(rep) -> list[tuple[str, str]]:
    return [(e.event, e.alert.severity) for n in rep.notifications for e in n.events
            if e.alert.feature == "f2" and e.alert.alert_type == "distribution"]


def test_ack_silence_and_escalation(tmp_path, baseline, make_stream) -> None:
    """steward alerts: an acked episode is not sent again, an escalation after the ack is;
    a silence mutes a feature until its date, is shown, and expires."""
    frame = make_stream(weeks=8, shift={1: 0.35, 2: 0.35, 3: 0.9, 5: 0.9, 6: 0.9, 7: 0.9},
                        seed=21)
    url = f"sqlite:///{tmp_path / 's.db'}"
    rep = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(3))
    assert _f2(rep) == [("new", "warning")]
    runner = CliRunner()
    listed = runner.invoke(main, ["alerts", "list", "--open", "--state", url, "--json"])
    assert listed.exit_code == 0, listed.output
    (ep,) = [e for e in json.loads(listed.output)["episodes"] if e["feature"] == "f2"]
    res = runner.invoke(main, ["alerts", "ack", str(ep["id"]), "--reason", "known backfill",
                               "--state", url])
    assert res.exit_code == 0 and "acknowledged by" in res.output, res.output
    table = runner.invoke(main, ["alerts", "list", "--state", url])
    assert "known backfill" in table.output
    # week 3 escalates to critical: sent although acknowledged
    rep = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(4))
    assert _f2(rep) == [("escalated", "critical")]
    assert [a["ack_reason"] for a in rep.acks] == ["known backfill"]
    res = runner.invoke(main, ["alerts", "silence", "--model", "churn", "--feature", "f2",
                               "--until", "2026-02-23", "--reason", "new market", "--state", url])
    assert res.exit_code == 0, res.output
    # week 5 shifts again while silenced (until 2026-02-23): nothing sent on f2
    for week in (5, 6):
        rep = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(week))
        assert [e for e, _ in _f2(rep) if e != "resolved"] == [], week
        assert [s["reason"] for s in rep.silences] == ["new market"]
        assert any("silenced until" in note for w in rep.windows for note in w.notes)
    # the silence expired on 2026-02-23: week 6's shift is sent
    rep = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(7))
    assert rep.silences == ()
    assert _f2(rep) == [("new", "critical")]
    bad = runner.invoke(main, ["alerts", "silence", "--model", "churn", "--feature", "f2",
                               "--until", "someday", "--reason", "x", "--state", url])
    assert bad.exit_code == 2 and "--until" in bad.output
    assert runner.invoke(main, ["alerts", "ack", "999", "--reason", "x",
                                "--state", url]).output.startswith("error: no alert episode 999")


def test_sigkill_between_sending_and_recording_resends_once_with_the_same_id(
        tmp_path, baseline, make_stream) -> None:
    import signal
    from http.server import ThreadingHTTPServer

    bdir, data = _files(tmp_path, baseline, make_stream, **EVENTS)
    got: list[tuple[str, str]] = []  # (Idempotency-Key, body id)
    first_in, release = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.append((self.headers.get("Idempotency-Key", ""), body["id"]))
            if len(got) == 1:  # the receiver has it; the sender never hears back
                first_in.set()
                release.wait(60)
                return
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"sqlite:///{tmp_path / 's.db'}"
    args = ["monitor", "--model", "churn", "--baseline", str(bdir), "--data", str(data),
            "--sink", f"webhook:http://127.0.0.1:{server.server_address[1]}/h",
            "--state", url, "--now", _week(6), "--sink-deadline", "120"]
    proc = subprocess.Popen([sys.executable, "-c", "from modelsteward.cli import main; main()",
                             *args], env={**os.environ, "PYTHONPATH": SRC}, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert first_in.wait(240), "the monitor never sent its first notification"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
        release.set()
        rerun = CliRunner().invoke(main, args)
        assert rerun.exit_code == 0, (rerun.output, rerun.exception)
        assert CliRunner().invoke(main, args).exit_code == 0  # and nothing after that
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    expected = [n.id for n in run_monitor("churn", make_stream(**EVENTS), baseline=baseline,
                                      sinks=[], state=f"sqlite:///{tmp_path / 'ref.db'}",
                                      now=_week(6)).notifications]
    assert len(expected) >= 2 and all(k == i for k, i in got)
    ids = [i for _, i in got]
    assert ids[0] == ids[1] == expected[0]  # the one the crash interrupted, again, same id
    assert ids[1:] == expected  # then everything else exactly once, in order


def test_every_runs_as_a_service_with_a_heartbeat_and_stops_on_sigterm(
        tmp_path, baseline, make_stream) -> None:
    import signal

    bdir, data = _files(tmp_path, baseline, make_stream, **EVENTS)
    sink = tmp_path / "a.jsonl"
    url = f"sqlite:///{tmp_path / 's.db'}"
    base = ["monitor", "--model", "churn", "--baseline", str(bdir), "--data", str(data),
            "--sink", f"jsonl:{sink}", "--state", url]
    proc = subprocess.Popen([sys.executable, "-c", "from modelsteward.cli import main; main()",
                             *base, "--every", "1h"], env={**os.environ, "PYTHONPATH": SRC},
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        beats: list[dict] = []
        for _ in range(600):  # wait (bounded) for the first heartbeat
            if (tmp_path / "s.db").exists():
                try:
                    beats = MonitorState.open(url).heartbeats()
                except Exception:
                    beats = []
            if beats or proc.poll() is not None:
                break
            threading.Event().wait(0.5)
        assert beats, proc.communicate(timeout=5)
        (beat,) = beats
        assert beat["last_status"] == "exit 0" and beat["next_run_at"] > beat["beat_at"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped (SIGTERM/SIGINT)" in err and "next run at" in err
    assert _lines(sink)  # the first run did its work
    for bad, msg in ((["--every", "soon"], "30m, 1h or 1d"),
                     (["--every", "1h", "--state", "none"], "needs a state store")):
        res = CliRunner().invoke(main, [*base[:-2], *bad])
        assert res.exit_code == 2 and msg in res.output, res.output


def test_an_incremental_run_reads_from_the_last_checked_window_on(
        tmp_path, baseline, make_stream, monkeypatch) -> None:
    import modelsteward.monitor.sources as sources

    frame = make_stream(**EVENTS)
    url = f"sqlite:///{tmp_path / 's.db'}"
    seen: list[object] = []
    real = sources.read_production

    def spy(data, model, *, since=None, until=None):
        seen.append(since)
        return real(data, model, since=since, until=until)

    monkeypatch.setattr(sources, "read_production", spy)
    full = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(5))
    rep = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(6))
    assert seen[0] is None and pd.Timestamp(seen[1]) == pd.Timestamp(_week(4))
    assert [(w.index, w.label) for w in rep.windows] == [(5, "2026-W07")]  # as in a full run
    assert full.windows[-1].index == 4
