"""Slack bodies Bolt cannot read answer 400, garbage signature headers 401, and nothing is stored
(SPEC §5, §12). Each body is signed with the real secret, as Slack would sign it."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from plugin.store.db import reading
from plugin.store.schema import Activity, Customer, Delivery, Message, OutboxItem, StatusChange, StatusCommand
from tests.adapters.slack.conftest import SECRET, TEAM, signed_headers

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
COMMAND = urlencode({"team_id": TEAM, "user_id": "U0AGENT", "command": "/status", "text": "jane hot"})


def event_body(event) -> str:
    return json.dumps({"team_id": TEAM, "type": "event_callback", "event_id": "Ev1", "event": event})


def interaction(payload: str) -> str:
    return urlencode({"payload": payload})


def view_submission(metadata: str, note: object = "why") -> dict:
    """The attention note modal submitted with this private_metadata (the hub writes it; Slack returns it)."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM},
        "user": {"id": "U0AGENT", "team_id": TEAM},
        "view": {
            "type": "modal",
            "id": "V1",
            "callback_id": "attention_note",
            "private_metadata": metadata,
            "state": {"values": {"note": {"note": {"type": "plain_text_input", "value": note}}}},
        },
    }


HOSTILE: dict[str, tuple[str, str]] = {
    "truncated JSON": ('{"type": "event_callback", "team_id": "T0ACME", "event": {"type": "mess', JSON),
    "a JSON array": ("[1, 2, 3]", JSON),
    "a JSON string": ('"event_callback"', JSON),
    "a JSON number": ("12", JSON),
    "a slash command sent as JSON": (COMMAND, JSON),
    "a body starting with a brace that is not JSON": ("{command=/status", FORM),
    "a payload that is not JSON": (interaction("not json"), FORM),
    "a truncated payload": (interaction('{"type": "block_actions", "actions": ['), FORM),
    "a payload that is an array": (interaction("[1]"), FORM),
    "a payload that is a string": (interaction('"block_actions"'), FORM),
    "a payload with a numeric type": (interaction(json.dumps({"type": 5, "team": {"id": TEAM}})), FORM),
    "a payload whose team is a number": (
        interaction(
            json.dumps({"type": "block_actions", "team": 5, "user": {"id": "U0AGENT"}, "actions": []})
        ),
        FORM,
    ),
    "a payload whose user is a list": (
        interaction(
            json.dumps({"type": "block_actions", "team": {"id": TEAM}, "user": "U0AGENT", "actions": []})
        ),
        FORM,
    ),
    "a payload whose actions are a string": (
        interaction(
            json.dumps(
                {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U0AGENT"}, "actions": "x"}
            )
        ),
        FORM,
    ),
    "a payload whose action is a number": (
        interaction(
            json.dumps(
                {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U0AGENT"}, "actions": [5]}
            )
        ),
        FORM,
    ),
    "a view submission whose view has no type": (
        interaction(
            json.dumps({"type": "view_submission", "user": {"id": "U0AGENT"}, "view": {"callback_id": "x"}})
        ),
        FORM,
    ),
    "block actions without an action": (
        interaction(
            json.dumps(
                {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U0AGENT"}, "actions": []}
            )
        ),
        FORM,
    ),
    "an event without a type": (event_body({"channel": "C1", "user": "U1", "ts": "1.0"}), JSON),
    "a message event whose time is not a number": (
        event_body({"type": "message", "channel": "C1", "user": "U1", "ts": "1e300", "text": "hi"}),
        JSON,
    ),
    "a view submission whose view is a list": (
        interaction(
            json.dumps(
                {"type": "view_submission", "team": {"id": TEAM}, "user": {"id": "U0AGENT"}, "view": []}
            )
        ),
        FORM,
    ),
    "a message event whose time is infinite": (
        event_body({"type": "message", "channel": "C1", "user": "U1", "ts": "inf", "text": "hi"}),
        JSON,
    ),
    "a view submission whose state is a list": (
        interaction(
            json.dumps(
                view_submission("{}")
                | {"view": {"type": "modal", "callback_id": "attention_note", "state": []}}
            )
        ),
        FORM,
    ),
    "an event that is a string": (event_body("message"), JSON),
    "an event that is a list": (event_body([{"type": "message"}]), JSON),
    "an event whose type is a number": (
        event_body({"type": 5, "channel": "C1", "user": "U1", "ts": "1.0"}),
        JSON,
    ),
    "an event whose text is an object": (
        event_body({"type": "message", "channel": "C1", "user": "U1", "ts": "1.0", "text": {"a": 1}}),
        JSON,
    ),
    "a team id that is a list": (
        json.dumps({"team_id": ["T0ACME"], "type": "event_callback", "event": {}}),
        JSON,
    ),
    "a command whose text is repeated": (COMMAND + "&text=again&command=%2Flog", FORM),
}


def stored(engine) -> dict:
    tables = (Message, StatusChange, StatusCommand, Activity, Delivery, OutboxItem, Customer)
    with reading(engine) as conn:
        return {
            t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_signed_body_bolt_cannot_read_answers_400_and_stores_nothing(slack, engine, kind):
    body, content_type = HOSTILE[kind]
    before = stored(engine)
    answer = slack.post(body, content_type)
    assert answer.status_code == 400, (kind, answer.status_code, answer.get_data(as_text=True))
    error = answer.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    assert stored(engine) == before


OUT_OF_DATE_FORMS = {
    "metadata that is not JSON": view_submission("not json"),
    "metadata naming no customer": view_submission('{"customer": "abc", "status": "caution"}'),
    "metadata that is a list": view_submission("[1]"),
    "a note that is a number": view_submission('{"customer": 1, "status": "caution"}', note=5),
}


@pytest.mark.parametrize("kind", sorted(OUT_OF_DATE_FORMS))
def test_an_attention_form_bolt_can_read_but_the_hub_cannot_use_is_refused_in_the_modal(slack, engine, kind):
    """Slack shows a view_submission's errors in the modal: 200 with response_action errors, nothing stored."""
    before = stored(engine)
    answer = slack.interaction(OUT_OF_DATE_FORMS[kind])
    assert answer.status_code == 200, (kind, answer.get_data(as_text=True))
    assert answer.get_json()["response_action"] == "errors"
    assert stored(engine) == before


@pytest.mark.parametrize(
    "timestamp", ["abc", "", "1" * 4000, "-1", "1e9", " 1800000000", "١٨٠٠٠٠٠٠٠٠", "18000000000000000000000"]
)
def test_garbage_signature_headers_answer_401_and_store_nothing(slack, engine, timestamp):
    before = stored(engine)
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signed_headers(COMMAND)["X-Slack-Signature"],
    }
    answer = slack.client.post("/slack/events", data=COMMAND, content_type=FORM, headers=headers)
    assert answer.status_code == 401, (timestamp, answer.status_code)
    assert answer.get_json()["error"]["details"] == {"field": "X-Slack-Request-Timestamp"}
    assert stored(engine) == before


@pytest.mark.parametrize("signature", ["", "v0=", "v0=zz", "v1=" + "0" * 64, "x" * 5000])
def test_garbage_signatures_answer_401(slack, engine, signature):
    headers = {**signed_headers(COMMAND), "X-Slack-Signature": signature}
    answer = slack.client.post("/slack/events", data=COMMAND, content_type=FORM, headers=headers)
    assert answer.status_code == 401
    assert stored(engine)["messages"] == 0


def test_a_hostile_body_signed_with_another_secret_answers_401_not_400(slack):
    body = "[1, 2, 3]"
    answer = slack.client.post(
        "/slack/events", data=body, content_type=JSON, headers=signed_headers(body, secret="not-" + SECRET)
    )
    assert answer.status_code == 401
