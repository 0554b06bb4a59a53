"""Twilio status callbacks: delivery recorded per message, never moving backward (SPEC §5)."""

from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from adapters.sms.send import send_sms
from plugin.app import create_app
from plugin.store.schema import Message
from tests.adapters.sms.conftest import (
    ACCOUNT,
    CUSTOMER,
    HUB_NUMBER,
    MESSAGES_URL,
    inbound_form,
    post_inbound,
    signed,
    twilio_created,
)
from tests.adapters.sms.test_send import customer_id

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)


@pytest.fixture
def client(db_url, workspace, engine):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    client = app.test_client()
    post_inbound(client, inbound_form("SM1", "hi"))
    with responses.RequestsMock() as fake:
        fake.post(MESSAGES_URL, json=twilio_created("SMout1"), status=201)
        send_sms(app, workspace, customer_id(engine), "Hello from Acme")
    return client


def callback(client, status: str, error: str | None = None, sid: str = "SMout1", account: str = ACCOUNT):
    form = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": CUSTOMER,
        "MessageSid": sid,
        "AccountSid": account,
        "From": HUB_NUMBER,
        "ApiVersion": "2010-04-01",
    }
    if error:
        form["ErrorCode"] = error
    return client.post("/sms/twilio/status", data=form, headers=signed("/sms/twilio/status", form))


def delivery(engine, sid="SMout1"):
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                select(Message.delivery_status, Message.error_code).where(Message.provider_id == sid)
            ).one()
        )


def test_delivery_statuses_never_move_backward(client, engine):
    for status in ("sending", "sent", "delivered"):
        assert callback(client, status).status_code == 200
    assert delivery(engine) == ("delivered", None)
    assert callback(client, "sent").status_code == 200  # a late `sent`
    assert callback(client, "queued").status_code == 200
    assert delivery(engine) == ("delivered", None)


def test_undelivered_keeps_its_error_code(client, engine):
    callback(client, "sent")
    callback(client, "undelivered", "30003")
    callback(client, "sent")
    assert delivery(engine) == ("undelivered", "30003")


def test_failed_keeps_its_error_code(client, engine):
    callback(client, "failed", "30007")
    callback(client, "sending")
    assert delivery(engine) == ("failed", "30007")


def test_unknown_message_sid_is_answered_200_and_stores_nothing(client, engine):
    assert callback(client, "delivered", sid="SMnever").status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(Message.provider_id).order_by(Message.id)).scalars().all() == [
            "SM1",
            "SMout1",
        ]


def test_forged_status_callback_changes_nothing(client, engine):
    form = {"MessageSid": "SMout1", "MessageStatus": "failed", "ErrorCode": "30007", "AccountSid": ACCOUNT}
    answer = client.post("/sms/twilio/status", data=form, headers=signed("/sms/twilio/status", form, "bad"))
    assert answer.status_code == 401
    assert delivery(engine) == ("queued", None)


def test_unknown_account_is_refused(client, engine):
    assert callback(client, "delivered", account="AC" + "0" * 32).status_code == 401
    assert delivery(engine) == ("queued", None)


def test_callback_without_status_answers_400(client, engine):
    form = {"MessageSid": "SMout1", "AccountSid": ACCOUNT, "From": HUB_NUMBER}
    answer = client.post("/sms/twilio/status", data=form, headers=signed("/sms/twilio/status", form))
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == "MessageStatus"
    assert delivery(engine) == ("queued", None)
