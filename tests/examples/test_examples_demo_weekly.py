"""Issue 12's demo-log check: on the demo's prediction log, twelve weekly incremental runs
with a simulated clock send the same notifications, in the same order, as one full replay."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.examples.demo import MODEL, START, WEEKS, run_demo


def _sent(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
@pytest.mark.integration
def test_demo_log_weekly_runs_send_what_one_full_replay_sends(tmp_path, quiet_sink) -> None:
    from modelsteward import registry

    res = run_demo(tmp_path / "demo", echo=lambda _: None, console_sink=quiet_sink)
    version = res.versions["v2"]  # the version that served (and logged) the twelve weeks
    bdir = tmp_path / "baseline"
    registry.load_baseline(MODEL, version=version, tracking_uri=res.tracking_uri).save(bdir)
    end = START + pd.Timedelta(weeks=WEEKS)

    def run(state: str, sink: Path, now: pd.Timestamp) -> None:
        out = CliRunner().invoke(main, [
            "monitor", "--model", MODEL, "--version", version, "--baseline", str(bdir),
            "--log", res.log_url, "--state", f"sqlite:///{tmp_path / state}",
            "--sink", f"jsonl:{sink}", "--now", now.isoformat(), "--json"])
        assert out.exit_code == 0, (out.output[-2000:], out.exception)

    full = tmp_path / "full.jsonl"
    run("full.db", full, end)
    weekly = tmp_path / "weekly.jsonl"
    for week in range(1, WEEKS + 1):  # a simulated clock: each Monday morning
        run("weekly.db", weekly, START + pd.Timedelta(weeks=week, hours=6))
    sent_full, sent_weekly = _sent(full), _sent(weekly)
    print(f"demo log: {len(sent_full)} notifications in the full replay, "
          f"{len(sent_weekly)} over 12 weekly runs")
    for n in sent_weekly:
        print(" ", n["title"])
    assert len(sent_full) >= 4
    assert [(n["id"], n["text"]) for n in sent_weekly] == [(n["id"], n["text"])
                                                           for n in sent_full]
    # the same episodes and per-window results in both stores
    from modelsteward.monitor.state import MonitorState

    stores = [MonitorState.open(f"sqlite:///{tmp_path / name}") for name in ("full.db",
                                                                             "weekly.db")]
    (target,) = {e.target for e in stores[0].episodes()}
    eps = [[(e.alert_key, e.opened_label, e.severity, e.status, e.resolved_label)
            for e in st.episodes()] for st in stores]
    assert eps[0] == eps[1] and eps[0]
    results = [st.window_results(target) for st in stores]
    assert len(results[0]) == WEEKS and results[0] == results[1]
    # and a thirteenth run, the same week again, sends nothing
    run("weekly.db", weekly, end + pd.Timedelta(hours=7))
    assert len(_sent(weekly)) == len(sent_weekly)
