"""Nudges, in business hours: a customer waiting on us past the workspace's threshold (once per wait),
and a Cold Lead left untouched for days, to suggest a follow-up (once per stay)."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, exists, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from plugin.domain.clock import aware
from plugin.store.db import reading, transaction
from plugin.store.schema import (
    Activity,
    Customer,
    CustomerStatus,
    FollowUpNudge,
    Nudge,
    OutboxItem,
    Workspace,
    table_of,
)
from plugin.workspace.catalog import load_catalog

log = logging.getLogger("statushub.nudges")

KIND = "nudge"
DEFAULT_MINUTES = 15
DEFAULT_FOLLOWUP_DAYS = 2
DEFAULT_HOURS = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}
BATCH = 500
NUDGES = table_of(Nudge)
FOLLOW_UPS = table_of(FollowUpNudge)
ACTIVITIES = table_of(Activity)
CS = table_of(CustomerStatus)
C = table_of(Customer)


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
    start = time.fromisoformat(str(hours.get("start", DEFAULT_HOURS["start"])))
    end = time.fromisoformat(str(hours.get("end", DEFAULT_HOURS["end"])))
    return start <= local.time().replace(tzinfo=None) < end


def scan_nudges(engine: Engine, now: datetime, *, limit: int = BATCH) -> int:
    """Queues one `nudge` outbox item per overdue wait and per Cold Lead stay left untouched past the
    workspace's `followup_days`; returns how many it queued."""
    with reading(engine) as conn:
        workspaces = conn.execute(select(Workspace.id, Workspace.settings)).all()
    queued = 0
    for ws, settings in workspaces:
        if queued >= limit:
            break
        try:
            queued += _scan_workspace(engine, ws, settings or {}, now, limit - queued)
        except Exception:  # one workspace's bad settings never stop the others (SPEC §12)
            log.exception("nudges skipped for a workspace", extra={"workspace": ws})
    return queued


def _scan_workspace(engine: Engine, ws: int, settings: dict, now: datetime, limit: int) -> int:
    if not in_business_hours(settings, now):
        return 0
    # `nudge_after_minutes` is what the settings API writes; `nudge_minutes` is the older name.
    minutes = int(settings.get("nudge_after_minutes") or settings.get("nudge_minutes") or DEFAULT_MINUTES)
    days = int(settings.get("followup_days") or DEFAULT_FOLLOWUP_DAYS)
    scans = (
        (_queue, now - timedelta(minutes=minutes)),
        (_queue_follow_ups, now - timedelta(days=days)),
    )
    queued = 0
    for scan, cutoff in scans:
        if queued >= limit:
            break
        try:
            with transaction(engine) as conn:
                queued += scan(conn, ws, cutoff, now, limit - queued)
        except IntegrityError:  # another worker queued the same nudges first: nothing to add
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
                "payload": {
                    "kind": "wait",
                    "name": r.name,
                    "waiting_since": aware(r.waiting_since).isoformat(),
                },
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


def _queue_follow_ups(conn: Connection, ws: int, cutoff: datetime, now: datetime, limit: int) -> int:
    """Cold Leads whose last touch (stay start, last message either way, last logged activity) is
    before `cutoff`, not yet nudged for this stay."""
    catalog = load_catalog(conn, ws)
    cold = catalog.status("stage", "cold_lead")
    if cold is None or cold.archived:
        return 0
    last_activity = (
        select(func.max(ACTIVITIES.c.at))
        .where(ACTIVITIES.c.workspace_id == ws, ACTIVITIES.c.customer_id == C.c.id)
        .scalar_subquery()
    )
    nudged = exists().where(
        FOLLOW_UPS.c.workspace_id == ws,
        FOLLOW_UPS.c.customer_id == C.c.id,
        FOLLOW_UPS.c.stay_started_at == CS.c.entered_at,
    )
    rows = conn.execute(
        select(
            C.c.id,
            C.c.name,
            CS.c.entered_at,
            C.c.last_inbound_at,
            C.c.last_outbound_at,
            last_activity.label("last_activity"),
        )
        .join(CS, (CS.c.workspace_id == ws) & (CS.c.customer_id == C.c.id))
        .where(
            C.c.workspace_id == ws,
            C.c.archived_at.is_(None),
            C.c.opted_out.is_(False),  # they asked us to stop: no follow-up to suggest
            CS.c.track_id == catalog.tracks["stage"].id,
            CS.c.status_id == cold.id,
            CS.c.entered_at <= cutoff,
            or_(C.c.last_inbound_at.is_(None), C.c.last_inbound_at <= cutoff),
            or_(C.c.last_outbound_at.is_(None), C.c.last_outbound_at <= cutoff),
            or_(last_activity.is_(None), last_activity <= cutoff),
            ~nudged,
        )
        .order_by(CS.c.entered_at, C.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    conn.execute(
        insert(FOLLOW_UPS),
        [
            {"workspace_id": ws, "customer_id": r.id, "stay_started_at": r.entered_at, "created_at": now}
            for r in rows
        ],
    )
    items = []
    for r in rows:
        touched = [
            aware(t) for t in (r.entered_at, r.last_inbound_at, r.last_outbound_at, r.last_activity) if t
        ]
        last = max(touched)
        payload = {
            "kind": "follow_up",
            "name": r.name,
            "status": cold.badge,
            "since": aware(r.entered_at).isoformat(),
            "last_touched_at": last.isoformat(),
            "days": (now - last).days,
        }
        items.append(
            {
                "workspace_id": ws,
                "kind": KIND,
                "customer_id": r.id,
                "payload": payload,
                "due_at": now,
                "attempts": 0,
                "last_error": "",
                "created_at": now,
            }
        )
    conn.execute(insert(OutboxItem), items)
    log.info("follow-up nudges queued", extra={"workspace": ws, "count": len(rows)})
    return len(rows)
