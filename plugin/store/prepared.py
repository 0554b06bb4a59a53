"""Prepared statements: the webhook and batch paths' statements on the driver's own cursor (STYLE §11).

A `Prepared` owns its statement and the forms compiled from it: one per dialect and set of parameter
names for a run of one row, and on SQLite one per set of keys for many rows. Nothing is keyed on an
object's address, so a short-lived `Prepared` can never be handed another statement's SQL; keep the
hot path's at module level only so that they compile once.

Parameters go through the columns' own bind processors, so what is stored is exactly what SQLAlchemy
would store; result values go through the columns' result processors (times the engine reads as
text stay text) but come back as plain tuples. A driver error is raised as SQLAlchemy's own
exception (IntegrityError, OperationalError...) and a lost connection is invalidated, as
`Connection.execute` would do. bench/engine.py and bench/ingest.py measure what this saves.

The statements run in the caller's transaction. On PostgreSQL the driver opens the transaction with
the first statement, so a read made before `conn.begin()` is part of it; SQLite runs it in autocommit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Insert, Table, Update, exc
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement and its compiled forms. Build it once (module level) and run it many times."""

    __slots__ = ("statement", "_one", "_many", "_arrays")

    def __init__(self, statement) -> None:
        self.statement = statement
        self._one: dict[tuple[str, tuple[str, ...]], _OneRow | None] = {}
        self._many: dict[tuple[str, ...], _ManyRows | None] = {}
        self._arrays: dict[tuple[str, ...], _ArrayRows | None] = {}

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[tuple]:
        """All rows with `params`, which must name every parameter the statement has (ValueError
        otherwise)."""
        found = self.try_rows(conn, params)
        if found is None:
            raise ValueError(
                "a prepared statement runs with every parameter given and none expanding; "
                f"given: {', '.join(params) or 'none'}"
            )
        return found

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def try_rows(self, conn: Connection, params: dict[str, Any]) -> list[tuple] | None:
        """`rows`, or None (nothing run) when the statement cannot run on the cursor: a parameter
        `params` lacks (a Python-side default SQLAlchemy would fill) or one that expands. Callers then
        take the Core path (`execute`)."""
        dialect = conn.dialect
        key = (dialect.name, tuple(params))
        try:
            form = self._one[key]
        except KeyError:
            form = self._one[key] = _OneRow.compile(dialect, self.statement, key[1])
        if form is None:
            return None
        return form.run(conn, params)

    def execute(self, conn: Connection, params) -> CursorResult:
        """The Core path: SQLAlchemy runs the statement (any backend, any parameters)."""
        return conn.execute(self.statement, params)

    def many_rows(self, conn: Connection, keys: tuple[str, ...]) -> _ManyRows | None:
        """The statement's form for many rows carrying `keys`, on SQLite; None elsewhere or when the
        keys lack a column the statement needs (a Python-side default: SQLAlchemy fills it)."""
        if conn.dialect.name != "sqlite":
            return None
        try:
            return self._many[keys]
        except KeyError:
            pass
        found = _compiled(conn.dialect, self.statement, keys)
        form = None
        if found is not None:
            result, names = found
            form = _ManyRows(
                result.string, tuple((n, _converter(result.binds[n].type, conn.dialect)) for n in names)
            )
        self._many[keys] = form
        return form

    def array_rows(self, conn: Connection, keys: tuple[str, ...]) -> _ArrayRows | None:
        """The statement's form for many rows carrying `keys` on PostgreSQL, when it is a plain INSERT
        or an UPDATE by key: one statement whose parameters are a column each, as arrays (`unnest`).
        Its SQL is the same for any number of rows, so neither psycopg nor the server parses a
        statement per row (or one as long as the batch). None elsewhere."""
        if conn.dialect.name != "postgresql":
            return None
        try:
            return self._arrays[keys]
        except KeyError:
            pass
        form = self._arrays[keys] = _ArrayRows.compile(conn.dialect, self.statement, keys)
        return form


def run(conn: Connection, sql: str) -> None:
    """A fixed statement without parameters or rows (`BEGIN IMMEDIATE`)."""
    with translated(conn, sql, ()):
        _driver(conn).execute(sql)


class _OneRow:
    """A statement compiled for one dialect and one set of parameter names."""

    __slots__ = ("sql", "binds", "named", "results")

    def __init__(self, sql: str, binds: tuple[tuple[str, Processor], ...], named: bool, results: tuple):
        self.sql, self.binds, self.named = sql, binds, named
        self.results = results if any(results) else None  # result processors, None when all are None

    @classmethod
    def compile(cls, dialect, stmt, keys: tuple[str, ...]) -> _OneRow | None:
        found = _compiled(dialect, stmt, keys)
        if found is None:
            return None
        result, names = found
        binds = tuple(
            (name, result.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names
        )
        columns = stmt.exported_columns if getattr(stmt, "exported_columns", None) is not None else ()
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        return cls(result.string, binds, result.positiontup is None, results)

    def run(self, conn: Connection, params: dict[str, Any]) -> list[tuple]:
        values: dict | tuple
        if self.named:
            values = {name: params[name] if p is None else p(params[name]) for name, p in self.binds}
        else:
            values = tuple([params[name] if p is None else p(params[name]) for name, p in self.binds])
        with translated(conn, self.sql, values):
            cursor = _driver(conn).cursor()
            try:
                cursor.execute(self.sql, values)
                found = cursor.fetchall() if cursor.description else []
            finally:
                cursor.close()
        processors = self.results
        if processors is None:
            return found
        return [
            tuple([v if p is None else p(v) for v, p in zip(row, processors, strict=True)]) for row in found
        ]


class _ManyRows:
    """A statement compiled for SQLite and one set of keys: its SQL and, in order, each parameter's key
    and what turns a column of values into what is bound (None: bound as they are)."""

    __slots__ = ("sql", "binds")

    def __init__(self, sql: str, binds: tuple[tuple[str, Callable | None], ...]) -> None:
        self.sql, self.binds = sql, binds

    def params(self, rows: list[dict]) -> list[tuple]:
        """The rows' parameter tuples, built a column at a time."""
        if not self.binds:
            return [()] * len(rows)
        columns = []
        for name, convert in self.binds:
            values = list(map(itemgetter(name), rows))
            columns.append(values if convert is None else convert(values))
        return list(zip(*columns, strict=True))


class _ArrayRows:
    """A plain INSERT, or an UPDATE setting and matching columns to parameters, on PostgreSQL as one
    statement over a column array per parameter (`unnest`), for one set of keys: its SQL, what turns
    each key's column of values into what is bound, and for an UPDATE the keys that find its row."""

    __slots__ = ("sql", "binds", "unique")

    def __init__(self, sql: str, binds: tuple[tuple[str, Callable | None], ...], unique: tuple[str, ...]):
        self.sql, self.binds, self.unique = sql, binds, unique

    @classmethod
    def compile(cls, dialect, stmt, keys: tuple[str, ...]) -> _ArrayRows | None:
        if _compiled(dialect, stmt, keys) is None or getattr(stmt, "_returning", None):
            return None
        table = stmt.table if isinstance(stmt, Insert | Update) else None
        if not isinstance(table, Table) or table.schema is not None:
            return None
        if isinstance(stmt, Insert):
            return cls._insert(dialect, stmt, table, keys)
        return cls._update(dialect, stmt, table, keys)

    @classmethod
    def _insert(cls, dialect, stmt: Insert, table: Table, keys: tuple[str, ...]) -> _ArrayRows | None:
        if stmt._values or stmt._post_values_clause is not None:
            return None
        quote = dialect.identifier_preparer.quote
        columns = [table.c[key] for key in keys]
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
            f"SELECT * FROM unnest({', '.join(_array(dialect, n, c) for n, c in enumerate(columns))})"
        )
        return cls(sql, _binds(dialect, keys, columns), ())

    @classmethod
    def _update(cls, dialect, stmt: Update, table: Table, keys: tuple[str, ...]) -> _ArrayRows | None:
        quote = dialect.identifier_preparer.quote
        matched = _equalities(table, stmt._where_criteria)
        assigned = {}
        for column, value in (stmt._values or {}).items():
            name = column if isinstance(column, str) else getattr(column, "key", None)
            if not isinstance(name, str) or name not in table.c or not isinstance(value, BindParameter):
                return None
            assigned[value.key] = table.c[name]
        if matched is None or not assigned or set(matched) & set(assigned):
            return None
        if set(matched) | set(assigned) != set(keys):
            return None
        bound = {**assigned, **matched}  # parameter a<n> is the n-th: the assigned ones, then the key
        sets = ", ".join(f"{quote(column.name)} = v.a{n}" for n, column in enumerate(assigned.values()))
        where = " AND ".join(
            f"{quote(table.name)}.{quote(column.name)} = v.a{n}"
            for n, column in enumerate(bound.values())
            if n >= len(assigned)
        )
        sql = (
            f"UPDATE {quote(table.name)} SET {sets} FROM unnest("
            f"{', '.join(_array(dialect, n, c) for n, c in enumerate(bound.values()))}) "
            f"AS v({', '.join(f'a{n}' for n in range(len(bound)))}) WHERE {where}"
        )
        return cls(sql, _binds(dialect, tuple(bound), list(bound.values())), tuple(matched))

    def params(self, rows: list[dict]) -> dict[str, list] | None:
        """The rows as one array per parameter; None for an UPDATE whose rows find one row twice (one
        statement would apply only one of them: run them one by one)."""
        if self.unique and len({tuple(row[k] for k in self.unique) for row in rows}) != len(rows):
            return None
        out = {}
        for n, (name, convert) in enumerate(self.binds):
            values = list(map(itemgetter(name), rows))
            out[f"a{n}"] = values if convert is None else convert(values)
        return out


def _array(dialect, n: int, column) -> str:
    """Parameter `a<n>` as an array of the column's base type, without its length: a cast to
    VARCHAR(n) would truncate, where the column's own assignment refuses an over-long value."""
    base = re.sub(r"\(.*?\)", "", column.type.compile(dialect=dialect))
    return f"CAST(%(a{n})b AS {base}[])"


def _binds(dialect, keys: tuple[str, ...], columns) -> tuple[tuple[str, Callable | None], ...]:
    return tuple((key, _converter(c.type, dialect)) for key, c in zip(keys, columns, strict=True))


def _equalities(table, criteria) -> dict | None:
    """{parameter: column} of a WHERE that is only `column = :parameter` terms joined by AND."""
    found: dict = {}
    pending = list(criteria)
    while pending:
        clause = pending.pop()
        if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
            pending.extend(clause.clauses)
            continue
        if not (
            isinstance(clause, BinaryExpression)
            and clause.operator is operators.eq
            and isinstance(clause.right, BindParameter)
            and getattr(clause.left, "table", None) is table
        ):
            return None
        found[clause.right.key] = clause.left
    return found or None


def _driver(conn: Connection) -> Any:
    """The DBAPI connection under `conn` (sqlite3's or psycopg's), checked out for this transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None, "the connection is closed"
    return driver


def _compiled(dialect, stmt, keys: tuple[str, ...]) -> tuple[Any, tuple[str, ...]] | None:
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


def _converter(type_, dialect) -> Callable[[list], list] | None:
    """What turns a column of values into what is bound: the type's bind processor, value by value."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    return None if process is None else functools.partial(_processed, process)


def _processed(process, values: list) -> list:
    return list(map(process, values))
