"""Idempotent deliveries: the first answer to an event id or Idempotency-Key, replayed to duplicates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from plugin.store.schema import Delivery, table_of

D = table_of(Delivery)


def remembered(conn: Connection, workspace_id: int, scope: str, key: str) -> tuple[int, str] | None:
    """The stored answer to a delivery already handled, or None."""
    row = conn.execute(
        select(D.c.status_code, D.c.body).where(
            D.c.workspace_id == workspace_id, D.c.scope == scope, D.c.key == key
        )
    ).first()
    return (row.status_code, row.body) if row else None


def remember(
    conn: Connection, workspace_id: int, scope: str, key: str, status_code: int, body: str, now: datetime
) -> None:
    """Stores the answer in the same transaction as the work it answers for. A concurrent duplicate
    fails on the primary key and its transaction rolls back, so the work happens once."""
    conn.execute(
        insert(D),
        {
            "workspace_id": workspace_id,
            "scope": scope,
            "key": key,
            "status_code": status_code,
            "body": body,
            "created_at": now,
        },
    )
