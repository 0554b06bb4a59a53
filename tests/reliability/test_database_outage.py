"""A database outage costs no acknowledged message: while PostgreSQL is down the webhooks answer 503 so
the provider retries, and after it is back every retry is stored once (SPEC §5, §8)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from plugin.store.db import upgrade
from tests.conftest import IN_CI
from tests.reliability.conftest import free_port, make_workspace, outcome, webchat_event, webchat_request

DOWN_FOR = 10  # seconds the database is stopped


class Postgres:
    """A PostgreSQL instance of our own (initdb, pg_ctl), so stopping it harms no other test."""

    def __init__(self, bindir: str):
        self.bindir = bindir
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="shub-pg-")
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, os.path.join(self.bindir, tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self.run("initdb", "-A", "trust", "-U", "postgres", "-D", self.data)

    def start(self) -> None:
        self.run(
            "pg_ctl",
            "-D",
            self.data,
            "-w",
            "-l",
            os.path.join(self.dir, "log"),
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
            "start",
        )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", self.data, "-w", "-m", "fast", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def own_postgres():
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        if IN_CI:
            pytest.fail("initdb is missing: CI must run the database outage test")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pg = Postgres(os.path.dirname(bins[-1]))
    pg.init()
    pg.start()
    yield pg
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        pg.stop()
    shutil.rmtree(pg.dir, ignore_errors=True)


@pytest.mark.slow
def test_webhooks_answer_503_while_the_database_is_down_and_nothing_is_lost(
    own_postgres, gunicorn, capsys, record_property
):
    upgrade(own_postgres.url)
    make_workspace(own_postgres.url)
    hub = gunicorn(own_postgres.url)
    session = requests.Session()
    answers: dict[str, int] = {}
    refused: list[dict] = []
    counter = iter(range(10**6))

    def send_one() -> int | None:
        i = next(counter)
        body = webchat_event(
            f"out-{i:05d}", f"v{i % 20}", f"message {i}", f"2026-05-04T09:{i // 60 % 60:02d}:{i % 60:02d}Z"
        )
        raw, headers = webchat_request(body)
        try:
            status = session.post(
                hub.base + "/webchat/events", data=raw, headers=headers, timeout=10
            ).status_code
        except requests.RequestException:
            status = None
        answers[body["event_id"]] = status
        if status != 200:
            refused.append(body)
        return status

    for _ in range(100):
        send_one()
    own_postgres.stop()
    down_until = time.monotonic() + DOWN_FOR
    during = []
    while time.monotonic() < down_until:
        during.append(send_one())
        time.sleep(0.05)
    own_postgres.start()
    for _ in range(100):
        send_one()
    retried = len(refused)
    for _ in range(10):
        pending = []
        for body in refused:
            raw, headers = webchat_request(body)
            if (
                session.post(hub.base + "/webchat/events", data=raw, headers=headers, timeout=10).status_code
                != 200
            ):
                pending.append(body)
        refused = pending
        if not refused:
            break
        time.sleep(0.5)

    stored = outcome(own_postgres.url)["messages"]
    ids = [m[3] for m in stored]
    figures = (
        f"\n[outage] events sent={len(answers)} during outage={len(during)} "
        f"503={during.count(503)} retried={retried} stored={len(stored)} lost={len(set(answers) - set(ids))}"
    )
    record_property("figures", figures.strip())
    with capsys.disabled():
        print(figures)
    assert during and set(during) == {503}, f"answers while down: {set(during)}"
    assert not refused
    assert len(ids) == len(set(ids)) == len(answers)
    assert set(ids) == set(answers)
