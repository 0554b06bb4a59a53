"""Outbox throughput on PostgreSQL: 1 worker vs 4 workers (threads, own connections) on 10,000 due items.

Usage: python bench/worker.py [postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [items]
Creates and drops its own scratch database.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/rules.py would shadow the rules package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text

from plugin.automation.outbox import run_due
from plugin.store.db import make_engine, transaction, upgrade
from plugin.store.schema import OutboxItem
from plugin.workspace.workspaces import create_workspace

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def fill(engine, workspace_id: int, items: int) -> None:
    rows = [
        {"workspace_id": workspace_id, "kind": "probe", "customer_id": None, "payload": {"n": n},
         "due_at": NOW, "attempts": 0, "last_error": "", "created_at": NOW}
        for n in range(items)
    ]  # fmt: skip
    with transaction(engine) as conn:
        conn.execute(insert(OutboxItem), rows)


def drain(engine, workers: int) -> tuple[float, Counter]:
    """Every worker drains until nothing is due; returns the wall time and how often each item was sent."""
    seen: Counter = Counter()
    lock = threading.Lock()

    def sender(_engine, job) -> None:
        with lock:
            seen[job.id] += 1

    threads = [threading.Thread(target=run_due, args=(engine, {"probe": sender}), kwargs={"now": NOW})
               for _ in range(workers)]  # fmt: skip
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, seen


def main(admin_url: str, items: int) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"shub_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as conn:
            ws = create_workspace(conn, "bench", name="Bench", now=NOW)
        results = {}
        for workers in (1, 4):
            with transaction(engine) as conn:
                conn.execute(text("DELETE FROM outbox"))
            fill(engine, ws, items)
            seconds, seen = drain(engine, workers)
            assert len(seen) == items and set(seen.values()) == {1}, "an item was lost or sent twice"
            results[workers] = seconds
        engine.dispose()
        print(f"{'workers':>8} {'seconds':>8} {'items/s':>8}")
        for workers, seconds in results.items():
            print(f"{workers:>8} {seconds:>8.2f} {items / seconds:>8.0f}")
        print(f"speed-up 4 vs 1: {results[1] / results[4]:.2f}x")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        int(sys.argv[2]) if len(sys.argv) > 2 else 10_000,
    )
