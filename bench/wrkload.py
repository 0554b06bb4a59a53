"""What the webhook benches share: gunicorn on loopback, wrk replaying pre-built requests, CPU from /proc.

The shape of the product owner's ingest measure (../shared/perf/ingest.py): every row is served by
`gunicorn -k sync -w N` and loaded by wrk (1 thread, 8 connections, closed loop) through
bench/replay.lua, each request sent once. wrk is written in C and takes a small share of the cores;
a Python client would take as much as the server it measures and flatter every ratio.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "replay.lua"
PG_ADMIN = os.environ.get("STATUSHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def need_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app: str, port: int, env: dict, workers: int = 2) -> subprocess.Popen:
    """`gunicorn -k sync -w workers app` on 127.0.0.1:port, started from the checkout (its
    gunicorn.conf.py applies), once /healthz answers. `env` adds to this process's environment; a
    variable given as None is left out. The server's output goes to a temporary file: the hub logs a
    line per webhook, and a pipe nobody reads would fill and stop its workers."""
    environment = {k: v for k, v in {**os.environ, "PYTHONPATH": str(ROOT), **env}.items() if v is not None}
    with tempfile.TemporaryFile() as log:  # the server keeps its own descriptor of it
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "sync", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", app],
            cwd=ROOT, env=environment,
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return server
            except OSError:
                time.sleep(0.2)
        os.killpg(server.pid, signal.SIGKILL)
        log.seek(0)
        raise SystemExit("gunicorn did not start: " + log.read().decode(errors="replace")[-2000:])


def stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def wrk(port: int, path: str, seconds: float, connections: int, requests: Path | None, work: Path) -> dict:
    """One closed-loop slice; the answer's `rate` counts only 2xx answers."""
    result = work / "result.json"
    env = {**os.environ, "BENCH_RESULT": str(result), "BENCH_REQUESTS": str(requests or "")}
    subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(LUA),
         f"http://127.0.0.1:{port}{path}"],
        env=env, check=True, stdout=subprocess.DEVNULL, timeout=seconds + 60,
    )  # fmt: skip
    out = json.loads(result.read_text())
    bad = out["non_2xx"] + out["connect"] + out["read"] + out["write"] + out["timeout"]
    out["rate"] = (out["requests"] - bad) / (out["duration_us"] / 1e6)
    return out


def raw_request(path: str, headers: dict, body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc); gone processes count nothing."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def family(pids: list[int]) -> list[int]:
    """These processes and everything they started since (a hub's fold process, say)."""
    found: dict[int, None] = {}
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found[pid] = None
            todo.extend(children(pid))
    return list(found)


class Slicer:
    """Runs slices of named rows: each row's requests built fresh (never sent twice), its workers' CPU
    per request measured, repeats and non-2xx answers noted."""

    def __init__(self, work: Path, connections: int) -> None:
        self.work, self.connections = work, connections
        self.rows: dict[str, tuple[int, str, Callable[[int, Path], None] | None, list[int]]] = {}
        self.hint: dict[str, float] = {}
        self.notes: list[str] = []

    def add(self, name: str, port: int, path: str, build, pids: list[int]) -> None:
        """`build(n, file)` writes n unique requests (None: GET path); `pids` are the row's workers
        (and its database server's processes, if it has one): their CPU and their children's counts."""
        self.rows[name] = (port, path, build, pids)
        self.hint[name] = 1000.0

    def slice(self, name: str, seconds: float) -> dict:
        port, path, build, pids = self.rows[name]
        requests = None
        if build is not None:
            requests = self.work / f"{name}.req"
            # Sized for three times the fastest rate seen: a request must never be sent twice (a
            # repeat is a cheap duplicate answer and would flatter its row).
            build(int(self.hint[name] * seconds * 3) + 500, requests)
        before = cpu_seconds(family(pids))
        out = wrk(port, path, seconds, self.connections, requests, self.work)
        out["cpu_ms"] = (cpu_seconds(family(pids)) - before) * 1000 / max(out["requests"], 1)
        if out["wrapped"]:
            self.notes.append(f"{name}: {out['wrapped']} requests repeated (the file ran out)")
        if out["non_2xx"]:
            self.notes.append(f"{name}: {out['non_2xx']} answers were not 2xx")
        if failed := out["connect"] + out["read"] + out["write"] + out["timeout"]:
            self.notes.append(f"{name}: {failed} requests failed (connect, read, write or timeout)")
        self.hint[name] = max(self.hint[name], out["rate"])
        return out

    def rounds(self, names: list[str], warmup: float, seconds: float, count: int) -> dict[str, list[dict]]:
        """A warm-up slice per row, then `count` interleaved rounds, so that load from anything else on
        a shared machine falls on every row alike."""
        for name in names:
            self.slice(name, warmup)
        out: dict[str, list[dict]] = {name: [] for name in names}
        for n in range(count):
            for name in names:
                out[name].append(self.slice(name, seconds))
            print(
                f"  round {n + 1}: " + "  ".join(f"{k} {v[-1]['rate']:,.0f}/s" for k, v in out.items()),
                flush=True,
            )
        return out


class Databases:
    """Fresh databases for one server set: SQLite files in `work`, or PostgreSQL databases dropped after."""

    def __init__(self, pg: bool, work: Path) -> None:
        self.pg, self.work, self.made = pg, work, []
        self.admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT") if pg else None

    def new(self, name: str) -> str:
        db = f"bench_{name}_{uuid.uuid4().hex[:8]}"
        if self.admin is None:
            return f"sqlite:///{self.work / (db + '.db')}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        self.made.append(db)
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + db

    def drop(self) -> None:
        if self.admin is None:
            return
        with self.admin.connect() as conn:
            for db in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        self.admin.dispose()
