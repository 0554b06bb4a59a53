"""Linking customers who belong together (a household, a company): each shows the other's warnings (SPEC §3)."""

from __future__ import annotations

from sqlalchemy import Connection, and_, delete, insert, or_, select

from plugin.customers.queries import customer_row
from plugin.domain.errors import Conflict, StatushubError
from plugin.store.schema import CustomerLink, table_of

L = table_of(CustomerLink)


def _pair(workspace_id: int, a: int, b: int):
    return and_(
        L.c.workspace_id == workspace_id,
        or_(and_(L.c.customer_id == a, L.c.other_id == b), and_(L.c.customer_id == b, L.c.other_id == a)),
    )


def link_customers(
    conn: Connection, workspace_id: int, customer_id: int, other_id: int, note: str = ""
) -> None:
    """Links both ways, so either customer's page shows the other."""
    customer_row(conn, workspace_id, customer_id)
    customer_row(conn, workspace_id, other_id)
    if customer_id == other_id:
        raise StatushubError("a customer cannot be linked to themselves", field="other_id")
    if conn.execute(select(L.c.customer_id).where(_pair(workspace_id, customer_id, other_id))).first():
        raise Conflict(f"#{customer_id} and #{other_id} are already linked", field="other_id")
    conn.execute(
        insert(L),
        [
            {"workspace_id": workspace_id, "customer_id": customer_id, "other_id": other_id, "note": note},
            {"workspace_id": workspace_id, "customer_id": other_id, "other_id": customer_id, "note": note},
        ],
    )


def unlink_customers(conn: Connection, workspace_id: int, customer_id: int, other_id: int) -> None:
    customer_row(conn, workspace_id, customer_id)
    customer_row(conn, workspace_id, other_id)
    if not conn.execute(delete(L).where(_pair(workspace_id, customer_id, other_id))).rowcount:
        raise StatushubError(f"#{customer_id} and #{other_id} are not linked", field="other_id")
