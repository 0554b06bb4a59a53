"""Delivery statuses of outbound messages: recorded per message, never moving backward (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, bindparam, select, update

from plugin.store.schema import Message, table_of

M = table_of(Message)

# Providers call back in any order: a late `sent` must not undo `delivered`. Statuses of one rank
# are alternatives (a message ends delivered OR undelivered), so the first of them stands.
RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "receiving": 3,
    "received": 4,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "partially_delivered": 4,
    "read": 5,
}
FAILURES = frozenset({"undelivered", "failed"})


@dataclass(frozen=True)
class Delivery:
    status: str | None
    error_code: str | None
    customer_id: int = field(default=0, compare=False)  # whose message it is, when read from the store


def advance(current: Delivery, status: str, error_code: str | None = None) -> Delivery:
    """The delivery after a callback reporting `status`: later statuses win, earlier ones change nothing.

    A failure keeps its ErrorCode; an unknown status is ignored rather than guessed at.
    """
    status = status.strip().lower()
    error_code = (error_code or "").strip() or None
    if status not in RANK:
        return current
    if current.status is not None and current.status in RANK and RANK[status] <= RANK[current.status]:
        if status == current.status and status in FAILURES and current.error_code is None and error_code:
            return Delivery(status, error_code)
        return current
    if status in FAILURES:
        return Delivery(status, error_code)
    # `read` after a failure cannot happen; after `delivered` it keeps no stale error code.
    return Delivery(status, None)


_FIND = (
    select(M.c.id, M.c.delivery_status, M.c.error_code, M.c.customer_id)
    .where(
        and_(
            M.c.workspace_id == bindparam("w"),
            M.c.channel == bindparam("ch"),
            M.c.provider_id == bindparam("p"),
        )
    )
    .with_for_update()
)
_SET = (
    update(M)
    .where(and_(M.c.workspace_id == bindparam("w"), M.c.id == bindparam("m")))
    .values(delivery_status=bindparam("s"), error_code=bindparam("e"))
)


def record_delivery(
    conn: Connection,
    workspace_id: int,
    channel: str,
    provider_id: str,
    status: str,
    error_code: str | None = None,
) -> Delivery | None:
    """Records a provider's delivery report on the message it names; None when no such message is stored.

    The row is locked while it is read, so two concurrent callbacks cannot both move it.
    """
    row = conn.execute(_FIND, {"w": workspace_id, "ch": channel, "p": provider_id}).first()
    if row is None:
        return None
    before = Delivery(row.delivery_status, row.error_code)
    after = advance(before, status, error_code)
    if after != before:
        conn.execute(_SET, {"w": workspace_id, "m": row.id, "s": after.status, "e": after.error_code})
    return Delivery(after.status, after.error_code, row.customer_id)
