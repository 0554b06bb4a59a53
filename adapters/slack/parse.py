"""Events API `message` events in a channel linked to a customer (Slack Connect) as core events: pure
translation, no I/O (STYLE §1, §12).

A message from someone outside the installed team is the customer writing (inbound, identity
`slack:<their team>/<user>`); one from a member of the installed team is an agent answering
(outbound, the channel's own identity). Bots, edits and other subtypes are not conversation.
"""

from __future__ import annotations

from datetime import UTC, datetime

from plugin.domain.events import MessageEvent

# https://docs.slack.dev/reference/events/message: subtypes that still carry what a person wrote
HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")


def channel_identity(team_id: str, channel_id: str) -> str:
    """A channel linked to one customer (Slack Connect) is that customer's identity."""
    return f"slack:{team_id}/{channel_id}"


def delivery_key(body: dict, event: dict) -> str:
    """What makes a delivery unique: Slack's event_id (retries repeat it), else channel and ts."""
    return str(body.get("event_id") or f"{event.get('channel')}/{event.get('ts')}")


def parse_message(event: dict, *, workspace_id: int, installed_team: str) -> MessageEvent | None:
    """The normalized event for a human message, or None for anything else (bots, edits, no user)."""
    if event.get("subtype") not in HANDLED_SUBTYPES or event.get("bot_id") or not event.get("user"):
        return None
    try:
        provider_at = datetime.fromtimestamp(float(event.get("ts", "")), UTC)
    except ValueError:
        return None
    author_team = event.get("user_team") or event.get("team") or installed_team
    agent = author_team == installed_team
    if agent:
        identity = channel_identity(installed_team, event["channel"])
    else:
        identity = f"slack:{author_team}/{event['user']}"
    return MessageEvent(
        workspace_id=workspace_id,
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
