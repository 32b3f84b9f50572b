"""How long `rally --help` and `rally db --help` take to start, as a user runs them.

Each command runs N times as a fresh process; the figure is the median wall time, next to
the same for a bare `python -c pass` (the interpreter's own start) measured in the same run.
Goal: under 0.3 s for both help screens.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = int(os.environ.get("RALLY_BENCH_RUNS", "15"))
RALLY = str(Path(sys.executable).parent / "rally")


def _median(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    load = os.getloadavg()
    reference = _median([sys.executable, "-c", "pass"])
    print(f"load average {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; {RUNS} runs each, median")
    print(f"{'python -c pass (reference)':<28} {reference:6.3f} s")
    for argv in (["--help"], ["db", "--help"], ["etl", "--help"]):
        seconds = _median([RALLY, *argv])
        label = "rally " + " ".join(argv)
        verdict = "ok" if seconds < 0.3 else "over 0.3 s"
        print(f"{label:<28} {seconds:6.3f} s  ({seconds / reference:4.1f}x reference, {verdict})")


if __name__ == "__main__":
    main()
