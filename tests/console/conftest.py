"""Console fixtures: the real app on the test database, tokens of both roles, signed-in clients."""

from __future__ import annotations

import re

import pytest

from plugin.app import create_app
from plugin.customers.naming import add_customer
from plugin.domain.clock import utcnow
from plugin.store.db import transaction
from plugin.workspace.catalog import load_catalog
from plugin.workspace.workspaces import create_token

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def app(db_url, workspace):
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "console-test-key"})


@pytest.fixture
def tokens(engine, workspace):
    with transaction(engine) as conn:
        _, agent = create_token(conn, workspace, "agent", "alice", utcnow())
        _, admin = create_token(conn, workspace, "admin", "root", utcnow())
    return {"agent": agent, "admin": admin}


def sign_in(client, token: str):
    page = client.get("/console/signin")
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    return client.post("/console/signin", data={"token": token, "csrf": csrf})


def csrf_of(client, path: str = "/console/") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def agent(app, tokens):
    client = app.test_client()
    assert sign_in(client, tokens["agent"]).status_code == 302
    return client


@pytest.fixture
def admin(app, tokens):
    client = app.test_client()
    assert sign_in(client, tokens["admin"]).status_code == 302
    return client


@pytest.fixture
def customers(engine, workspace):
    """Three customers: Dana, Eli and one whose name is an XSS attempt."""
    with transaction(engine) as conn:
        catalog = load_catalog(conn, workspace)
        now = utcnow()
        return {
            "dana": add_customer(conn, catalog, "Dana", ["sms:+15551230001"], "US", now),
            "eli": add_customer(conn, catalog, "Eli", ["sms:+15551230002"], "US", now),
            "xss": add_customer(conn, catalog, "<img src=x onerror=alert(1)>", ["webchat:v-xss"], "US", now),
        }
