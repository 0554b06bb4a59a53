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
from plugin.domain.clock import aware, utcnow
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
    with reading(engine) as conn:  # sent: it leaves the outbox
        assert conn.execute(select(OutboxItem.id)).all() == []
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


def test_one_poisoned_item_failing_receiver_and_broken_rule_never_stop_another_workspace(
    db_url, engine, workspace
):
    """Workspace "poisoned" has an outbox item its sender cannot read, a webhook receiver answering 500
    and a time rule stored with an impossible duration; one `worker --once` still delivers every item
    of workspace acme and fires its time rule, and records the other's failures (SPEC §12)."""
    from datetime import timedelta

    from sqlalchemy import insert, update

    from plugin.automation.time_rules import add_rule
    from plugin.automation.webhooks import subscribe
    from plugin.domain.events import MessageEvent
    from plugin.engine.inbox import receive
    from plugin.store.schema import StatusChange, TimeRule
    from plugin.workspace.catalog import load_catalog
    from plugin.workspace.workspaces import create_workspace
    from tests.core.test_webhooks import Receiver

    now = utcnow()
    good, failing = Receiver(status=204), Receiver(status=500)
    try:
        with transaction(engine) as conn:
            bad_ws = create_workspace(conn, "poisoned", name="Poisoned", now=now)
            bad_catalog = load_catalog(conn, bad_ws)
            good_catalog = load_catalog(conn, workspace)
            subscribe(
                conn, good_catalog, good.url + "/hook", track=None, status=None, now=now, allow_private=True
            )
            bad_sub, _secret = subscribe(
                conn, bad_catalog, failing.url + "/hook", track=None, status=None, now=now, allow_private=True
            )
            add_rule(conn, bad_catalog, "broken", ["stage:greeting"], "15m", "stage:cold_lead", now)
            conn.execute(
                update(TimeRule)
                .where(TimeRule.workspace_id == bad_ws, TimeRule.name == "broken")
                .values(after_minutes=740000 * 1440)
            )
            poisoned = conn.execute(
                insert(OutboxItem)
                .values(
                    workspace_id=bad_ws,
                    kind="webhook",
                    customer_id=None,
                    payload={"subscription": bad_sub},
                    due_at=now,
                    attempts=0,
                    last_error="",
                    created_at=now,
                )  # fmt: skip
                .returning(OutboxItem.id)
            ).scalar_one()
        # acme: a customer greeted 49 h ago (its default rule turns them cold) and a manual change.
        greeted_at = now - timedelta(hours=49)
        with transaction(engine) as conn:
            greeted = receive(
                conn,
                workspace,
                [
                    MessageEvent(
                        workspace, "sms", "sms:+15551230001", "outbound", "bot", "hello", "SM1", greeted_at
                    )
                ],
                now=greeted_at,
            )[0].customer_id
        for catalog in (good_catalog, bad_catalog):
            with transaction(engine) as conn:
                cid = add_customer(conn, catalog, "Jane", [], "US", now)
                assign_status(conn, catalog, cid, catalog.status("stage", "hot_lead"), actor="cli",
                              classify=classifier_for(conn, catalog), now=now)  # fmt: skip

        result = CliRunner().invoke(
            worker_command, ["--once"], env={**env(db_url), "STATUSHUB_ALLOW_PRIVATE_URLS": "1"}
        )
        assert result.exit_code == 0, result.output
    finally:
        good.close()
        failing.close()

    # acme: its manual change and its time rule's change both reached its receiver.
    with reading(engine) as conn:
        fired = conn.execute(
            select(StatusChange.to_status).where(
                StatusChange.customer_id == greeted, StatusChange.source.like("time:%")
            )
        ).all()
        assert [r.to_status for r in fired] == ["cold_lead"]
        items = conn.execute(select(OutboxItem).where(OutboxItem.kind == "webhook")).all()
    # acme: the greeting, the manual change and the time rule's change all reached its receiver, and
    # left the outbox.
    assert [i for i in items if i.workspace_id == workspace] == []
    delivered = [json.loads(body) for body in good.bodies]
    assert len(good.paths) == len(delivered) == 3
    assert {d["source"] for d in delivered} == {"reply", "manual", "time:greeting_unanswered"}
    # poisoned: its receiver was called and failed, its unreadable item failed; both recorded, none sent.
    assert failing.paths == ["/hook"]
    failed = {i.id: i for i in items if i.workspace_id == bad_ws}
    assert len(failed) == 2
    for item in failed.values():
        assert item.sent_at is None and item.attempts == 1 and item.last_error
        assert item.dead_at is not None or aware(item.due_at) > now
    assert failed[poisoned].last_error.startswith("KeyError")
    assert any(i.last_error == "DeliveryFailed: receiver answered 500" for i in failed.values())
