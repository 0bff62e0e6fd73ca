"""``steward registry``: registered models on MLflow - list, show, history, promote, rollback,
card.

    $ steward registry list
    $ steward registry show churn_model
    $ steward registry promote churn_model 3 Production --reason "better recall"
    $ steward registry rollback churn_model --reason "precision alert"
    $ steward registry history churn_model --json
    $ steward registry card churn_model 3 --from-file card.json

Without --tracking-uri or MLFLOW_TRACKING_URI the embedded store under ./.steward/ is used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.markup import escape

from modelsteward.cli._console import make_console, plain
from modelsteward.cli._errors import errors as _errors
from modelsteward.errors import ModelCardError

__all__ = ["allow_unverified_option", "command"]

F = TypeVar("F", bound=Callable[..., Any])




def _uri(ctx: click.Context) -> str:
    from modelsteward.registry.tracking import resolve_tracking_uri

    return resolve_tracking_uri(ctx.obj.get("tracking_uri") if ctx.obj else None)


def _json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def _console() -> Any:
    return make_console()


def _plain(value: Any, *, newlines: bool = False) -> str:
    """A user string safe for the terminal: control characters (ANSI escapes...) removed."""
    text = plain("" if value is None else value, keep_newlines=True)
    return text if newlines else text.replace("\n", " ").replace("\t", " ")


def _cell(value: Any) -> str:
    """A user string safe inside a rich table: no control characters, markup escaped."""
    return escape(_plain(value))


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.table import Table

    table = Table(title=_cell(title), title_justify="left")
    for col in columns:
        table.add_column(_cell(col), overflow="fold")
    for row in rows:
        table.add_row(*[_cell(v) for v in row])
    _console().print(table)


def _set_allow_unverified(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    import os

    from modelsteward.registry.integrity import ALLOW_UNVERIFIED_ENV

    if value:  # the environment reaches the serve workers too
        os.environ[ALLOW_UNVERIFIED_ENV] = "1"


allow_unverified_option = click.option(
    "--allow-unverified", is_flag=True, expose_value=False, callback=_set_allow_unverified,
    help="Load a model even when its files do not match the SHA-256 recorded at "
         "registration (sets STEWARD_ALLOW_UNVERIFIED=1). Loading a model runs its code.")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")


@click.group(name="registry", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URI",
    help="MLflow tracking URI (else $MLFLOW_TRACKING_URI, else sqlite under ./.steward/).",
)
@click.pass_context
def command(ctx: click.Context, tracking_uri: str | None) -> None:
    """Registered models on MLflow: list, show, history, promote, rollback, card.

    \b
    Example:
      steward registry --tracking-uri http://127.0.0.1:5000 list
      steward registry promote churn_model 2 Production --reason "new data"
    """
    ctx.ensure_object(dict)
    ctx.obj["tracking_uri"] = tracking_uri


@command.command("list")
@json_option
@click.pass_context
@_errors
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """Every registered model with its Production, Staging and latest versions.

    \b
    Example:
      steward registry list --json
    """
    from modelsteward.registry import list_models
    from modelsteward.registry.tracking import redact_tracking_text

    uri = _uri(ctx)
    models = list_models(tracking_uri=uri)
    if as_json:
        _json([m.to_dict() for m in models])
        return
    shown = redact_tracking_text(uri, uri)
    if not models:
        click.echo(f"no registered models in {shown}")
        return
    _table(
        f"Registered models ({shown})",
        ["name", "production", "staging", "latest", "versions", "updated"],
        [[m.name, m.production_version or "-", m.staging_version or "-", m.latest_version,
          m.n_versions, m.updated_at] for m in models],
    )


@command.command("show")
@click.argument("name")
@click.option("--stage", default="production", show_default=True,
              help="Stage to describe (Production or Staging).")
@click.option("--version", "version", default=None, help="Describe this version instead.")
@json_option
@click.pass_context
@_errors
def show_cmd(ctx: click.Context, name: str, stage: str, version: str | None,
             as_json: bool) -> None:
    """The four questions about a model: hyperparameters, training data, evaluation
    metrics, when trained / registered / promoted and by whom.

    \b
    Example:
      steward registry show churn_model
      steward registry show churn_model --version 3 --json
    """
    from modelsteward.registry import describe

    d = describe(name, stage, version=version, tracking_uri=_uri(ctx))
    if as_json:
        _json(d.to_dict())
        return
    rows = [
        ["version", d.version], ["stage", d.stage], ["run id", d.run_id],
        ["trained at", d.trained_at], ["registered at", d.registered_at],
        ["promoted at", d.promoted_at or "-"], ["promoted by", d.promoted_by or "-"],
        ["reason", d.promotion_reason or "-"],
        ["training data digest", d.data_digest or "-"],
        ["MLflow dataset digest", d.mlflow_dataset_digest or "-"],
        ["training data source", d.data_source or "-"],
        ["model card", "yes" if d.has_card else "no"],
        ["baseline", d.baseline_uri or "-"],
    ]
    rows += [[f"data: {k}", v] for k, v in sorted(d.data.items()) if k != "data_digest"]
    _table(f"{name} version {d.version}", ["", "value"], rows)
    _table("Evaluation metrics", ["metric", "value"],
           [[k, f"{v:.4f}"] for k, v in sorted(d.metrics.items())])
    _table("Hyperparameters", ["parameter", "value"], [[k, v] for k, v in sorted(d.params.items())])


@command.command("history")
@click.argument("name")
@click.option("--version", "version", default=None, help="Only the moves of this version.")
@json_option
@click.pass_context
@_errors
def history_cmd(ctx: click.Context, name: str, version: str | None, as_json: bool) -> None:
    """Every stage move of a model, oldest first (kept in MLflow).

    \b
    Example:
      steward registry history churn_model
    """
    from modelsteward.registry import history

    moves = history(name, version=version, tracking_uri=_uri(ctx))
    if as_json:
        _json([m.to_dict() for m in moves])
        return
    if not moves:
        click.echo(f"{_plain(name)}: no stage moves yet")
        return
    rows = [[m.seq, m.at[:19].replace("T", " "), m.version, m.from_stage, m.to_stage, m.by,
             m.kind, m.reason] for m in moves]
    _table(f"Stage history of {name}",
           ["#", "when (UTC)", "version", "from", "to", "by", "kind", "reason"], rows)


@command.command("promote")
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option("--reason", default="", help="Why (kept in the history).")
@click.option("--force", is_flag=True, help="Promote to Production even without a model card.")
@json_option
@click.pass_context
@_errors
def promote_cmd(ctx: click.Context, name: str, version: str, stage: str, reason: str,
                force: bool, as_json: bool) -> None:
    """Move VERSION of NAME to STAGE (None, Staging, Production, Archived).

    Into Production, the previous Production version is Archived.

    \b
    Example:
      steward registry promote churn_model 3 Production --reason "better recall"
    """
    from modelsteward.registry import promote

    moves = promote(name, version, stage, reason=reason, force=force, tracking_uri=_uri(ctx))
    if as_json:
        _json([m.to_dict() for m in moves])
        return
    for m in moves:
        click.echo(_plain(f"{name} version {m.version}: {m.from_stage} -> {m.to_stage}"
                          + (f" ({m.reason})" if m.reason else "")))


@command.command("rollback")
@click.argument("name")
@click.option("--reason", default="", help="Why (kept in the history).")
@json_option
@click.pass_context
@_errors
def rollback_cmd(ctx: click.Context, name: str, reason: str, as_json: bool) -> None:
    """Put the previous Production version of NAME back into Production.

    \b
    Example:
      steward registry rollback churn_model --reason "precision alert"
    """
    from modelsteward.registry import rollback

    moves = rollback(name, reason=reason, tracking_uri=_uri(ctx))
    if as_json:
        _json([m.to_dict() for m in moves])
        return
    for m in moves:
        click.echo(_plain(f"{name} version {m.version}: {m.from_stage} -> {m.to_stage}"))


@command.command("card")
@click.argument("name")
@click.argument("version", required=False)
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False, exists=True),
              default=None,
              help="Attach a card from a JSON or TOML file with intended_use, limitations, "
                   "fairness_considerations, owners.")
@json_option
@click.pass_context
@_errors
def card_cmd(ctx: click.Context, name: str, version: str | None, from_file: str | None,
             as_json: bool) -> None:
    """Show the model card of VERSION (default: the Production version), or attach one.

    \b
    Example:
      steward registry card churn_model
      echo '{"intended_use": "rank churn risk", "owners": ["ml"]}' > card.json
      steward registry card churn_model 3 --from-file card.json
    """
    from modelsteward.registry import get_model_card, set_model_card
    from modelsteward.registry.lookup import current_version

    uri = _uri(ctx)
    if from_file is not None:
        if version is None:
            raise ModelCardError("name the VERSION to attach the card to, e.g. "
                                 f"`steward registry card {name} 3 --from-file card.json`")
        card = set_model_card(name, version, _read_card_file(Path(from_file)), tracking_uri=uri)
    else:
        card = get_model_card(name, version, tracking_uri=uri)
    shown = version or current_version(name, tracking_uri=uri).version
    if as_json:
        _json({"name": name, "version": str(shown), **card.to_dict()})
        return
    from rich.markdown import Markdown

    _console().print(Markdown(_plain(card.to_markdown(name, str(shown)), newlines=True)))


_CARD_FILE_LIMIT = 1024 * 1024  # bytes: a card is a few paragraphs
_CARD_DEPTH_LIMIT = 32


def _depth(data: Any) -> int:
    """Nesting depth of parsed JSON/TOML, without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > _CARD_DEPTH_LIMIT:
            return deepest
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
    return deepest


def _read_card_file(path: Path) -> dict[str, Any]:
    """The card fields of a JSON or TOML file: one ModelCardError for any unusable file."""
    try:
        size = path.stat().st_size
        if size > _CARD_FILE_LIMIT:
            raise ModelCardError(f"the card file {path} is too large ({size:,} bytes; at most "
                                 f"{_CARD_FILE_LIMIT:,}): a card is a few paragraphs of text")
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelCardError(f"cannot read the card file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelCardError(f"the card file {path} is not UTF-8 text (a binary file?); "
                             "write the card as JSON or TOML") from None
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except RecursionError:
        raise ModelCardError(f"cannot read the card file {path}: nested too deeply") from None
    except ValueError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelCardError(f"cannot read the card file {path}: {first}") from None
    if not isinstance(data, dict):
        raise ModelCardError(f"{path} must hold an object with the card fields")
    if _depth(data) > _CARD_DEPTH_LIMIT:
        raise ModelCardError(f"the card file {path} is nested too deeply (more than "
                             f"{_CARD_DEPTH_LIMIT} levels); a card holds flat text fields")
    return data
