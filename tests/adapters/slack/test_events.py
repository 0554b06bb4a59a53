"""Events API: Slack Connect messages become customer messages; retries change nothing; App Home."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from plugin.store.db import reading
from plugin.store.schema import Customer, Message
from tests.adapters.slack.conftest import ADMIN

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)


def message(
    text: str, *, user="U0EXT", team="T0EXT", ts="1800000000.000100", channel="C0JANE", **extra
) -> dict:
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "user_team": team,
        "text": text,
        "ts": ts,
    } | extra


def stored(engine):
    with reading(engine) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    Message.customer_id, Message.direction, Message.sender, Message.text, Message.provider_id
                ).order_by(Message.id)
            )
        ]


def linked(slack, admin):
    slack.command("/status", "link jane", user=ADMIN, channel="C0JANE")


def test_url_verification_is_answered(slack):
    body = json.dumps({"token": "legacy", "challenge": "abc123", "type": "url_verification"})
    response = slack.post(body, "application/json")
    assert response.status_code == 200 and "abc123" in response.get_data(as_text=True)


def test_a_customer_message_in_a_linked_channel_is_inbound_and_moves_reply(slack, engine, jane, admin):
    linked(slack, admin)
    response = slack.event(message("<!channel> how much is it?", client_msg_id="m-1"))
    assert response.status_code == 200
    assert stored(engine) == [(jane, "inbound", "customer", "<!channel> how much is it?", "m-1")]
    card = json.dumps(slack.command("/status", "", channel="C0JANE").get_json()["blocks"], ensure_ascii=False)
    assert "💬 In Progress" in card and "&lt;!channel&gt; how much is it?" in card
    assert "slack:T0EXT/U0EXT" in card  # the external member now speaks for the customer


def test_our_agents_messages_in_the_channel_are_outbound(slack, engine, jane, admin):
    linked(slack, admin)
    slack.event(message("hi", ts="1800000000.000100"), event_id="Ev1")
    slack.event(message("on it", user="U0AGENT", team="T0ACME", ts="1800000001.000100"), event_id="Ev2")
    assert [r[1:3] for r in stored(engine)] == [("inbound", "customer"), ("outbound", "agent")]
    assert stored(engine)[1][4] == "C0JANE/1800000001.000100"


def test_a_retried_event_changes_nothing(slack, engine, jane, admin):
    linked(slack, admin)
    slack.event(message("hello", client_msg_id="m-1"), event_id="Ev9")
    again = slack.event(message("hello", client_msg_id="m-1"), event_id="Ev9", retry=1)
    assert again.status_code == 200 and len(stored(engine)) == 1


def test_messages_elsewhere_bots_and_edits_are_ignored(slack, engine, jane, admin):
    linked(slack, admin)
    slack.event(message("hi", channel="C0RANDOM"), event_id="E1")
    slack.event(message("bot says", bot_id="B1"), event_id="E2")
    slack.event(message("edited", subtype="message_changed"), event_id="E3")
    assert stored(engine) == []
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 1


def test_opening_app_home_publishes_the_status_board(slack, slack_api, engine, jane):
    slack.command("/status", "jane hot")
    slack_api.add("POST", "http://slack.test/api/views.publish", json={"ok": True})
    response = slack.event({"type": "app_home_opened", "user": "U0AGENT", "channel": "D1", "tab": "home"})
    assert response.status_code == 200
    sent = json.loads(slack_api.calls[0].request.body)
    assert sent["user_id"] == "U0AGENT" and sent["view"]["type"] == "home"
    shown = json.dumps(sent["view"], ensure_ascii=False)
    assert "🔥 Hot Lead: *1*" in shown and f"*Jane Doe* (#{jane})" in shown
