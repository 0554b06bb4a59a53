"""Events API `message` events in a channel linked to a customer (Slack Connect): parse, one core
call, nothing to answer. Retries (X-Slack-Retry-Num) carry the same event_id and change nothing."""

from __future__ import annotations

from slack_bolt import App

from adapters.slack.parse import delivery_key, parse_message
from adapters.slack.turn import Turn, answer
from plugin.engine import attach_identity, receive_once


def record(turn: Turn, body: dict, event: dict) -> list[dict]:
    customer_id = turn.linked_customer(event.get("channel"))
    if customer_id is None:
        return []
    message = parse_message(event, workspace_id=turn.workspace_id, installed_team=turn.team_id)
    if message is not None and message.direction == "inbound":
        # A new external member of a linked channel speaks for that channel's customer.
        attach_identity(turn.conn, turn.workspace_id, customer_id, message.identity)
    receive_once(
        turn.conn,
        turn.workspace_id,
        "slack_event",
        delivery_key(body, event),
        [message] if message is not None else [],
        now=turn.now,
    )
    return []


def register(bolt: App) -> None:
    @bolt.event("message")
    def message(body, event, context):
        answer(context.team_id, event.get("user", ""), lambda turn: record(turn, body, event))
