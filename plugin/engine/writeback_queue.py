"""Status changes written back to Chatwoot, queued in the outbox in the change's own transaction
(SPEC §11); the sending is the Chatwoot adapter's, registered for the outbox kind `chatwoot`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select

from plugin.domain.catalog import Catalog
from plugin.store.bulk import ByDialect, one_of
from plugin.store.prepared import Prepared
from plugin.store.schema import ChatwootConnection, Identity, OutboxItem, table_of
from plugin.store.versioned import ByCatalogVersion

KIND = "chatwoot"  # the outbox kind of a write-back
WRITTEN_TRACKS = ("stage", "attention", "outcome")  # never `reply` (SPEC §11)
IDENTITY_PREFIX = "chatwoot:"

CW, ID, OUT = table_of(ChatwootConnection), table_of(Identity), table_of(OutboxItem)

_connected: ByCatalogVersion[bool] = ByCatalogVersion()
_CONNECTED = Prepared(select(CW.c.account_id).where(CW.c.workspace_id == bindparam("w")))
_WITH_CONTACT = ByDialect(
    lambda dialect: (
        select(ID.c.customer_id)
        .where(
            ID.c.workspace_id == bindparam("w"),
            one_of(ID.c.customer_id, "cids", dialect),
            ID.c.value.startswith(IDENTITY_PREFIX, autoescape=True),
        )
        .distinct()
    )
)


def queue_writebacks(conn: Connection, catalog: Catalog, changes: list[dict], now: datetime) -> int:
    """One outbox item per applied change on a written track of a customer known in Chatwoot, in the
    change's transaction. Nothing for workspaces without a connection (cached by catalog version, so
    the webhook path pays no query for them)."""
    ws = catalog.workspace_id
    wanted = [c for c in changes if c["applied"] and c["track"] in WRITTEN_TRACKS]
    if not wanted:
        return 0
    connected = _connected.get(
        conn, ws, catalog.version, lambda: _CONNECTED.first(conn, {"w": ws}) is not None
    )
    if not connected:
        return 0
    cids = sorted({c["customer_id"] for c in wanted})
    known = {r[0] for r in _WITH_CONTACT(conn).execute(conn, {"w": ws, "cids": cids}).all()}
    rows = [
        {
            "workspace_id": ws,
            "kind": KIND,
            "customer_id": c["customer_id"],
            "payload": {
                "track": c["track"],
                "from": c["from_status"],
                "to": c["to_status"],
                "source": c["source"],
                "occurred_at": c["at"].isoformat(),
            },
            "due_at": now,
            "attempts": 0,
            "last_error": "",
            "created_at": now,
        }
        for c in wanted
        if c["customer_id"] in known
    ]
    if rows:
        conn.execute(insert(OUT), rows)
    return len(rows)
