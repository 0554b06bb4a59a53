"""Nudges: a customer waiting on us past the workspace's threshold, in business hours, once per wait."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, exists, insert, select
from sqlalchemy.exc import IntegrityError

from plugin.clock import aware
from plugin.db import reading, transaction
from plugin.schema import Customer, CustomerStatus, Nudge, OutboxItem, Workspace
from plugin.statuses import load_catalog

log = logging.getLogger("statushub.nudges")

KIND = "nudge"
DEFAULT_MINUTES = 15
DEFAULT_HOURS = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}
BATCH = 500
NUDGES = Nudge.__table__
CS = CustomerStatus.__table__
C = Customer.__table__


def in_business_hours(settings: dict, now: datetime) -> bool:
    """Is `now` inside the workspace's business hours, in its time zone (default UTC, Mon–Fri 9–17)?"""
    try:
        zone = ZoneInfo(settings.get("time_zone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")  # a bad setting must not stop the worker; the console validates it
    hours = settings.get("business_hours") or DEFAULT_HOURS
    local = now.astimezone(zone)
    if local.weekday() not in hours.get("days", DEFAULT_HOURS["days"]):
        return False
    start = time.fromisoformat(hours.get("start", DEFAULT_HOURS["start"]))
    end = time.fromisoformat(hours.get("end", DEFAULT_HOURS["end"]))
    return start <= local.time().replace(tzinfo=None) < end


def scan_nudges(engine: Engine, now: datetime, *, limit: int = BATCH) -> int:
    """Queues one `nudge` outbox item per overdue wait; returns how many it queued."""
    with reading(engine) as conn:
        workspaces = conn.execute(select(Workspace.id, Workspace.settings)).all()
    queued = 0
    for ws, settings in workspaces:
        settings = settings or {}
        if queued >= limit or not in_business_hours(settings, now):
            continue
        minutes = int(settings.get("nudge_minutes") or DEFAULT_MINUTES)
        try:
            with transaction(engine) as conn:
                queued += _queue(conn, ws, now - timedelta(minutes=minutes), now, limit - queued)
        except IntegrityError:  # another worker queued the same waits first: nothing to add
            log.info("nudges already queued by another worker", extra={"workspace": ws})
    return queued


def _queue(conn: Connection, ws: int, cutoff: datetime, now: datetime, limit: int) -> int:
    catalog = load_catalog(conn, ws)
    waiting = catalog.status("reply", "in_progress")
    if waiting is None:
        return 0
    nudged = exists().where(
        NUDGES.c.workspace_id == ws,
        NUDGES.c.customer_id == C.c.id,
        NUDGES.c.waiting_since == C.c.waiting_since,
    )
    rows = conn.execute(
        select(C.c.id, C.c.name, C.c.waiting_since)
        .join(CS, (CS.c.workspace_id == ws) & (CS.c.customer_id == C.c.id))
        .where(
            C.c.workspace_id == ws,
            C.c.archived_at.is_(None),
            C.c.waiting_since.is_not(None),
            C.c.waiting_since <= cutoff,
            CS.c.track_id == catalog.tracks["reply"].id,
            CS.c.status_id == waiting.id,
            ~nudged,
        )
        .order_by(C.c.waiting_since, C.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    conn.execute(
        insert(NUDGES),
        [
            {"workspace_id": ws, "customer_id": r.id, "waiting_since": r.waiting_since, "created_at": now}
            for r in rows
        ],
    )
    conn.execute(
        insert(OutboxItem),
        [
            {
                "workspace_id": ws,
                "kind": KIND,
                "customer_id": r.id,
                "payload": {"name": r.name, "waiting_since": aware(r.waiting_since).isoformat()},
                "due_at": now,
                "attempts": 0,
                "last_error": "",
                "created_at": now,
            }
            for r in rows
        ],
    )
    log.info("nudges queued", extra={"workspace": ws, "count": len(rows)})
    return len(rows)
