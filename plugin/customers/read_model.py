"""The read model's shared rules, one definition each, used by Slack, the console, the API and the CLI:
the priority order, a customer's current statuses, linked-customer warnings and the leads queue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, select

from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.clock import aware
from plugin.domain.events import media_of
from plugin.store.schema import Customer, CustomerLink, CustomerStatus, Message, table_of

C, CS, L, M = table_of(Customer), table_of(CustomerStatus), table_of(CustomerLink), table_of(Message)


def priority_order() -> tuple:
    """Who to answer first (SPEC §5 sort=priority): open conversations, then the highest stage, then
    the longest waiting; the engine keeps `priority_open`/`priority_rank` in step with `stage`."""
    return (
        C.c.priority_open.desc(),
        C.c.priority_rank.desc(),
        C.c.waiting_since.asc().nulls_last(),
        C.c.id.asc(),
    )


def current_statuses(conn: Connection, catalog: Catalog, customer_id: int) -> dict[str, StatusInfo]:
    """{track key: the customer's status}, in track order."""
    rows = conn.execute(
        select(CS.c.status_id).where(
            CS.c.workspace_id == catalog.workspace_id, CS.c.customer_id == customer_id
        )
    ).scalars()
    held = {s.track: s for s in (catalog.by_id.get(sid) for sid in rows) if s is not None}
    return {key: held[key] for key in catalog.tracks if key in held}


@dataclass(frozen=True)
class LinkedWarning:
    """A linked customer on an alerting `attention` status (caution, do not serve; SPEC §3)."""

    customer_id: int
    name: str
    status: StatusInfo

    @property
    def text(self) -> str:
        return f"linked to {self.name} (#{self.customer_id}), who is {self.status.badge}"


def linked_warnings(conn: Connection, catalog: Catalog, customer_id: int) -> list[LinkedWarning]:
    """The warnings a customer's links raise, by linked customer id (links are stored both ways)."""
    attention = catalog.tracks.get("attention")
    alerting = [s.id for s in attention.statuses if s.alert] if attention else []
    if attention is None or not alerting:
        return []
    ws = catalog.workspace_id
    rows = conn.execute(
        select(C.c.id, C.c.name, CS.c.status_id)
        .join(L, and_(L.c.workspace_id == C.c.workspace_id, L.c.other_id == C.c.id))
        .join(CS, and_(CS.c.workspace_id == C.c.workspace_id, CS.c.customer_id == C.c.id))
        .where(
            L.c.workspace_id == ws,
            L.c.customer_id == customer_id,
            CS.c.track_id == attention.id,
            CS.c.status_id.in_(alerting),
        )
        .order_by(C.c.id)
    ).all()
    return [LinkedWarning(r.id, r.name, catalog.by_id[r.status_id]) for r in rows]


def priority_queue(
    conn: Connection, catalog: Catalog, status: StatusInfo | None, *, offset: int = 0, limit: int = 50
) -> list:
    """The leads list: customers (not archived) on `status`, or all of them, in priority order."""
    query = select(C.c.id, C.c.name, C.c.waiting_since, C.c.opted_out).where(
        C.c.workspace_id == catalog.workspace_id, C.c.archived_at.is_(None)
    )
    if status is not None:
        query = query.join(
            CS,
            and_(
                CS.c.workspace_id == C.c.workspace_id,
                CS.c.customer_id == C.c.id,
                CS.c.track_id == catalog.tracks[status.track].id,
            ),
        ).where(CS.c.status_id == status.id)
    return list(conn.execute(query.order_by(*priority_order()).offset(offset).limit(limit)).all())


def conversation(conn: Connection, workspace_id: int, customer_id: int, limit: int) -> list[dict]:
    """A customer's latest `limit` messages, oldest first by provider time, as the API and the CLI show
    them (text, media, delivery, intents)."""
    rows = conn.execute(
        select(M)
        .where(M.c.workspace_id == workspace_id, M.c.customer_id == customer_id)
        .order_by(M.c.provider_at.desc(), M.c.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": r.id,
            "channel": r.channel,
            "direction": r.direction,
            "sender": r.sender,
            "text": r.text,
            "media": media_of(r.media),
            "provider_id": r.provider_id,
            "provider_at": aware(r.provider_at).isoformat(),
            "received_at": aware(r.received_at).isoformat(),
            "delivery_status": r.delivery_status,
            "error_code": r.error_code,
            "intents": list(r.intents or []),
        }
        for r in reversed(rows)
    ]
