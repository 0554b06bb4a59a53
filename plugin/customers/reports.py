"""Reports: counts per status, transitions and conversion over a period, time in status, CSV (SPEC §5)."""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, func, select, true

from plugin.customers.queries import CustomerFilter, identities_of, statuses_of, where_clause
from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.clock import aware, utcnow
from plugin.store.schema import Customer, CustomerStatus, StatusChange, table_of

C, CS, SC = table_of(Customer), table_of(CustomerStatus), table_of(StatusChange)


def customers_per_status(conn: Connection, catalog: Catalog) -> dict[int, int]:
    """{status id: customers on it}, every track at once. Archived customers are not counted: every
    surface (API, console, CLI, demo) shows this one figure."""
    rows = conn.execute(
        select(CS.c.status_id, func.count())
        .select_from(CS.join(C, (C.c.workspace_id == CS.c.workspace_id) & (C.c.id == CS.c.customer_id)))
        .where(CS.c.workspace_id == catalog.workspace_id, C.c.archived_at.is_(None))
        .group_by(CS.c.status_id)
    )
    return {status_id: count for status_id, count in rows}


def status_counts(conn: Connection, catalog: Catalog) -> dict[str, dict[str, int]]:
    """Customers (not archived) on each status of each track; every listed status appears, zero or not."""
    out = {t.key: {s.key: 0 for s in t.statuses} for t in catalog.tracks.values()}
    for status_id, count in customers_per_status(conn, catalog).items():
        status = catalog.by_id.get(status_id)
        if status is not None:
            out[status.track][status.key] = count
    return out


def _applied(conn: Connection, workspace_id: int, since: datetime | None, until: datetime | None, track=None):
    query = select(SC.c.customer_id, SC.c.track, SC.c.from_status, SC.c.to_status, SC.c.at, SC.c.id).where(
        SC.c.workspace_id == workspace_id, SC.c.applied == true()
    )
    if since is not None:
        query = query.where(SC.c.at >= since)
    if until is not None:
        query = query.where(SC.c.at < until)
    if track is not None:
        query = query.where(SC.c.track == track)
    return conn.execute(query.order_by(SC.c.customer_id, SC.c.track, SC.c.at, SC.c.id)).all()


def transitions(
    conn: Connection,
    catalog: Catalog,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    start: StatusInfo | None = None,
    goal: StatusInfo | None = None,
) -> dict:
    """Applied changes from → to in [since, until), and, given two statuses, the conversion rate:
    of the customers who entered `start` in the period, the share who entered `goal` after it."""
    rows = _applied(conn, catalog.workspace_id, since, until)
    counts: dict[tuple[str, str | None, str], int] = defaultdict(int)
    for r in rows:
        # Only status tracks: an `opt_out` history entry (SPEC §11) is no transition between statuses.
        if r.from_status != r.to_status and r.track in catalog.tracks:
            counts[(r.track, r.from_status, r.to_status)] += 1
    out: dict = {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "transitions": [
            {"track": t, "from": f, "to": to, "count": n}
            for (t, f, to), n in sorted(
                counts.items(), key=lambda kv: (-kv[1], kv[0][0], str(kv[0][1]), kv[0][2])
            )
        ],
    }
    if start is not None and goal is not None:
        entered: dict[int, datetime] = {}
        converted: set[int] = set()
        for r in sorted(rows, key=lambda r: (aware(r.at), r.id)):
            if r.track == start.track and r.to_status == start.key and r.customer_id not in entered:
                entered[r.customer_id] = aware(r.at)
            elif r.track == goal.track and r.to_status == goal.key and r.customer_id in entered:
                converted.add(r.customer_id)
        out["conversion"] = {
            "from": f"{start.track}:{start.key}",
            "to": f"{goal.track}:{goal.key}",
            "entered": len(entered),
            "converted": len(converted),
            "rate": round(len(converted) / len(entered), 4) if entered else None,
        }
    return out


def time_in_status(
    conn: Connection, catalog: Catalog, *, track: str | None = None, now: datetime | None = None
) -> dict[str, dict[str, dict]]:
    """Median seconds customers spent in each status, read from the audit log: a stay runs from the
    change that entered it (or the customer's creation) to the change that left it. Ongoing stays count
    up to now, since leaving out everyone still waiting would make slow statuses look fast."""
    now = now or utcnow()
    ws = catalog.workspace_id
    tracks = [catalog.track(track)] if track else list(catalog.tracks.values())
    created = dict(conn.execute(select(C.c.id, C.c.created_at).where(C.c.workspace_id == ws)).all())
    current = statuses_of(conn, catalog, list(created))
    stays: dict[tuple[str, str], list[float]] = defaultdict(list)
    for t in tracks:
        last: dict[int, tuple[str, datetime]] = {}
        for r in _applied(conn, ws, None, None, t.key):
            status, began = last.get(r.customer_id, (r.from_status, aware(created.get(r.customer_id, r.at))))
            at = aware(r.at)
            if status is not None and status != r.to_status:
                stays[(t.key, status)].append(max(0.0, (at - began).total_seconds()))
            if status != r.to_status:
                last[r.customer_id] = (r.to_status, at)
        for cid, made in created.items():
            status, began = last.get(cid, (current[cid].get(t.key), aware(made)))
            if status is not None:
                stays[(t.key, status)].append(max(0.0, (now - began).total_seconds()))
    return {
        t.key: {
            s.key: {
                "stays": len(stays[(t.key, s.key)]),
                "median_seconds": statistics.median(stays[(t.key, s.key)]) if stays[(t.key, s.key)] else None,
            }
            for s in t.statuses
        }
        for t in tracks
    }


def customers_csv(conn: Connection, catalog: Catalog, flt: CustomerFilter) -> str:
    """The filtered list as CSV: one row a customer, one column a track."""
    tracks = list(catalog.tracks)
    buf = io.StringIO()
    writer = csv_writer(buf)
    writer.writerow(["id", "name", "identities", *tracks, "opted_out", "waiting_since"])
    rows = conn.execute(
        select(C.c.id, C.c.name, C.c.opted_out, C.c.waiting_since)
        .where(*where_clause(catalog, flt))
        .order_by(C.c.id)
    ).all()
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        ids = [r.id for r in chunk]
        statuses = statuses_of(conn, catalog, ids)
        identities = identities_of(conn, catalog.workspace_id, ids)
        for r in chunk:
            writer.writerow(
                [
                    r.id,
                    spreadsheet_safe(r.name),
                    spreadsheet_safe(" ".join(identities[r.id])),
                    *[statuses[r.id].get(t, "") for t in tracks],
                    "true" if r.opted_out else "false",
                    aware(r.waiting_since).isoformat() if r.waiting_since else "",
                ]
            )
    return buf.getvalue()


def csv_writer(out: io.StringIO):
    """A CSV writer that quotes every field, so no separator inside a value splits it (SPEC §12)."""
    return csv.writer(out, quoting=csv.QUOTE_ALL)


# Where a spreadsheet would start a formula: at = + - @ (or a tab or CR) beginning the cell or, since a
# program splitting on `;`, `,` or a tab sees each part as a cell of its own, beginning any such part.
_FORMULA_START = re.compile("(?<![^;,\t])(?=[-=+@\t\r])")


def spreadsheet_safe(text: str) -> str:
    """A name or text as a CSV cell that spreadsheets show as text whatever their separator: each
    formula start is prefixed with `'` (numbers the product writes never pass through here)."""
    return _FORMULA_START.sub("'", text)
