"""Alerts and nudges the alert channel never got: dead-lettered outbox items, listed with the reason
(and what to do about it) and sent again once the admin has fixed the set-up (SPEC §11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from plugin.automation.outbox import OUT
from plugin.domain.clock import aware
from plugin.domain.errors import NotFound
from plugin.store.schema import Customer, table_of

KINDS = ("alert", "nudge")  # what goes to the workspace's Slack alert channel
C = table_of(Customer)


@dataclass(frozen=True)
class FailedAlert:
    id: int
    kind: str
    customer_id: int | None
    customer_name: str | None
    change: str  # `stage: greeting → hot_lead` for an alert, "" for a nudge
    reason: str
    attempts: int
    at: datetime  # when it was given up

    def document(self) -> dict:
        """The `statushub alerts failed --json` shape: {"id", "customer", "reason", "at", ...}."""
        return {
            "id": self.id,
            "customer": self.customer_id,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "name": self.customer_name,
            "change": self.change,
            "attempts": self.attempts,
        }


def failed_alerts(conn: Connection, workspace_id: int) -> list[FailedAlert]:
    """The workspace's dead-lettered alerts and nudges, latest first."""
    rows = conn.execute(
        select(
            OUT.c.id,
            OUT.c.kind,
            OUT.c.customer_id,
            C.c.name,
            OUT.c.payload,
            OUT.c.last_error,
            OUT.c.attempts,
            OUT.c.dead_at,
        )
        .outerjoin(C, (C.c.workspace_id == OUT.c.workspace_id) & (C.c.id == OUT.c.customer_id))
        .where(OUT.c.workspace_id == workspace_id, OUT.c.kind.in_(KINDS), OUT.c.dead_at.is_not(None))
        .order_by(OUT.c.dead_at.desc(), OUT.c.id.desc())
    ).all()
    return [
        FailedAlert(
            r.id,
            r.kind,
            r.customer_id,
            r.name,
            _change(r.payload or {}) if r.kind == "alert" else "",
            r.last_error,
            r.attempts,
            aware(r.dead_at),
        )
        for r in rows
    ]


def _change(payload: dict) -> str:
    return f"{payload.get('track', '')}: {payload.get('from') or '—'} → {payload.get('to', '')}"


def retry_alert(conn: Connection, workspace_id: int, item_id: int | None, now: datetime) -> int:
    """Queues a failed alert again (`item_id`), or every failed one (None), due now with a fresh 24 h
    of retries; returns how many. An id that is not a failed alert of the workspace is NotFound."""
    query = update(OUT).where(
        OUT.c.workspace_id == workspace_id, OUT.c.kind.in_(KINDS), OUT.c.dead_at.is_not(None)
    )
    if item_id is not None:
        query = query.where(OUT.c.id == item_id)
    done = conn.execute(
        query.values(dead_at=None, due_at=now, attempts=0, last_error="", created_at=now)
    ).rowcount
    if item_id is not None and not done:
        known = [str(f.id) for f in failed_alerts(conn, workspace_id)]
        raise NotFound(f"no failed alert {item_id}", choices=known, field="id")
    return done
