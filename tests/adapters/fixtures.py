"""Recorded payloads (tests/adapters/<name>/fixtures/*.json), each naming where it was captured."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, event, text

from plugin.app import lane
from plugin.store.db import transaction

HERE = Path(__file__).parent


def fixture(adapter: str, name: str) -> dict:
    document = json.loads((HERE / adapter / "fixtures" / f"{name}.json").read_text(encoding="utf-8"))
    assert document["_source"], "every fixture says where it was recorded"
    return document


@contextmanager
def inserts_failing(app_engine: Engine, engine: Engine, table: str) -> Iterator[None]:
    """Within the block, inserts into `table` fail in the database driver, as a failing disk makes
    them: SQLite's authorizer refuses them on `app_engine`'s connections (opened anew), a PostgreSQL
    trigger raises (on the database, through `engine`). Below SQLAlchemy, since the webhook paths
    run their statements on the driver's cursor."""

    def deny(dbapi_conn, _record):
        def authorize(action, name, *_):
            refused = action == sqlite3.SQLITE_INSERT and name == table
            return sqlite3.SQLITE_DENY if refused else sqlite3.SQLITE_OK

        dbapi_conn.set_authorizer(authorize)

    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        event.listen(app_engine, "connect", deny)
        app_engine.dispose()
    else:
        with transaction(engine) as conn:
            conn.execute(text(_FAILING_TRIGGER.format(table=table)))
    try:
        yield
    finally:
        if sqlite:
            event.remove(app_engine, "connect", deny)
            app_engine.dispose()
        else:
            with transaction(engine) as conn:
                conn.execute(text(f"DROP TRIGGER fail_insert ON {table}; DROP FUNCTION fail_insert()"))


_FAILING_TRIGGER = """
CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'disk I/O error' USING ERRCODE = '58030'; END $$;
CREATE TRIGGER fail_insert BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION fail_insert();
"""


def route_stand_in(app: Flask, endpoint: str) -> list[bool]:
    """Replaces a route's view with one answering 418; the list returned grows by one per call (what
    the webhook lane answers never reaches it)."""
    reached: list[bool] = []

    def stand_in():
        reached.append(True)
        return "the route", 418

    app.view_functions[endpoint] = stand_in
    return reached


def laned_and_plain(laned: Flask, plain: Flask) -> tuple:
    """Test clients of two hubs on one database: `laned` as it runs, `plain` with nothing in its
    webhook lane (Flask answers every request)."""
    lane(plain).handlers.clear()
    return laned.test_client(), plain.test_client()


def answer_of(response) -> tuple:
    """What a sender sees of an answer: its status, headers and body."""
    return response.status_code, sorted(response.headers.items()), response.data
