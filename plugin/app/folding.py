"""When a hub process folds the messages it held: a moment after the first one, in one batch (SPEC §8).

Folding one message costs a transaction and the statements of the engine's write path; folding fifty
at once costs little more than folding one. So a process that holds a message does not fold it in
the request: it asks its `Folder` to fold that workspace `STATUSHUB_FOLD_DELAY_MS` later (250 ms by
default), and every message held meanwhile goes in the same batch. On PostgreSQL (and an in-memory
SQLite database) the folder is a thread of the process that held the message, started on first use (after gunicorn forks), so no other process
has to run for statuses to follow; a fold finding another process folding that workspace tries
again after the delay. What a process held but could not fold before it stopped is folded by the
next fold of its workspace (a fold takes every held message of the workspace) or by the worker's
sweep (`statushub worker`), and at exit the folder folds what it still owes. A hub on a SQLite file
folds in one process beside its web processes instead (plugin/app/fold_process.py).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from sqlalchemy import Engine

from plugin.engine import fold_held

log = logging.getLogger("statushub.fold")
RETRY_AFTER = 1.0  # seconds before a fold that failed is tried again


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
