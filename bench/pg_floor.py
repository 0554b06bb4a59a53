"""The floor under the PostgreSQL webhook path on this machine (run by hand, beside bench/ingest.py).

Serves, under the same gunicorn (sync, 2 workers) and load generator as bench/ingest.py, the hub with
its inbound webhook swapped for one that does only what any durable hub must: parse the form, check
Twilio's signature with RequestValidator, and in one transaction on raw psycopg look the workspace up,
lock the sender's customer, insert the message and update the customer, then commit (synchronous_commit
on: a 200 means stored). No rules, no statuses, no audit. Its rate against the same server's /healthz
is about the most any implementation of the hub could reach here; bench/ingest.py prints the real
hub's beside it.

    .venv/bin/python bench/pg_floor.py [--requests 2000] [--clients 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest  # noqa: E402

_WORKSPACE = "SELECT id, twilio_auth_token FROM workspaces WHERE twilio_number = %s"
_LOCK = (
    "SELECT c.id FROM identities i JOIN customers c ON c.workspace_id = i.workspace_id "
    "AND c.id = i.customer_id WHERE i.workspace_id = %s AND i.value = %s FOR UPDATE OF c"
)
_NEW_CUSTOMER = (
    "INSERT INTO customers (workspace_id, name, opted_out, priority_open, priority_rank, created_at) "
    "VALUES (%s, %s, false, true, 0, %s) RETURNING id"
)
_NEW_IDENTITY = "INSERT INTO identities (workspace_id, customer_id, value) VALUES (%s, %s, %s)"
_MESSAGE = (
    "INSERT INTO messages (workspace_id, customer_id, channel, direction, sender, text, provider_id, "
    "provider_at, received_at, intents, media) "
    "VALUES (%s, %s, 'sms', 'inbound', 'customer', %s, %s, %s, %s, '[]', '[]')"
)
_CUSTOMER = "UPDATE customers SET last_inbound_at = %s, horizon_at = %s WHERE workspace_id = %s AND id = %s"


def floor_app() -> Flask:
    """The hub itself (same middleware, same /healthz) with its inbound view swapped for the floor."""
    import psycopg
    from twilio.request_validator import RequestValidator

    from plugin.app import create_app

    app = create_app()
    conninfo = os.environ["STATUSHUB_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    held: dict[str, psycopg.Connection] = {}

    def inbound():
        form = request.form
        conn = held.get("conn") or held.setdefault("conn", psycopg.connect(conninfo))
        now = datetime.now(UTC)
        with conn.transaction():
            ws, token = conn.execute(_WORKSPACE, (form["To"],)).fetchone()
            if not RequestValidator(token).validate(request.url, form, request.headers["X-Twilio-Signature"]):
                return Response("bad signature", 401)
            identity = "sms:" + form["From"]
            found = conn.execute(_LOCK, (ws, identity)).fetchone()
            if found is None:
                customer = conn.execute(_NEW_CUSTOMER, (ws, form["From"], now)).fetchone()[0]
                conn.execute(_NEW_IDENTITY, (ws, customer, identity))
            else:
                customer = found[0]
            conn.execute(_MESSAGE, (ws, customer, form["Body"], form["MessageSid"], now, now))
            conn.execute(_CUSTOMER, (now, now, ws, customer))
        return Response("<Response/>", 200, mimetype="text/xml")

    app.view_functions["sms.inbound"] = inbound
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    name = f"shub_floor_{os.getpid()}"
    admin = ingest.create_engine(ingest.PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(ingest.text(f'CREATE DATABASE "{name}"'))
    try:
        url = ingest.PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        ingest.prepare(url)
        port = ingest.free_port()
        server = ingest.start_server(url, port, app="bench.pg_floor:floor_app()")
        try:
            workers = ingest.children(server.pid)
            run = uuid.uuid4().hex[:6]
            ingest.load(port, ingest.inbound_requests(port, run + "w", 200), opts.clients)
            healths, fulls = [], []
            for n in range(opts.rounds):
                healths.append(
                    ingest.measured(port, ingest.health_requests(opts.requests), opts.clients, workers, True)
                )
                fulls.append(
                    ingest.measured(
                        port,
                        ingest.inbound_requests(port, f"{run}f{n}", opts.requests),
                        opts.clients,
                        workers,
                        True,
                    )
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        with admin.connect() as conn:
            conn.execute(ingest.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    health = max(healths, key=lambda r: r["rps"])
    full = max(fulls, key=lambda r: r["rps"])
    print(
        f"floor on postgresql: best of {opts.rounds} alternating rounds, gunicorn sync x2, {opts.clients} clients"
    )
    print(ingest.line("GET /healthz", health))
    print(ingest.line("POST inbound (floor)", full))
    print(f"  floor/healthz ratio          {full['rps'] / health['rps']:8.2f}")


if __name__ == "__main__":
    main()
