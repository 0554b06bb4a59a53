"""Many rows of a prebuilt statement sent straight to the SQLite driver (STYLE §11, the batch path).

SQLAlchemy builds each row's parameters for an executemany (~10 µs a row, three times what SQLite takes
to write it) and, asked for rows back in parameter order, inserts one row per statement on SQLite. Here
the statement is compiled once per set of keys and each value goes through its column type's own bind
processor, so what is stored is exactly what SQLAlchemy would store. Other backends take the Core path.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

_FORMS: dict[tuple[int, tuple[str, ...]], tuple[str, tuple] | None] = {}
_MAX_VARIABLES = 30_000  # below SQLite's bound-variable limit (32,766)


def executemany(conn: Connection, stmt, rows: list[dict]) -> None:
    """`stmt` (prebuilt, module-level) over rows that all carry the same keys; none: nothing to do."""
    if not rows:
        return
    form = _form(conn, stmt, rows)
    if form is None:
        conn.execute(stmt, rows)
        return
    sql, pairs = form
    conn.exec_driver_sql(
        sql,
        [
            tuple([row[name] if process is None else process(row[name]) for name, process in pairs])
            for row in rows
        ],
    )


def insert_returning(conn: Connection, stmt, rows: list[dict], returning: Sequence[str], core_stmt) -> list:
    """The `returning` columns of the rows `stmt` (a plain INSERT) adds, in no particular order: the
    caller matches them back by a unique key. Multi-row INSERT ... RETURNING statements on SQLite;
    `core_stmt` (the same insert with its RETURNING) elsewhere."""
    form = _form(conn, stmt, rows)
    if form is None:
        return conn.execute(core_stmt, rows).all()
    sql, pairs = form
    head, _, group = sql.partition(" VALUES ")
    back = ", ".join(returning)
    per = max(1, _MAX_VARIABLES // max(1, len(pairs)))
    found: list = []
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        params = [
            row[name] if process is None else process(row[name]) for row in chunk for name, process in pairs
        ]
        statement = f"{head} VALUES {', '.join([group] * len(chunk))} RETURNING {back}"
        found += conn.exec_driver_sql(statement, tuple(params)).all()
    return found


def _form(conn: Connection, stmt, rows: list[dict]) -> tuple[str, tuple] | None:
    """(SQL, ((key, bind processor), ...)) on SQLite; None elsewhere or when the rows lack a column
    the statement needs (a Python-side default: SQLAlchemy fills it)."""
    if conn.dialect.name != "sqlite" or not rows:
        return None
    keys = tuple(rows[0])
    key = (id(stmt), keys)  # statements are module-level: their ids stay theirs
    try:
        return _FORMS[key]
    except KeyError:
        pass
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
    names = tuple(compiled.positiontup or ())
    form = None
    if set(names) <= set(keys) and not compiled.literal_execute_params and not compiled.post_compile_params:
        processors = [compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
        form = (compiled.string, tuple(zip(names, processors, strict=True)))
    _FORMS[key] = form
    return form
