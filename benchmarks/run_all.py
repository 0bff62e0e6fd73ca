"""Run every benchmark in this folder in turn (what `make bench` runs).

Each benchmark is a script ``benchmarks/<name>.py`` (names starting with ``_`` are helpers)
that prints its own table with ratios against peers measured in the same run.

    python benchmarks/run_all.py            # all of them
    python benchmarks/run_all.py drift_speed registry_overhead
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if not p.name.startswith(("_", "run_all")))
    if argv:
        wanted = set(argv)
        scripts = [p for p in scripts if p.stem in wanted]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
