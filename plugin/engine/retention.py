"""Retention: deleting a batch of old messages while keeping what they decided (SPEC §8).

Each customer whose messages are pruned keeps a checkpoint: their state folded from every message
and command before `upto`, exactly as a replay folds them (the same fold, the same classifier). The
audit log, statuses and commands are never touched, so the customer keeps their statuses and history
of changes, and a later replay starts from the checkpoint instead of the deleted messages.

A batch reads and folds at most `budget` messages without taking any lock (`plan_batch`), then
writes in one short transaction (`apply_batch`) that locks no customer: it checks that nothing it
folded changed meanwhile, writes the checkpoints and deletes the messages. Webhooks never wait for a
prune; a replay sees a batch whole or not at all (bench/retention.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.domain.fold import Classifier, CommandIn, State, fold
from plugin.engine.customer_state import load_states
from plugin.engine.replay import (
    CP,
    MESSAGE_COLUMNS,
    encode_state,
    load_checkpoints,
    message_in,
    starting_states,
)
from plugin.store.schema import Message, StatusCommand, table_of

M, CMD = table_of(Message), table_of(StatusCommand)
TICK = timedelta(microseconds=1)


class Plan(NamedTuple):
    """A batch folded outside any lock: per customer, the old messages it deletes, the checkpoint it
    writes (upto, state) and the checkpoint it read (its upto and pruned count, or None)."""

    messages: dict[int, list[int]]
    checkpoints: dict[int, tuple[datetime, State]]
    read: dict[int, tuple[datetime, int] | None]
    after: int | None


def plan_batch(
    conn: Connection,
    catalog: Catalog,
    classify: Classifier,
    cutoff: datetime,
    *,
    after: int = 0,
    customers: int = 50,
    budget: int = 1000,
) -> Plan:
    """Reads and folds the messages older than `cutoff` of up to `customers` customers (ids above
    `after`), at most `budget` messages, taking no lock: the fold is the slow part."""
    ws = catalog.workspace_id
    ids = list(
        conn.execute(
            select(M.c.customer_id)
            .where(M.c.workspace_id == ws, M.c.customer_id > after, M.c.provider_at < cutoff)
            .group_by(M.c.customer_id)
            .order_by(M.c.customer_id)
            .limit(customers)
        ).scalars()
    )
    if not ids:
        return Plan({}, {}, {}, None)
    rows = conn.execute(
        select(*MESSAGE_COLUMNS)
        .where(M.c.workspace_id == ws, M.c.customer_id.in_(ids), M.c.provider_at < cutoff)
        .order_by(M.c.customer_id, M.c.provider_at, M.c.id)
        .limit(budget + 1)
    ).all()
    upto = dict.fromkeys(ids, cutoff)
    next_after = ids[-1]
    if len(rows) > budget:
        # The budget ends inside one customer's old messages: prune theirs up to a time wholly read
        # (a checkpoint covers every event before its time), and come back for the rest.
        rows = rows[:budget]
        last = rows[-1].customer_id
        ids = ids[: ids.index(last) + 1]
        newest = aware(rows[-1].provider_at)
        older = [r for r in rows if r.customer_id != last or aware(r.provider_at) < newest]
        if any(r.customer_id == last for r in older):
            rows, upto[last] = older, newest
        else:  # every message read has one time: take all of that time
            rows = [r for r in rows if r.customer_id != last] + _messages_at(conn, ws, last, newest)
            upto[last] = newest + TICK
        next_after = last - 1
    by_customer: dict[int, list] = defaultdict(list)
    for r in rows:
        by_customer[r.customer_id].append(message_in(r))
    currents = load_states(conn, catalog, ids, lock=False)
    checkpoints = load_checkpoints(conn, ws, ids)
    starts = starting_states(conn, catalog, {cid: currents[cid] for cid in ids if cid in currents})
    commands = _commands(conn, ws, ids, checkpoints, upto)
    plan = Plan({}, {}, {}, next_after)
    for cid in ids:
        if cid not in currents or not by_customer[cid]:
            continue
        events = by_customer[cid] + commands[cid]
        state = fold(starts[cid], events, catalog, classify, replay=True, kept=currents[cid].keys()).state
        plan.messages[cid] = [m.message_id for m in by_customer[cid]]
        plan.checkpoints[cid] = (upto[cid], state)
        cp = checkpoints.get(cid)
        plan.read[cid] = (cp.upto, cp.pruned) if cp else None
    return plan


def apply_batch(conn: Connection, catalog: Catalog, plan: Plan, now: datetime) -> int:
    """Writes a planned batch in a short transaction: keeps only the customers whose old messages and
    checkpoint are still what the plan read (a late message older than the cutoff, or another prune,
    leaves a customer to the next run), writes their checkpoints and deletes their messages. Returns
    how many messages it deleted."""
    ws = catalog.workspace_id
    ids = sorted(plan.messages)
    if not ids:
        return 0
    # No customer row is locked: a webhook never waits for a prune. A replay reads a customer's
    # messages before their checkpoint (replay.load_replay), so it sees this batch whole or not at
    # all. Checkpoint rows are locked against another prune of the same customers.
    conn.execute(
        select(CP.c.customer_id)
        .where(CP.c.workspace_id == ws, CP.c.customer_id.in_(ids))
        .order_by(CP.c.customer_id)
        .with_for_update()
    ).all()
    still: dict[int, set[int]] = defaultdict(set)
    for cid, mid, at in conn.execute(
        select(M.c.customer_id, M.c.id, M.c.provider_at).where(
            M.c.workspace_id == ws,
            M.c.customer_id.in_(ids),
            M.c.provider_at < max(u for u, _ in plan.checkpoints.values()),
        )
    ):
        if aware(at) < plan.checkpoints[cid][0]:
            still[cid].add(mid)
    read = {cid: (cp.upto, cp.pruned) for cid, cp in load_checkpoints(conn, ws, ids).items()}
    kept = [cid for cid in ids if still[cid] == set(plan.messages[cid]) and read.get(cid) == plan.read[cid]]
    fresh: list[dict] = []
    known: list[dict] = []
    for cid in kept:
        upto, state = plan.checkpoints[cid]
        before = plan.read[cid]
        row = {"w": ws, "c": cid, "upto": upto, "state": encode_state(state), "updated_at": now,
               "pruned": (before[1] if before else 0) + len(plan.messages[cid])}  # fmt: skip
        (known if before else fresh).append(row)
    if fresh:
        conn.execute(
            insert(CP).values(
                workspace_id=bindparam("w"),
                customer_id=bindparam("c"),
                upto=bindparam("upto"),
                state=bindparam("state"),
                updated_at=bindparam("updated_at"),
                pruned=bindparam("pruned"),
            ),  # fmt: skip
            fresh,
        )
    if known:
        conn.execute(
            update(CP)
            .where(CP.c.workspace_id == bindparam("w"), CP.c.customer_id == bindparam("c"))
            .values(
                upto=bindparam("upto"),
                state=bindparam("state"),
                updated_at=bindparam("updated_at"),
                pruned=bindparam("pruned"),
            ),  # fmt: skip
            known,
        )
    gone = [mid for cid in kept for mid in plan.messages[cid]]
    if gone:
        conn.execute(delete(M).where(M.c.workspace_id == ws, M.c.id.in_(gone)))
    return len(gone)


def _messages_at(conn: Connection, ws: int, customer_id: int, at: datetime) -> list:
    return list(
        conn.execute(
            select(*MESSAGE_COLUMNS).where(
                M.c.workspace_id == ws, M.c.customer_id == customer_id, M.c.provider_at == at
            )
        )
    )


def _commands(conn: Connection, ws: int, ids: list[int], checkpoints: dict, upto: dict) -> dict[int, list]:
    """Each customer's commands from their current checkpoint (if any) to their new one."""
    found: dict[int, list] = defaultdict(list)
    rows = conn.execute(
        select(CMD).where(CMD.c.workspace_id == ws, CMD.c.customer_id.in_(ids), CMD.c.at < max(upto.values()))
    )
    for r in rows:
        at = aware(r.at)
        since = checkpoints[r.customer_id].upto if r.customer_id in checkpoints else None
        if at < upto[r.customer_id] and (since is None or at >= since):
            found[r.customer_id].append(
                CommandIn(at, r.id, r.kind, r.track, r.status, r.source, r.actor, r.note)
            )
    return found


def count_prunable(conn: Connection, workspace_id: int, cutoff: datetime) -> int:
    """How many messages of the workspace are older than `cutoff` (what a prune would delete)."""
    return conn.execute(
        select(func.count()).select_from(M).where(M.c.workspace_id == workspace_id, M.c.provider_at < cutoff)
    ).scalar_one()
