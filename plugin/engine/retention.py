"""Retention: deleting a batch of old messages while keeping what they decided (SPEC §8).

Each customer whose messages are pruned keeps a checkpoint: their state folded from every message
and command before `upto`, exactly as a replay folds them (the same fold, the same classifier). The
audit log, statuses and commands are never touched, so the customer keeps their statuses and history
of changes, and a later replay starts from the checkpoint instead of the deleted messages.

A batch is one short transaction: it locks its customers as the write path does (a message arriving
for one of them waits, then folds onto the pruned history), folds, writes the checkpoints and deletes
at most `budget` messages.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, delete, func, insert, select, update

from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.domain.fold import Classifier, CommandIn, fold
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


class PrunedBatch(NamedTuple):
    messages: int
    after: int | None  # the customer id to continue after; None: nothing older is left


def prune_batch(
    conn: Connection,
    catalog: Catalog,
    classify: Classifier,
    cutoff: datetime,
    now: datetime,
    *,
    after: int = 0,
    customers: int = 50,
    budget: int = 1000,
) -> PrunedBatch:
    """Deletes the messages older than `cutoff` of up to `customers` customers (ids above `after`), at
    most `budget` messages, checkpointing each customer first."""
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
        return PrunedBatch(0, None)
    currents = load_states(conn, catalog, ids, lock=True)
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
    checkpoints = load_checkpoints(conn, ws, ids)
    starts = starting_states(conn, catalog, {cid: currents[cid] for cid in ids if cid in currents})
    commands = _commands(conn, ws, ids, checkpoints, upto)
    for cid in ids:
        if cid not in currents or not by_customer[cid]:
            continue
        state = fold(starts[cid], by_customer[cid] + commands[cid], catalog, classify, replay=True).state
        values = {"upto": upto[cid], "state": encode_state(state), "updated_at": now}
        if cid in checkpoints:
            pruned = checkpoints[cid].pruned + len(by_customer[cid])
            conn.execute(
                update(CP)
                .where(CP.c.workspace_id == ws, CP.c.customer_id == cid)
                .values(pruned=pruned, **values)
            )
        else:
            conn.execute(
                insert(CP).values(workspace_id=ws, customer_id=cid, pruned=len(by_customer[cid]), **values)
            )
    gone = [r.id for r in rows]
    conn.execute(delete(M).where(M.c.workspace_id == ws, M.c.id.in_(gone)))
    return PrunedBatch(len(gone), next_after)


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
