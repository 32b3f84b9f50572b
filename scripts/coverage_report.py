"""Print line coverage of src/rally per package, and fail when the total is under a floor.

Reads the `.coverage` data file that `pytest --cov` wrote (see the Makefile's test target).
Files no test imported count with all their lines missed.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parents[1] / "src"


def _package(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    # rally/db/migrations/versions/0002.py -> rally.db.migrations; rally/cli/db.py -> rally.cli
    return ".".join(parts[: min(3, len(parts) - 1)] if parts[1:2] == ("db",) else parts[:2])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fail-under", type=float, default=0.0)
    args = parser.parse_args()
    cov = coverage.Coverage()
    cov.load()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in sorted((ROOT / "rally").rglob("*.py")):
        _, statements, _, missing, _ = cov.analysis2(str(path))
        counts = totals[_package(path)]
        counts[0] += len(statements)
        counts[1] += len(statements) - len(missing)
    print(f"{'package':<28} {'lines':>7} {'covered':>8}")
    for package, (lines, covered) in sorted(totals.items()):
        share = 100.0 * covered / lines if lines else 100.0
        print(f"{package:<28} {lines:>7} {share:>7.1f}%")
    lines = sum(c[0] for c in totals.values())
    covered = sum(c[1] for c in totals.values())
    total = 100.0 * covered / lines
    print(f"{'total':<28} {lines:>7} {total:>7.1f}%  (floor {args.fail_under:.0f}%)")
    if total < args.fail_under:
        print(
            f"coverage {total:.1f}% is under the floor of {args.fail_under:.0f}%", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
