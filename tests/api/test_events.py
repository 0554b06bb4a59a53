"""`POST /api/v1/events`: bot builders that cannot sign post messages with an API token and get the
answer `/webchat/events` gives (SPEC §11)."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from plugin.domain.signatures import header
from plugin.store.schema import Customer, Delivery, Identity, Message, StatusChange
from tests.api.conftest import add

pytestmark = pytest.mark.pgbouncer  # a webhook path (SPEC §8)

CONVERSATION = [
    ("inbound", "customer", "hello!", "2026-05-04T09:00:00Z"),
    ("outbound", "bot", "Hi! How can we help?", "2026-05-04T09:00:05Z"),
    ("inbound", "customer", "how much is the blue hoodie?", "2026-05-04T09:01:00Z"),
    ("outbound", "agent", "It is $45, shipping included.", "2026-05-04T09:02:00Z"),
    ("inbound", "customer", "ok, can you send me the bank details so I can pay?", "2026-05-04T09:03:00Z"),
]


def rows(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Customer, Identity, Message, StatusChange, Delivery)
        )


def event(identity="webchat:typebot-7", text="hello!", **more) -> dict:
    return {"identity": identity, "direction": "inbound", "sender": "customer", "text": text, **more}


def test_the_same_conversation_ends_in_the_same_statuses_as_through_web_chat(client, tokens):
    via_api = via_webchat = None
    for n, (direction, sender, text, at) in enumerate(CONVERSATION):
        answer = client.post(
            "/api/v1/events",
            json={
                "identity": "webchat:typebot-7",
                "name": "Sam",
                "direction": direction,
                "sender": sender,
                "text": text,
                "timestamp": at,
                "event_id": f"tb-{n}",
            },  # fmt: skip
            headers=tokens["agent"],
        )
        assert answer.status_code == 200, answer.json
        via_api = answer.json
        raw = json.dumps(
            {
                "workspace": "acme",
                "event_id": f"wc-{n}",
                "visitor": {"id": "widget-9", "name": "Sam"},
                "direction": direction,
                "sender": sender,
                "text": text,
                "timestamp": at,
            }  # fmt: skip
        ).encode()
        signed = header("webchat-secret", int(time.time()), raw)
        via_webchat = client.post(
            "/webchat/events",
            data=raw,
            headers={"X-Statushub-Signature": signed, "Content-Type": "application/json"},
        ).json
    assert via_api["customer"]["statuses"] == via_webchat["customer"]["statuses"]
    assert via_api["customer"]["statuses"]["stage"] == "hot_lead"
    assert via_api["customer"]["id"] != via_webchat["customer"]["id"]
    assert set(via_api) == set(via_webchat)
    assert "request_payment_info" in via_api["intents"]


def test_no_token_is_401_and_stores_nothing(client, engine, workspace):
    before = rows(engine)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        answer = client.post("/api/v1/events", json=event(), headers=headers)
        assert answer.status_code == 401
        assert answer.json["error"]["code"] == "unauthorized"
    assert rows(engine) == before


def test_an_agent_token_is_enough(client, tokens):
    answer = client.post("/api/v1/events", json=event(name="Ada"), headers=tokens["agent"])
    assert answer.status_code == 200
    assert answer.json["customer"]["name"] == "Ada"
    assert answer.json["customer"]["statuses"]["reply"] == "in_progress"


@pytest.mark.parametrize(
    "identity",
    [
        "",
        "nocolon",
        "webchat:",
        ":x",
        "Web Chat:1",
        "sms:not-a-number",
        "whatsapp:+1",
        "x" * 17 + ":1",
        "webchat:" + "a" * 300,
        "webchat:tab\there",
    ],  # fmt: skip
)
def test_a_bad_identity_is_400_naming_it(client, engine, tokens, identity):
    before = rows(engine)
    answer = client.post("/api/v1/events", json=event(identity=identity), headers=tokens["agent"])
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["details"]["field"] == "identity"
    assert rows(engine) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"sender": "agent"}, "sender"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "2026-05-04T09:00:00"}, "timestamp"),
        ({"text": None}, "text"),
        ({"media": [{"url": "file:///etc/passwd", "content_type": "image/png"}]}, "media.0.url"),
        ({"media": "pic.jpg"}, "media"),
    ],
)
def test_other_bad_fields_are_400_naming_them(client, engine, tokens, change, field):
    before = rows(engine)
    answer = client.post("/api/v1/events", json=event() | change, headers=tokens["agent"])
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["details"]["field"] == field
    assert rows(engine) == before


def test_an_idempotency_key_replay_stores_nothing(client, engine, tokens):
    headers = tokens["agent"] | {"Idempotency-Key": "typebot-run-1"}
    first = client.post("/api/v1/events", json=event(text="how much?"), headers=headers)
    before = rows(engine)
    again = client.post("/api/v1/events", json=event(text="how much?"), headers=headers)
    assert again.status_code == first.status_code == 200
    assert again.json == first.json
    assert again.headers.get("Idempotent-Replay") == "true"
    assert rows(engine) == before


def test_a_repeated_event_id_is_answered_with_the_first_answer(client, engine, tokens):
    first = client.post("/api/v1/events", json=event(event_id="bp-1"), headers=tokens["agent"])
    before = rows(engine)
    again = client.post(
        "/api/v1/events", json=event(event_id="bp-1", text="changed"), headers=tokens["agent"]
    )
    assert again.data == first.data
    assert rows(engine) == before


def test_a_whatsapp_number_joins_the_customer_with_that_sms_number(client, engine, workspace, tokens):
    cid = add(engine, workspace, "Dana Reyes", "+15551234567")
    answer = client.post(
        "/api/v1/events",
        json=event(identity="whatsapp:+1 (555) 123-4567", text="hi"),
        headers=tokens["agent"],
    )
    assert answer.json["customer"]["id"] == cid
    with engine.connect() as conn:
        mine = set(conn.execute(select(Identity.value).where(Identity.customer_id == cid)).scalars())
        channel = conn.execute(select(Message.channel)).scalar_one()
    assert mine == {"sms:+15551234567", "whatsapp:+15551234567"}
    assert channel == "whatsapp"


def test_any_platform_identity_and_media_are_kept(client, engine, tokens):
    media = [{"url": "https://cdn.example.com/receipt.jpg", "content_type": "image/jpeg"}]
    answer = client.post(
        "/api/v1/events",
        json=event(identity="instagram:1784001", text="", media=media),
        headers=tokens["agent"],
    )
    assert answer.status_code == 200, answer.json
    with engine.connect() as conn:
        channel, stored = conn.execute(select(Message.channel, Message.media)).one()
    assert channel == "instagram"
    assert stored == media
    listed = client.get(
        f"/api/v1/customers/{answer.json['customer']['id']}/messages", headers=tokens["agent"]
    )
    assert listed.status_code == 200, listed.json
    assert "image/jpeg" in listed.get_data(as_text=True)


def test_a_whatsapp_stop_through_the_token_endpoint_opts_out_of_nothing(client, engine, tokens):
    """STOP is an SMS keyword (SPEC §11): the same word on WhatsApp is just a message."""
    whatsapp = client.post(
        "/api/v1/events", json=event(identity="whatsapp:+15551230000", text="STOP"), headers=tokens["agent"]
    )
    sms = client.post(
        "/api/v1/events", json=event(identity="sms:+15551239999", text="STOP"), headers=tokens["agent"]
    )
    assert whatsapp.status_code == sms.status_code == 200
    with engine.connect() as conn:
        opted = dict(conn.execute(select(Message.channel, Message.opt)).all())
    assert opted == {"whatsapp": None, "sms": "out"}


def test_another_workspaces_number_makes_a_customer_of_this_workspace_only(client, engine, tokens, other):
    answer = client.post("/api/v1/events", json=event(identity="sms:+15557770000"), headers=tokens["agent"])
    assert answer.status_code == 200
    assert answer.json["customer"]["id"] != other["customer_id"]
    assert "Scorpio" not in answer.get_data(as_text=True)
