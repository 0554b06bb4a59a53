"""Replaying a customer's whole history in time order when an event arrives late, and auditing the result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select

from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.domain.fold import CommandIn, Entry, MessageIn, State, initial_state
from plugin.store.schema import Message, StatusChange, StatusCommand, table_of

M, SC, CMD = table_of(Message), table_of(StatusChange), table_of(StatusCommand)


def load_history(conn: Connection, workspace_id: int, customer_id: int) -> list:
    """Every message and command of one customer, for a replay."""
    return load_histories(conn, workspace_id, [customer_id]).get(customer_id, [])


def load_histories(conn: Connection, workspace_id: int, customer_ids: Sequence[int]) -> dict[int, list]:
    """Every message and command of each customer (unordered: the fold sorts), in two statements."""
    histories: dict[int, list] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return histories
    ids = list(customer_ids)
    messages = conn.execute(
        select(
            M.c.customer_id,
            M.c.id,
            M.c.provider_at,
            M.c.channel,
            M.c.provider_id,
            M.c.direction,
            M.c.sender,
            M.c.text,
            M.c.opt,
        ).where(M.c.workspace_id == workspace_id, M.c.customer_id.in_(ids))
    )
    for r in messages:
        histories[r.customer_id].append(
            MessageIn(
                aware(r.provider_at),
                f"{r.channel}:{r.provider_id}",
                r.id,
                r.channel,
                r.direction,
                r.sender,
                r.text,
                # The stored flag (the provider's or the keyword's; migration 0008 set it on older rows):
                # a WhatsApp STOP stored without one is not an opt-out (SPEC §11).
                r.opt,
            )
        )
    commands = conn.execute(select(CMD).where(CMD.c.workspace_id == workspace_id, CMD.c.customer_id.in_(ids)))
    for r in commands:
        histories[r.customer_id].append(
            CommandIn(aware(r.at), r.id, r.kind, r.track, r.status, r.source, r.actor, r.note)
        )
    return histories


def starting_state(conn: Connection, catalog: Catalog, customer_id: int, current: State) -> State:
    """Where the customer started, for a replay: the first audit entry's `from` on each track, or the
    current status on a track nothing ever moved. Not the catalog's first status: a reorder or an
    archived first status must not move anyone by itself."""
    return starting_states(conn, catalog, {customer_id: current})[customer_id]


def starting_states(conn: Connection, catalog: Catalog, currents: Mapping[int, State]) -> dict[int, State]:
    """`starting_state` of many customers in one statement."""
    ws = catalog.workspace_id
    ids = list(currents)
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
    states = {}
    for cid, current in currents.items():
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
