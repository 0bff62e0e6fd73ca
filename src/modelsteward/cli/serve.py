"""``steward serve``: serve a registered model over HTTP and log every prediction."""

from __future__ import annotations

import click

from modelsteward.cli.registry import allow_unverified_option
from modelsteward.errors import StewardError

__all__ = ["command"]


@click.command("serve")
@click.option("--model", "model_name", required=True, help="Registered model name.")
@click.option("--stage", default="production", show_default=True,
              help="Stage to serve and watch: production or staging (MLflow alias).")
@click.option("--log", "log_url", default=None,
              help="Prediction log URL (default sqlite:///./.steward/predictions.db).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="uvicorn worker processes (each polls and batches on its own).")
@click.option("--token", default=None, envvar="STEWARD_SERVE_TOKEN", show_envvar=True,
              help="Bearer token required on every route but /health.")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or ./.steward/mlflow.db).")
@click.option("--poll-interval", default=5.0, show_default=True, type=float,
              help="Seconds between looks at the stage alias.")
@click.option("--max-body-mb", default=16.0, show_default=True, type=float,
              help="Largest accepted request body, in MiB.")
@allow_unverified_option
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def command(model_name: str, stage: str, log_url: str | None, host: str, port: int,
            workers: int, token: str | None, tracking_uri: str | None, poll_interval: float,
            max_body_mb: float, log_level: str) -> None:
    """Serve MODEL at STAGE; promotions and rollbacks are picked up while running.

    \b
    Example:
      steward serve --model churn --port 8000
      curl -s localhost:8000/predict -H 'content-type: application/json' \\
           -d '[{"age": 41, "plan": "b"}]'
      curl -s localhost:8000/feedback -d '{"prediction_id": "<id>", "outcome": 1}'

    Every prediction is committed to the log before its response is sent.
    """
    from modelsteward.serve.config import ServeConfig
    from modelsteward.serve.runner import run

    try:
        config = ServeConfig(model_name=model_name, stage=stage, log_url=log_url,
                             tracking_uri=tracking_uri, poll_interval=poll_interval,
                             token=token, max_body_bytes=int(max_body_mb * 1024 * 1024))
        from modelsteward.store import PredictionLog

        PredictionLog(config.log_url).close()  # fail fast on a bad log URL
    except StewardError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from exc
    click.echo(f"serving {model_name} ({stage}) on http://{host}:{port} "
               f"[{workers} worker(s)]", err=True)
    run(config, host=host, port=port, workers=workers, log_level=log_level)
