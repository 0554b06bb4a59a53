"""Applied changes queued for outgoing webhooks in the change's own transaction (SPEC §9); delivery is
automation's (`plugin.automation.webhooks`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, insert, select

from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.store.schema import OutboxItem, WebhookSubscription, table_of
from plugin.store.versioned import ByCatalogVersion

SUBS = table_of(WebhookSubscription)
OUT = table_of(OutboxItem)
KIND = "webhook"


_subscriptions: ByCatalogVersion[tuple] = ByCatalogVersion()


def _cached_subscriptions(conn: Connection, catalog: Catalog) -> tuple:
    """The workspace's subscriptions, cached by catalog version (subscribing bumps it), so the webhook
    path pays no query per message while nobody has subscribed."""
    ws = catalog.workspace_id
    return _subscriptions.get(
        conn,
        ws,
        catalog.version,
        lambda: tuple(
            conn.execute(
                select(SUBS.c.id, SUBS.c.track, SUBS.c.status).where(SUBS.c.workspace_id == ws)
            ).all()
        ),
    )


def queue_webhooks(conn: Connection, catalog: Catalog, changes: list[dict], now: datetime) -> int:
    """One outbox item per applied change and matching subscription, in the change's transaction.

    `changes` are audit rows as the engine writes them (customer_id, track, from_status, to_status,
    source, actor, applied, at); blocked decisions are not status changes and are not sent.
    """
    workspace_id = catalog.workspace_id
    subs = _cached_subscriptions(conn, catalog)
    # An opt-out entry (track `opt_out`) is history, not a status change.
    applied = [c for c in changes if c["applied"] and c["track"] in catalog.tracks] if subs else []
    if not applied:
        return 0
    rows = [
        {
            "workspace_id": workspace_id,
            "kind": KIND,
            "customer_id": c["customer_id"],
            "payload": {
                "subscription": s.id,
                "id": str(uuid.uuid4()),
                "track": c["track"],
                "from": c["from_status"],
                "to": c["to_status"],
                "source": c["source"],
                "actor": c["actor"],
                "occurred_at": aware(c["at"]).isoformat(),
            },
            "due_at": now,
            "attempts": 0,
            "last_error": "",
            "created_at": now,
        }
        for c in applied
        for s in subs
        if (s.track is None or s.track == c["track"]) and (s.status is None or s.status == c["to_status"])
    ]
    if rows:
        conn.execute(insert(OUT), rows)
    return len(rows)
