"""Reports: counts per status per track, transitions over a period, median time in status; CSV too.

Counts and medians are the API's figures (plugin.customers.reports): archived customers are not
counted, and a median counts every stay, the current one up to now, shown here in hours."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from flask import Response, render_template, request
from sqlalchemy import Connection

from plugin.app.console import bp
from plugin.app.console.auth import read_engine, visitor
from plugin.app.console.charts import bar_chart
from plugin.customers.reports import csv_writer, customers_per_status, spreadsheet_safe, time_in_status
from plugin.customers.reports import transitions as report_transitions
from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware, utcnow
from plugin.domain.errors import StatushubError
from plugin.store.db import reading
from plugin.store.schema import StatusChange, table_of
from plugin.workspace.catalog import load_catalog

SC = table_of(StatusChange)
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


def median_hours(conn: Connection, catalog: Catalog) -> dict[tuple[str, str], float]:
    """The API's median time in status (every stay, the current one up to now), shown in hours."""
    found = time_in_status(conn, catalog)
    return {
        (track, key): round(figure["median_seconds"] / 3600, 1)
        for track, statuses in found.items()
        for key, figure in statuses.items()
        if figure["median_seconds"] is not None
    }


def _counts_rows(catalog: Catalog, counts: dict[int, int]) -> list[tuple]:
    return [(t.key, s, counts.get(s.id, 0)) for t in catalog.tracks.values() for s in t.statuses]


@bp.get("/reports")
def reports():
    me = visitor()
    start, end = period()
    with reading(read_engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        counts = _counts_rows(catalog, customers_per_status(conn, catalog))
        moves = transitions(conn, catalog, start, end)
        medians = median_hours(conn, catalog)
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
            (label.get(k, k[1]), v, status.color if (status := catalog.status(*k)) else "#9ca3af")
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
    with reading(read_engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        if kind == "counts":
            writer.writerow(["track", "status", "label", "archived", "customers"])
            for track, s, n in _counts_rows(catalog, customers_per_status(conn, catalog)):
                writer.writerow([track, s.key, spreadsheet_safe(s.label), s.archived, n])
        elif kind == "transitions":
            writer.writerow(["track", "from", "to", "count"])
            writer.writerows(transitions(conn, catalog, start, end))
        elif kind == "time-in-status":
            writer.writerow(["track", "status", "median_hours"])
            for (track, key), hours in sorted(median_hours(conn, catalog).items()):
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
