"""When a hub process folds the messages it held: a moment after the first one, in one batch (SPEC §8).

Folding one message costs a transaction and the statements of the engine's write path; folding fifty
at once costs little more than folding one. So a process that holds a message does not fold it in
the request: it asks its folder to fold that workspace `STATUSHUB_FOLD_DELAY_MS` later (250 ms by
default), and every message held meanwhile goes in the same batch.

On PostgreSQL (and an in-memory SQLite database) the folder is a `Folder`, a thread of the process
that held the message, started on first use (after gunicorn forks), so no other process has to run
for statuses to follow; a fold finding another process folding that workspace tries again after the
delay, and at exit the folder folds what it still owes. On a SQLite file one process beside the web
processes folds for all of them (plugin/app/fold_process.py); `FoldProcess` is a web process's side
of it, which starts that process when none runs. What a process held but could not fold before it
stopped is folded by the next fold of its workspace (a fold takes every held message of the
workspace) or by the worker's sweep (`statushub worker`).
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from plugin.engine import fold_held
from plugin.store.db import sqlite_file

log = logging.getLogger("statushub.fold")
RETRY_AFTER = 1.0  # seconds before a fold that failed is tried again
URL_VARIABLE = "STATUSHUB_DATABASE_URL"
PARENT_VARIABLE = "STATUSHUB_FOLD_PARENT"  # the web process's pid: it may be gone before the child looks


class Folder:
    """Folds workspaces a delay after they were first asked for, on one thread of this process."""

    def __init__(self, engine: Engine, delay: float):
        self.engine, self.delay = engine, delay
        self._pid = -1
        self._due: dict[int, float] = {}  # workspace id -> monotonic time its fold is due
        self._cond = threading.Condition()
        self._stopped = False

    def soon(self, workspace_id: int, after: float | None = None) -> None:
        """Folds the workspace within the delay (the messages held until then go in one batch)."""
        if self._pid != os.getpid():
            self._start()
        with self._cond:
            if not self._stopped and workspace_id not in self._due:
                self._due[workspace_id] = time.monotonic() + (self.delay if after is None else after)
                self._cond.notify()

    def _start(self) -> None:
        # A forked child inherits the parent's object but not its thread: start this process's own.
        self._pid = os.getpid()
        self._due = {}
        self._cond = threading.Condition()
        threading.Thread(target=self._run, name="statushub-fold", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                workspace_id, due = min(self._due.items(), key=lambda item: item[1])
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                del self._due[workspace_id]
            self._fold(workspace_id)

    def _fold(self, workspace_id: int) -> None:
        try:
            done = fold_held(self.engine, workspace_id)
        except Exception:  # the messages stay held: tried again in a second (the database may be down)
            log.exception("folding held messages failed", extra={"workspace_id": workspace_id})
            self.soon(workspace_id, after=max(self.delay, RETRY_AFTER))
            return
        if done.busy:
            self.soon(workspace_id)

    def stop(self) -> None:
        """Folds nothing more in this process (what is held stays held for the next fold)."""
        with self._cond:
            self._stopped = True
            self._due = {}
            self._cond.notify()

    def flush(self) -> None:
        """Folds now what this process still owes (at exit)."""
        with self._cond:
            owed, self._due = list(self._due), {}
        for workspace_id in owed:
            try:
                fold_held(self.engine, workspace_id)
            except Exception:  # noqa: BLE001 - at exit; the worker's sweep folds them
                log.exception("folding held messages at exit failed", extra={"workspace_id": workspace_id})


def lock_path(url: str) -> Path | None:
    """The fold lock of a SQLite database file; None for anything else (another backend, in memory)."""
    database = sqlite_file(url)
    return Path(database + "-fold.lock") if database else None


def open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


class FoldProcess:
    """A web process's side: a fold process runs for this database while messages are held."""

    def __init__(self, engine: Engine, url: str, lock: Path, delay: float, log_level: str):
        self.engine, self.url, self.lock, self.delay, self.log_level = engine, url, lock, delay, log_level
        self._pid = -1
        self._fd = -1
        self._child: subprocess.Popen | None = None
        self._stopped = False
        self._mutex = threading.Lock()  # a threaded server's requests call `soon` at once
        self._thread: Folder | None = None  # this process's folds when no fold process could start

    def soon(self, workspace_id: int, after: float | None = None) -> None:
        """Called after a message is held (committed): the fold process folds it within the delay."""
        with self._mutex:
            if self._thread is None:
                try:
                    self._ensure_running()
                    return
                except OSError:  # no lock file beside the database, or no Python to start
                    log.exception("the fold process could not start; this process folds on a thread")
                    self._thread = Folder(self.engine, self.delay)
        self._thread.soon(workspace_id, after)

    def _ensure_running(self) -> None:
        if self._stopped:
            return
        if self._pid != os.getpid():  # a forked web worker: its own descriptor, no child yet
            self._pid, self._fd, self._child = os.getpid(), open_lock(self.lock), None
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
        if self._thread is not None:
            self._thread.stop()
        child, self._child = self._child, None
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def flush(self) -> None:
        """Folds what this process's thread owes, if it folds on one; the fold process folds the rest."""
        if self._thread is not None:
            self._thread.flush()
