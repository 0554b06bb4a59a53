"""A database failure mid-webhook answers 503 so Twilio retries, and leaves nothing half-stored (SPEC §5)."""

from __future__ import annotations

from plugin.app import create_app
from plugin.store.schema import Customer, Message
from tests.adapters.fixtures import inserts_failing
from tests.adapters.sms.conftest import inbound_form, post_inbound, rows


def test_database_failure_answers_503_and_stores_nothing(db_url, engine, workspace):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    # The failure strikes at the audit insert, after the message row is written in the same
    # transaction, so a partial commit would show. It is raised by the database driver itself, below
    # SQLAlchemy, since the webhook path runs its statements on the driver's cursor.
    with inserts_failing(app.extensions["statushub"].engine, engine, "status_changes"):
        answer = post_inbound(app.test_client(), inbound_form("SM1", "hello"))
        assert answer.status_code == 503
        assert answer.json["error"]["code"] == "database_unavailable"
        assert rows(engine, Message) == 0 and rows(engine, Customer) == 0
    assert post_inbound(app.test_client(), inbound_form("SM1", "hello")).status_code == 200
    assert rows(engine, Message) == 1
