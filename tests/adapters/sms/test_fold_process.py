"""Who folds held messages: one fold process beside the web processes on a SQLite file, a thread of
each hub process on PostgreSQL (SPEC §8, plugin/app/fold_process.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin.app.folding import Folder, FoldProcess, lock_path
from plugin.domain.clock import utcnow
from plugin.engine import hold
from plugin.store.db import transaction
from plugin.store.schema import HeldMessage, Message
from tests.adapters.sms.conftest import inbound_form, post_inbound, rows, wait_until
from tests.adapters.sms.test_held import _event
from tests.conftest import file_lock_held

pytestmark = pytest.mark.pgbouncer  # the webhook tests (SPEC §8)


def lock_is_held(url: str) -> bool:
    return file_lock_held(lock_path(url))


def alive(pid: int) -> bool:
    """The process runs (a zombie no longer does)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_held_messages_are_folded_by_a_fold_process_on_sqlite_and_by_a_thread_on_postgresql(
    held_app,
    db_url,
    engine,
    workspace,
):
    app = held_app(100)
    client = app.test_client()
    for n in range(3):
        assert post_inbound(client, inbound_form(f"SMfp{n}", "is the oak desk in stock?")).status_code == 200
    folder = app.extensions["statushub"].folder
    wait_until(lambda: rows(engine, Message) == 3)
    assert rows(engine, HeldMessage) == 0
    if not db_url.startswith("sqlite"):
        assert isinstance(folder, Folder)
        return
    assert isinstance(folder, FoldProcess)
    pid = folder.pid
    assert pid is not None and pid != os.getpid() and alive(pid)
    assert lock_path(db_url).exists() and lock_is_held(db_url)
    started = time.monotonic()
    folder.stop()  # SIGTERM: it leaves after the fold in hand
    assert time.monotonic() - started < 5 and not alive(pid)
    assert not lock_is_held(db_url)
    # Stopped: a later message stays held (for the worker's sweep or the next fold process).
    post_inbound(client, inbound_form("SMfp9", "thanks"))
    time.sleep(0.3)
    assert (rows(engine, HeldMessage), folder.pid) == (1, None)


def sqlite_only(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL folds on a thread of each hub process (the test above)")


def test_two_web_processes_leave_one_fold_process_running(held_app, db_url, engine, workspace):
    sqlite_only(db_url)
    first, second = held_app(100), held_app(100)
    post_inbound(first.test_client(), inbound_form("SMtw1", "hi"))
    post_inbound(second.test_client(), inbound_form("SMtw2", "hello"))  # before the first holds the lock
    a, b = first.extensions["statushub"].folder, second.extensions["statushub"].folder
    wait_until(lambda: rows(engine, Message) == 2)
    wait_until(lambda: [a.pid, b.pid].count(None) == 1)  # the later one found the lock taken and left
    # Once one holds the lock, a web process that holds a message starts none.
    third = held_app(100)
    post_inbound(third.test_client(), inbound_form("SMtw3", "any discounts?"))
    assert third.extensions["statushub"].folder.pid is None
    wait_until(lambda: rows(engine, Message) == 3)


PARENT = """
import sys
from plugin.app.folding import FoldProcess, lock_path
from plugin.store.db import make_engine
url = sys.argv[1]
folder = FoldProcess(make_engine(url), url, lock_path(url), 0.2, "WARNING")
folder.soon(int(sys.argv[2]))
print(folder.pid)
"""


def test_the_fold_process_folds_once_more_and_leaves_when_its_web_process_is_gone(db_url, engine, workspace):
    sqlite_only(db_url)
    with transaction(engine) as conn:
        for n in range(4):
            hold(conn, _event(workspace, n), utcnow())
    # A web process that started the fold process and exited at once (a worker recycled or stopped).
    parent = subprocess.run(
        [sys.executable, "-c", PARENT, db_url, str(workspace)], capture_output=True, text=True, timeout=60
    )
    assert parent.returncode == 0, parent.stderr
    pid = int(parent.stdout)
    wait_until(lambda: not alive(pid))
    assert (rows(engine, Message), rows(engine, HeldMessage)) == (4, 0)
    assert not lock_is_held(db_url)


def test_a_fold_process_needs_a_sqlite_file():
    assert lock_path("sqlite:////srv/statushub/hub.db").as_posix() == "/srv/statushub/hub.db-fold.lock"
    for url in ("sqlite://", "sqlite:///:memory:", "postgresql+psycopg://hub@db/statushub"):
        assert lock_path(url) is None
    env = {**os.environ, "STATUSHUB_DATABASE_URL": "postgresql+psycopg://hub@db/statushub"}
    run = subprocess.run(
        [sys.executable, "-m", "plugin.app.fold_process"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    assert "names no SQLite database file" in run.stderr
    assert "hub@db" not in run.stderr  # the URL (it may hold a password) is not repeated


def test_a_hub_on_an_in_memory_database_folds_on_a_thread():
    from plugin.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "FOLD_DELAY_MS": 100})
    assert isinstance(app.extensions["statushub"].folder, Folder)


def test_where_no_fold_process_can_start_the_web_process_folds_on_a_thread(
    held_app, db_url, engine, workspace, monkeypatch, caplog
):
    sqlite_only(db_url)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # an embedded interpreter, say
    app = held_app(100)
    answer = post_inbound(app.test_client(), inbound_form("SMnp1", "can I pay by card?"))
    assert answer.status_code == 200  # stored: the fold just happens elsewhere
    wait_until(lambda: rows(engine, Message) == 1)
    assert (rows(engine, HeldMessage), app.extensions["statushub"].folder.pid) == (0, None)
    assert "the fold process could not start" in caplog.text
