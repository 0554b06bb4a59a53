"""Webhook ingest benchmark (run by hand): the hub's webhooks beside bare Flask and beside their floor.

    .venv/bin/python bench/ingest.py [--pg [--prepared]] [--workers 2,5] [--seconds 3] [--rounds 3] [--connections 8]

The product owner's measure is ../shared/perf/ingest.py; this bench is its shape (bench/wrkload.py:
gunicorn sync, wrk with 1 thread and 8 connections replaying signed requests once each, interleaved
rounds) with two rows it lacks, the floor and the Twilio route folding in each request. For SQLite (and PostgreSQL with --pg), at each gunicorn
worker count of --workers (default 2 and the recommended 2 x cores + 1):

  healthz  bare Flask GET /healthz (bench/bare_flask.py)
  webchat  statushub POST /webchat/events (500 visitors, 70 % inbound)
  twilio   statushub POST /sms/twilio/inbound (500 senders, signed by twilio's RequestValidator)
  floor    bench/floors.py: the least a durable Twilio webhook does, same server, same database kind,
           under the hub's rules (PostgreSQL: statements prepared on the server only with --prepared)
  inreq    the Twilio row with STATUSHUB_FOLD_DELAY_MS=0: each message folded in its request (the
           twilio row holds it and folds in batches: a fold process on SQLite, a thread on PostgreSQL)

It prints each row's median rate, p50/p99, and CPU per request (gunicorn workers and the processes
they start, with --pg also the PostgreSQL server's), then the ratios: webchat and twilio over healthz
(the harness's), twilio over its floor (the fair anchor when the machine, not the hub, bounds the
rate) and over inreq (what holding and folding in batches gains). Each server set is
fresh: new databases, a workspace made through the library. Loopback only; it stops what it started.
With --pg --prepared every server runs with STATUSHUB_PREPARED_STATEMENTS=on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.traffic import Secrets, Traffic  # noqa: E402
from bench.wrkload import Databases, Slicer, children, free_port, need_wrk, start, stop  # noqa: E402
from plugin.domain.clock import utcnow  # noqa: E402
from plugin.store.db import make_engine, transaction, upgrade  # noqa: E402
from plugin.workspace.workspaces import create_workspace  # noqa: E402

SECRETS = Secrets()


def prepare(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as conn:
        create_workspace(
            conn,
            SECRETS.slug,
            webchat_secret=SECRETS.webchat,
            twilio_account_sid=SECRETS.twilio_account,
            twilio_auth_token=SECRETS.twilio_token,
            twilio_number=SECRETS.twilio_number,
            now=utcnow(),
        )
    engine.dispose()


def postgres_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def server_set(opts, dbs: Databases, workers: int, work: Path) -> None:
    backend = ("PostgreSQL, prepared statements" if opts.prepared else "PostgreSQL") if opts.pg else "SQLite"
    servers: list[subprocess.Popen] = []
    try:
        ports = {name: free_port() for name in ("bare", "hub", "floor", "inreq")}
        hub_url, floor_url, inreq_url = dbs.new("hub"), dbs.new("floor"), dbs.new("inreq")
        for url in (hub_url, floor_url, inreq_url):
            prepare(url)

        def env(port: int, url: str) -> dict:
            return {
                "STATUSHUB_DATABASE_URL": url,
                "STATUSHUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "STATUSHUB_PREPARED_STATEMENTS": "on" if opts.prepared else None,
            }

        servers.append(start("bench.bare_flask:app", ports["bare"], {}, workers))
        servers.append(start("plugin.app:create_app()", ports["hub"], env(ports["hub"], hub_url), workers))
        servers.append(
            start("bench.floors:floor_app()", ports["floor"], env(ports["floor"], floor_url), workers)
        )
        inreq_env = {**env(ports["inreq"], inreq_url), "STATUSHUB_FOLD_DELAY_MS": "0"}
        servers.append(start("plugin.app:create_app()", ports["inreq"], inreq_env, workers))
        database = postgres_pids() if opts.pg else []
        slicer = Slicer(work, opts.connections)
        slicer.add("healthz", ports["bare"], "/healthz", None, children(servers[0].pid))
        hub = children(servers[1].pid) + database
        slicer.add("webchat", ports["hub"], "/webchat/events", Traffic("webchat", 1, SECRETS).build, hub)
        twilio = Traffic("twilio", 2, SECRETS, f"http://127.0.0.1:{ports['hub']}")
        slicer.add("twilio", ports["hub"], "/sms/twilio/inbound", twilio.build, hub)
        floor = Traffic("twilio", 3, SECRETS, f"http://127.0.0.1:{ports['floor']}")
        slicer.add(
            "floor", ports["floor"], "/sms/twilio/inbound", floor.build, children(servers[2].pid) + database
        )
        inreq = Traffic("twilio", 4, SECRETS, f"http://127.0.0.1:{ports['inreq']}")
        slicer.add(
            "inreq", ports["inreq"], "/sms/twilio/inbound", inreq.build, children(servers[3].pid) + database
        )
        print(f"{backend}, gunicorn -k sync -w {workers}:", flush=True)
        runs = slicer.rounds(list(slicer.rows), opts.warmup, opts.seconds, opts.rounds)
    finally:
        for server in servers:
            stop(server)
    rate = {name: statistics.median(r["rate"] for r in rows) for name, rows in runs.items()}
    cpu = {name: statistics.median(r["cpu_ms"] for r in rows) for name, rows in runs.items()}
    print(f"  {'row':8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>11}")
    for name, rows in runs.items():
        last = rows[-1]
        print(
            f"  {name:8} {rate[name]:>8,.0f} {last['p50_us'] / 1000:>7.1f} {last['p99_us'] / 1000:>7.1f} "
            f"{cpu[name]:>11.2f}"
        )

    def ratio(a: str, b: str) -> str:
        rounds = ", ".join(f"{x['rate'] / y['rate']:.2f}" for x, y in zip(runs[a], runs[b], strict=True))
        return f"{a}/{b} {rate[a] / rate[b]:.2f} ({rounds})"

    print(
        f"  ratios: {ratio('webchat', 'healthz')}; {ratio('twilio', 'healthz')}; {ratio('floor', 'healthz')}"
    )
    print(f"          {ratio('twilio', 'floor')}; {ratio('twilio', 'inreq')}")
    for note in dict.fromkeys(slicer.notes):
        print("  note:", note)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    p.add_argument(
        "--prepared",
        action="store_true",
        help="STATUSHUB_PREPARED_STATEMENTS=on for the hub, the floor and inreq (PostgreSQL)",
    )
    p.add_argument("--workers", default=f"2,{2 * (os.cpu_count() or 1) + 1}")
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=8)
    opts = p.parse_args()
    need_wrk()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    print(
        f"wrk -t1 -c{opts.connections}, {opts.rounds} interleaved rounds x {opts.seconds:.0f} s after "
        f"{opts.warmup:.0f} s of warm-up per row; {os.cpu_count()} cores"
    )
    try:
        for workers in (int(w) for w in opts.workers.split(",")):
            dbs = Databases(opts.pg, work)
            try:
                server_set(opts, dbs, workers, work)
            finally:
                dbs.drop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
