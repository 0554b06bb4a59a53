"""Test fixtures: every database test runs on SQLite and on PostgreSQL, each in a fresh database.

PostgreSQL is found at STATUSHUB_TEST_PG_URL (default: postgres@127.0.0.1:5432, trust auth, as CI
has it). Each test gets its own database, cloned from a migrated template made once per session,
so no test sees another's rows. Without a reachable server the PostgreSQL runs are skipped locally
and fail in CI (CI=true), so a green CI always means both backends ran.

Tests marked `pgbouncer` (the webhook, worker and concurrency tests) run a third time through
PgBouncer in transaction pooling mode (SPEC §8), found at STATUSHUB_TEST_PGBOUNCER_URL (default
127.0.0.1:6432, in front of the PostgreSQL above, as `.ci/run` starts it): the database is created
on PostgreSQL directly, then used through the pooler only. Skipped locally without it, failed in CI.
"""

from __future__ import annotations

import fcntl
import os
import queue
import shutil
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from plugin.domain.clock import utcnow
from plugin.store.db import make_engine, transaction, upgrade
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import create_workspace

PG_ADMIN_URL = os.environ.get(
    "STATUSHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PGBOUNCER_URL = os.environ.get(
    "STATUSHUB_TEST_PGBOUNCER_URL", "postgresql+psycopg://postgres@127.0.0.1:6432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Tests read statuses right after a webhook's answer: each message is folded in its request unless a
# test asks for held messages (tests/adapters/sms/test_held.py), as servers they start inherit too.
os.environ["STATUSHUB_FOLD_DELAY_MS"] = "0"
BACKENDS = ("sqlite", "postgresql", "pgbouncer")


def pytest_collection_modifyitems(config, items):
    """The pgbouncer backend runs only for tests marked `pgbouncer`; the others are deselected. Files
    holding a `slow` test run first: pytest-xdist hands out whole files, and a slow one handed out
    last would keep one worker busy after the other has finished."""
    dropped = [
        item
        for item in items
        if getattr(item, "callspec", None) is not None
        and item.callspec.params.get("db_url") == "pgbouncer"
        and item.get_closest_marker("pgbouncer") is None
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]
    slow = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow)


def _pg_available(url: str = PG_ADMIN_URL) -> bool:
    try:
        eng = create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_template():
    """A migrated PostgreSQL database that each test's database is cloned from."""
    if not _pg_available():
        if IN_CI:
            pytest.fail(
                f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI must run every database test on it"
            )
        pytest.skip("PostgreSQL not reachable; set STATUSHUB_TEST_PG_URL")
    name = f"shub_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    upgrade(url)
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_url(name: str, server: str = PG_ADMIN_URL) -> str:
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pgbouncer():
    """PgBouncer's URL for a database name, once the pooler answers."""
    if not _pg_available(PGBOUNCER_URL):
        if IN_CI:
            pytest.fail(f"PgBouncer is not reachable at {PGBOUNCER_URL}; CI runs the pooled tests through it")
        pytest.skip("PgBouncer not reachable; set STATUSHUB_TEST_PGBOUNCER_URL")
    return lambda name: _pg_url(name, PGBOUNCER_URL)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_databases(pg_template):
    """This session's maker of fresh PostgreSQL databases (`FreshDatabases`)."""
    databases = FreshDatabases(pg_template)
    yield databases
    databases.close()


class FreshDatabases:
    """Fresh PostgreSQL databases cloned from the template, made ahead and dropped afterwards on a
    thread of their own: a CREATE DATABASE (~0.25 s here) and a DROP (~0.12 s) per test, a few minutes
    of the suite, no longer stand in a test's way."""

    AHEAD = 2

    def __init__(self, template: str):
        self.template = template
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._jobs: queue.Queue[str | None] = queue.Queue()  # "" makes one; a name drops it
        self._thread = threading.Thread(target=self._run, name="fresh-databases", daemon=True)
        self._thread.start()
        for _ in range(self.AHEAD):
            self._jobs.put("")

    def take(self) -> str:
        """The name of a database nobody has used, cloned from the migrated template."""
        self._jobs.put("")
        name = self._ready.get(timeout=120)
        if isinstance(name, BaseException):
            raise name
        return name

    def drop(self, name: str) -> None:
        self._jobs.put(name)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        while not self._ready.empty():
            name = self._ready.get()
            if isinstance(name, str):
                self._drop_now(name)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if job:
                    self._drop_now(job)
                else:
                    name = f"shub_t_{uuid.uuid4().hex[:12]}"
                    with _admin() as conn:
                        # A file copy costs PostgreSQL about half the CPU of copying the template
                        # through the WAL, 15's default (~60 against ~90 ms, and ~25 against ~60 ms
                        # for the DROP); older servers copy files anyway and know no STRATEGY.
                        new = conn.dialect.server_version_info >= (15,)
                        strategy = " STRATEGY FILE_COPY" if new else ""
                        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"{strategy}'))
                    self._ready.put(name)
            except BaseException as exc:  # noqa: BLE001 - handed to the test that waits for it
                if not job:
                    self._ready.put(exc)

    @staticmethod
    def _drop_now(name: str) -> None:
        with _admin() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _admin():
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            yield conn
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A freshly created, migrated database of each backend (pgbouncer: PostgreSQL through the pooler)."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "statushub.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    pooled = request.getfixturevalue("pgbouncer") if request.param == "pgbouncer" else None
    databases = request.getfixturevalue("pg_databases")
    name = databases.take()
    yield pooled(name) if pooled else _pg_url(name)
    databases.drop(name)


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def workspace(engine):
    """One workspace on the default online-store template, with SMS, web chat and Slack configured."""
    with transaction(engine) as conn:
        ws_id = create_workspace(
            conn,
            "acme",
            name="Acme Store",
            twilio_account_sid="AC" + "1" * 32,
            twilio_auth_token="12345",
            twilio_number="+15550001111",
            webchat_secret="webchat-secret",
            slack_team="T0ACME",
            slack_bot_token="xoxb-test-token",
            alert_channel="C0ALERTS",
            now=utcnow(),
        )
    return ws_id


@pytest.fixture
def catalog(engine, workspace):
    with transaction(engine) as conn:
        return load_catalog(conn, workspace)


def file_lock_held(path) -> bool:
    """Whether a process holds an exclusive `flock` on the file (asked without waiting, given back)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def at(minute: int, second: int = 0) -> datetime:
    """A fixed, readable timestamp: minute `minute` of a test day."""
    return datetime(2026, 5, 4, 9, 0, tzinfo=UTC).replace(
        minute=minute % 60, second=second, hour=9 + minute // 60
    )


def pytest_terminal_summary(terminalreporter):
    """The figures the reliability tests measured (events sent, retried, stored, lost), in CI's output.

    Tests attach them with `record_property("figures", ...)`, which travels from xdist workers too."""
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "figures"
    ]
    if lines:
        terminalreporter.section("figures measured")
        for line in lines:
            terminalreporter.write_line(line)
