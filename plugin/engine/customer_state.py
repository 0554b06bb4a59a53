"""Reading customers' current state (statuses, opt-out, clocks, horizon) for the engine to fold onto."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, String, and_, bindparam, literal_column, select, type_coerce

from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.domain.fold import State
from plugin.store.bulk import ByDialect, one_of
from plugin.store.schema import Customer, CustomerStatus, Identity, table_of

C, CS, ID = table_of(Customer), table_of(CustomerStatus), table_of(Identity)


def time_column(col, dialect: str):
    """A stored time as the engine reads it: on SQLite its ISO text (read by `read_time` several times
    faster than the DateTime type's own parser), elsewhere the typed column."""
    return type_coerce(col, String).label(col.name) if dialect == "sqlite" else col


def read_time(value: str | datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime, from SQLite's text (in UTC) or a driver's datetime."""
    if value is None:
        return None
    if not isinstance(value, str):
        return aware(value)
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # text that already names a zone (not written by SQLAlchemy): its fields in UTC
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


def state_of(opted_out, inbound, outbound, waiting, horizon) -> State:
    """A customers row's part of its state (as `state_columns` reads it), statuses to come."""
    # The stored horizon keeps only the time: treat an equal time as "maybe older" (replay).
    return State(
        {},
        bool(opted_out),
        read_time(inbound),
        read_time(outbound),
        read_time(waiting),
        (read_time(horizon), 9, "") if horizon is not None else None,
    )


def load_states(
    conn: Connection, catalog: Catalog, customer_ids: Sequence[int], *, lock: bool
) -> dict[int, State]:
    """The customers' current state; with `lock`, their rows stay locked until the transaction ends
    (FOR UPDATE on PostgreSQL, in id order so two writers never deadlock; SQLite holds the write lock)."""
    if not customer_ids:
        return {}
    customers, _ = _STATE_QUERIES[lock](conn)
    params = {"w": catalog.workspace_id, "ids": list(customer_ids)}
    return _with_statuses(conn, catalog, _states(customers.execute(conn, params).all()))


def load_known_states(
    conn: Connection, catalog: Catalog, identities: Sequence[str], *, lock: bool
) -> tuple[dict[str, int], dict[int, State]]:
    """({identity: customer id}, {customer id: state}) for the identities already known, found and
    locked (as `load_states`) in one statement: the batch path's look-up by identity and its read of
    the customers row were two passes over the same 1,000 customers."""
    if not identities:
        return {}, {}
    _, by_identity = _STATE_QUERIES[lock](conn)
    found = by_identity.execute(conn, {"w": catalog.workspace_id, "values": list(identities)}).all()
    customer_of = {row[0]: row[1] for row in found}
    return customer_of, _with_statuses(conn, catalog, _states([row[1:] for row in found]))


def _states(rows) -> dict[int, State]:
    """States from customers rows (id, then `state_columns`), statuses to come."""
    return {row[0]: state_of(*row[1:]) for row in rows}


def _with_statuses(conn: Connection, catalog: Catalog, states: dict[int, State]) -> dict[int, State]:
    """The states with each track's status read in; a track added since a customer was: its first."""
    if not states:
        return states
    key_of_track = {t.id: t.key for t in catalog.tracks.values()}
    by_id = catalog.by_id
    params = {"w": catalog.workspace_id, "ids": list(states)}
    # Four rows a customer, read as plain tuples on the driver's cursor rather than as SQLAlchemy's
    # rows (bench/FIGURES.md).
    for cid, track_id, status_id, entered in _STATUSES(conn).rows(conn, params):
        track = key_of_track.get(track_id)
        status = by_id.get(status_id)
        if track and status:
            states[cid].statuses[track] = (status.key, read_time(entered))
    firsts = [(t.key, t.first.key) for t in catalog.tracks.values()]
    for state in states.values():
        if len(state.statuses) < len(firsts):
            for track, first in firsts:
                if track not in state.statuses:
                    state.statuses[track] = (first, None)
    return states


def new_state(catalog: Catalog, now: datetime) -> State:
    """A customer just created: on every track's first status since `now` (as create_customers wrote)."""
    return State({t.key: (t.first.key, now) for t in catalog.tracks.values()})


# An identity's customer, for the look-ups by identity here and on the webhook path (ingest_one).
IDENTITY_CUSTOMER = ID.join(C, and_(C.c.workspace_id == ID.c.workspace_id, C.c.id == ID.c.customer_id))


def state_columns(dialect: str) -> tuple:
    """A customers row's part of its state, in the order `state_of` reads it."""
    return (
        C.c.opted_out,
        time_column(C.c.last_inbound_at, dialect),
        time_column(C.c.last_outbound_at, dialect),
        time_column(C.c.waiting_since, dialect),
        time_column(C.c.horizon_at, dialect),
    )


def _state_queries(dialect: str, lock: bool):
    """The customers rows by id and, joined from their identities, by identity."""
    workspace: ColumnElement = C.c.workspace_id
    if dialect == "sqlite":
        # Kept off the (workspace, id) index, which SQLite (no statistics) preferred and then sorted by:
        # read by rowid, in order, instead (bench/FIGURES.md).
        workspace = workspace + literal_column("0")
    columns = (C.c.id, *state_columns(dialect))
    by_id = select(*columns).where(workspace == bindparam("w"), one_of(C.c.id, "ids", dialect))
    by_identity = (
        select(ID.c.value, *columns)
        .select_from(IDENTITY_CUSTOMER)
        .where(ID.c.workspace_id == bindparam("w"), one_of(ID.c.value, "values", dialect))
    )
    by_id, by_identity = by_id.order_by(C.c.id), by_identity.order_by(C.c.id)
    if lock:
        by_id, by_identity = by_id.with_for_update(), by_identity.with_for_update(of=C)
    return by_id, by_identity


def _statuses_query(dialect: str):
    # In index order (free on SQLite), so each state's tracks come in one order whatever the plan: an
    # array parameter lets PostgreSQL read them in heap order, which updates shuffle.
    return (
        select(CS.c.customer_id, CS.c.track_id, CS.c.status_id, time_column(CS.c.entered_at, dialect))
        .where(CS.c.workspace_id == bindparam("w"), one_of(CS.c.customer_id, "ids", dialect))
        .order_by(CS.c.customer_id, CS.c.track_id)
    )


def _by_dialect_state_queries(dialect: str, *, lock: bool):
    return _state_queries(dialect, lock)


# The statements, by lock, each built once per dialect.
_STATE_QUERIES = {
    lock: ByDialect(functools.partial(_by_dialect_state_queries, lock=lock)) for lock in (True, False)
}
_STATUSES = ByDialect(_statuses_query)
