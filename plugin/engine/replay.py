"""Replaying a customer's whole history in time order when an event arrives late, and auditing the result.

When retention pruned a customer's old messages (SPEC §8), the replay starts from their checkpoint:
the state folded from everything before it, kept when those messages were deleted. A fold is a left
fold in time order, so starting there and folding what came after ends where a replay of the whole
history would have. The time before a checkpoint is settled: a message older than it, arriving late,
is stored but folds into nothing (what it would have changed was decided by messages now deleted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, func, select

from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.domain.fold import CommandIn, Entry, MessageIn, State, initial_state
from plugin.store.schema import Message, RetentionCheckpoint, StatusChange, StatusCommand, table_of

M, SC, CMD = table_of(Message), table_of(StatusChange), table_of(StatusCommand)
CP = table_of(RetentionCheckpoint)


class Checkpoint(NamedTuple):
    """Every message and command of the customer before `upto` folded into `state`."""

    upto: datetime
    state: State
    pruned: int


def encode_state(state: State) -> dict:
    def iso(value: datetime | None) -> str | None:
        return aware(value).isoformat() if value is not None else None

    return {
        "statuses": {track: [key, iso(entered)] for track, (key, entered) in state.statuses.items()},
        "opted_out": state.opted_out,
        "last_inbound_at": iso(state.last_inbound_at),
        "last_outbound_at": iso(state.last_outbound_at),
        "waiting_since": iso(state.waiting_since),
    }


def decode_state(document: dict) -> State:
    def time(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return State(
        {track: (key, time(entered)) for track, (key, entered) in document["statuses"].items()},
        bool(document.get("opted_out")),
        time(document.get("last_inbound_at")),
        time(document.get("last_outbound_at")),
        time(document.get("waiting_since")),
    )


def load_checkpoints(
    conn: Connection, workspace_id: int, customer_ids: Sequence[int]
) -> dict[int, Checkpoint]:
    if not customer_ids:
        return {}
    rows = conn.execute(
        select(CP.c.customer_id, CP.c.upto, CP.c.state, CP.c.pruned).where(
            CP.c.workspace_id == workspace_id, CP.c.customer_id.in_(list(customer_ids))
        )
    )
    return {r.customer_id: Checkpoint(aware(r.upto), decode_state(r.state), r.pruned) for r in rows}


MESSAGE_COLUMNS = (
    M.c.customer_id,
    M.c.id,
    M.c.provider_at,
    M.c.channel,
    M.c.provider_id,
    M.c.direction,
    M.c.sender,
    M.c.text,
    M.c.opt,
)


def message_in(r) -> MessageIn:
    """A stored message row (`MESSAGE_COLUMNS`) as the fold takes it."""
    return MessageIn(
        aware(r.provider_at),
        f"{r.channel}:{r.provider_id}",
        r.id,
        r.channel,
        r.direction,
        r.sender,
        r.text,
        # The stored flag (the provider's or the keyword's; migration 0008 set it on older rows): a
        # WhatsApp STOP stored without one is not an opt-out (SPEC §11).
        r.opt,
    )


def load_history(conn: Connection, workspace_id: int, customer_id: int) -> list:
    """Every message and command of one customer, for a replay."""
    return load_histories(conn, workspace_id, [customer_id]).get(customer_id, [])


def load_histories(conn: Connection, workspace_id: int, customer_ids: Sequence[int]) -> dict[int, list]:
    """Every message and command of each customer since their retention checkpoint, if any (unordered:
    the fold sorts)."""
    return _histories(conn, workspace_id, customer_ids)[0]


def load_replay(
    conn: Connection, catalog: Catalog, customer_id: int, current: State
) -> tuple[State, list, datetime | None]:
    """What a replay of one customer folds: where it starts, their history since, and the time before
    which retention settled it (their checkpoint's; None when nothing was pruned). One read of the
    checkpoint serves all three, so a prune committing meanwhile can never make them disagree."""
    histories, checkpoints = _histories(conn, catalog.workspace_id, [customer_id])
    checkpoint = checkpoints.get(customer_id)
    if checkpoint is not None:
        return checkpoint.state, histories[customer_id], checkpoint.upto
    start = starting_states(conn, catalog, {customer_id: current}, checkpoints={})[customer_id]
    return start, histories[customer_id], None


def _histories(
    conn: Connection, workspace_id: int, customer_ids: Sequence[int]
) -> tuple[dict[int, list], dict[int, Checkpoint]]:
    histories: dict[int, list] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return histories, {}
    ids = list(customer_ids)
    # Messages before the checkpoint: a prune that commits in between leaves old messages that the
    # checkpoint's time then filters out; read the other way round, a replay could miss both.
    messages = conn.execute(
        select(*MESSAGE_COLUMNS).where(M.c.workspace_id == workspace_id, M.c.customer_id.in_(ids))
    ).all()
    checkpoints = load_checkpoints(conn, workspace_id, ids)
    # Events before a customer's checkpoint are folded into it (its messages are gone; one stored
    # since with an older time belongs to that settled past and folds into nothing).
    upto = {cid: cp.upto for cid, cp in checkpoints.items()}
    for r in messages:
        m = message_in(r)
        if r.customer_id not in upto or m.at >= upto[r.customer_id]:
            histories[r.customer_id].append(m)
    commands = conn.execute(select(CMD).where(CMD.c.workspace_id == workspace_id, CMD.c.customer_id.in_(ids)))
    for r in commands:
        at = aware(r.at)
        if r.customer_id in upto and at < upto[r.customer_id]:
            continue
        histories[r.customer_id].append(
            CommandIn(at, r.id, r.kind, r.track, r.status, r.source, r.actor, r.note)
        )
    return histories, checkpoints


def starting_state(conn: Connection, catalog: Catalog, customer_id: int, current: State) -> State:
    """Where the customer started, for a replay: the first audit entry's `from` on each track, or the
    current status on a track nothing ever moved. Not the catalog's first status: a reorder or an
    archived first status must not move anyone by itself."""
    return starting_states(conn, catalog, {customer_id: current})[customer_id]


def starting_states(
    conn: Connection,
    catalog: Catalog,
    currents: Mapping[int, State],
    *,
    checkpoints: Mapping[int, Checkpoint] | None = None,
) -> dict[int, State]:
    """`starting_state` of many customers in one statement; a customer retention pruned starts from
    their checkpoint (`checkpoints` when the caller read them)."""
    ws = catalog.workspace_id
    if checkpoints is None:
        checkpoints = load_checkpoints(conn, ws, list(currents))
    ids = [cid for cid in currents if cid not in checkpoints]
    first_ids = (
        select(func.min(SC.c.id))
        .where(SC.c.workspace_id == ws, SC.c.customer_id.in_(ids))
        .group_by(SC.c.customer_id, SC.c.track)
    )
    started: dict[int, dict[str, str | None]] = {cid: {} for cid in ids}
    rows = conn.execute(
        select(SC.c.customer_id, SC.c.track, SC.c.from_status).where(
            SC.c.workspace_id == ws, SC.c.id.in_(first_ids)
        )
    )
    for r in rows:
        started[r.customer_id][r.track] = r.from_status
    states = {cid: cp.state for cid, cp in checkpoints.items()}
    for cid, current in currents.items():
        if cid in checkpoints:
            continue
        state = initial_state(catalog)
        for track, (key, _) in current.statuses.items():
            state.statuses[track] = (started[cid].get(track) or key, None)
        states[cid] = state
    return states


def reconcile(before: State, after: State, replayed: list[Entry], late: list, now: datetime) -> list[Entry]:
    """Audit entries for a replay: the late events' own decisions as evaluated in their place in time
    (marked not applied when later events superseded them), then one entry per track whose status the
    replay changed, so the log's last applied entry per track is always the current status."""
    late_ids = {getattr(e, "message_id", None) for e in late} - {None}
    entries: list[Entry] = []
    for entry in replayed:
        if entry.message_id in late_ids:
            final = after.statuses[entry.track][0]
            if entry.applied and final != entry.to_status:
                entry = entry._replace(applied=False, reason="superseded: later events decided this track")
            if not entry.applied or final == entry.to_status and before.statuses[entry.track][0] == final:
                entries.append(entry)
    for track, (key, _) in after.statuses.items():
        old = before.statuses.get(track, (None, None))[0]
        if old != key:
            decider = next((e for e in reversed(replayed) if e.track == track and e.applied), None)
            entries.append(
                Entry(
                    track,
                    old,
                    key,
                    decider.source if decider else "replay",
                    decider.actor if decider else "system",
                    True,
                    "re-evaluated in time order after a late event",
                    decider.at if decider else now,
                    decider.note if decider else "",
                    decider.message_id if decider else None,
                    decider.confidence if decider else None,
                )
            )
    return entries
