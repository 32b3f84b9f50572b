"""Time from a command to the demo's first page.

Usage:
    .venv/bin/python benchmarks/bench_demo.py [--skip-fresh-clone]

Measures, each on a new temporary data directory and a free port:

- `make demo` on a fresh clone of this repository (its own new .venv, so the install counts);
- `rally demo` on this installed checkout, first start (generates and imports the demo data);
- `rally demo` again on the same data directory (reuses the data).

Each time runs until GET / answers 200, then the demo is stopped with Ctrl-C (SIGINT).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_to_first_page(command: list[str], cwd: Path, data_dir: Path, port: int) -> float:
    """Start `command`, return seconds until http://127.0.0.1:port/ answers 200, then stop it."""
    env = {**os.environ, "RALLY_DATA_DIR": str(data_dir)}
    env.pop("RALLY_DATABASE_URL", None)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - started < 300:
            if proc.poll() is not None:
                raise SystemExit(f"{' '.join(command)} exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise SystemExit("no first page within 300 s")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-fresh-clone", action="store_true")
    args = parser.parse_args()
    rally = [sys.executable, "-m", "rally", "demo"]
    with tempfile.TemporaryDirectory(prefix="rally-bench-demo-") as tmp:
        root = Path(tmp)
        if not args.skip_fresh_clone:
            clone = root / "clone"
            subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
            port = _free_port()
            seconds = time_to_first_page(
                ["make", "demo", f"DEMO_ARGS=--port {port}"], clone, root / "fresh", port
            )
            print(f"make demo, fresh clone (install included): {seconds:6.1f} s")
        port = _free_port()
        first = time_to_first_page([*rally, "--port", str(port)], REPO, root / "data", port)
        print(f"rally demo, installed checkout, first start: {first:6.1f} s")
        port = _free_port()
        again = time_to_first_page([*rally, "--port", str(port)], REPO, root / "data", port)
        print(f"rally demo, installed checkout, data reused: {again:6.1f} s")


if __name__ == "__main__":
    main()
