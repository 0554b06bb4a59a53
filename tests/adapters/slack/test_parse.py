"""bolt-python's recorded Events API payloads through the pure parser: no app, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.slack.parse import delivery_key, parse_message
from plugin.domain.events import Media, MessageEvent
from tests.adapters.fixtures import fixture


def test_a_message_from_another_team_is_the_customer_writing():
    body = fixture("slack", "message")["body"]
    # Installed in T_OURS, the author's team (T111) is the customer's side of a Slack Connect channel.
    event = parse_message(body["event"], workspace_id=5, installed_team="T_OURS")
    assert event == MessageEvent(
        workspace_id=5,
        channel="slack",
        identity="slack:T111/W111",
        direction="inbound",
        sender="customer",
        text="Hello World!",
        provider_id="a8744611-0210-4f85-9f15-5faf7fb225c8",
        provider_at=datetime.fromtimestamp(1596183880.0042, UTC),
        media=(),
        raw=body["event"],
    )
    assert delivery_key(body, body["event"]) == "Ev111"


def test_a_message_from_the_installed_team_is_an_agent_answering():
    body = fixture("slack", "message")["body"]
    event = parse_message(body["event"], workspace_id=5, installed_team="T111")
    assert (event.direction, event.sender, event.identity) == ("outbound", "agent", "slack:T111/C111")


def test_a_file_share_keeps_the_files_private_urls():
    body = fixture("slack", "message_file_share")["body"]
    # No `team` on the event: its author is taken to be of the installed team (an agent).
    event = parse_message(body["event"], workspace_id=5, installed_team="T111")
    assert event.media == (Media("https://files.slack.com/files-pri/T111-F111/file.png", "image/png"),)
    assert (event.text, event.direction, event.identity) == ("Hi there!", "outbound", "slack:T111/C111")
    assert event.provider_id == "ca088267-717f-41a8-9db8-c98ae14ad6a0"


def test_a_bots_message_is_not_conversation():
    body = fixture("slack", "message_from_bot")["body"]
    assert parse_message(body["event"], workspace_id=5, installed_team="T_OURS") is None


def test_a_form_of_many_repeated_fields_is_refused_quickly():
    import time

    from adapters.slack.parse import MalformedSlackRequest, parse_request_body

    started = time.perf_counter()
    with pytest.raises(MalformedSlackRequest, match="repeated"):
        parse_request_body("a=1&" * 200_000, "application/x-www-form-urlencoded")
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("ts", ["inf", "nan", "1e300", "-1e300", ["1.0"], None])
def test_a_message_whose_time_cannot_be_a_date_is_not_a_message(ts):
    event = {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": ts}
    assert parse_message(event, workspace_id=1, installed_team="T0ACME") is None
