"""Reading customers' current state (statuses, opt-out, clocks, horizon) for the engine to fold onto."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, String, bindparam, select, type_coerce

from plugin.clock import aware
from plugin.fold import State
from plugin.schema import Customer, CustomerStatus
from plugin.statuses import Catalog

C, CS = Customer.__table__, CustomerStatus.__table__


class SqliteTimes:
    """SQLite keeps times as ISO text in UTC; `datetime.fromisoformat` reads them several times faster
    than the DateTime type's generic parser, which dominated loading a batch's states."""

    @staticmethod
    def column(col):
        return type_coerce(col, String).label(col.name)

    @staticmethod
    def parse(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value is not None else None


class TypedTimes:
    @staticmethod
    def column(col):
        return col

    @staticmethod
    def parse(value: datetime | None) -> datetime | None:
        return aware(value) if value is not None else None


def load_states(
    conn: Connection, catalog: Catalog, customer_ids: Sequence[int], *, lock: bool
) -> dict[int, State]:
    """The customers' current state; with `lock`, their rows stay locked until the transaction ends
    (FOR UPDATE on PostgreSQL, in id order so two writers never deadlock; SQLite holds the write lock)."""
    ws = catalog.workspace_id
    if not customer_ids:
        return {}
    sqlite_times = conn.dialect.name == "sqlite"
    when = SqliteTimes if sqlite_times else TypedTimes
    customers, statuses = _STATE_QUERIES[sqlite_times, lock]
    params = {"w": ws, "ids": list(customer_ids)}
    states: dict[int, State] = {}
    parse = when.parse
    for cid, opted_out, inbound, outbound, waiting, horizon in conn.execute(customers, params):
        # The stored horizon keeps only the time: treat an equal time as "maybe older" (replay).
        states[cid] = State(
            {},
            opted_out,
            parse(inbound),
            parse(outbound),
            parse(waiting),
            (parse(horizon), 9, "") if horizon is not None else None,
        )
    key_of_track = {t.id: t.key for t in catalog.tracks.values()}
    by_id = catalog.by_id
    for cid, track_id, status_id, entered in conn.execute(statuses, params):
        track = key_of_track.get(track_id)
        status = by_id.get(status_id)
        if track and status:
            states[cid].statuses[track] = (status.key, parse(entered))
    firsts = [(t.key, t.first.key) for t in catalog.tracks.values()]
    for state in states.values():
        for track, first in firsts:
            if track not in state.statuses:
                state.statuses[track] = (first, None)
    return states


def new_state(catalog: Catalog, now: datetime) -> State:
    """A customer just created: on every track's first status since `now` (as create_customers wrote)."""
    return State({t.key: (t.first.key, now) for t in catalog.tracks.values()})


def _state_queries(when, lock: bool):
    customers = (
        select(
            C.c.id,
            C.c.opted_out,
            when.column(C.c.last_inbound_at),
            when.column(C.c.last_outbound_at),
            when.column(C.c.waiting_since),
            when.column(C.c.horizon_at),
        )
        .where(C.c.workspace_id == bindparam("w"), C.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(C.c.id)
    )
    if lock:
        customers = customers.with_for_update()
    statuses = select(CS.c.customer_id, CS.c.track_id, CS.c.status_id, when.column(CS.c.entered_at)).where(
        CS.c.workspace_id == bindparam("w"), CS.c.customer_id.in_(bindparam("ids", expanding=True))
    )
    return customers, statuses


# load_states' statements, by (SQLite, lock).
_STATE_QUERIES = {
    (sqlite_times, lock): _state_queries(SqliteTimes if sqlite_times else TypedTimes, lock)
    for sqlite_times in (True, False)
    for lock in (True, False)
}
