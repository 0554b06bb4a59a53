"""Console page times with 100,000 customers on PostgreSQL, beside the API's priority list (run by hand).

    .venv/bin/python bench/console.py [--customers 100000] [--runs 30]

Creates a scratch database on STATUSHUB_TEST_PG_URL's server (default postgres@127.0.0.1:5432), bulk-loads
customers spread over the stage statuses, times each page through the real app in-process (server
time: routing, queries, templates; no network) and drops the database. Target: under 150 ms each.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/rules.py would shadow the rules package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from plugin.app import create_app
from plugin.domain.clock import utcnow
from plugin.store.db import make_engine, transaction, upgrade
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import create_token, create_workspace

ADMIN_URL = os.environ.get("STATUSHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def load(engine, customers: int) -> tuple[int, str, int]:
    """One workspace, `customers` customers on every track, a conversation for one of them."""
    with transaction(engine) as conn:
        ws = create_workspace(conn, "bench", now=utcnow())
        _, token = create_token(conn, ws, "admin", "bench", utcnow())
        catalog = load_catalog(conn, ws)
        stage = catalog.tracks["stage"].statuses
        conn.execute(
            text(
                "INSERT INTO customers (workspace_id, name, opted_out, priority_open, priority_rank,"
                " waiting_since, created_at)"
                " SELECT :ws, 'Customer ' || g, false, true, 0,"
                " CASE WHEN g % 3 = 0 THEN now() - (g || ' seconds')::interval END, now()"
                " FROM generate_series(1, :n) g"
            ),
            {"ws": ws, "n": customers},
        )
        # Spread over the stage statuses: most greet, fewer are hot, a few closed.
        weights = [50, 25, 15, 5, 5][: len(stage)]
        bounds, total = [], 0
        for status, weight in zip(stage, weights, strict=False):
            total += weight
            bounds.append((status, total))
        case = " ".join(f"WHEN (c.id % 100) < {limit} THEN {status.id}" for status, limit in bounds)
        conn.execute(
            text(
                "INSERT INTO customer_statuses (workspace_id, customer_id, track_id, status_id, entered_at)"
                f" SELECT :ws, c.id, :track, CASE {case} ELSE {stage[0].id} END, now()"
                " FROM customers c WHERE c.workspace_id = :ws"
            ),
            {"ws": ws, "track": catalog.tracks["stage"].id},
        )
        for track in list(catalog.tracks.values())[1:]:
            conn.execute(
                text(
                    "INSERT INTO customer_statuses (workspace_id, customer_id, track_id, status_id, entered_at)"
                    " SELECT :ws, c.id, :track, :status, now() FROM customers c WHERE c.workspace_id = :ws"
                ),
                {"ws": ws, "track": track.id, "status": track.first.id},
            )
        conn.execute(
            text(
                "UPDATE customers c SET priority_rank = s.position, priority_open = NOT s.terminal"
                " FROM customer_statuses cs JOIN statuses s ON s.id = cs.status_id"
                " WHERE cs.workspace_id = :ws AND cs.customer_id = c.id AND cs.track_id = :track"
            ),
            {"ws": ws, "track": catalog.tracks["stage"].id},
        )
        one = conn.execute(
            text("SELECT min(id) FROM customers WHERE workspace_id = :ws"), {"ws": ws}
        ).scalar()
        conn.execute(
            text(
                "INSERT INTO messages (workspace_id, customer_id, channel, direction, sender, text, provider_id,"
                " provider_at, received_at, intents, media)"
                " SELECT :ws, :c, 'sms', CASE WHEN g % 2 = 0 THEN 'inbound' ELSE 'outbound' END,"
                " CASE WHEN g % 2 = 0 THEN 'customer' ELSE 'agent' END, 'message ' || g, 'SM' || g,"
                " now() - (g || ' minutes')::interval, now(), '[]', '[]' FROM generate_series(1, 500) g"
            ),
            {"ws": ws, "c": one},
        )
    # A live table is kept vacuumed by autovacuum; a freshly bulk-loaded one is not yet, and without a
    # visibility map the status counts cannot use an index-only scan. Vacuum once, as production would.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return ws, token, one


def timed(client, path: str, runs: int, headers=None) -> tuple[float, float, int]:
    client.get(path, headers=headers)  # warm the catalog and classifier caches
    samples, status = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        answer = client.get(path, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        status = answer.status_code
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)], status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    name = f"shub_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        _, token, one = load(engine, args.customers)
        print(f"loaded {args.customers:,} customers in {time.perf_counter() - started:.1f} s")
        engine.dispose()
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        client = app.test_client()
        page = client.get("/console/signin").get_data(as_text=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        client.post("/console/signin", data={"token": token, "csrf": csrf})
        bearer = {"Authorization": f"Bearer {token}"}
        rows = [
            ("console board", "/console/", None),
            ("console board, filtered stage:hot_lead", "/console/?status=stage:hot_lead", None),
            ("console board, page 20", "/console/?page=20", None),
            ("console customer (500 messages)", f"/console/customers/{one}", None),
            ("console reports", "/console/reports", None),
            ("api GET /api/v1/customers?sort=priority", "/api/v1/customers?sort=priority", bearer),
        ]
        print(f"{'page':45} {'median ms':>10} {'p95 ms':>8}  status")
        for label, path, headers in rows:
            median, p95, status = timed(client, path, args.runs, headers)
            flag = "" if median < 150 else "  over 150 ms"
            print(f"{label:45} {median:10.1f} {p95:8.1f}  {status}{flag}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
