"""POST /api/v1/messages/{id}/intent: agents correct a message's intent; scoped to the workspace (SPEC §4)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.domain.events import MessageEvent
from plugin.engine import receive
from plugin.store.db import reading, transaction
from plugin.store.schema import IntentCorrection, StatusChange
from tests.conftest import at


def message(engine, ws: int, text: str, phone: str = "+15551230001") -> int:
    event = MessageEvent(ws, "sms", f"sms:{phone}", "inbound", "customer", text, f"SM-{phone}-{text}", at(0))
    with transaction(engine) as conn:
        return receive(conn, ws, [event], now=at(1))[0].message_id


def corrections(engine) -> list:
    with reading(engine) as conn:
        return conn.execute(select(IntentCorrection.intent, IntentCorrection.actor)).all()


def test_an_agent_corrects_an_intent_and_no_status_changes(client, engine, workspace, tokens):
    mid = message(engine, workspace, "how much is the blue one")
    with reading(engine) as conn:
        audit = conn.execute(select(StatusChange)).all()
    answer = client.post(
        f"/api/v1/messages/{mid}/intent", json={"intent": "negotiate_price"}, headers=tokens["agent"]
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["intent"] == "negotiate_price"
    assert answer.json["previous"] == ["ask_price"]
    assert answer.json["actor"] == "desk-agent"
    assert corrections(engine) == [("negotiate_price", "desk-agent")]
    with reading(engine) as conn:
        assert conn.execute(select(StatusChange)).all() == audit


def test_none_is_a_correction_too(client, engine, workspace, tokens):
    mid = message(engine, workspace, "hello")
    answer = client.post(f"/api/v1/messages/{mid}/intent", json={"intent": "none"}, headers=tokens["agent"])
    assert answer.status_code == 201
    assert corrections(engine) == [("none", "desk-agent")]


@pytest.mark.parametrize("body", [{"intent": "ask_prize"}, {"intent": ""}, {}, {"intent": 3}, []])
def test_an_unknown_or_missing_intent_answers_400_and_stores_nothing(client, engine, workspace, tokens, body):
    mid = message(engine, workspace, "hello")
    answer = client.post(f"/api/v1/messages/{mid}/intent", json=body, headers=tokens["agent"])
    assert answer.status_code == 400
    assert answer.json["error"]["details"].get("field") in ("intent", "body")
    assert corrections(engine) == []


def test_another_workspaces_message_answers_404_and_stores_nothing(client, engine, workspace, tokens, other):
    mid = message(engine, workspace, "hello")
    answer = client.post(
        f"/api/v1/messages/{mid}/intent", json={"intent": "greeting"}, headers=other["headers"]
    )
    assert answer.status_code == 404
    assert corrections(engine) == []


def test_an_unknown_message_answers_404_and_no_token_401(client, engine, workspace, tokens):
    assert (
        client.post(
            "/api/v1/messages/999999/intent", json={"intent": "greeting"}, headers=tokens["agent"]
        ).status_code
        == 404
    )
    assert client.post("/api/v1/messages/1/intent", json={"intent": "greeting"}).status_code == 401
    assert corrections(engine) == []
