"""A database failure mid-webhook answers 503 so Twilio retries, and leaves nothing half-stored (SPEC §5)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import event, text

from plugin.app import create_app
from plugin.store.db import transaction
from plugin.store.schema import Customer, Message
from tests.adapters.sms.conftest import inbound_form, post_inbound, rows


def _deny_audit_inserts(dbapi_conn, _record):
    # SQLite refuses the statement as it is prepared: the driver raises a DatabaseError.
    def authorize(action, table, *_):
        refused = action == sqlite3.SQLITE_INSERT and table == "status_changes"
        return sqlite3.SQLITE_DENY if refused else sqlite3.SQLITE_OK

    dbapi_conn.set_authorizer(authorize)


_FAILING_TRIGGER = """
CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'disk I/O error' USING ERRCODE = '58030'; END $$;
CREATE TRIGGER fail_audit BEFORE INSERT ON status_changes FOR EACH ROW EXECUTE FUNCTION fail_audit();
"""


def test_database_failure_answers_503_and_stores_nothing(db_url, engine, workspace):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    app_engine = app.extensions["statushub"].engine
    # The failure strikes at the audit insert, after the message row is written in the same
    # transaction, so a partial commit would show. It is raised by the database driver itself, below
    # SQLAlchemy, since the webhook path runs its statements on the driver's cursor.
    sqlite = db_url.startswith("sqlite")
    if sqlite:
        event.listen(app_engine, "connect", _deny_audit_inserts)
    else:
        with transaction(engine) as conn:
            conn.execute(text(_FAILING_TRIGGER))

    answer = post_inbound(app.test_client(), inbound_form("SM1", "hello"))
    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "database_unavailable"
    assert rows(engine, Message) == 0 and rows(engine, Customer) == 0

    if sqlite:
        event.remove(app_engine, "connect", _deny_audit_inserts)
        app_engine.dispose()
    else:
        with transaction(engine) as conn:
            conn.execute(text("DROP TRIGGER fail_audit ON status_changes"))
    assert post_inbound(app.test_client(), inbound_form("SM1", "hello")).status_code == 200
    assert rows(engine, Message) == 1
