"""A database failure answers 503 so the platform retries; nothing is half-stored, not even the answer."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from plugin.app import create_app
from plugin.store import idempotency
from plugin.store.schema import Customer, Delivery, Message
from tests.adapters.webchat.conftest import event_body, post_event
from tests.adapters.webchat.test_events import rows


def test_database_failure_answers_503_and_the_retry_succeeds(db_url, engine, workspace, monkeypatch):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})

    # Fails on the last write of the unit of work: the remembered answer (a prebuilt statement on the
    # driver's cursor, so the failure is injected where it runs).
    class Failing:
        def rows(self, conn, params):
            raise OperationalError("INSERT INTO deliveries", params, Exception("could not write"))

    working = idempotency._REMEMBER
    monkeypatch.setattr(idempotency, "_REMEMBER", Failing())

    client = app.test_client()
    answer = post_event(client, event_body("e1", "hello"))
    assert answer.status_code == 503
    assert all(rows(engine, t) == 0 for t in (Message, Customer, Delivery))

    monkeypatch.setattr(idempotency, "_REMEMBER", working)
    answer = post_event(client, event_body("e1", "hello"))
    assert answer.status_code == 200 and answer.json["duplicate"] is False
    assert rows(engine, Message) == 1
