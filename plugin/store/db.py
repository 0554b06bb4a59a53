"""The database: engines for SQLite (WAL) and PostgreSQL, transactions, migrations.

Services take a Connection and never open their own transaction: the caller's unit of work
commits a change and its audit entries together or rolls both back (STYLE §2).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from plugin.store import prepared

MIGRATIONS = Path(__file__).parent / "migrations"
# How often a SQLite writer connection copies the WAL back into the database file, after it let the
# writer lock go (`_WriterLockedConnection.checkpoint_if_due`).
CHECKPOINT_EVERY = 0.25  # seconds
CHECKPOINT_WRITES = 100  # or after this many of its writes, if sooner (the WAL grows with the write rate)
CATCH_UP_SKIPS = 3  # its second pass, under the writer lock, waits for the lock after this many skips
CATCH_UP_WAIT_MS = 20  # how long that pass waits for another checkpoint or a reader of an older snapshot
BUSY_TIMEOUT_MS = 30_000  # how long a statement waits for SQLite's own locks

log = logging.getLogger("statushub.store")


def make_engine(url: str, *, prepared: bool = False, **kwargs) -> Engine:
    """An engine with statushub's connection settings for the URL's backend. `prepared`
    (STATUSHUB_PREPARED_STATEMENTS, PostgreSQL only): psycopg prepares a statement on the server once
    it has run five times on a connection and keeps it for the connection's life."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args: dict[str, object] = {"timeout": 30, "check_same_thread": False}
        database = sqlite_file(url)
        lock_path = database + ".lock" if database else None
        if lock_path and parsed.database:
            connect_args["factory"] = _WriterLockedConnection
            _create_private(parsed.database)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, lock_path)
        return engine
    # No ping before each checkout: it is a round trip on every request (bench/FIGURES.md). After a restart the first statement on a dead connection fails instead, SQLAlchemy
    # then discards every pooled connection, and the request answers 503, which providers retry.
    kwargs.setdefault("pool_size", 5)
    if parsed.get_driver_name() == "psycopg" and not prepared:
        # A statement prepared on the server lives as long as the server connection; through PgBouncer
        # in transaction pooling (before 1.21) the next transaction may get another one ("prepared
        # statement _pg3_0 already exists", SPEC §8). So by default none is: each statement is parsed
        # and planned on every run, which costs the server about half its CPU on a webhook
        # (bench/FIGURES.md). None: never prepare.
        kwargs["connect_args"] = {"prepare_threshold": None, **kwargs.get("connect_args", {})}
    return create_engine(url, **kwargs)


def sqlite_file(url: str) -> str | None:
    """The absolute path of a SQLite file database, where its sidecar lock files go (the writer lock,
    `<file>.lock`, and the fold process's, `<file>-fold.lock`); None for another backend or in memory."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or "mode" in parsed.query:
        return None
    return os.path.abspath(database)


def _create_private(database: str) -> None:
    """Creates a missing SQLite file readable by its owner only (0600), whatever the umask: it holds
    channel secrets and every message. SQLite gives its -wal and -shm files the database file's mode;
    an existing file keeps the mode its owner chose."""
    with suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class _WriterLockedConnection(sqlite3.Connection):
    """A sqlite3 connection that serializes writers on a sidecar flock, released after COMMIT/ROLLBACK.

    SQLite's busy handler polls by sleeping 1, 2, 5, 10... ms, so two processes contending for the
    write lock idle for milliseconds; a blocking flock wakes the next writer as soon as the lock frees.
    Each connection opens its own file description, so threads of one process exclude each other too.
    Lock order is always flock, then SQLite's lock; readers take neither, so there is no cycle.

    SQLite's automatic checkpoint runs inside the COMMIT that fills the WAL past 1,000 pages, so the
    writer lock stayed held while it copied pages and waited for fsync, and every other writer waited
    too (5–8 ms at a time under load, bench/FIGURES.md). These connections turn it off and checkpoint
    after letting the lock go (`checkpoint_if_due`): most of the copying needs no writer lock, and
    writers go on meanwhile.
    """

    _lock_fd: int | None = None
    _holding = False
    _checkpoint_due = 0.0  # time.monotonic() after which this connection's next write checkpoints
    _catch_ups_skipped = 0  # second passes skipped in a row because the writer lock was busy
    _writes_since_checkpoint = 0

    def open_writer_lock(self, path: str) -> None:
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.execute("PRAGMA wal_autocheckpoint=0")

    def acquire_writer_lock(self, wait: bool = True) -> bool:
        """Takes the writer lock, waiting for it (or, with `wait=False`, only when it is free at once);
        True when this connection holds it."""
        if self._lock_fd is not None and not self._holding:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self._holding = True
        return self._holding

    def release_writer_lock(self) -> None:
        if self._holding and self._lock_fd is not None:
            self._holding = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        wrote = self._holding  # a read-only transaction took no writer lock and copies nothing
        try:
            super().commit()
        finally:
            self.release_writer_lock()
        if wrote:
            self.checkpoint_if_due()

    def checkpoint_if_due(self) -> None:
        """After a write, with the writer lock let go: copies the WAL into the database file when this
        connection has not done so for CHECKPOINT_EVERY or CHECKPOINT_WRITES writes, in two passes.
        The first copies what is there while other writers go on. The second, under the writer lock,
        copies the few pages they added meanwhile: the whole WAL is then copied and the next write
        starts it over from the beginning. It takes the lock only when it is free at once, except
        after CATCH_UP_SKIPS times it was not: then it waits for it. Without the second pass, with
        writers always busy, the WAL was never wholly copied, never restarted, and grew by hundreds
        of MB (bench/FIGURES.md). The write is committed already: a checkpoint that fails is logged,
        never raised."""
        self._writes_since_checkpoint += 1
        now = time.monotonic()
        if self.in_transaction or self._holding:
            return
        if now < self._checkpoint_due and self._writes_since_checkpoint < CHECKPOINT_WRITES:
            return
        self._checkpoint_due, self._writes_since_checkpoint = now + CHECKPOINT_EVERY, 0
        try:
            self.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if not self.acquire_writer_lock(wait=self._catch_ups_skipped >= CATCH_UP_SKIPS):
                self._catch_ups_skipped += 1
                return
            self._catch_ups_skipped = 0
            try:
                # FULL: waits for another process's checkpoint to end (a PASSIVE one would give up),
                # and, no writer getting past the lock meanwhile, copies every page. It also waits
                # for readers of an older snapshot (an export can read for seconds): never long,
                # since every writer waits behind this lock meanwhile.
                self.execute(f"PRAGMA busy_timeout={CATCH_UP_WAIT_MS}")
                try:
                    self.execute("PRAGMA wal_checkpoint(FULL)").fetchall()
                finally:
                    self.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            finally:
                self.release_writer_lock()
        except sqlite3.Error as error:
            log.warning("a WAL checkpoint failed", extra={"error": str(error)})

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self) -> None:
        # Invalidation and pool disposal end here: never leave the lock held by a dead connection.
        try:
            super().close()
        finally:
            self.release_writer_lock()
            if self._lock_fd is not None:
                fd, self._lock_fd = self._lock_fd, None
                os.close(fd)


def _configure_sqlite(engine: Engine, lock_path: str | None = None) -> None:
    # pysqlite's own transaction handling defers BEGIN and would let two writers deadlock on the
    # lock upgrade; take the write lock up front instead (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()
        if lock_path and isinstance(dbapi_conn, _WriterLockedConnection):
            dbapi_conn.open_writer_lock(lock_path)

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        if conn.get_execution_options().get("readonly", False):
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_conn = conn.connection.dbapi_connection
        locked = isinstance(dbapi_conn, _WriterLockedConnection)
        if locked:
            dbapi_conn.acquire_writer_lock()
        try:
            prepared.run(conn, "BEGIN IMMEDIATE")  # every write pays for this: the driver's cursor
        except BaseException:
            if locked:
                dbapi_conn.release_writer_lock()
            raise


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One unit of work: commits on success, rolls back on any exception."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def single_statements(engine: Engine) -> Iterator[Connection]:
    """A connection whose statements each commit on their own, for a request that reads and then
    writes one row (a held message): on PostgreSQL in autocommit, so neither BEGIN nor COMMIT costs a
    round trip; on SQLite a plain connection, whose writes still go in `conn.begin()` (the writer lock
    is taken there). `commits_each_statement(conn)` tells the two apart."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A unit of work that is a single statement, atomic by itself (a batch claimed or completed in
    one UPDATE): on PostgreSQL in autocommit, so BEGIN and COMMIT cost no round trips of their own;
    on SQLite in a transaction, which takes the writer lock."""
    with single_statements(engine) as conn:
        if commits_each_statement(conn):
            yield conn
        else:
            with conn.begin():
                yield conn


@contextmanager
def statement_alone(conn: Connection) -> Iterator[Connection]:
    """One write on the driver's cursor (a `plugin.store.prepared.Prepared` statement) that commits by
    itself, on a `single_statements` connection outside any transaction: on PostgreSQL that
    connection is in autocommit; on SQLite the statement runs in SQLite's own autocommit, under the
    writer lock, so neither BEGIN IMMEDIATE nor COMMIT is sent nor SQLAlchemy's transaction machinery
    run (a held message's insert: bench/FIGURES.md). A Core `conn.execute` would begin a transaction
    of its own, never committed here: run one in `conn.begin()` instead."""
    if commits_each_statement(conn):
        yield conn
        return
    if conn.in_transaction() or conn.dialect.name != "sqlite":
        raise RuntimeError("statement_alone needs a single_statements connection outside a transaction")
    dbapi_conn = conn.connection.dbapi_connection
    locked = dbapi_conn if isinstance(dbapi_conn, _WriterLockedConnection) else None
    if locked is not None:
        locked.acquire_writer_lock()
    try:
        yield conn
    finally:
        if locked is not None:
            locked.release_writer_lock()
    if locked is not None:
        locked.checkpoint_if_due()


def commits_each_statement(conn: Connection) -> bool:
    return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only unit of work (on SQLite it does not take the write lock)."""
    with engine.connect() as conn:
        conn = conn.execution_options(readonly=True)
        with conn.begin():
            yield conn


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Applies pending migrations; keeps all data (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
