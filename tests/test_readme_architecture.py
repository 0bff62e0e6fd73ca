"""The README's "where things live" table names every part of the package, and only parts
that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "modelsteward"


def _table_names() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Architecture"):]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    names: set[str] = set()
    for row in rows:
        names.update(re.findall(r"`([^`]+)`", row.split("|")[1]))
    return names


def test_every_part_is_in_the_table_and_every_entry_exists() -> None:
    names = _table_names()
    for name in names:
        assert (PACKAGE / name.rstrip("/")).exists(), f"README names {name}, which is not there"
    parts = {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    missing = (parts | modules) - names
    assert not missing, f"add {sorted(missing)} to the README's architecture table"
