"""Events API `message` events in a channel linked to a customer (Slack Connect) as core events: pure
translation, no I/O (STYLE §1, §12).

A message from someone outside the installed team is the customer writing (inbound, identity
`slack:<their team>/<user>`); one from a member of the installed team is an agent answering
(outbound, the channel's own identity). Bots, edits and other subtypes are not conversation.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from plugin.domain.errors import StatushubError
from plugin.domain.events import Media, MessageEvent

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
    except (TypeError, ValueError, OverflowError):
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
        media=tuple(
            Media(f["url_private"], f.get("mimetype") or None)
            for f in event.get("files", [])
            if isinstance(f, dict) and isinstance(f.get("url_private"), str) and f["url_private"]
        ),
        raw=event,
    )


class MalformedSlackRequest(StatushubError):
    """A signed body Bolt cannot read, or whose fields have the wrong types: 400, nothing stored."""

    code = "malformed_slack_request"


class BadSlackSignature(StatushubError):
    code = "invalid_signature"
    http_status = 401


TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
_TIMESTAMP = re.compile(
    r"\A[0-9]{1,12}\Z"
)  # Unix seconds in ASCII digits; int() would take "١٢", " 1", "1_0"
_SIGNATURE = re.compile(r"\Av0=[0-9a-f]{64}\Z")

# Fields Bolt's extractors and our listeners read, and the one type each may have (None: absent or null).
Types = tuple[type, ...]
_TEXT: Types = (str,)
_OBJECT: Types = (dict,)
_LIST: Types = (list,)
_KINDS: dict[type, str] = {str: "a string", dict: "an object", list: "a list"}
_TOP_FIELDS: dict[str, Types] = {
    "type": _TEXT, "team_id": _TEXT, "enterprise_id": _TEXT, "user_id": _TEXT, "channel_id": _TEXT,
    "command": _TEXT, "text": _TEXT, "response_url": _TEXT, "trigger_id": _TEXT, "event_id": _TEXT,
    "api_app_id": _TEXT, "challenge": _TEXT, "callback_id": _TEXT,
    "event": _OBJECT, "team": _OBJECT, "user": _OBJECT, "channel": _OBJECT, "enterprise": _OBJECT,
    "view": _OBJECT, "container": _OBJECT, "message": _OBJECT, "previous_message": _OBJECT, "workflow_step": _OBJECT,
    "authorizations": _LIST, "actions": _LIST,
}  # fmt: skip
_EVENT_FIELDS: dict[str, Types] = {
    "type": _TEXT, "subtype": _TEXT, "text": _TEXT, "ts": _TEXT, "tab": _TEXT, "user_team": _TEXT,
    "bot_id": _TEXT, "client_msg_id": _TEXT, "files": _LIST, "message": _OBJECT, "previous_message": _OBJECT,
    # an object on some events (user_change, team_join, channel_created): Bolt reads its id
    "user": (str, dict), "channel": (str, dict), "team": (str, dict),
}  # fmt: skip
_MESSAGE_FIELDS: dict[str, Types] = {
    "user": _TEXT,
    "channel": _TEXT,
    "team": _TEXT,
}  # what parse_message reads as text
_SLACK_TS = re.compile(r"\A[0-9]{1,12}(\.[0-9]{1,9})?\Z")  # "1355517523.000005"
_ACTION_FIELDS: dict[str, Types] = {
    "action_id": _TEXT,
    "value": _TEXT,
    "action_ts": _TEXT,
    "selected_option": _OBJECT,
}
_VIEW_FIELDS: dict[str, Types] = {
    "type": _TEXT,
    "id": _TEXT,
    "callback_id": _TEXT,
    "private_metadata": _TEXT,
    "state": _OBJECT,
}


def check_signature_headers(timestamp: str | None, signature: str | None) -> int:
    """The timestamp header as Unix seconds, or 401 naming the header that cannot be a Slack signature
    (slack_sdk's SignatureVerifier would raise on `abc` or overflow on 4,000 digits)."""
    if timestamp is None or not _TIMESTAMP.match(timestamp):
        raise BadSlackSignature(f"{TIMESTAMP_HEADER} must be Unix seconds", field=TIMESTAMP_HEADER)
    if signature is None or not _SIGNATURE.match(signature):
        raise BadSlackSignature(f"{SIGNATURE_HEADER} must be v0=<64 hex digits>", field=SIGNATURE_HEADER)
    return int(timestamp)


def parse_request_body(body: str, content_type: str | None) -> dict:
    """The document Bolt will dispatch, read by Bolt's own rules (slack_bolt.request.internals.parse_body:
    JSON when sent as JSON or starting with `{`, else a form whose `payload` field is JSON), checked so
    that every field Bolt and the listeners read has its type. Anything else is MalformedSlackRequest."""
    media = (content_type or "").split(";")[0].strip().lower()
    if not body:
        return {}
    if media == "application/json" or body.startswith("{"):
        document = _json(body, "body")
    elif "payload" in body:
        form = parse_qsl(body, keep_blank_values=True)
        payloads = [value for key, value in form if key == "payload"]
        if len(payloads) > 1:
            raise MalformedSlackRequest("payload is repeated", field="payload")
        document = _json(payloads[0], "payload") if payloads else {}
    else:
        form = parse_qsl(body, keep_blank_values=True)
        document = dict(form)
        if len(document) != len(form):
            repeated = next(k for k, n in Counter(k for k, _ in form).items() if n > 1)
            raise MalformedSlackRequest(f"form field {repeated!r} is repeated", field=repeated)
    _check(document, _TOP_FIELDS, "")
    if "command" in document and not isinstance(document.get("user_id"), str):
        raise MalformedSlackRequest("a slash command needs user_id", field="user_id")
    event = document.get("event")
    if event is None and "event" in document:  # Bolt reads body.get("event", {}).get(...): null breaks it
        raise MalformedSlackRequest("event must be an object", field="event")
    if event is not None:
        _check(event, _EVENT_FIELDS, "event.")
        if "type" not in event:
            raise MalformedSlackRequest("event.type is missing", field="event.type")
        if event.get("type") == "message":
            _check(event, _MESSAGE_FIELDS, "event.")
            if "ts" in event and not _SLACK_TS.match(event["ts"]):
                raise MalformedSlackRequest(
                    "event.ts must be a Slack timestamp (seconds.micro)", field="event.ts"
                )
        if event.get("type") == "app_home_opened" and not isinstance(event.get("user"), str):
            raise MalformedSlackRequest("app_home_opened needs event.user", field="event.user")
        if any(not isinstance(f, dict) for f in event.get("files") or ()):
            raise MalformedSlackRequest("event.files must be a list of objects", field="event.files")
    kind = document.get("type")
    if kind in ("block_actions", "interactive_message") and not document.get("actions"):
        raise MalformedSlackRequest(f"{kind} needs at least one action", field="actions")
    for index, action in enumerate(document.get("actions") or ()):
        if not isinstance(action, dict):
            raise MalformedSlackRequest("each action must be an object", field=f"actions[{index}]")
        _check(action, _ACTION_FIELDS, f"actions[{index}].")
    for index, item in enumerate(document.get("authorizations") or ()):
        if not isinstance(item, dict):
            raise MalformedSlackRequest(
                "each authorization must be an object", field=f"authorizations[{index}]"
            )
    view: dict = document.get("view") or {}  # an object or absent: checked with the top fields
    _check(view, _VIEW_FIELDS, "view.")
    if kind in ("view_submission", "view_closed") and not isinstance(view.get("type"), str):
        raise MalformedSlackRequest(f"{kind} needs view.type", field="view.type")
    needs_step = kind == "workflow_step_edit" or (
        kind == "view_submission" and view.get("type") == "workflow_step"
    )
    if needs_step and not isinstance(document.get("workflow_step"), dict):
        raise MalformedSlackRequest("workflow_step is missing", field="workflow_step")
    return document


def _json(text: str, field: str) -> dict:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedSlackRequest(f"{field} is not valid JSON", field=field) from None
    if not isinstance(document, dict):
        raise MalformedSlackRequest(f"{field} must be a JSON object", field=field)
    return document


def _check(document: dict, fields: dict[str, Types], prefix: str) -> None:
    for name, types in fields.items():
        value = document.get(name)
        if value is not None and not isinstance(value, types):
            kinds = " or ".join(_KINDS[t] for t in types)
            raise MalformedSlackRequest(f"{prefix}{name} must be {kinds}", field=f"{prefix}{name}")
