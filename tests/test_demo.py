"""`rally demo` end to end: a real process, real HTTP, the printed credentials."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Demo:
    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        env = {**os.environ, "RALLY_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        env.pop("RALLY_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rally", "demo", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match[str]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"{pattern!r} not printed; output:\n{''.join(self.output)}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=20)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


@pytest.fixture
def demo_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def _serve(demo: Demo) -> tuple[str, str, str]:
    url = demo.wait_for(r"Rally demo: (http://\S+)").group(1)
    creds = demo.wait_for(r"email (\S+) and password (\S+)")
    for _ in range(100):
        try:
            if httpx.get(f"{url}healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return url, creds.group(1), creds.group(2)


def test_demo_signs_in_switches_leagues_and_shows_standings(demo_dir: Path) -> None:
    demo = Demo(demo_dir)
    try:
        url, email, password = _serve(demo)
        with httpx.Client(base_url=url, timeout=10) as client:
            token = client.post("/api/login", json={"email": email, "password": password})
            assert token.status_code == 200, token.text
            auth = {"Authorization": f"Bearer {token.json()['token']}"}
            teams = client.get("/api/me/teams", headers=auth).json()
            leagues = {t["league"]: t for t in teams}
            assert len(leagues) >= 2, teams
            for league, team in sorted(leagues.items()):
                context = client.put(
                    "/api/me/context", json={"team_id": team["team_id"]}, headers=auth
                )
                assert context.status_code == 200, context.text
                assert context.json()["context"]["league"] == league
                series_id = context.json()["context"]["series_id"]
                standings = client.get(f"/api/series/{series_id}/standings").json()
                assert standings["rows"], f"no standings for {league} {team['series']}"
    finally:
        assert demo.stop() == 0, "".join(demo.output)

    # A second start reuses the data: same account, no generation.
    again = Demo(demo_dir)
    try:
        again.wait_for(r"Reusing the demo database")
        _serve(again)
    finally:
        again.stop()
