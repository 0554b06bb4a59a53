"""Sixteen senders delivering the same timestamped web chat events in different orders, with duplicates,
leave exactly what one serial run in time order leaves (SPEC §3 provider time, §5 duplicates, §8).

Through the Flask app in 16 forked processes, each with its own engine and connection pool, rather than
through gunicorn: 2,000 events delivered ~4,000 times over loopback HTTP on 2 cores does not fit the
folder's 3-minute budget, and the database (the only shared state) sees the same concurrency.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from plugin.app import create_app
from tests.reliability.conftest import TEXTS, make_workspace, outcome, pg_only, webchat_event, webchat_request

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

EVENTS = 2000
VISITORS = 50
SENDERS = 16
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def events() -> list[dict]:
    """40 messages per visitor, a minute apart: customer texts, bot and agent answers between them."""
    out = []
    for i in range(EVENTS):
        visitor, n = i % VISITORS, i // VISITORS
        at = (START + timedelta(minutes=n, seconds=visitor)).isoformat().replace("+00:00", "Z")
        kind = n % 4
        extra = {} if kind < 2 else {"direction": "outbound", "sender": "bot" if kind == 2 else "agent"}
        out.append(
            webchat_event(
                f"ev-{i:05d}", f"v{visitor:02d}", TEXTS[(n * 7 + visitor) % len(TEXTS)], at, **extra
            )
        )
    return out


def send(args) -> tuple[int, int]:
    """One sender: its own app and engine; answers other than 200 are retried until acknowledged."""
    url, batch = args
    client = create_app({"DATABASE_URL": url}).test_client()
    sent = retried = 0
    for body in batch:
        for _ in range(5):
            raw, headers = webchat_request(body)
            sent += 1
            if client.post("/webchat/events", data=raw, headers=headers).status_code == 200:
                break
            retried += 1
    return sent, retried


@pytest.mark.slow
def test_concurrent_out_of_order_duplicate_deliveries_match_one_serial_run(
    db_url, fresh_pg, capsys, record_property
):
    pg_only(db_url)
    make_workspace(db_url)
    stream = events()
    rng = random.Random(8)
    batches: list[list[dict]] = [[] for _ in range(SENDERS)]
    for body in stream:
        for sender in rng.sample(range(SENDERS), rng.randint(1, 3)):
            batches[sender].append(body)
    for batch in batches:
        rng.shuffle(batch)

    # The serial run first: the senders, forked after it, inherit its loaded rules and model.
    serial_url = fresh_pg()
    make_workspace(serial_url)
    client = create_app({"DATABASE_URL": serial_url}).test_client()
    for body in sorted(stream, key=lambda b: b["timestamp"]):
        raw, headers = webchat_request(body)
        assert client.post("/webchat/events", data=raw, headers=headers).status_code == 200
    client.application.extensions["statushub"].engine.dispose()  # no pooled connection forks with them

    began = time.monotonic()
    with multiprocessing.get_context("fork").Pool(SENDERS) as pool:
        results = pool.map(send, [(db_url, b) for b in batches])
    took = time.monotonic() - began

    concurrent, serial = outcome(db_url), outcome(serial_url)
    deliveries = sum(s for s, _ in results)
    figures = (
        f"\n[concurrency] events={EVENTS} senders={SENDERS} deliveries={deliveries} "
        f"retried={sum(r for _, r in results)} stored={len(concurrent['messages'])} "
        f"customers={concurrent['customers']} in {took:.1f} s"
    )
    record_property("figures", figures.strip())
    with capsys.disabled():
        print(figures)
    assert len(concurrent["messages"]) == EVENTS
    assert concurrent["customers"] == serial["customers"] == VISITORS
    assert concurrent["messages"] == serial["messages"]
    assert concurrent["statuses"] == serial["statuses"]
    assert len({status for _, _, status in serial["statuses"]}) > 2, "the stream must move statuses"
