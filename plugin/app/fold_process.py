"""The fold process of a hub on SQLite: held messages folded beside the web workers (SPEC §8).

On SQLite every write takes the one writer lock. A fold on a thread of a web worker holds that lock
and the worker's interpreter at once, and the webhooks wait for both; folded in each request, every
message pays for a transaction of its own. So a hub on a SQLite file holds what it can (Twilio
without an auto-reply, as on PostgreSQL) and one process beside it folds: it wakes every
`STATUSHUB_FOLD_DELAY_MS`, folds each workspace's held messages in batches and sleeps again
(bench/FIGURES.md).

The web process that holds a message makes sure that process runs (`plugin.app.folding.FoldProcess`):
it asks for the database's fold lock, a file beside the database (`<file>-fold.lock`, like SQLite's
own `-wal`), which the fold process keeps while it lives. Free, it starts one: `python -m plugin.app.fold_process`,
with the database URL in its environment (never on a command line a process listing shows). Two web
processes may start one at once; the second to ask for the lock leaves. The fold process leaves when
the process that started it is gone (after one last fold), on SIGTERM or SIGINT (after the fold in
hand), and the next message held starts another. What it leaves held is folded by the next one or
by the worker's sweep.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import signal
import sys
import time

from plugin.app.folding import PARENT_VARIABLE, RETRY_AFTER, URL_VARIABLE, lock_path, open_lock
from plugin.app.logs import configure
from plugin.app.settings import Settings
from plugin.engine import fold_held, held_workspaces

log = logging.getLogger("statushub.fold")

START_WITHIN = 1.0  # seconds a new fold process waits for the lock (a web process's probe holds it briefly)


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
    fd = open_lock(lock)
    if not _take(fd, START_WITHIN):
        return 0
    stopping = False

    def stop(_signum, _frame) -> None:  # the fold in hand is finished first
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    settings = Settings.from_env()
    configure(settings.log_level)
    engine = settings.engine(url)
    delay = max(settings.fold_delay_ms, 10) / 1000
    log.info("fold process started", extra={"delay_ms": round(delay * 1000)})
    pause = delay  # what was held before it started is folded a delay later too, in one batch
    settled = False
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
            if workspaces and not settled:
                # What the first fold loaded (the catalogs, the classifiers, the shipped model) lives
                # as long as the process: frozen, the cyclic collector stops walking it on every full
                # collection, and a fold takes ~15 % less CPU a message (bench/FIGURES.md).
                gc.collect()
                gc.freeze()
                settled = True
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
