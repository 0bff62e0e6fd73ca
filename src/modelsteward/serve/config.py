"""Settings of one ``steward serve`` process, passable to uvicorn workers as JSON."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass

from modelsteward.errors import ConfigError

__all__ = ["ServeConfig", "stage_alias", "TOKEN_ENV", "LEGACY_TOKEN_ENV", "CONFIG_ENV",
           "LOOPBACK_HOSTS"]

#: Environment variable holding the bearer token when ``--token`` is not given.
TOKEN_ENV = "STEWARD_TOKEN"
#: The earlier name of :data:`TOKEN_ENV`, still read when that one is not set.
LEGACY_TOKEN_ENV = "STEWARD_SERVE_TOKEN"
#: Host names a local client may send in its ``Host`` header (allowed by default).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
#: Longest accepted --poll-interval (one day): an infinite interval would stop the poller.
MAX_POLL_INTERVAL = 86_400.0
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
    #: Host header values accepted (without port); empty: any. ``steward serve`` always sets it.
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.model_name:
            raise ConfigError("--model is empty; give the registered model name")
        stage_alias(self.stage)
        interval = self.poll_interval
        if not isinstance(interval, int | float) or not math.isfinite(interval) \
                or not 0 < interval <= MAX_POLL_INTERVAL:
            raise ConfigError(f"--poll-interval {interval!r} is not a number of seconds in "
                              f"(0, {MAX_POLL_INTERVAL:g}]; give e.g. --poll-interval 5")
        if not isinstance(self.max_body_bytes, int) or self.max_body_bytes <= 0:
            raise ConfigError("the body size limit must be a positive number of bytes")
        if not isinstance(self.max_batch_rows, int) or self.max_batch_rows <= 0:
            raise ConfigError("max_batch_rows must be a positive number of rows")
        if self.token is not None and not self.token.strip():
            raise ConfigError("the token is empty; give a non-empty --token (or leave it out "
                              "to serve without one on a loopback address)")
        object.__setattr__(self, "allowed_hosts",
                           tuple(h.strip().lower() for h in self.allowed_hosts if h.strip()))

    @property
    def alias(self) -> str:
        return stage_alias(self.stage)

    def resolved_token(self) -> str | None:
        """``token`` if set, else ``$STEWARD_TOKEN``, else ``$STEWARD_SERVE_TOKEN``, else None."""
        return self.token or os.environ.get(TOKEN_ENV) or os.environ.get(LEGACY_TOKEN_ENV) \
            or None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        data = json.loads(text)
        data["allowed_hosts"] = tuple(data.get("allowed_hosts") or ())
        return cls(**data)

    def to_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["token"] = "***" if self.token else None
        return data
