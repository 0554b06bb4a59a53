"""Two short-lived statements never share a compiled form: each returns its own rows (issue 19, item 1).

Before prepared statements owned their forms, the forms were cached by `id(statement)`: a statement
built and dropped in a loop was handed the previous one's SQL (this test failed on that code)."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

from plugin.store.bulk import executemany
from plugin.store.db import transaction
from plugin.store.prepared import Prepared
from plugin.store.schema import SlackAdmin, Workspace

W, A = Workspace.__table__, SlackAdmin.__table__


def _short_lived(column) -> Prepared:
    # Built and dropped on every call: CPython gives the next one the same address.
    return Prepared(select(column).where(W.c.id == bindparam("w")))


def test_two_short_lived_statements_get_their_own_rows(engine, workspace):
    with transaction(engine) as conn:
        expected = conn.execute(select(W.c.slug, W.c.id).where(W.c.id == workspace)).one()
        for _ in range(200):
            assert _short_lived(W.c.slug).rows(conn, {"w": workspace}) == [(expected.slug,)]
            assert _short_lived(W.c.id).first(conn, {"w": workspace}) == (expected.id,)


def test_short_lived_inserts_of_many_rows_write_their_own_tables(engine, workspace):
    with transaction(engine) as conn:
        for n in range(50):
            executemany(
                conn,
                Prepared(insert(A)),
                [{"workspace_id": workspace, "user_id": f"U{n}-{i}"} for i in range(2)],
            )
            rows = Prepared(select(A.c.user_id).where(A.c.workspace_id == bindparam("w"))).rows(
                conn, {"w": workspace}
            )
            assert {f"U{n}-0", f"U{n}-1"} <= {r[0] for r in rows}
