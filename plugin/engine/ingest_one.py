"""The one-message webhook path's prebuilt statements: its customer found and locked by identity, its insert."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, and_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from plugin.domain.catalog import Catalog
from plugin.domain.fold import State
from plugin.engine.customer_state import IDENTITY_CUSTOMER, read_time, state_columns, state_of, time_column
from plugin.store.prepared import Prepared
from plugin.store.schema import Customer, CustomerStatus, Identity, Message, table_of

C, CS, M, ID = table_of(Customer), table_of(CustomerStatus), table_of(Message), table_of(Identity)


# The customer found and locked by its identity in one statement. On SQLite (the transaction holds
# the write lock) its statuses come in the same statement; on PostgreSQL they are read after the lock
# is taken, so a writer that held the lock is seen (a joined row read before the wait would be stale
# under READ COMMITTED).
def _customer_columns(dialect: str) -> list:
    # The name too: a web chat event's answer names its customer, read here rather than once more.
    return [ID.c.customer_id, *state_columns(dialect), C.c.name]


_BY_IDENTITY = and_(ID.c.workspace_id == bindparam("w"), ID.c.value == bindparam("v"))
_ONE_STATE_SQLITE = Prepared(
    select(
        *_customer_columns("sqlite"),
        CS.c.track_id,
        CS.c.status_id,
        time_column(CS.c.entered_at, "sqlite"),
    )
    .select_from(
        IDENTITY_CUSTOMER.outerjoin(
            CS, and_(CS.c.workspace_id == C.c.workspace_id, CS.c.customer_id == C.c.id)
        )
    )
    .where(_BY_IDENTITY)
)
_ONE_CUSTOMER_LOCKED = Prepared(
    select(*_customer_columns("postgresql"))
    .select_from(IDENTITY_CUSTOMER)
    .where(_BY_IDENTITY)
    .with_for_update(of=C)
)
_ONE_STATUSES = Prepared(
    select(CS.c.track_id, CS.c.status_id, CS.c.entered_at).where(
        CS.c.workspace_id == bindparam("w"), CS.c.customer_id == bindparam("c")
    )
)
_ONE_EXISTING = Prepared(
    select(M.c.id).where(
        M.c.workspace_id == bindparam("w"), M.c.channel == bindparam("ch"), M.c.provider_id == bindparam("p")
    )
)
_MESSAGE_KEY = [M.c.workspace_id, M.c.channel, M.c.provider_id]
# A duplicate loses on the unique provider id and inserts nothing: one statement, no error.
_INSERT_ONE = {
    "sqlite": Prepared(
        sqlite.insert(M).on_conflict_do_nothing(index_elements=_MESSAGE_KEY).returning(M.c.id)
    ),
    "postgresql": Prepared(
        postgresql.insert(M).on_conflict_do_nothing(index_elements=_MESSAGE_KEY).returning(M.c.id)
    ),
}


class Loaded(NamedTuple):
    customer_id: int
    state: State
    name: str | None


def load_one(conn: Connection, catalog: Catalog, identity: str) -> Loaded | None:
    """The customer of `identity`, their state (locked) and name; None when the identity is new."""
    ws = catalog.workspace_id
    if conn.dialect.name == "sqlite":
        rows = _ONE_STATE_SQLITE.rows(conn, {"w": ws, "v": identity})
        statuses = [(r[7], r[8], r[9]) for r in rows if r[7] is not None]
    else:
        rows = _ONE_CUSTOMER_LOCKED.rows(conn, {"w": ws, "v": identity})
        if rows:
            statuses = _ONE_STATUSES.rows(conn, {"w": ws, "c": rows[0][0]})
    if not rows:
        return None
    cid = rows[0][0]
    state = state_of(*rows[0][1:6])
    tracks = {t.id: t for t in catalog.tracks.values()}
    by_id = catalog.by_id
    for track_id, status_id, entered in statuses:
        track = tracks.get(track_id)
        status = by_id.get(status_id)
        if track and status:
            state.statuses[track.key] = (status.key, read_time(entered))
    for track in catalog.tracks.values():
        if track.key not in state.statuses:
            state.statuses[track.key] = (track.first.key, None)
    return Loaded(cid, state, rows[0][6])


def stored_message(conn: Connection, workspace_id: int, channel: str, provider_id: str) -> int | None:
    """The id of the message already stored under this provider id, if any."""
    row = _ONE_EXISTING.first(conn, {"w": workspace_id, "ch": channel, "p": provider_id})
    return row[0] if row else None


def insert_message(conn: Connection, row: dict) -> int | None:
    """Stores one message row; None (and nothing stored) when its provider id is already stored."""
    inserted = _INSERT_ONE[conn.dialect.name].first(conn, row)
    return inserted[0] if inserted else None
