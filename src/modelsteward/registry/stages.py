"""Stages on MLflow aliases: None -> Staging -> Production -> Archived.

Production and Staging are single-valued lowercase aliases (``production``, ``staging``), so
a plain MLflow user loads ``models:/<name>@production``. Archived and None are recorded in
the version tag ``steward.stage``. The alias is the source of truth::

    >>> parse_stage("production")
    'Production'
    >>> alias_for("Staging")
    'staging'
    >>> alias_for("Archived") is None
    True
    >>> stage_of_version("3", {"production": "4"}, {"steward.stage": "Production"})
    'Archived'
"""

from __future__ import annotations

from typing import Literal

from modelsteward.errors import StageError

__all__ = ["STAGES", "Stage", "alias_for", "parse_stage", "stage_of_version"]

Stage = Literal["None", "Staging", "Production", "Archived"]
STAGES: tuple[Stage, ...] = ("None", "Staging", "Production", "Archived")
_ALIASES: dict[str, str] = {"Production": "production", "Staging": "staging"}
STAGE_TAG = "steward.stage"


def parse_stage(stage: str | None) -> Stage:
    """Normalise a stage name (case-insensitive; ``None``/``"none"`` -> ``"None"``)."""
    if stage is None:
        return "None"
    text = str(stage).strip().lower()
    for name in STAGES:
        if name.lower() == text:
            return name
    raise StageError(
        f"unknown stage {stage!r}; use one of {', '.join(STAGES)} (case does not matter)"
    )


def alias_for(stage: str) -> str | None:
    """The MLflow alias that holds a stage, or None for Archived / None."""
    return _ALIASES.get(parse_stage(stage))


def stage_of_version(version: str, aliases: dict[str, str], tags: dict[str, str]) -> Stage:
    """A version's stage: the alias it holds wins; otherwise its ``steward.stage`` tag."""
    for stage, alias in _ALIASES.items():
        if str(aliases.get(alias, "")) == str(version):
            return stage  # type: ignore[return-value]
    tagged = tags.get(STAGE_TAG, "None")
    # the tag may lag the alias (alias moved by plain MLflow, or a crash mid-promotion): a
    # version tagged Production that no longer holds the alias was displaced, i.e. Archived
    if tagged in ("Archived", "Production"):
        return "Archived"
    return "None"
