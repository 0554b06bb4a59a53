"""Bench (run by hand): the first page of hot leads by priority among 1,000,000 customers on PostgreSQL.

    .venv/bin/python -m bench.queries [--customers 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a scratch database, bulk-loads it with COPY (~5% hot leads, random waiting_since), then times
`GET /api/v1/customers?track=stage&status=hot_lead&sort=priority&limit=50` through the Flask test client
and the list query alone, prints median/p95 over 50 runs and the query's EXPLAIN (ANALYZE), and drops
the database. Target: < 20 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/rules.py would shadow the rules package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from plugin.app import create_app
from plugin.customers.queries import C, CustomerFilter, _order, fixed_priority, list_customers, where_clause
from plugin.domain.clock import utcnow
from plugin.store.db import make_engine, reading, transaction, upgrade
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import create_token, create_workspace

RUNS = 50


def build(url: str, count: int) -> tuple[int, str]:
    engine = make_engine(url)
    with transaction(engine) as conn:
        ws = create_workspace(conn, "bench", now=utcnow())
        _, token = create_token(conn, ws, "agent", "bench", utcnow())
        catalog = load_catalog(conn, ws)
    stage = catalog.tracks["stage"]
    weights = {"greeting": 40, "cold_lead": 35, "hot_lead": 5, "closed_won": 10, "passed": 10}
    keys = list(weights)
    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT nextval(pg_get_serial_sequence('customers', 'id'))")
        first = cur.fetchone()[0]
        ids = range(first, first + count)
        chosen = rng.choices(keys, weights=[weights[k] for k in keys], k=count)
        t0 = time.perf_counter()
        with cur.copy(
            "COPY customers (id, workspace_id, name, opted_out, waiting_since, priority_open, priority_rank, created_at)"
            " FROM STDIN"
        ) as copy:
            for cid, key in zip(ids, chosen, strict=True):
                status = stage.status(key)
                waiting = (
                    base + timedelta(seconds=rng.randrange(0, 90 * 86400)) if rng.random() < 0.7 else None
                )
                copy.write_row(
                    (cid, ws, f"Customer {cid}", False, waiting, not status.terminal, status.position, base)
                )
        cur.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), %s)", (first + count,))
        with cur.copy(
            "COPY customer_statuses (workspace_id, customer_id, track_id, status_id, entered_at) FROM STDIN"
        ) as copy:
            for cid, key in zip(ids, chosen, strict=True):
                copy.write_row((ws, cid, stage.id, stage.status(key).id, base))
                for track in catalog.tracks.values():
                    if track.key != "stage":
                        copy.write_row((ws, cid, track.id, track.first.id, base))
        with cur.copy("COPY identities (workspace_id, customer_id, value) FROM STDIN") as copy:
            for cid in ids:
                copy.write_row((ws, cid, f"sms:+1555{cid:07d}"))
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
        print(f"loaded {count:,} customers in {time.perf_counter() - t0:.1f} s")
    finally:
        raw.close()
    engine.dispose()
    return ws, token


def timed(fn) -> tuple[float, float]:
    fn()  # warm caches (catalog, plans)
    samples = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def explain(engine, query) -> None:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql).scalars().all()
    print("\n".join(plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    name = f"shub_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.pg.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        ws, token = build(url, args.customers)
        app = create_app({"DATABASE_URL": url})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        path = "/api/v1/customers?track=stage&status=hot_lead&sort=priority&limit=50"
        first = client.get(path, headers=headers)
        assert first.status_code == 200 and len(first.json["items"]) == 50, first.data[:300]
        http = timed(lambda: client.get(path, headers=headers))
        engine = app.extensions["statushub"].engine
        flt = CustomerFilter(statuses=[("stage", "hot_lead")], sort="priority")
        with reading(engine) as conn:
            catalog = load_catalog(conn, ws)
        query = (
            C.select()
            .with_only_columns(C.c.id)
            .where(*where_clause(catalog, flt))
            .order_by(*_order("priority", fixed_priority(catalog, flt)))
            .limit(51)
        )

        def raw_query():
            with engine.connect() as conn:
                conn.execute(query).all()

        def page():
            with reading(engine) as conn:
                list_customers(conn, catalog, flt, limit=50)

        raw_ms = timed(raw_query)
        page_ms = timed(page)
        print(f"GET {path}: median {http[0]:.2f} ms, p95 {http[1]:.2f} ms (Flask test client, {RUNS} runs)")
        print(
            f"list_customers page (query + statuses + identities): median {page_ms[0]:.2f} ms, p95 {page_ms[1]:.2f} ms"
        )
        print(f"list query alone: median {raw_ms[0]:.2f} ms, p95 {raw_ms[1]:.2f} ms")
        explain(engine, query)
        everyone = "/api/v1/customers?sort=priority&limit=50"
        queue = timed(lambda: client.get(everyone, headers=headers))
        print(f"\nGET {everyone} (the whole priority queue): median {queue[0]:.2f} ms, p95 {queue[1]:.2f} ms")
        open_all = CustomerFilter(sort="priority")
        explain(
            engine,
            C.select()
            .with_only_columns(C.c.id)
            .where(*where_clause(catalog, open_all))
            .order_by(*_order("priority"))
            .limit(51),
        )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
