"""A held message's insert commits by itself (`statement_alone`) on every backend, and is refused
where it could not commit: inside a transaction, or on a PostgreSQL connection not in autocommit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin.domain.clock import utcnow
from plugin.domain.events import MessageEvent
from plugin.engine import hold_committed
from plugin.store.db import make_engine, single_statements
from plugin.store.schema import HeldMessage


def event(workspace: int, sid: str) -> MessageEvent:
    return MessageEvent(
        workspace, "sms", "sms:+15557650001", "inbound", "customer", "how much?", sid, utcnow()
    )


def held(db_url: str) -> int:
    other = make_engine(db_url)  # another connection pool: sees only what was committed
    try:
        with other.connect() as conn:
            return conn.execute(select(func.count()).select_from(HeldMessage)).scalar_one()
    finally:
        other.dispose()


def test_a_held_message_is_committed_when_its_insert_returns(db_url, engine, workspace):
    with single_statements(engine) as conn:
        assert hold_committed(conn, event(workspace, "SMa1"), utcnow()) is True
        assert held(db_url) == 1
        assert hold_committed(conn, event(workspace, "SMa1"), utcnow()) is False  # a redelivery
        assert not conn.in_transaction()
    assert held(db_url) == 1


def test_a_statement_alone_where_it_could_not_commit_is_refused_and_stores_nothing(db_url, engine, workspace):
    with (  # inside a transaction, on any backend
        engine.connect() as conn,
        conn.begin(),
        pytest.raises(RuntimeError, match="single_statements connection outside a transaction"),
    ):
        hold_committed(conn, event(workspace, "SMa2"), utcnow())
    if engine.dialect.name == "postgresql":  # not in autocommit: its insert would never commit
        with engine.connect() as conn, pytest.raises(RuntimeError, match="single_statements"):
            hold_committed(conn, event(workspace, "SMa3"), utcnow())
    assert held(db_url) == 0
