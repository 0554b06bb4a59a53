"""Batched outbox claims (SPEC §8): a campaign drains in few transactions, each item once, in order per
customer and subscription, and a crashed or stopped worker's batch is picked up again."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select

from plugin.automation.outbox import LEASE, Job, claim, run_due
from plugin.customers.naming import add_customer
from plugin.store.db import make_engine, reading, transaction
from plugin.store.schema import OutboxItem
from tests.conftest import at

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)


def customers(engine, catalog, n: int) -> list[int]:
    with transaction(engine) as conn:
        return [add_customer(conn, catalog, f"C{i}", [], "US", at(0)) for i in range(n)]


def queue(engine, workspace_id: int, items: list[tuple[int | None, int | None]], kind: str = "probe") -> None:
    """Outbox items (customer, subscription) due at minute 0, as the engine writes them: no lane given."""
    rows = [
        {"workspace_id": workspace_id, "kind": kind, "customer_id": cid,
         "payload": {"subscription": sub} if sub is not None else {"n": n},
         "due_at": at(0), "attempts": 0, "last_error": "", "created_at": at(0)}
        for n, (cid, sub) in enumerate(items)
    ]  # fmt: skip
    with transaction(engine) as conn:
        conn.execute(insert(OutboxItem), rows)


def items(engine):
    with reading(engine) as conn:
        return conn.execute(select(OutboxItem).order_by(OutboxItem.id)).all()


def count_units_of_work(engine) -> list[str]:
    """A connection taken from the pool per unit of work: a transaction, or on PostgreSQL a single
    statement in autocommit (a claim, a batch's completion), which commits by itself."""
    seen: list[str] = []
    event.listen(engine.pool, "checkout", lambda *_args: seen.append("unit of work"))
    return seen


def test_a_campaign_of_120_items_is_claimed_and_completed_a_batch_at_a_time(engine, catalog):
    queue(engine, catalog.workspace_id, [(None, None)] * 120)
    queued = [i.id for i in items(engine)]
    sent: list[int] = []
    units = count_units_of_work(engine)
    counts = run_due(engine, {"probe": lambda _e, job: sent.append(job.id)}, now=at(1), batch=50)
    units = list(units)
    assert counts.sent == 120 and sorted(sent) == queued and len(set(sent)) == 120
    # 3 batches: a claim and a completion each, then one claim that finds nothing.
    assert len(units) == 7
    assert items(engine) == []  # a sent item leaves the outbox


def test_every_item_gets_its_lane_per_customer_and_subscription(engine, catalog):
    a, b = customers(engine, catalog, 2)
    queue(engine, catalog.workspace_id, [(a, 7), (a, None), (b, 7), (None, None)], kind="webhook")
    assert [i.lane for i in items(engine)] == [f"webhook:{a}:7", f"webhook:{a}", f"webhook:{b}:7", None]


def test_a_later_item_of_a_lane_is_not_claimed_while_an_earlier_one_is_pending(engine, catalog):
    a, b = customers(engine, catalog, 2)
    queue(engine, catalog.workspace_id, [(a, 1), (a, 1), (a, 2), (b, 1), (a, 1)], kind="webhook")
    first, second, other_sub, other_customer, third = (i.id for i in items(engine))
    taken = [job.id for job in claim(engine, ["webhook"], at(1), limit=10)]
    assert taken == [first, other_sub, other_customer]  # one item per lane, the oldest
    # Leased but not done: the lane stays blocked, even after the lease runs out (it is retried first).
    assert claim(engine, ["webhook"], at(1), limit=10) == []
    assert [j.id for j in claim(engine, ["webhook"], at(1) + LEASE, limit=10)] == taken


def test_a_failing_item_holds_back_its_lane_only(engine, catalog):
    a, b = customers(engine, catalog, 2)
    queue(engine, catalog.workspace_id, [(a, None), (a, None), (b, None)])
    first, second, other = (i.id for i in items(engine))
    sent: list[int] = []

    def sender(_engine, job: Job) -> None:
        if job.id == first and job.attempts == 0:
            raise ConnectionError("receiver down")
        sent.append(job.id)

    counts = run_due(engine, {"probe": sender}, now=at(1))
    assert (counts.sent, counts.retried, sent) == (1, 1, [other])
    counts = run_due(engine, {"probe": sender}, now=at(1) + timedelta(seconds=10))
    assert counts.sent == 2 and sent == [other, first, second]


def test_a_crashed_workers_batch_is_sent_by_another_after_its_lease(engine, catalog):
    queue(engine, catalog.workspace_id, [(None, None)] * 8)
    crashed = claim(engine, ["probe"], at(1), limit=5)  # claimed, then the worker dies
    sent: list[int] = []
    senders = {"probe": lambda _e, job: sent.append(job.id)}
    assert run_due(engine, senders, now=at(1)).sent == 3  # the crashed worker's five are leased
    assert run_due(engine, senders, now=at(1) + LEASE).sent == 5
    assert sorted(sent[3:]) == [j.id for j in crashed] and len(set(sent)) == 8


def test_a_stopped_worker_finishes_the_item_in_hand_and_hands_back_the_rest(engine, catalog):
    queue(engine, catalog.workspace_id, [(None, None)] * 6)
    sent: list[int] = []
    counts = run_due(
        engine, {"probe": lambda _e, job: sent.append(job.id)}, now=at(1), stop=lambda: len(sent) >= 2
    )
    queued = [i.id for i in items(engine)]
    assert counts.sent == 2 and len(queued) == 4  # the two sent are gone
    # The other four are due again at once, not after a lease.
    assert run_due(engine, {"probe": lambda _e, job: sent.append(job.id)}, now=at(1)).sent == 4
    assert sorted(sent[2:]) == queued and items(engine) == []


def test_a_batch_slower_than_half_its_lease_records_what_is_done_and_keeps_the_rest(engine, catalog):
    queue(engine, catalog.workspace_id, [(None, None)] * 4)
    lease = timedelta(milliseconds=200)
    clock_now = [at(1)]
    sent: list[int] = []

    left_when_sent: list[int] = []

    def slow(_engine, job: Job) -> None:
        left_when_sent.append(len(items(engine)))
        threading.Event().wait(0.06)  # two of these pass half the lease
        clock_now[0] += timedelta(milliseconds=60)
        sent.append(job.id)

    counts = run_due(engine, {"probe": slow}, clock=lambda: clock_now[0], batch=4, lease=lease)
    assert counts.sent == 4 and len(set(sent)) == 4 and items(engine) == []
    # Past half the lease (after two items here, sooner on a slow machine) what was sent is recorded,
    # gone from the outbox, before the rest is sent; the rest was renewed, not handed to another.
    assert left_when_sent[0] == 4 and left_when_sent[-1] < 4
    assert left_when_sent == sorted(left_when_sent, reverse=True)


def test_four_workers_send_each_item_once_in_order_per_lane(db_url, engine, catalog):
    if not db_url.startswith("postgresql"):
        pytest.skip("on SQLite one worker runs (SPEC §9)")
    people = customers(engine, catalog, 10)
    queue(engine, catalog.workspace_id, [(cid, sub) for _ in range(6) for cid in people for sub in (1, 2)])
    order: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()
    lane_of = {i.id: i.lane for i in items(engine)}

    def sender(_engine, job: Job) -> None:
        with lock:
            order[lane_of[job.id]].append(job.id)

    engines = [make_engine(db_url) for _ in range(4)]
    try:
        workers = [
            threading.Thread(target=run_due, args=(e, {"probe": sender}), kwargs={"now": at(1), "batch": 7})
            for e in engines
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        for e in engines:
            e.dispose()
    assert sum(map(len, order.values())) == 120 and len(order) == 20
    assert all(ids == sorted(set(ids)) for ids in order.values())  # once each, in order


def test_alerts_the_engine_queues_get_their_customers_lane(engine, catalog):
    from plugin.engine import assign_status
    from plugin.workspace.intents import classifier_for

    (cid,) = customers(engine, catalog, 1)
    with transaction(engine) as conn:
        assign_status(conn, catalog, cid, catalog.status("stage", "hot_lead"), actor="cli:ann",
                      classify=classifier_for(conn, catalog), now=at(1))  # fmt: skip
    assert [(i.kind, i.lane) for i in items(engine)] == [("alert", f"alert:{cid}")]
