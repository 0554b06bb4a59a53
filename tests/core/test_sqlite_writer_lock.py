"""SQLite writers queue on a sidecar file lock that is always released when their transaction ends."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, exc, insert, text

from plugin.store import db
from plugin.store.db import make_engine, reading, statement_alone, transaction
from plugin.store.prepared import Prepared
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


PROBE = Table("lock_probe", MetaData(), Column("writer", Integer), Column("n", Integer, unique=True))
PROBE_INSERT = Prepared(insert(PROBE))


def write_many(url: str, writer: int, alone: bool = False, writes: int = WRITES) -> None:
    engine = impatient_engine(url)
    for n in range(writes):
        row = {"writer": writer, "n": writer * writes + n}
        if alone:  # one statement committing by itself, as a held message's insert
            with engine.connect() as conn, statement_alone(conn):
                PROBE_INSERT.rows(conn, row)
        else:
            with transaction(engine) as conn:
                conn.execute(insert(PROBE), row)
    engine.dispose()


@pytest.mark.parametrize("alone", [False, True], ids=["transactions", "statements-alone"])
def test_two_processes_writing_at_once_never_see_database_is_locked(sqlite_url, alone):
    engine = make_engine(sqlite_url)
    PROBE.create(engine)
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=write_many, args=(sqlite_url, w, alone)) for w in (1, 2)]
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


@pytest.fixture
def probed(sqlite_url):
    """An engine on the database, with the probe table made."""
    engine = make_engine(sqlite_url)
    PROBE.create(engine)
    yield engine
    engine.dispose()


def test_a_statement_alone_holds_the_lock_while_it_runs_and_commits_by_itself(sqlite_url, probed):
    with probed.connect() as conn:
        with statement_alone(conn):
            assert not lock_is_free(sqlite_url)
            PROBE_INSERT.rows(conn, {"writer": 1, "n": 1})
        assert lock_is_free(sqlite_url)
        assert not conn.in_transaction()
        # Committed: another process's connection sees it, and can write at once.
        other = impatient_engine(sqlite_url)
        with transaction(other) as writer:
            assert writer.execute(text("SELECT count(*) FROM lock_probe")).scalar() == 1
            writer.execute(insert(PROBE), {"writer": 2, "n": 2})
        other.dispose()


def test_a_failed_statement_alone_stores_nothing_and_releases_the_lock(sqlite_url, probed):
    with probed.connect() as conn:
        with statement_alone(conn):
            PROBE_INSERT.rows(conn, {"writer": 1, "n": 1})
        with pytest.raises(exc.IntegrityError), statement_alone(conn):
            PROBE_INSERT.rows(conn, {"writer": 2, "n": 1})  # n is unique
        assert lock_is_free(sqlite_url)
    with reading(probed) as conn:
        assert conn.execute(text("SELECT writer FROM lock_probe")).scalars().all() == [1]


def test_a_statement_alone_is_refused_inside_a_transaction(sqlite_url):
    engine = make_engine(sqlite_url)
    with (
        engine.connect() as conn,
        conn.begin(),
        pytest.raises(RuntimeError, match="outside a transaction"),
        statement_alone(conn),
    ):
        pass
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


def checkpointed_rows(url: str) -> int:
    """The probe rows the database file itself holds: an immutable connection never reads the WAL, so
    a row committed but not yet checkpointed is not counted."""
    path = url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as copy:
        return copy.execute("SELECT count(*) FROM lock_probe").fetchone()[0]


def checkpoint_due(conn) -> None:
    """The connection's next write checkpoints (its last one, creating the probe, was just now)."""
    conn.connection.dbapi_connection._checkpoint_due = 0.0


def test_the_wal_is_checkpointed_by_writers_every_interval_not_inside_a_commit(
    sqlite_url, probed, monkeypatch
):
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 3600.0)
    monkeypatch.setattr(db, "CHECKPOINT_WRITES", 10**9)
    with probed.connect() as conn:
        conn.connection.dbapi_connection.checkpoint_if_due()  # the table, then none for an hour
        for n in range(1200):  # > 1,000 WAL pages, where SQLite's own checkpoint would have run
            with statement_alone(conn):
                PROBE_INSERT.rows(conn, {"writer": 1, "n": n})
        assert checkpointed_rows(sqlite_url) == 0
        monkeypatch.setattr(db, "CHECKPOINT_EVERY", 0.0)
        checkpoint_due(conn)  # the hour is over
        with statement_alone(conn):
            PROBE_INSERT.rows(conn, {"writer": 1, "n": 1200})
    assert checkpointed_rows(sqlite_url) == 1201
    with transaction(probed) as conn:
        conn.execute(insert(PROBE), {"writer": 2, "n": 1201})
    assert checkpointed_rows(sqlite_url) == 1202


def test_the_wal_stays_small_while_two_processes_write_without_a_pause(sqlite_url, probed):
    # Each checkpoint copies the WAL while the other process goes on writing; the WAL starts over from
    # its beginning only once a checkpoint has copied all of it.
    ctx = multiprocessing.get_context("spawn")
    writes = 4000
    writers = [ctx.Process(target=write_many, args=(sqlite_url, w, True, writes)) for w in (1, 2)]
    for proc in writers:
        proc.start()
    for proc in writers:
        proc.join(120)
    assert [proc.exitcode for proc in writers] == [0, 0]
    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    # Never checkpointed, these 8,000 one-row commits leave a WAL of ~68 MB; checkpointed, 1–12 MB.
    assert wal.stat().st_size < 32 * 1024 * 1024
    with reading(probed) as conn:
        assert conn.execute(text("SELECT count(*) FROM lock_probe")).scalar() == 2 * writes


def test_a_connection_checkpoints_after_so_many_writes_within_the_interval(sqlite_url, probed, monkeypatch):
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 3600.0)
    monkeypatch.setattr(db, "CHECKPOINT_WRITES", 100)
    with probed.connect() as conn:
        driver = conn.connection.dbapi_connection
        driver._checkpoint_due, driver._writes_since_checkpoint = time.monotonic() + 3600, 0
        for n in range(150):
            with statement_alone(conn):
                PROBE_INSERT.rows(conn, {"writer": 1, "n": n})
    assert checkpointed_rows(sqlite_url) == 100


@pytest.mark.parametrize("alone", [False, True], ids=["transaction", "statement-alone"])
def test_a_checkpoint_runs_after_the_writer_lock_is_let_go(sqlite_url, probed, monkeypatch, alone):
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 0.0)
    seen = []
    with probed.connect() as conn:
        checkpoint_due(conn)
        conn.connection.dbapi_connection.set_trace_callback(
            lambda sql: seen.append((sql, lock_is_free(sqlite_url)))
        )
        if alone:
            with statement_alone(conn):
                PROBE_INSERT.rows(conn, {"writer": 1, "n": 1})
        else:
            with conn.begin():
                conn.execute(insert(PROBE), {"writer": 1, "n": 1})
        conn.connection.dbapi_connection.set_trace_callback(None)
    # The bulk with the lock free; then, under it, what other writers added meanwhile (none here).
    checkpoints = [free for sql, free in seen if "wal_checkpoint" in sql]
    assert checkpoints == [True, False]
    assert [free for sql, free in seen if sql.startswith("INSERT")] == [False]
    assert checkpointed_rows(sqlite_url) == 1


def test_a_failed_checkpoint_leaves_the_write_committed(sqlite_url, probed, monkeypatch):
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 0.0)
    with probed.connect() as conn:
        checkpoint_due(conn)
        driver = conn.connection.dbapi_connection
        # An authorizer that refuses the checkpoint pragma makes it fail as a disk error would.
        driver.set_authorizer(lambda action, arg, *_: sqlite3.SQLITE_DENY if arg == "wal_checkpoint" else 0)
        with statement_alone(conn):
            PROBE_INSERT.rows(conn, {"writer": 1, "n": 1})
        driver.set_authorizer(None)
        assert lock_is_free(sqlite_url)
    with reading(probed) as conn:
        assert conn.execute(text("SELECT count(*) FROM lock_probe")).scalar() == 1


def test_the_second_pass_skips_a_busy_lock_and_waits_for_it_after_three_skips(
    sqlite_url, probed, monkeypatch
):
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 0.0)
    other = make_engine(sqlite_url)
    with probed.connect() as conn, other.connect() as rival:
        rival_driver = rival.connection.dbapi_connection
        driver = conn.connection.dbapi_connection
        checkpoint_due(conn)
        passes = []

        def traced(sql):
            if "wal_checkpoint" in sql:
                free = lock_is_free(sqlite_url)
                passes.append(free)
                if free:  # another writer takes the lock while the first pass runs
                    rival_driver.acquire_writer_lock(wait=False)

        driver.set_trace_callback(traced)
        for n in range(3):
            with statement_alone(conn):
                PROBE_INSERT.rows(conn, {"writer": 1, "n": n})
            assert not lock_is_free(sqlite_url)  # the rival's
            rival_driver.release_writer_lock()
        assert passes == [True, True, True]  # three first passes, each second pass skipped
        letting_go = threading.Timer(0.3, rival_driver.release_writer_lock)
        letting_go.start()
        started = time.monotonic()
        with statement_alone(conn):
            PROBE_INSERT.rows(conn, {"writer": 1, "n": 3})
        assert time.monotonic() - started >= 0.25  # waited for the rival's lock
        letting_go.join()
        driver.set_trace_callback(None)
        assert passes[3:] == [True, False]  # the first pass, then the second under its own lock
        assert lock_is_free(sqlite_url)
    other.dispose()
    assert checkpointed_rows(sqlite_url) == 4


def test_a_long_read_never_holds_the_writers_up_at_a_checkpoint(sqlite_url, probed, monkeypatch):
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 0.0)
    with reading(probed) as reader:  # an export reading one snapshot for as long as it takes
        assert reader.execute(text("SELECT count(*) FROM lock_probe")).scalar() == 0
        with probed.connect() as conn:
            checkpoint_due(conn)
            started = time.monotonic()
            with statement_alone(conn):
                PROBE_INSERT.rows(conn, {"writer": 1, "n": 1})
            assert time.monotonic() - started < 2  # SQLite's busy timeout would have been 30 s
        assert lock_is_free(sqlite_url)
        other = impatient_engine(sqlite_url)
        with transaction(other) as writer:
            writer.execute(insert(PROBE), {"writer": 2, "n": 2})
        other.dispose()
    with reading(probed) as conn:
        assert conn.execute(text("SELECT count(*) FROM lock_probe")).scalar() == 2
