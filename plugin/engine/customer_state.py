"""Reading customers' current state (statuses, opt-out, clocks, horizon) for the engine to fold onto."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, String, and_, bindparam, literal_column, select, type_coerce

from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.domain.fold import State
from plugin.store.bulk import ByDialect, one_of
from plugin.store.schema import Customer, CustomerStatus, Identity

C, CS, ID = Customer.__table__, CustomerStatus.__table__, Identity.__table__


class SqliteTimes:
    """SQLite keeps times as ISO text in UTC; `datetime.fromisoformat` reads them several times faster
    than the DateTime type's generic parser, which dominated loading a batch's states."""

    @staticmethod
    def column(col):
        return type_coerce(col, String).label(col.name)

    @staticmethod
    def parse(value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            # Read as UTC in one call: `.replace(tzinfo=UTC)` took 0.7 µs of the 0.9 (~7 per customer).
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:  # text that already names a zone (not written by SQLAlchemy): its fields in UTC
            return datetime.fromisoformat(value).replace(tzinfo=UTC)


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
    if not customer_ids:
        return {}
    customers, _ = _STATE_QUERIES[lock](conn)
    params = {"w": catalog.workspace_id, "ids": list(customer_ids)}
    return _with_statuses(conn, catalog, _states(conn, customers.execute(conn, params).all()))


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
    return customer_of, _with_statuses(conn, catalog, _states(conn, [row[1:] for row in found]))


def _states(conn: Connection, rows) -> dict[int, State]:
    """States from customers rows (id, opted_out, inbound, outbound, waiting, horizon), statuses to come."""
    parse = (SqliteTimes if conn.dialect.name == "sqlite" else TypedTimes).parse
    states: dict[int, State] = {}
    for cid, opted_out, inbound, outbound, waiting, horizon in rows:
        # The stored horizon keeps only the time: treat an equal time as "maybe older" (replay).
        states[cid] = State(
            {},
            opted_out,
            parse(inbound),
            parse(outbound),
            parse(waiting),
            (parse(horizon), 9, "") if horizon is not None else None,
        )
    return states


def _with_statuses(conn: Connection, catalog: Catalog, states: dict[int, State]) -> dict[int, State]:
    """The states with each track's status read in; a track added since a customer was: its first."""
    if not states:
        return states
    parse = (SqliteTimes if conn.dialect.name == "sqlite" else TypedTimes).parse
    key_of_track = {t.id: t.key for t in catalog.tracks.values()}
    by_id = catalog.by_id
    params = {"w": catalog.workspace_id, "ids": list(states)}
    # Four rows a customer, read as plain tuples on the driver's cursor: SQLAlchemy's rows cost ~2 µs
    # a message more on the batch path (bench/engine.py).
    for cid, track_id, status_id, entered in _STATUSES(conn).rows(conn, params):
        track = key_of_track.get(track_id)
        status = by_id.get(status_id)
        if track and status:
            states[cid].statuses[track] = (status.key, parse(entered))
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


def state_columns(when) -> tuple:
    """A customers row's part of its state, in the order `_states` reads it after the customer id;
    `when` is SqliteTimes or TypedTimes."""
    return (
        C.c.opted_out,
        when.column(C.c.last_inbound_at),
        when.column(C.c.last_outbound_at),
        when.column(C.c.waiting_since),
        when.column(C.c.horizon_at),
    )


def _state_queries(dialect: str, lock: bool):
    """The customers rows by id and, joined from their identities, by identity."""
    when = SqliteTimes if dialect == "sqlite" else TypedTimes
    workspace = C.c.workspace_id
    if dialect == "sqlite":
        # Kept off the (workspace, id) index, which SQLite (no statistics) preferred and then sorted by:
        # read by rowid, in order, 0.75 ms against 1.13 per 1,000 customers.
        workspace = workspace + literal_column("0")
    columns = (C.c.id, *state_columns(when))
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
    when = SqliteTimes if dialect == "sqlite" else TypedTimes
    return (
        select(CS.c.customer_id, CS.c.track_id, CS.c.status_id, when.column(CS.c.entered_at))
        .where(CS.c.workspace_id == bindparam("w"), one_of(CS.c.customer_id, "ids", dialect))
        .order_by(CS.c.customer_id, CS.c.track_id)
    )


# The statements, by lock, each built once per dialect.
_STATE_QUERIES = {
    lock: ByDialect(lambda dialect, lock=lock: _state_queries(dialect, lock)) for lock in (True, False)
}
_STATUSES = ByDialect(_statuses_query)
