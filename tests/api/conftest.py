"""API fixtures: the real app on each backend, tokens of both roles, and a second workspace."""

from __future__ import annotations

import pytest

from plugin.app import create_app
from plugin.customers.naming import add_customer
from plugin.domain.clock import utcnow
from plugin.store.db import transaction
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import create_token, create_workspace


@pytest.fixture
def app(db_url, workspace):
    return create_app({"TESTING": True, "DATABASE_URL": db_url})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(engine, workspace):
    """Bearer headers for an admin and an agent of `acme`."""
    with transaction(engine) as conn:
        _, admin = create_token(conn, workspace, "admin", "ops-admin", utcnow())
        _, agent = create_token(conn, workspace, "agent", "desk-agent", utcnow())
    return {"admin": bearer(admin), "agent": bearer(agent)}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def other(engine):
    """A second workspace with one customer and an admin token: nothing of it may leak to acme."""
    with transaction(engine) as conn:
        ws = create_workspace(conn, "globex", name="Globex", now=utcnow())
        catalog = load_catalog(conn, ws)
        cid = add_customer(conn, catalog, "Hank Scorpio", ["sms:+15557770000"], "US", utcnow())
        _, token = create_token(conn, ws, "admin", "globex-admin", utcnow())
    return {"workspace_id": ws, "customer_id": cid, "headers": bearer(token)}


def add(engine, workspace, name: str, phone: str | None = None) -> int:
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        return add_customer(conn, catalog, name, [f"sms:{phone}"] if phone else [], "US", utcnow())
