"""``steward log``: export the prediction log to Parquet and prune it (safe while serving)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from modelsteward.cli._errors import errors

__all__ = ["command"]

_LOG_HELP = "Prediction log URL (default sqlite:///./.steward/predictions.db)."


@click.group("log")
def command() -> None:
    """Export the prediction log to partitioned Parquet, or prune old predictions.

    \b
    Example:
      steward log export --since 2026-11-01 --until 2026-12-01 --to ./export
      steward log prune --older-than 180d --dry-run
    """


@command.command("export")
@click.option("--log", "log_url", default=None, help=_LOG_HELP)
@click.option("--model", "model_name", default=None, help="Only this model (default: all).")
@click.option("--since", default=None, help="First time exported (inclusive; ISO, UTC).")
@click.option("--until", default=None, help="End of the export (exclusive; ISO, UTC).")
@click.option("--to", "to", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for model=/version=/date= Parquet partitions.")
@errors
def export_command(log_url: str | None, model_name: str | None, since: str | None,
                   until: str | None, to: Path) -> None:
    """Write predictions and outcomes as Parquet partitioned by model, version and day.

    Re-exporting a day replaces its files. Readable by pyarrow.dataset (hive
    partitioning) and spark.read.parquet.
    """
    from modelsteward.store import PredictionLog, export_parquet

    log = PredictionLog(log_url)
    try:
        result = export_parquet(log, to, since=since, until=until, model_name=model_name)
    finally:
        log.close()
    click.echo(f"exported {result.rows} predictions to {result.directory} "
               f"({len(result.partitions)} partitions, {len(result.files)} files)")


@command.command("prune")
@click.option("--log", "log_url", default=None, help=_LOG_HELP)
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Delete predictions (and their outcomes) older than AGE: 180d, 12h, 2w.")
@click.option("--dry-run", is_flag=True, default=False,
              help="Count what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the result as JSON.")
@errors
def prune_command(log_url: str | None, older_than: str, dry_run: bool, as_json: bool) -> None:
    """Delete predictions older than AGE, with their outcomes, in short transactions."""
    from modelsteward.store import PredictionLog, parse_age, prune

    seconds = parse_age(older_than)
    log = PredictionLog(log_url)
    try:
        result = prune(log, older_than=seconds, dry_run=dry_run)
    finally:
        log.close()
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {result.predictions} predictions and {result.outcomes} outcomes "
               f"older than {older_than}")
