"""A database failure mid-webhook answers 503 so Twilio retries, and leaves nothing half-stored (SPEC §5)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from plugin.app import create_app
from plugin.schema import Customer, Message
from tests.adapters.sms.conftest import inbound_form, post_inbound, rows


def test_database_failure_answers_503_and_stores_nothing(db_url, engine, workspace):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    app_engine = app.extensions["statushub"].engine

    # The failure strikes after the message row is written, so a partial commit would show.
    @event.listens_for(app_engine, "before_cursor_execute")
    def fail_on_audit(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO STATUS_CHANGES"):
            raise OperationalError(statement, {}, Exception("disk I/O error"))

    answer = post_inbound(app.test_client(), inbound_form("SM1", "hello"))
    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "database_unavailable"
    assert rows(engine, Message) == 0 and rows(engine, Customer) == 0

    event.remove(app_engine, "before_cursor_execute", fail_on_audit)
    assert post_inbound(app.test_client(), inbound_form("SM1", "hello")).status_code == 200
    assert rows(engine, Message) == 1
