"""Issue 9 item 3: ``steward demo --workdir DIR`` never deletes what the demo did not create."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.errors import ConfigError

DEMO_MARKER = ".steward-demo"


def test_a_foreign_directory_is_refused_and_left_untouched(tmp_path) -> None:
    home = tmp_path / "home"
    (home / "thesis").mkdir(parents=True)
    (home / "thesis" / "chapter1.tex").write_text("years of work")
    (home / "notes.txt").write_text("keep me")
    res = CliRunner().invoke(main, ["demo", "--workdir", str(home)])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1
    assert "not created by steward demo" in res.output and DEMO_MARKER in res.output
    assert "new or empty directory" in res.output
    assert (home / "thesis" / "chapter1.tex").read_text() == "years of work"
    assert (home / "notes.txt").read_text() == "keep me"
    from modelsteward.examples.demo import prepare_workdir

    # a demo-looking name next to user files is not enough either
    (home / "mlflow.db").write_text("")
    with pytest.raises(ConfigError, match="refusing to delete"):
        prepare_workdir(home)
    assert (home / "notes.txt").exists()


def test_a_file_or_symlink_is_refused(tmp_path) -> None:
    from modelsteward.examples.demo import prepare_workdir

    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        prepare_workdir(f)
    target = tmp_path / "target"
    target.mkdir()
    (target / "precious").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(ConfigError):
        prepare_workdir(link)
    assert (target / "precious").exists()


def test_new_empty_and_own_directories_are_used_and_rerun_works(tmp_path) -> None:
    from modelsteward.examples.demo import prepare_workdir

    new = prepare_workdir(tmp_path / "a" / "b")
    assert (new / DEMO_MARKER).is_file() and new.stat().st_mode & 0o077 == 0
    (new / "mlflow.db").write_text("old run")
    (new / "report").mkdir()
    again = prepare_workdir(tmp_path / "a" / "b")  # the default re-run: wiped and rebuilt
    assert again == new and sorted(p.name for p in again.iterdir()) == [DEMO_MARKER]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (prepare_workdir(empty) / DEMO_MARKER).exists()
    # a workdir of an earlier version (no marker, only what a demo leaves) is still the demo's
    legacy = tmp_path / "legacy"
    (legacy / "artifacts" / "1").mkdir(parents=True)
    for name in ("mlflow.db", "predictions.db", "predictions.db-wal", "alerts.jsonl"):
        (legacy / name).write_text("")
    assert sorted(p.name for p in prepare_workdir(legacy).iterdir()) == [DEMO_MARKER]
