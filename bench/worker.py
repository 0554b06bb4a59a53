"""Outbox throughput on PostgreSQL against its floor, in one run (issue 18).

1. No-op items: the product's drain (`run_due`, batched claims) with 1 and 4 worker processes, beside
   the floor: the same shape of work in raw psycopg, a claim of the same batch size
   (`UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED LIMIT n)) RETURNING`) then one
   `DELETE ... WHERE id = ANY(...)`, each its own commit, with the same number of processes and, as
   the product must (PgBouncer), no server-side prepared statements. Goal: the product ≥ 0.7 of the
   floor, and 4 workers ≥ 3× one (on a 2-core machine the floor itself cannot: both print their own).
2. Signed webhooks delivered by one worker to a local receiver (another process, answering 204),
   beside a bare `requests.post` loop sending the same bodies, signed the same way. Goal ≥ 0.8.

Rounds alternate product and floor; each ratio is the median of the rounds' own ratios (never the best
round of each side kept apart). Each side's processes connect before the clock starts, and the
product's also build their statements (a drain that finds nothing due): a worker runs long, so its
first connection and statement compilation are not part of a drain. Creates and drops its own scratch database.

    .venv/bin/python bench/worker.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--items 10000] [--webhooks 2000] [--rounds 3] [--batch 100]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/rules.py would shadow the rules package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from plugin.automation.outbox import BATCH, run_due  # noqa: E402
from plugin.automation.webhooks import WebhookSender, sign, subscribe  # noqa: E402
from plugin.engine import ensure_customers  # noqa: E402
from plugin.store.db import make_engine, transaction, upgrade  # noqa: E402
from plugin.store.schema import OutboxItem  # noqa: E402
from plugin.workspace.catalog import load_catalog  # noqa: E402
from plugin.workspace.workspaces import create_workspace  # noqa: E402

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
FLOOR_CLAIM = (
    "UPDATE outbox SET due_at = %(lease)s WHERE id = ANY(ARRAY(SELECT id FROM outbox WHERE sent_at IS NULL"
    " AND dead_at IS NULL AND due_at <= %(now)s AND kind = 'probe' ORDER BY due_at, id LIMIT %(n)s"
    " FOR UPDATE SKIP LOCKED)) RETURNING id, payload"
)
FLOOR_DONE = "DELETE FROM outbox WHERE id = ANY(%s)"


def fill(url: str, workspace_id: int, items: int) -> None:
    engine = make_engine(url)
    rows = [
        {"workspace_id": workspace_id, "kind": "probe", "customer_id": None, "payload": {"n": n},
         "due_at": NOW, "attempts": 0, "last_error": "", "created_at": NOW}
        for n in range(items)
    ]  # fmt: skip
    with transaction(engine) as conn:
        conn.execute(text("DELETE FROM outbox"))
        conn.execute(insert(OutboxItem), rows)
        conn.execute(text("ANALYZE outbox"))
    engine.dispose()


def _noop(_engine, _job) -> None:
    pass


def product_worker(url: str, batch: int, go, done) -> None:
    engine = make_engine(url)
    # As a running worker is, and as the floor is: connected, its statements built, before the clock
    # starts (a drain at a moment before every item is due claims nothing).
    run_due(engine, {"probe": _noop}, now=NOW - timedelta(days=1), batch=batch)
    go.wait()
    counts = run_due(engine, {"probe": _noop}, now=NOW, batch=batch)
    done.put(counts.sent)
    engine.dispose()


def floor_worker(url: str, batch: int, go, done) -> None:
    # As the product: no server-side prepared statements, which PgBouncer's transaction pooling forbids.
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), prepare_threshold=None)
    go.wait()
    sent = 0
    params = {"lease": NOW.replace(year=2027), "now": NOW, "n": batch}
    while True:
        with conn.transaction():
            rows = conn.execute(FLOOR_CLAIM, params).fetchall()
        if not rows:
            break
        for _id, _payload in rows:
            pass  # the no-op "send"
        with conn.transaction():
            conn.execute(FLOOR_DONE, ([r[0] for r in rows],))
        sent += len(rows)
    done.put(sent)
    conn.close()


def drain(url: str, target, workers: int, batch: int, items: int) -> float:
    ctx = mp.get_context("fork")
    go, done = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, batch, go, done)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # connected and waiting
    start = time.perf_counter()
    go.set()
    sent = sum(done.get() for _ in procs)
    seconds = time.perf_counter() - start
    for p in procs:
        p.join()
    assert sent == items, f"{sent} of {items} items sent"
    return seconds


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


def serve_receiver(port) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    port.put(server.server_address[1])
    server.serve_forever()


def queue_webhooks(url: str, workspace_id: int, sub_id: int, people: list[int]) -> list[bytes]:
    """One pending webhook per customer, as the engine queues them; returns bodies like the product's."""
    engine = make_engine(url)
    rows = [
        {"workspace_id": workspace_id, "kind": "webhook", "customer_id": cid,
         "payload": {"subscription": sub_id, "id": str(uuid.uuid4()), "track": "stage", "from": "greeting",
                     "to": "hot_lead", "source": "rule:ask_specs", "actor": "system",
                     "occurred_at": NOW.isoformat()},
         "due_at": NOW, "attempts": 0, "last_error": "", "created_at": NOW}
        for cid in people
    ]  # fmt: skip
    with transaction(engine) as conn:
        conn.execute(text("DELETE FROM outbox"))
        conn.execute(insert(OutboxItem), rows)
        conn.execute(text("ANALYZE outbox"))
    engine.dispose()
    return [
        json.dumps(
            {"id": r["payload"]["id"], "type": "status.changed", "workspace": "bench",
             "customer": {"id": r["customer_id"], "name": f"Customer {n}", "identities": [f"webchat:v{n}"]},
             "track": "stage", "from": "greeting", "to": "hot_lead", "source": "rule:ask_specs",
             "actor": "system", "occurred_at": NOW.isoformat()},
            ensure_ascii=False, separators=(",", ":"),
        ).encode()
        for n, r in enumerate(rows)
    ]  # fmt: skip


def webhooks_product(url: str) -> float:
    engine = make_engine(url)
    start = time.perf_counter()
    counts = run_due(engine, {"webhook": WebhookSender(allow_private=True)}, now=NOW)
    seconds = time.perf_counter() - start
    engine.dispose()
    assert counts.retried == counts.dead == 0, counts
    return seconds


def webhooks_bare(receiver: str, bodies: list[bytes], secret: str) -> float:
    start = time.perf_counter()
    for body in bodies:
        answer = requests.post(
            receiver,
            data=body,
            headers={"Content-Type": "application/json", "X-Statushub-Signature": sign(secret, body)},
            timeout=10,
            allow_redirects=False,
        )
        assert answer.status_code == 204
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--webhooks", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=BATCH)
    args = parser.parse_args()
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    name = f"shub_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.url.rsplit("/", 1)[0] + "/" + name
    ctx = mp.get_context("fork")
    port_q = ctx.Queue()
    receiver_proc = ctx.Process(target=serve_receiver, args=(port_q,), daemon=True)
    receiver_proc.start()
    receiver = f"http://127.0.0.1:{port_q.get()}/hook"
    try:
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as conn:
            ws = create_workspace(conn, "bench", name="Bench", now=NOW)
            catalog = load_catalog(conn, ws)
            sub_id, secret = subscribe(
                conn, catalog, receiver, track=None, status=None, now=NOW, allow_private=True
            )
            made = ensure_customers(
                conn, catalog, [(f"webchat:v{n}", f"Customer {n}") for n in range(args.webhooks)], NOW
            )
        people = [made[f"webchat:v{n}"] for n in range(args.webhooks)]
        engine.dispose()

        rates: dict[tuple[str, int], list[float]] = {}
        ratios: dict[int, list[float]] = {1: [], 4: []}
        for _ in range(args.rounds):
            for workers in (1, 4):
                pair = {}
                for side, target in (("product", product_worker), ("floor", floor_worker)):
                    fill(url, ws, args.items)
                    seconds = drain(url, target, workers, args.batch, args.items)
                    pair[side] = args.items / seconds
                    rates.setdefault((side, workers), []).append(pair[side])
                ratios[workers].append(pair["product"] / pair["floor"])
        hook_ratios, hook_rates = [], {"product": [], "bare": []}
        for _ in range(args.rounds):
            bodies = queue_webhooks(url, ws, sub_id, people)
            product = args.webhooks / webhooks_product(url)
            bare = args.webhooks / webhooks_bare(receiver, bodies, secret)
            hook_rates["product"].append(product)
            hook_rates["bare"].append(bare)
            hook_ratios.append(product / bare)

        med = statistics.median
        print(f"no-op items: {args.items} per round, batch {args.batch}, {args.rounds} rounds (medians)")
        print(f"{'workers':>8} {'product/s':>10} {'floor/s':>10} {'ratio':>6}")
        for workers in (1, 4):
            print(
                f"{workers:>8} {med(rates[('product', workers)]):>10.0f} {med(rates[('floor', workers)]):>10.0f}"
                f" {med(ratios[workers]):>6.2f}"
            )
        scale_p = med(rates[("product", 4)]) / med(rates[("product", 1)])
        scale_f = med(rates[("floor", 4)]) / med(rates[("floor", 1)])
        print(f"4 workers vs 1: product {scale_p:.2f}x, floor {scale_f:.2f}x")
        print(f"signed webhooks to a local receiver: {args.webhooks} per round, 1 worker")
        print(
            f"  product {med(hook_rates['product']):.0f}/s, bare requests loop {med(hook_rates['bare']):.0f}/s,"
            f" ratio {med(hook_ratios):.2f}"
        )
    finally:
        receiver_proc.terminate()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
