"""The webhook path's statements on the driver's cursor store and read exactly what SQLAlchemy would,
and fail the way SQLAlchemy fails (SQLAlchemy's exceptions; a lost connection is not pooled again)."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from plugin.domain.events import MessageEvent
from plugin.engine.inbox import receive
from plugin.store.db import make_engine, transaction
from plugin.store.prepared import Prepared
from plugin.store.schema import Message, Workspace
from tests.conftest import at

M, W = Message.__table__, Workspace.__table__
_INSERT = Prepared(insert(M))
_BY_PROVIDER_ID = Prepared(
    select(M.c.id, M.c.provider_at, M.c.intents, M.c.media).where(M.c.provider_id == bindparam("p"))
)
_SETTINGS = Prepared(select(W.c.settings, W.c.id).where(W.c.id == bindparam("w")))


def _customer(engine, workspace) -> int:
    event = MessageEvent(workspace, "sms", "sms:+15557654321", "inbound", "customer", "hi", "SMfirst", at(1))
    with transaction(engine) as conn:
        return receive(conn, workspace, [event], now=at(1))[0].customer_id


def _row(workspace: int, customer: int, provider_id: str) -> dict:
    return {
        "workspace_id": workspace,
        "customer_id": customer,
        "channel": "sms",
        "direction": "inbound",
        "sender": "customer",
        "text": "can I pay by card? ünïcødé",
        "provider_id": provider_id,
        "provider_at": at(5, 7),
        "received_at": at(5, 8),
        "delivery_status": None,
        "error_code": None,
        "intents": ["payment"],
        "media": ["https://example.test/a.jpg"],
        "opt": None,
    }


def test_a_row_written_raw_is_stored_exactly_as_core_stores_it(engine, workspace):
    customer = _customer(engine, workspace)
    with transaction(engine) as conn:
        _INSERT.execute(conn, _row(workspace, customer, "SMcore"))
        _INSERT.rows(conn, _row(workspace, customer, "SMraw"))
    with engine.connect() as conn:
        # Compared as stored, below the column types: the same text, the same JSON, the same times.
        stored = {
            pid: rest
            for pid, *rest in conn.execute(
                text(
                    "SELECT provider_id, text, provider_at, received_at, intents, media FROM messages "
                    "WHERE provider_id IN ('SMcore', 'SMraw')"
                )
            )
        }
    assert stored["SMraw"] == stored["SMcore"]


def test_rows_read_raw_come_back_as_core_reads_them(engine, workspace):
    customer = _customer(engine, workspace)
    with transaction(engine) as conn:
        _INSERT.execute(conn, _row(workspace, customer, "SMread"))
        core = tuple(_BY_PROVIDER_ID.execute(conn, {"p": "SMread"}).one())
        assert _BY_PROVIDER_ID.first(conn, {"p": "SMread"}) == core
        assert _BY_PROVIDER_ID.first(conn, {"p": "no such message"}) is None
        conn.execute(W.update().where(W.c.id == workspace).values(settings={"sms_auto_reply": "Thanks!"}))
        assert _SETTINGS.first(conn, {"w": workspace}) == ({"sms_auto_reply": "Thanks!"}, workspace)


def test_a_duplicate_raises_sqlalchemys_integrity_error_and_the_transaction_rolls_back(engine, workspace):
    customer = _customer(engine, workspace)
    with pytest.raises(IntegrityError), transaction(engine) as conn:
        _INSERT.rows(conn, _row(workspace, customer, "SMtwice"))
        _INSERT.rows(conn, _row(workspace, customer, "SMtwice"))
    with engine.connect() as conn:
        assert _BY_PROVIDER_ID.execute(conn, {"p": "SMtwice"}).first() is None


def test_a_missing_parameter_is_refused_before_anything_runs(engine, workspace):
    with engine.connect() as conn, pytest.raises(ValueError, match="given: q"):
        _BY_PROVIDER_ID.rows(conn, {"q": "SM1"})


def test_a_connection_lost_mid_request_is_invalidated_not_pooled_again(db_url, workspace):
    if not db_url.startswith("postgresql"):
        pytest.skip("a server-side disconnect needs a server")
    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.rollback()
        killer = make_engine(db_url)
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        killer.dispose()
        with pytest.raises(DBAPIError) as failed:
            _SETTINGS.rows(conn, {"w": workspace})
        assert failed.value.connection_invalidated
    # The pool's only connection was discarded: the next request gets a live one.
    with engine.connect() as conn:
        assert _SETTINGS.first(conn, {"w": workspace})[1] == workspace
    engine.dispose()
