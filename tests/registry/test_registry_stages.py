# mypy: disable-error-code="union-attr,arg-type,operator,attr-defined"
"""Stage moves, their history, rollback, cards and bad names - on SQLite and on a real server."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient

from modelsteward.errors import (
    InvalidModelNameError,
    ModelCardError,
    ModelNotFoundError,
    NoVersionInStageError,
    RollbackError,
    StageError,
    VersionNotFoundError,
)
from modelsteward.registry import (
    ModelCard,
    current_version,
    describe,
    get_model_card,
    history,
    list_models,
    list_versions,
    promote,
    rollback,
    set_model_card,
)


def _stages(uri: str, name: str) -> dict[str, str]:
    return {v.version: v.stage for v in list_versions(name, tracking_uri=uri)}


def test_each_stage_move_is_recorded_in_order(tracking_uri: str, model_name: str,
                                              register) -> None:
    v1, v2, v3 = register(tracking_uri, model_name, 3)
    promote(model_name, v1, "Staging", reason="qa", tracking_uri=tracking_uri)
    assert _stages(tracking_uri, model_name) == {v1: "Staging", v2: "None", v3: "None"}
    promote(model_name, v1, "production", reason="qa passed", tracking_uri=tracking_uri)
    # leaving Staging for Production drops the staging alias
    assert _stages(tracking_uri, model_name) == {v1: "Production", v2: "None", v3: "None"}
    promote(model_name, v2, "Staging", reason="candidate", tracking_uri=tracking_uri)
    promote(model_name, v3, "Staging", reason="better candidate", tracking_uri=tracking_uri)
    assert _stages(tracking_uri, model_name) == {v1: "Production", v2: "None", v3: "Staging"}
    moves = promote(model_name, v3, "Production", reason="wins", tracking_uri=tracking_uri)
    assert [(m.version, m.from_stage, m.to_stage, m.kind) for m in moves] == [
        (v3, "Staging", "Production", "promote"), (v1, "Production", "Archived", "replace")]
    assert _stages(tracking_uri, model_name) == {v1: "Archived", v2: "None", v3: "Production"}

    moves = history(model_name, tracking_uri=tracking_uri)
    assert [(m.version, m.from_stage, m.to_stage) for m in moves] == [
        (v1, "None", "Staging"),
        (v1, "Staging", "Production"),
        (v2, "None", "Staging"),
        (v3, "None", "Staging"),
        (v2, "Staging", "None"),
        (v3, "Staging", "Production"),
        (v1, "Production", "Archived"),
    ]
    assert [m.seq for m in moves] == list(range(1, 8))
    assert all(m.by == "tester@registry" and m.at for m in moves)
    assert moves[1].reason == "qa passed"
    assert [m.to_stage for m in history(model_name, version=v1, tracking_uri=tracking_uri)] == [
        "Staging", "Production", "Archived"]

    # plain MLflow sees the same: the alias is the truth
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    assert str(client.get_model_version_by_alias(model_name, "production").version) == v3
    assert client.get_model_version(model_name, v1).tags["steward.stage"] == "Archived"
    summary = next(m for m in list_models(tracking_uri=tracking_uri) if m.name == model_name)
    assert (summary.production_version, summary.staging_version, summary.n_versions) == (
        v3, None, 3)


def test_history_is_readable_by_a_fresh_client(tracking_uri: str, model_name: str,
                                               register) -> None:
    (v1,) = register(tracking_uri, model_name, 1)
    promote(model_name, v1, "Production", reason="go", tracking_uri=tracking_uri)
    tags = MlflowClient(tracking_uri=tracking_uri).get_registered_model(model_name).tags
    entries = [k for k in tags if k.startswith("steward.history.")]
    assert entries == ["steward.history.00000001"]
    assert '"to": "Production"' in tags[entries[0]]


def test_archive_and_none_remove_the_alias(tracking_uri: str, model_name: str,
                                           register) -> None:
    (v1,) = register(tracking_uri, model_name, 1)
    promote(model_name, v1, "Production", tracking_uri=tracking_uri)
    promote(model_name, v1, "Archived", reason="retired", tracking_uri=tracking_uri)
    with pytest.raises(NoVersionInStageError, match="no Production version"):
        current_version(model_name, tracking_uri=tracking_uri)
    with pytest.raises(StageError, match="already in Archived"):
        promote(model_name, v1, "archived", tracking_uri=tracking_uri)
    promote(model_name, v1, "None", tracking_uri=tracking_uri)
    assert _stages(tracking_uri, model_name) == {v1: "None"}


def test_rollback_walks_back_one_step_at_a_time(tracking_uri: str, model_name: str,
                                                register) -> None:
    v1, v2, v3 = register(tracking_uri, model_name, 3)
    with pytest.raises(NoVersionInStageError):
        rollback(model_name, tracking_uri=tracking_uri)
    promote(model_name, v1, "Production", tracking_uri=tracking_uri)
    with pytest.raises(RollbackError, match="no earlier one"):
        rollback(model_name, tracking_uri=tracking_uri)
    promote(model_name, v2, "Production", tracking_uri=tracking_uri)
    promote(model_name, v3, "Production", tracking_uri=tracking_uri)
    moves = rollback(model_name, reason="alert on v3", tracking_uri=tracking_uri)
    assert [(m.version, m.from_stage, m.to_stage, m.kind) for m in moves] == [
        (v2, "Archived", "Production", "rollback"), (v3, "Production", "Archived", "rollback")]
    assert current_version(model_name, tracking_uri=tracking_uri).version == v2
    rollback(model_name, reason="v2 too", tracking_uri=tracking_uri)
    assert current_version(model_name, tracking_uri=tracking_uri).version == v1
    assert _stages(tracking_uri, model_name) == {v1: "Production", v2: "Archived",
                                                 v3: "Archived"}
    with pytest.raises(RollbackError):
        rollback(model_name, tracking_uri=tracking_uri)
    # a new promotion after rollbacks: rollback goes to the version it replaced
    promote(model_name, v3, "Production", tracking_uri=tracking_uri)
    rollback(model_name, tracking_uri=tracking_uri)
    assert current_version(model_name, tracking_uri=tracking_uri).version == v1
    last = history(model_name, tracking_uri=tracking_uri)[-1]
    assert (last.version, last.to_stage, last.kind) == (v3, "Archived", "rollback")


def test_production_needs_a_card_unless_forced(tracking_uri: str, model_name: str,
                                               register) -> None:
    v1, v2 = register(tracking_uri, model_name, 2, card=None)
    with pytest.raises(ModelCardError) as info:
        promote(model_name, v1, "Production", tracking_uri=tracking_uri)
    assert "set_model_card" in str(info.value) and "--from-file" in str(info.value)
    assert "force=True" in str(info.value)
    assert history(model_name, tracking_uri=tracking_uri) == []
    promote(model_name, v1, "Staging", tracking_uri=tracking_uri)  # only Production checks
    promote(model_name, v1, "Production", force=True, tracking_uri=tracking_uri)
    assert current_version(model_name, tracking_uri=tracking_uri).version == v1
    with pytest.raises(ModelCardError, match="no model card"):
        get_model_card(model_name, v2, tracking_uri=tracking_uri)
    card = set_model_card(model_name, v2, ModelCard(intended_use="score churn",
                                                    owners=("team-a",)),
                          tracking_uri=tracking_uri)
    assert card.training_data["train_samples"] == 900  # filled from the run
    assert "f1" in card.metrics
    promote(model_name, v2, "Production", tracking_uri=tracking_uri)
    stored = get_model_card(model_name, tracking_uri=tracking_uri)
    assert stored.owners == ("team-a",) and stored.intended_use == "score churn"
    description = MlflowClient(tracking_uri=tracking_uri).get_model_version(
        model_name, v2).description
    assert description.startswith(f"# Model card: {model_name} version {v2}")


def test_card_with_subgroups_is_filled_automatically(tracking_uri: str, model_name: str,
                                                     register) -> None:
    card = {"intended_use": "churn", "subgroup_column": "segment",
            "fairness_considerations": "segments compared below"}
    (v1,) = register(tracking_uri, model_name, 1, card=card)
    stored = get_model_card(model_name, v1, tracking_uri=tracking_uri)
    groups = {row["group"]: row for row in stored.subgroup_performance}
    assert set(groups) == {"segment=0.0", "segment=1.0"}
    assert sum(row["n"] for row in groups.values()) == 300
    assert all(0.0 <= row["f1"] <= 1.0 for row in groups.values())
    markdown = stored.to_markdown(model_name, v1)
    assert "| segment=0.0 |" in markdown and "## Fairness considerations" in markdown
    assert stored.training_data["positive_rate"] == pytest.approx(0.3, abs=0.05)


def test_describe_answers_the_four_questions(tracking_uri: str, model_name: str,
                                             register) -> None:
    (v1,) = register(tracking_uri, model_name, 1)
    promote(model_name, v1, "Production", reason="first release", tracking_uri=tracking_uri)
    d = describe(model_name, tracking_uri=tracking_uri)
    assert d.version == v1 and d.stage == "Production"
    assert d.params["max_iter"] == "200" and d.params["C"] == "1.0"        # hyperparameters
    assert len(d.data_digest) == 32 and d.mlflow_dataset_digest            # data version
    assert d.data["train_samples"] == "900" and d.data["test_samples"] == "300"
    assert set(d.metrics) >= {"f1", "precision", "recall", "roc_auc"}      # evaluation
    assert d.trained_at and d.registered_at and d.trained_at <= d.promoted_at  # when
    assert d.promoted_by == "tester@registry" and d.promotion_reason == "first release"
    assert d.has_card and d.baseline_uri == f"runs:/{d.run_id}/baseline"
    as_dict = d.to_dict()
    assert as_dict["metrics"] == d.metrics and as_dict["version"] == v1


def test_bad_names_give_actionable_errors(tracking_uri: str, model_name: str,
                                          register) -> None:
    (v1,) = register(tracking_uri, model_name, 1)
    with pytest.raises(ModelNotFoundError, match="Did you mean"):
        describe(model_name[:-1] + "x", tracking_uri=tracking_uri)
    with pytest.raises(VersionNotFoundError, match=f"versions: {v1}"):
        promote(model_name, 99, "Staging", tracking_uri=tracking_uri)
    with pytest.raises(VersionNotFoundError, match="positive integer"):
        promote(model_name, "one", "Staging", tracking_uri=tracking_uri)
    with pytest.raises(StageError, match="unknown stage 'Prod'"):
        promote(model_name, v1, "Prod", tracking_uri=tracking_uri)
    with pytest.raises(StageError, match="can hold many versions"):
        current_version(model_name, "Archived", tracking_uri=tracking_uri)
    with pytest.raises(InvalidModelNameError, match="cannot contain"):
        history("a/b", tracking_uri=tracking_uri)
    with pytest.raises(InvalidModelNameError):
        promote("", 1, "Production", tracking_uri=tracking_uri)
    with pytest.raises(NoVersionInStageError, match="steward registry promote"):
        describe(model_name, tracking_uri=tracking_uri)
    assert mlflow.active_run() is None


def test_a_held_lock_blocks_and_a_stale_one_is_taken_over(
    sqlite_uri: str, model_name: str, register, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from modelsteward.errors import RegistryError

    (v1,) = register(sqlite_uri, model_name, 1)
    client = MlflowClient(tracking_uri=sqlite_uri, registry_uri=sqlite_uri)
    lock = f"{model_name}.steward-lock"
    client.create_registered_model(lock, tags={"steward.lock.owner": "other",
                                               "steward.lock.since": f"{time.time():.3f}"})
    monkeypatch.setenv("STEWARD_LOCK_TIMEOUT", "0.5")
    with pytest.raises(RegistryError, match=f"delete the registered model '{lock}'"):
        promote(model_name, v1, "Production", tracking_uri=sqlite_uri)
    assert history(model_name, tracking_uri=sqlite_uri) == []
    assert model_name in [m.name for m in list_models(tracking_uri=sqlite_uri)]
    assert lock not in [m.name for m in list_models(tracking_uri=sqlite_uri)]  # hidden
    client.set_registered_model_tag(lock, "steward.lock.since", f"{time.time() - 600:.3f}")
    promote(model_name, v1, "Production", tracking_uri=sqlite_uri)  # stale: taken over
    assert current_version(model_name, tracking_uri=sqlite_uri).version == v1
    assert lock not in [m.name for m in client.search_registered_models()]


def test_alias_moved_by_plain_mlflow_is_the_truth(sqlite_uri: str, model_name: str,
                                                  register) -> None:
    v1, v2, v3 = register(sqlite_uri, model_name, 3)
    promote(model_name, v1, "Production", tracking_uri=sqlite_uri)
    promote(model_name, v2, "Production", tracking_uri=sqlite_uri)
    # someone moves the alias with plain MLflow, bypassing modelsteward
    MlflowClient(tracking_uri=sqlite_uri, registry_uri=sqlite_uri).set_registered_model_alias(
        model_name, "production", v3)
    assert _stages(sqlite_uri, model_name) == {v1: "Archived", v2: "Archived",
                                               v3: "Production"}
    assert current_version(model_name, tracking_uri=sqlite_uri).version == v3
    # rollback returns to the last Production version modelsteward recorded
    rollback(model_name, reason="undo manual change", tracking_uri=sqlite_uri)
    assert current_version(model_name, tracking_uri=sqlite_uri).version == v2
    assert _stages(sqlite_uri, model_name)[v3] == "Archived"
