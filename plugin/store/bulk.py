"""Many rows of a prepared statement in one go, and a list bound as one parameter (STYLE §11, the batch path).

SQLAlchemy builds each row's parameters for an executemany and, asked for rows back in parameter
order, inserts one row per statement on SQLite: here SQLite gets the prepared statement's many-row
form. On PostgreSQL a plain INSERT, or an UPDATE by key, goes as one statement over arrays
(`unnest`), where SQLAlchemy would send a statement per row (parsed and planned one by one), or with
RETURNING one VALUES list as long as the batch that psycopg parses anew each time; other statements
take the Core path. bench/engine.py and bench/fold.py measure the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Connection, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY

from plugin.store.prepared import Prepared

_MAX_VARIABLES = 30_000  # below SQLite's bound-variable limit (32,766)


def one_of(column, name: str, dialect: str):
    """`column IN (the list bound to :name)` as one bound parameter, for the batch path's look-ups.

    An expanding IN renders a parameter per value at every execution. SQLite reads the list from JSON
    (`json_each`), PostgreSQL as an array (`= ANY`). Callers bind a plain list either way."""
    if dialect == "sqlite":
        return column.in_(
            select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=JSON)))
        )
    # Items bound without the column's length: casting to VARCHAR(n)[] would truncate longer values.
    item = String() if isinstance(column.type, String) else column.type
    return column == any_(bindparam(name, type_=ARRAY(item)))


class ByDialect:
    """A statement prepared once per dialect by `build(dialect name)` (statements using `one_of`)."""

    def __init__(self, build: Callable[[str], Any]) -> None:
        self._build = build
        self._built: dict[str, Any] = {}

    def __call__(self, conn: Connection) -> Any:
        """The prepared statement (or tuple of them, as `build` returns statements) for `conn`'s dialect."""
        name = conn.dialect.name
        prepared = self._built.get(name)
        if prepared is None:
            built = self._build(name)
            prepared = tuple(map(Prepared, built)) if isinstance(built, tuple) else Prepared(built)
            self._built[name] = prepared
        return prepared


def executemany(conn: Connection, prepared: Prepared, rows: list[dict]) -> None:
    """`prepared` over rows that all carry the same keys; none: nothing to do. One row (the webhook
    path, any backend) goes to the driver's cursor."""
    if not rows:
        return
    if len(rows) == 1 and prepared.try_rows(conn, rows[0]) is not None:
        return
    arrays = _over_arrays(conn, prepared, rows)
    if arrays is not None:
        conn.exec_driver_sql(*arrays)
        return
    form = prepared.many_rows(conn, tuple(rows[0]))
    if form is None:
        prepared.execute(conn, rows)
        return
    conn.exec_driver_sql(form.sql, form.params(rows))


def insert_returning(
    conn: Connection, prepared: Prepared, rows: list[dict], returning: Sequence[str], core: Prepared
) -> list:
    """The `returning` columns of the rows `prepared` (a plain INSERT) adds, in no particular order: the
    caller matches them back by a unique key. Multi-row INSERT ... RETURNING statements on SQLite, one
    over arrays on PostgreSQL; `core` (the same insert with its RETURNING) elsewhere."""
    if not rows:
        return []
    arrays = _over_arrays(conn, prepared, rows)
    if arrays is not None:
        sql, params = arrays
        return list(conn.exec_driver_sql(f"{sql} RETURNING {', '.join(returning)}", params))
    form = prepared.many_rows(conn, tuple(rows[0]))
    if form is None:
        return list(core.execute(conn, rows).all())
    head, _, group = form.sql.partition(" VALUES ")
    back = ", ".join(returning)
    per = max(1, _MAX_VARIABLES // max(1, len(form.binds)))
    found: list = []
    for start in range(0, len(rows), per):
        chunk = form.params(rows[start : start + per])
        statement = f"{head} VALUES {', '.join([group] * len(chunk))} RETURNING {back}"
        found += conn.exec_driver_sql(statement, tuple(chain.from_iterable(chunk))).all()
    return found


def _over_arrays(conn: Connection, prepared: Prepared, rows: list[dict]) -> tuple[str, dict] | None:
    """The SQL and array parameters that run `prepared` over `rows` as one statement (PostgreSQL), or
    None: no array form, or an UPDATE whose rows find one row twice."""
    form = prepared.array_rows(conn, tuple(rows[0]))
    params = form.params(rows) if form is not None else None
    return (form.sql, params) if form is not None and params is not None else None
