"""STATUSHUB_READ_DATABASE_URL (SPEC §8): console pages, reports, CSV exports and the API's list and
report GETs read the replica; writes, webhooks, token and session checks and the reads that decide a
write use the primary.

The replica here is a clone of the test database taken after the seed, renamed in one place so a page
shows which one it read, and made read-only (`default_transaction_read_only`): anything that writes
through the read URL fails its request, and so the test.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from plugin.app import create_app
from plugin.customers.naming import add_customer
from plugin.domain.clock import utcnow
from plugin.domain.signatures import header
from plugin.store.db import make_engine, reading, transaction
from plugin.store.schema import Customer, Message
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import create_token
from tests.conftest import PG_ADMIN_URL
from tests.console.conftest import CSRF, sign_in

REPLICA_NAME = "Dana (as the replica has her)"


@pytest.fixture
def replica(db_url, engine, workspace):
    """A read-only clone of the seeded database, where Dana has another name; then, on the primary
    only, the tokens and a customer added after the clone."""
    if not db_url.startswith("postgresql"):
        pytest.skip("read replicas are PostgreSQL's (SPEC §8)")
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        dana = add_customer(conn, catalog, "Dana", ["sms:+15551230001"], "US", utcnow())
    engine.dispose()
    primary = db_url.rsplit("/", 1)[1]
    name = f"{primary}_replica"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{primary}"'))
    url = db_url.rsplit("/", 1)[0] + "/" + name
    clone = create_engine(url)
    with clone.begin() as conn:
        conn.execute(Customer.__table__.update().where(Customer.id == dana).values(name=REPLICA_NAME))
    clone.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        eve = add_customer(conn, catalog, "Eve Only-On-Primary", ["sms:+15551230002"], "US", utcnow())
        _, agent = create_token(conn, workspace, "agent", "alice", utcnow())
        _, admin_token = create_token(conn, workspace, "admin", "root", utcnow())
    yield {"url": url, "dana": dana, "eve": eve, "agent": agent, "admin": admin_token}
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app(db_url, replica):
    return create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "READ_DATABASE_URL": replica["url"], "SECRET_KEY": "k"}
    )


def signed_in(app, token: str):
    client = app.test_client()
    assert sign_in(client, token).status_code == 302  # the session lives on the primary
    with client.session_transaction("/console/") as session:
        session.pop("fresh_until", None)  # past the few seconds a visitor's own change reads the primary
    return client


def test_the_read_url_refuses_writes(replica):
    engine = make_engine(replica["url"])
    try:
        with pytest.raises(DBAPIError, match="read-only"), transaction(engine) as conn:
            conn.execute(text("UPDATE customers SET name = 'x'"))
    finally:
        engine.dispose()


def test_console_pages_reports_and_csv_read_the_replica(app, replica):
    admin = signed_in(app, replica["admin"])
    for path in ("/console/", f"/console/customers/{replica['dana']}", "/console/?status=stage:greeting"):
        page = admin.get(path)
        assert page.status_code == 200, path
        assert REPLICA_NAME in page.get_data(as_text=True), path
    for path in ("/console/reports", "/console/statuses", "/console/intents", "/console/reports/counts.csv",
                 "/console/reports/transitions.csv", "/console/reports/time-in-status.csv"):  # fmt: skip
        assert admin.get(path).status_code == 200, path
    # Eve was added to the primary after the clone: the replica's board has not heard of her.
    assert "Eve Only-On-Primary" not in admin.get("/console/").get_data(as_text=True)


def test_api_lists_reports_and_exports_read_the_replica_after_a_token_check_on_the_primary(app, replica):
    client = app.test_client()
    auth = {"Authorization": f"Bearer {replica['agent']}"}  # this token exists on the primary only
    listed = client.get("/api/v1/customers", headers=auth)
    assert listed.status_code == 200
    names = {c["name"] for c in listed.json["items"]}
    assert REPLICA_NAME in names and "Eve Only-On-Primary" not in names
    for path in ("/api/v1/reports/counts", "/api/v1/reports/transitions", "/api/v1/reports/time-in-status",
                 f"/api/v1/customers/{replica['dana']}/history"):  # fmt: skip
        assert client.get(path, headers=auth).status_code == 200, path
    csv = client.get("/api/v1/reports/customers.csv", headers=auth)
    assert csv.status_code == 200 and REPLICA_NAME in csv.get_data(as_text=True)
    assert client.get("/api/v1/customers", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_writes_webhooks_and_the_reads_deciding_them_use_the_primary(app, engine, workspace, replica):
    client = app.test_client()
    auth = {"Authorization": f"Bearer {replica['agent']}"}
    eve = replica["eve"]
    # One customer, found on the primary: the replica would answer 404 for her.
    assert client.get(f"/api/v1/customers/{eve}", headers=auth).status_code == 200
    changed = client.post(f"/api/v1/customers/{eve}/statuses", headers=auth, json={"status": "hot_lead"})
    assert changed.status_code == 200, changed.json
    raw = json.dumps(
        {"workspace": "acme", "event_id": "evt-1", "visitor": {"id": "v-1", "name": "Fay"}, "direction": "inbound",
         "sender": "customer", "text": "can I pay by bank transfer?", "timestamp": "2026-05-04T09:00:00Z"}
    ).encode()  # fmt: skip
    signature = header("webchat-secret", int(time.time()), raw)
    answer = client.post(
        "/webchat/events",
        data=raw,
        headers={"X-Statushub-Signature": signature, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    with reading(engine) as conn:
        assert conn.execute(Message.__table__.select()).first() is not None


def test_a_console_visitor_sees_their_own_change_at_once_whatever_the_replica_lags(app, replica):
    agent = signed_in(app, replica["agent"])
    eve = replica["eve"]
    csrf = CSRF.search(agent.get("/console/").get_data(as_text=True)).group(1)
    moved = agent.post(f"/console/customers/{eve}/status", data={"status": "hot_lead", "csrf": csrf})
    assert moved.status_code == 302
    page = agent.get(f"/console/customers/{eve}")  # not on the replica at all: read from the primary
    assert page.status_code == 200 and "Eve Only-On-Primary" in page.get_data(as_text=True)
    with agent.session_transaction("/console/") as session:
        session.pop("fresh_until")
    assert agent.get(f"/console/customers/{eve}").status_code == 404  # the replica's view again
