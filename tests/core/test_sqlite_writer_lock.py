"""SQLite writers queue on a sidecar file lock that is always released when their transaction ends."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import event, text

from plugin.store.db import make_engine, reading, transaction
from tests.conftest import file_lock_held

WRITES = 300


@pytest.fixture
def sqlite_url(db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the writer lock exists for SQLite file databases only")
    return db_url


def lock_is_free(url: str) -> bool:
    return not file_lock_held(url.removeprefix("sqlite:///") + ".lock")


def impatient_engine(url: str):
    # No busy wait at all: a writer that met SQLite's lock held would fail at once with "database is locked".
    engine = make_engine(url)
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=0"))
    return engine


def write_many(url: str, writer: int) -> None:
    engine = impatient_engine(url)
    for n in range(WRITES):
        with transaction(engine) as conn:
            conn.execute(text("INSERT INTO lock_probe (writer, n) VALUES (:w, :n)"), {"w": writer, "n": n})
    engine.dispose()


def test_two_processes_writing_at_once_never_see_database_is_locked(sqlite_url):
    engine = make_engine(sqlite_url)
    with transaction(engine) as conn:
        conn.execute(text("CREATE TABLE lock_probe (writer INTEGER, n INTEGER)"))
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=write_many, args=(sqlite_url, w)) for w in (1, 2)]
    for proc in writers:
        proc.start()
    for proc in writers:
        proc.join(60)
    assert [proc.exitcode for proc in writers] == [0, 0]
    with reading(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM lock_probe")).scalar() == 2 * WRITES
    engine.dispose()


def test_a_write_transaction_holds_the_lock_until_it_commits(sqlite_url):
    engine = make_engine(sqlite_url)
    with transaction(engine) as conn:
        conn.execute(text("SELECT 1"))
        assert not lock_is_free(sqlite_url)
    assert lock_is_free(sqlite_url)
    engine.dispose()


def test_a_failed_transaction_releases_the_lock_for_the_next_writer(sqlite_url):
    engine = make_engine(sqlite_url)
    with pytest.raises(RuntimeError), transaction(engine) as conn:
        conn.execute(text("CREATE TABLE doomed (x INTEGER)"))
        raise RuntimeError("boom")
    assert lock_is_free(sqlite_url)
    with transaction(impatient_engine(sqlite_url)) as conn:
        conn.execute(text("CREATE TABLE kept (x INTEGER)"))
    engine.dispose()


def test_an_invalidated_connection_releases_the_lock(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        conn.begin()
        assert not lock_is_free(sqlite_url)
        conn.invalidate()
        assert lock_is_free(sqlite_url)
    engine.dispose()


def test_readers_do_not_take_the_writer_lock(sqlite_url):
    engine = make_engine(sqlite_url)
    with transaction(engine) as writer:
        writer.execute(text("SELECT 1"))
        with reading(make_engine(sqlite_url)) as reader:
            assert reader.execute(text("SELECT count(*) FROM workspaces")).scalar() >= 0
    engine.dispose()


def test_an_in_memory_database_needs_no_lock_file():
    engine = make_engine("sqlite://")
    with transaction(engine) as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
