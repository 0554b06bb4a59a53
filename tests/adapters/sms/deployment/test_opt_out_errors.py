"""Opt-outs Twilio reports (SPEC §11, issue 16): error 21610 from the REST API or in a status callback
for a message the hub sent marks the customer opted out, with the reason in their history; the
auto-reply never answers an opted-out customer, nor HELP or INFO."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from plugin.domain.clock import aware
from plugin.domain.events import MessageEvent
from plugin.engine import receive
from plugin.store.db import transaction
from plugin.store.schema import Customer, Message, StatusChange
from tests.adapters.sms.recorded import CUSTOMER, MESSAGES_URL, form, inbound, rest, status_callback

FAILED_21610 = form("status_failed_21610")


def opted_out(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Customer.opted_out)).scalar_one()


def customer_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(Customer.id)).scalar_one()


def send(client, deployment, engine, text: str = "Your order is ready"):
    return client.post(
        f"/api/v1/customers/{customer_id(engine)}/messages", json={"text": text}, headers=deployment["agent"]
    )


@responses.activate
def test_21610_from_the_rest_api_opts_the_customer_out_with_the_reason(client, engine, deployment, cli):
    inbound(client, form("inbound_mms_two_media"))
    responses.post(MESSAGES_URL, json=rest("rest_error_21610.400"), status=400)
    answer = send(client, deployment, engine)
    assert answer.status_code == 409 and answer.json["error"]["code"] == "opted_out"
    assert opted_out(engine)
    with engine.connect() as conn:
        entry = conn.execute(select(StatusChange).where(StatusChange.track == "opt_out")).one()
        assert conn.execute(select(Message.direction)).scalars().all() == ["inbound"]  # nothing sent
    assert (entry.from_status, entry.to_status, entry.source, entry.actor) == (
        "subscribed",
        "opted_out",
        "twilio:21610",
        "twilio",
    )
    assert "21610" in entry.note and "unsubscribed" in entry.note
    history = cli("history", CUSTOMER, "--workspace", "shop").stdout
    assert "opt_out" in history and "21610" in history
    # And no second call to Twilio: the hub now refuses SMS to them itself.
    assert send(client, deployment, engine).status_code == 409 and len(responses.calls) == 1


@responses.activate
def test_21610_in_a_status_callback_for_a_sent_message_opts_the_customer_out(client, engine, deployment):
    inbound(client, form("inbound_mms_two_media"))
    created = rest("rest_message_create.messaging_service.201") | {"sid": FAILED_21610["MessageSid"]}
    responses.post(MESSAGES_URL, json=created, status=201)
    assert send(client, deployment, engine).status_code == 201
    assert not opted_out(engine)
    assert status_callback(client, FAILED_21610).status_code == 200
    assert opted_out(engine)
    with engine.connect() as conn:
        sent = conn.execute(
            select(Message.delivery_status, Message.error_code).where(Message.direction == "outbound")
        ).one()
        sources = (
            conn.execute(select(StatusChange.source).where(StatusChange.track == "opt_out")).scalars().all()
        )
    assert tuple(sent) == ("failed", "21610") and sources == ["twilio:21610"]
    # Twilio retries a callback: the second changes nothing more.
    assert status_callback(client, FAILED_21610).status_code == 200
    with engine.connect() as conn:
        assert len(conn.execute(select(StatusChange.id).where(StatusChange.track == "opt_out")).all()) == 1


def test_21610_for_a_message_the_hub_did_not_send_changes_nothing(client, engine):
    inbound(client, form("inbound_mms_two_media"))
    assert status_callback(client, FAILED_21610).status_code == 200
    assert not opted_out(engine)


@responses.activate
def test_30007_marks_the_message_undelivered_but_not_the_customer_opted_out(client, engine, deployment):
    inbound(client, form("inbound_mms_two_media"))
    undelivered = form("status_undelivered_30007")
    created = rest("rest_message_create.from_number.201") | {"sid": undelivered["MessageSid"]}
    responses.post(MESSAGES_URL, json=created, status=201)
    send(client, deployment, engine)
    assert status_callback(client, undelivered).status_code == 200
    assert not opted_out(engine)
    with engine.connect() as conn:
        sent = conn.execute(
            select(Message.delivery_status, Message.error_code).where(Message.direction == "outbound")
        ).one()
    assert tuple(sent) == ("undelivered", "30007")


@responses.activate
def test_a_replay_keeps_an_opt_out_twilio_reported(client, engine, deployment):
    inbound(client, form("inbound_mms_two_media"))
    responses.post(MESSAGES_URL, json=rest("rest_error_21610.400"), status=400)
    send(client, deployment, engine)
    with engine.connect() as conn:
        first_at = aware(conn.execute(select(Message.provider_at)).scalar_one())
    late = MessageEvent(
        deployment["shop"],
        "sms",
        f"sms:{CUSTOMER}",
        "inbound",
        "customer",
        "hi",
        "SMlate",
        first_at - timedelta(minutes=1),
    )
    with transaction(engine) as conn:
        receive(conn, deployment["shop"], [late])
    assert opted_out(engine)


@pytest.fixture
def auto_reply(client, deployment):
    answer = client.patch(
        "/api/v1/settings",
        json={"sms_auto_reply": "Thanks, we'll text you back soon!"},
        headers=deployment["admin"],
    )
    assert answer.status_code == 200


def replied(answer) -> bool:
    return b"<Message>" in answer.data


def numbered(n: int, body: str):
    sid = f"SM{n:032x}"
    return form(
        "inbound_mms_two_media", Body=body, NumMedia="0", MessageSid=sid, SmsSid=sid, SmsMessageSid=sid
    )


@pytest.mark.parametrize("body", ["HELP", "help", "Help!", " info ", "INFO."])
def test_no_auto_reply_to_help_or_info(client, auto_reply, body):
    assert replied(inbound(client, numbered(1, "hello there")))
    assert not replied(inbound(client, numbered(2, body)))


def test_help_inside_a_sentence_gets_the_auto_reply(client, auto_reply):
    assert replied(inbound(client, numbered(1, "I need help with my order")))


@responses.activate
def test_no_auto_reply_after_stop_or_21610(client, engine, auto_reply, deployment):
    assert not replied(inbound(client, form("inbound_opt_out_stop")))
    assert not replied(inbound(client, numbered(1, "where is my order?")))
    inbound(client, numbered(2, "START"))
    assert replied(inbound(client, numbered(3, "where is my order?")))
    responses.post(MESSAGES_URL, json=rest("rest_error_21610.400"), status=400)
    send(client, deployment, engine)
    assert not replied(inbound(client, numbered(4, "hello?")))


def test_an_opted_out_customer_on_whatsapp_still_gets_the_auto_reply(client, engine, auto_reply, cli):
    cli("workspace", "edit", "shop", "--add-twilio-sender", "whatsapp:+14155238886")
    inbound(client, form("inbound_opt_out_stop"))
    assert opted_out(engine)
    # The SMS opt-out does not stop WhatsApp (SPEC §11).
    assert replied(inbound(client, form("inbound_whatsapp")))


@responses.activate
def test_the_opt_out_reason_shows_in_the_api_and_the_console(client, app, engine, deployment):
    from tests.console.conftest import sign_in

    inbound(client, form("inbound_mms_two_media"))
    responses.post(MESSAGES_URL, json=rest("rest_error_21610.400"), status=400)
    send(client, deployment, engine)
    cid = customer_id(engine)
    detail = client.get(f"/api/v1/customers/{cid}", headers=deployment["agent"]).json
    assert detail["opted_out"] is True
    assert [(e["track"], e["source"]) for e in detail["history"] if e["track"] == "opt_out"] == [
        ("opt_out", "twilio:21610")
    ]
    browser = app.test_client()
    sign_in(browser, deployment["agent"]["Authorization"].removeprefix("Bearer "))
    page = browser.get(f"/console/customers/{cid}")
    assert page.status_code == 200 and "21610" in page.get_data(as_text=True)


@responses.activate
def test_an_opt_out_is_no_status_transition_in_reports(client, engine, deployment):
    inbound(client, form("inbound_mms_two_media"))
    responses.post(MESSAGES_URL, json=rest("rest_error_21610.400"), status=400)
    send(client, deployment, engine)
    report = client.get("/api/v1/reports/transitions", headers=deployment["admin"])
    assert report.status_code == 200, report.json
    assert {t["track"] for t in report.json["transitions"]} <= {"stage", "reply", "outcome", "attention"}
    assert report.json["transitions"]  # the SMS's own reply change is there
