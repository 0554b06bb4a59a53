"""A customer's card, the leads on a status and the stage funnel, as chat surfaces (Slack) show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from plugin.customers.read_model import current_statuses, linked_warnings, priority_queue
from plugin.customers.reports import customers_per_status
from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.clock import aware
from plugin.domain.events import media_of
from plugin.store.schema import (
    Customer,
    CustomerLink,
    CustomerStatus,
    Identity,
    Message,
    StatusChange,
    table_of,
)

C, CS, ID, M, SC, L = (
    table_of(Customer),
    table_of(CustomerStatus),
    table_of(Identity),
    table_of(Message),
    table_of(StatusChange),
    table_of(CustomerLink),
)
LEADS_SHOWN = 15


@dataclass(frozen=True)
class Said:
    direction: str
    sender: str
    text: str
    at: datetime
    media: tuple[tuple[str, str | None], ...] = ()  # (url, content type)


@dataclass(frozen=True)
class Changed:
    track: str
    from_status: str | None
    to_status: str
    source: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Card:
    id: int
    name: str
    opted_out: bool
    identities: tuple[str, ...]
    statuses: dict[str, StatusInfo]
    messages: tuple[Said, ...]  # newest last
    waiting_since: datetime | None
    warnings: tuple[str, ...]  # linked customers on an alerting attention status
    history: tuple[Changed, ...]  # newest first


@dataclass(frozen=True)
class Lead:
    id: int
    name: str
    waiting_since: datetime | None


def card(conn: Connection, catalog: Catalog, customer_id: int) -> Card:
    ws = catalog.workspace_id
    row = conn.execute(
        select(C.c.id, C.c.name, C.c.opted_out, C.c.waiting_since).where(
            C.c.workspace_id == ws, C.c.id == customer_id
        )
    ).one()
    identities = conn.execute(
        select(ID.c.value).where(ID.c.workspace_id == ws, ID.c.customer_id == customer_id).order_by(ID.c.id)
    ).scalars()
    statuses = current_statuses(conn, catalog, customer_id)
    said = conn.execute(
        select(M.c.direction, M.c.sender, M.c.text, M.c.provider_at, M.c.media)
        .where(M.c.workspace_id == ws, M.c.customer_id == customer_id)
        .order_by(M.c.provider_at.desc(), M.c.id.desc())
        .limit(3)
    ).all()
    history = conn.execute(
        select(SC.c.track, SC.c.from_status, SC.c.to_status, SC.c.source, SC.c.actor, SC.c.at)
        .where(SC.c.workspace_id == ws, SC.c.customer_id == customer_id, SC.c.applied.is_(True))
        .order_by(SC.c.id.desc())
        .limit(5)
    ).all()
    return Card(
        row.id,
        row.name,
        row.opted_out,
        tuple(identities),
        statuses,
        tuple(
            Said(
                r.direction,
                r.sender,
                r.text,
                aware(r.provider_at),
                tuple((m["url"], m["content_type"]) for m in media_of(r.media)),
            )
            for r in reversed(said)
        ),
        aware(row.waiting_since) if row.waiting_since else None,
        tuple(w.text for w in linked_warnings(conn, catalog, customer_id)),
        tuple(Changed(r.track, r.from_status, r.to_status, r.source, r.actor, aware(r.at)) for r in history),
    )


def leads(conn: Connection, catalog: Catalog, status: StatusInfo, limit: int = LEADS_SHOWN) -> list[Lead]:
    """Customers on `status`, highest priority first (the read model's priority queue)."""
    rows = priority_queue(conn, catalog, status, limit=limit)
    return [Lead(r.id, r.name, aware(r.waiting_since) if r.waiting_since else None) for r in rows]


def funnel(conn: Connection, catalog: Catalog, track: str = "stage") -> list[tuple[StatusInfo, int]]:
    """Customers (not archived) per status of `track`, in the track's order (zero counts included):
    the count every surface shows."""
    info = catalog.track(track)
    counts = customers_per_status(conn, catalog)
    return [(s, counts.get(s.id, 0)) for s in info.statuses if not s.archived or counts.get(s.id)]
