"""Events API `message` events in a channel linked to a customer (Slack Connect) → plugin.engine.inbox.

A message from someone outside the installed team is the customer writing (inbound, identity
`slack:<their team>/<user>`); one from a member of the installed team is an agent answering
(outbound). Retries (X-Slack-Retry-Num) carry the same event_id and change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import App
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from adapters.slack.turn import ID, Turn, answer
from plugin.domain.events import MessageEvent
from plugin.engine.inbox import receive

HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")


def parse_message(turn: Turn, event: dict, customer_id: int) -> MessageEvent | None:
    """The normalized event for a human message in a linked channel, or None for anything else."""
    if event.get("subtype") not in HANDLED_SUBTYPES or event.get("bot_id") or not event.get("user"):
        return None
    try:
        provider_at = datetime.fromtimestamp(float(event.get("ts", "")), UTC)
    except ValueError:
        return None
    author_team = event.get("user_team") or event.get("team") or turn.team_id
    agent = author_team == turn.team_id
    if agent:
        identity = turn.channel_identity(event["channel"])
    else:
        identity = f"slack:{author_team}/{event['user']}"
        _attach(turn, identity, customer_id)
    return MessageEvent(
        workspace_id=turn.workspace_id,
        channel="slack",
        identity=identity,
        direction="outbound" if agent else "inbound",
        sender="agent" if agent else "customer",
        text=event.get("text", ""),
        provider_id=event.get("client_msg_id") or f"{event['channel']}/{event['ts']}",
        provider_at=provider_at,
        media=tuple(f.get("url_private", "") for f in event.get("files", []) if f.get("url_private")),
        raw=event,
    )


def _attach(turn: Turn, identity: str, customer_id: int) -> None:
    """A new external member of a linked channel speaks for that channel's customer."""
    known = turn.conn.execute(
        select(ID.c.customer_id).where(ID.c.workspace_id == turn.workspace_id, ID.c.value == identity)
    ).first()
    if known is not None:
        return
    try:
        with turn.conn.begin_nested():
            turn.conn.execute(
                insert(ID), {"workspace_id": turn.workspace_id, "customer_id": customer_id, "value": identity}
            )
    except IntegrityError:
        pass  # a concurrent delivery attached it first


def record(turn: Turn, body: dict, event: dict) -> list[dict]:
    customer_id = turn.linked_customer(event.get("channel"))
    if customer_id is None:
        return []
    if turn.seen("slack_event", str(body.get("event_id") or f"{event.get('channel')}/{event.get('ts')}")):
        return []
    message = parse_message(turn, event, customer_id)
    if message is not None:
        receive(turn.conn, turn.workspace_id, [message], now=turn.now)
    return []


def register(bolt: App) -> None:
    @bolt.event("message")
    def message(body, event, context):
        answer(context.team_id, event.get("user", ""), lambda turn: record(turn, body, event))
