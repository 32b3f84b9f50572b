"""Start (or stop) Rally scaled out on this machine, with the tools a deployment would use.

    .venv/bin/python scripts/scaleout.py start [--dir DIR] [--instances 2] [--corpus PATH]
    .venv/bin/python scripts/scaleout.py stop [--dir DIR]

`start` brings up, all on 127.0.0.1:
- a PostgreSQL primary cluster and a streaming read replica of it, made with Debian's
  `pg_createcluster` and `pg_basebackup -R` (hot standby);
- the `rally` database on the primary, upgraded to head and loaded with the corpus;
- N `rally serve` instances reading from the replica (`RALLY_DATABASE_READ_URL`) with
  read-your-writes (see `rally.web.replica`);
- HAProxy (Debian's package) in front, health-checking `/readyz`, retrying requests whose
  connection failed on another instance and never retrying writes.
It prints the addresses as JSON and leaves everything running; `stop` ends it all and drops
both clusters. The state lives in DIR (`state.json`). Run as root (the clusters belong to
the `postgres` user).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RALLY = str(Path(sys.executable).parent / "rally")
PREFIX = "rally_scaleout"
# The processes started here, kept so that they are waited for (and never warned about).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    """Return a TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(*args: str, **kwargs: object) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {(done.stderr or done.stdout).strip()}")
    return str(done.stdout)


def pg_version() -> str:
    """The newest PostgreSQL major version installed (Debian's /etc/postgresql layout)."""
    return sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(x) for x in v.split(".")])[-1]


@dataclass
class Deployment:
    """What `start` brought up."""

    directory: str
    version: str
    primary_port: int
    replica_port: int
    balancer_port: int
    app_ports: list[int]
    app_pids: list[int] = field(default_factory=list)
    balancer_pid: int = 0
    clusters: list[str] = field(default_factory=list)

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/rally"

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/rally"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}"

    def app_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.app_ports[index]}"

    def save(self) -> None:
        Path(self.directory, "state.json").write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, directory: Path) -> Deployment:
        return cls(**json.loads((directory / "state.json").read_text()))


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.2)


def _clusters(d: Deployment, name_suffix: str, replica_delay_ms: int) -> None:
    primary, replica = f"{PREFIX}_{name_suffix}", f"{PREFIX}_{name_suffix}_ro"
    v = d.version
    _run("pg_createcluster", v, primary, "-p", str(d.primary_port), "--start",
         "--", "--auth=trust")  # fmt: skip
    d.clusters.append(primary)
    _run("pg_createcluster", v, replica, "-p", str(d.replica_port), "--", "--auth=trust")
    d.clusters.append(replica)
    data = Path(f"/var/lib/postgresql/{v}/{replica}")
    for child in data.iterdir():  # pg_basebackup fills the (postgres-owned) directory
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    _run("runuser", "-u", "postgres", "--", f"/usr/lib/postgresql/{v}/bin/pg_basebackup",
         "-h", "127.0.0.1", "-p", str(d.primary_port), "-U", "postgres", "-D", str(data),
         "-R", "-X", "stream", "-c", "fast")  # fmt: skip
    if replica_delay_ms:
        # A replica that lags on purpose (tests): reads of one's own writes must not see it.
        with Path(data, "postgresql.auto.conf").open("a") as conf:
            conf.write(f"recovery_min_apply_delay = '{replica_delay_ms}ms'\n")
    _run("pg_ctlcluster", "--skip-systemctl-redirect", v, replica, "start")


def _haproxy_config(d: Deployment, indexes: list[int], port: int, name: str) -> str:
    servers = "\n".join(f"  server app{i} 127.0.0.1:{d.app_ports[i]} check" for i in indexes)
    return f"""global
  maxconn 4000
  # Read-only state of the servers (`wait_balanced`): show stat.
  stats socket {Path(d.directory, f"{name}.sock")} mode 600 level user
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
  # A request whose instance died before answering goes to another one; never a write.
  retry-on conn-failure empty-response response-timeout
frontend rally
  bind 127.0.0.1:{port}
  http-request disable-l7-retry if !METH_GET !METH_HEAD
  default_backend apps
backend apps
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  timeout check 3s
  # A dead instance is also skipped at once: its refused connections are retried elsewhere.
  default-server inter 1s fall 3 rise 2
{servers}
"""


def balancer_servers(d: Deployment, name: str = "haproxy") -> dict[str, str]:
    """Return each instance's state as HAProxy sees it (`UP`, `DOWN`, `UP 1/2`...)."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(5)
        conn.connect(str(Path(d.directory, f"{name}.sock")))
        conn.sendall(b"show stat\n")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    lines = b"".join(chunks).decode().lstrip("# ").splitlines()
    rows = [dict(zip(lines[0].split(","), line.split(","), strict=False)) for line in lines[1:]]
    return {
        r["svname"]: r["status"]
        for r in rows
        if r.get("pxname") == "apps" and r.get("svname") not in ("FRONTEND", "BACKEND")
    }


def wait_balanced(d: Deployment, timeout: float = 60, name: str = "haproxy") -> None:
    """Wait until HAProxy has every instance in rotation (health checks passed)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            servers = balancer_servers(d, name)
        except OSError:  # HAProxy starting: no stats socket yet
            servers = {}
        if servers and all(state == "UP" for state in servers.values()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"HAProxy does not have every instance up: {servers}")
        time.sleep(0.2)


def start_balancer(d: Deployment, indexes: list[int], port: int, name: str = "haproxy") -> int:
    """Start HAProxy on `port` in front of instances `indexes` (`<name>.cfg`); return its pid."""
    config = Path(d.directory, f"{name}.cfg")
    config.write_text(_haproxy_config(d, indexes, port, name))
    with Path(d.directory, f"{name}.log").open("ab") as log:
        balancer = subprocess.Popen(
            ["haproxy", "-f", str(config), "-db"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[balancer.pid] = balancer
    return balancer.pid


def start_app(d: Deployment, index: int, *, replica: bool = True) -> int:
    """Start `rally serve` instance `index`; return its pid."""
    env = {
        **os.environ,
        "RALLY_DATABASE_URL": d.primary_url,
        "RALLY_DATA_DIR": d.directory,
        "RALLY_SECRET_KEY": "scale-out-shared-secret",
        "RALLY_ACCESS_LOG": "false",
    }
    if replica:
        env["RALLY_DATABASE_READ_URL"] = d.replica_url
    with Path(d.directory, f"app{index}.log").open("ab") as log:
        proc = subprocess.Popen(
            [RALLY, "serve", "--port", str(d.app_ports[index])],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    _wait_http(f"{d.app_url(index)}/readyz")
    return proc.pid


def start(
    directory: Path,
    *,
    instances: int = 2,
    corpus: Path | None = None,
    replica: bool = True,
    replica_delay_ms: int = 0,
) -> Deployment:
    """Bring everything up (see the module docstring) and return where it listens."""
    if shutil.which("haproxy") is None:
        raise RuntimeError("haproxy is not installed: apt-get install haproxy")
    directory.mkdir(parents=True, exist_ok=True)
    d = Deployment(
        directory=str(directory),
        version=pg_version(),
        primary_port=free_port(),
        replica_port=free_port(),
        balancer_port=free_port(),
        app_ports=[free_port() for _ in range(instances)],
    )
    d.save()
    try:
        _clusters(d, f"{os.getpid()}", replica_delay_ms)
        d.save()
        _run("createdb", "-h", "127.0.0.1", "-p", str(d.primary_port), "-U", "postgres", "rally")
        _run(RALLY, "db", "upgrade", "--no-backup", "--database-url", d.primary_url)
        if corpus is not None:
            # Exit 3: loaded, with the corpus's known junk rows rejected.
            done = subprocess.run(
                [RALLY, "etl", "import", str(corpus), "--database-url", d.primary_url],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode not in (0, 1, 3):
                raise RuntimeError(f"rally etl import failed: {done.stdout}{done.stderr}")
        d.app_pids = [start_app(d, i, replica=replica) for i in range(instances)]
        d.balancer_pid = start_balancer(d, list(range(instances)), d.balancer_port)
        d.save()
        _wait_http(f"{d.url}/readyz")
        wait_balanced(d)
    except BaseException:
        stop(d)
        raise
    return d


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    child = _CHILDREN.pop(pid, None)
    if child is not None:  # started by this process: wait for it
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            os.waitpid(pid, os.WNOHANG)
        except (ProcessLookupError, ChildProcessError):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def stop(d: Deployment) -> None:
    """End the balancer and the instances, then stop and drop both clusters."""
    for pid in [d.balancer_pid, *d.app_pids]:
        if pid:
            _kill(pid)
    for cluster in reversed(d.clusters):
        subprocess.run(
            ["pg_dropcluster", "--stop", d.version, cluster], capture_output=True, check=False
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rally-scaleout"))
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "data" / "leagues")
    args = parser.parse_args()
    if args.action == "start":
        d = start(args.dir, instances=args.instances, corpus=args.corpus)
        print(json.dumps({"url": d.url, "apps": [d.app_url(i) for i in range(len(d.app_ports))],
                          "primary": d.primary_url, "replica": d.replica_url}, indent=2))  # fmt: skip
    else:
        stop(Deployment.load(args.dir))
        print("stopped")


if __name__ == "__main__":
    main()
