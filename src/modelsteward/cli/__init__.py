"""The ``steward`` command. Subcommands live in sibling modules and are imported lazily,
so ``steward --help`` answers without importing MLflow.

    $ steward --help
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

import click

# subcommand name -> (module exposing `command`, one-line help)
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "drift": (
        "modelsteward.cli.drift",
        "Compare a current data file with a reference or baseline.",
    ),
    "baseline": ("modelsteward.cli.baseline", "Fit and inspect drift baselines."),
    "registry": (
        "modelsteward.cli.registry",
        "Registered models: list, show, history, promote, rollback, card.",
    ),
    "monitor": (
        "modelsteward.cli.monitor",
        "Run drift, degradation and concept checks per window.",
    ),
    "alerts": (
        "modelsteward.cli.alerts",
        "Alert episodes the monitor keeps: list, ack, silence.",
    ),
    "calibrate": (
        "modelsteward.cli.calibrate",
        "Backtest alert thresholds on past windows with known incidents.",
    ),
    "report": (
        "modelsteward.cli.report",
        "Write the JSON and HTML report of a monitoring run.",
    ),
    "serve": (
        "modelsteward.cli.serve",
        "Serve a registered model over HTTP and log every prediction.",
    ),
    "log": (
        "modelsteward.cli.log",
        "Export the prediction log to Parquet; prune old predictions.",
    ),
    "demo": (
        "modelsteward.cli.demo",
        "Run the whole loop on generated data (what `make demo` runs).",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        available = []
        for name, (module, _) in _SUBCOMMANDS.items():
            if importlib.util.find_spec(module) is not None:
                available.append(name)
        return sorted(available)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, _ = entry
        if importlib.util.find_spec(module_name) is None:
            return None
        module = importlib.import_module(module_name)
        command = module.command
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modelsteward")
def main() -> None:
    """modelsteward: register models on MLflow and watch them drift in production.

    Every subcommand takes --help. Without --tracking-uri or MLFLOW_TRACKING_URI the
    registry is the embedded default: a SQLite store and artifacts under ./.steward/.
    """
    # MLflow announces every schema check of a SQLite store at INFO; keep the output to ours.
    for noisy in ("mlflow.store.db.utils", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
