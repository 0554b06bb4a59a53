"""Retention under load (issue 18): `prune` deletes 1,000,000 old messages on PostgreSQL while signed
Twilio webhooks arrive at a steady rate for the same customers; prints the webhooks' p50/p99 during
the prune beside the same load without it (goal: p99 < 100 ms while pruning).

The hub runs under gunicorn (sync, 2 workers) as in production; the prune runs in its own process,
as a background job should: `nice -n 10 statushub prune` (--nice 0 shows it at full priority). Latency counts from when each
request was due (paced clients), so queueing behind a lock shows. Creates and drops its own database.

    .venv/bin/python bench/retention.py [--messages 1000000] [--customers 10000] [--rate 40]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/rules.py would shadow the rules package

from sqlalchemy import create_engine, text  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench.wrkload import free_port, stop  # noqa: E402
from bench.wrkload import start as start_gunicorn  # noqa: E402
from plugin.automation.retention import prune  # noqa: E402
from plugin.domain.clock import utcnow  # noqa: E402
from plugin.engine import ensure_customers  # noqa: E402
from plugin.store.db import make_engine, transaction, upgrade  # noqa: E402
from plugin.workspace.catalog import load_catalog  # noqa: E402
from plugin.workspace.workspaces import create_workspace  # noqa: E402

PG_ADMIN = os.environ.get("STATUSHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TOKEN, ACCOUNT, NUMBER = "bench-auth-token", "AC" + "be" * 16, "+15550009999"
TEXTS = ("how much is the blue one?", "hi there", "ok thanks", "can I pay by card?")


def phone(n: int) -> str:
    return f"+1555{n:07d}"


def fill(url: str, customers: int, messages: int) -> None:
    """The customers (through the engine) and their old messages (one INSERT ... SELECT), 600 days ago."""
    engine = make_engine(url)
    now = utcnow()
    with transaction(engine) as conn:
        ws = create_workspace(
            conn, "bench", twilio_account_sid=ACCOUNT, twilio_auth_token=TOKEN, twilio_number=NUMBER, now=now
        )
        catalog = load_catalog(conn, ws)
    for start in range(0, customers, 2000):
        with transaction(engine) as conn:
            ensure_customers(
                conn,
                catalog,
                [(f"sms:{phone(n)}", None) for n in range(start, min(customers, start + 2000))],
                now,
            )
    per = -(-messages // customers)
    with transaction(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO messages (workspace_id, customer_id, channel, direction, sender, text, provider_id,"
                " provider_at, received_at, intents, media)"
                " SELECT :ws, c.id, 'sms', CASE WHEN g % 3 = 0 THEN 'outbound' ELSE 'inbound' END,"
                " CASE WHEN g % 3 = 0 THEN 'agent' ELSE 'customer' END,"
                " (ARRAY[:t0, :t1, :t2, :t3])[1 + g % 4], 'SMold' || c.id || 'x' || g,"
                " :start + g * interval '1 minute', :start + g * interval '1 minute', '[]', '[]'"
                " FROM customers c CROSS JOIN generate_series(1, :per) g WHERE c.workspace_id = :ws"
                " ORDER BY c.id, g LIMIT :total"
            ),
            {
                "ws": ws,
                "per": per,
                "total": messages,
                "start": now - timedelta(days=600),
                **{f"t{i}": t for i, t in enumerate(TEXTS)},
            },  # fmt: skip
        )
        conn.execute(text("ANALYZE"))
    engine.dispose()


def client(
    port: int, run: str, n: int, of: int, customers: int, interval: float, since: float, stop, out
) -> None:
    """Paced signed inbound SMS from the bench's customers until `stop`; latencies from when each was
    due, of those due after `since` (a shared monotonic time: the warm-up is not counted)."""
    validator = RequestValidator(TOKEN)
    url = f"http://127.0.0.1:{port}/sms/twilio/inbound"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors, i = [], 0, 0
    start = time.perf_counter()
    while not stop.is_set():
        due = start + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        k = i * of + n
        form = {"MessageSid": f"SM{run}{k:09d}", "AccountSid": ACCOUNT, "From": phone((k * 7919) % customers),
                "To": NUMBER, "Body": TEXTS[k % 4], "NumMedia": "0"}  # fmt: skip
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": validator.compute_signature(url, form)}  # fmt: skip
        try:
            conn.request("POST", "/sms/twilio/inbound", body=urlencode(form), headers=headers)
            response = conn.getresponse()
            response.read()
            errors += response.status != 200
        except OSError:
            errors += 1
            conn.close()
        if due >= since:
            latencies.append(time.perf_counter() - due)
        i += 1
    out.put((latencies, errors))


def under_load(port: int, run: str, rate: float, customers: int, clients: int, work) -> tuple[dict, float]:
    """Runs `work()` (or sleeps `work` seconds) while `clients` processes send `rate` webhooks/s."""
    ctx = mp.get_context("fork")
    stop, out = ctx.Event(), ctx.Queue()
    since = time.perf_counter() + 2.0  # warm: each gunicorn worker loads the classifier on first use
    procs = [ctx.Process(target=client, args=(port, run, n, clients, customers, clients / rate, since, stop, out))
             for n in range(clients)]  # fmt: skip
    for p in procs:
        p.start()
    time.sleep(max(0.0, since - time.perf_counter()))
    began = time.perf_counter()
    if callable(work):
        work()
    else:
        time.sleep(work)
    seconds = time.perf_counter() - began
    stop.set()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    lats = sorted(x for lat, _ in results for x in lat)
    return {
        "n": len(lats),
        "errors": sum(e for _, e in results),
        "p50": statistics.median(lats) * 1000,
        "p99": lats[max(0, int(len(lats) * 0.99) - 1)] * 1000,
        "max": lats[-1] * 1000,
    }, seconds


def run_prune(url: str, nice: int) -> None:
    os.nice(nice)
    engine = make_engine(url)
    [done] = prune(engine, timedelta(days=400))
    engine.dispose()
    print(f"  pruned {done.messages} messages", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=40.0, help="webhooks per second")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--baseline", type=float, default=20.0, help="seconds of load without the prune")
    parser.add_argument(
        "--nice",
        type=int,
        default=10,
        help="the prune process's niceness: background work, as `nice statushub prune`",
    )
    args = parser.parse_args()
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"shub_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    server = None
    try:
        upgrade(url)
        began = time.perf_counter()
        fill(url, args.customers, args.messages)
        print(
            f"filled {args.messages} messages of {args.customers} customers in {time.perf_counter() - began:.0f} s"
        )
        port = free_port()
        # Unset: the bench signs the URL it posts to, as Twilio signs the one it calls.
        server = start_gunicorn(
            "plugin.app:create_app()", port, {"STATUSHUB_DATABASE_URL": url, "STATUSHUB_PUBLIC_URL": None}
        )
        quiet, _ = under_load(port, "q", args.rate, args.customers, args.clients, args.baseline)

        def pruning() -> None:
            proc = mp.get_context("fork").Process(target=run_prune, args=(url, args.nice))
            proc.start()
            proc.join()

        busy, seconds = under_load(port, "p", args.rate, args.customers, args.clients, pruning)
        print(f"prune: {args.messages} messages in {seconds:.0f} s ({args.messages / seconds:.0f} messages/s),"
              f" batches of 1,000 messages of up to 50 customers, one transaction each")  # fmt: skip
        print(f"webhooks (signed Twilio inbound, {args.rate:.0f}/s, gunicorn sync x2, PostgreSQL):")
        for label, r in (("without a prune", quiet), ("while pruning", busy)):
            print(f"  {label:<16} p50 {r['p50']:6.1f} ms   p99 {r['p99']:6.1f} ms   max {r['max']:7.1f} ms"
                  f"   errors {r['errors']}/{r['n']}")  # fmt: skip
    finally:
        if server is not None:
            stop(server)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
