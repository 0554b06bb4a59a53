"""Everything works through PgBouncer in transaction pooling mode (SPEC §8): no statement outlives its
transaction on the server, since the next transaction may be given another server connection."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from plugin.store.db import transaction
from plugin.store.schema import Workspace

pytestmark = pytest.mark.pgbouncer


def test_no_statement_is_prepared_on_the_server(engine, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("server-side prepared statements are PostgreSQL's")
    with transaction(engine) as conn:
        for _ in range(20):  # psycopg would prepare after 5 runs of one statement
            conn.execute(select(Workspace.id)).all()
        prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
    assert prepared == 0
