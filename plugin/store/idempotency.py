"""Idempotent deliveries: the first answer to an event id or Idempotency-Key, replayed to duplicates.

Both statements are prebuilt (STYLE §11): they run on every web chat, Slack and API delivery. Run
before the caller's unit of work begins, `remembered` is a plain read that takes no write lock on
SQLite; the unit of work's `remember` is what settles a race (the loser fails on the primary key).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select

from plugin.store.prepared import Prepared
from plugin.store.schema import Delivery, table_of

D = table_of(Delivery)

_REMEMBERED = Prepared(
    select(D.c.status_code, D.c.body).where(
        D.c.workspace_id == bindparam("w"), D.c.scope == bindparam("s"), D.c.key == bindparam("k")
    )
)
_REMEMBER = Prepared(insert(D))


def remembered(conn: Connection, workspace_id: int, scope: str, key: str) -> tuple[int, str] | None:
    """The stored answer to a delivery already handled, or None."""
    row = _REMEMBERED.first(conn, {"w": workspace_id, "s": scope, "k": key})
    return (row[0], row[1]) if row else None


def remember(
    conn: Connection, workspace_id: int, scope: str, key: str, status_code: int, body: str, now: datetime
) -> None:
    """Stores the answer in the same transaction as the work it answers for. A concurrent duplicate
    fails on the primary key and its transaction rolls back, so the work happens once."""
    _REMEMBER.rows(
        conn,
        {
            "workspace_id": workspace_id,
            "scope": scope,
            "key": key,
            "status_code": status_code,
            "body": body,
            "created_at": now,
        },
    )
