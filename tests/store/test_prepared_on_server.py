"""STATUSHUB_PREPARED_STATEMENTS: PostgreSQL keeps the hub's statements prepared, when told to (SPEC §8).

Off by default, so everything works through PgBouncer in transaction pooling (tests/store/test_poolers.py).
On, for a hub connected to PostgreSQL itself (or to PgBouncer 1.21+ with `max_prepared_statements`),
psycopg prepares a statement once it has run five times on a connection, and the server stops parsing
and planning it on every webhook.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from plugin.app import create_app
from plugin.app.settings import Settings
from plugin.store.schema import Message
from tests.adapters.sms.conftest import inbound_form, post_inbound, rows


def prepared_on_the_server(app) -> int:
    """Statements prepared on one of the hub's own pooled connections (the one a webhook just used)."""
    with app.extensions["statushub"].engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


@pytest.mark.parametrize("switch", [False, True])
def test_the_hub_prepares_statements_on_postgresql_only_when_switched_on(db_url, engine, workspace, switch):
    if not db_url.startswith("postgresql"):
        pytest.skip("server-side prepared statements are PostgreSQL's")
    app = create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "FOLD_DELAY_MS": 0, "PREPARED_STATEMENTS": switch}
    )
    client = app.test_client()
    for n in range(8):  # one pooled connection: each statement runs eight times on it
        answer = post_inbound(client, inbound_form(f"SMprep{n}", f"how much is the blue hoodie? ({n})"))
        assert answer.status_code == 200
    assert rows(engine, Message) == 8  # prepared or not, every message is stored
    assert (prepared_on_the_server(app) > 0) is switch


def test_prepared_statements_are_off_unless_switched_on():
    assert Settings.from_env({}).prepared_statements is False
    assert Settings.from_env({"STATUSHUB_PREPARED_STATEMENTS": "on"}).prepared_statements is True
    assert Settings.from_env({"STATUSHUB_PREPARED_STATEMENTS": "OFF"}).prepared_statements is False
    assert Settings.from_env({"STATUSHUB_PREPARED_STATEMENTS": "true"}).prepared_statements is True


@pytest.mark.parametrize("value", ["sometimes", "2", "on please"])
def test_a_bad_prepared_statements_switch_is_refused_by_name(value):
    with pytest.raises(ValueError, match="STATUSHUB_PREPARED_STATEMENTS must be on or off"):
        Settings.from_env({"STATUSHUB_PREPARED_STATEMENTS": value})
