"""Outbound SMS: sent through Twilio's REST API, recorded, refused to opted-out customers (SPEC §3)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import select

from adapters.sms.send import SendFailed, send_sms
from plugin.app import create_app
from plugin.domain.errors import OptedOut
from plugin.store.schema import Customer, Identity, Message
from tests.adapters.sms.conftest import (
    CUSTOMER,
    HUB_NUMBER,
    MESSAGES_URL,
    inbound_form,
    rows,
    twilio_created,
)
from tests.adapters.sms.test_inbound import statuses_of

PUBLIC = "https://hub.example.com"


def post_inbound(client, form):
    from tests.adapters.sms.conftest import post_inbound as post

    return post(client, form, base=PUBLIC)


@pytest.fixture
def app(db_url, workspace):
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "PUBLIC_URL": PUBLIC})


def customer_id(engine, phone=CUSTOMER) -> int:
    with engine.connect() as conn:
        return conn.execute(select(Identity.customer_id).where(Identity.value == "sms:" + phone)).scalar_one()


def opted_out(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Customer.opted_out)).scalar_one()


@responses.activate
def test_send_goes_through_twilio_and_moves_reply_to_no_reply(app, engine, workspace):
    client = app.test_client()
    post_inbound(client, inbound_form("SM1", "is the blue one available?"))
    responses.post(MESSAGES_URL, json=twilio_created("SMout1"), status=201)
    sent = send_sms(app, workspace, customer_id(engine), "Yes, we have it in stock!")
    assert sent.provider_id == "SMout1" and sent.statuses["reply"] == "no_reply"
    request = responses.calls[0].request
    form = {k: v[0] for k, v in parse_qs(request.body).items()}
    assert form == {
        "To": CUSTOMER,
        "From": HUB_NUMBER,
        "Body": "Yes, we have it in stock!",
        "StatusCallback": "https://hub.example.com/sms/twilio/status",
    }
    with engine.connect() as conn:
        msg = conn.execute(select(Message).where(Message.provider_id == "SMout1")).one()
    assert (msg.direction, msg.sender, msg.delivery_status) == ("outbound", "agent", "queued")
    assert statuses_of(client, engine)["reply"] == "no_reply"


def test_stop_then_send_is_refused_without_calling_twilio(app, engine, workspace):
    client = app.test_client()
    post_inbound(client, inbound_form("SM1", "STOP"))
    assert opted_out(engine)
    before = rows(engine, Message)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        with pytest.raises(OptedOut):
            send_sms(app, workspace, customer_id(engine), "Special offer!")
        assert len(fake.calls) == 0
    assert rows(engine, Message) == before


@responses.activate
def test_start_clears_the_opt_out(app, engine, workspace):
    client = app.test_client()
    post_inbound(client, inbound_form("SM1", " Stop. "))
    assert opted_out(engine)
    post_inbound(client, inbound_form("SM2", "start"))
    assert not opted_out(engine)
    responses.post(MESSAGES_URL, json=twilio_created("SMout1"), status=201)
    assert send_sms(app, workspace, customer_id(engine), "Welcome back").provider_id == "SMout1"


def test_stop_please_is_a_message_not_an_opt_out(app, engine):
    post_inbound(app.test_client(), inbound_form("SM1", "Stop please"))
    assert not opted_out(engine)
    assert rows(engine, Message) == 1


def test_opt_out_type_stop_opts_out_and_start_opts_back_in(app, engine):
    client = app.test_client()
    # Twilio's Advanced Opt-Out recognizes keywords the body alone would not (here in Spanish).
    post_inbound(client, inbound_form("SM1", "ALTO", OptOutType="STOP"))
    assert opted_out(engine)
    post_inbound(client, inbound_form("SM2", "hola", OptOutType="START"))
    assert not opted_out(engine)


def test_stop_gets_no_auto_reply(app, engine, workspace):
    from sqlalchemy import update

    from plugin.store.db import transaction
    from plugin.store.schema import Workspace

    with transaction(engine) as conn:
        conn.execute(update(Workspace).values(settings={"sms_auto_reply": "Thanks!"}))
    client = app.test_client()
    assert b"<Message>Thanks!</Message>" in post_inbound(client, inbound_form("SM0", "hi")).data
    assert b"<Message>" not in post_inbound(client, inbound_form("SM1", "STOP")).data
    # Opted out: no auto-reply to anything they write until they opt back in (SPEC §11).
    assert b"<Message>" not in post_inbound(client, inbound_form("SM2", "hi again")).data
    assert b"<Message>" not in post_inbound(client, inbound_form("SM3", "START")).data
    assert b"<Message>Thanks!</Message>" in post_inbound(client, inbound_form("SM4", "hi")).data


@responses.activate
def test_twilio_refusal_stores_nothing(app, engine, workspace):
    post_inbound(app.test_client(), inbound_form("SM1", "hi"))
    responses.post(
        MESSAGES_URL,
        json={
            "code": 21211,
            "message": "The 'To' number +15557654321 is not a valid phone number.",
            "status": 400,
        },
        status=400,
    )
    with pytest.raises(SendFailed) as caught:
        send_sms(app, workspace, customer_id(engine), "hello?")
    assert "not a valid phone number" in caught.value.message
    assert rows(engine, Message) == 1 and not opted_out(engine)


def test_send_to_a_customer_without_a_phone_is_refused(app, engine, workspace):
    from plugin.domain.events import MessageEvent
    from plugin.engine import record_message  # noqa: F401  (the web chat path creates the customer)
    from plugin.engine.inbox import receive
    from plugin.store.db import transaction
    from tests.conftest import at

    with transaction(engine) as conn:
        cid = receive(
            conn,
            workspace,
            [MessageEvent(workspace, "webchat", "webchat:v1", "inbound", "customer", "hi", "e1", at(1))],
        )[0].customer_id
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        with pytest.raises(Exception) as caught:
            send_sms(app, workspace, cid, "hello")
        assert len(fake.calls) == 0
    assert json.dumps(caught.value.details()) == json.dumps({"field": "customer"})
