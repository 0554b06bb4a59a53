"""Many rows of a prebuilt statement sent straight to the SQLite driver (STYLE §11, the batch path).

SQLAlchemy builds each row's parameters for an executemany (~10 µs a row, three times what SQLite takes
to write it) and, asked for rows back in parameter order, inserts one row per statement on SQLite. Here
the statement is compiled once per set of keys and each value goes through its column type's own bind
processor, so what is stored is exactly what SQLAlchemy would store (times and JSON lists remember the
processor's answers). Other backends take the Core path. Also: `one_of`, a list as one bound parameter.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter

from sqlalchemy import JSON, Connection, DateTime, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY

from plugin.store import prepared as raw_sql

_FORMS: dict[tuple[int, tuple[str, ...]], _Form | None] = {}
_MAX_VARIABLES = 30_000  # below SQLite's bound-variable limit (32,766)


def one_of(column, name: str, dialect: str):
    """`column IN (the list bound to :name)` as one bound parameter, for the batch path's look-ups.

    An expanding IN renders a parameter per value at every execution: SQLAlchemy took 2-3 ms per
    statement of 1,000 ids. SQLite reads the list from JSON (`json_each`), PostgreSQL as an array
    (`= ANY`). Callers bind a plain list either way."""
    if dialect == "sqlite":
        return column.in_(
            select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=JSON)))
        )
    # Items bound without the column's length: casting to VARCHAR(n)[] would truncate longer values.
    item = String() if isinstance(column.type, String) else column.type
    return column == any_(bindparam(name, type_=ARRAY(item)))


class ByDialect:
    """A statement prebuilt once per dialect by `build(dialect name)` (statements using `one_of`)."""

    def __init__(self, build: Callable[[str], object]) -> None:
        self._build = build
        self._built: dict[str, object] = {}

    def __call__(self, conn: Connection):
        name = conn.dialect.name
        stmt = self._built.get(name)
        if stmt is None:
            stmt = self._built[name] = self._build(name)
        return stmt


def executemany(conn: Connection, stmt, rows: list[dict]) -> None:
    """`stmt` (prebuilt, module-level) over rows that all carry the same keys; none: nothing to do.
    One row (the webhook path, any backend) goes to the driver's cursor by `raw_sql`."""
    if not rows:
        return
    if len(rows) == 1 and raw_sql.try_rows(conn, stmt, rows[0]) is not None:
        return
    form = _form(conn, stmt, rows)
    if form is None:
        conn.execute(stmt, rows)
        return
    conn.exec_driver_sql(form.sql, form.params(rows))


def insert_returning(conn: Connection, stmt, rows: list[dict], returning: Sequence[str], core_stmt) -> list:
    """The `returning` columns of the rows `stmt` (a plain INSERT) adds, in no particular order: the
    caller matches them back by a unique key. Multi-row INSERT ... RETURNING statements on SQLite;
    `core_stmt` (the same insert with its RETURNING) elsewhere."""
    form = _form(conn, stmt, rows)
    if form is None:
        return conn.execute(core_stmt, rows).all()
    head, _, group = form.sql.partition(" VALUES ")
    back = ", ".join(returning)
    per = max(1, _MAX_VARIABLES // max(1, len(form.binds)))
    found: list = []
    for start in range(0, len(rows), per):
        chunk = form.params(rows[start : start + per])
        statement = f"{head} VALUES {', '.join([group] * len(chunk))} RETURNING {back}"
        found += conn.exec_driver_sql(statement, tuple(chain.from_iterable(chunk))).all()
    return found


class _Form:
    """A statement compiled for SQLite and one set of keys: its SQL and, in order, each parameter's key
    and what turns a column of values into what is bound (None: bound as they are)."""

    __slots__ = ("sql", "binds")

    def __init__(self, sql: str, binds: tuple[tuple[str, Callable | None], ...]) -> None:
        self.sql, self.binds = sql, binds

    def params(self, rows: list[dict]) -> list[tuple]:
        """The rows' parameter tuples, built a column at a time (C loops but for the processors):
        a Python loop per row and column cost ~3 µs a message on the batch path."""
        if not self.binds:
            return [()] * len(rows)
        columns = []
        for name, convert in self.binds:
            values = list(map(itemgetter(name), rows))
            columns.append(values if convert is None else convert(values))
        return list(zip(*columns, strict=True))


def _form(conn: Connection, stmt, rows: list[dict]) -> _Form | None:
    """The statement's form on SQLite; None elsewhere or when the rows lack a column the statement
    needs (a Python-side default: SQLAlchemy fills it)."""
    if conn.dialect.name != "sqlite" or not rows:
        return None
    keys = tuple(rows[0])
    key = (id(stmt), keys)  # statements are module-level: their ids stay theirs
    try:
        return _FORMS[key]
    except KeyError:
        pass
    dialect = conn.dialect
    found = raw_sql.compiled(dialect, stmt, keys)
    form = None
    if found is not None:
        result, names = found
        form = _Form(result.string, tuple((n, _converter(result.binds[n].type, dialect)) for n in names))
    _FORMS[key] = form
    return form


# SQLite's DateTime processor formats seven fields into the text SQLAlchemy stores (~1.3 µs a value) and a
# batch writes each message's time four or five times (message, audit, customer, status) and its `now`
# on most rows: the text is remembered across statements. Only columns in SQLAlchemy's default format.
_TIME_TEXTS: dict[datetime, str] = {}
_TIME_FORMAT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # SQLAlchemy's default SQLite storage format
_TIME_PROBE = datetime(2001, 2, 3, 4, 5, 6, 7)
_KEPT = 8192  # texts remembered before starting over: a few batches' worth
_LIST, _STR = {list}, {str}


def _converter(type_, dialect) -> Callable[[list], list] | None:
    """What turns a column of values into what is bound: the type's bind processor, over the column."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    if isinstance(type_, DateTime) and process(_TIME_PROBE) == _stored_time(_TIME_PROBE):
        return functools.partial(_times, process)
    if isinstance(type_, JSON):
        return functools.partial(_lists, process, {})
    return functools.partial(_processed, process)


def _processed(process, values: list) -> list:
    return list(map(process, values))


def _stored_time(value: datetime) -> str:
    """The default processor's text (the zone dropped), formatted from a tuple, not its dict: 0.75 µs."""
    return _TIME_FORMAT % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def _times(process, values: list) -> list:
    """A column of a DateTime type in the default format, each text computed once and shared by every
    column. Remembered only for plain datetimes without a zone or in UTC: an equal time in another
    zone is another text."""
    texts = []
    for value in values:
        if value.__class__ is not datetime:
            text = process(value)  # None, a date, a subclass: as SQLAlchemy does
        elif value.tzinfo is not None and value.tzinfo is not UTC:
            text = _stored_time(value)
        else:
            text = _TIME_TEXTS.get(value)
            if text is None:
                if len(_TIME_TEXTS) >= _KEPT:
                    _TIME_TEXTS.clear()
                text = _TIME_TEXTS[value] = _stored_time(value)
        texts.append(text)
    return texts


def _lists(process, remembered: dict[tuple[str, ...], str], values: list) -> list:
    """A column of a JSON type. A column of lists of strings (a message's intents and media) has its
    texts remembered and looked up in C loops: the same few recur, and each `json.dumps` took ~1.5 µs
    (0.12 µs a list, against 0.29 remembered in a Python loop)."""
    if set(map(type, values)) != _LIST:
        return list(map(process, values))
    keys = list(map(tuple, values))
    if not set(map(type, chain.from_iterable(keys))) <= _STR:
        return list(map(process, values))
    texts = list(map(remembered.get, keys))
    if None in texts:
        if len(remembered) >= _KEPT:
            remembered.clear()
        for i, text in enumerate(texts):
            if text is None:
                texts[i] = remembered[keys[i]] = process(values[i])
    return texts
