"""Bad files and names give one-line errors, never a traceback or a raw OSError; the
embedded store is private to its user."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.errors import InvalidModelNameError, ModelCardError
from modelsteward.registry import ModelCard, history, log_training_run


def _card(tmp_path: Path, name: str, content: bytes) -> tuple[int, str, str]:
    path = tmp_path / name
    path.write_bytes(content)
    uri = f"sqlite:///{tmp_path / 'unused' / 'mlflow.db'}"
    result = CliRunner().invoke(
        main, ["registry", "--tracking-uri", uri, "card", "churn", "1", "--from-file", str(path)])
    return result.exit_code, result.stderr, repr(result.exception)


@pytest.mark.parametrize("name,content,expect", [
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested"),
    ("deep_ok_for_parser.json",
     b'{"intended_use": "x", "training_data": ' + b'{"a": ' * 200 + b"1" + b"}" * 200 + b"}",
     "nested"),
    ("deep.toml", b"a = " + b"[" * 100_000 + b"]" * 100_000, "cannot read"),
    ("binary.json", bytes(range(256)) * 64, "not UTF-8 text"),
    ("card.json", b'{"intended_use": "x", "owners": 5}', "owners"),
    ("card2.json", b'{"intended_use": "x", "limitations": ["a"]}', "limitations"),
    ("card3.json", b'{"intended_use": "x", "metrics": {"f1": "high"}}', "metrics"),
    ("card4.json", b'{"intended_use": "x", "subgroup_performance": [1]}',
     "subgroup_performance"),
    ("card5.json", b'{"intended_use": "x", "subgroup_column": 3}', "subgroup_column"),
])
def test_bad_card_files_are_one_line_errors(tmp_path: Path, name: str, content: bytes,
                                            expect: str) -> None:
    code, err, exc = _card(tmp_path, name, content)
    assert code == 2, exc
    assert err.startswith("error: ") and err.count("\n") == 1 and expect in err, err


def test_huge_card_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MiB of zeros
    uri = f"sqlite:///{tmp_path / 'unused' / 'mlflow.db'}"
    result = CliRunner().invoke(
        main, ["registry", "--tracking-uri", uri, "card", "churn", "1", "--from-file", str(path)])
    assert result.exit_code == 2 and "too large" in result.stderr, result.stderr


def test_model_card_rejects_wrong_field_types() -> None:
    with pytest.raises(ModelCardError, match="owners"):
        ModelCard.from_dict({"intended_use": "x", "owners": 5})
    with pytest.raises(ModelCardError, match="metrics"):
        ModelCard(intended_use="x", metrics={"f1": "high"})  # type: ignore[dict-item]
    card = ModelCard.from_dict({"intended_use": "x", "owners": "ml", "metrics": {"f1": 1}})
    assert card.owners == ("ml",) and "f1" in card.to_markdown("m", "1")


def test_overlong_model_name_is_invalid_name_error(sqlite_uri: str, churn_split: tuple,
                                                   tiny_model: object) -> None:
    X_train, X_test, y_train, y_test = churn_split
    with pytest.raises(InvalidModelNameError, match="at most 200 characters"):
        log_training_run(tiny_model, X_train, y_train, X_test, y_test, model_name="m" * 300,
                         tracking_uri=sqlite_uri)
    result = CliRunner().invoke(main, ["registry", "--tracking-uri", sqlite_uri, "show",
                                       "m" * 300])
    assert result.exit_code == 2 and "at most 200 characters" in result.stderr


def test_long_experiment_name_does_not_make_a_too_long_path(sqlite_uri: str,
                                                            churn_split: tuple,
                                                            tiny_model: object) -> None:
    X_train, X_test, y_train, y_test = churn_split
    rec = log_training_run(tiny_model, X_train, y_train, X_test, y_test,
                           model_name="n" * 200, experiment="e" * 300,
                           tracking_uri=sqlite_uri)
    assert rec.version == "1"


def test_history_survives_a_deeply_nested_hand_written_tag(sqlite_uri: str, register,
                                                           model_name: str) -> None:
    from mlflow import MlflowClient

    register(sqlite_uri, model_name, 1)
    client = MlflowClient(sqlite_uri, sqlite_uri)
    client.set_registered_model_tag(model_name, "steward.history.99999999",
                                    "[" * 2400 + "]" * 2400)
    client.set_registered_model_tag(model_name, "steward.history.99999998",
                                    json.dumps({"seq": "x" * 10}))
    assert history(model_name, tracking_uri=sqlite_uri) == []


def test_embedded_store_is_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   churn_split: tuple, tiny_model: object) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["registry", "list"])
    assert result.exit_code == 0, result.output
    steward = tmp_path / ".steward"
    assert stat.S_IMODE(steward.stat().st_mode) == 0o700
    assert stat.S_IMODE((steward / "mlflow.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((steward / "artifacts").stat().st_mode) == 0o700


def test_user_strings_cannot_break_or_escape_the_cli_tables(sqlite_uri: str, register,
                                                          model_name: str) -> None:
    (v,) = register(sqlite_uri, model_name, 1)
    runner = CliRunner()
    reason = "[/] [bold]x\x1b[31mred"
    out = runner.invoke(main, ["registry", "--tracking-uri", sqlite_uri, "promote", model_name,
                               v, "Staging", "--reason", reason])
    assert out.exit_code == 0 and "\x1b" not in out.stdout and "[/]" in out.stdout
    out = runner.invoke(main, ["registry", "--tracking-uri", sqlite_uri, "history", model_name])
    assert out.exit_code == 0, repr(out.exception)
    assert "[/] [bold]x" in out.stdout and "\x1b" not in out.stdout


def test_bad_versions_and_oversized_reasons_change_nothing(sqlite_uri: str, register,
                                                           model_name: str) -> None:
    from modelsteward.errors import RegistryError, VersionNotFoundError
    from modelsteward.registry import current_version, get_version, promote

    v1, v2 = register(sqlite_uri, model_name, 2)
    for bad in ("9" * 30, "²", "-1"):
        with pytest.raises(VersionNotFoundError, match="positive integer"):
            get_version(model_name, bad, tracking_uri=sqlite_uri)
    promote(model_name, v1, "Production", tracking_uri=sqlite_uri)
    with pytest.raises(RegistryError, match="at most 2,000"):
        promote(model_name, v2, "Production", reason="x" * 200_000, tracking_uri=sqlite_uri)
    assert current_version(model_name, tracking_uri=sqlite_uri).version == v1
    assert len(history(model_name, tracking_uri=sqlite_uri)) == 1


def test_data_source_password_is_not_stored(sqlite_uri: str, churn_split: tuple,
                                            tiny_model: object, model_name: str) -> None:
    from modelsteward.registry import describe

    X_train, X_test, y_train, y_test = churn_split
    log_training_run(tiny_model, X_train, y_train, X_test, y_test, model_name=model_name,
                     data_source="postgresql://ml:s3cretpw@db:5432/prod?sslmode=require",
                     tracking_uri=sqlite_uri)
    d = describe(model_name, version=1, tracking_uri=sqlite_uri)
    assert d.data_source == "postgresql://ml:***@db:5432/prod?sslmode=require"


def test_names_with_quotes_do_not_break_listing(sqlite_uri: str, register) -> None:
    from modelsteward.registry import list_models, list_versions

    names = ["o'brien", 'say "hi"', "both ' and \""]
    for name in names:
        register(sqlite_uri, name, 1)
    listed = {m.name: m.n_versions for m in list_models(tracking_uri=sqlite_uri)}
    assert listed == dict.fromkeys(names, 1)
    for name in names:
        assert [v.name for v in list_versions(name, tracking_uri=sqlite_uri)] == [name]
