"""Stage moves: promote and roll back, with exactly one Production version at any time.

How "exactly one Production, even when two processes promote at once" holds on MLflow:

* Production is the alias ``production``. An alias points at one version, and setting it is a
  single write, so at no moment can two versions hold it: the alias is the truth.
* Everything else (archiving the previous holder, the ``steward.stage`` tags, the history) is
  done under a per-model lock (:mod:`modelsteward.registry.lock`), so two concurrent
  promotions run one after the other: the second sees the first's result, archives the first's
  version and records that in the history. The history therefore names every holder in order,
  and its last Production entry is the version the alias points at.

>>> # promote("churn_model", 3, "Production", reason="better recall on March data")
>>> # rollback("churn_model", reason="alert: precision dropped")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelsteward.errors import (
    ModelCardError,
    NoVersionInStageError,
    RegistryError,
    RollbackError,
    StageError,
    VersionNotFoundError,
)
from modelsteward.registry.history import append_moves, moves_of, now_iso
from modelsteward.registry.lock import actor as default_actor
from modelsteward.registry.lock import registry_lock
from modelsteward.registry.lookup import (
    aliases_of,
    get_model_version,
    get_registered_model,
)
from modelsteward.registry.mlflow_errors import translate_errors
from modelsteward.registry.records import StageMove
from modelsteward.registry.stages import STAGE_TAG, alias_for, parse_stage, stage_of_version
from modelsteward.registry.tracking import (
    mlflow_client,
    resolve_tracking_uri,
    with_tracking_credentials,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

# MLflow is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["CARD_TAG", "production_lineage", "promote", "rollback"]

CARD_TAG = "steward.card"


def _set_stage_tags(
    client: MlflowClient, name: str, version: str, stage: str, at: str, by: str, reason: str
) -> None:
    """Mirror the stage on the version (for the MLflow UI and plain-MLflow searches).

    When, by whom and why live in the history; one tag keeps a promotion to few requests.
    """
    client.set_model_version_tag(name, version, STAGE_TAG, stage)


def _move(
    version: str, src: str, dst: str, at: str, by: str, reason: str, kind: str
) -> dict[str, str]:
    return {"version": version, "from": src, "to": dst, "at": at, "by": by, "reason": reason,
            "kind": kind}


_TEXT_LIMIT = 2000  # characters of a reason or actor kept in the history


def _check_text(reason: str, who: str) -> None:
    """Refuse a reason or actor the history tag cannot hold, before anything moves (a failed
    history write after the alias moved would leave a move unrecorded)."""
    for label, value in (("reason", reason), ("by", who)):
        if not isinstance(value, str):
            raise RegistryError(f"{label} must be text, got {type(value).__name__}")
        if len(value) > _TEXT_LIMIT:
            raise RegistryError(
                f"{label} is {len(value):,} characters long; at most {_TEXT_LIMIT:,} are kept "
                f"in the history: shorten it (link to a ticket or document instead)"
            )


@with_tracking_credentials
def promote(
    name: str,
    version: str | int,
    stage: str,
    reason: str = "",
    *,
    force: bool = False,
    by: str | None = None,
    tracking_uri: str | None = None,
) -> list[StageMove]:
    """Move ``version`` of model ``name`` into ``stage`` and record it in the history.

    Into Production: the version that held Production is Archived. Into Staging: the version
    that held Staging goes back to None. Into Archived/None: the version loses its alias.
    Production needs a model card unless ``force=True``. Returns the moves recorded, the
    requested one first.

    Raises ModelNotFoundError, VersionNotFoundError, StageError (unknown stage, or already
    there), ModelCardError, TrackingServerUnavailableError.
    """
    uri = resolve_tracking_uri(tracking_uri)
    target = parse_stage(stage)
    client = mlflow_client(uri)
    get_model_version(client, name, version, uri)  # clear errors before taking the lock
    v = str(version).strip()
    who = by or default_actor()
    _check_text(reason, who)
    with translate_errors(uri, f"move version {v} of {name!r} to {target}"):
        with registry_lock(client, name):
            model = get_registered_model(client, name, uri)
            aliases = aliases_of(model)
            mv = client.get_model_version(name, v)
            tags = dict(mv.tags or {})
            current = stage_of_version(v, aliases, tags)
            if current == target:
                raise StageError(
                    f"version {v} of {name!r} is already in {target}; nothing to do"
                )
            if target == "Production" and not force and tags.get(CARD_TAG) != "true":
                raise ModelCardError(
                    f"version {v} of {name!r} has no model card, and Production needs one. "
                    f"Add it with modelsteward.registry.set_model_card({name!r}, {v}, "
                    f"ModelCard(intended_use=..., limitations=..., owners=[...])) or "
                    f"`steward registry card {name} {v} --from-file card.json`; or promote "
                    f"with force=True (`--force`) to skip the check."
                )
            at = now_iso()
            moves = [_move(v, current, target, at, who, reason, "promote")]
            alias = alias_for(target)
            displaced: str | None = None
            if alias is not None:
                holder = aliases.get(alias)
                if holder is not None and holder != v:
                    displaced = holder
            for held_alias, held_version in aliases.items():
                if held_version == v and held_alias != alias and held_alias in (
                    "production", "staging"
                ):
                    client.delete_registered_model_alias(name, held_alias)
            if alias is not None:
                client.set_registered_model_alias(name, alias, v)
            _set_stage_tags(client, name, v, target, at, who, reason)
            if displaced is not None:
                moved_to = "Archived" if target == "Production" else "None"
                _set_stage_tags(client, name, displaced, moved_to, at, who,
                                f"replaced by version {v}")
                moves.append(
                    _move(displaced, target, moved_to, at, who, f"replaced by version {v}",
                          "replace")
                )
            return append_moves(client, name, moves_of(model), moves)


def production_lineage(moves: list[StageMove]) -> list[str]:
    """The stack of Production holders a rollback walks back through (oldest first).

    A promotion into Production pushes its version; a rollback pops back to its target.
    """
    stack: list[str] = []
    for move in moves:
        if move.to_stage != "Production":
            continue
        if move.kind == "rollback":
            while stack and stack[-1] != move.version:
                stack.pop()
            if not stack:
                stack.append(move.version)
        elif not stack or stack[-1] != move.version:
            stack.append(move.version)
    return stack


@with_tracking_credentials
def rollback(
    name: str, reason: str = "", *, by: str | None = None, tracking_uri: str | None = None
) -> list[StageMove]:
    """Put back the version that held Production before the current one, in one step.

    The current Production version is Archived. Repeated rollbacks walk further back.
    Raises NoVersionInStageError when nothing is in Production, RollbackError when there is no
    earlier Production version. Returns the moves recorded (the restored version first).
    """
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow_client(uri)
    get_registered_model(client, name, uri)
    who = by or default_actor()
    _check_text(reason, who)
    with translate_errors(uri, f"roll back {name!r}"):
        with registry_lock(client, name):
            model = get_registered_model(client, name, uri)
            aliases = aliases_of(model)
            current = aliases.get("production")
            if current is None:
                raise NoVersionInStageError(
                    f"model {name!r} has no Production version to roll back from. Promote one "
                    f"with `steward registry promote {name} <VERSION> Production`."
                )
            moves = moves_of(model)
            lineage = production_lineage(moves)
            if lineage and lineage[-1] == current:
                lineage = lineage[:-1]
            target: str | None = None
            for candidate in reversed(lineage):
                if candidate == current:
                    continue
                try:
                    get_model_version(client, name, candidate, uri)
                except VersionNotFoundError:
                    continue
                target = candidate
                break
            if target is None:
                raise RollbackError(
                    f"version {current} is the first Production version of {name!r} on "
                    f"record: there is no earlier one to roll back to. Promote a specific "
                    f"version instead: `steward registry promote {name} <VERSION> Production`."
                )
            mv = client.get_model_version(name, target)
            target_from = stage_of_version(target, aliases, dict(mv.tags or {}))
            at = now_iso()
            if aliases.get("staging") == target:
                client.delete_registered_model_alias(name, "staging")
            client.set_registered_model_alias(name, "production", target)
            text = reason or f"rollback from version {current}"
            _set_stage_tags(client, name, target, "Production", at, who, text)
            _set_stage_tags(client, name, current, "Archived", at, who, text)
            new = [
                _move(target, target_from, "Production", at, who, text, "rollback"),
                _move(current, "Production", "Archived", at, who, text, "rollback"),
            ]
            return append_moves(client, name, moves, new)
