"""The pure part: Chatwoot's recorded payloads translated into the hub's event, without Flask, and
Chatwoot's signature checked against the worked example computed with Chatwoot's algorithm."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.chatwoot import signature
from adapters.chatwoot.parse import parse_delivery
from plugin.domain.errors import StatushubError
from tests.adapters.chatwoot.conftest import RECORDED, payload

EXAMPLE = RECORDED / "webhooks" / "signed_example"


def example_headers() -> dict[str, str]:
    lines = (EXAMPLE / "headers.txt").read_text(encoding="utf-8").splitlines()[1:]
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def test_signed_example_known_answer():
    raw = (EXAMPLE / "body.json").read_bytes()
    headers = example_headers()
    stamp, sig = headers["X-Chatwoot-Timestamp"], headers["X-Chatwoot-Signature"]
    assert signature.sign("Qm7Xa2Kp9LwT4cRb8NvE3hZs", stamp, raw) == sig
    assert signature.matches("Qm7Xa2Kp9LwT4cRb8NvE3hZs", stamp, sig, raw)
    assert signature.matches(
        "Qm7Xa2Kp9LwT4cRb8NvE3hZs", stamp, sig.upper().replace("SHA256=", "sha256="), raw
    )
    # The body-only HMAC of issue #13809 (the negative control in the example's README) never matches.
    body_only = "sha256=8adb6c708af80418d8d6a80e5f2cf38400d480d8d7340c3b6e72a89379548f4d"
    assert not signature.matches("Qm7Xa2Kp9LwT4cRb8NvE3hZs", stamp, body_only, raw)
    assert not signature.matches("Qm7Xa2Kp9LwT4cRb8NvE3hZs", "1785230144", sig, raw)
    t = signature.parse_timestamp(stamp)
    assert t == 1785230143
    assert signature.is_fresh(t, 1785230143 + 300) and signature.is_fresh(t, 1785230143 - 300)
    assert not signature.is_fresh(t, 1785230143 + 301) and not signature.is_fresh(t, 1785230143 - 301)


def test_incoming_message_is_an_inbound_customer_message():
    d = parse_delivery(payload("message_created.incoming_whatsapp"), 9)
    m, c = d.message, d.contact
    assert (m.workspace_id, m.channel, m.identity, m.direction, m.sender) == (
        9, "chatwoot", "chatwoot:1/42", "inbound", "customer"
    )  # fmt: skip
    assert (m.provider_id, m.provider_at) == ("1201", datetime(2026, 7, 28, 9, 15, 42, 318000, tzinfo=UTC))
    assert (m.name, m.text) == ("Maria Lopez", "Hi, I'd like to book a demo for next week")
    assert (c.contact_id, c.phone, c.conversation_id) == (42, "sms:+14155550123", 17)


@pytest.mark.parametrize(
    ("name", "sender"),
    [
        ("message_created.outgoing_agent", "agent"),
        ("message_created.outgoing_agent_bot", "bot"),
        ("message_created.template_greeting", "bot"),
    ],
)
def test_outgoing_and_template_messages_are_outbound_to_the_conversation_contact(name, sender):
    d = parse_delivery(payload(name), 1)
    assert (d.message.direction, d.message.sender, d.message.identity) == (
        "outbound",
        sender,
        "chatwoot:1/42",
    )
    assert d.contact.conversation_id == 17


def test_a_whatsapp_app_echo_without_sender_is_an_agent():
    document = payload("message_created.outgoing_agent")
    document["sender"] = None
    document["content_attributes"] = {"external_echo": True}
    assert parse_delivery(document, 1).message.sender == "agent"


def test_private_notes_and_other_events_are_ignored():
    assert "private" in parse_delivery(payload("message_created.private_note"), 1).ignored
    assert parse_delivery(payload("conversation_status_changed.resolved"), 1).ignored
    activity = payload("message_created.outgoing_agent") | {"message_type": "activity"}
    assert parse_delivery(activity, 1).ignored


def test_contact_updated_says_what_changed():
    d = parse_delivery(payload("contact_updated.name_phone"), 1)
    assert (d.edit.name_changed, d.edit.phone_changed) == (True, True)
    assert (d.contact.name, d.contact.phone, d.contact.identity) == (
        "Maria Lopez",
        "sms:+14155550199",
        "chatwoot:1/42",
    )
    for echo in ("contact_updated.custom_attributes_writeback", "contact_updated.last_activity"):
        assert parse_delivery(payload(echo), 1).ignored


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("id",), "1201", "id"),
        (("id",), True, "id"),
        (("account",), None, "account"),
        (("created_at",), "yesterday", "created_at"),
        (("created_at",), "2026-07-28T09:15:42", "created_at"),
        (("message_type",), 0, "message_type"),
        (("private",), "no", "private"),
        (("sender",), None, "sender"),
        (("conversation",), [], "conversation"),
        (("content",), {"text": "hi"}, "content"),
    ],
)
def test_a_field_chatwoot_never_sends_that_way_is_named(path, value, field):
    document = payload("message_created.incoming_whatsapp")
    document[path[0]] = value
    with pytest.raises(StatushubError) as caught:
        parse_delivery(document, 1)
    assert caught.value.field == field
