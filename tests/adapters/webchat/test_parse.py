"""Web chat bodies in our documented format through the pure parser: no app, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.webchat.parse import parse_event, workspace_slug
from plugin.domain.errors import StatushubError
from plugin.domain.events import MessageEvent
from tests.adapters.fixtures import fixture


def test_an_inbound_visitor_message_becomes_one_event():
    body = fixture("webchat", "inbound_message")["body"]
    assert workspace_slug(body) == "acme"
    assert parse_event(body, 3) == MessageEvent(
        workspace_id=3,
        channel="webchat",
        identity="webchat:v-42",
        direction="inbound",
        sender="customer",
        text="how do I pay by bank transfer?",
        provider_id="evt-1",
        provider_at=datetime(2026, 5, 4, 9, 0, tzinfo=UTC),
        name="Sam",
    )


def test_the_bots_own_reply_is_an_outbound_event():
    event = parse_event(fixture("webchat", "bot_reply")["body"], 3)
    assert (event.direction, event.sender, event.identity, event.name) == (
        "outbound",
        "bot",
        "webchat:v-42",
        None,
    )
    assert event.provider_at == datetime(2026, 5, 4, 9, 0, 5, tzinfo=UTC)


def test_a_body_without_a_workspace_names_the_field():
    body = dict(fixture("webchat", "inbound_message")["body"], workspace="")
    with pytest.raises(StatushubError) as caught:
        workspace_slug(body)
    assert caught.value.field == "workspace"
