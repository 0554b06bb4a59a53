"""Reports over the API: counts, transitions and conversion, time in status, CSV export."""

from __future__ import annotations

from flask import Response

from plugin.app.api import schemas as s
from plugin.app.api.customers import customer_filter
from plugin.app.api.endpoint import Call, route
from plugin.customers.reports import customers_csv, status_counts, time_in_status, transitions
from plugin.domain.errors import StatushubError

TAGS = ("reports",)


@route(
    "/reports/counts",
    "GET",
    summary="Customers per status per track",
    response=s.Counts,
    replica=True,
    tags=TAGS,
)
def counts(call: Call):
    return {"counts": status_counts(call.conn, call.catalog)}


@route(
    "/reports/transitions",
    "GET",
    summary="Changes from → to over [since, until); with from and to, the conversion rate between them",
    query=s.TransitionsQuery,
    response=s.Transitions,
    replica=True,
    tags=TAGS,
)
def transitions_(call: Call):
    q = call.query
    if ("from_" in q) != ("to" in q):
        raise StatushubError(
            "give both from and to for a conversion rate", field="to" if "from_" in q else "from"
        )
    if q.get("since") and q.get("until") and q["since"] >= q["until"]:
        raise StatushubError("since must be before until", field="until")
    start = call.catalog.resolve(q["from_"], manual=False) if "from_" in q else None
    goal = call.catalog.resolve(q["to"], manual=False) if "to" in q else None
    return transitions(
        call.conn, call.catalog, since=q.get("since"), until=q.get("until"), start=start, goal=goal
    )


@route(
    "/reports/time-in-status",
    "GET",
    summary="Median time customers spend in each status",
    query=s.TimeQuery,
    response=s.TimeInStatus,
    replica=True,
    tags=TAGS,
)
def time_in_status_(call: Call):
    return {"tracks": time_in_status(call.conn, call.catalog, track=call.query.get("track"))}


@route(
    "/reports/customers.csv",
    "GET",
    summary="The filtered customer list as CSV",
    query=s.CsvQuery,
    content_type="text/csv",
    replica=True,
    tags=TAGS,
)
def csv_(call: Call):
    text = customers_csv(call.conn, call.catalog, customer_filter(call, sort="id"))
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=customers.csv"}
    )
