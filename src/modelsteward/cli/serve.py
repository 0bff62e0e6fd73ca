"""``steward serve``: serve a registered model over HTTP and log every prediction."""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from typing import Any

import click

from modelsteward.cli.registry import allow_unverified_option
from modelsteward.errors import StewardError

__all__ = ["command"]

_WILDCARDS = ("0.0.0.0", "::", "")


class _FiniteFloatRange(click.FloatRange):
    """click's FloatRange, refusing NaN and infinities (NaN passes every comparison)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the service on this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to a public address


def _resolve_token(token: str | None, token_file: Path | None) -> str | None:
    if token is not None and token_file is not None:
        raise click.UsageError("give --token or --token-file, not both")
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"cannot read {token_file}: {exc}",
                                     param_hint="--token-file") from exc
        if not token:
            raise click.BadParameter(f"{token_file} is empty; write the token into it",
                                     param_hint="--token-file")
    if token is not None and not token.strip():
        raise click.BadParameter("the token is empty; give a non-empty token, or leave the "
                                 "option out to serve without one on 127.0.0.1",
                                 param_hint="--token")
    return token


def _allowed_hosts(host: str, given: tuple[str, ...]) -> tuple[str, ...]:
    from modelsteward.serve.config import LOOPBACK_HOSTS

    names = [h.strip() for item in given for h in item.split(",") if h.strip()]
    if names:
        return tuple(names)
    bound = [] if host.strip("[]") in _WILDCARDS else [host.strip("[]")]
    return tuple(dict.fromkeys([*bound, *LOOPBACK_HOSTS]))


@click.command("serve")
@click.option("--model", "model_name", required=True, help="Registered model name.")
@click.option("--stage", default="production", show_default=True,
              help="Stage to serve and watch: production or staging (MLflow alias).")
@click.option("--log", "log_url", default=None,
              help="Prediction log URL (default sqlite:///./.steward/predictions.db).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; a non-loopback address needs a token.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="uvicorn worker processes (each polls and batches on its own).")
@click.option("--token", default=None, envvar=["STEWARD_TOKEN", "STEWARD_SERVE_TOKEN"],
              show_envvar=True,
              help="Bearer token required on every route but /health (prefer $STEWARD_TOKEN "
                   "or --token-file: an option is visible in `ps`).")
@click.option("--token-file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the bearer token from this file.")
@click.option("--insecure-no-token", is_flag=True, default=False,
              help="Allow serving on a non-loopback address without a token.")
@click.option("--allowed-hosts", "allowed_hosts", multiple=True, metavar="HOST[,HOST]",
              help="Host header values accepted ('*': any). Default: the bound host, "
                   "localhost, 127.0.0.1 and ::1.")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or ./.steward/mlflow.db).")
@click.option("--poll-interval", default=5.0, show_default=True,
              type=_FiniteFloatRange(0, 86_400, min_open=True),
              help="Seconds between looks at the stage alias (0 < s <= 86400).")
@click.option("--max-body-mb", default=16.0, show_default=True,
              type=_FiniteFloatRange(0, 4096, min_open=True),
              help="Largest accepted request body, in MiB (0 < MiB <= 4096).")
@allow_unverified_option
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def command(model_name: str, stage: str, log_url: str | None, host: str, port: int,
            workers: int, token: str | None, token_file: Path | None, insecure_no_token: bool,
            allowed_hosts: tuple[str, ...], tracking_uri: str | None, poll_interval: float,
            max_body_mb: float, log_level: str) -> None:
    """Serve MODEL at STAGE; promotions and rollbacks are picked up while running.

    \b
    Example:
      steward serve --model churn --port 8000
      curl -s localhost:8000/predict -H 'content-type: application/json' \\
           -d '[{"age": 41, "plan": "b"}]'
      curl -s localhost:8000/feedback -H 'content-type: application/json' \\
           -d '{"prediction_id": "<id>", "outcome": 1}'

    Every prediction is committed to the log before its response is sent.
    """
    from modelsteward.serve.config import ServeConfig
    from modelsteward.serve.runner import run

    token = _resolve_token(token, token_file)
    if token is None and not is_loopback(host) and not insecure_no_token:
        raise click.UsageError(
            f"--host {host} is reachable from other machines and no token is set: anyone "
            "there could predict and write outcomes. Set $STEWARD_TOKEN or --token-file "
            "(or pass --insecure-no-token to accept that)")
    hosts = _allowed_hosts(host, allowed_hosts)
    try:
        config = ServeConfig(model_name=model_name, stage=stage, log_url=log_url,
                             tracking_uri=tracking_uri, poll_interval=poll_interval,
                             token=token, max_body_bytes=int(max_body_mb * 1024 * 1024),
                             allowed_hosts=() if "*" in hosts else hosts)
        from modelsteward.store import PredictionLog

        PredictionLog(config.log_url).close()  # fail fast on a bad log URL
    except StewardError as exc:
        from modelsteward.redact import redact_text

        click.echo(f"error: {redact_text(exc, secrets=[token])}", err=True)
        raise SystemExit(2) from exc
    click.echo(f"serving {model_name} ({stage}) on http://{host}:{port} "
               f"[{workers} worker(s)]; Host headers accepted: "
               f"{', '.join(hosts)}", err=True)
    run(config, host=host, port=port, workers=workers, log_level=log_level)
