"""Reports: counts per status per track, transitions over a period, median time in status; CSV too."""

from __future__ import annotations

import io
import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from flask import Response, render_template, request
from sqlalchemy import Connection, select

from plugin.app.console import bp
from plugin.app.console.auth import engine, visitor
from plugin.app.console.charts import bar_chart
from plugin.app.console.views_board import status_counts
from plugin.customers.reports import csv_writer, spreadsheet_safe
from plugin.customers.reports import transitions as report_transitions
from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware, utcnow
from plugin.domain.errors import StatushubError
from plugin.store.db import reading
from plugin.store.schema import StatusChange
from plugin.workspace.catalog import load_catalog

SC = StatusChange.__table__
SCAN = 200_000  # applied changes read for time-in-status; a console report, not a warehouse


def period() -> tuple[datetime, datetime]:
    """`from`/`to` as YYYY-MM-DD (to inclusive); the last 30 days by default."""
    now = utcnow()
    try:
        end = (
            datetime.fromisoformat(request.args["to"]) + timedelta(days=1) if request.args.get("to") else now
        )
        start = (
            datetime.fromisoformat(request.args["from"])
            if request.args.get("from")
            else end - timedelta(days=30)
        )
    except (ValueError, OverflowError):  # OverflowError: a period reaching past year 1 or 9999
        raise StatushubError("from and to are dates as YYYY-MM-DD", field="from") from None
    start, end = aware(start), aware(end)
    if start >= end:
        raise StatushubError("the period starts after it ends", field="from")
    return start, end


def transitions(conn: Connection, catalog: Catalog, start: datetime, end: datetime) -> list[tuple]:
    """(track, from, to, count) of applied changes made in the period, most frequent first."""
    found = report_transitions(conn, catalog, since=start, until=end)["transitions"]
    return [(t["track"], t["from"], t["to"], t["count"]) for t in found]


def time_in_status(conn: Connection, workspace_id: int, start: datetime, end: datetime) -> dict:
    """Median hours spent in a status, over the stays that ended in the period, per (track, status)."""
    rows = conn.execute(
        select(SC.c.customer_id, SC.c.track, SC.c.to_status, SC.c.at)
        .where(SC.c.workspace_id == workspace_id, SC.c.applied.is_(True), SC.c.at < end)
        .order_by(SC.c.customer_id, SC.c.track, SC.c.at, SC.c.id)
        .limit(SCAN)
    )
    stays: dict[tuple[str, str], list[float]] = defaultdict(list)
    previous: dict[tuple[int, str], tuple[str, datetime]] = {}
    for customer_id, track, to_status, at in rows:
        at = aware(at)
        before = previous.get((customer_id, track))
        if before is not None and at >= start:
            stays[(track, before[0])].append((at - before[1]).total_seconds() / 3600)
        previous[(customer_id, track)] = (to_status, at)
    return {k: round(statistics.median(v), 1) for k, v in stays.items()}


def _counts_rows(catalog: Catalog, counts: dict[int, int]) -> list[tuple]:
    return [(t.key, s, counts.get(s.id, 0)) for t in catalog.tracks.values() for s in t.statuses]


@bp.get("/reports")
def reports():
    me = visitor()
    start, end = period()
    with reading(engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        counts = _counts_rows(catalog, status_counts(conn, me.workspace_id))
        moves = transitions(conn, catalog, start, end)
        medians = time_in_status(conn, me.workspace_id, start, end)
    charts = {
        t.key: bar_chart(
            f"Customers per status on {t.label}",
            [(s.badge, n, s.color) for track, s, n in counts if track == t.key],
        )
        for t in catalog.tracks.values()
    }
    label = {(s.track, s.key): s.badge for s in catalog.by_id.values()}
    move_chart = bar_chart(
        "Transitions in the period",
        [(f"{label.get((t, a), a)} → {label.get((t, b), b)}", n, "#6366f1") for t, a, b, n in moves[:15]],
    )
    time_chart = bar_chart(
        "Median hours in status",
        [
            (label.get(k, k[1]), v, catalog.status(*k).color if catalog.status(*k) else "#9ca3af")
            for k, v in sorted(medians.items())
        ],
        unit=" h",
    )
    return render_template(
        "reports.html",
        catalog=catalog,
        counts=counts,
        moves=moves,
        medians=sorted(medians.items()),
        label=label,
        charts=charts,
        move_chart=move_chart,
        time_chart=time_chart,
        period_args={k: v for k, v in request.args.items() if k in ("from", "to")},
        start=start.date().isoformat(),
        end=(end - timedelta(days=1)).date().isoformat()
        if request.args.get("to")
        else end.date().isoformat(),
    )


@bp.get("/reports/<kind>.csv")
def report_csv(kind: str):
    me = visitor()
    start, end = period()
    out = io.StringIO()
    writer = csv_writer(out)
    with reading(engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        if kind == "counts":
            writer.writerow(["track", "status", "label", "archived", "customers"])
            for track, s, n in _counts_rows(catalog, status_counts(conn, me.workspace_id)):
                writer.writerow([track, s.key, spreadsheet_safe(s.label), s.archived, n])
        elif kind == "transitions":
            writer.writerow(["track", "from", "to", "count"])
            writer.writerows(transitions(conn, catalog, start, end))
        elif kind == "time-in-status":
            writer.writerow(["track", "status", "median_hours"])
            for (track, key), hours in sorted(time_in_status(conn, me.workspace_id, start, end).items()):
                writer.writerow([track, key, hours])
        else:
            raise StatushubError(
                f"no report {kind!r}", choices=["counts", "transitions", "time-in-status"], field="kind"
            )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="statushub-{kind}.csv"'},
    )
