"""The engine's writes of status changes (statuses, customer columns, audit, alerts), batched per call."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, update

from plugin.driver_sql import executemany
from plugin.fold import Entry, State
from plugin.schema import Customer, CustomerStatus, OutboxItem, Status, StatusChange, Workspace
from plugin.statuses import Catalog, StatusInfo
from plugin.webhooks import queue_webhooks

C, CS = Customer.__table__, CustomerStatus.__table__

# Prebuilt statements for the hot path.
_INSERT_CHANGE = insert(StatusChange)
_INSERT_ALERT = insert(OutboxItem)
_UPDATE_STATUS = (
    update(CS)
    .where(
        and_(
            CS.c.workspace_id == bindparam("w"),
            CS.c.customer_id == bindparam("c"),
            CS.c.track_id == bindparam("t"),
        )
    )
    .values(status_id=bindparam("s"), entered_at=bindparam("e"))
)
_CUSTOMER_UPDATES: dict[tuple[str, ...], object] = {}


def _update_customer(columns: tuple[str, ...]):
    """UPDATE customers SET only `columns` (prebuilt once per column set): most messages change two."""
    stmt = _CUSTOMER_UPDATES.get(columns)
    if stmt is None:
        stmt = _CUSTOMER_UPDATES[columns] = (
            update(C)
            .where(and_(C.c.workspace_id == bindparam("w"), C.c.id == bindparam("c")))
            .values({name: bindparam(f"v_{name}") for name in columns})
        )
    return stmt


class Writes:
    """The writes of one engine call, gathered over all its customers and sent as one executemany
    per statement (the batch path pays per batch, not per customer)."""

    def __init__(self, catalog: Catalog, now: datetime) -> None:
        self.catalog, self.now = catalog, now
        self.statuses: list[dict] = []
        self.customers: dict[tuple[str, ...], list[dict]] = defaultdict(list)  # by columns changed
        self.changes: list[dict] = []
        self.message_ids: dict[int, int] = {}  # provisional id → stored id of the call's new messages
        self.alerts: list[dict] = []
        self.left: list[StatusInfo] = []

    def add(
        self,
        customer_id: int,
        before: State,
        after: State,
        entries: list[Entry],
    ) -> None:
        catalog, ws, now = self.catalog, self.catalog.workspace_id, self.now
        for track, (key, entered) in after.statuses.items():
            if before.statuses.get(track) == (key, entered):
                continue
            status = catalog.status(track, key)
            if status is not None:
                self.statuses.append(
                    {
                        "w": ws,
                        "c": customer_id,
                        "t": catalog.tracks[track].id,
                        "s": status.id,
                        "e": entered or now,
                    }
                )
            old = catalog.status(track, before.statuses[track][0]) if track in before.statuses else None
            if old is not None and old.archived and old.key != key:
                self.left.append(old)
        changed = {}
        if after.opted_out != before.opted_out:
            changed["opted_out"] = after.opted_out
        if after.last_inbound_at != before.last_inbound_at:
            changed["last_inbound_at"] = after.last_inbound_at
        if after.last_outbound_at != before.last_outbound_at:
            changed["last_outbound_at"] = after.last_outbound_at
        if after.waiting_since != before.waiting_since:
            changed["waiting_since"] = after.waiting_since
        horizon = after.horizon[0] if after.horizon else None
        if horizon != (before.horizon[0] if before.horizon else None):
            changed["horizon_at"] = horizon
        key = after.statuses["stage"][0] if "stage" in after.statuses else None
        if key != (before.statuses["stage"][0] if "stage" in before.statuses else None):
            stage = catalog.status("stage", key) if key else None
            changed["priority_open"] = not (stage and stage.terminal)
            changed["priority_rank"] = stage.position if stage else 0
        if changed:
            row = {"w": ws, "c": customer_id}
            row.update({f"v_{name}": value for name, value in changed.items()})
            self.customers[tuple(changed)].append(row)
        for e in entries:
            self.changes.append(
                {
                    "workspace_id": ws,
                    "customer_id": customer_id,
                    "track": e.track,
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "source": e.source,
                    "actor": e.actor,
                    "note": e.note,
                    "applied": e.applied,
                    "reason": e.reason,
                    "message_id": e.message_id,
                    "at": e.at,
                    "recorded_at": now,
                }
            )
            if e.applied:
                status = catalog.status(e.track, e.to_status)
                if status is not None and status.alert:
                    self.alerts.append(_alert(ws, customer_id, e, now))

    def flush(self, conn: Connection) -> None:
        if self.statuses:
            executemany(conn, _UPDATE_STATUS, self.statuses)
        for columns, rows in self.customers.items():
            executemany(conn, _update_customer(columns), rows)
        if self.changes:
            ids = self.message_ids
            for row in self.changes:
                mid = row["message_id"]
                if mid is not None and mid < 0:
                    row["message_id"] = ids[mid]
            executemany(conn, _INSERT_CHANGE, self.changes)
            queue_webhooks(conn, self.catalog, self.changes, self.now)  # same transaction (SPEC §9)
        if self.alerts:
            conn.execute(_INSERT_ALERT, self.alerts)
        if self.left:
            _purge_archived(conn, self.catalog, self.left)


def _alert(ws: int, customer_id: int, e: Entry, now: datetime) -> dict:
    """Entering a status with `alert` queues a notification in the same transaction (the outbox)."""
    return {
        "workspace_id": ws,
        "kind": "alert",
        "customer_id": customer_id,
        "payload": {
            "track": e.track,
            "from": e.from_status,
            "to": e.to_status,
            "source": e.source,
            "actor": e.actor,
            "note": e.note,
            "at": e.at.isoformat(),
        },
        "due_at": now,
        "attempts": 0,
        "last_error": "",
        "created_at": now,
    }


def _purge_archived(conn: Connection, catalog: Catalog, left: list[StatusInfo]) -> None:
    """An archived status is deleted for real when its last customer leaves it (SPEC §3)."""
    purged = 0
    for status in {s.id: s for s in left}.values():
        occupied = exists().where(CS.c.workspace_id == catalog.workspace_id, CS.c.status_id == status.id)
        purged += conn.execute(
            delete(Status).where(
                Status.workspace_id == catalog.workspace_id,
                Status.id == status.id,
                Status.archived_at.is_not(None),
                ~occupied,
            )
        ).rowcount
    if purged:
        conn.execute(
            update(Workspace)
            .where(Workspace.id == catalog.workspace_id)
            .values(catalog_version=Workspace.catalog_version + 1)
        )
