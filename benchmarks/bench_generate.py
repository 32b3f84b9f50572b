"""Benchmark `rally generate`: time, peak memory and rows per scale.

Run: .venv/bin/python benchmarks/bench_generate.py [--scales 1 10] [--leagues 4]

Each scale runs in a fresh subprocess (so peak RSS is its own) into a temporary directory
that is removed afterwards. Target: scale 10 in well under a minute.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from rally.synth import FILES, generate
started = time.perf_counter()
result = generate(sys.argv[1], leagues=int(sys.argv[2]), scale=float(sys.argv[3]), seed=0)
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = {name: result.total(name) for name in FILES}
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows}))
"""


def main() -> None:
    """Print seconds, peak memory, rows and rows/s per scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 10.0])
    parser.add_argument("--leagues", type=int, default=4)
    args = parser.parse_args()
    print(
        f"{'scale':>6} {'seconds':>8} {'peak MB':>8} {'rows':>10} {'rows/s':>10} {'MB on disk':>10}"
    )
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="rally-bench-") as tmp:
            out = Path(tmp) / "out"
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, str(out), str(args.leagues), str(scale)],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(done.stdout)
            rows = sum(figures["rows"].values())
            size = sum(p.stat().st_size for p in out.rglob("*.json")) / 1e6
            print(
                f"{scale:>6g} {figures['seconds']:>8.1f} {figures['peak_mb']:>8.0f} {rows:>10,} "
                f"{rows / figures['seconds']:>10,.0f} {size:>10.0f}"
            )


if __name__ == "__main__":
    main()
