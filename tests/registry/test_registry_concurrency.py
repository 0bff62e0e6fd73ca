"""Two processes promote different versions into Production at the same moment: exactly one
version holds Production afterwards, and the history names every holder in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from modelsteward.registry import history, list_versions

# argv: uri name workdir tag v1,v2,... ; for round i: wait for workdir/go<i>, promote v_i,
# write workdir/<tag>.<i>.json
_PROMOTER = """
import json, os, sys, time
from pathlib import Path
from modelsteward.registry import promote
from modelsteward.registry.tracking import mlflow_client
uri, name, work, tag, versions = sys.argv[1:6]
work = Path(work)
mlflow_client(uri).search_registered_models(max_results=1)   # warm up imports and connection
(work / f"{tag}.ready").write_text("ready")
for i, version in enumerate(versions.split(",")):
    while not (work / f"go{i}").exists():
        time.sleep(0.002)
    try:
        moves = promote(name, version, "Production", reason=f"{tag} round {i}",
                        tracking_uri=uri)
        result = {"ok": True, "moves": [m.to_dict() for m in moves]}
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    part = work / f"{tag}.{i}.json.part"  # written whole, then renamed: never read half
    part.write_text(json.dumps(result))
    os.replace(part, work / f"{tag}.{i}.json")
"""


def _replay(moves: list) -> dict[str, str]:
    """Stages implied by the history alone, checking each move starts where the last left."""
    stage: dict[str, str] = {}
    for m in moves:
        assert stage.get(m.version, "None") == m.from_stage, f"inconsistent history at {m}"
        stage[m.version] = m.to_stage
    return stage


def _wait(paths: list[Path], procs: list[subprocess.Popen], what: str) -> None:
    deadline = time.monotonic() + 120
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, f"promoter processes did not {what} in time"
        for proc in procs:
            # a promoter that wrote its last round exits 0 while the other is still writing
            assert proc.poll() in (None, 0), f"a promoter died (exit {proc.returncode})"
        time.sleep(0.01)


@pytest.mark.slow
def test_two_processes_promoting_at_once_leave_exactly_one_production(
    tracking_uri: str, model_name: str, register, tmp_path: Path
) -> None:
    versions = register(tracking_uri, model_name, 5)
    rounds = [(versions[0], versions[1]), (versions[2], versions[3]), (versions[4], versions[0])]
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    procs = [
        subprocess.Popen([sys.executable, "-c", _PROMOTER, tracking_uri, model_name,
                          str(tmp_path), tag, ",".join(r[k] for r in rounds)], env=env)
        for k, tag in enumerate(("A", "B"))
    ]
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        _wait([tmp_path / "A.ready", tmp_path / "B.ready"], procs, "start")
        for i, (a, b) in enumerate(rounds):
            (tmp_path / f"go{i}").write_text("go")
            outs = [tmp_path / f"A.{i}.json", tmp_path / f"B.{i}.json"]
            _wait(outs, procs, f"finish round {i}")
            results = [json.loads(o.read_text()) for o in outs]
            assert all(r["ok"] for r in results), results

            holder = str(client.get_model_version_by_alias(model_name, "production").version)
            assert holder in (a, b)
            stages = {v.version: v.stage
                      for v in list_versions(model_name, tracking_uri=tracking_uri)}
            assert [v for v, s in stages.items() if s == "Production"] == [holder]
            tags = {v: client.get_model_version(model_name, v).tags.get("steward.stage")
                    for v in versions}
            assert [v for v, s in tags.items() if s == "Production"] == [holder]

            moves = history(model_name, tracking_uri=tracking_uri)
            assert [m.seq for m in moves] == list(range(1, len(moves) + 1))
            replayed = _replay(moves)
            assert [v for v, s in replayed.items() if s == "Production"] == [holder]
            assert all(replayed.get(v, "None") == tags[v] for v in versions)
            # both promotions are recorded: the loser's first, then archived by the winner
            loser = b if holder == a else a
            assert [m.version for m in moves if m.to_stage == "Production"][-2:] == [
                loser, holder]
            last = moves[-1]
            assert (last.version, last.from_stage, last.to_stage, last.kind) == (
                loser, "Production", "Archived", "replace")
        for proc in procs:
            assert proc.wait(timeout=60) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    # the lock never outlives a promotion
    names = [m.name for m in client.search_registered_models()]
    assert not [n for n in names if n.endswith(".steward-lock")]
