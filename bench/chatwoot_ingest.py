"""Chatwoot ingest benchmark (run by hand): signed Chatwoot deliveries per second beside signed web
chat events and a bare Flask /healthz, in one run, with one client (SPEC §11, issue 15).

    .venv/bin/python bench/chatwoot_ingest.py [--seconds 8] [--rounds 3] [--connections 8] [--pg]

The shape of the product owner's ingest measure (../shared/perf/ingest.py): every row is
`gunicorn -k sync -w 2` on loopback, loaded by wrk (1 thread, 8 connections, closed loop) replaying
pre-built raw requests through bench/replay.lua, each sent once:

  healthz   bare Flask GET /healthz (bench/bare_flask.py)
  webchat   statushub POST /webchat/events: 500 visitors, 70 % inbound, signed t=...,v1=...
  chatwoot  statushub POST /chatwoot/events/<slug>: 500 contacts, 70 % incoming, 30 % outgoing by an
            agent or a bot, the recorded message_created shape (tests/fixtures/recorded/chatwoot/),
            compact JSON as Ruby's to_json sends it, unique message ids and X-Chatwoot-Delivery,
            signed sha256= over "<timestamp>.<body>"

Both statushub rows share one server and one fresh database (SQLite, or PostgreSQL with --pg), as a
workspace that has web chat and Chatwoot would. Rows are measured in interleaved rounds after a
warm-up each, so load from anything else on this shared two-core machine falls on every row alike;
the median round is reported with every round beside it. Goal: chatwoot >= 0.9 x webchat.
"""

from __future__ import annotations

import argparse
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
from plugin.workspace.chatwoot import connect  # noqa: E402
from plugin.workspace.workspaces import create_workspace  # noqa: E402

SECRETS = Secrets()


def prepare(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as conn:
        ws = create_workspace(conn, SECRETS.slug, webchat_secret=SECRETS.webchat, now=utcnow())
        connect(conn, ws, url="https://chatwoot.example.com", account_id=1, api_token="bench-token",
                webhook_secret=SECRETS.chatwoot, webhook_id=None, now=utcnow())  # fmt: skip
    engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    a = p.parse_args()
    need_wrk()
    work = Path(tempfile.mkdtemp(prefix="bench-chatwoot-"))
    servers: list[subprocess.Popen] = []
    dbs = Databases(a.pg, work)
    try:
        url = dbs.new("cw")
        prepare(url)
        bare_port, hub_port = free_port(), free_port()
        servers.append(start("bench.bare_flask:app", bare_port, {}))
        servers.append(start("plugin.app:create_app()", hub_port, {"STATUSHUB_DATABASE_URL": url}))
        slicer = Slicer(work, a.connections)
        slicer.add("healthz", bare_port, "/healthz", None, children(servers[0].pid))
        hub_pids = children(servers[1].pid)
        for seed, (name, path) in enumerate(
            (("webchat", "/webchat/events"), ("chatwoot", f"/chatwoot/events/{SECRETS.slug}")), 1
        ):
            slicer.add(name, hub_port, path, Traffic(name, seed, SECRETS).build, hub_pids)
        rows = list(slicer.rows)
        measured = slicer.rounds(rows, a.warmup, a.seconds, a.rounds)
        rates = {name: [r["rate"] for r in runs] for name, runs in measured.items()}
        cpu_ms = {name: [r["cpu_ms"] for r in runs] for name, runs in measured.items()}
        last = {name: runs[-1] for name, runs in measured.items()}
        notes = slicer.notes
        med = {name: statistics.median(v) for name, v in rates.items()}
        backend = "PostgreSQL" if a.pg else "SQLite"
        print(
            f"\nwrk -t1 -c{a.connections}, {a.rounds} rounds x {a.seconds:.0f} s, gunicorn sync x2, {backend}"
        )
        print(f"{'row':10} {'req/s (median)':>15} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}  rounds")
        cpu = {name: statistics.median(v) for name, v in cpu_ms.items()}
        for name in rows:
            print(
                f"{name:10} {med[name]:>15,.0f} {last[name]['p50_us'] / 1000:>8.1f} "
                f"{last[name]['p99_us'] / 1000:>8.1f} {cpu[name]:>11.2f}  "
                + ", ".join(f"{r:,.0f}" for r in rates[name])
            )
        per_round = [c / w for c, w in zip(rates["chatwoot"], rates["webchat"], strict=True)]
        print(f"\nchatwoot / webchat: {med['chatwoot'] / med['webchat']:.2f} (goal >= 0.90; rounds "
              + ", ".join(f"{r:.2f}" for r in per_round) + ")")  # fmt: skip
        print(
            f"CPU per request of the gunicorn workers, chatwoot / webchat: {cpu['chatwoot'] / cpu['webchat']:.2f} "
            "(other load on the machine does not move it; with --pg the database server's is not counted)"
        )
        print(f"webchat / healthz: {med['webchat'] / med['healthz']:.2f}   "
              f"chatwoot / healthz: {med['chatwoot'] / med['healthz']:.2f}")  # fmt: skip
        for note in dict.fromkeys(notes):
            print("note:", note)
    finally:
        for server in servers:
            stop(server)
        dbs.drop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
