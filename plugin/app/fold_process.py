"""The fold process of a hub on SQLite: held messages folded beside the web workers (SPEC §8).

On SQLite every write takes the one writer lock. A fold on a thread of a web worker holds that lock
and the worker's interpreter at once, and the webhooks wait for both; folded in each request, every
message pays for a transaction of its own. So a hub on a SQLite file holds what it can (Twilio
without an auto-reply, as on PostgreSQL) and one process beside it folds: it wakes every
`STATUSHUB_FOLD_DELAY_MS`, folds each workspace's held messages in batches and sleeps again
(bench/FIGURES.md).

The web process that holds a message makes sure that process runs (`FoldProcess.soon`): it asks for
the database's fold lock, a file beside the database (`<file>-fold.lock`, like SQLite's own `-wal`),
which the fold process keeps while it lives. Free, it starts one: `python -m plugin.app.fold_process`,
with the database URL in its environment (never on a command line a process listing shows). Two web
processes may start one at once; the second to ask for the lock leaves. The fold process leaves when
the process that started it is gone (after one last fold), on SIGTERM or SIGINT (after the fold in
hand), and the next message held starts another. What it leaves held is folded by the next one or
by the worker's sweep.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.engine import make_url

URL_VARIABLE = "STATUSHUB_DATABASE_URL"
PARENT_VARIABLE = "STATUSHUB_FOLD_PARENT"  # the web process's pid: it may be gone before the child looks
START_WITHIN = 1.0  # seconds a new fold process waits for the lock (a web process's probe holds it briefly)
RETRY_AFTER = 1.0  # seconds before a fold that failed is tried again


def lock_path(url: str) -> Path | None:
    """The fold lock of a SQLite database file; None for anything else (another backend, in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if not name or name == ":memory:" or parsed.query.get("mode") == "memory":
        return None
    return Path(name + "-fold.lock")


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


class FoldProcess:
    """A web process's side: a fold process runs for this database while messages are held."""

    def __init__(self, url: str, lock: Path, delay: float, log_level: str):
        self.url, self.lock, self.delay, self.log_level = url, lock, delay, log_level
        self._pid = -1
        self._fd = -1
        self._child: subprocess.Popen | None = None
        self._stopped = False
        self._mutex = threading.Lock()  # a threaded server's requests call `soon` at once

    def soon(self, workspace_id: int, after: float | None = None) -> None:
        """Called after a message is held (committed): the fold process folds it within the delay."""
        with self._mutex:
            self._ensure_running()

    def _ensure_running(self) -> None:
        if self._stopped:
            return
        if self._pid != os.getpid():  # a forked web worker: its own descriptor, no child yet
            self._pid, self._fd, self._child = os.getpid(), _open(self.lock), None
        if self._folding():
            return
        # Free: nobody folds, or the fold process this process started is still starting (it takes the
        # lock first thing) or leaving. Only a process whose own is gone starts one.
        if self._child is None or self._child.poll() is not None:
            env = {**os.environ, URL_VARIABLE: self.url, PARENT_VARIABLE: str(self._pid)}
            env.update(
                STATUSHUB_FOLD_DELAY_MS=str(round(self.delay * 1000)), STATUSHUB_LOG_LEVEL=self.log_level
            )
            self._child = subprocess.Popen(
                [sys.executable, "-m", "plugin.app.fold_process"], env=env, stdin=subprocess.DEVNULL
            )

    @property
    def pid(self) -> int | None:
        """The fold process this process started, if it still runs."""
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def _folding(self) -> bool:
        """True when a fold process holds the lock (asked without waiting, given back at once)."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        return False

    def stop(self) -> None:
        """Starts no fold process again and stops the one this process started (it folds what it is
        folding first); what is held stays held for the next one."""
        self._stopped = True
        child, self._child = self._child, None
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def flush(self) -> None:
        """Nothing to fold here: the fold process folds what this process held."""


def _take(fd: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def main() -> int:
    """The fold process: exits 0 at once when another holds the lock."""
    url = os.environ[URL_VARIABLE]
    lock = lock_path(url)
    if lock is None:
        raise SystemExit(f"{URL_VARIABLE} names no SQLite database file: no fold process is needed")
    parent = int(os.environ.get(PARENT_VARIABLE) or os.getppid())
    fd = _open(lock)
    if not _take(fd, START_WITHIN):
        return 0
    stopping = False

    def stop(_signum, _frame) -> None:  # the fold in hand is finished first
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    import logging

    from plugin.app.logs import configure
    from plugin.app.settings import Settings
    from plugin.engine import fold_held, held_workspaces
    from plugin.store.db import make_engine

    settings = Settings.from_env()
    configure(settings.log_level)
    log = logging.getLogger("statushub.fold")
    engine = make_engine(url)
    delay = max(settings.fold_delay_ms, 10) / 1000
    log.info("fold process started", extra={"delay_ms": round(delay * 1000)})
    pause = delay  # what was held before it started is folded a delay later too, in one batch
    while not stopping:
        end = time.monotonic() + pause
        while not stopping and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
        if stopping:
            break
        orphaned = os.getppid() != parent  # its web process is gone: one last fold, then it leaves
        pause = delay
        try:
            with engine.connect() as conn:
                workspaces = held_workspaces(conn)
            for workspace_id in workspaces:
                fold_held(engine, workspace_id)
                if stopping:
                    break
        except Exception:  # the messages stay held: tried again in a second (the database may be busy)
            log.exception("folding held messages failed")
            pause = max(delay, RETRY_AFTER)
        if orphaned:
            break
    engine.dispose()
    log.info("fold process stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
