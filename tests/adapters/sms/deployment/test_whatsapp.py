"""WhatsApp through Twilio (SPEC §11, issue 16), on the recorded WhatsApp Sandbox payload: its own
channel and identity on the SMS customer, replies with `whatsapp:` on both numbers, the 24-hour
window, and STOP keeping its SMS meaning only."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import select, update

from plugin.store.db import transaction
from plugin.store.schema import Customer, Identity, Message
from tests.adapters.sms.recorded import (
    CUSTOMER,
    MESSAGES_URL,
    NUMBER,
    WHATSAPP_SENDER,
    form,
    inbound,
    rest,
)

CONTENT_SID = "HX" + "b" * 32


@pytest.fixture
def whatsapp(cli):
    cli("workspace", "edit", "shop", "--add-twilio-sender", WHATSAPP_SENDER)


def customer(engine) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(Customer.id, Customer.name, Customer.opted_out)).one()
        identities = conn.execute(select(Identity.value).order_by(Identity.id)).scalars().all()
    return {"id": row.id, "name": row.name, "opted_out": row.opted_out, "identities": identities}


def sent_form(call) -> dict:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def test_whatsapp_inbound_joins_the_sms_customer_as_a_second_identity(client, engine, whatsapp):
    assert inbound(client, form("inbound_mms_two_media")).status_code == 200
    assert inbound(client, form("inbound_whatsapp")).status_code == 200
    found = customer(engine)
    assert found["identities"] == [f"sms:{CUSTOMER}", f"whatsapp:{CUSTOMER}"]
    with engine.connect() as conn:
        channels = conn.execute(select(Message.channel).order_by(Message.id)).scalars().all()
    assert channels == ["sms", "whatsapp"]


def test_whatsapp_first_then_sms_is_one_customer_named_by_their_profile(client, engine, whatsapp):
    inbound(client, form("inbound_whatsapp"))
    inbound(client, form("inbound_sms_messaging_service"))
    found = customer(engine)
    assert found["name"] == "Maria Lopez"
    assert found["identities"] == [f"whatsapp:{CUSTOMER}", f"sms:{CUSTOMER}"]


@responses.activate
def test_a_reply_goes_to_the_last_inbound_channel_with_whatsapp_on_both_numbers(
    client, engine, whatsapp, deployment
):
    inbound(client, form("inbound_mms_two_media"))
    inbound(client, form("inbound_whatsapp"))
    responses.post(MESSAGES_URL, json=rest("rest_message_create.whatsapp.201"), status=201)
    cid = customer(engine)["id"]
    answer = client.post(
        f"/api/v1/customers/{cid}/messages",
        json={"text": "Yes, ready for pickup"},
        headers=deployment["agent"],
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["channel"] == "whatsapp"
    sent = sent_form(responses.calls[0])
    assert sent["To"] == f"whatsapp:{CUSTOMER}" and sent["From"] == WHATSAPP_SENDER
    assert sent["StatusCallback"] == "https://hub.example.com/sms/twilio/status"
    with engine.connect() as conn:
        last = conn.execute(select(Message.channel, Message.direction).order_by(Message.id.desc())).first()
    assert tuple(last) == ("whatsapp", "outbound")


@responses.activate
def test_a_send_naming_sms_leaves_from_the_sms_number(client, engine, whatsapp, deployment):
    inbound(client, form("inbound_whatsapp"))
    responses.post(MESSAGES_URL, json=rest("rest_message_create.from_number.201"), status=201)
    cid = customer(engine)["id"]
    answer = client.post(
        f"/api/v1/customers/{cid}/messages",
        json={"text": "Hi Maria, your order is ready for pickup.", "channel": "sms"},
        headers=deployment["agent"],
    )
    assert answer.status_code == 201 and answer.json["channel"] == "sms"
    sent = sent_form(responses.calls[0])
    assert sent["To"] == CUSTOMER and sent["From"] == NUMBER


def age_whatsapp(engine, hours: int) -> None:
    with transaction(engine) as conn:
        at = conn.execute(select(Message.provider_at).where(Message.channel == "whatsapp")).scalar_one()
        conn.execute(
            update(Message)
            .where(Message.channel == "whatsapp")
            .values(provider_at=at - timedelta(hours=hours))
        )


@responses.activate
def test_a_free_form_send_after_24_hours_is_refused_and_a_template_is_accepted(
    client, engine, whatsapp, deployment
):
    inbound(client, form("inbound_whatsapp"))
    age_whatsapp(engine, 25)
    cid = customer(engine)["id"]
    url = f"/api/v1/customers/{cid}/messages"
    refused = client.post(url, json={"text": "Are you still there?"}, headers=deployment["agent"])
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "outside_whatsapp_window"
    assert refused.json["error"]["details"]["field"] == "content_sid"
    assert len(responses.calls) == 0
    with engine.connect() as conn:
        assert conn.execute(select(Message.direction)).scalars().all() == ["inbound"]

    responses.post(MESSAGES_URL, json=rest("rest_message_create.whatsapp.201"), status=201)
    accepted = client.post(url, json={"content_sid": CONTENT_SID}, headers=deployment["agent"])
    assert accepted.status_code == 201, accepted.json
    sent = sent_form(responses.calls[0])
    assert sent["ContentSid"] == CONTENT_SID and "Body" not in sent
    assert sent["To"] == f"whatsapp:{CUSTOMER}" and sent["From"] == WHATSAPP_SENDER


@responses.activate
def test_within_24_hours_a_free_form_send_is_allowed(client, engine, whatsapp, deployment):
    inbound(client, form("inbound_whatsapp"))
    age_whatsapp(engine, 23)
    responses.post(MESSAGES_URL, json=rest("rest_message_create.whatsapp.201"), status=201)
    cid = customer(engine)["id"]
    answer = client.post(
        f"/api/v1/customers/{cid}/messages", json={"text": "Still here"}, headers=deployment["agent"]
    )
    assert answer.status_code == 201


def test_a_malformed_content_sid_is_refused_naming_it(client, engine, whatsapp, deployment):
    inbound(client, form("inbound_whatsapp"))
    cid = customer(engine)["id"]
    answer = client.post(
        f"/api/v1/customers/{cid}/messages", json={"content_sid": "template-1"}, headers=deployment["agent"]
    )
    assert answer.status_code == 400 and answer.json["error"]["details"]["field"] == "content_sid"


@responses.activate
def test_whatsapp_stop_changes_nothing_and_sms_stop_does_not_stop_whatsapp(
    client, engine, whatsapp, deployment
):
    inbound(client, form("inbound_whatsapp", Body="STOP"))
    assert not customer(engine)["opted_out"]
    inbound(client, form("inbound_opt_out_stop"))  # SMS STOP through Advanced Opt-Out
    assert customer(engine)["opted_out"]
    cid = customer(engine)["id"]
    url = f"/api/v1/customers/{cid}/messages"
    refused = client.post(url, json={"text": "hello", "channel": "sms"}, headers=deployment["agent"])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "opted_out"
    responses.post(MESSAGES_URL, json=rest("rest_message_create.whatsapp.201"), status=201)
    allowed = client.post(url, json={"text": "hello", "channel": "whatsapp"}, headers=deployment["agent"])
    assert allowed.status_code == 201 and len(responses.calls) == 1


def test_a_replay_keeps_whatsapp_stop_meaningless(client, engine, whatsapp):
    from plugin.domain.clock import aware
    from plugin.domain.events import MessageEvent
    from plugin.engine import receive

    inbound(client, form("inbound_whatsapp", Body="STOP"))
    with engine.connect() as conn:
        stop_at = conn.execute(select(Message.provider_at)).scalar_one()
        ws = conn.execute(select(Message.workspace_id)).scalar_one()
    # A late SMS, older than the STOP, replays the customer's whole history.
    late = MessageEvent(
        ws,
        "sms",
        f"sms:{CUSTOMER}",
        "inbound",
        "customer",
        "hi",
        "SMlate",
        aware(stop_at) - timedelta(minutes=5),
    )
    with transaction(engine) as conn:
        receive(conn, ws, [late])
    assert not customer(engine)["opted_out"]


def test_an_api_send_without_text_or_template_is_refused(client, engine, whatsapp, deployment):
    inbound(client, form("inbound_whatsapp"))
    cid = customer(engine)["id"]
    answer = client.post(f"/api/v1/customers/{cid}/messages", json={"text": " "}, headers=deployment["agent"])
    assert answer.status_code == 400 and answer.json["error"]["details"]["field"] == "text"
    assert json.dumps(answer.json).count("content_sid") >= 1


def test_a_whatsapp_only_customer_is_found_by_phone_number(cli):
    cli("customers", "add", "Maria Lopez", "--identity", "whatsapp:(415) 555-0123", "--workspace", "shop")
    shown = json.loads(cli("customers", "show", "415-555-0123", "--workspace", "shop", "--json").stdout)
    assert shown["name"] == "Maria Lopez" and shown["identities"] == [f"whatsapp:{CUSTOMER}"]
