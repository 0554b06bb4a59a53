"""Customers as the CLI prints them: the same documents the API serves (plugin.customers.queries), plus each
customer's message count (SPEC §7), and their badges for a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from plugin.customers.queries import summaries
from plugin.domain.catalog import Catalog
from plugin.store.schema import Customer, Message, table_of

C, M = table_of(Customer), table_of(Message)


def with_message_counts(conn: Connection, catalog: Catalog, items: list[dict]) -> list[dict]:
    ids = [item["id"] for item in items]
    counts: dict[int, int] = (
        dict(
            conn.execute(
                select(M.c.customer_id, func.count())
                .where(M.c.workspace_id == catalog.workspace_id, M.c.customer_id.in_(ids))
                .group_by(M.c.customer_id)
            ).all()
        )
        if ids
        else {}
    )
    return [item | {"message_count": counts.get(item["id"], 0)} for item in items]


def customer_documents(conn: Connection, catalog: Catalog, ids: Sequence[int]) -> list[dict]:
    """The customers with these ids, in the order given."""
    rows = {
        r.id: r
        for r in conn.execute(select(C).where(C.c.workspace_id == catalog.workspace_id, C.c.id.in_(ids)))
    }
    return with_message_counts(conn, catalog, summaries(conn, catalog, [rows[i] for i in ids if i in rows]))


def badges(catalog: Catalog, statuses: dict[str, str]) -> dict[str, str]:
    """`{track: "🔥 Hot Lead"}` for a customer's statuses."""
    out = {}
    for track, key in statuses.items():
        status = catalog.status(track, key)
        out[track] = status.badge if status else key
    return out


def badge(catalog: Catalog, track: str, key: str | None) -> str:
    if key is None:
        return "—"
    status = catalog.status(track, key)
    return status.badge if status else key
