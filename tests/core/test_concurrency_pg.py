"""Eight processes writing to the same customers at once on PostgreSQL (SPEC §8, Issue 2)."""

from __future__ import annotations

import multiprocessing
import random
import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from plugin.store.db import make_engine, transaction
from plugin.store.schema import Message, StatusChange
from tests.conftest import at

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

PROCESSES, CUSTOMERS, MESSAGES = 8, 20, 240
TEXTS = ["hello", "what are your payment options", "how much is it", "ok thanks", "not interested"]


def identity(i: int) -> str:
    return f"sms:+1555100{i:04d}"


def work(url: str, ws: int, share: list[tuple]) -> None:
    """One process: its share of the deliveries, each in its own transaction, retried on conflicts."""
    from plugin.domain.events import MessageEvent
    from plugin.engine import assign_status
    from plugin.engine.inbox import receive
    from plugin.workspace.catalog import load_catalog
    from plugin.workspace.intents import classifier_for

    engine = make_engine(url)
    for item in share:
        for attempt in range(20):
            try:
                with transaction(engine) as conn:
                    if item[0] == "msg":
                        _, c, minute, text, direction, pid = item
                        sender = "customer" if direction == "inbound" else "agent"
                        event = MessageEvent(ws, "sms", identity(c), direction, sender, text, pid, at(minute))
                        receive(conn, ws, [event, event], now=at(59))  # delivered twice in one go
                    else:
                        _, cid, key, minute = item
                        catalog = load_catalog(conn, ws)
                        assign_status(
                            conn,
                            catalog,
                            cid,
                            catalog.status("stage", key),
                            actor="U0AGENT",
                            classify=classifier_for(conn, catalog),
                            now=at(minute),
                        )
                break
            except DBAPIError as error:  # deadlock / serialization failure: retry the unit of work
                if attempt == 19 or "deadlock" not in str(error).lower() and "serializ" not in str(error):
                    raise
                time.sleep(0.01 * attempt)
    engine.dispose()


@pytest.mark.slow
def test_eight_processes_store_each_message_once_and_agree_with_the_audit(engine, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("several processes share one database on PostgreSQL (SPEC §8)")
    from plugin.customers.naming import add_customer
    from plugin.engine import load_states
    from plugin.workspace.catalog import load_catalog
    from plugin.workspace.workspaces import create_workspace

    with transaction(engine) as conn:
        ws = create_workspace(conn, "busy", now=at(0))
        catalog = load_catalog(conn, ws)
        ids = [add_customer(conn, catalog, f"C{i}", [identity(i)], "US", at(0)) for i in range(CUSTOMERS)]
    rng = random.Random(2026)
    items: list[tuple] = [
        (
            "msg",
            i % CUSTOMERS,
            rng.randint(1, 58),
            rng.choice(TEXTS),
            rng.choice(["inbound", "outbound"]),
            f"SM{i}",
        )
        for i in range(MESSAGES)
    ]
    items += [("msg", *m[1:]) for m in rng.sample(items, 40)]  # redeliveries from other processes
    items += [
        ("cmd", rng.choice(ids), rng.choice(["cold_lead", "hot_lead", "greeting"]), 59) for _ in range(20)
    ]
    rng.shuffle(items)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=work, args=(db_url, ws, items[p::PROCESSES])) for p in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    with transaction(engine) as conn:
        catalog = load_catalog(conn, ws)
        stored = conn.execute(
            select(Message.provider_id, Message.customer_id, Message.direction, Message.provider_at)
            .where(Message.workspace_id == ws)
            .order_by(Message.provider_at, Message.channel, Message.provider_id)
        ).all()
        states = load_states(conn, catalog, ids, lock=False)
        entries = conn.execute(
            select(StatusChange).where(StatusChange.workspace_id == ws).order_by(StatusChange.id)
        ).all()
    assert sorted(r.provider_id for r in stored) == sorted(f"SM{i}" for i in range(MESSAGES))
    latest = {}
    for r in stored:
        latest[r.customer_id] = r.direction
    for cid in ids:
        expected = {"inbound": "in_progress", "outbound": "no_reply", None: "new"}[latest.get(cid)]
        assert states[cid].keys()["reply"] == expected, cid
        for track, key in states[cid].keys().items():
            applied = [e for e in entries if e.customer_id == cid and e.track == track and e.applied]
            assert (applied[-1].to_status if applied else catalog.tracks[track].first.key) == key, (
                cid,
                track,
            )
