"""The stage history of a model: append-only, kept in MLflow.

Each move is one registered-model tag ``steward.history.<seq:08d>`` holding a JSON object
(version, from, to, at, by, reason, kind). Tags live in the tracking store, so the history
survives the process and is read from any machine that reaches the store; writers append
under the promotion lock (see :mod:`modelsteward.registry.lock`), so sequence numbers are
unique and ordered.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from modelsteward.registry.lookup import get_registered_model
from modelsteward.registry.mlflow_errors import translate_errors
from modelsteward.registry.records import StageMove
from modelsteward.registry.tracking import (
    mlflow_client,
    resolve_tracking_uri,
    with_tracking_credentials,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import RegisteredModel

# MLflow is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["HISTORY_PREFIX", "append_moves", "history", "moves_of", "now_iso"]

HISTORY_PREFIX = "steward.history."


def now_iso() -> str:
    """Current UTC time, ISO 8601 with milliseconds."""
    return dt.datetime.now(tz=dt.UTC).isoformat(timespec="milliseconds")


def moves_of(model: RegisteredModel) -> list[StageMove]:
    """Parse the history tags of a registered model, oldest first."""
    moves: list[StageMove] = []
    for key, value in (model.tags or {}).items():
        if not key.startswith(HISTORY_PREFIX):
            continue
        try:
            data = json.loads(value)
            moves.append(
                StageMove(
                    seq=int(data["seq"]),
                    version=str(data["version"]),
                    from_stage=str(data["from"]),
                    to_stage=str(data["to"]),
                    at=str(data["at"]),
                    by=str(data.get("by", "")),
                    reason=str(data.get("reason", "")),
                    kind=str(data.get("kind", "promote")),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            continue  # a hand-edited tag that is not ours: skip it, keep the rest
    moves.sort(key=lambda m: (m.seq, m.at))
    return moves


def append_moves(
    client: MlflowClient, name: str, existing: list[StageMove], moves: list[dict[str, str]]
) -> list[StageMove]:
    """Append moves after ``existing`` (call under the lock). Returns the stored moves."""
    next_seq = (existing[-1].seq + 1) if existing else 1
    stored: list[StageMove] = []
    for offset, move in enumerate(moves):
        seq = next_seq + offset
        payload = {"seq": seq, **move}
        client.set_registered_model_tag(
            name, f"{HISTORY_PREFIX}{seq:08d}", json.dumps(payload, sort_keys=True)
        )
        stored.append(
            StageMove(
                seq=seq,
                version=move["version"],
                from_stage=move["from"],
                to_stage=move["to"],
                at=move["at"],
                by=move["by"],
                reason=move["reason"],
                kind=move["kind"],
            )
        )
    return stored


@with_tracking_credentials
def history(
    name: str, *, version: str | int | None = None, tracking_uri: str | None = None
) -> list[StageMove]:
    """Every stage move of model ``name`` (optionally one version), oldest first.

    >>> # history("churn_model")[-1].to_stage  -> 'Production'
    """
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow_client(uri)
    model = get_registered_model(client, name, uri)
    with translate_errors(uri, f"read the history of {name!r}"):
        moves = moves_of(model)
    if version is not None:
        moves = [m for m in moves if m.version == str(version)]
    return moves
