"""Settings of one ``steward serve`` process, passable to uvicorn workers as JSON."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

from modelsteward.errors import ConfigError

__all__ = ["ServeConfig", "stage_alias", "TOKEN_ENV", "CONFIG_ENV"]

#: Environment variable holding the bearer token when ``--token`` is not given.
TOKEN_ENV = "STEWARD_SERVE_TOKEN"
#: Environment variable through which the parent hands the config to uvicorn workers.
CONFIG_ENV = "STEWARD_SERVE_CONFIG"

_STAGE_ALIASES = {"production": "production", "staging": "staging"}


def stage_alias(stage: str) -> str:
    """The MLflow alias that holds a stage: Production -> ``production``, Staging -> ``staging``.

    >>> stage_alias("Production"), stage_alias("staging")
    ('production', 'staging')
    """
    alias = _STAGE_ALIASES.get(stage.strip().lower())
    if alias is None:
        raise ConfigError(
            f"stage {stage!r} cannot be served; use --stage production or --stage staging"
        )
    return alias


@dataclass(frozen=True)
class ServeConfig:
    """What to serve, where to log, and the limits of the service.

    >>> ServeConfig(model_name="churn").alias
    'production'
    """

    model_name: str
    stage: str = "production"
    log_url: str | None = None
    tracking_uri: str | None = None
    poll_interval: float = 5.0
    token: str | None = None
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch_rows: int = 10_000  # rows per model call when batching requests

    def __post_init__(self) -> None:
        if not self.model_name:
            raise ConfigError("--model is empty; give the registered model name")
        stage_alias(self.stage)
        if self.poll_interval <= 0:
            raise ConfigError("--poll-interval must be positive (seconds)")
        if self.max_body_bytes <= 0:
            raise ConfigError("the body size limit must be positive (bytes)")

    @property
    def alias(self) -> str:
        return stage_alias(self.stage)

    def resolved_token(self) -> str | None:
        """``token`` if set, else the ``STEWARD_SERVE_TOKEN`` environment variable, else None."""
        return self.token or os.environ.get(TOKEN_ENV) or None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        return cls(**json.loads(text))

    def to_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["token"] = "***" if self.token else None
        return data
