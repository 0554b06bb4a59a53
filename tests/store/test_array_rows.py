"""PostgreSQL's batch statements over arrays (`unnest`) store exactly what SQLAlchemy's executemany
stores, refuse what it refuses, and leave to it what one statement cannot do (an UPDATE finding one
row twice). On SQLite there is no array form: the batch path keeps its many-row statements."""

from __future__ import annotations

import pytest
from sqlalchemy import and_, bindparam, insert, select, text, update
from sqlalchemy.exc import DataError

from plugin.domain.clock import aware
from plugin.store.bulk import executemany, insert_returning
from plugin.store.db import transaction
from plugin.store.prepared import Prepared
from plugin.store.schema import Customer, CustomerStatus, Message
from tests.store.test_prepared import _customer, _row

M, C, CS = Message.__table__, Customer.__table__, CustomerStatus.__table__
_INSERT = Prepared(insert(M))
_INSERT_RETURNING = Prepared(insert(M).returning(M.c.id, M.c.provider_id))
_TOUCH = Prepared(
    update(C)
    .where(and_(C.c.workspace_id == bindparam("w"), C.c.id == bindparam("c")))
    .values(last_inbound_at=bindparam("at"), waiting_since=bindparam("since"))
)
STORED = "SELECT provider_id, text, provider_at, received_at, intents, media, delivery_status FROM messages"


def _rows(workspace: int, customer: int, prefix: str) -> list[dict]:
    rows = [_row(workspace, customer, f"{prefix}{n}") for n in range(4)]
    rows[1].update(text='quotes " \\ {braces}, commas, NULL and 😀', intents=[], media=None)
    rows[2].update(delivery_status="sent", intents={"nested": [1, None]})
    return rows


def _stored(conn, prefix: str) -> list[tuple]:
    found = conn.execute(
        text(f"{STORED} WHERE provider_id LIKE :p ORDER BY provider_id"), {"p": prefix + "%"}
    )
    return [(pid.removeprefix(prefix), *rest) for pid, *rest in found]


def test_rows_inserted_over_arrays_are_stored_as_core_stores_them(engine, workspace):
    customer = _customer(engine, workspace)
    with transaction(engine) as conn:
        keys = tuple(_row(workspace, customer, "x"))
        assert (_INSERT.array_rows(conn, keys) is not None) == (conn.dialect.name == "postgresql")
        _INSERT.execute(conn, _rows(workspace, customer, "core-"))
        executemany(conn, _INSERT, _rows(workspace, customer, "batch-"))
        returned = insert_returning(
            conn, _INSERT, _rows(workspace, customer, "back-"), ("id", "provider_id"), _INSERT_RETURNING
        )
        core = _stored(conn, "core-")
        assert _stored(conn, "batch-") == core == _stored(conn, "back-")
        ids = dict(conn.execute(select(M.c.provider_id, M.c.id).where(M.c.provider_id.like("back-%"))).all())
    assert sorted((pid, mid) for mid, pid in returned) == sorted(ids.items())


def test_an_over_long_value_is_refused_not_cut_short(engine, workspace):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    customer = _customer(engine, workspace)
    rows = _rows(workspace, customer, "long-")
    rows[3]["channel"] = "c" * 17  # the column holds 16
    with pytest.raises(DataError), transaction(engine) as conn:
        executemany(conn, _INSERT, rows)
    with engine.connect() as conn:
        assert _stored(conn, "long-") == []


def test_an_update_over_arrays_sets_each_row_its_own_values(engine, workspace):
    first, second = _customer(engine, workspace), None
    with transaction(engine) as conn:
        second = conn.execute(
            insert(C).values(workspace_id=workspace, name="Second", created_at=_row(0, 0, "")["received_at"])
        ).inserted_primary_key[0]
    a, b = _row(0, 0, "")["provider_at"], _row(0, 0, "")["received_at"]
    with transaction(engine) as conn:
        executemany(
            conn,
            _TOUCH,
            [
                {"w": workspace, "c": first, "at": a, "since": None},
                {"w": workspace, "c": second, "at": b, "since": a},
            ],
        )
        got = {
            cid: (aware(at), since and aware(since))
            for cid, at, since in conn.execute(select(C.c.id, C.c.last_inbound_at, C.c.waiting_since))
        }
    assert got[first] == (a, None) and got[second] == (b, a)


def test_an_update_finding_one_row_twice_applies_both_in_order(engine, workspace):
    customer = _customer(engine, workspace)
    a, b = _row(0, 0, "")["provider_at"], _row(0, 0, "")["received_at"]
    rows = [
        {"w": workspace, "c": customer, "at": a, "since": a},
        {"w": workspace, "c": customer, "at": b, "since": None},
    ]
    with transaction(engine) as conn:
        form = _TOUCH.array_rows(conn, tuple(rows[0]))
        if form is not None:
            assert form.params(rows) is None  # one statement would apply only one of them
        executemany(conn, _TOUCH, rows)
        at, since = conn.execute(
            select(C.c.last_inbound_at, C.c.waiting_since).where(C.c.id == customer)
        ).one()
        assert (aware(at), since) == (b, None)


def test_statements_of_other_shapes_have_no_array_form(engine):
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("the array form is PostgreSQL's")
        keys = ("w", "c", "at", "since")
        assert _INSERT_RETURNING.array_rows(conn, tuple(_row(0, 0, ""))) is None
        ranged = Prepared(update(C).where(C.c.id > bindparam("c")).values(name=bindparam("n")))
        assert ranged.array_rows(conn, ("c", "n")) is None
        assert _TOUCH.array_rows(conn, keys[:3]) is None  # a parameter missing
        cs = Prepared(
            update(CS).where(CS.c.customer_id == bindparam("c")).values(status_id=CS.c.status_id + 1)
        )
        assert cs.array_rows(conn, ("c",)) is None
