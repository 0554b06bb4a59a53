"""`statushub worker` and `statushub workspace admins`: the commands over a real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import select

from plugin.cli.admins_cli import admins_group
from plugin.cli.worker_cli import worker_command
from plugin.customers.naming import add_customer
from plugin.domain.clock import utcnow
from plugin.engine import assign_status
from plugin.store.db import reading, transaction
from plugin.store.schema import OutboxItem
from plugin.workspace.intents import classifier_for

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

API = "http://slack.test/api/"


def env(db_url: str) -> dict:
    return {"STATUSHUB_DATABASE_URL": db_url, "SLACK_API_URL": API, "SLACK_SIGNING_SECRET": "s"}


def test_worker_once_sends_what_is_due_and_exits_0(db_url, engine, catalog):
    with transaction(engine) as conn:
        cid = add_customer(conn, catalog, "Jane", [], "US", utcnow())
        status = catalog.status("attention", "do_not_serve")
        assign_status(
            conn, catalog, cid, status, actor="cli", note="abusive", classify=classifier_for(conn, catalog)
        )
    with responses.RequestsMock() as slack:
        slack.add("POST", API + "chat.postMessage", json={"ok": True})
        result = CliRunner().invoke(worker_command, ["--once"], env=env(db_url))
        assert result.exit_code == 0, result.output
        assert "sent 1" in result.output
        assert json.loads(slack.calls[0].request.body)["text"] == "⛔ Do Not Serve: Jane (#1)"
    with reading(engine) as conn:
        assert conn.execute(select(OutboxItem.sent_at)).scalar_one() is not None
    again = CliRunner().invoke(worker_command, ["--once"], env=env(db_url))
    assert "sent 0" in again.output


def test_worker_stops_on_sigterm_and_exits_0(db_url, engine, workspace):
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from plugin.cli.worker_cli import worker_command; worker_command(['--poll', '0.2'])",
        ],
        cwd=root,
        env={**os.environ, **env(db_url)},
        stderr=subprocess.PIPE,
        text=True,
    )
    while "worker running" not in proc.stderr.readline():
        assert proc.poll() is None, "the worker exited before running"
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_admins_are_added_listed_and_removed(db_url, workspace):
    runner = CliRunner()
    assert runner.invoke(admins_group, ["add", "acme", "U0BOSS"], env=env(db_url)).exit_code == 0
    listed = runner.invoke(admins_group, ["list", "acme", "--json"], env=env(db_url))
    assert json.loads(listed.output) == {"workspace": "acme", "admins": ["U0BOSS"]}
    assert runner.invoke(admins_group, ["remove", "acme", "U0BOSS"], env=env(db_url)).exit_code == 0
    assert runner.invoke(admins_group, ["list", "acme"], env=env(db_url)).output == ""


def test_admin_mistakes_exit_1_with_a_reason(db_url, workspace):
    runner = CliRunner()
    bad = runner.invoke(admins_group, ["add", "acme", "bob"], env=env(db_url))
    assert bad.exit_code == 1 and "is not a Slack user id" in bad.output
    missing = runner.invoke(admins_group, ["remove", "acme", "U0NOBODY"], env=env(db_url))
    assert missing.exit_code == 1 and "is not an admin" in missing.output
    unknown = runner.invoke(admins_group, ["list", "nope"], env=env(db_url))
    assert unknown.exit_code == 1 and "no workspace 'nope'" in unknown.output
