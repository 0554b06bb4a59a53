"""Status changes written back to Chatwoot, queued in the outbox in the change's own transaction
(SPEC §11); the sending is the Chatwoot adapter's, registered for the outbox kind `chatwoot`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, exists, insert, literal_column, select

from plugin.domain.catalog import Catalog
from plugin.store.prepared import Prepared
from plugin.store.schema import ChatwootConnection, Identity, OutboxItem, outbox_lane, table_of
from plugin.store.versioned import ByCatalogVersion

KIND = "chatwoot"  # the outbox kind of a write-back
WRITTEN_TRACKS = ("stage", "attention", "outcome")  # never `reply` (SPEC §11)
IDENTITY_PREFIX = "chatwoot:"

CW, ID, OUT = table_of(ChatwootConnection), table_of(Identity), table_of(OutboxItem)

_connected: ByCatalogVersion[bool] = ByCatalogVersion()
_CONNECTED = Prepared(select(CW.c.account_id).where(CW.c.workspace_id == bindparam("w")))
# One statement per change: the item is inserted only when the customer has a Chatwoot identity, so
# the webhook path pays no separate look-up (bench/chatwoot_ingest.py).
_QUEUE_IF_KNOWN = Prepared(
    insert(OUT).from_select(
        [
            "workspace_id",
            "kind",
            "customer_id",
            "payload",
            "due_at",
            "attempts",
            "last_error",
            "created_at",
            "lane",
        ],
        select(
            bindparam("w", type_=OUT.c.workspace_id.type),
            literal_column(f"'{KIND}'"),
            bindparam("c", type_=OUT.c.customer_id.type),
            bindparam("p", type_=OUT.c.payload.type),
            bindparam("now", type_=OUT.c.due_at.type),
            literal_column("0"),
            literal_column("''"),
            bindparam("now", type_=OUT.c.created_at.type),
            bindparam("lane", type_=OUT.c.lane.type),
        ).where(
            exists().where(
                ID.c.workspace_id == bindparam("w"),
                ID.c.customer_id == bindparam("c"),
                ID.c.value.like(literal_column(f"'{IDENTITY_PREFIX}%'")),
            )
        ),
    )
)


def queue_writebacks(conn: Connection, catalog: Catalog, changes: list[dict], now: datetime) -> None:
    """One outbox item per applied change on a written track of a customer known in Chatwoot, in the
    change's transaction. Nothing for workspaces without a connection (cached by catalog version, so
    the webhook path pays no query for them)."""
    ws = catalog.workspace_id
    wanted = [c for c in changes if c["applied"] and c["track"] in WRITTEN_TRACKS]
    if not wanted:
        return
    connected = _connected.get(
        conn, ws, catalog.version, lambda: _CONNECTED.first(conn, {"w": ws}) is not None
    )
    if not connected:
        return
    for c in wanted:
        payload = {
            "track": c["track"],
            "from": c["from_status"],
            "to": c["to_status"],
            "source": c["source"],
            "occurred_at": c["at"].isoformat(),
        }
        lane = outbox_lane(KIND, c["customer_id"], payload)  # one customer's write-backs go in order
        _QUEUE_IF_KNOWN.rows(conn, {"w": ws, "c": c["customer_id"], "p": payload, "now": now, "lane": lane})
