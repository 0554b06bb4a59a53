"""A database failure answers 503 so the platform retries; nothing is half-stored, not even the answer."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from plugin.app import create_app
from plugin.store.schema import Customer, Delivery, Message
from tests.adapters.webchat.conftest import event_body, post_event
from tests.adapters.webchat.test_events import rows


def test_database_failure_answers_503_and_the_retry_succeeds(db_url, engine, workspace):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    app_engine = app.extensions["statushub"].engine

    # Fails on the last write of the unit of work: the remembered answer.
    @event.listens_for(app_engine, "before_cursor_execute")
    def fail_on_delivery(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            raise OperationalError(statement, {}, Exception("could not write"))

    client = app.test_client()
    answer = post_event(client, event_body("e1", "hello"))
    assert answer.status_code == 503
    assert all(rows(engine, t) == 0 for t in (Message, Customer, Delivery))

    event.remove(app_engine, "before_cursor_execute", fail_on_delivery)
    answer = post_event(client, event_body("e1", "hello"))
    assert answer.status_code == 200 and answer.json["duplicate"] is False
    assert rows(engine, Message) == 1
