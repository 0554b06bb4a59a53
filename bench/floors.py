"""The floor under the Twilio webhook path: the least any durable hub must do, served like the hub.

`floor_app()` is the hub itself (same middleware, same /healthz, same gunicorn) with its inbound view
swapped for one that only: parses the form, finds the workspace owning the `To` sender, checks Twilio's
signature once with RequestValidator, and in one transaction looks the sender's customer up (on
PostgreSQL locks it), adds the customer if new, inserts the message and updates the customer, then
commits with the hub's durability (SQLite: WAL, the hub's writer lock; PostgreSQL: synchronous_commit
on). No rules, no statuses, no audit, no answer body. Statements go straight to the driver.

Its rate is about the most any implementation of the hub could reach on this machine, database and
server; bench/ingest.py prints the hub beside it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

from plugin.app import create_app

# Written with {p} for the driver's placeholder (`?` for sqlite3, `%s` for psycopg).
SQL = {
    "workspace": "SELECT w.id, w.twilio_auth_token FROM twilio_senders s JOIN workspaces w ON w.id = s.workspace_id "
    "WHERE s.sender = {p}",
    "customer": "SELECT c.id FROM identities i JOIN customers c ON c.workspace_id = i.workspace_id "
    "AND c.id = i.customer_id WHERE i.workspace_id = {p} AND i.value = {p}",
    "new_customer": "INSERT INTO customers (workspace_id, name, opted_out, priority_open, priority_rank, created_at) "
    "VALUES ({p}, {p}, false, true, 0, {p}) RETURNING id",
    "new_identity": "INSERT INTO identities (workspace_id, customer_id, value) VALUES ({p}, {p}, {p})",
    "message": "INSERT INTO messages (workspace_id, customer_id, channel, direction, sender, text, provider_id, "
    "provider_at, received_at, intents, media) "
    "VALUES ({p}, {p}, 'sms', 'inbound', 'customer', {p}, {p}, {p}, {p}, '[]', '[]')",
    "update": "UPDATE customers SET last_inbound_at = {p}, horizon_at = {p} WHERE workspace_id = {p} AND id = {p}",
}


def floor_app() -> Flask:
    app = create_app()
    hub = app.extensions["statushub"]
    postgres = hub.engine.dialect.name == "postgresql"
    p = "%s" if postgres else "?"
    sql = {name: statement.format(p=p) for name, statement in SQL.items()}
    if postgres:
        sql["customer"] += " FOR UPDATE OF c"  # SQLite: the writer lock is held already
    held: dict = {}

    def connection():
        if "conn" not in held:
            if postgres:
                import psycopg

                url = os.environ["STATUSHUB_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
                # BEGIN and COMMIT sent below; statements prepared on the server only where the hub's
                # are (STATUSHUB_PREPARED_STATEMENTS): PgBouncer's transaction pooling forbids them.
                prepare = 5 if hub.settings.prepared_statements else None
                held["conn"] = psycopg.connect(url, autocommit=True, prepare_threshold=prepare)
            else:
                held["conn"] = hub.engine.raw_connection().dbapi_connection  # the hub's pragmas and lock
        return held["conn"]

    def inbound():
        form = request.form
        conn = connection()
        now = datetime.now(UTC)
        stamp = now if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")
        found = conn.execute(sql["workspace"], (form["To"],)).fetchone()
        if found is None:
            return Response("unknown sender", 401)
        ws, token = found
        url = hub.settings.public_url.rstrip("/") + request.path
        if RequestValidator(token).compute_signature(url, form) != request.headers.get("X-Twilio-Signature"):
            return Response("bad signature", 401)
        if postgres:
            conn.execute("BEGIN")
        else:
            conn.acquire_writer_lock()
            conn.execute("BEGIN IMMEDIATE")
        try:
            identity = "sms:" + form["From"]
            row = conn.execute(sql["customer"], (ws, identity)).fetchone()
            if row is None:
                customer = conn.execute(sql["new_customer"], (ws, form["From"], stamp)).fetchone()[0]
                conn.execute(sql["new_identity"], (ws, customer, identity))
            else:
                customer = row[0]
            conn.execute(sql["message"], (ws, customer, form["Body"], form["MessageSid"], stamp, stamp))
            conn.execute(sql["update"], (stamp, stamp, ws, customer))
            conn.execute("COMMIT") if postgres else conn.commit()  # sqlite3's commit releases the lock
        except BaseException:
            conn.execute("ROLLBACK") if postgres else conn.rollback()
            raise
        return Response("<Response/>", 200, mimetype="text/xml")

    app.view_functions["sms.inbound"] = inbound
    return app
