"""The board: a filter button per status with its count, the priority queue, and the stage board."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask import redirect, render_template, request, url_for
from sqlalchemy import Connection, select

from plugin.app.console import bp
from plugin.app.console.auth import command, engine, read_engine, safe_back, visitor
from plugin.customers.naming import resolve_customer
from plugin.customers.queries import statuses_of
from plugin.customers.read_model import priority_queue
from plugin.customers.reports import customers_per_status
from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.clock import aware, utcnow
from plugin.domain.errors import StatushubError
from plugin.engine import assign_status
from plugin.store.db import reading, transaction
from plugin.store.schema import Customer, CustomerStatus, table_of
from plugin.workspace.catalog import load_catalog

C, CS = table_of(Customer), table_of(CustomerStatus)
PAGE = 50  # rows of the priority queue per page
MAX_PAGE = 1_000_000  # 50 million customers deep; further offsets would overflow the database's integers
COLUMN = 20  # cards per stage column; "+N more" opens the column's full, paginated queue


def stage_column(conn: Connection, catalog: Catalog, status: StatusInfo, limit: int = COLUMN) -> Sequence:
    """One column's cards, read from the priority columns the engine keeps in step with `stage` (every
    holder of a stage status has its position as rank), so the priority index walks them in order."""
    query = (
        select(C.c.id, C.c.name, C.c.waiting_since)
        .where(
            C.c.workspace_id == catalog.workspace_id,
            C.c.priority_open == (not status.terminal),
            C.c.priority_rank == status.position,
            C.c.archived_at.is_(None),  # counted as the filter buttons count: archived customers are not
        )
        .order_by(C.c.waiting_since.asc().nulls_last(), C.c.id.asc())
        .limit(limit)
    )
    return conn.execute(query).all()


def waited(since: datetime | None, now: datetime) -> str:
    """'3h 20m' since the first unanswered inbound message, or '' when nobody waits."""
    if since is None:
        return ""
    minutes = max(0, int((now - aware(since)).total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


@bp.get("/")
def board():
    me = visitor()
    wanted = request.args.get("status", "")
    page = _page(request.args.get("page", "0"))
    with reading(read_engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        status = catalog.resolve(wanted, manual=False) if wanted else None
        counts = customers_per_status(conn, catalog)
        queue = priority_queue(conn, catalog, status, offset=page * PAGE, limit=PAGE + 1)
        more = len(queue) > PAGE
        queue = queue[:PAGE]
        stage = catalog.tracks.get("stage")
        columns = []
        if stage is not None:
            for s in stage.statuses:
                if s.archived and not counts.get(s.id):
                    continue
                columns.append((s, stage_column(conn, catalog, s), counts.get(s.id, 0)))
        held = statuses_of(conn, catalog, [r.id for r in queue])
    now = utcnow()
    return render_template(
        "board.html",
        catalog=catalog,
        counts=counts,
        selected=status,
        queue=queue,
        badges={
            cid: [st for t, k in keys.items() if (st := catalog.status(t, k))] for cid, keys in held.items()
        },
        columns=columns,
        waited=lambda since: waited(since, now),
        page=page,
        more=more,
    )


def _page(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 7 and int(raw) <= MAX_PAGE):
        raise StatushubError(f"page is a whole number from 0 to {MAX_PAGE}", field="page")
    return int(raw)


@bp.post("/board/move")
def move_card():
    """A card dropped on a column (or moved with the keyboard fallback): a manual stage change."""
    me = visitor()
    customer_id = request.form.get("customer", type=int)
    with transaction(engine()) as conn:
        cmd = command(conn)
        catalog = cmd.catalog
        cid = resolve_customer(conn, me.workspace_id, f"#{customer_id}" if customer_id else "")
        target = catalog.resolve(request.form.get("status", ""), track="stage")
        assign_status(
            conn,
            catalog,
            cid,
            target,
            actor=me.actor,
            note=request.form.get("note", ""),
            classify=cmd.classify,
        )
    return redirect(safe_back(request.form.get("back"), url_for("console.board")))
