"""The outbox: alerts survive Slack outages and crashed workers, are sent once, never twice."""

from __future__ import annotations

import functools
import json
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from adapters.slack.alerts import send_alert
from plugin.automation.outbox import LEASE, Counts, backoff, claim, deliver, run_due
from plugin.customers.naming import add_customer
from plugin.engine import assign_status
from plugin.store.db import make_engine, reading, transaction
from plugin.store.schema import OutboxItem
from plugin.workspace.intents import classifier_for
from tests.conftest import at

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

API = "http://slack.test/api/"
POST = API + "chat.postMessage"


@pytest.fixture
def senders():
    return {"alert": functools.partial(send_alert, api_url=API)}


def make_hot(engine, catalog, name: str, when) -> int:
    with transaction(engine) as conn:
        cid = add_customer(conn, catalog, name, [], "US", when)
        assign_status(conn, catalog, cid, catalog.status("stage", "hot_lead"), actor="slack:T/U1",
                      classify=classifier_for(conn, catalog), now=when)  # fmt: skip
    return cid


def outbox(engine):
    with reading(engine) as conn:
        return conn.execute(select(OutboxItem).order_by(OutboxItem.id)).all()


def test_back_off_starts_within_10_seconds_doubles_and_caps_at_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30) == timedelta(hours=1)


def test_an_alert_survives_three_slack_failures_and_is_sent_once(engine, catalog, senders):
    make_hot(engine, catalog, "Jane <!here>", at(0))
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, status=503)
        slack.add("POST", POST, json={"ok": False, "error": "ratelimited"})
        slack.add("POST", POST, body=ConnectionError("down"))
        slack.add("POST", POST, json={"ok": True})
        now = at(0)
        for _ in range(3):
            assert run_due(engine, senders, now=now).retried == 1
            assert run_due(engine, senders, now=now).retried == 0  # not due again before its back-off
            now = now + timedelta(hours=1)
        assert run_due(engine, senders, now=now).sent == 1
        assert run_due(engine, senders, now=now + timedelta(days=1)).sent == 0
        assert len(slack.calls) == 4
        sent = json.loads(slack.calls[3].request.body)
        assert slack.calls[3].request.headers["Authorization"] == "Bearer xoxb-test-token"
    assert sent["channel"] == "C0ALERTS" and sent["text"] == "🔥 Hot Lead: Jane &lt;!here&gt; (#1)"
    assert outbox(engine) == []  # sent: it leaves the outbox


def test_a_worker_killed_mid_run_loses_nothing_and_sent_alerts_are_not_sent_again(engine, catalog, senders):
    for n in range(3):
        make_hot(engine, catalog, f"C{n}", at(0))
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, json={"ok": True})
        counts = Counts()
        first = claim(engine, ["alert"], at(1))
        deliver(engine, first[0], senders["alert"], at(1), counts)  # sent and marked
        claim(engine, ["alert"], at(1))  # the worker "crashes" holding this one, unsent
        assert run_due(engine, senders, now=at(1)).sent == 1  # the third; the crashed one is leased
        assert run_due(engine, senders, now=at(1) + LEASE).sent == 1  # lease over: retried
        assert len(slack.calls) == 3
    assert outbox(engine) == []  # all three sent, none left to send again


def test_an_alert_for_a_workspace_without_an_alert_channel_is_dead_lettered(engine, catalog, senders):
    from plugin.store.schema import Workspace

    with transaction(engine) as conn:
        conn.execute(Workspace.__table__.update().values(alert_channel=None))
    make_hot(engine, catalog, "Jane", at(0))
    assert run_due(engine, senders, now=at(0)).dead == 1
    assert outbox(engine)[0].dead_at is not None


def test_an_alert_still_failing_after_24_hours_is_dead_lettered(engine, catalog, senders):
    make_hot(engine, catalog, "Jane", at(0))
    with responses.RequestsMock() as slack:
        slack.add("POST", POST, status=500)
        assert run_due(engine, senders, now=at(0) + timedelta(hours=24)).dead == 1
    (item,) = outbox(engine)
    assert item.dead_at is not None and item.sent_at is None and "HTTP 500" in item.last_error


def test_two_workers_claiming_at_once_get_disjoint_items(db_url, engine, catalog):
    if not db_url.startswith("postgresql"):
        pytest.skip("on SQLite one worker runs (SPEC §9)")
    for n in range(6):
        make_hot(engine, catalog, f"C{n}", at(0))
    other = make_engine(db_url)
    try:
        with transaction(engine) as held:
            # Worker A holds its claim's row locks open while worker B claims.
            from plugin.store.db import is_postgres

            assert is_postgres(held)
            rows = (
                held.execute(
                    select(OutboxItem.id).order_by(OutboxItem.id).limit(3).with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            taken_by_b = [job.id for job in claim(other, ["alert"], at(1), limit=10)]
        assert set(rows).isdisjoint(taken_by_b) and len(taken_by_b) == 3
        taken_by_a = [job.id for job in claim(engine, ["alert"], at(1), limit=10)]
        assert sorted(taken_by_a + taken_by_b) == [item.id for item in outbox(engine)]
    finally:
        other.dispose()
