"""The engine's writes of status changes (statuses, customer columns, audit, alerts), batched per call."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, update

from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.fold import Entry, State
from plugin.engine.webhook_queue import queue_webhooks
from plugin.engine.writeback_queue import queue_writebacks
from plugin.store.bulk import executemany
from plugin.store.prepared import Prepared
from plugin.store.schema import (
    Customer,
    CustomerStatus,
    OutboxItem,
    Status,
    StatusChange,
    Workspace,
    outbox_lane,
    table_of,
)

C, CS = table_of(Customer), table_of(CustomerStatus)

# Prebuilt statements for the hot path.
_INSERT_CHANGE = Prepared(insert(StatusChange))
_INSERT_ALERT = Prepared(insert(OutboxItem))
_UPDATE_STATUS = Prepared(
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
_CUSTOMER_UPDATES: dict[tuple[str, ...], Prepared] = {}


def _update_customer(keys: tuple[str, ...]):
    """UPDATE customers SET only the columns a row's keys name ("w", "c", then "v_<column>"...),
    prebuilt once per set: most messages change two."""
    stmt = _CUSTOMER_UPDATES.get(keys)
    if stmt is None:
        stmt = _CUSTOMER_UPDATES[keys] = Prepared(
            update(C)
            .where(and_(C.c.workspace_id == bindparam("w"), C.c.id == bindparam("c")))
            .values({key.removeprefix("v_"): bindparam(key) for key in keys[2:]})
        )
    return stmt


class Writes:
    """The writes of one engine call, gathered over all its customers and sent as one executemany
    per statement (the batch path pays per batch, not per customer)."""

    def __init__(self, catalog: Catalog, now: datetime) -> None:
        self.catalog, self.now = catalog, now
        self.statuses: list[dict] = []
        self.customers: dict[tuple[str, ...], list[dict]] = defaultdict(list)  # by their keys
        self.track_ids = {key: track.id for key, track in catalog.tracks.items()}
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
        status_of, track_ids = catalog.status, self.track_ids
        was = before.statuses
        for track, held in after.statuses.items():
            old = was.get(track)
            if old == held:
                continue
            key, entered = held
            status = status_of(track, key)
            if status is not None:
                self.statuses.append(
                    {"w": ws, "c": customer_id, "t": track_ids[track], "s": status.id, "e": entered or now}
                )
            left = status_of(track, old[0]) if old is not None else None
            if left is not None and left.archived and left.key != key:
                self.left.append(left)
        row: dict[str, object] = {"w": ws, "c": customer_id}
        if after.opted_out != before.opted_out:
            row["v_opted_out"] = after.opted_out
        if after.last_inbound_at != before.last_inbound_at:
            row["v_last_inbound_at"] = after.last_inbound_at
        if after.last_outbound_at != before.last_outbound_at:
            row["v_last_outbound_at"] = after.last_outbound_at
        if after.waiting_since != before.waiting_since:
            row["v_waiting_since"] = after.waiting_since
        horizon = after.horizon[0] if after.horizon else None
        if horizon != (before.horizon[0] if before.horizon else None):
            row["v_horizon_at"] = horizon
        stage_key: str | None = after.statuses["stage"][0] if "stage" in after.statuses else None
        if stage_key != (was["stage"][0] if "stage" in was else None):
            stage = status_of("stage", stage_key) if stage_key else None
            row["v_priority_open"] = not (stage and stage.terminal)
            row["v_priority_rank"] = stage.position if stage else 0
        if len(row) > 2:
            self.customers[tuple(row)].append(row)
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
                    "confidence": e.confidence,
                    "at": e.at,
                    "recorded_at": now,
                }
            )
            if e.applied:
                status = status_of(e.track, e.to_status)
                if status is not None and status.alert:
                    self.alerts.append(_alert(ws, customer_id, e, now))

    def write_states(self, conn: Connection) -> None:
        """The customers' statuses and columns, which need no message id: the batch path writes them
        before inserting its messages, where SQLite updates statuses faster (bench/FIGURES.md)."""
        if self.statuses:
            executemany(conn, _UPDATE_STATUS, self.statuses)
        for keys, rows in self.customers.items():
            executemany(conn, _update_customer(keys), rows)
        self.statuses, self.customers = [], defaultdict(list)

    def flush(self, conn: Connection) -> None:
        """Everything not written yet."""
        self.write_states(conn)
        if self.changes:
            ids = self.message_ids
            for row in self.changes:
                mid = row["message_id"]
                if mid is not None and mid < 0:
                    row["message_id"] = ids[mid]
            executemany(conn, _INSERT_CHANGE, self.changes)
            queue_webhooks(conn, self.catalog, self.changes, self.now)  # same transaction (SPEC §9)
            queue_writebacks(conn, self.catalog, self.changes, self.now)  # and Chatwoot's (SPEC §11)
        if self.alerts:
            for alert in self.alerts:
                mid = alert["payload"]["message_id"]
                if mid is not None and mid < 0:
                    alert["payload"]["message_id"] = self.message_ids.get(mid)
            executemany(conn, _INSERT_ALERT, self.alerts)
        if self.left:
            _purge_archived(conn, self.catalog, self.left)


def _alert(ws: int, customer_id: int, e: Entry, now: datetime) -> dict:
    """Entering a status with `alert` queues a notification in the same transaction (the outbox). The
    row names its lane itself, so the insert runs as the prebuilt statement it is (a column default
    computed in Python would send it through SQLAlchemy's executemany)."""
    return {
        "workspace_id": ws,
        "kind": "alert",
        "customer_id": customer_id,
        "lane": outbox_lane("alert", customer_id, None),
        "payload": {
            "track": e.track,
            "from": e.from_status,
            "to": e.to_status,
            "source": e.source,
            "actor": e.actor,
            "note": e.note,
            "message_id": e.message_id,  # the message that triggered it, shown in the alert
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
