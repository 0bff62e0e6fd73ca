"""``steward registry``: tables, --json, --tracking-uri / MLFLOW_TRACKING_URI, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelsteward.cli import main


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["registry", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_round_trip(sqlite_uri: str, register, tmp_path: Path) -> None:
    v1, v2 = register(sqlite_uri, "churn", 2)
    env = {"MLFLOW_TRACKING_URI": sqlite_uri}
    code, out, _ = _run("list", env=env)
    assert code == 0 and "churn" in out and "production" in out
    code, out, _ = _run("--tracking-uri", sqlite_uri, "list", "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["name"] == "churn" and rows[0]["n_versions"] == 2

    code, out, _ = _run("promote", "churn", v1, "production", "--reason", "first", env=env)
    assert code == 0 and f"churn version {v1}: None -> Production (first)" in out
    code, out, _ = _run("promote", "churn", v2, "Production", "--json", env=env)
    moves = json.loads(out)
    assert [(m["version"], m["to_stage"]) for m in moves] == [(v2, "Production"),
                                                              (v1, "Archived")]
    code, out, _ = _run("show", "churn", "--json", env=env)
    shown = json.loads(out)
    assert code == 0 and shown["version"] == v2 and shown["stage"] == "Production"
    assert shown["params"]["max_iter"] == "200" and "f1" in shown["metrics"]
    code, out, _ = _run("show", "churn", env=env)
    assert code == 0 and "Hyperparameters" in out and "training data digest" in out

    code, out, _ = _run("rollback", "churn", "--reason", "alert", env=env)
    assert code == 0 and f"churn version {v1}: Archived -> Production" in out
    code, out, _ = _run("history", "churn", "--json", env=env)
    assert [(m["version"], m["to_stage"], m["kind"]) for m in json.loads(out)] == [
        (v1, "Production", "promote"), (v2, "Production", "promote"),
        (v1, "Archived", "replace"), (v1, "Production", "rollback"),
        (v2, "Archived", "rollback")]
    code, out, _ = _run("history", "churn", env=env)
    assert code == 0 and "Stage history of churn" in out

    code, out, _ = _run("card", "churn", env=env)
    assert code == 0 and "Intended use" in out and "tests of the registry" in out
    card_file = tmp_path / "card.json"
    card_file.write_text(json.dumps({"intended_use": "new use", "owners": ["ops"]}))
    code, out, _ = _run("card", "churn", v2, "--from-file", str(card_file), "--json", env=env)
    assert code == 0 and json.loads(out)["intended_use"] == "new use"
    code, out, _ = _run("card", "churn", v2, "--json", env=env)
    assert json.loads(out)["owners"] == ["ops"] and json.loads(out)["version"] == v2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "nope"), "no registered model named 'nope'"),
        (("promote", "churn", "1", "Prod"), "unknown stage 'Prod'"),
        (("promote", "churn", "7", "Staging"), "has no version 7"),
        (("rollback", "churn"), "no Production version"),
        (("card", "churn", "1"), "has no model card"),
        (("history", "a/b"), "invalid model name"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(sqlite_uri: str, register, args: tuple[str, ...],
                                             message: str) -> None:
    register(sqlite_uri, "churn", 1, card=None)
    code, out, err = _run("--tracking-uri", sqlite_uri, *args)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert "Traceback" not in err


def test_cli_promote_without_card_says_how_to_add_one(sqlite_uri: str, register) -> None:
    register(sqlite_uri, "churn", 1, card=None)
    code, _, err = _run("--tracking-uri", sqlite_uri, "promote", "churn", "1", "Production")
    assert code == 2 and "steward registry card churn 1 --from-file" in err
    code, out, _ = _run("--tracking-uri", sqlite_uri, "promote", "churn", "1", "Production",
                        "--force")
    assert code == 0 and "None -> Production" in out


def test_cli_server_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_TRACKING_RETRIES", "1")
    code, _, err = _run("--tracking-uri", "http://127.0.0.1:9", "list")
    assert code == 2 and err.startswith("error: MLflow tracking server http://127.0.0.1:9")


def test_cli_help_has_examples() -> None:
    code, out, _ = _run("--help")
    assert code == 0 and "steward registry" in out
    for sub in ("list", "show", "history", "promote", "rollback", "card"):
        code, out, _ = _run(sub, "--help")
        assert code == 0 and "Example" in out, sub


def test_cli_uses_the_embedded_store_without_uri(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, template_db: Path
) -> None:
    import shutil

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".steward").mkdir()
    shutil.copy(template_db, tmp_path / ".steward" / "mlflow.db")
    code, out, _ = _run("list")
    assert code == 0 and f"no registered models in sqlite:///{tmp_path.resolve()}" in out
