"""One-row statements of the webhook path run on the driver's own cursor (STYLE §11).

Through SQLAlchemy a prebuilt statement costs ~45 µs to run on SQLite (~28 µs as `exec_driver_sql`)
against ~5 µs on the driver's cursor, and a webhook runs five or six of them. Here each statement is
compiled once per dialect and its parameters go through the columns' own bind processors, so what is
stored is exactly what SQLAlchemy would store; a driver error is raised as SQLAlchemy's own exception
(IntegrityError, OperationalError...) and a lost connection is invalidated, as `Connection.execute`
would do. Result values go through the columns' result processors, as SQLAlchemy's rows would (times
read as text by `customer_state.SqliteTimes` stay text), but come back as plain tuples.

The statements run in the caller's transaction. On PostgreSQL the driver opens the transaction with
the first statement, so a read made before `conn.begin()` is part of it; SQLite runs it in autocommit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, exc

Processor = Callable[[Any], Any] | None


class _Form:
    """A statement compiled for one dialect and one set of parameter names."""

    __slots__ = ("sql", "binds", "named", "results")

    def __init__(self, sql: str, binds: tuple[tuple[str, Processor], ...], named: bool, results: tuple):
        self.sql, self.binds, self.named = sql, binds, named
        self.results = results if any(results) else None  # result processors, None when all are None


_FORMS: dict[tuple[str, int, tuple[str, ...]], _Form | None] = {}


def rows(conn: Connection, stmt, params: dict[str, Any]) -> list[tuple]:
    """All rows of `stmt` (a module-level, prebuilt statement) with `params`, which must name every
    parameter the statement has (ValueError otherwise)."""
    found = try_rows(conn, stmt, params)
    if found is None:
        raise ValueError(
            "raw_sql runs statements whose every parameter is given and none expands; "
            f"given: {', '.join(params) or 'none'}"
        )
    return found


def first(conn: Connection, stmt, params: dict[str, Any]) -> tuple | None:
    found = rows(conn, stmt, params)
    return found[0] if found else None


def try_rows(conn: Connection, stmt, params: dict[str, Any]) -> list[tuple] | None:
    """`rows`, or None (nothing run) when the statement cannot run here: a parameter `params` lacks
    (a Python-side default SQLAlchemy would fill) or one that expands. Callers then take the Core path."""
    dialect = conn.dialect
    key = (dialect.name, id(stmt), tuple(params))  # statements are module-level: their ids stay theirs
    try:
        form = _FORMS[key]
    except KeyError:
        form = _FORMS[key] = _compile(dialect, stmt, key[2])
    if form is None:
        return None
    if form.named:
        values = {name: params[name] if p is None else p(params[name]) for name, p in form.binds}
    else:
        values = tuple([params[name] if p is None else p(params[name]) for name, p in form.binds])
    with translated(conn, form.sql, values):
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(form.sql, values)
            found = cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()
    processors = form.results
    if processors is None:
        return found
    return [tuple([v if p is None else p(v) for v, p in zip(row, processors, strict=True)]) for row in found]


def run(conn: Connection, sql: str) -> None:
    """A fixed statement without parameters or rows (`BEGIN IMMEDIATE`)."""
    with translated(conn, sql, ()):
        conn.connection.driver_connection.execute(sql)


def compiled(dialect, stmt, keys: tuple[str, ...]) -> tuple[object, tuple[str, ...]] | None:
    """`stmt` compiled for `dialect` with parameters `keys`, and its parameter names in bind order;
    None when it needs a parameter `keys` lack or one that expands (or is rendered literally)."""
    result = stmt.compile(dialect=dialect, column_keys=list(keys))
    if result.literal_execute_params or result.post_compile_params:
        return None
    positional = result.positiontup
    names = tuple(positional) if positional is not None else tuple(result.binds)
    if not set(names) <= set(keys):
        return None
    return result, names


def _compile(dialect, stmt, keys: tuple[str, ...]) -> _Form | None:
    found = compiled(dialect, stmt, keys)
    if found is None:
        return None
    result, names = found
    binds = tuple(
        (name, result.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names
    )
    columns = stmt.exported_columns if getattr(stmt, "exported_columns", None) is not None else ()
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Form(result.string, binds, result.positiontup is None, results)


@contextmanager
def translated(conn: Connection, sql: str, params) -> Iterator[None]:
    """Driver errors as SQLAlchemy raises them; a lost connection is invalidated, not pooled again."""
    dialect = conn.dialect
    try:
        yield
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
        if lost:
            conn.invalidate(error)
        raise exc.DBAPIError.instance(
            sql,
            params,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error
